import Foundation
import Testing
import Tally

/// Every bad input throws a typed error naming what was received, and the
/// metric's state is exactly what it was before the call.
@Suite struct BadInputTests: BadInputChecks {
  @Test func weightsThatCannotBroadcast() throws {
    Self.expectRejected(try Self.primedMean(), MetricError.invalidWeights, mentioning: "[3]") { m throws(MetricError) in
      try m.update(Tensor([1.0, 2, 3, 4]), sampleWeight: Tensor([1.0, 1, 1]))
    }
    Self.expectRejected(try Self.primedMean(), MetricError.invalidWeights, mentioning: "[2, 3]") { m throws(MetricError) in
      try m.update(Tensor([1.0, 2]), sampleWeight: try Tensor([[1.0, 1, 1], [1, 1, 1]]))
    }
    var s = Sum()
    try s.update([1, 2])
    Self.expectRejected(s, MetricError.invalidWeights, mentioning: "received sample_weight of shape [3] and values of shape [4]") { m throws(MetricError) in
      // keep the compiler honest: mentioning the values' shape
      try m.update(Tensor([1.0, 2, 3, 4]), sampleWeight: Tensor([1.0, 1, 1]))
    }
  }

  @Test func nanAndInfiniteWeights() throws {
    Self.expectRejected(try Self.primedMean(), MetricError.invalidWeights, mentioning: "nan") { m throws(MetricError) in
      try m.update(Tensor([1.0, 2, 3]), sampleWeight: Tensor([1.0, .nan, 1]))
    }
    Self.expectRejected(try Self.primedMean(), MetricError.invalidWeights, mentioning: "inf") { m throws(MetricError) in
      try m.update(Tensor([1.0, 2, 3]), sampleWeight: Tensor([1.0, 1, .infinity]))
    }
    Self.expectRejected(try Self.primedWrapper(), MetricError.invalidWeights, mentioning: "nan") { m throws(MetricError) in
      try m.update(yTrue: Tensor([[1.0]]), yPred: Tensor([[2.0]]), sampleWeight: Tensor([Float.nan]))
    }
  }

  @Test func emptyBatches() throws {
    Self.expectRejected(try Self.primedMean(), MetricError.emptyBatch, mentioning: "[0]") { m throws(MetricError) in
      try m.update(Tensor([Double]()))
    }
    Self.expectRejected(try Self.primedMean(), MetricError.emptyBatch, mentioning: "[3, 0]") { m throws(MetricError) in
      try m.update(try Tensor([Double](), shape: [3, 0]))
    }
    Self.expectRejected(try Self.primedWrapper(), MetricError.emptyBatch, mentioning: "[0]") { m throws(MetricError) in
      try m.update(yTrue: try Tensor([Double](), shape: [0, 2]), yPred: try Tensor([Double](), shape: [0, 2]))
    }
  }

  @Test func shapeMismatches() throws {
    Self.expectRejected(try Self.primedWrapper(), MetricError.shapeMismatch, mentioning: "[4, 2] and [3, 2]") {
      m throws(MetricError) in
      try m.update(
        yTrue: try Tensor([Double](repeating: 0, count: 8), shape: [4, 2]),
        yPred: try Tensor([Double](repeating: 0, count: 6), shape: [3, 2]))
    }
  }

  @Test func mergingDifferentConfigurations() throws {
    var mae = MeanMetricWrapper(fn: .meanAbsoluteError)
    try mae.update(yTrue: [[1.0]], yPred: [[0.0]])
    Self.expectRejected(try Self.primedWrapper(), MetricError.incompatibleMerge, mentioning: "mean_absolute_error") {
      m throws(MetricError) in
      try m.merge(mae)
    }
    var float64Mean = Mean(dtype: "float64")
    try float64Mean.update([1.0])
    Self.expectRejected(try Self.primedMean(), MetricError.incompatibleMerge, mentioning: "float64") { m throws(MetricError) in
      try m.merge(float64Mean)
    }
    // A different name alone is not a different configuration.
    var renamed = Mean(name: "other")
    try renamed.update([10.0])
    var m = try Self.primedMean()
    try m.merge(renamed)
    #expect(m.state.count == 3)
  }

  @Test func countOverflowIsAnErrorNotATrap() throws {
    var big = MeanState()
    big.count = Int64.max / 2 + 1
    var a = Mean()
    try a.restore(big)
    Self.expectRejected(a, MetricError.invalidValue, mentioning: "overflow") { m throws(MetricError) in
      try m.merge(a)
    }
  }

  static let corruptFiles: [(String, String)] = [
    ("random bytes", "\u{7}\u{1}garbage\u{0}\u{ff}"),
    ("not an object", "[1, 2, 3]"),
    ("truncated", #"{"format": "tally.metric-state", "version": 1, "metric": {"class_name": "Mean", "con"#),
    ("foreign JSON", #"{"weights": [1, 2, 3]}"#),
    ("newer version", #"{"format": "tally.metric-state", "version": 99, "metric": {"class_name": "Mean", "config": {}}, "state": {}}"#),
    ("missing state", #"{"format": "tally.metric-state", "version": 1, "metric": {"class_name": "Mean", "config": {"name": "mean", "dtype": "float32"}}}"#),
    ("wrong state type", #"{"format": "tally.metric-state", "version": 1, "metric": {"class_name": "Mean", "config": {"name": "mean", "dtype": "float32"}}, "state": {"total": "x", "count": 1, "weight_total": {"head": 0, "tail": 0}}}"#),
  ]

  @Test(arguments: corruptFiles)
  func corruptOrForeignStateFiles(_ file: (String, String)) throws {
    let expectedFragment: String =
      switch file.0 {
      case "random bytes", "not an object", "truncated": "not a Tally state file"
      case "foreign JSON": "no format tag"
      case "newer version": "version 99"
      default: "corrupt state file"
      }
    Self.expectRejected(try Self.primedMean(), MetricError.invalidState, mentioning: expectedFragment) {
      m throws(MetricError) in
      try m.load(savedState: Data(file.1.utf8))
    }
    #expect(throws: MetricError.self) { try Mean(savedState: Data(file.1.utf8)) }
  }

  @Test func stateOfAnotherMetricOrConfiguration() throws {
    var sum = Sum()
    try sum.update([1.0, 2])
    Self.expectRejected(try Self.primedMean(), MetricError.invalidState, mentioning: "Sum") { m throws(MetricError) in
      try m.load(savedState: sum.savedState())
    }
    var mae = MeanMetricWrapper(fn: .meanAbsoluteError)
    try mae.update(yTrue: [[1.0]], yPred: [[0.0]])
    Self.expectRejected(try Self.primedWrapper(), MetricError.invalidState, mentioning: "mean_absolute_error") {
      m throws(MetricError) in
      try m.load(savedState: mae.savedState())
    }
  }

  @Test func unknownConfigurationArguments() {
    #expect(throws: MetricError.invalidConfiguration("Mean got unexpected argument(s): thresholds")) {
      try Mean(config: KerasConfig(json: #"{"class_name": "Mean", "config": {"thresholds": 0.5}}"#))
    }
    #expect(throws: MetricError.self) {
      try Mean(config: KerasConfig(json: #"{"class_name": "Sum", "config": {}}"#))
    }
    #expect(throws: MetricError.self) {
      try Mean(config: KerasConfig(json: #"{"class_name": "Mean", "config": {"name": 3}}"#))
    }
    #expect(throws: MetricError.self) { try KerasConfig(json: "{not json") }
    #expect(throws: MetricError.self) {
      try MetricRegistry.deserialize(KerasConfig(json: #"{"class_name": "Nope", "config": {}}"#))
    }
    #expect(throws: MetricError.self) {
      try MeanMetricWrapper(config: KerasConfig(json: #"{"class_name": "MeanMetricWrapper", "config": {"fn": "no_such_fn"}}"#))
    }
  }

  @Test func stateRoundTripsBitForBit() throws {
    var m = try Self.primedMean()
    try m.update([Double.pi, 1e-300, 1e300, -1e300])
    let loaded = try Mean(savedState: m.savedState())
    #expect(loaded.state == m.state)
    var nanMean = Mean()
    try nanMean.update([Double.nan, 1])
    let text = String(decoding: nanMean.savedState(), as: UTF8.self)
    #expect(text.contains("\"nan\""))
    #expect(try Mean(savedState: nanMean.savedState()).result().scalar!.isNaN)
  }
}
