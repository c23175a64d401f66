// Evaluation: slices (Sliced, SliceBatch, SliceKey).

import Foundation
import Tally
import Testing

@Suite struct SlicedTests {
  /// Data with a country and a device per row.
  static func data(_ n: Int, seed: UInt64) -> (
    y: [Double], p: [Double], w: [Double], country: [String], device: [Int64]
  ) {
    var g = SplitMix64(seed: seed)
    let (y, p) = binormalScores(n, positiveRate: 0.3, shift: 1, using: &g)
    let countries = ["US", "FR", "DE", "<script>", "日本"]
    let country = (0..<n).map { _ in countries[Int.random(in: 0..<countries.count, using: &g)] }
    let device = (0..<n).map { _ in Int64.random(in: 0...2, using: &g) }
    let w = (0..<n).map { _ in Double.random(in: 0..<2, using: &g) }
    return (y, p, w, country, device)
  }

  /// Each slice's state equals the base metric updated on the slice's rows
  /// alone: by the cell path (binary accuracy, AUC) and by gathering (MSE,
  /// exact AUC, weighted updates); the overall state equals the unsliced
  /// metric.
  @Test func eachSliceIsTheMetricOnItsRows() throws {
    let d = Self.data(2_000, seed: 1)
    // (rows, 1): one sample per row for every metric (Keras reads a rank-1
    // array as one sample of an element-wise metric such as MSE).
    func column(_ xs: [Double]) throws -> Tensor { try Tensor(xs, shape: [xs.count, 1]) }
    func check<M: PredictionMetric>(_ base: M, weighted: Bool) throws {
      var sliced = Sliced(base)
      var plain = base
      let batches = [0..<700, 700..<701, 701..<2_000]
      for r in batches {
        let w = weighted ? Tensor(Array(d.w[r])) : nil
        try sliced.update(
          yTrue: try column(Array(d.y[r])), yPred: try column(Array(d.p[r])), sampleWeight: w,
          slices: try SliceBatch([SliceColumn(strings: Array(d.country[r]))]))
        try plain.update(yTrue: try column(Array(d.y[r])), yPred: try column(Array(d.p[r])), sampleWeight: w)
      }
      #expect(sliced.overall.state == plain.state)
      let results = sliced.sliceResults()
      #expect(results.map { $0.key!.description } == ["<script>", "DE", "FR", "US", "日本"])
      for s in results {
        let rows = d.country.indices.filter { d.country[$0] == s.key!.values[0].description }
        var alone = base
        // The same batches, restricted to the slice.
        for r in batches {
          let mine = rows.filter { r.contains($0) }
          guard !mine.isEmpty else { continue }
          try alone.update(
            yTrue: try column(mine.map { d.y[$0] }), yPred: try column(mine.map { d.p[$0] }),
            sampleWeight: weighted ? Tensor(mine.map { d.w[$0] }) : nil)
        }
        #expect(s.metric.result() == alone.result(), "\(M.className) slice \(s.key!)")
        #expect(s.samples == Int64(rows.count))
        let weight = weighted ? rows.map { d.w[$0] }.reduce(0, +) : Double(rows.count)
        #expect(abs(s.weight - weight) < 1e-9)
      }
    }
    try check(BinaryAccuracy(), weighted: false)
    try check(AUC(), weighted: false)
    try check(Precision(thresholds: [0.2, 0.6]), weighted: false)
    try check(MeanSquaredError(), weighted: false)
    try check(ExactAUC(), weighted: false)
    try check(BinaryAccuracy(), weighted: true)
    try check(AUC(), weighted: true)
  }

  /// Rank-1 inputs of an element-wise metric are rows, as `(rows, 1)`.
  @Test func rankOneRowsOfAnElementwiseMetric() throws {
    var m = Sliced(MeanSquaredError())
    try m.update(yTrue: [0, 0, 0], yPred: [1, 2, 3], slices: try SliceBatch([SliceColumn([1, 1, 2])]))
    #expect(m.sliceResults().map { $0.value! } == [.scalar(2.5), .scalar(9)])
    #expect(m.result() == .scalar(14.0 / 3))
  }

  /// Crossed keys: country × device, every combination seen is a slice.
  @Test func crossedKeys() throws {
    let d = Self.data(1_000, seed: 2)
    var m = Sliced(BinaryAccuracy())
    let batch = try SliceBatch([SliceColumn(strings: d.country), SliceColumn(d.device)])
    try m.update(yTrue: Tensor(d.y), yPred: Tensor(d.p), slices: batch)
    let expected = Set(zip(d.country, d.device).map { "\($0)|\($1)" })
    #expect(Set(m.sliceResults().map { $0.key!.description }) == expected)
    #expect(m.sliceResults().map(\.samples).reduce(0, +) == 1_000)
    // Integer keys sort numerically, before strings.
    #expect(SliceKey([.int(2)]) < SliceKey([.int(10)]))
    #expect(SliceKey([.int(99)]) < SliceKey([.string("0")]))
  }

  /// Slices below the minimum weight are reported without a value.
  @Test func minimumWeight() throws {
    var m = Sliced(BinaryAccuracy(), minimumWeight: 3)
    try m.update(
      yTrue: [1, 1, 1, 0, 0], yPred: [0.9, 0.8, 0.7, 0.2, 0.9],
      slices: try SliceBatch([SliceColumn([7, 7, 7, 8, 8])]))
    let r = m.sliceResults()
    #expect(r.map(\.belowMinimumWeight) == [false, true])
    #expect(r[0].value == .scalar(1))
    #expect(r[1].value == nil)
    #expect(r[1].samples == 2)
    #expect(r[1].metric.result() == .scalar(0.5))
    let summaries = m.sliceSummaries()
    #expect(summaries.map(\.belowMinimumWeight) == [false, true])
    #expect(summaries.map(\.value) == [.scalar(1), nil])
    #expect(summaries.map(\.samples) == [3, 2])
    #expect(summaries.map(\.weight) == [3, 2])
  }

  /// Bad input: keys of the wrong count or type, too many slices, keys of
  /// another width; the state is unchanged after each.
  @Test func badInputLeavesTheStateUnchanged() throws {
    var m = Sliced(try AUC(), maximumSlices: 3)
    try m.update(yTrue: [1, 0], yPred: [0.9, 0.2], slices: try SliceBatch([SliceColumn([1, 2])]))
    let before = m.state
    #expect(throws: MetricError.self) {
      try m.update(yTrue: [1, 0], yPred: [0.9, 0.2], slices: try SliceBatch([SliceColumn([1, 2, 3])]))
    }
    #expect(throws: MetricError.self) {
      try m.update(yTrue: [1, 0, 1], yPred: [0.9, 0.2, 0.3], slices: try SliceBatch([SliceColumn([3, 4, 5])]))
    }
    #expect(throws: MetricError.self) {
      try m.update(
        yTrue: [1, 0], yPred: [0.9, 0.2], slices: try SliceBatch([SliceColumn([1, 2]), SliceColumn([1, 2])]))
    }
    #expect(throws: MetricError.self) {
      try m.update(yTrue: [1, 0], yPred: [0.9, Double.nan], slices: try SliceBatch([SliceColumn([1, 2])]))
    }
    #expect(throws: MetricError.self) { try SliceColumn(Tensor([0.5, 1.5])) }
    #expect(throws: MetricError.self) { try SliceColumn(try Tensor([[1, 2], [3, 4]])) }
    #expect(throws: MetricError.self) { try SliceBatch([SliceColumn([1]), SliceColumn([1, 2])]) }
    #expect(throws: MetricError.self) { try SliceBatch([]) }
    #expect(m.state == before)
  }

  /// Saved, loaded and merged: shards merged in any order equal one run;
  /// tampered states are refused.
  @Test func savesLoadsAndMerges() throws {
    let d = Self.data(3_000, seed: 3)
    var g = SplitMix64(seed: 4)
    var whole = Sliced(try AUC())
    try whole.update(
      yTrue: Tensor(d.y), yPred: Tensor(d.p), slices: try SliceBatch([SliceColumn(strings: d.country)]))
    let shards = try randomSplit(3_000, parts: 4, using: &g).map { r in
      var s = Sliced(try AUC())
      try s.update(
        yTrue: Tensor(Array(d.y[r])), yPred: Tensor(Array(d.p[r])),
        slices: try SliceBatch([SliceColumn(strings: Array(d.country[r]))]))
      return try Sliced<AUC>(savedState: s.savedState())
    }
    let merged = try mergeRandomly(shards, using: &g)
    #expect(merged.sliceResults().map { $0.value } == whole.sliceResults().map { $0.value })
    #expect(merged.result() == whole.result())
    // A state whose slice is listed twice, or whose key is missing.
    var s = whole.state
    s.slices.append(s.slices[0])
    var fresh = Sliced(try AUC())
    #expect(throws: MetricError.self) { try fresh.restore(s) }
    s = whole.state
    s.slices[0].key = nil
    #expect(throws: MetricError.self) { try fresh.restore(s) }
    s = whole.state
    s.slices[0].samples = -1
    #expect(throws: MetricError.self) { try fresh.restore(s) }
    var small = Sliced(try AUC(), maximumSlices: 2)
    #expect(throws: MetricError.self) { try small.restore(whole.state) }
    #expect(throws: MetricError.self) { try small.merge(whole) }
    // Another base configuration does not merge.
    var other = Sliced(try AUC(numThresholds: 10))
    #expect(throws: MetricError.self) { try other.merge(whole) }
  }

  /// Counts that fast updates hold back (float32, unweighted, metrics that
  /// count cells) read exactly as counts added batch by batch: results,
  /// states, saved bytes; merged with held-back counts on both sides, on
  /// one side, or none.
  @Test func heldBackCountsReadAsSettledOnes() throws {
    var g = SplitMix64(seed: 11)
    let n = 300_000
    let (y, p) = binormalScores(n, positiveRate: 0.3, shift: 1, using: &g)
    let keys = (0..<n).map { _ in Int64.random(in: -3...40, using: &g) }
    let batches = [0..<1, 1..<150_000, 150_000..<150_001, 150_001..<n]
    func run<M: PredictionMetric & KerasSerializable>(
      _ base: M, _ range: [Range<Int>], settling: Bool
    ) throws -> Sliced<M> {
      var m = Sliced(base)
      for r in range {
        try m.update(
          yTrue: Tensor(y[r].map { Float($0) }), yPred: Tensor(p[r].map { Float($0) }),
          slices: try SliceBatch([SliceColumn(Tensor(Array(keys[r])))]))
        if settling { try m.settle() }
      }
      return m
    }
    func check<M: PredictionMetric & KerasSerializable>(_ base: M) throws {
      let held = try run(base, batches, settling: false)
      let settled = try run(base, batches, settling: true)
      #expect(held.state == settled.state, "\(M.className)")
      #expect(held.savedState() == settled.savedState())
      #expect(held.result() == settled.result())
      #expect(held.sliceResults().map(\.value) == settled.sliceResults().map(\.value))
      #expect(held.sliceResults().map(\.samples) == settled.sliceResults().map(\.samples))
      #expect(held.overallResult.samples == Int64(n))
      // The overall metric and the slices' values read without settling
      // (each slice's state made, read and dropped) equal the settled ones.
      #expect(held.overall.state == settled.overall.state)
      let summaries = held.sliceSummaries()
      #expect(summaries == settled.sliceSummaries())
      #expect(summaries.map(\.value) == settled.sliceResults().map(\.value))
      #expect(summaries.map(\.key) == settled.sliceResults().map(\.key!))
      #expect(summaries.map(\.samples) == settled.sliceResults().map(\.samples))
      #expect(summaries.map(\.weight) == settled.sliceResults().map(\.weight))
      // Merged with an empty state on either side: the same state.
      var withEmpty = held
      try withEmpty.merge(Sliced(base))
      #expect(withEmpty.state == held.state)
      var intoEmpty = Sliced(base)
      try intoEmpty.merge(held)
      #expect(intoEmpty.state == held.state)
      // Halves merged: both holding counts back, one, none.
      for (a, b) in [(false, false), (true, false), (false, true), (true, true)] {
        var first = try run(base, Array(batches[..<2]), settling: a)
        let second = try run(base, Array(batches[2...]), settling: b)
        try first.merge(second)
        // (The second half's rows were numbered from 0: only `nextRow` differs.)
        #expect(first.state.overall == held.state.overall, "\(M.className) settled \(a), \(b)")
        #expect(first.state.slices == held.state.slices, "\(M.className) settled \(a), \(b)")
      }
      // Restored from the state, then updated again.
      var restored = Sliced(base)
      try restored.restore(try run(base, Array(batches[..<2]), settling: false).state)
      var more = try run(base, Array(batches[2...]), settling: false)
      try more.merge(restored)
      #expect(more.state.overall == held.state.overall)
      #expect(more.state.slices == held.state.slices)
    }
    try check(BinaryAccuracy())
    try check(try AUC())
    // (AUC's slice values are read from the counts without a state: each
    // curve and summation, and thresholds given.)
    try check(try AUC(curve: .pr))
    try check(try AUC(numThresholds: 37, curve: .prGain, summationMethod: .majoring))
    try check(try AUC(summationMethod: .minoring, thresholds: [0.2, 0.5, 0.7]))
    // (Thresholds in order are read from the cells as the area goes; out
    // of order, through arrays in the order given.)
    try check(try AUC(thresholds: [0.7, 0.2, 0.5, 0.35]))
    try check(try Recall(thresholds: [0.1, 0.5, 0.9]))
  }

  /// Keys from an int64 tensor (read in place) group as the same keys
  /// from an array; integer keys sort by value.
  @Test func int64TensorKeysAndTheirOrder() throws {
    var g = SplitMix64(seed: 12)
    let keys = (0..<5_000).map { _ in Int64.random(in: -1_000...1_000, using: &g) * 1_000_000_007 }
    let fromTensor = try SliceBatch([SliceColumn(Tensor(keys))])
    let fromArray = try SliceBatch([SliceColumn(keys)])
    #expect(fromTensor.keys == fromArray.keys)
    #expect(fromTensor.keys.first == SliceKey([.int(keys[0])]))
    let dense = (0..<5_000).map { _ in Int64.random(in: 5...9, using: &g) }
    #expect(try SliceBatch([SliceColumn(Tensor(dense))]).keys.count == Set(dense).count)
    #expect(SliceKey.sorted(fromTensor.keys) == fromTensor.keys.sorted())
    // int32 keys in place; Int keys exactly, to the ends of the range.
    let small = keys.map { Int32(truncatingIfNeeded: $0 / 1_000_000_007) }
    #expect(
      try SliceBatch([SliceColumn(Tensor(small))]).keys == SliceBatch([SliceColumn(small.map { Int64($0) })]).keys)
    let wide = [Int.max, Int.min, 1 << 60, (1 << 60) + 1]
    #expect(try SliceBatch([SliceColumn(Tensor(wide))]).keys.map(\.description) == wide.map { "\($0)" })
    let mixed = [SliceKey([.string("b")]), SliceKey([.int(3)]), SliceKey([.int(-2)]), SliceKey([.int(1), .int(0)])]
    #expect(SliceKey.sorted(mixed) == mixed.sorted())
  }

  /// Past 2⁶⁰ settled rows an unweighted batch's counts go into the states
  /// at once instead of being held back: a count that would overflow
  /// throws from the update itself (held back, it would surface only when
  /// read), and the state is unchanged.
  @Test func countsNearTheirLimitOverflowAtTheUpdate() throws {
    let keys = try SliceBatch([SliceColumn([Int64(7), 7, 7])])
    let (y, p) = (Tensor([Float(1), 1, 0]), Tensor([Float(0.8), 0.3, 0.1]))
    var small = Sliced(BinaryAccuracy())
    try small.update(yTrue: y, yPred: p, slices: keys)
    var s = small.state
    let huge = Int64.max - 1
    s.overall.samples = huge
    s.overall.state.count = huge
    s.slices[0].samples = huge
    s.slices[0].state.count = huge
    var m = Sliced(BinaryAccuracy())
    try m.restore(s)
    let before = m.state
    #expect(throws: MetricError.self) { try m.update(yTrue: y, yPred: p, slices: keys) }
    #expect(m.state == before)
    // Below the limit the same batch is held back and read as settled.
    s.overall.samples = 1 << 40
    s.overall.state.count = 1 << 40
    s.slices[0].samples = 1 << 40
    s.slices[0].state.count = 1 << 40
    try m.restore(s)
    try m.update(yTrue: y, yPred: p, slices: keys)
    #expect(m.state.overall.samples == (1 << 40) + 3)
    #expect(m.state.slices[0].state.count == (1 << 40) + 3)
  }

  /// Integer keys through the dense table as it grows (upward, downward,
  /// both, to its limit) and past it (the dictionary): the keys in order of
  /// first appearance, each slice with its rows.
  @Test func integerKeysThroughTheGrowingTable() throws {
    var g = SplitMix64(seed: 21)
    let n = 3_000
    var patterns: [[Int64]] = []
    patterns.append((0..<n).map { (i: Int) -> Int64 in Int64(i % 997) })
    patterns.append((0..<n).map { (i: Int) -> Int64 in -Int64(i % 1_499) * 3 })
    patterns.append((0..<n).map { (_: Int) -> Int64 in Int64.random(in: -5_000...5_000, using: &g) })
    // The last row is beyond the widest table (4 × rows + 1,024).
    patterns.append((0..<n).map { (i: Int) -> Int64 in i == n - 1 ? 20_000 : Int64(i % 10) })
    patterns.append((0..<n).map { (_: Int) -> Int64 in Int64.random(in: Int64.min...Int64.max, using: &g) })
    let ends: [Int64] = [Int64.max, Int64.min, 0, -1]
    patterns.append((0..<n).map { (i: Int) -> Int64 in ends[i % 4] })
    // Tables against Int64's ends (a key one past them would alias).
    patterns.append((0..<n).map { (i: Int) -> Int64 in Int64.max - Int64(i % 300) })
    patterns.append((0..<n).map { (i: Int) -> Int64 in Int64.min + Int64(i % 300) })
    patterns.append(
      (0..<n).map { (i: Int) -> Int64 in i % 2 == 0 ? Int64.max - Int64(i % 70) : Int64.min + Int64(i % 70) })
    for keys in patterns {
      var order: [Int64] = []
      var rows: [Int64: Int] = [:]
      for k in keys {
        if rows[k] == nil { order.append(k) }
        rows[k, default: 0] += 1
      }
      for column in [SliceColumn(keys), try SliceColumn(Tensor(keys))] {
        let batch = try SliceBatch([column])
        #expect(batch.keys == order.map { SliceKey([.int($0)]) })
        var m = Sliced(BinaryAccuracy())
        try m.update(
          yTrue: Tensor([Float](repeating: 1, count: n)), yPred: Tensor([Float](repeating: 1, count: n)), slices: batch)
        for r in m.sliceResults() {
          guard case .int(let k)? = r.key?.values.first else { continue }
          #expect(r.samples == Int64(rows[k] ?? -1), "key \(k)")
        }
      }
    }
  }

  /// Slices of a bootstrap: each slice's replicates equal a bootstrap of
  /// the slice's rows alone, with their global indices.
  @Test func slicedBootstrap() throws {
    let d = Self.data(1_500, seed: 5)
    var m = Sliced(try Bootstrapped(AUC(), replicates: 40, seed: 3))
    for r in [0..<500, 500..<1_500] {
      try m.update(
        yTrue: Tensor(Array(d.y[r])), yPred: Tensor(Array(d.p[r])),
        slices: try SliceBatch([SliceColumn(Array(d.device[r]))]))
    }
    var overall = try Bootstrapped(AUC(), replicates: 40, seed: 3)
    try overall.update(yTrue: Tensor(d.y), yPred: Tensor(d.p))
    #expect(m.overall.replicateResults() == overall.replicateResults())
    for s in m.sliceResults() {
      let rows = d.device.indices.filter { .int(d.device[$0]) == s.key!.values[0] }
      var alone = try Bootstrapped(AUC(), replicates: 40, seed: 3)
      try alone.update(
        yTrue: Tensor(rows.map { d.y[$0] }), yPred: Tensor(rows.map { d.p[$0] }), sampleWeight: nil,
        rows: .listed(rows.map { Int64($0) }))
      #expect(s.metric.replicateResults() == alone.replicateResults())
      #expect(try s.metric.interval() == alone.interval())
    }
  }
}

/// Configurations of slices and bootstraps round-trip through the registry.
@Suite struct EvaluationConfigTests {
  @Test func wrappersDeserialize() throws {
    let m = Sliced(try Bootstrapped(try AUC(numThresholds: 50), replicates: 7, seed: 3), minimumWeight: 4)
    let back = try MetricRegistry.deserialize(m.config)
    let typed = try #require(back as? Sliced<Bootstrapped<AUC>>)
    #expect(typed.config == m.config)
    #expect(typed.minimumWeight == 4)
    #expect(typed.overall.bootstrap == (try PoissonBootstrap(replicates: 7, seed: 3)))
    let json = #"{"class_name": "Bootstrapped", "config": {"metric": {"class_name": "Mean", "config": {}}}}"#
    #expect(throws: MetricError.self) { try MetricRegistry.deserialize(KerasConfig(json: json)) }
    let bad = #"{"class_name": "Sliced", "config": {"metric": {"class_name": "AUC", "config": {}}, "extra": 1}}"#
    #expect(throws: MetricError.self) { try MetricRegistry.deserialize(KerasConfig(json: bad)) }
  }
}
