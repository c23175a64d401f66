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
      // Found by FuzzConfig: the list of every class id was built before the check.
      (#"{"class_name": "MeanIoU", "config": {"num_classes": 1000000000000}}"#, "num_classes = 1000000000000"),
      (#"{"class_name": "OneHotMeanIoU", "config": {"num_classes": 2147483647}}"#, "more than 8 EiB"),
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
    // Slices grow with the data: each new slice's states are checked as the
    // keys arrive (here 30 slices and the overall entry, each a point and a
    // replicate of 960 bytes: 59,520 bytes, over 50,000).
    StateMemory.withLimit(50_000) {
      var sliced = Sliced(try! Bootstrapped(AUC(numThresholds: 15), replicates: 1))
      let keys = (0..<60).map { Int64($0 / 2) }
      let y = Tensor((0..<60).map { Float($0 % 2) })
      let p = Tensor((0..<60).map { Float($0) / 60 })
      let message = failure { try sliced.update(yTrue: y, yPred: p, slices: try SliceBatch([SliceColumn(keys)])) }
      #expect(message.contains("with 30 slices needs 58.1 KiB of state"), "\(message)")
      #expect(sliced.sliceResults().isEmpty)
      #expect(
        failure { try sliced.update(yTrue: y, yPred: p, slices: try SliceBatch([SliceColumn(keys.map { $0 % 20 })])) }
          == "")
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
    // (Histograms in the earlier form of three arrays, which still loads.)
    let sum = { (x: String) in #"{"head":\#(x),"tail":0}"# }
    for (scores, positive) in [(#"[0.3,"nan"]"#, "1"), ("[0.3,0.6]", #""nan""#)] {
      let json =
        #"{"scores":\#(scores),"positives":[\#(sum(positive)),\#(sum("0"))],"negatives":[\#(sum("0")),\#(sum("1"))]}"#
      let message = failure {
        // The state files' decoder, which reads "nan" as NaN.
        let state = try SavedState<ScoreHistogram>.decoder.decode(ScoreHistogram.self, from: Data(json.utf8))
        try exact.restore(state)
      }
      #expect(message.contains("must not be NaN"), "\(json): \(message)")
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

/// The saved form of an exact AUC's state: a checksummed binary block.
@Suite struct ScoreHistogramCodingTests {
  func roundTrip(_ m: ExactAUC) throws -> (ExactAUC, Int) {
    let data = m.savedState()
    let back = try ExactAUC(savedState: data)
    return (back, data.count)
  }

  @Test func layoutsRoundTripBitForBit() throws {
    var g = SplitMix64(seed: 3)
    let n = 5_000
    let labels = (0..<n).map { _ in Float(Int.random(in: 0...1, using: &g)) }
    let f32 = (0..<n).map { _ in Float.random(in: 0..<1, using: &g) }
    let f64 = (0..<n).map { _ in Double.random(in: 0..<1, using: &g) }
    let weights = (0..<n).map { _ in Double.random(in: 0..<3, using: &g) }
    // Unweighted float32 scores: float32 scores and varint counts.
    var a = ExactAUC()
    try a.update(yTrue: Tensor(labels), yPred: Tensor(f32))
    let (a2, aBytes) = try roundTrip(a)
    #expect(a2.state == a.state)
    #expect(a2.result() == a.result())
    // About 5,000 distinct scores: 4 + 1 + 1 bytes each, 8 in base64.
    #expect(aBytes < 5_000 * 9 + 1_000, "\(aBytes) bytes")
    // Float64 scores, weighted (float64 sums, with compensation terms
    // after merges of many small weights).
    var b = ExactAUC()
    for _ in 0..<3 {
      try b.update(yTrue: Tensor(labels.map(Double.init)), yPred: Tensor(f64), sampleWeight: Tensor(weights))
    }
    let (b2, _) = try roundTrip(b)
    #expect(b2.state == b.state)
    #expect(b2.result() == b.result())
    // The empty state.
    let (c2, _) = try roundTrip(ExactAUC())
    #expect(c2.state == ExactAUC().state)
  }

  @Test func corruptBlocksAreRefused() throws {
    var m = ExactAUC()
    try m.update(yTrue: Tensor([Float(1), 0, 1, 0]), yPred: Tensor([Float(0.9), 0.2, 0.6, 0.4]))
    let text = String(decoding: m.savedState(), as: UTF8.self)
    let data = try #require(text.firstRange(of: #""data":""#)).upperBound
    // One base64 character changed: the checksum no longer matches.
    var flipped = text
    let at = flipped.index(data, offsetBy: 3)
    flipped.replaceSubrange(at...at, with: flipped[at] == "A" ? "B" : "A")
    #expect(throws: MetricError.self) { try ExactAUC(savedState: Data(flipped.utf8)) }
    // A count that the data does not hold (checksum intact).
    let miscounted = text.replacingOccurrences(of: #""count":4"#, with: #""count":5"#)
    #expect(miscounted != text)
    #expect(throws: MetricError.self) { try ExactAUC(savedState: Data(miscounted.utf8)) }
    // The earlier form of three arrays still loads.
    let legacy = text.replacing(
      #/"state":\{[^}]*\}/#,
      with:
        #""state":{"scores":[0.2,0.4,0.6,0.9],"positives":[{"head":0,"tail":0},{"head":0,"tail":0},{"head":1,"tail":0},{"head":1,"tail":0}],"negatives":[{"head":1,"tail":0},{"head":1,"tail":0},{"head":0,"tail":0},{"head":0,"tail":0}]}"#
    )
    let old = try ExactAUC(savedState: Data(legacy.utf8))
    #expect(old.result() == m.result())
  }
}
