import Foundation
import Testing
import Tally

/// Batch-split, merge-order and save/load invariance for the classification
/// catalog, on seeded random data.
@Suite struct ClassificationPropertyTests {
  struct Data {
    var yTrue: Tensor
    var yPred: Tensor
    var weights: Tensor?
    var n: Int
  }

  /// Binary labels and scores in [0, 1] of shape [n, c], with optional
  /// per-sample weights.
  static func data(seed: UInt64, weighted: Bool) -> (Data, SplitMix64) {
    var g = SplitMix64(seed: seed)
    let n = Int.random(in: 2...400, using: &g)
    let c = Int.random(in: 1...4, using: &g)
    let y = (0..<(n * c)).map { _ in Double(Int.random(in: 0...1, using: &g)) }
    // Round some scores so that ties and grid points occur.
    let p = (0..<(n * c)).map { _ in
      Bool.random(using: &g)
        ? Double(Float.random(in: 0...1, using: &g))
        : (Double.random(in: 0...1, using: &g) * 20).rounded() / 20
    }
    let w = weighted ? Tensor((0..<n).map { _ in Double.random(in: 0...2, using: &g) }) : nil
    return (
      Data(yTrue: try! Tensor(y, shape: [n, c]), yPred: try! Tensor(p, shape: [n, c]), weights: w, n: n), g
    )
  }

  /// Updates `make()` on all the data at once, and on random batches that
  /// are saved, loaded and merged in random order; returns both results.
  static func both<M: PredictionMetric & KerasSerializable>(
    _ make: () throws -> M, _ d: Data, _ g: inout SplitMix64
  ) throws -> (MetricValue, MetricValue) {
    var whole = try make()
    try whole.update(yTrue: d.yTrue, yPred: d.yPred, sampleWeight: d.weights)
    var shards: [M] = [try make()]
    for r in randomSplit(d.n, parts: Int.random(in: 1...10, using: &g), using: &g) {
      var m = try make()
      try m.update(yTrue: rows(d.yTrue, r), yPred: rows(d.yPred, r), sampleWeight: d.weights.map { rows($0, r) })
      shards.append(try M(savedState: m.savedState()))
    }
    let merged = try mergeRandomly(shards, using: &g)
    return (whole.result(), merged.result())
  }

  static func expectSame(_ a: MetricValue, _ b: MetricValue, exact: Bool) {
    #expect(a.values.count == b.values.count)
    for (x, y) in zip(a.values, b.values) {
      if exact {
        #expect(x == y || (x.isNaN && y.isNaN), "\(x) vs \(y)")
      } else {
        #expect(withinOneUlp(x, y), "\(x) vs \(y)")
      }
    }
  }

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
  func thresholdMetricsAreInvariant(seed: Int) throws {
    let weighted = seed % 2 == 1
    var (d, g) = Self.data(seed: UInt64(100 + seed), weighted: weighted)
    let (p1, p2) = try Self.both({ try Precision(thresholds: [0.7, 0.25, 0.5]) }, d, &g)
    Self.expectSame(p1, p2, exact: !weighted)
    let (r1, r2) = try Self.both({ try Recall(thresholds: [0, 0.5, 1]) }, d, &g)
    Self.expectSame(r1, r2, exact: !weighted)
    let (s1, s2) = try Self.both({ try SensitivityAtSpecificity(specificity: 0.6) }, d, &g)
    Self.expectSame(s1, s2, exact: !weighted)
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
