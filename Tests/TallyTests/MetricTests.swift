// The Metric protocol (Metric.swift): merge laws, a custom metric, bad input every metric rejects, cross-family tests.

import Foundation
import Tally
import Testing

/// The laws of `merge`, on the states of seeded random data.
@Suite struct MetricTests {
  /// Merge laws on states: identity, commutativity, associativity.
  @Test(arguments: 0..<30)
  func mergeLaws(seed: Int) throws {
    var g = SplitMix64(seed: UInt64(3000 + seed))
    func random() throws -> Mean {
      var m = Mean()
      let n = Int.random(in: 1...50, using: &g)
      let v = (0..<n).map { _ in Double.random(in: -1e3...1e3, using: &g) }
      if Bool.random(using: &g) {
        try m.update(Tensor(v), sampleWeight: Tensor((0..<n).map { _ in Double.random(in: 0...2, using: &g) }))
      } else {
        try m.update(Tensor(v))
      }
      return m
    }
    let a = try random(), b = try random(), c = try random()
    #expect(try a.merging(Mean()).state == a.state)
    #expect(try Mean().merging(a).state == a.state)
    let ab = try a.merging(b).result().scalar!
    let ba = try b.merging(a).result().scalar!
    #expect(withinOneUlp(ab, ba))
    let left = try a.merging(b).merging(c).result().scalar!
    let right = try a.merging(b.merging(c)).result().scalar!
    #expect(withinOneUlp(left, right))
  }
}

/// Bad input every metric rejects the same way (weights, empty batches,
/// shapes, merges of another configuration): a typed error naming what was
/// received, and the metric's state exactly what it was before the call.
@Suite struct BadInputTests: BadInputChecks {
  @Test func weightsThatCannotBroadcast() throws {
    Self.expectRejected(try Self.primedMean(), MetricError.invalidWeights, mentioning: "[3]") { m throws(MetricError) in
      try m.update(Tensor([1.0, 2, 3, 4]), sampleWeight: Tensor([1.0, 1, 1]))
    }
    Self.expectRejected(try Self.primedMean(), MetricError.invalidWeights, mentioning: "[2, 3]") {
      m throws(MetricError) in
      try m.update(Tensor([1.0, 2]), sampleWeight: try Tensor([[1.0, 1, 1], [1, 1, 1]]))
    }
    var s = Sum()
    try s.update([1, 2])
    Self.expectRejected(
      s, MetricError.invalidWeights, mentioning: "received sample_weight of shape [3] and values of shape [4]"
    ) { m throws(MetricError) in
      // keep the compiler honest: mentioning the values' shape
      try m.update(Tensor([1.0, 2, 3, 4]), sampleWeight: Tensor([1.0, 1, 1]))
    }
  }

  @Test func nanAndInfiniteWeights() throws {
    Self.expectRejected(try Self.primedMean(), MetricError.invalidWeights, mentioning: "nan") { m throws(MetricError) in
      try m.update(Tensor([1.0, 2, 3]), sampleWeight: Tensor([1.0, .nan, 1]))
    }
    Self.expectRejected(try Self.primedMean(), MetricError.invalidWeights, mentioning: "inf") { m throws(MetricError) in
      try m.update(Tensor([1.0, 2, 3]), sampleWeight: Tensor([1.0, 1, .infinity]))
    }
    Self.expectRejected(try Self.primedWrapper(), MetricError.invalidWeights, mentioning: "nan") {
      m throws(MetricError) in
      try m.update(yTrue: Tensor([[1.0]]), yPred: Tensor([[2.0]]), sampleWeight: Tensor([Float.nan]))
    }
  }

  @Test func emptyBatches() throws {
    Self.expectRejected(try Self.primedMean(), MetricError.emptyBatch, mentioning: "[0]") { m throws(MetricError) in
      try m.update(Tensor([Double]()))
    }
    Self.expectRejected(try Self.primedMean(), MetricError.emptyBatch, mentioning: "[3, 0]") { m throws(MetricError) in
      try m.update(try Tensor([Double](), shape: [3, 0]))
    }
    Self.expectRejected(try Self.primedWrapper(), MetricError.emptyBatch, mentioning: "[0]") { m throws(MetricError) in
      try m.update(yTrue: try Tensor([Double](), shape: [0, 2]), yPred: try Tensor([Double](), shape: [0, 2]))
    }
  }

  @Test func shapeMismatches() throws {
    Self.expectRejected(try Self.primedWrapper(), MetricError.shapeMismatch, mentioning: "[4, 2] and [3, 2]") {
      m throws(MetricError) in
      try m.update(
        yTrue: try Tensor([Double](repeating: 0, count: 8), shape: [4, 2]),
        yPred: try Tensor([Double](repeating: 0, count: 6), shape: [3, 2]))
    }
  }

  @Test func mergingDifferentConfigurations() throws {
    var mae = MeanMetricWrapper(fn: .meanAbsoluteError)
    try mae.update(yTrue: [[1.0]], yPred: [[0.0]])
    Self.expectRejected(try Self.primedWrapper(), MetricError.incompatibleMerge, mentioning: "mean_absolute_error") {
      m throws(MetricError) in
      try m.merge(mae)
    }
    var float64Mean = Mean(dtype: "float64")
    try float64Mean.update([1.0])
    Self.expectRejected(try Self.primedMean(), MetricError.incompatibleMerge, mentioning: "float64") {
      m throws(MetricError) in
      try m.merge(float64Mean)
    }
    // A different name alone is not a different configuration.
    var renamed = Mean(name: "other")
    try renamed.update([10.0])
    var m = try Self.primedMean()
    try m.merge(renamed)
    #expect(m.state.count == 3)
  }
}

//===--- The README's custom metric ---------------------------------------===//

/// Keras's `BinaryTruePositives` subclass example, in Swift.
struct BinaryTruePositives: PredictionMetric {
  var name = "binary_true_positives"
  private(set) var state = CompensatedSum()

  mutating func update(yTrue: Tensor, yPred: Tensor, sampleWeight: Tensor?) throws(MetricError) {
    let hits = try Tensor.map(yTrue, yPred) { t, p in t != 0 && p != 0 ? 1 : 0 }
    try state.add(hits, sampleWeight: sampleWeight)
  }

  mutating func restore(_ s: CompensatedSum) throws(MetricError) { state = s }

  func result() -> MetricValue { .scalar(state.value) }
}

@Suite struct CustomMetricTests {
  @Test func binaryTruePositives() throws {
    var m = BinaryTruePositives()
    try m.update(yTrue: [true, true, false, true], yPred: [true, false, true, true])
    #expect(m.result() == .scalar(2))
    try m.update(yTrue: [1, 1], yPred: [1, 1], sampleWeight: [0.5, 2])
    #expect(m.result() == .scalar(4.5))
  }

  @Test func resetMergeAndStateComeForFree() throws {
    var a = BinaryTruePositives()
    var b = BinaryTruePositives()
    try a.update(yTrue: [1, 1, 0], yPred: [1, 0, 0])
    try b.update(yTrue: [1, 1], yPred: [1, 1])
    try a.merge(b)
    #expect(a.result() == .scalar(3))

    var loaded = BinaryTruePositives()
    try loaded.load(savedState: a.savedState())
    #expect(loaded.result() == .scalar(3))
    #expect(BinaryTruePositives.className == "BinaryTruePositives")

    a.reset()
    #expect(a.result() == .scalar(0))
  }
}

//===--- Across families --------------------------------------------------===//
//
// Each test below runs metrics of two or more catalog families in one body
// (its suite's comment names them), so it belongs to no one family's file.
// A test of a single family is in that family's <Family>MetricsTests.swift.
//
//===----------------------------------------------------------------------===//

/// Batch-split, merge-order and save/load invariance across the
/// classification families, on seeded random data: AUC with ExactAUC
/// (confusion, exact); FBetaScore with BinaryAccuracy (F-score, accuracy).
@Suite struct ClassificationPropertyTests: InvarianceChecks {
  /// The data of a trial, by the name the other invariance tests use.
  typealias Data = PredictionData

  @Test(arguments: 0..<40)
  func aucIsInvariant(seed: Int) throws {
    let weighted = seed % 2 == 1
    var (d, g) = Self.data(seed: UInt64(seed), weighted: weighted)
    let curves: [AUCCurve] = [.roc, .pr, .prGain]
    let curve = curves[seed % 3]
    let (a, b) = try Self.both({ try AUC(numThresholds: [3, 200, 1000][seed % 3], curve: curve) }, d, &g)
    Self.expectSame(a, b, exact: !weighted)
    let (e1, e2) = try Self.both({ try ExactAUC(curve: seed % 2 == 0 ? .roc : .pr) }, d, &g)
    Self.expectSame(e1, e2, exact: !weighted)
  }

  @Test(arguments: 0..<30)
  func fScoresAndAccuracyAreInvariant(seed: Int) throws {
    let weighted = seed % 2 == 1
    var (d, g) = Self.data(seed: UInt64(200 + seed), weighted: weighted)
    let averages: [FScoreAverage?] = [nil, .micro, .macro, .weighted]
    let (f1, f2) = try Self.both({ try FBetaScore(average: averages[seed % 4], beta: 2, threshold: 0.5) }, d, &g)
    Self.expectSame(f1, f2, exact: false)
    let (a1, a2) = try Self.both({ BinaryAccuracy() }, d, &g)
    Self.expectSame(a1, a2, exact: false)
  }
}

/// Batch-split and merge-order invariance across the regression, hinge and
/// correlation families: MeanSquaredError, LogCoshError and
/// RootMeanSquaredError with Hinge; R2Score with PearsonCorrelation and
/// ConcordanceCorrelation.
@Suite struct CatalogPropertyTests {
  static func regressionData(seed: UInt64) -> (ClassificationPropertyTests.Data, SplitMix64) {
    var g = SplitMix64(seed: seed)
    let n = Int.random(in: 2...300, using: &g)
    let c = Int.random(in: 2...4, using: &g)
    let offset = [0.0, 1e3, 1e6][Int.random(in: 0..<3, using: &g)]
    let y = (0..<(n * c)).map { _ in offset + Double.random(in: -1...1, using: &g) }
    let p = y.map { $0 + Double.random(in: -0.5...0.5, using: &g) }
    let w = Bool.random(using: &g) ? Tensor((0..<n).map { _ in Double.random(in: 0...2, using: &g) }) : nil
    return (
      .init(yTrue: try! Tensor(y, shape: [n, c]), yPred: try! Tensor(p, shape: [n, c]), weights: w, n: n), g
    )
  }

  static func relClose(_ a: MetricValue, _ b: MetricValue, _ tol: Double) -> Bool {
    zip(a.values, b.values).allSatisfy { x, y in
      x == y || (x.isNaN && y.isNaN) || abs(x - y) <= tol * max(abs(x), abs(y))
    }
  }

  @Test(arguments: 0..<30)
  func meanWrappersAreInvariant(seed: Int) throws {
    var (d, g) = Self.regressionData(seed: UInt64(500 + seed))
    let (a1, a2) = try ClassificationPropertyTests.both({ MeanSquaredError() }, d, &g)
    ClassificationPropertyTests.expectSame(a1, a2, exact: false)
    let (b1, b2) = try ClassificationPropertyTests.both({ LogCoshError() }, d, &g)
    ClassificationPropertyTests.expectSame(b1, b2, exact: false)
    let (c1, c2) = try ClassificationPropertyTests.both({ Hinge() }, d, &g)
    ClassificationPropertyTests.expectSame(c1, c2, exact: false)
    let (e1, e2) = try ClassificationPropertyTests.both({ RootMeanSquaredError() }, d, &g)
    ClassificationPropertyTests.expectSame(e1, e2, exact: false)
  }

  /// Moment-based metrics (R², Pearson, concordance) merge with Chan's
  /// formulas: invariant to rounding (1e-12 relative), not to the last bit.
  @Test(arguments: 0..<30)
  func momentMetricsAreInvariant(seed: Int) throws {
    var (d, g) = Self.regressionData(seed: UInt64(600 + seed))
    let (r1, r2) = try ClassificationPropertyTests.both({ try R2Score(classAggregation: nil) }, d, &g)
    #expect(Self.relClose(r1, r2, 1e-12), "\(r1) vs \(r2)")
    // Dataset-level correlation: rank-1 inputs (one column).
    let column = ClassificationPropertyTests.Data(
      yTrue: Tensor(d.yTrue.doubles().enumerated().filter { $0.offset % d.yTrue.shape[1] == 0 }.map(\.element)),
      yPred: Tensor(d.yPred.doubles().enumerated().filter { $0.offset % d.yPred.shape[1] == 0 }.map(\.element)),
      weights: d.weights, n: d.n)
    let (p1, p2) = try ClassificationPropertyTests.both({ PearsonCorrelation() }, column, &g)
    #expect(Self.relClose(p1, p2, 1e-12), "\(p1) vs \(p2)")
    let (c1, c2) = try ClassificationPropertyTests.both({ ConcordanceCorrelation() }, column, &g)
    #expect(Self.relClose(c1, c2, 1e-12), "\(c1) vs \(c2)")
  }
}

/// Bad input across the classification families (confusion, accuracy,
/// F-score): a typed error naming what was received, and the state unchanged.
@Suite struct ClassificationBadInputTests: BadInputChecks {
  @Test func classIdsOutOfRange() throws {
    var p = try Precision(classId: 3)
    try p.update(yTrue: [[0, 1, 0, 1]], yPred: [[0.1, 0.8, 0.1, 0.9]])
    BadInputTests.expectRejected(p, MetricError.invalidValue, mentioning: "class_id=3") { m throws(MetricError) in
      try m.update(yTrue: try Tensor([[0.0, 1, 0]]), yPred: try Tensor([[0.1, 0.8, 0.1]]), sampleWeight: nil)
    }
    var acc = SparseCategoricalAccuracy()
    try acc.update(yTrue: [1], yPred: [[0.1, 0.9]])
    BadInputTests.expectRejected(acc, MetricError.invalidValue, mentioning: "received 7.0") { m throws(MetricError) in
      try m.update(yTrue: Tensor([7.0]), yPred: try Tensor([[0.1, 0.9]]), sampleWeight: nil)
    }
    var topK = try SparseTopKCategoricalAccuracy(k: 1)
    try topK.update(yTrue: [1], yPred: [[0.1, 0.9]])
    BadInputTests.expectRejected(topK, MetricError.invalidValue, mentioning: "-1.0") { m throws(MetricError) in
      try m.update(yTrue: Tensor([-1.0]), yPred: try Tensor([[0.1, 0.9]]), sampleWeight: nil)
    }
    BadInputTests.expectRejected(try Self.primedPrecision(), MetricError.shapeMismatch, mentioning: "[3]") {
      m throws(MetricError) in
      try m.update(yTrue: Tensor([0.0, 1, 0]), yPred: Tensor([0.1, 0.8, 0.1]), sampleWeight: nil)
    }
  }

  @Test func thresholdsOutsideZeroOne() {
    #expect(throws: MetricError.invalidConfiguration("Threshold values must be in [0, 1]. Received: [1.5]")) {
      try Precision(thresholds: [0.5, 1.5])
    }
    #expect(throws: MetricError.self) { try TruePositives(thresholds: [-0.1]) }
    #expect(throws: MetricError.self) { try AUC(thresholds: [0.2, 2]) }
    #expect(throws: MetricError.self) { try AUC(numThresholds: 1) }
    #expect(throws: MetricError.self) { try AUC(numLabels: 3) }
    #expect(throws: MetricError.self) { try SensitivityAtSpecificity(specificity: 1.5) }
    #expect(throws: MetricError.self) { try RecallAtPrecision(precision: 0.5, numThresholds: 0) }
    #expect(throws: MetricError.self) { try FBetaScore(beta: 0) }
    #expect(throws: MetricError.self) { try F1Score(threshold: 0) }
    #expect(throws: MetricError.self) { try TopKCategoricalAccuracy(k: 0) }
    #expect(throws: MetricError.self) {
      try MetricRegistry.deserialize(KerasConfig(json: #"{"class_name": "AUC", "config": {"curve": "ROCX"}}"#))
    }
  }

  @Test func mismatchedShapesAndNaN() throws {
    BadInputTests.expectRejected(try Self.primedAUC(), MetricError.shapeMismatch, mentioning: "[3] and [4]") {
      m throws(MetricError) in
      try m.update(yTrue: Tensor([0.0, 1, 1]), yPred: Tensor([0.1, 0.2, 0.3, 0.4]), sampleWeight: nil)
    }
    BadInputTests.expectRejected(try Self.primedAUC(), MetricError.invalidValue, mentioning: "NaN") {
      m throws(MetricError) in
      try m.update(yTrue: Tensor([0.0, 1]), yPred: Tensor([0.1, .nan]), sampleWeight: nil)
    }
    BadInputTests.expectRejected(try Self.primedAUC(), MetricError.invalidWeights, mentioning: "[3]") {
      m throws(MetricError) in
      try m.update(yTrue: Tensor([0.0, 1]), yPred: Tensor([0.1, 0.3]), sampleWeight: Tensor([1.0, 1, 1]))
    }
    var f = try F1Score()
    try f.update(yTrue: [[1, 0]], yPred: [[0.7, 0.3]])
    BadInputTests.expectRejected(f, MetricError.shapeMismatch, mentioning: "2D inputs") { m throws(MetricError) in
      try m.update(yTrue: Tensor([1.0, 0]), yPred: Tensor([0.7, 0.3]), sampleWeight: nil)
    }
    BadInputTests.expectRejected(f, MetricError.shapeMismatch, mentioning: "2 classes") { m throws(MetricError) in
      try m.update(yTrue: try Tensor([[1.0, 0, 0]]), yPred: try Tensor([[0.7, 0.3, 0]]), sampleWeight: nil)
    }
    var multi = try AUC(multiLabel: true)
    try multi.update(yTrue: [[1, 0]], yPred: [[0.7, 0.3]])
    BadInputTests.expectRejected(multi, MetricError.shapeMismatch, mentioning: "expected 2 labels") {
      m throws(MetricError) in
      try m.update(yTrue: try Tensor([[1.0, 0, 0]]), yPred: try Tensor([[0.7, 0.3, 0]]), sampleWeight: nil)
    }
  }
}

/// Bad shapes across the probabilistic, regression and correlation families
/// (BinaryCrossentropy, R2Score, PearsonCorrelation, MeanSquaredError):
/// typed errors, state unchanged.
@Suite struct CatalogBadInputTests {
  @Test func mismatchedShapes() throws {
    var bce = BinaryCrossentropy()
    try bce.update(yTrue: [[1.0, 0]], yPred: [[0.7, 0.2]])
    BadInputTests.expectRejected(bce, MetricError.shapeMismatch, mentioning: "[1, 3]") { m throws(MetricError) in
      try m.update(yTrue: try Tensor([[1.0, 0]]), yPred: try Tensor([[0.7, 0.2, 0.1]]), sampleWeight: nil)
    }
    var r2 = try R2Score()
    try r2.update(yTrue: [[1.0], [2]], yPred: [[1.0], [2.5]])
    BadInputTests.expectRejected(r2, MetricError.shapeMismatch, mentioning: "2D inputs") { m throws(MetricError) in
      try m.update(yTrue: try Tensor([[[1.0]]]), yPred: try Tensor([[[1.0]]]), sampleWeight: nil)
    }
    var pearson = PearsonCorrelation()
    try pearson.update(yTrue: [1.0, 2, 3], yPred: [1.0, 2, 2])
    BadInputTests.expectRejected(pearson, MetricError.invalidValue, mentioning: "dataset-level") {
      m throws(MetricError) in
      try m.update(yTrue: try Tensor([[1.0, 2]]), yPred: try Tensor([[1.0, 3]]), sampleWeight: nil)
    }
    var mse = MeanSquaredError()
    try mse.update(yTrue: [[1.0, 2]], yPred: [[1.0, 3]])
    BadInputTests.expectRejected(mse, MetricError.shapeMismatch, mentioning: "[2, 3]") { m throws(MetricError) in
      try m.update(yTrue: try Tensor([[1.0, 2, 3], [1, 2, 3]]), yPred: try Tensor([[1.0, 2]]), sampleWeight: nil)
    }
  }
}

/// 10^7 values with a large common offset: Tally's MSE, R² (regression) and
/// Pearson (correlation) stay within 1e-9 of a float64 two-pass reference,
/// where naive float32 running sums (Keras's arithmetic) are visibly off.
@Suite struct NumericalStressTests {
  static let n = 10_000_000
  static let batch = 1_000_000
  static let offset = 1e6

  /// Pairwise summation: an independent float64 reference.
  static func pairwiseSum(_ x: ArraySlice<Double>) -> Double {
    if x.count <= 64 { return x.reduce(0, +) }
    let mid = x.startIndex + x.count / 2
    return pairwiseSum(x[..<mid]) + pairwiseSum(x[mid...])
  }

  static func data() -> (y: [Double], p: [Double]) {
    var g = SplitMix64(seed: 2026)
    var y = [Double](repeating: 0, count: n)
    var p = [Double](repeating: 0, count: n)
    for i in 0..<n {
      // Values representable in float32 are not the point here: the offset
      // is, so draw in float64.
      let x = Double.random(in: -1...1, using: &g)
      y[i] = offset + x
      p[i] = offset + 0.9 * x + 0.1 * Double.random(in: -1...1, using: &g)
    }
    return (y, p)
  }

  @Test func largeOffset() throws {
    let (y, p) = Self.data()
    let n = Double(Self.n)
    // Two-pass float64 references.
    let se = zip(y, p).map { ($0 - $1) * ($0 - $1) }
    let mseRef = Self.pairwiseSum(se[...]) / n
    let my = Self.pairwiseSum(y[...]) / n
    let mp = Self.pairwiseSum(p[...]) / n
    let ssy = Self.pairwiseSum(y.map { ($0 - my) * ($0 - my) }[...])
    let ssp = Self.pairwiseSum(p.map { ($0 - mp) * ($0 - mp) }[...])
    let sxy = Self.pairwiseSum(zip(y, p).map { ($0 - my) * ($1 - mp) }[...])
    let r2Ref = 1 - Self.pairwiseSum(se[...]) / ssy
    let pearsonRef = sxy / (ssy * ssp).squareRoot()

    var mse = MeanSquaredError(dtype: "float64")
    var r2 = try R2Score(dtype: "float64")
    var pearson = PearsonCorrelation(dtype: "float64")
    for start in stride(from: 0, to: Self.n, by: Self.batch) {
      let yt = Array(y[start..<(start + Self.batch)])
      let yp = Array(p[start..<(start + Self.batch)])
      try mse.update(yTrue: try Tensor(yt, shape: [Self.batch, 1]), yPred: try Tensor(yp, shape: [Self.batch, 1]))
      try r2.update(yTrue: try Tensor(yt, shape: [Self.batch, 1]), yPred: try Tensor(yp, shape: [Self.batch, 1]))
      try pearson.update(yTrue: Tensor(yt), yPred: Tensor(yp))
    }
    let rel = { (a: Double, b: Double) in abs(a - b) / abs(b) }
    #expect(rel(mse.result().scalar!, mseRef) < 1e-9)
    #expect(rel(r2.result().scalar!, r2Ref) < 1e-9, "\(r2.result()) vs \(r2Ref)")
    #expect(rel(pearson.result().scalar!, pearsonRef) < 1e-9, "\(pearson.result()) vs \(pearsonRef)")

    // Keras's arithmetic: float32 running sums of raw moments.
    var sum: Float = 0, sumSq: Float = 0, residual: Float = 0
    for i in 0..<Self.n {
      let t = Float(y[i])
      sum += t
      sumSq += t * t
      residual += (t - Float(p[i])) * (t - Float(p[i]))
    }
    let mean = sum / Float(Self.n)
    let naiveR2 = 1 - Double(residual / (sumSq - sum * mean))
    #expect(rel(naiveR2, r2Ref) > 1e-2, "naive float32 R² \(naiveR2) should be visibly off \(r2Ref)")
  }
}
