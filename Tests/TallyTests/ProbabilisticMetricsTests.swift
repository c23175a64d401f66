// The probabilistic family (Catalog/Probabilistic): the cross-entropies, KLDivergence and Poisson.

import Foundation
import Tally
import Testing

/// Hand-computed values, and bad input: a typed error, the state unchanged.
@Suite struct ProbabilisticMetricsTests: CatalogVectors {
  /// The float32 one-pass binary cross-entropy gives the general formula's
  /// bits, −(y·log q + (1 − y)·log(1 − q)) with q and 1 − q as Keras rounds
  /// them, then the mean along the last axis: hard and soft labels (and −0),
  /// scores at 0 and 1 (clipped), NaN, label smoothing and logits, one column
  /// and three; the float64 inputs (the general path) agree with both.
  @Test(arguments: [1, 3]) func float32BinaryCrossentropyIsTheFormula(columns: Int) throws {
    var g = SplitMix64(seed: 31)
    let n = 3_001
    var y = (0..<(n * columns)).map { i -> Float in
      i % 3 == 0 ? Float.random(in: 0...1, using: &g) : Float(Int.random(in: 0...1, using: &g))
    }
    y[4] = -0.0
    var p = (0..<(n * columns)).map { _ in Float.random(in: 0...1, using: &g) }
    (p[1], p[2], p[7], p[8]) = (0, 1, .nan, -0.0)
    let shape = [n, columns]
    let eps = Double(Float(1e-7))
    for (ls, logits) in [(0.0, false), (0.2, false), (0.0, true)] {
      let fast = try binaryCrossentropy(
        yTrue: Tensor(y, shape: shape), yPred: Tensor(p, shape: shape), fromLogits: logits, labelSmoothing: ls
      ).doubles()
      let general = try binaryCrossentropy(
        yTrue: Tensor(y.map(Double.init), shape: shape), yPred: Tensor(p.map(Double.init), shape: shape),
        fromLogits: logits, labelSmoothing: ls
      ).doubles()
      var expected: [Double] = []
      for row in 0..<n {
        var sum = 0.0
        for j in (row * columns)..<(row * columns + columns) {
          let (yv, pv) = (Double(y[j]) * (1 - ls) + 0.5 * ls, Double(p[j]))
          if logits {
            sum += max(pv, 0) - pv * yv + Double.log(onePlus: Double.exp(-abs(pv)))
          } else {
            let q = min(max(pv, eps), Double(Float(1 - 1e-7)))
            sum += -(yv * Double.log(q) + (1 - yv) * Double.log(Double(Float(1 - q))))
          }
        }
        expected.append(sum / Double(columns))
      }
      // (A NaN is a NaN: its sign bit is not kept.)
      let differing = (0..<n).filter {
        fast[$0].bitPattern != expected[$0].bitPattern && !(fast[$0].isNaN && expected[$0].isNaN)
      }
      #expect(differing.isEmpty, "ls \(ls), logits \(logits): rows \(differing.prefix(5)) of \(differing.count)")
      #expect(fast[7 / columns].isNaN, "the NaN score's row")
      #expect(fast.filter(\.isNaN).count == expected.filter(\.isNaN).count)
      // The float64 path clips at float64's ε: away from the clipping the
      // two agree closely.
      for row in 0..<n where fast[row].isFinite {
        let clipped = (row * columns..<row * columns + columns).contains { p[$0] < 1e-6 || p[$0] > 1 - 1e-6 }
        if clipped && !logits { continue }
        #expect(abs(fast[row] - general[row]) <= 1e-5 * max(1, abs(fast[row])), "row \(row)")
      }
    }
  }

  @Test func crossEntropiesMatchHandValues() throws {
    // −(log 0.4 + log 0.4) / 2 and −(log 0.6 + log 0.4) / 2, averaged.
    var bce = BinaryCrossentropy()
    try bce.update(yTrue: Self.y, yPred: Self.p)
    let expected = (-(Double.log(0.4) * 2) / 2 + -(Double.log(0.6) + Double.log(0.4)) / 2) / 2
    #expect(Self.close(bce.result(), expected, 1e-12))
    // Logits far from 0: the stable form, not a clipped probability.
    var logits = BinaryCrossentropy(fromLogits: true)
    try logits.update(yTrue: [[0.0]], yPred: [[40.0]])
    #expect(Self.close(logits.result(), 40, 1e-12))
    var scce = SparseCategoricalCrossentropy()
    try scce.update(yTrue: [1, 2], yPred: [[0.05, 0.95, 0], [0.1, 0.8, 0.1]])
    #expect(Self.close(scce.result(), 1.1769392))
  }

  @Test func negativeValuesUnderALog() throws {
    var m = Poisson()
    try m.update(yTrue: [[1.0]], yPred: [[2.0]])
    BadInputTests.expectRejected(m, MetricError.invalidValue, mentioning: "-3.0") { m throws(MetricError) in
      try m.update(yTrue: try Tensor([[1.0]]), yPred: try Tensor([[-3.0]]), sampleWeight: nil)
    }
    var s = SparseCategoricalCrossentropy()
    try s.update(yTrue: [1], yPred: [[0.2, 0.8]])
    BadInputTests.expectRejected(s, MetricError.invalidValue, mentioning: "2.0") { m throws(MetricError) in
      try m.update(yTrue: Tensor([2.0]), yPred: try Tensor([[0.2, 0.8]]), sampleWeight: nil)
    }
  }
}
