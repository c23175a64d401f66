import Foundation
import Testing
import Tally

@Suite struct SumTests {
  @Test func kerasDocstring() throws {
    var m = Sum()
    try m.update([1, 3, 5, 7])
    #expect(m.result() == .scalar(16))
    m.reset()
    #expect(m.result() == .scalar(0))
    try m.update([1, 3, 5, 7], sampleWeight: [1, 1, 0, 0])
    #expect(m.result() == .scalar(4))
  }

  /// Keras's float32 total stops at 2^24; Tally's does not.
  @Test func countsPastTwoToTheTwentyFour() throws {
    var m = Sum()
    try m.update(Tensor([Float](repeating: 1, count: 1 << 24)))
    try m.update([Float(1)])
    #expect(m.result() == .scalar(16_777_217))
  }

  @Test func scalarWeightMultipliesTheBatchSum() throws {
    var m = Sum()
    try m.update([1, 3], sampleWeight: 2.0)
    #expect(m.result() == .scalar(8))
  }

  @Test func nameAndConfig() throws {
    let m = Sum(name: "total_loss")
    #expect(m.name == "total_loss")
    #expect(m.config.className == "Sum")
    let back = try Sum(config: m.config)
    #expect(back.name == "total_loss")
    #expect(back.config == m.config)
  }
}

@Suite struct MeanTests {
  @Test func kerasDocstring() throws {
    var m = Mean()
    try m.update([1, 3, 5, 7])
    #expect(m.result() == .scalar(4))
    m.reset()
    try m.update([1, 3, 5, 7], sampleWeight: [1, 1, 0, 0])
    #expect(m.result() == .scalar(2))
  }

  @Test func emptyMeanIsZero() {
    #expect(Mean().result() == .scalar(0))
  }

  // Spec §3.2 consequences, each checked against Keras there.
  @Test func samplesAreCountedNotElements() throws {
    var m = Mean()
    try m.update([[1, 3]])
    try m.update([[5, 7], [9, 11]])
    #expect(m.result() == .scalar(6))
    #expect(m.state.count == 3)
  }

  @Test func elementWeights() throws {
    var m = Mean()
    try m.update([[1, 3], [5, 7]], sampleWeight: [[1, 1], [1, 0]])
    #expect(m.result() == .scalar(3))
    var b = Mean()
    try b.update([[1, 3], [5, 7]], sampleWeight: [[1, 0]])
    #expect(b.result() == .scalar(3))
  }

  @Test func scalarWeightCountsTheBatchAsThatManySamples() throws {
    var m = Mean()
    try m.update([1, 3], sampleWeight: 2.0)
    try m.update([5])
    #expect(m.result() == .scalar(3))
  }

  @Test func columnValuesWithRowWeights() throws {
    var m = Mean()
    try m.update([[1], [3]], sampleWeight: [2, 1])
    #expect(m.result() == .scalar(5.0 / 3.0))
  }

  @Test func negativeWeights() throws {
    var m = Mean()
    try m.update([1, 3, 5, 7], sampleWeight: [-1, -1, 0, 0])
    #expect(m.result() == .scalar(2))
  }

  @Test func configMatchesKerasSerialize() throws {
    // keras.metrics.serialize(keras.metrics.Mean()) with Keras 3.15.1.
    let keras = #"{"module": "keras.metrics", "class_name": "Mean", "config": {"name": "mean", "dtype": "float32"}, "registered_name": null}"#
    let parsed = try KerasConfig(json: keras)
    #expect(Mean().config == parsed)
    let m = try Mean(config: parsed)
    #expect(m.name == "mean")
    let roundTrip = try KerasConfig(json: Mean(name: "loss").config.json)
    #expect(try Mean(config: roundTrip).name == "loss")
  }

  @Test func registryBuildsFromConfig() throws {
    let m = try MetricRegistry.deserialize(
      KerasConfig(json: #"{"class_name": "Mean", "config": {"name": "loss"}}"#))
    #expect(m.name == "loss")
    #expect(m is Mean)
  }
}

@Suite struct MeanMetricWrapperTests {
  @Test func wrapsMeanSquaredError() throws {
    var m = MeanMetricWrapper(fn: .meanSquaredError)
    #expect(m.name == "mean_metric_wrapper")
    try m.update(yTrue: [[0, 1], [0, 0]], yPred: [[1, 1], [0, 0]])
    #expect(m.result() == .scalar(0.25))
    try m.update(yTrue: [[1, 1]], yPred: [[0.5, 1]], sampleWeight: [2])
    // (0.5 + 0 + 2·0.125) / (1 + 1 + 2)
    #expect(m.result() == .scalar(0.75 / 4))
  }

  @Test func customFunction() throws {
    let absError = SampleFunction(name: "abs_error") { (t: Tensor, p: Tensor) throws(MetricError) -> Tensor in
      try Tensor.map(t, p) { abs($0 - $1) }
    }
    var m = MeanMetricWrapper(fn: absError, name: "abs_error")
    try m.update(yTrue: [1, 2, 3], yPred: [1, 1, 1])
    #expect(m.result() == .scalar(1))
  }

  @Test func configRoundTrip() throws {
    let m = MeanMetricWrapper(fn: .meanAbsoluteError, name: "mae")
    let back = try MeanMetricWrapper(config: KerasConfig(json: m.config.json))
    #expect(back.name == "mae")
    #expect(back.fn.name == "mean_absolute_error")
    #expect(back.config == m.config)
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

//===--- The README's custom metric ---------------------------------------===//

/// Keras's `BinaryTruePositives` subclass example, in Swift.
struct BinaryTruePositives: PredictionMetric {
  var name = "binary_true_positives"
  private(set) var state = CompensatedSum()

  mutating func update(yTrue: Tensor, yPred: Tensor, sampleWeight: Tensor?) throws(MetricError) {
    let hits = try Tensor.map(yTrue, yPred) { t, p in t != 0 && p != 0 ? 1 : 0 }
    try state.add(hits, sampleWeight: sampleWeight)
  }

  mutating func restore(_ s: CompensatedSum) throws(MetricError) { state = s }

  func result() -> MetricValue { .scalar(state.value) }
}

@Suite struct CustomMetricTests {
  @Test func binaryTruePositives() throws {
    var m = BinaryTruePositives()
    try m.update(yTrue: [true, true, false, true], yPred: [true, false, true, true])
    #expect(m.result() == .scalar(2))
    try m.update(yTrue: [1, 1], yPred: [1, 1], sampleWeight: [0.5, 2])
    #expect(m.result() == .scalar(4.5))
  }

  @Test func resetMergeAndStateComeForFree() throws {
    var a = BinaryTruePositives()
    var b = BinaryTruePositives()
    try a.update(yTrue: [1, 1, 0], yPred: [1, 0, 0])
    try b.update(yTrue: [1, 1], yPred: [1, 1])
    try a.merge(b)
    #expect(a.result() == .scalar(3))

    var loaded = BinaryTruePositives()
    try loaded.load(savedState: a.savedState())
    #expect(loaded.result() == .scalar(3))
    #expect(BinaryTruePositives.className == "BinaryTruePositives")

    a.reset()
    #expect(a.result() == .scalar(0))
  }
}
