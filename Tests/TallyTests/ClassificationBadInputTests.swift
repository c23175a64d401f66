import Foundation
import Testing
import Tally

/// Bad input to the classification catalog: a typed error naming what was
/// received, and the state unchanged.
@Suite struct ClassificationBadInputTests: BadInputChecks {
  @Test func classIdsOutOfRange() throws {
    var p = try Precision(classId: 3)
    try p.update(yTrue: [[0, 1, 0, 1]], yPred: [[0.1, 0.8, 0.1, 0.9]])
    BadInputTests.expectRejected(p, MetricError.invalidValue, mentioning: "class_id=3") { m throws(MetricError) in
      try m.update(yTrue: try Tensor([[0.0, 1, 0]]), yPred: try Tensor([[0.1, 0.8, 0.1]]), sampleWeight: nil)
    }
    var acc = SparseCategoricalAccuracy()
    try acc.update(yTrue: [1], yPred: [[0.1, 0.9]])
    BadInputTests.expectRejected(acc, MetricError.invalidValue, mentioning: "received 7.0") { m throws(MetricError) in
      try m.update(yTrue: Tensor([7.0]), yPred: try Tensor([[0.1, 0.9]]), sampleWeight: nil)
    }
    var topK = try SparseTopKCategoricalAccuracy(k: 1)
    try topK.update(yTrue: [1], yPred: [[0.1, 0.9]])
    BadInputTests.expectRejected(topK, MetricError.invalidValue, mentioning: "-1.0") { m throws(MetricError) in
      try m.update(yTrue: Tensor([-1.0]), yPred: try Tensor([[0.1, 0.9]]), sampleWeight: nil)
    }
    BadInputTests.expectRejected(try Self.primedPrecision(), MetricError.shapeMismatch, mentioning: "[3]") {
      m throws(MetricError) in
      try m.update(yTrue: Tensor([0.0, 1, 0]), yPred: Tensor([0.1, 0.8, 0.1]), sampleWeight: nil)
    }
  }

  @Test func thresholdsOutsideZeroOne() {
    #expect(throws: MetricError.invalidConfiguration("Threshold values must be in [0, 1]. Received: [1.5]")) {
      try Precision(thresholds: [0.5, 1.5])
    }
    #expect(throws: MetricError.self) { try TruePositives(thresholds: [-0.1]) }
    #expect(throws: MetricError.self) { try AUC(thresholds: [0.2, 2]) }
    #expect(throws: MetricError.self) { try AUC(numThresholds: 1) }
    #expect(throws: MetricError.self) { try AUC(numLabels: 3) }
    #expect(throws: MetricError.self) { try SensitivityAtSpecificity(specificity: 1.5) }
    #expect(throws: MetricError.self) { try RecallAtPrecision(precision: 0.5, numThresholds: 0) }
    #expect(throws: MetricError.self) { try FBetaScore(beta: 0) }
    #expect(throws: MetricError.self) { try F1Score(threshold: 0) }
    #expect(throws: MetricError.self) { try TopKCategoricalAccuracy(k: 0) }
    #expect(throws: MetricError.self) {
      try MetricRegistry.deserialize(KerasConfig(json: #"{"class_name": "AUC", "config": {"curve": "ROCX"}}"#))
    }
  }

  @Test func mismatchedShapesAndNaN() throws {
    BadInputTests.expectRejected(try Self.primedAUC(), MetricError.shapeMismatch, mentioning: "[3] and [4]") {
      m throws(MetricError) in
      try m.update(yTrue: Tensor([0.0, 1, 1]), yPred: Tensor([0.1, 0.2, 0.3, 0.4]), sampleWeight: nil)
    }
    BadInputTests.expectRejected(try Self.primedAUC(), MetricError.invalidValue, mentioning: "NaN") {
      m throws(MetricError) in
      try m.update(yTrue: Tensor([0.0, 1]), yPred: Tensor([0.1, .nan]), sampleWeight: nil)
    }
    BadInputTests.expectRejected(try Self.primedAUC(), MetricError.invalidWeights, mentioning: "[3]") {
      m throws(MetricError) in
      try m.update(yTrue: Tensor([0.0, 1]), yPred: Tensor([0.1, 0.3]), sampleWeight: Tensor([1.0, 1, 1]))
    }
    var f = try F1Score()
    try f.update(yTrue: [[1, 0]], yPred: [[0.7, 0.3]])
    BadInputTests.expectRejected(f, MetricError.shapeMismatch, mentioning: "2D inputs") { m throws(MetricError) in
      try m.update(yTrue: Tensor([1.0, 0]), yPred: Tensor([0.7, 0.3]), sampleWeight: nil)
    }
    BadInputTests.expectRejected(f, MetricError.shapeMismatch, mentioning: "2 classes") { m throws(MetricError) in
      try m.update(yTrue: try Tensor([[1.0, 0, 0]]), yPred: try Tensor([[0.7, 0.3, 0]]), sampleWeight: nil)
    }
    var multi = try AUC(multiLabel: true)
    try multi.update(yTrue: [[1, 0]], yPred: [[0.7, 0.3]])
    BadInputTests.expectRejected(multi, MetricError.shapeMismatch, mentioning: "expected 2 labels") { m throws(MetricError) in
      try m.update(yTrue: try Tensor([[1.0, 0, 0]]), yPred: try Tensor([[0.7, 0.3, 0]]), sampleWeight: nil)
    }
  }
}
