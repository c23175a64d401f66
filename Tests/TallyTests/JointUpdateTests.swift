// Evaluation: updateTogether (metrics updated with one batch, their slices
// and bootstraps counted in one pass) and the float32 cell paths it takes.

import Foundation
import Tally
import Testing

@Suite struct JointUpdateTests {
  /// Float32 labels and scores (some on the thresholds' grid), slice keys
  /// in 0..<7.
  func data(_ n: Int, seed: UInt64) -> (y: Tensor, p: Tensor, keys: SliceBatch) {
    var g = SplitMix64(seed: seed)
    let (y, p) = binormalScores(n, positiveRate: 0.35, shift: 1.2, using: &g)
    let scores = p.enumerated().map { i, x in i % 11 == 0 ? Float(i % 5) / 4 : Float(x) }
    let keys = (0..<n).map { _ in Int64.random(in: 0..<7, using: &g) }
    return (Tensor(y.map(Float.init)), Tensor(scores), try! SliceBatch([SliceColumn(keys)]))
  }

  func metrics() throws -> [any Metric] {
    let b = try PoissonBootstrap(replicates: 20, seed: 9)
    return [
      Bootstrapped(BinaryAccuracy(), bootstrap: b),
      Bootstrapped(try AUC(numThresholds: 50), bootstrap: b),
      Bootstrapped(try Precision(thresholds: [0.3, 0.5]), bootstrap: b),
      Sliced(try AUC(curve: .pr)),
      Sliced(BinaryAccuracy()),
      Sliced(MeanSquaredError()),
      Sliced(Bootstrapped(try Recall(thresholds: [0.4]), bootstrap: b)),
      BinaryAccuracy(),
      try AUC(),
    ]
  }

  /// Each metric updated together equals the same metric updated alone,
  /// state for state (bit for bit), over two batches; the batches are large
  /// enough to be split across cores and to flush the 16-bit counters.
  @Test(arguments: [3_000, 300_000]) func togetherEqualsAlone(rows: Int) throws {
    var together = try metrics()
    var alone = try metrics()
    var first: Int64 = 0
    for seed: UInt64 in [1, 2] {
      let (y, p, keys) = data(rows, seed: seed)
      let indices = RowIndices.contiguous(first: first, count: rows)
      try updateTogether(&together, yTrue: y, yPred: p, sampleWeight: nil, slices: keys, rows: indices)
      for i in alone.indices {
        var one = [alone[i]]
        try updateTogether(&one, yTrue: y, yPred: p, sampleWeight: nil, slices: keys, rows: indices)
        alone[i] = one[0]
      }
      first += Int64(rows)
    }
    for (a, b) in zip(together, alone) { #expect(try encoded(a) == encoded(b), "\(a.name)") }
  }

  /// Many slices of many cells (counted in 16 bits) with one slice of most
  /// rows (its counters moved to the totals many times, at the end of a
  /// block, between the first 16-bit source's increments and the next
  /// one's): each slice's state is its base metric's state on its rows
  /// alone, for three metrics counted in one pass (two of them in 16 bits).
  @Test func manySlicesOfManyCells() throws {
    let n = 400_000
    var g = SplitMix64(seed: 31)
    var (y, p) = binormalScores(n, positiveRate: 0.4, shift: 1, using: &g)
    // Slice 0 takes 80 % of the rows, all scored 0.75 (so two cells of its
    // 16-bit counters take them all: a late move to the totals wraps
    // them); 249 more share the rest.
    let keys: [Int64] = (0..<n).map { (i: Int) -> Int64 in i % 5 == 0 ? Int64(i / 5 % 249) + 1 : 0 }
    for i in 0..<n where keys[i] == 0 { p[i] = 0.75 }
    let (yt, yp) = (Tensor(y.map(Float.init)), Tensor(p.map(Float.init)))
    var ms: [any Metric] = [Sliced(try AUC()), Sliced(BinaryAccuracy()), Sliced(try AUC(numThresholds: 300))]
    try updateTogether(
      &ms, yTrue: yt, yPred: yp, sampleWeight: nil, slices: try SliceBatch([SliceColumn(keys)]),
      rows: .contiguous(first: 0, count: n))
    var rowsOf: [Int64: [Int]] = [:]
    for (i, k) in keys.enumerated() { rowsOf[k, default: []].append(i) }
    let auc = try #require(ms[0] as? Sliced<AUC>)
    let accuracy = try #require(ms[1] as? Sliced<BinaryAccuracy>)
    let fine = try #require(ms[2] as? Sliced<AUC>)
    #expect(auc.sliceResults().count == 250 && accuracy.sliceResults().count == 250)
    for ((a, b), f) in zip(zip(auc.sliceResults(), accuracy.sliceResults()), fine.sliceResults()) {
      guard case .int(let k)? = a.key?.values.first, let rows = rowsOf[k] else {
        Issue.record("slice \(String(describing: a.key))")
        continue
      }
      let (sy, sp) = (Tensor(rows.map { Float(y[$0]) }), Tensor(rows.map { Float(p[$0]) }))
      var alone = try AUC()
      try alone.update(yTrue: sy, yPred: sp)
      var aloneAccuracy = BinaryAccuracy()
      try aloneAccuracy.update(yTrue: sy, yPred: sp)
      var aloneFine = try AUC(numThresholds: 300)
      try aloneFine.update(yTrue: sy, yPred: sp)
      #expect(a.metric.state == alone.state, "slice \(k)")
      #expect(b.metric.state == aloneAccuracy.state, "slice \(k)")
      #expect(f.metric.state == aloneFine.state, "slice \(k)")
      #expect(a.samples == Int64(rows.count) && b.samples == Int64(rows.count))
    }
  }

  /// The float32 cell paths (no weights) give what weighted updates with
  /// weights of 1 give (the general paths): bootstrap replicates and
  /// slices.
  @Test func float32CellPathsEqualWeightedUpdates() throws {
    let (y, p, keys) = data(200_000, seed: 4)
    let ones = Tensor([Float](repeating: 1, count: y.count))
    func check<M: PredictionMetric>(_ base: M) throws {
      var cells = try Bootstrapped(base, replicates: 12, seed: 2)
      try cells.update(yTrue: y, yPred: p)
      var weighted = try Bootstrapped(base, replicates: 12, seed: 2)
      try weighted.update(yTrue: y, yPred: p, sampleWeight: ones)
      #expect(cells.replicateResults() == weighted.replicateResults(), "\(base.name)")
      #expect(cells.result() == weighted.result())
      var sliced = Sliced(base)
      try sliced.update(yTrue: y, yPred: p, slices: keys)
      var gathered = Sliced(base)
      try gathered.update(yTrue: y, yPred: p, sampleWeight: ones, slices: keys)
      #expect(sliced.sliceResults().map(\.value) == gathered.sliceResults().map(\.value), "\(base.name)")
      #expect(sliced.result() == gathered.result())
    }
    try check(BinaryAccuracy())
    try check(AUC(numThresholds: 50))
    try check(AUC(curve: .pr))
    try check(Precision(thresholds: [0.3, 0.5]))
    try check(FalseNegatives(thresholds: [0.25, 0.5, 0.75]))
  }

  /// A NaN score or a label outside {0, 1} in a float32 batch: the
  /// validating path's error, and every metric unchanged.
  @Test func badRowsLeaveEveryMetricUnchanged() throws {
    let (y, p, keys) = data(5_000, seed: 6)
    var scores = p.scalars(as: Float.self)!
    scores[4_321] = .nan
    var labels = y.scalars(as: Float.self)!
    labels[17] = 2
    let indices = RowIndices.contiguous(first: 0, count: 5_000)
    for (yt, yp, message) in [
      (y, Tensor(scores), "NaN at flat index 4321"), (Tensor(labels), p, "value 2.0 at flat index 17"),
    ] {
      var ms: [any Metric] = [
        Sliced(try AUC()), try Bootstrapped(try AUC(), replicates: 5), Sliced(try Recall(thresholds: [0.2, 0.7])),
      ]
      let before = try ms.map(encoded)
      #expect(throws: MetricError.self) {
        try updateTogether(&ms, yTrue: yt, yPred: yp, sampleWeight: nil, slices: keys, rows: indices)
      }
      do {
        try updateTogether(&ms, yTrue: yt, yPred: yp, sampleWeight: nil, slices: keys, rows: indices)
      } catch {
        #expect("\(error)".contains(message), "\(error)")
      }
      #expect(try ms.map(encoded) == before)
    }
  }

  /// A metric of values, or slices without keys, are refused by name.
  @Test func refusesWhatItCannotUpdate() throws {
    let (y, p, _) = data(10, seed: 1)
    let indices = RowIndices.contiguous(first: 0, count: 10)
    var values: [any Metric] = [Mean()]
    #expect(throws: MetricError.self) {
      try updateTogether(&values, yTrue: y, yPred: p, sampleWeight: nil, slices: nil, rows: indices)
    }
    var sliced: [any Metric] = [BinaryAccuracy(), Sliced(BinaryAccuracy())]
    let before = try sliced.map(encoded)
    #expect(throws: MetricError.self) {
      try updateTogether(&sliced, yTrue: y, yPred: p, sampleWeight: nil, slices: nil, rows: indices)
    }
    #expect(try sliced.map(encoded) == before)
  }
}
