import Testing
import Tally

/// Spec vectors for the regression, hinge, probabilistic, IoU and
/// correlation families (§2.4–2.9), each verified against Keras there.
@Suite struct CatalogVectorTests: CatalogVectors {
  @Test func hingeFamily() throws {
    var h = Hinge()
    try h.update(yTrue: Self.y, yPred: Self.p)
    #expect(Self.close(h.result(), 1.3))
    var s = SquaredHinge()
    try s.update(yTrue: Self.y, yPred: Self.p)
    #expect(Self.close(s.result(), 1.86))
    var c = CategoricalHinge()
    try c.update(yTrue: Self.y, yPred: Self.p)
    #expect(Self.close(c.result(), 1.4))
  }

  @Test func meanIoUExcludesAbsentClasses() throws {
    var m = try MeanIoU(numClasses: 3)
    try m.update(yTrue: [0, 1, 1, 1], yPred: [0, 1, 0, 1])
    #expect(Self.close(m.result(), 0.583333))
    var ignored = try MeanIoU(numClasses: 2, ignoreClass: 5)
    try ignored.update(yTrue: [0, 1, 5, 5], yPred: [0, 1, 1, 0])
    #expect(Self.close(ignored.result(), 1.0))
  }

  @Test func r2Score() throws {
    var m = try R2Score()
    try m.update(yTrue: [[1], [4], [3]], yPred: [[2], [4], [4]])
    #expect(Self.close(m.result(), 0.571429))
  }

  @Test func regressionErrors() throws {
    var mape = MeanAbsolutePercentageError()
    try mape.update(yTrue: [[0.0]], yPred: [[1.0]])
    #expect(Self.close(mape.result(), 1e9))
    var rmse = RootMeanSquaredError()
    try rmse.update(yTrue: [[0, 1], [0, 0]], yPred: [[1, 1], [0, 0]])
    #expect(Self.close(rmse.result(), 0.5))
    var cos = CosineSimilarity()
    try cos.update(yTrue: [[0.0, 0.0]], yPred: [[1.0, 0.0]])
    #expect(cos.result() == .scalar(0))  // a zero vector gives 0
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

  /// The dataset-level Pearson correlation does not depend on batching.
  @Test func pearsonAcrossBatches() throws {
    var m = PearsonCorrelation()
    try m.update(yTrue: [1.0, 2], yPred: [2.0, 4])
    try m.update(yTrue: [3.0], yPred: [7.0])
    var one = PearsonCorrelation()
    try one.update(yTrue: [1.0, 2, 3], yPred: [2.0, 4, 7])
    #expect(Self.close(m.result(), one.result().scalar!, 1e-14))
    #expect(Self.close(one.result(), 0.9933993))
    // Per-row correlation (rank 2) is Keras's per-sample mean.
    var rows = PearsonCorrelation()
    try rows.update(yTrue: [[1.0, 2, 3], [1, 2, 3]], yPred: [[2.0, 4, 7], [3, 2, 1]])
    #expect(Self.close(rows.result(), (0.9933993 - 1) / 2))
  }
}
