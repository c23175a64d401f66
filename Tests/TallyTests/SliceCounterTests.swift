// Evaluation: SliceCounter (a run's slice counts kept across batches, as
// `tally evaluate` counts them) against updateTogether batch by batch.

import Foundation
import Testing

@_spi(Internals) @testable import Tally

@Suite struct SliceCounterTests {
  /// A batch: float32 labels and scores, and integer keys from `key`.
  func batch(_ n: Int, seed: UInt64, key: (Int, inout SplitMix64) -> Int64) -> (Tensor, Tensor, [Int64]) {
    var g = SplitMix64(seed: seed)
    let (y, p) = binormalScores(n, positiveRate: 0.35, shift: 1.2, using: &g)
    let keys = (0..<n).map { key($0, &g) }
    return (Tensor(y.map(Float.init)), Tensor(p.map(Float.init)), keys)
  }

  /// Sliced metrics: with binary accuracy first (two cells: the counter
  /// sums them to find each slot's rows), or without (AUCs' hundreds of
  /// cells: it counts each slot's rows as they come); MSE is not counted.
  func metrics(accuracy: Bool = true) throws -> [any Metric] {
    (accuracy ? [Sliced(BinaryAccuracy())] : [])
      + [Sliced(try AUC()), Sliced(MeanSquaredError()), Sliced(try AUC(numThresholds: 300))]
  }

  /// The metrics of a test's variant, the indices the counter counts, and
  /// MSE's (not counted): three counted with binary accuracy, two AUCs,
  /// binary accuracy and an AUC (as `tally evaluate --metric
  /// binary_accuracy --metric auc`), binary accuracy alone. (The last two
  /// look each row's key up as they count it, when it has a slot.)
  func metrics(variant: Int) throws -> (metrics: [any Metric], counted: [Int], mse: Int) {
    switch variant {
    case 0: (try metrics(accuracy: true), [0, 1, 3], 2)
    case 1: (try metrics(accuracy: false), [0, 2], 1)
    case 2: ([Sliced(BinaryAccuracy()), Sliced(try AUC()), Sliced(MeanSquaredError())], [0, 1], 2)
    default: ([Sliced(MeanSquaredError()), Sliced(BinaryAccuracy())], [1], 0)
    }
  }

  /// Batches counted by the counter and handed over equal the same batches
  /// through updateTogether, state for state, bit for bit: keys that grow
  /// batch by batch (widening the table), keys far apart (the dictionary),
  /// negative keys and Int64's ends, int32 and uint8 keys, and one slice of most rows
  /// in one score (its 16-bit counters moved many times); with and without
  /// a metric of few cells, one metric or two (each row's key looked up
  /// as it is counted) or three.
  @Test(arguments: 0..<5, 0..<4) func countedEqualsUpdatedBatchByBatch(kind: Int, variant: Int) throws {
    let batches: [(Tensor, Tensor, [Int64])] = (0..<4).map { b in
      batch(kind == 4 ? 150_000 : 20_000, seed: UInt64(10 * kind + b)) { i, g in
        switch kind {
        case 0: Int64.random(in: 0..<(50 * Int64(b + 1)), using: &g)
        case 1: [Int64.min, -3, 0, 7, 1 << 40, Int64.max][Int.random(in: 0..<6, using: &g)]
        case 2: Int64.random(in: -100..<100, using: &g) &* 10_000_000_007
        case 3: Int64(b * 1_000) - Int64.random(in: 0..<300, using: &g)
        default: i % 7 == 0 ? Int64(i % 13) : 5
        }
      }
    }
    var (counted, members, mse) = try metrics(variant: variant)
    var updated = try metrics(variant: variant).metrics
    let counter = SliceCounter()
    var first: Int64 = 0
    for (b, (y, p, keys)) in batches.enumerated() {
      var yb = y
      var pb = p
      if kind == 4 {
        // The big slice's scores all 0.75: two cells take its rows.
        var scores = p.scalars(as: Float.self)!
        for i in keys.indices where keys[i] == 5 { scores[i] = 0.75 }
        pb = Tensor(scores)
        yb = y
      }
      // (Int32 keys in kind 3, uint8 keys in kind 0, both read in place.)
      let column =
        kind == 3 && b % 2 == 0
        ? try SliceColumn(Tensor(keys.map { Int32($0) }))
        : kind == 0 && b % 2 == 1 ? try SliceColumn(Tensor(keys.map { UInt8($0) })) : SliceColumn(keys)
      if kind == 0 && b % 2 == 1 {
        guard case .uint8s = column.values else {
          Issue.record("uint8 keys not read in place")
          return
        }
      }
      let rows = RowIndices.contiguous(first: first, count: keys.count)
      let outcome = try counter.count(
        &counted, yTrue: yb, yPred: pb, sampleWeight: nil, keys: column, rows: rows)
      #expect(outcome == .counted(members))
      var rest = [counted[mse]]
      try updateTogether(
        &rest, yTrue: yb, yPred: pb, sampleWeight: nil, slices: try SliceBatch([column]), rows: rows)
      counted[mse] = rest[0]
      // (The reference reads every batch's keys as Int64.)
      try updateTogether(
        &updated, yTrue: yb, yPred: pb, sampleWeight: nil, slices: try SliceBatch([SliceColumn(keys)]), rows: rows)
      first += Int64(keys.count)
      // (Odd kinds hand over twice: the second adds to counts the metrics
      // hold back; the others once, kept as they are.)
      if kind % 2 == 1 && b == 1 { try counter.flush(into: &counted) }
      // (Even kinds gather the counters into the totals midway, as a
      // worker does before the counters are added, and count on.)
      if kind % 2 == 0 && b == 0 { counter.gather() }
    }
    try counter.flush(into: &counted)
    for (a, b) in zip(counted, updated) { #expect(try encoded(a) == encoded(b), "\(a.name)") }
  }

  /// Slots too many to sum at each check (some 35,000 keys of binary
  /// accuracy's two cells at the first): the counter counts each slot's
  /// rows from there, starting from the sums; a slice of 40 % of the rows
  /// (26,000 at the check, below half the 16-bit range, so not moved),
  /// all in one cell of each metric, passes the range after it. Equal to
  /// updateTogether, state for state, bit for bit.
  @Test func manySlotsCountTheirRowsFromACheck() throws {
    func metrics() throws -> [any Metric] {
      [Sliced(BinaryAccuracy(), maximumSlices: 150_000), Sliced(try AUC(numThresholds: 3), maximumSlices: 150_000)]
    }
    var counted = try metrics()
    var updated = try metrics()
    let counter = SliceCounter()
    var first: Int64 = 0
    for b in 0..<4 {
      let (y0, p0, keys) = batch(50_000, seed: UInt64(90 + b)) { _, g in
        Int.random(in: 0..<5, using: &g) < 2 ? 5 : Int64.random(in: 0..<200_000, using: &g)
      }
      // The big slice's rows all positive at 0.75: one cell of each metric.
      var (labels, scores) = (y0.scalars(as: Float.self)!, p0.scalars(as: Float.self)!)
      for i in keys.indices where keys[i] == 5 { (labels[i], scores[i]) = (1, 0.75) }
      let (y, p) = (Tensor(labels), Tensor(scores))
      let column = SliceColumn(keys)
      let rows = RowIndices.contiguous(first: first, count: keys.count)
      let outcome = try counter.count(&counted, yTrue: y, yPred: p, sampleWeight: nil, keys: column, rows: rows)
      #expect(outcome == .counted([0, 1]))
      try updateTogether(
        &updated, yTrue: y, yPred: p, sampleWeight: nil, slices: try SliceBatch([column]), rows: rows)
      first += Int64(keys.count)
    }
    try counter.flush(into: &counted)
    for (a, b) in zip(counted, updated) { #expect(try encoded(a) == encoded(b), "\(a.name)") }
  }

  /// Weighted batches and string keys are not taken; a NaN score spends
  /// the counter (the usual update throws), after which handing over
  /// throws; rows and keys of different counts, and more keys than the
  /// limit, throw what updates throw.
  @Test func whatItDoesNotTake() throws {
    let (y, p, keys) = batch(3_000, seed: 1) { _, g in Int64.random(in: 0..<9, using: &g) }
    var ms: [any Metric] = [Sliced(BinaryAccuracy())]
    let rows = RowIndices.contiguous(first: 0, count: 3_000)
    let counter = SliceCounter()
    #expect(
      try counter.count(&ms, yTrue: y, yPred: p, sampleWeight: Tensor(Float(2)), keys: SliceColumn(keys), rows: rows)
        == .notTaken)
    #expect(
      try counter.count(
        &ms, yTrue: y, yPred: p, sampleWeight: nil, keys: SliceColumn(strings: keys.map(String.init)), rows: rows)
        == .notTaken)
    // Rows and keys of different counts: the update's error.
    var viaUpdate: [any Metric] = [Sliced(BinaryAccuracy())]
    let short = SliceColumn(Array(keys.prefix(10)))
    #expect(throws: MetricError.shapeMismatch("binary_accuracy: the batch has 3000 rows; received slice keys for 10")) {
      try counter.count(&ms, yTrue: y, yPred: p, sampleWeight: nil, keys: short, rows: rows)
    }
    #expect(throws: MetricError.shapeMismatch("binary_accuracy: the batch has 3000 rows; received slice keys for 10")) {
      try updateTogether(&viaUpdate, yTrue: y, yPred: p, sampleWeight: nil, slices: try SliceBatch([short]), rows: rows)
    }
    // More keys than the limit: the update's error.
    var limited: [any Metric] = [Sliced(BinaryAccuracy(), maximumSlices: 5)]
    var limitedUpdate: [any Metric] = [Sliced(BinaryAccuracy(), maximumSlices: 5)]
    let message = MetricError.invalidValue(
      "binary_accuracy: 9 distinct slice keys exceed the limit of 5 (raise maximumSlices, or `tally evaluate --max-slices`, if so many slices are meant)"
    )
    #expect(throws: message) {
      try SliceCounter().count(&limited, yTrue: y, yPred: p, sampleWeight: nil, keys: SliceColumn(keys), rows: rows)
    }
    #expect(throws: message) {
      try updateTogether(
        &limitedUpdate, yTrue: y, yPred: p, sampleWeight: nil, slices: try SliceBatch([SliceColumn(keys)]), rows: rows)
    }
    // A NaN score: spent.
    var scores = p.scalars(as: Float.self)!
    scores[2_500] = .nan
    var auc: [any Metric] = [Sliced(try AUC())]
    #expect(
      try counter.count(&auc, yTrue: y, yPred: Tensor(scores), sampleWeight: nil, keys: SliceColumn(keys), rows: rows)
        == .invalidRows)
    #expect(throws: MetricError.self) { try counter.flush(into: &auc) }
  }

  /// Two workers' counters, one added into the other and handed over once
  /// (as `tally evaluate` does), then the workers' metrics merged, equal
  /// updateTogether over every batch, state for state, bit for bit (keys
  /// that only the second worker saw included); what cannot be added is
  /// left as it was.
  @Test func addedCountersEqualUpdatesOfEveryBatch() throws {
    let batches: [(Tensor, Tensor, [Int64])] = (0..<6).map { b in
      batch(30_000, seed: UInt64(100 + b)) { _, g in
        // The second worker's batches (odd) also bring keys 500..<520.
        b % 2 == 1 && Int.random(in: 0..<10, using: &g) == 0
          ? Int64.random(in: 500..<520, using: &g) : Int64.random(in: 0..<200, using: &g)
      }
    }
    var workers = [try metrics(), try metrics()]
    var updated = try metrics()
    let counters = [SliceCounter(), SliceCounter()]
    var first: Int64 = 0
    for (b, (y, p, keys)) in batches.enumerated() {
      let rows = RowIndices.contiguous(first: first, count: keys.count)
      let column = SliceColumn(keys)
      #expect(
        try counters[b % 2].count(&workers[b % 2], yTrue: y, yPred: p, sampleWeight: nil, keys: column, rows: rows)
          == .counted([0, 1, 3]))
      var rest = [workers[b % 2][2]]
      try updateTogether(&rest, yTrue: y, yPred: p, sampleWeight: nil, slices: try SliceBatch([column]), rows: rows)
      workers[b % 2][2] = rest[0]
      try updateTogether(
        &updated, yTrue: y, yPred: p, sampleWeight: nil, slices: try SliceBatch([column]), rows: rows)
      first += Int64(keys.count)
      // (Totals made midway in each, as counters that moved: added with
      // the counters counted since.)
      if b == 2 || b == 3 { counters[b % 2].gather() }
    }
    // Not added: to itself, to an empty counter, across other metrics.
    #expect(!counters[0].add(counters[0]))
    #expect(!SliceCounter().add(counters[1]))
    let other = SliceCounter()
    var two: [any Metric] = [Sliced(BinaryAccuracy())]
    let (y, p, keys) = batches[0]
    _ = try other.count(
      &two, yTrue: y, yPred: p, sampleWeight: nil, keys: SliceColumn(keys),
      rows: .contiguous(first: 0, count: keys.count))
    #expect(!other.add(counters[1]))
    #expect(counters[0].add(counters[1]))
    // Counting on after the add: from counters it emptied.
    let (y2, p2, keys2) = batch(30_000, seed: 200) { _, g in Int64.random(in: 150..<600, using: &g) }
    let rows2 = RowIndices.contiguous(first: first, count: keys2.count)
    #expect(
      try counters[0].count(&workers[0], yTrue: y2, yPred: p2, sampleWeight: nil, keys: SliceColumn(keys2), rows: rows2)
        == .counted([0, 1, 3]))
    var rest = [workers[0][2]]
    try updateTogether(
      &rest, yTrue: y2, yPred: p2, sampleWeight: nil, slices: try SliceBatch([SliceColumn(keys2)]), rows: rows2)
    workers[0][2] = rest[0]
    try updateTogether(
      &updated, yTrue: y2, yPred: p2, sampleWeight: nil, slices: try SliceBatch([SliceColumn(keys2)]), rows: rows2)
    try counters[0].flush(into: &workers[0])
    // The second counter is empty now: handing it over adds nothing.
    let before = try workers[1].map(encoded)
    try counters[1].flush(into: &workers[1])
    #expect(try workers[1].map(encoded) == before)
    func merged<M: Metric>(_ a: M, _ b: any Metric) throws -> any Metric {
      var m = a
      try m.merge(try #require(b as? M))
      return m
    }
    for i in workers[0].indices { workers[0][i] = try merged(workers[0][i], workers[1][i]) }
    for (a, b) in zip(workers[0], updated) { #expect(try encoded(a) == encoded(b), "\(a.name)") }
  }
}
