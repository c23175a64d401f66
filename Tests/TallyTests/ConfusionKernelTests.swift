// The confusion-matrix kernels (ConfusionKernels.swift): the fast paths against the general path.

import Foundation
import Testing

@testable import Tally

/// The confusion-matrix kernels (ConfusionKernels.swift) give exactly what
/// the general path gives: the float32 bucket histogram (AUC and evenly
/// spaced thresholds), the single-threshold counts, and the errors for bad
/// elements. The same batches check the binary-accuracy kernel too.
@Suite struct ConfusionKernelTests {
  /// Float32 scores that hit the grid points of `t` evenly spaced
  /// thresholds, their neighbours, 0, 1 and values outside [0, 1].
  static func scores(_ n: Int, grid t: Int, _ g: inout SplitMix64) -> [Float] {
    (0..<n).map { _ in
      switch Int.random(in: 0..<6, using: &g) {
      case 0: return Float(Int.random(in: 0..<t, using: &g)) / Float(t - 1)
      case 1:
        let x = Float(Int.random(in: 0..<t, using: &g)) / Float(t - 1)
        return Bool.random(using: &g) ? x.nextUp : x.nextDown
      case 2: return [0, 1, -0.0, -0.25, 1.5, .ulpOfOne][Int.random(in: 0..<6, using: &g)]
      default: return Float.random(in: 0...1, using: &g)
      }
    }
  }

  /// The fast path (unweighted float32) against the general path (the same
  /// batch with weights of one), for the AUC grid with ε end points and for
  /// explicitly given evenly spaced thresholds; several batches each, with
  /// lengths around the kernels' blocks of 4 and 1,024.
  @Test(arguments: 0..<24)
  func evenBucketKernelMatchesGeneralPath(seed: Int) throws {
    var g = SplitMix64(seed: UInt64(9_000 + seed))
    let t = [3, 5, 200, 257, 1000, 10_000][seed % 6]
    var fast = try AUC(numThresholds: t)
    var general = try AUC(numThresholds: t)
    let explicit = (0..<5).map { Double($0) / 4 }
    var fastPrecision = try Precision(thresholds: explicit)
    var generalPrecision = try Precision(thresholds: explicit)
    var fastSingle = try Precision(thresholds: [0.5])
    var generalSingle = try Precision(thresholds: [0.5])
    var fastAccuracy = BinaryAccuracy()
    var doubleAccuracy = BinaryAccuracy()
    for _ in 0..<3 {
      let n = [1, 3, 4, 5, 1023, 1024, 1025, 4099, Int.random(in: 1...6000, using: &g)][
        Int.random(in: 0..<9, using: &g)]
      let p = Self.scores(n, grid: t, &g)
      let y = (0..<n).map { _ in Float(Int.random(in: 0...1, using: &g)) }
      let ones = Tensor([Float](repeating: 1, count: n))
      try fast.update(yTrue: Tensor(y), yPred: Tensor(p), sampleWeight: nil)
      try general.update(yTrue: Tensor(y), yPred: Tensor(p), sampleWeight: ones)
      try fastPrecision.update(yTrue: Tensor(y), yPred: Tensor(p), sampleWeight: nil)
      try generalPrecision.update(yTrue: Tensor(y), yPred: Tensor(p), sampleWeight: ones)
      try fastSingle.update(yTrue: Tensor(y), yPred: Tensor(p), sampleWeight: nil)
      try generalSingle.update(yTrue: Tensor(y), yPred: Tensor(p), sampleWeight: ones)
      try fastAccuracy.update(yTrue: Tensor(y), yPred: Tensor(p), sampleWeight: nil)
      try doubleAccuracy.update(yTrue: Tensor(y.map(Double.init)), yPred: Tensor(p.map(Double.init)), sampleWeight: nil)
    }
    #expect(fastAccuracy.result() == doubleAccuracy.result())
    for (a, b) in [
      (fast.state, general.state), (fastPrecision.state, generalPrecision.state),
      (fastSingle.state, generalSingle.state),
    ] {
      #expect(a.truePositives.map(\.value) == b.truePositives.map(\.value))
      #expect(a.falsePositives.map(\.value) == b.falsePositives.map(\.value))
      #expect(a.trueNegatives.map(\.value) == b.trueNegatives.map(\.value))
      #expect(a.falseNegatives.map(\.value) == b.falseNegatives.map(\.value))
    }
    #expect(fast.result() == general.result())
  }

  /// A NaN score or a label outside {0, 1} anywhere in a long float32 batch
  /// (in the vectorised body or the tail) is reported at its flat index,
  /// and the state is unchanged.
  @Test(arguments: [0, 3, 1024, 2047, 2049, 2050])
  func evenBucketKernelReportsFirstBadElement(at index: Int) throws {
    var g = SplitMix64(seed: 77)
    let n = 2051
    var p = Self.scores(n, grid: 200, &g)
    var y = (0..<n).map { _ in Float(Int.random(in: 0...1, using: &g)) }
    var m = try AUC()
    try m.update(yTrue: Tensor(y), yPred: Tensor(p), sampleWeight: nil)
    let before = m.state
    p[index] = .nan
    #expect(throws: MetricError.invalidValue("AUC: y_pred holds NaN at flat index \(index)")) {
      try m.update(yTrue: Tensor(y), yPred: Tensor(p), sampleWeight: nil)
    }
    p[index] = 0.5
    y[index] = 0.5
    if index != n - 1 { y[n - 1] = 2 }  // a later bad label is not the one reported
    #expect(
      throws: MetricError.invalidValue(
        "AUC needs binary labels in {0, 1}; received y_true value 0.5 at flat index \(index)")
    ) {
      try m.update(yTrue: Tensor(y), yPred: Tensor(p), sampleWeight: nil)
    }
    #expect(m.state == before)
    // The single-threshold kernel reports the same way.
    var precision = try Precision(thresholds: [0.5])
    p[index] = .nan
    #expect(throws: MetricError.invalidValue("Precision: y_pred holds NaN at flat index \(index)")) {
      try precision.update(yTrue: Tensor(y), yPred: Tensor(p), sampleWeight: nil)
    }
    #expect(precision.state.isEmpty)
  }

  /// Counts written directly from integer bucket counts (settling slices)
  /// are the counts added to zeros, entry for entry and bit for bit, for
  /// thresholds in any order.
  @Test(arguments: [1, 2, 7, 200])
  func cumulativeCountsAreTheCountsAddedToZeros(thresholds t: Int) throws {
    var g = SplitMix64(seed: UInt64(t))
    let pos = (0...t).map { _ in Int.random(in: 0...1_000_000, using: &g) }
    let neg = (0...t).map { _ in Int.random(in: 0...1_000_000, using: &g) }
    let order = Array(0..<t).shuffled(using: &g)
    var added = ConfusionCounts(thresholds: t, labels: 1)
    try added.addCumulative(pos: pos, neg: neg, order: order)
    let direct = ConfusionCounts(cumulativePos: pos, neg: neg, order: order)
    #expect(direct == added)
    for i in 0..<t {
      for (a, b) in [
        (direct.truePositives[i], added.truePositives[i]), (direct.falsePositives[i], added.falsePositives[i]),
        (direct.trueNegatives[i], added.trueNegatives[i]), (direct.falseNegatives[i], added.falseNegatives[i]),
      ] {
        #expect(a.head.bitPattern == b.head.bitPattern && a.tail.bitPattern == b.tail.bitPattern)
      }
    }
  }
}
