// The regression family (Catalog/Regression): the error metrics, CosineSimilarity, R2Score, per-sample functions.

import Tally
import Testing

/// Spec vectors verified against Keras, and the per-sample functions.
@Suite struct RegressionMetricsTests: CatalogVectors {
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

  @Test func perSampleFunctions() throws {
    let mse = try meanSquaredError(yTrue: Tensor([[0, 1], [0, 0]]), yPred: Tensor([[1, 1], [0, 0]]))
    #expect(mse.shape == [2])
    #expect(mse.doubles() == [0.5, 0])
    // (N, 1) against (N,): rank-aligned, not broadcast to (N, N).
    let mae = try meanAbsoluteError(yTrue: Tensor([[1.0], [2.0]]), yPred: Tensor([0.0, 0.0]))
    #expect(mae.doubles() == [1, 2])
  }
}
