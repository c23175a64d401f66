// The calibration family (Catalog/Calibration): BrierScore and ExpectedCalibrationError.

import Tally
import Testing

/// BrierScore and ExpectedCalibrationError beyond their fixtures
/// (calibration.json, from scikit-learn and TorchMetrics' definition).
@Suite struct CalibrationMetricsTests {
  @Test(arguments: 0..<10)
  func anySplitAndMergeOrderGivesTheSameResult(seed: UInt64) throws {
    var g = SplitMix64(seed: seed)
    let n = 400
    let p = (0..<n).map { _ in Double(Float.random(in: 0...1, using: &g)) }
    let t = p.map { Double.random(in: 0..<1, using: &g) < $0 ? 1.0 : 0.0 }
    let w = (0..<n).map { _ in Double(Int.random(in: 0...2, using: &g)) }
    let (tt, pp, ww) = (Tensor(t), Tensor(p), Tensor(w))
    var whole = try ExpectedCalibrationError(numBins: 10)
    try whole.update(yTrue: tt, yPred: pp, sampleWeight: ww)
    var brier = BrierScore()
    try brier.update(yTrue: tt, yPred: pp, sampleWeight: ww)
    var eces: [ExpectedCalibrationError] = []
    var briers: [BrierScore] = []
    for r in randomSplit(n, parts: 6, using: &g) {
      var e = try ExpectedCalibrationError(numBins: 10)
      try e.update(yTrue: rows(tt, r), yPred: rows(pp, r), sampleWeight: rows(ww, r))
      eces.append(e)
      var b = BrierScore()
      try b.update(yTrue: rows(tt, r), yPred: rows(pp, r), sampleWeight: rows(ww, r))
      briers.append(b)
    }
    // Compensated sums: the same value whatever the split and merge order.
    #expect(try mergeRandomly(eces, using: &g).result() == whole.result())
    #expect(try mergeRandomly(briers, using: &g).result() == brier.result())
  }

  @Test func binEdgesAreExact() throws {
    // 0.1 (as a Double, slightly above 1/10) is in bin 1 of 10; the largest
    // Double below 0.3 is in bin 2 although 0.3·10 rounds to 3.
    var m = try ExpectedCalibrationError(numBins: 10)
    try m.update(yTrue: [1, 0, 1], yPred: [0.1, 0.3.nextDown, 1.0])
    let bins = m.state.weight.map(\.value)
    #expect(bins == [0, 1, 1, 0, 0, 0, 0, 0, 0, 0, 1])
  }

  @Test func mismatchedStatesAreRefused() throws {
    var a = try ExpectedCalibrationError(numBins: 5)
    try a.update(yTrue: [1, 0], yPred: [0.9, 0.2])
    var b = try ExpectedCalibrationError()
    #expect(throws: MetricError.self) { try b.restore(a.state) }
    #expect(throws: MetricError.self) { try b.merge(a) }
    #expect(b.result() == .scalar(0))
  }

  @Test func badInputLeavesTheStateUnchanged() throws {
    var e = try ExpectedCalibrationError()
    var b = BrierScore()
    try e.update(yTrue: [1, 0], yPred: [0.9, 0.2])
    try b.update(yTrue: [1, 0], yPred: [0.9, 0.2])
    let (se, sb) = (e.state, b.state)
    let bad: [(Tensor, Tensor, Tensor?)] = [
      (Tensor([1.0, 2]), Tensor([0.5, 0.5]), nil),  // a label other than 0/1
      (Tensor([1.0, 0]), Tensor([0.5, 1.5]), nil),  // a probability above 1
      (Tensor([1.0, 0]), Tensor([0.5, .nan]), nil),  // NaN
      (Tensor([1.0, 0]), Tensor([0.5, 0.5, 0.5]), nil),  // different counts
    ]
    for (t, p, w) in bad {
      #expect(throws: MetricError.self) { try e.update(yTrue: t, yPred: p, sampleWeight: w) }
      #expect(throws: MetricError.self) { try b.update(yTrue: t, yPred: p, sampleWeight: w) }
      #expect(e.state == se && b.state == sb)
    }
    #expect(throws: MetricError.self) { try e.update(yTrue: [1, 0], yPred: [0.5, 0.5], sampleWeight: [1, -1]) }
    #expect(e.state == se)
  }

  @Test func multiClassBrierTakesIdsOrOneHotLabels() throws {
    var ids = BrierScore()
    try ids.update(yTrue: [0, 2], yPred: [[0.7, 0.2, 0.1], [0.1, 0.1, 0.8]])
    var oneHot = BrierScore()
    try oneHot.update(yTrue: [[1, 0, 0], [0, 0, 1]], yPred: [[0.7, 0.2, 0.1], [0.1, 0.1, 0.8]])
    #expect(ids.result() == oneHot.result())
    // ((0.3² + 0.2² + 0.1²) + (0.1² + 0.1² + 0.2²)) / 2
    #expect(abs(ids.result().scalar! - 0.1) < 1e-15)
  }
}
