import Testing
import Tally

/// Spec §2.2 examples (Keras docstrings).
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

/// Spec §2.8 vectors.
@Suite struct FScoreMetricsTests {
  static let y: [[Double]] = [[1, 1, 1], [1, 0, 0], [1, 1, 0]]
  static let p: [[Double]] = [[0.2, 0.6, 0.7], [0.2, 0.6, 0.6], [0.6, 0.8, 0]]

  @Test func averages() throws {
    var none = try F1Score(threshold: 0.5)
    try none.update(yTrue: Self.y, yPred: Self.p)
    let v = none.result().values
    for (a, b) in zip(v, [0.5, 0.8, 0.666667]) { #expect(abs(a - b) < 1e-6) }
    let expected: [(FScoreAverage, Double)] = [(.micro, 0.666667), (.macro, 0.655555), (.weighted, 0.627778)]
    for (avg, want) in expected {
      var m = try FBetaScore(average: avg, beta: 1, threshold: 0.5)
      try m.update(yTrue: Self.y, yPred: Self.p)
      #expect(abs(m.result().scalar! - want) < 1e-6, "\(avg)")
    }
    var rowMax = try F1Score()
    try rowMax.update(yTrue: Self.y, yPred: Self.p)
    for (a, b) in zip(rowMax.result().values, [0.0, 0.5, 0.666667]) { #expect(abs(a - b) < 1e-6) }
  }
}

/// The vectorised argmax of the sparse accuracy fast path agrees with the
/// general path on ties, NaN, −∞ rows and rows shorter than a vector.
@Suite struct ArgmaxEdgeCaseTests {
  static let rows: [[Float]] = [
    [Float](repeating: -.infinity, count: 40),
    (0..<40).map { $0 == 37 ? 5 : ($0 == 3 ? 5 : 1) },  // tie: lowest index wins
    (0..<40).map { $0 == 20 ? .nan : Float($0) },  // NaN wins, as NumPy
    [1, 3, 3, 2],  // shorter than 16
    (0..<33).map { $0 == 32 ? 9 : 1 },  // maximum in the tail
  ]

  @Test func fastAndGeneralPathsAgree() throws {
    for row in Self.rows {
      let c = row.count
      for label in [0, 3, 20 % c, 32 % c, 37 % c] {
        var fast = SparseCategoricalAccuracy()  // float32 rows: the fast path
        try fast.update(yTrue: Tensor([Int32(label)]), yPred: try Tensor(row, shape: [1, c]))
        let general = try sparseCategoricalAccuracy(yTrue: Tensor([Int32(label)]), yPred: try Tensor(row, shape: [1, c]))
        #expect(fast.result() == .scalar(general.doubles()[0]), "row \(row.prefix(4))…, label \(label)")
      }
    }
  }
}
