// The confusion family (Catalog/Confusion): condition counts, Precision and Recall, the operating points and AUC.

import Foundation
import Tally
import Testing

/// Vectors of the confusion-matrix metrics, each checked against Keras.
@Suite struct ConfusionMetricsTests {
  static let y: [Double] = [0, 0, 1, 1, 1, 0]
  static let p: [Double] = [0.1, 0.6, 0.35, 0.8, 0.7, 0.2]

  static let aucTable: [(AUCCurve, AUCSummationMethod, Double)] = [
    (.roc, .interpolation, 0.888889), (.roc, .minoring, 0.888889), (.roc, .majoring, 0.888889),
    (.pr, .interpolation, 0.904106), (.pr, .minoring, 0.555556), (.pr, .majoring, 0.916667),
    (.prGain, .interpolation, 0.791667), (.prGain, .minoring, 0.75), (.prGain, .majoring, 0.833333),
  ]

  @Test(arguments: aucTable)
  func aucCurvesAndSummations(_ c: (AUCCurve, AUCSummationMethod, Double)) throws {
    var m = try AUC(curve: c.0, summationMethod: c.1)
    try m.update(yTrue: Self.y, yPred: Self.p)
    #expect(abs(m.result().scalar! - c.2) < 1e-6)
  }

  @Test func aucExamples() throws {
    for n in [200, 3] {
      var m = try AUC(numThresholds: n)
      try m.update(yTrue: [0, 0, 1, 1], yPred: [0, 0.5, 0.3, 0.9])
      #expect(abs(m.result().scalar! - 0.75) < 1e-12)
    }
    var explicit = try AUC(thresholds: [0.25, 0.5, 0.75])
    try explicit.update(yTrue: [0, 0, 1, 1], yPred: [0, 0.5, 0.3, 0.9])
    #expect(abs(explicit.result().scalar! - 0.875) < 1e-12)
    var logits = try AUC(fromLogits: true)
    try logits.update(yTrue: [0, 0, 1, 1], yPred: [-3, 0, -1, 2])
    #expect(abs(logits.result().scalar! - 0.75) < 1e-12)
    var multi = try AUC(multiLabel: true, labelWeights: [1, 3])
    try multi.update(
      yTrue: [[0, 1], [1, 0], [1, 1], [0, 0]], yPred: [[0.2, 0.7], [0.6, 0.3], [0.3, 0.8], [0.5, 0.9]])
    #expect(abs(multi.result().scalar! - 0.5625) < 1e-12)
  }

  @Test func singleClassRocIsZeroAsInKeras() throws {
    var m = try AUC()
    try m.update(yTrue: [1, 1, 1], yPred: [0.2, 0.5, 0.9])
    #expect(m.result() == .scalar(0))
  }

  @Test func bucketWorkedExample() throws {
    // Buckets [0, 0, 0, 1] → TP = [2, 1, 0].
    var tp = try TruePositives(thresholds: [0, 0.5, 1])
    try tp.update(yTrue: [0, 0, 1, 1], yPred: [0.1, 0.5, 0.3, 0.9])
    #expect(tp.result() == .vector([2, 1, 0]))
    var fp = try FalsePositives(thresholds: [0, 0.5, 1])
    try fp.update(yTrue: [0, 0, 1, 1], yPred: [0.1, 0.5, 0.3, 0.9])
    #expect(fp.result() == .vector([2, 0, 0]))
  }

  @Test func atXVectors() throws {
    let y: [Double] = [0, 0, 0, 1, 1]
    let p: [Double] = [0, 0.3, 0.8, 0.3, 0.8]
    var a = try SensitivityAtSpecificity(specificity: 0.5)
    try a.update(yTrue: y, yPred: p)
    #expect(abs(a.result().scalar! - 0.5) < 1e-12)
    var b = try SpecificityAtSensitivity(sensitivity: 0.5)
    try b.update(yTrue: y, yPred: p)
    #expect(abs(b.result().scalar! - 2.0 / 3.0) < 1e-12)
    var c = try PrecisionAtRecall(recall: 0.5)
    try c.update(yTrue: y, yPred: p)
    #expect(abs(c.result().scalar! - 0.5) < 1e-12)
    var d = try RecallAtPrecision(precision: 0.8)
    try d.update(yTrue: [0, 0, 1, 1], yPred: [0, 0.5, 0.3, 0.9])
    #expect(abs(d.result().scalar! - 0.5) < 1e-12)
  }

  @Test func topKAndClassId() throws {
    var p2 = try Precision(topK: 2)
    try p2.update(yTrue: [0, 0, 1, 1], yPred: [1, 1, 1, 1])
    #expect(p2.result() == .scalar(0))
    var p4 = try Precision(topK: 4)
    try p4.update(yTrue: [0, 0, 1, 1], yPred: [1, 1, 1, 1])
    #expect(p4.result() == .scalar(0.5))
    var cls = try Precision(classId: 2)
    try cls.update(yTrue: [[0, 0, 1], [0, 1, 0]], yPred: [[0.1, 0.2, 0.9], [0.2, 0.1, 0.7]])
    #expect(cls.result() == .scalar(0.5))
  }

  @Test func predictionOnTheThresholdIsNegative() throws {
    var r = try Recall()
    try r.update(yTrue: [1, 1], yPred: [0.5, 0.6])
    #expect(r.result() == .scalar(0.5))
  }

  /// The examples in the doc comments of the condition counts, Precision
  /// and Recall (the at-X metrics' and AUC's are `atXVectors` and
  /// `aucExamples`).
  @Test func docExamples() throws {
    var tp = try TruePositives()
    try tp.update(yTrue: [0, 1, 1, 1], yPred: [1, 0, 1, 1])
    #expect(tp.result() == .scalar(2))
    var fp = try FalsePositives()
    try fp.update(yTrue: [0, 1, 0, 0], yPred: [0, 0, 1, 1])
    #expect(fp.result() == .scalar(2))
    var tn = try TrueNegatives()
    try tn.update(yTrue: [0, 1, 0, 0], yPred: [1, 1, 0, 0])
    #expect(tn.result() == .scalar(2))
    var fn = try FalseNegatives()
    try fn.update(yTrue: [0, 1, 1, 1], yPred: [0, 1, 0, 0])
    #expect(fn.result() == .scalar(2))
    var precision = try Precision()
    try precision.update(yTrue: [0, 1, 1, 1], yPred: [1, 0, 1, 1])
    #expect(precision.result() == .scalar(0.6666666666666666))
    var recall = try Recall()
    try recall.update(yTrue: [0, 1, 1, 1], yPred: [1, 0, 1, 1])
    #expect(recall.result() == .scalar(0.6666666666666666))
  }

  /// Each typealias keeps its Keras class, default name and arguments, and
  /// its Swift initialiser writes the configuration Keras would.
  @Test func declarationsKeepKerasNames() throws {
    #expect(
      MetricFamily.confusion.metrics.map(\.className) == [
        "TruePositives", "FalsePositives", "TrueNegatives", "FalseNegatives", "Precision", "Recall",
        "SensitivityAtSpecificity", "SpecificityAtSensitivity", "PrecisionAtRecall", "RecallAtPrecision", "AUC",
      ])
    #expect(FalseNegatives.declaration.defaultName == "false_negatives")
    #expect(Recall.declaration.arguments.map(\.key) == ["thresholds", "top_k", "class_id"])
    #expect(PrecisionAtRecall.declaration.arguments.map(\.key) == ["recall", "num_thresholds", "class_id"])
    #expect(
      AUC.declaration.arguments.map(\.key) == [
        "num_thresholds", "curve", "summation_method", "thresholds", "multi_label", "num_labels", "label_weights",
        "from_logits",
      ])
    #expect(
      try TrueNegatives(thresholds: [0.3]).config.config == [
        "name": "true_negatives", "dtype": "float32", "thresholds": .array([0.3]),
      ])
    #expect(
      try Precision(topK: 2).config.config == [
        "name": "precision", "dtype": "float32", "thresholds": .null, "top_k": 2, "class_id": .null,
      ])
    #expect(
      try SpecificityAtSensitivity(sensitivity: 0.4, classId: 1).config.config == [
        "name": "specificity_at_sensitivity", "dtype": "float32", "sensitivity": 0.4, "num_thresholds": 200,
        "class_id": 1,
      ])
    // `thresholds` only when given, as Keras.
    #expect(try AUC().config.config["thresholds"] == nil)
    #expect(try AUC(thresholds: [0.5, 0.25]).config.config["thresholds"] == .array([0.25, 0.5]))
    // A Keras configuration reads back to the same configuration.
    let keras = try KerasConfig(
      json: #"{"class_name": "RecallAtPrecision", "config": {"precision": 0.8, "num_thresholds": 20}}"#)
    let m = try MetricRegistry.deserialize(keras)
    #expect(m is RecallAtPrecision)
    #expect(try RecallAtPrecision(precision: 0.8, numThresholds: 20).config == m.config)
    #expect(throws: MetricError.self) { try MetricRegistry.get("precision_at_recall") }
  }

  /// Restoring counts of another shape throws and keeps the state, and the
  /// metric still reads. (Assigning `m.state = ...` does not compile: the
  /// state is `private(set)`, so `restore(_:)` is the only way in.)
  @Test func restoreRefusesCountsOfAnotherShape() throws {
    var m = try AUC()
    try m.update(yTrue: [0, 0, 1, 1], yPred: [0, 0.5, 0.3, 0.9])
    let before = m.state
    #expect {
      try m.restore(ConfusionCounts(thresholds: 5, labels: 1))
    } throws: { error in
      guard case MetricError.invalidState(let message) = error else { return false }
      return message.contains("200 thresholds") && message.contains("5 × 1")
    }
    #expect(m.state == before)
    #expect(abs(m.result().scalar! - 0.75) < 1e-12)

    var fresh = try AUC()
    #expect(throws: MetricError.self) { try fresh.restore(ConfusionCounts(thresholds: 5, labels: 1)) }
    #expect(fresh.state == ConfusionCounts())
    #expect(fresh.result() == .scalar(0))
    try fresh.restore(ConfusionCounts(thresholds: 200, labels: 1))
    #expect(fresh.result() == .scalar(0))

    var tp = try TruePositives(thresholds: [0.2, 0.8])
    try tp.update(yTrue: [1, 1, 0], yPred: [0.9, 0.5, 0.1])
    BadInputTests.expectRejected(tp, MetricError.invalidState, mentioning: "2 thresholds × 1 labels") {
      m throws(MetricError) in
      try m.restore(ConfusionCounts(thresholds: 2, labels: 3))
    }
    #expect(tp.result() == .vector([2, 1]))

    var point = try PrecisionAtRecall(recall: 0.5, numThresholds: 3)
    try point.update(yTrue: [0, 0, 0, 1, 1], yPred: [0, 0.3, 0.8, 0.3, 0.8])
    BadInputTests.expectRejected(point, MetricError.invalidState, mentioning: "3 thresholds") { m throws(MetricError) in
      try m.restore(ConfusionCounts(thresholds: 200, labels: 1))
    }
    #expect(point.result() == .scalar(0.5))
  }

  /// Multi-label AUC takes any positive number of labels unless
  /// `numLabels` or `labelWeights` fix it.
  @Test func multiLabelRestoreChecksLabels() throws {
    var free = try AUC(numThresholds: 3, multiLabel: true)
    try free.restore(ConfusionCounts(thresholds: 3, labels: 4))
    #expect(free.result() == .scalar(0))
    #expect(throws: MetricError.self) { try free.restore(ConfusionCounts(thresholds: 3, labels: 0)) }
    var weighted = try AUC(numThresholds: 3, multiLabel: true, labelWeights: [1, 3])
    #expect(throws: MetricError.self) { try weighted.restore(ConfusionCounts(thresholds: 3, labels: 4)) }
    try weighted.restore(ConfusionCounts(thresholds: 3, labels: 2))
    var fixed = try AUC(numThresholds: 3, multiLabel: true, numLabels: 2)
    #expect(throws: MetricError.self) { try fixed.restore(ConfusionCounts(thresholds: 3, labels: 3)) }
  }

  /// A state file may claim any shape: one whose size overflows is refused,
  /// not a crash.
  @Test func decodedStateOfImpossibleShape() throws {
    let json =
      #"{"thresholds": 9223372036854775807, "labels": 2, "true_positives": [], "false_positives": [], "true_negatives": [], "false_negatives": []}"#
    let counts = try JSONDecoder().decode(ConfusionCounts.self, from: Data(json.utf8))
    var m = try AUC(multiLabel: true)
    #expect(throws: MetricError.self) { try m.restore(counts) }
    #expect(m.result() == .scalar(0))
  }

  /// 10,000 thresholds take the bucket path, like 200: same counts on the
  /// grid points both share.
  @Test func manyThresholds() throws {
    var g = SplitMix64(seed: 5)
    let y = (0..<2_000).map { _ in Double(Int.random(in: 0...1, using: &g)) }
    let p = (0..<2_000).map { _ in Double(Float.random(in: 0...1, using: &g)) }
    var a = try AUC(numThresholds: 10_000)
    try a.update(yTrue: Tensor(y), yPred: Tensor(p))
    var b = try AUC(numThresholds: 200)
    try b.update(yTrue: Tensor(y), yPred: Tensor(p))
    #expect(abs(a.result().scalar! - b.result().scalar!) < 0.01)
    #expect(a.thresholds.count == 10_000)
  }
}

/// Batch-split, merge-order and save/load invariance of the threshold
/// metrics, on seeded random data.
@Suite struct ConfusionPropertyTests: InvarianceChecks {
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
}

/// Bad input to the confusion metrics: a typed error naming what was
/// received, and the state unchanged.
@Suite struct ConfusionBadInputTests: BadInputChecks {
  @Test func labelsOutsideZeroOne() throws {
    BadInputTests.expectRejected(
      try Self.primedAUC(), MetricError.invalidValue, mentioning: "received y_true value 2.0"
    ) {
      m throws(MetricError) in
      try m.update(yTrue: Tensor([0.0, 2, 1]), yPred: Tensor([0.1, 0.2, 0.3]), sampleWeight: nil)
    }
    var tp = try TruePositives()
    try tp.update(yTrue: [1], yPred: [0.9])
    BadInputTests.expectRejected(tp, MetricError.invalidValue, mentioning: "0.5") { m throws(MetricError) in
      try m.update(yTrue: Tensor([0.5]), yPred: Tensor([0.9]), sampleWeight: nil)
    }
  }

  @Test func topKLargerThanTheClasses() throws {
    var p = try Precision(topK: 5)
    try p.update(yTrue: [[0, 1, 0, 0, 1]], yPred: [[0.1, 0.9, 0.2, 0.3, 0.4]])
    BadInputTests.expectRejected(p, MetricError.invalidConfiguration, mentioning: "top_k=5") { m throws(MetricError) in
      try m.update(yTrue: try Tensor([[0.0, 1, 0]]), yPred: try Tensor([[0.1, 0.9, 0.2]]), sampleWeight: nil)
    }
  }

  @Test func mergingAndRestoringOtherConfigurations() throws {
    var other = try AUC(numThresholds: 100)
    try other.update(yTrue: [1, 0], yPred: [0.9, 0.1])
    BadInputTests.expectRejected(try Self.primedAUC(), MetricError.incompatibleMerge, mentioning: "100") {
      m throws(MetricError) in
      try m.merge(other)
    }
    BadInputTests.expectRejected(try Self.primedAUC(), MetricError.invalidState, mentioning: "differs") {
      m throws(MetricError) in
      try m.load(savedState: other.savedState())
    }
    // A state file edited to the wrong number of thresholds.
    var text = String(decoding: try Self.primedAUC().savedState(), as: UTF8.self)
    text = text.replacingOccurrences(of: "\"thresholds\":200", with: "\"thresholds\":100")
    #expect(throws: MetricError.self) { try AUC(savedState: Data(text.utf8)) }
  }
}
