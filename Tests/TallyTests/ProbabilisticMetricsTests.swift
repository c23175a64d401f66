// The probabilistic family (Catalog/Probabilistic): the cross-entropies, KLDivergence and Poisson.

import Tally
import Testing

/// Hand-computed values, and bad input: a typed error, the state unchanged.
@Suite struct ProbabilisticMetricsTests: CatalogVectors {
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
