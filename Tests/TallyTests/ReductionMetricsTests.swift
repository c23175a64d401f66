// The reduction family (Catalog/Reduction): Sum, Mean and MeanMetricWrapper.

import Foundation
import Tally
import Testing

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

  /// 10^7 additions of 0.1: Keras's float32 running total is 8.8 % off;
  /// Tally's compensated total is exact to the last bit.
  @Test func tenMillionTenths() throws {
    var m = Sum()
    let chunk = [Double](repeating: 0.1, count: 1_000_000)
    for _ in 0..<10 { try m.update(Tensor(chunk)) }
    #expect(m.result().scalar! == 1_000_000.0)
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

  // Consequences of Keras's weight rules, each checked against Keras.
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
    let keras =
      #"{"module": "keras.metrics", "class_name": "Mean", "config": {"name": "mean", "dtype": "float32"}, "registered_name": null}"#
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
}

/// Batch-split, merge-order and save/load invariance of Sum, Mean and
/// MeanMetricWrapper on seeded random data: the same data give the same
/// result, to the last bit or within 1 ulp, however they are batched,
/// sharded, saved and merged.
@Suite struct ReductionPropertyTests {
  /// How the weights of a random trial are shaped.
  enum WeightKind: CaseIterable { case none, perSample, perElement, column }

  struct Trial {
    var values: Tensor
    var weights: Tensor?
    var yTrue: Tensor
  }

  static func trial(seed: UInt64) -> (Trial, WeightKind, SplitMix64) {
    var g = SplitMix64(seed: seed)
    let n = Int.random(in: 1...300, using: &g)
    let c = Int.random(in: 1...5, using: &g)
    // Mixed magnitudes and signs: a naive running sum would depend on order.
    let scale = [1e-3, 1.0, 1e6][Int.random(in: 0..<3, using: &g)]
    let values = (0..<(n * c)).map { _ in Double.random(in: -1...1, using: &g) * scale }
    let yTrue = (0..<(n * c)).map { _ in Double.random(in: -1...1, using: &g) * scale }
    let kind = WeightKind.allCases[Int.random(in: 0..<4, using: &g)]
    let weights: Tensor? =
      switch kind {
      case .none: nil
      case .perSample: Tensor((0..<n).map { _ in Double.random(in: 0...3, using: &g) })
      case .perElement:
        try! Tensor((0..<(n * c)).map { _ in Double.random(in: 0...3, using: &g) }, shape: [n, c])
      case .column:
        try! Tensor((0..<n).map { _ in Double.random(in: 0...3, using: &g) }, shape: [n, 1])
      }
    return (
      Trial(
        values: try! Tensor(values, shape: [n, c]), weights: weights,
        yTrue: try! Tensor(yTrue, shape: [n, c])),
      kind, g
    )
  }

  /// One metric per random batch, each saved to JSON and loaded back, then
  /// merged in a random tree order.
  static func sharded<M: Metric & KerasSerializable>(
    _ make: () -> M, batches: [Range<Int>], using g: inout SplitMix64,
    update: (inout M, Range<Int>) throws -> Void
  ) throws -> M {
    var shards: [M] = []
    for r in batches {
      var m = make()
      try update(&m, r)
      shards.append(try M(savedState: m.savedState()))
    }
    shards.append(make())  // the empty state is the identity
    return try mergeRandomly(shards, using: &g)
  }

  @Test(arguments: 0..<60)
  func meanIsInvariant(seed: Int) throws {
    var (t, _, g) = Self.trial(seed: UInt64(seed))
    let n = t.values.shape[0]
    var whole = Mean()
    try whole.update(t.values, sampleWeight: t.weights)

    // Sequential updates over random batches.
    var sequential = Mean()
    let batches = randomSplit(n, parts: Int.random(in: 1...12, using: &g), using: &g)
    for r in batches {
      try sequential.update(rows(t.values, r), sampleWeight: t.weights.map { rows($0, r) })
    }
    // Sharded, saved, merged in random order.
    let merged = try Self.sharded({ Mean() }, batches: batches, using: &g) { m, r in
      try m.update(rows(t.values, r), sampleWeight: t.weights.map { rows($0, r) })
    }
    let a = whole.result().scalar!
    #expect(withinOneUlp(a, sequential.result().scalar!), "sequential \(a) vs \(sequential.result())")
    #expect(withinOneUlp(a, merged.result().scalar!), "merged \(a) vs \(merged.result())")
    #expect(merged.state.count == whole.state.count)
  }

  @Test(arguments: 0..<40)
  func sumIsInvariant(seed: Int) throws {
    var (t, _, g) = Self.trial(seed: UInt64(1000 + seed))
    let n = t.values.shape[0]
    var whole = Sum()
    try whole.update(t.values, sampleWeight: t.weights)
    let batches = randomSplit(n, parts: Int.random(in: 1...12, using: &g), using: &g)
    let merged = try Self.sharded({ Sum() }, batches: batches, using: &g) { m, r in
      try m.update(rows(t.values, r), sampleWeight: t.weights.map { rows($0, r) })
    }
    #expect(withinOneUlp(whole.result().scalar!, merged.result().scalar!))
  }

  @Test(arguments: 0..<40)
  func meanMetricWrapperIsInvariant(seed: Int) throws {
    var (t, _, g) = Self.trial(seed: UInt64(2000 + seed))
    let n = t.values.shape[0]
    // MSE gives one value per row: per-element weights do not apply.
    let weights = t.weights.flatMap { $0.rank == 2 && $0.shape[1] > 1 ? nil : $0 }
    var whole = MeanMetricWrapper(fn: .meanSquaredError)
    try whole.update(yTrue: t.yTrue, yPred: t.values, sampleWeight: weights)
    let batches = randomSplit(n, parts: Int.random(in: 1...12, using: &g), using: &g)
    let merged = try Self.sharded({ MeanMetricWrapper(fn: .meanSquaredError) }, batches: batches, using: &g) {
      m, r in
      try m.update(yTrue: rows(t.yTrue, r), yPred: rows(t.values, r), sampleWeight: weights.map { rows($0, r) })
    }
    #expect(withinOneUlp(whole.result().scalar!, merged.result().scalar!))
  }
}
