// The accuracy family (Catalog/Accuracy): Accuracy, BinaryAccuracy and the categorical and top-k accuracies.

import Tally
import Testing

/// The examples of Keras's accuracy docstrings.
@Suite struct AccuracyMetricsTests {
  @Test func accuracy() throws {
    var m = Accuracy()
    try m.update(yTrue: [[1], [2], [3], [4]], yPred: [[0], [2], [3], [4]])
    #expect(m.result() == .scalar(0.75))
    m.reset()
    try m.update(yTrue: [[1], [2], [3], [4]], yPred: [[0], [2], [3], [4]], sampleWeight: [1, 1, 0, 0])
    #expect(m.result() == .scalar(0.5))
  }

  @Test func binaryAccuracyIsStrict() throws {
    var m = BinaryAccuracy()
    try m.update(yTrue: [[1], [1], [0], [0]], yPred: [[0.98], [1], [0], [0.6]])
    #expect(m.result() == .scalar(0.75))
    var onThreshold = BinaryAccuracy()
    try onThreshold.update(yTrue: [0.0, 1.0], yPred: [0.5, 0.5])
    #expect(onThreshold.result() == .scalar(0.5))
  }

  @Test func categoricalAccuracyTiesTakeTheLowestIndex() throws {
    var m = CategoricalAccuracy()
    try m.update(yTrue: [[0, 0, 1], [0, 1, 0]], yPred: [[0.1, 0.9, 0.8], [0.05, 0.95, 0]])
    #expect(m.result() == .scalar(0.5))
    var tie = CategoricalAccuracy()
    try tie.update(yTrue: [[0.0, 1, 0]], yPred: [[0.5, 0.5, 0]])
    #expect(tie.result() == .scalar(0))
  }

  @Test func sparseCategoricalAccuracy() throws {
    var m = SparseCategoricalAccuracy()
    try m.update(yTrue: [[2], [1]], yPred: [[0.1, 0.6, 0.3], [0.05, 0.95, 0]])
    #expect(m.result() == .scalar(0.5))
    // Sequences: (N, T) labels against (N, T, C) predictions.
    var seq = SparseCategoricalAccuracy()
    try seq.update(yTrue: [[0, 1]], yPred: [[[0.9, 0.1], [0.8, 0.2]]])
    #expect(seq.result() == .scalar(0.5))
  }

  @Test func topKTiesAtTheBoundaryAreHits() throws {
    var m = try SparseTopKCategoricalAccuracy(k: 2)
    try m.update(yTrue: [2], yPred: [[0.5, 0.3, 0.3]])
    #expect(m.result() == .scalar(1))
    var t = try TopKCategoricalAccuracy(k: 1)
    try t.update(yTrue: [[0, 0, 1], [0, 1, 0]], yPred: [[0.1, 0.9, 0.8], [0.05, 0.95, 0]])
    #expect(t.result() == .scalar(0.5))
    var sorted = try SparseTopKCategoricalAccuracy(k: 2, fromSortedIds: true)
    try sorted.update(yTrue: [2, 0], yPred: [[1, 2, 0], [1, 2, 0]])
    #expect(sorted.result() == .scalar(0.5))
  }
}
