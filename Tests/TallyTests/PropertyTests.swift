import Foundation
import Testing
import Tally

/// Batch-split, merge-order and save/load invariance on seeded random data:
/// the same data give the same result, to the last bit or within 1 ulp,
/// however they are batched, sharded, saved and merged.
@Suite struct PropertyTests {
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

  /// Merge laws on states: identity, commutativity, associativity.
  @Test(arguments: 0..<30)
  func mergeLaws(seed: Int) throws {
    var g = SplitMix64(seed: UInt64(3000 + seed))
    func random() throws -> Mean {
      var m = Mean()
      let n = Int.random(in: 1...50, using: &g)
      let v = (0..<n).map { _ in Double.random(in: -1e3...1e3, using: &g) }
      if Bool.random(using: &g) {
        try m.update(Tensor(v), sampleWeight: Tensor((0..<n).map { _ in Double.random(in: 0...2, using: &g) }))
      } else {
        try m.update(Tensor(v))
      }
      return m
    }
    let a = try random(), b = try random(), c = try random()
    #expect(try a.merging(Mean()).state == a.state)
    #expect(try Mean().merging(a).state == a.state)
    let ab = try a.merging(b).result().scalar!
    let ba = try b.merging(a).result().scalar!
    #expect(withinOneUlp(ab, ba))
    let left = try a.merging(b).merging(c).result().scalar!
    let right = try a.merging(b.merging(c)).result().scalar!
    #expect(withinOneUlp(left, right))
  }

  /// Compensation at work: a naive sum of these terms depends on the order,
  /// the compensated one does not. (Condition number Σ|x| / |Σx| ≈ 10^7:
  /// heavy cancellation, inside the double-double bound documented on
  /// `CompensatedSum`.)
  @Test func compensatedSumIsOrderIndependent() {
    var g = SplitMix64(seed: 7)
    var terms: [Double] = []
    for _ in 0..<10_000 {
      let big = Double.random(in: 1e6...1e7, using: &g)
      terms += [big, Double.random(in: 0...1, using: &g), -big]
    }
    var forward = CompensatedSum()
    forward.add(contentsOf: terms)
    var backward = CompensatedSum()
    backward.add(contentsOf: terms.reversed())
    var shuffled = CompensatedSum()
    shuffled.add(contentsOf: terms.shuffled(using: &g))
    #expect(withinOneUlp(forward.value, backward.value))
    #expect(withinOneUlp(forward.value, shuffled.value))
    let naiveForward = terms.reduce(0, +)
    let naiveShuffled = terms.shuffled(using: &g).reduce(0, +)
    #expect(naiveForward != naiveShuffled)  // the problem compensation solves
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
