import Foundation
import Testing
import Tally

/// Batch-split and merge-order invariance for the regression, probabilistic,
/// hinge, IoU and correlation families.
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
      yTrue: try Tensor(d.yTrue.doubles().enumerated().filter { $0.offset % d.yTrue.shape[1] == 0 }.map(\.element)),
      yPred: try Tensor(d.yPred.doubles().enumerated().filter { $0.offset % d.yPred.shape[1] == 0 }.map(\.element)),
      weights: d.weights, n: d.n)
    let (p1, p2) = try ClassificationPropertyTests.both({ PearsonCorrelation() }, column, &g)
    #expect(Self.relClose(p1, p2, 1e-12), "\(p1) vs \(p2)")
    let (c1, c2) = try ClassificationPropertyTests.both({ ConcordanceCorrelation() }, column, &g)
    #expect(Self.relClose(c1, c2, 1e-12), "\(c1) vs \(c2)")
  }
}

/// Bad input to the rest of the catalog: typed errors, state unchanged.
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
    BadInputTests.expectRejected(pearson, MetricError.invalidValue, mentioning: "dataset-level") { m throws(MetricError) in
      try m.update(yTrue: try Tensor([[1.0, 2]]), yPred: try Tensor([[1.0, 3]]), sampleWeight: nil)
    }
    var mse = MeanSquaredError()
    try mse.update(yTrue: [[1.0, 2]], yPred: [[1.0, 3]])
    BadInputTests.expectRejected(mse, MetricError.shapeMismatch, mentioning: "[2, 3]") { m throws(MetricError) in
      try m.update(yTrue: try Tensor([[1.0, 2, 3], [1, 2, 3]]), yPred: try Tensor([[1.0, 2]]), sampleWeight: nil)
    }
  }
}
