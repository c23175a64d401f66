// Helpers shared by the test suites: closeness, random splits and merges, bad-input and invariance checks.

import Foundation
import Tally
import Testing

/// Whether `a` and `b` are equal or adjacent doubles (at most 1 ulp apart).
func withinOneUlp(_ a: Double, _ b: Double) -> Bool {
  if a == b { return true }
  if a.isNaN && b.isNaN { return true }
  return a.nextUp == b || a.nextDown == b
}

/// Relative closeness for fixture comparisons: `|a − e| ≤ rtol·|e|`, with
/// `atol` for expected values at or near 0.
func isClose(_ a: Double, _ e: Double, rtol: Double, atol: Double = 1e-12) -> Bool {
  if a.isNaN || e.isNaN { return a.isNaN && e.isNaN }
  if a.isInfinite || e.isInfinite { return a == e }
  return abs(a - e) <= rtol * abs(e) + atol
}

/// Splits `0..<n` into consecutive ranges at random cut points.
func randomSplit(_ n: Int, parts: Int, using g: inout SplitMix64) -> [Range<Int>] {
  guard n > 0 else { return [] }
  let k = max(1, min(parts, n))
  var cuts = Set<Int>()
  while cuts.count < k - 1 { cuts.insert(Int.random(in: 1..<n, using: &g)) }
  let bounds = [0] + cuts.sorted() + [n]
  return (0..<(bounds.count - 1)).map { bounds[$0]..<bounds[$0 + 1] }
}

/// Rows `range` of a row-major tensor, as a new tensor.
func rows(_ t: Tensor, _ range: Range<Int>) -> Tensor {
  let rowSize = t.shape.dropFirst().reduce(1, *)
  let d = t.doubles()
  let slice = Array(d[(range.lowerBound * rowSize)..<(range.upperBound * rowSize)])
  return try! Tensor(slice, shape: [range.count] + t.shape.dropFirst())
}

/// Merges `metrics` in a random tree order: repeatedly pick two, merge.
func mergeRandomly<M: Metric>(_ metrics: [M], using g: inout SplitMix64) throws -> M {
  var pool = metrics
  while pool.count > 1 {
    let i = Int.random(in: 0..<pool.count, using: &g)
    var a = pool.remove(at: i)
    let j = Int.random(in: 0..<pool.count, using: &g)
    let b = pool.remove(at: j)
    // Merge in either direction: merge must be commutative.
    if Bool.random(using: &g) {
      try a.merge(b)
      pool.append(a)
    } else {
      var b2 = b
      try b2.merge(a)
      pool.append(b2)
    }
  }
  return pool[0]
}

//===--- Bad input --------------------------------------------------------===//

/// Metrics that already hold data, so that "unchanged" means something, and
/// the check that a bad call throws a typed error and leaves the state as it
/// was. A suite adopts this to call them as `Self.expectRejected(...)`;
/// other suites call `BadInputTests.expectRejected(...)`.
protocol BadInputChecks {}

extension BadInputChecks {
  /// A Mean that already holds data, so "unchanged" means something.
  static func primedMean() throws -> Mean {
    var m = Mean()
    try m.update([[1, 2], [3, 4]])
    try m.update([5, 6], sampleWeight: [0.5, 2])
    return m
  }

  static func primedWrapper() throws -> MeanMetricWrapper {
    var m = MeanMetricWrapper(fn: .meanSquaredError)
    try m.update(yTrue: [[1, 2], [3, 4]], yPred: [[1, 1], [1, 1]])
    return m
  }

  static func primedAUC() throws -> AUC {
    var m = try AUC()
    try m.update(yTrue: [0, 1, 1, 0], yPred: [0.2, 0.7, 0.4, 0.1])
    return m
  }

  static func primedPrecision() throws -> Precision {
    var m = try Precision(classId: 1)
    try m.update(yTrue: [[0, 1, 0], [1, 0, 0]], yPred: [[0.2, 0.7, 0.1], [0.5, 0.4, 0.1]])
    return m
  }

  /// Runs `body` on a copy of `metric`, expects `expected`'s kind of error
  /// with a message containing `fragment`, and checks the state is unchanged.
  static func expectRejected<M: Metric>(
    _ metric: M, _ kind: (String) -> MetricError, mentioning fragment: String,
    sourceLocation: SourceLocation = #_sourceLocation,
    _ body: (inout M) throws(MetricError) -> Void
  ) {
    var m = metric
    do throws(MetricError) {
      try body(&m)
      Issue.record("expected an error mentioning \"\(fragment)\"", sourceLocation: sourceLocation)
    } catch {
      #expect(error == kind(error.message), "wrong kind: \(error)", sourceLocation: sourceLocation)
      #expect(
        error.message.contains(fragment), "message \"\(error.message)\" lacks \"\(fragment)\"",
        sourceLocation: sourceLocation)
    }
    #expect(m.state == metric.state, "state changed", sourceLocation: sourceLocation)
    #expect(m.result() == metric.result(), sourceLocation: sourceLocation)
  }
}

//===--- Batch-split and merge-order invariance ---------------------------===//

/// Labels, predictions and optional per-sample weights of `n` rows
/// (`ClassificationPropertyTests.Data`).
struct PredictionData {
  var yTrue: Tensor
  var yPred: Tensor
  var weights: Tensor?
  var n: Int
}

/// Random classification data, and the check that a metric updated on all
/// of it at once gives what shards of random batches give, each saved,
/// loaded and merged in random order. A suite adopts this to call them as
/// `Self.both(...)`; other suites call `ClassificationPropertyTests.both(...)`.
protocol InvarianceChecks {}

extension InvarianceChecks {
  /// Binary labels and scores in [0, 1] of shape [n, c], with optional
  /// per-sample weights.
  static func data(seed: UInt64, weighted: Bool) -> (PredictionData, SplitMix64) {
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
      PredictionData(yTrue: try! Tensor(y, shape: [n, c]), yPred: try! Tensor(p, shape: [n, c]), weights: w, n: n), g
    )
  }

  /// Updates `make()` on all the data at once, and on random batches that
  /// are saved, loaded and merged in random order; returns both results.
  static func both<M: PredictionMetric & KerasSerializable>(
    _ make: () throws -> M, _ d: PredictionData, _ g: inout SplitMix64
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
}

//===--- Spec vectors -----------------------------------------------------===//

/// The two-sample vectors of the spec's regression, hinge, probabilistic,
/// IoU and correlation examples, and a relative closeness check. A suite
/// adopts this to use them as `Self.y`, `Self.p`, `Self.close(...)`.
protocol CatalogVectors {}

extension CatalogVectors {
  static var y: [[Double]] { [[0, 1], [0, 0]] }
  static var p: [[Double]] { [[0.6, 0.4], [0.4, 0.6]] }

  static func close(_ a: MetricValue, _ b: Double, _ tol: Double = 1e-6) -> Bool {
    abs(a.scalar! - b) <= tol * max(1, abs(b))
  }
}

/// The encoded state (sorted keys) of a metric held as an existential.
func encoded(_ m: any Metric) throws -> Data {
  func open<M: Metric>(_ m: M) throws -> Data {
    let e = JSONEncoder()
    e.outputFormatting = .sortedKeys
    return try e.encode(m.state)
  }
  return try open(m)
}
