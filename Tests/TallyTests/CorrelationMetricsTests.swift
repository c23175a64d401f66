// The correlation family (Catalog/Correlation): PearsonCorrelation and ConcordanceCorrelation.

import Tally
import Testing

/// Spec vectors verified against Keras, across batches and per row.
@Suite struct CorrelationMetricsTests: CatalogVectors {
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
