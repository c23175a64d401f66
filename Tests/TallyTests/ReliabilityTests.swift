// Issue 16 in the library: sizes from configurations checked against the
// state-memory limit before allocating, and saved states checked for
// meaning (not only shape).

import Foundation
import Tally
import Testing

@Suite struct ReliabilityTests {
  func config(_ json: String) throws -> KerasConfig {
    try JSONDecoder().decode(KerasConfig.self, from: Data(json.utf8))
  }

  /// The error of `body`, as text (empty when it does not throw).
  func failure(_ body: () throws -> Void) -> String {
    do {
      try body()
      return ""
    } catch {
      return "\(error)"
    }
  }

  /// Configurations whose states would not fit: refused at once (no
  /// allocation: these would need terabytes), naming the value and the
  /// limit.
  @Test func hugeConfigurationsAreRefusedBeforeAllocating() throws {
    let cases: [(String, String)] = [
      (#"{"class_name": "AUC", "config": {"num_thresholds": 1000000000}}"#, "num_thresholds = 1000000000"),
      (
        #"{"class_name": "AUC", "config": {"num_thresholds": 200, "multi_label": true, "num_labels": 9000000000000}}"#,
        "num_labels = 9000000000000"
      ),
      (#"{"class_name": "MeanIoU", "config": {"num_classes": 100000}}"#, "num_classes = 100000"),
      (#"{"class_name": "IoU", "config": {"num_classes": 3037000500, "target_class_ids": [0]}}"#, "num_classes"),
      (#"{"class_name": "CohenKappa", "config": {"num_classes": 100000}}"#, "num_classes = 100000"),
      (
        #"{"class_name": "Bootstrapped", "config": {"metric": {"class_name": "AUC", "config": {"num_thresholds": 100000}}, "replicates": 100000}}"#,
        "a bootstrap of 100000 replicates"
      ),
    ]
    for (json, needle) in cases {
      let message = failure { _ = try MetricRegistry.deserialize(try config(json)) }
      #expect(message.contains(needle), "\(json): \(message)")
      #expect(message.contains("the limit is"), "\(json): \(message)")
    }
  }

  /// The limit can be lowered and raised on purpose (here for this task
  /// only, so that tests running beside it keep the process's limit).
  @Test func theLimitIsAdjustable() throws {
    StateMemory.withLimit(1_000) {
      #expect(StateMemory.limit == 1_000)
      #expect(failure { _ = try AUC(numThresholds: 200) }.contains("12.5 KiB of state; the limit is 1000 bytes"))
      #expect(failure { _ = try AUC(numThresholds: 15) } == "")
      #expect(failure { _ = try Bootstrapped(AUC(numThresholds: 15), replicates: 2) }.contains("3 replicates") == false)
      #expect(failure { _ = try Bootstrapped(AUC(numThresholds: 15), replicates: 2) }.contains("a bootstrap of 2"))
    }
    #expect(StateMemory.limit == StateMemory.defaultLimit)
    #expect(failure { _ = try AUC(numThresholds: 200) } == "")
  }

  /// States no update can produce are refused by restore, and the metric
  /// keeps its state.
  @Test func statesAreCheckedForMeaning() throws {
    // A negative count of samples (accuracy -0.336 before).
    var mean = MeanState()
    mean.total = CompensatedSum(-336)
    mean.count = -1_000
    var accuracy = BinaryAccuracy()
    #expect(failure { try accuracy.restore(mean) }.contains("sample count must be ≥ 0"))
    #expect(accuracy.result() == .scalar(0))
    var mse = MeanSquaredError()
    #expect(failure { try mse.restore(mean) }.contains("sample count"))

    // A NaN score or sum inside an exact AUC's histogram.
    var exact = ExactAUC()
    try exact.update(yTrue: Tensor([Float(1), 0, 1]), yPred: Tensor([Float(0.8), 0.3, 0.6]))
    let good = try JSONSerialization.jsonObject(with: JSONEncoder().encode(exact.state)) as! [String: Any]
    for (key, index) in [("scores", 1), ("positives", 0)] {
      var edited = good
      var values = edited[key] as! [Any]
      values[index] = key == "scores" ? "nan" as Any : ["head": "nan", "tail": 0] as Any
      edited[key] = values
      let data = try JSONSerialization.data(withJSONObject: edited)
      let message = failure {
        // The state files' decoder, which reads "nan" as NaN.
        let state = try SavedState<ScoreHistogram>.decoder.decode(ScoreHistogram.self, from: data)
        try exact.restore(state)
      }
      #expect(message.contains("must not be NaN"), "\(key): \(message)")
    }
    #expect(exact.result() == .scalar(1))

    // Confusion counts that are not finite.
    var auc = try AUC(numThresholds: 3)
    try auc.update(yTrue: Tensor([Float(1), 0]), yPred: Tensor([Float(0.8), 0.3]))
    var object = try JSONSerialization.jsonObject(with: JSONEncoder().encode(auc.state)) as! [String: Any]
    var tp = object["true_positives"] as! [Any]
    tp[1] = ["head": "inf", "tail": 0]
    object["true_positives"] = tp
    let message = failure {
      try auc.restore(
        try SavedState<ConfusionCounts>.decoder.decode(
          ConfusionCounts.self, from: JSONSerialization.data(withJSONObject: object)))
    }
    #expect(message.contains("must be finite"), "\(message)")
    #expect(auc.result() == .scalar(1))
  }
}
