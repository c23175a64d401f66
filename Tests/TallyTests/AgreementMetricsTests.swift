// The agreement family (Catalog/Agreement): MatthewsCorrelationCoefficient and CohenKappa.

import Tally
import Testing

/// MatthewsCorrelationCoefficient and CohenKappa beyond their fixtures
/// (agreement.json, from scikit-learn): merging, restoring and bad input.
@Suite struct AgreementMetricsTests {
  static func data(_ n: Int, classes k: Int, seed: UInt64) -> (t: Tensor, p: Tensor, w: Tensor) {
    var g = SplitMix64(seed: seed)
    let t = (0..<n).map { _ in Double(Int.random(in: 0..<k, using: &g)) }
    var scores = [Double]()
    for i in 0..<n {
      for j in 0..<k { scores.append(Double.random(in: 0..<1, using: &g) + (Double(j) == t[i] ? 0.4 : 0)) }
    }
    let w = (0..<n).map { _ in Double(Int.random(in: 0...3, using: &g)) }
    return (try! Tensor(t, shape: [n]), try! Tensor(scores, shape: [n, k]), try! Tensor(w, shape: [n]))
  }

  @Test(arguments: 0..<10)
  func anySplitAndMergeOrderGivesTheSameResult(seed: UInt64) throws {
    let (t, p, w) = Self.data(300, classes: 4, seed: seed)
    var whole = try CohenKappa(numClasses: 4, weightage: .quadratic, sparseLabels: true)
    try whole.update(yTrue: t, yPred: p, sampleWeight: w)
    var mcc = try MatthewsCorrelationCoefficient(numClasses: 4)
    try mcc.update(yTrue: t, yPred: p, sampleWeight: w)
    var g = SplitMix64(seed: seed + 100)
    var kappas: [CohenKappa] = []
    var mccs: [MatthewsCorrelationCoefficient] = []
    for r in randomSplit(300, parts: 5, using: &g) {
      var k = try CohenKappa(numClasses: 4, weightage: .quadratic, sparseLabels: true)
      try k.update(yTrue: rows(t, r), yPred: rows(p, r), sampleWeight: rows(w, r))
      kappas.append(k)
      var m = try MatthewsCorrelationCoefficient(numClasses: 4)
      try m.update(yTrue: rows(t, r), yPred: rows(p, r), sampleWeight: rows(w, r))
      mccs.append(m)
    }
    // Integer weights: the counts are exact, so the results are identical.
    #expect(try mergeRandomly(kappas, using: &g).result() == whole.result())
    #expect(try mergeRandomly(mccs, using: &g).result() == mcc.result())
  }

  @Test func mismatchedStatesAreRefused() throws {
    var small = try MatthewsCorrelationCoefficient(numClasses: 2)
    try small.update(yTrue: [0, 1, 1], yPred: [0.2, 0.9, 0.4])
    var large = try MatthewsCorrelationCoefficient(numClasses: 3)
    let before = large.state
    #expect(throws: MetricError.self) { try large.restore(small.state) }
    #expect(large.state == before)
    #expect(large.result() == .scalar(0))
    var kappa = try CohenKappa(numClasses: 3)
    #expect(throws: MetricError.self) { try kappa.restore(small.state) }
  }

  @Test func badInputLeavesTheStateUnchanged() throws {
    var m = try CohenKappa(numClasses: 3, sparseLabels: true)
    try m.update(yTrue: [0, 1, 2], yPred: [0, 1, 1])
    let before = m.state
    let bad: [(Tensor, Tensor, Tensor?)] = [
      (Tensor([0.0, 3]), Tensor([0.0, 1]), nil),  // a label out of range
      (Tensor([0.0, 1.5]), Tensor([0.0, 1]), nil),  // not a class id
      (Tensor([0.0, 1]), Tensor([0.0, 1, 2]), nil),  // different counts
      (try Tensor([1.0, 0, 0, 0, 1, 0], shape: [2, 3]), Tensor([0.0, 1]), nil),  // one-hot with sparse labels
      (Tensor([0.0, 1]), Tensor([0.0, 1]), Tensor([1.0, -1])),  // a negative weight
      (Tensor([0.0, 1]), Tensor([0.0, 1]), Tensor([1.0, .nan])),  // a NaN weight
      (Tensor([0.0, 1]), try Tensor([0.2, .nan, 0.1, 0.3, 0.3, 0.4], shape: [2, 3]), nil),  // NaN score
    ]
    for (t, p, w) in bad {
      #expect(throws: MetricError.self) { try m.update(yTrue: t, yPred: p, sampleWeight: w) }
      #expect(m.state == before)
    }
  }

  @Test func binaryScoresAreThresholdedStrictlyAboveOneHalf() throws {
    var a = try MatthewsCorrelationCoefficient(numClasses: 2)
    try a.update(yTrue: [0, 1, 1, 0], yPred: [0.5, 0.51, 0.9, 0.1])
    var b = try MatthewsCorrelationCoefficient(numClasses: 2)
    try b.update(yTrue: [0, 1, 1, 0], yPred: [0, 1, 1, 0])
    #expect(a.result() == b.result())
    #expect(a.result() == .scalar(1))
  }

  @Test func weightingsOfKappa() throws {
    // scikit-learn: cohen_kappa_score([0, 1, 2, 2], [0, 2, 2, 1], weights=...)
    let t = Tensor([0.0, 1, 2, 2])
    let p = Tensor([0.0, 2, 2, 1])
    let expected: [(KappaWeighting?, Double)] = [
      (nil, 0.19999999999999996), (.linear, 0.4285714285714286), (.quadratic, 0.6363636363636364),
    ]
    for (w, value) in expected {
      var m = try CohenKappa(numClasses: 3, weightage: w, sparseLabels: true)
      try m.update(yTrue: t, yPred: p)
      #expect(abs(m.result().scalar! - value) < 1e-12, "\(String(describing: w)): \(m.result())")
    }
  }
}
