//===--- JointUpdate.swift ------------------------------------------------===//
//
// Several metrics updated with one batch, sharing what their updates have
// in common: the slices or bootstraps of metrics that count cells are one
// pass over the rows for all of them, the replicate weights drawn once per
// row instead of once per metric.
//
//===----------------------------------------------------------------------===//

/// The cells of a batch in a wrapper's update: what ``cellTotals(_:groups:groupCount:bootstrap:rows:)``
/// counts for it.
struct TalliedCells {
  /// The number of cells.
  var count: Int
  /// The base metric's cell of each row, to be counted; `nil` when
  /// ``totals`` holds their counts already.
  var batch: CellBatch?
  /// The cells' counts by slice (without a bootstrap, counted as the cells
  /// were made), in ``totals`` or, 32-bit, in ``counts``.
  var totals: [Int]?
  var counts: [UInt32]? = nil
  /// Where this metric's counts start in ``counts`` (several metrics'
  /// counts, one after another, when counted together).
  var countsOffset = 0
  /// The bootstrap whose weights the totals add up, if any.
  var bootstrap: PoissonBootstrap?
  /// Whether the totals are by slice (the batch's slice keys).
  var grouped: Bool
}

/// A wrapper (slices, a bootstrap) whose update of a batch can be split in
/// two: the cells of its rows, validated as the update validates them, then
/// the state from the cells' totals. Wrappers whose cells are counted in
/// the same way share one pass.
protocol CellTallied: Metric {
  /// The cells of this batch, or `nil` when it takes the wrapper's general
  /// update.
  ///
  /// - Throws: what the update throws for this batch.
  func talliedCells(yTrue: Tensor, yPred: Tensor, sampleWeight: Tensor?, slices: SliceBatch?, rows: RowIndices)
    throws(MetricError) -> TalliedCells?
  /// Updates with the batch, given the totals of the cells that
  /// ``talliedCells(yTrue:yPred:sampleWeight:slices:rows:)`` returned.
  mutating func absorb(
    _ totals: [Int], of cells: TalliedCells, yTrue: Tensor, yPred: Tensor, slices: SliceBatch?, rows: RowIndices
  ) throws(MetricError)
}

/// A slicing wrapper whose unweighted batches it counts by cell and slice
/// (``Sliced`` of a metric that counts cells): those of several metrics
/// are counted in one pass over the rows.
protocol HeldBackCounting: CellTallied {
  /// Whether this batch takes the path, after the checks of an update.
  ///
  /// - Throws: what the update throws for the batch's slice keys and rows.
  func takesHeldBack(yTrue: Tensor, yPred: Tensor, sampleWeight: Tensor?, slices: SliceBatch?, rows: RowIndices)
    throws(MetricError) -> Bool
  /// Calls `body` with the batch's cells on demand, or returns `nil` for
  /// inputs the cells do not take.
  func withHeldBackSource<R>(yTrue: Tensor, yPred: Tensor, _ body: (CellSource) -> R) -> R?
  /// Whether a run's ``SliceCounter`` may count this batch for this metric
  /// (unweighted, a base that counts cells), after the checks an update
  /// makes of its rows against `keyRows` keys of one column.
  ///
  /// - Throws: what the update throws for those rows.
  func takesCounted(yTrue: Tensor, yPred: Tensor, sampleWeight: Tensor?, keyRows: Int, rows: RowIndices)
    throws(MetricError) -> Bool
  /// Checks the `count` distinct keys of a run so far (one column; `keys`
  /// makes them, called only when needed) as an update bringing them
  /// checks them.
  func checkCountedKeys(count: Int, _ keys: () -> [SliceKey]) throws(MetricError)
  /// Adds counts of `rows` rows by key (`add(g, out)` adds key `g`'s
  /// `cells` counts to `out`), as updates of those rows would.
  mutating func absorbCounts(
    keys: [SliceKey], cells: Int, rows: Int, end: Int64,
    _ add: (_ g: Int, _ out: UnsafeMutableBufferPointer<UInt32>) -> Void
  ) throws(MetricError)
  /// ``absorbCounts(keys:cells:rows:end:_:)`` of counts given key by key
  /// (`keys.count × cells`, keys distinct), which the metric may keep as
  /// they are.
  mutating func absorbTotals(keys: [SliceKey], totals: [UInt32], cells: Int, rows: Int, end: Int64)
    throws(MetricError)
}

/// Calls `body` with the cell sources of all `members`, or returns `nil`
/// when one has none for these inputs.
func withSources<R>(
  _ members: ArraySlice<any HeldBackCounting>, yTrue: Tensor, yPred: Tensor, opened: [CellSource],
  _ body: ([CellSource]) -> R
) -> R? {
  guard let first = members.first else { return body(opened) }
  return first.withHeldBackSource(yTrue: yTrue, yPred: yPred) { source in
    withSources(members.dropFirst(), yTrue: yTrue, yPred: yPred, opened: opened + [source], body)
  } ?? nil
}

/// Updates each of `metrics` with one batch, as its own update would: a
/// slicing metric (``SlicedMetric``) with the batch's slice keys, any other
/// with the rows' global indices. The slices and bootstraps of metrics that
/// count cells (binary accuracy and the confusion-matrix family on one
/// score per row, unweighted) are counted together, in one pass over the
/// rows: a row's replicate weights are drawn once for all the metrics of
/// the same bootstrap.
///
/// ```swift
/// let b = try PoissonBootstrap(replicates: 50, seed: 3)
/// var metrics: [any Metric] = [Bootstrapped(BinaryAccuracy(), bootstrap: b), Bootstrapped(try AUC(), bootstrap: b)]
/// try updateTogether(
///   &metrics, yTrue: Tensor([Float(0), 1, 1, 0]), yPred: Tensor([Float(0.2), 0.9, 0.4, 0.6]),
///   sampleWeight: nil, slices: nil, rows: .contiguous(first: 0, count: 4))
/// metrics[0].result().scalar!   // 0.5
/// ```
///
/// - Throws: the first error of a metric's update (``MetricError/invalidValue(_:)``
///   for a metric that takes values rather than labels and predictions,
///   ``MetricError/shapeMismatch(_:)`` for a slicing metric without
///   `slices`); every metric is then unchanged.
public func updateTogether(
  _ metrics: inout [any Metric], yTrue: Tensor, yPred: Tensor, sampleWeight: Tensor?, slices: SliceBatch?,
  rows: RowIndices
) throws(MetricError) {
  var next = metrics
  var done = [Bool](repeating: false, count: metrics.count)
  // Slices of metrics that count cells, unweighted: their cells counted
  // in one pass (a batch with an invalid row goes the way below, which
  // throws the metric's error).
  if let slices, sampleWeight == nil {
    var members: [(index: Int, metric: any HeldBackCounting)] = []
    for (i, m) in metrics.enumerated() {
      if let h = m as? any HeldBackCounting,
        try h.takesHeldBack(yTrue: yTrue, yPred: yPred, sampleWeight: nil, slices: slices, rows: rows)
      {
        members.append((i, h))
      }
    }
    let counted =
      members.isEmpty
      ? nil
      : withSources(members.map(\.metric)[...], yTrue: yTrue, yPred: yPred, opened: []) { sources in
        groupedCounts(sources, groups: slices.group, groupCount: slices.keys.count).map { (sources.map(\.count), $0) }
      } ?? nil
    if let (cellCounts, counts) = counted {
      for (k, member) in members.enumerated() {
        guard var t = next[member.index] as? any CellTallied else { continue }
        let cells = TalliedCells(
          count: cellCounts[k], batch: nil, totals: nil, counts: counts.totals, countsOffset: counts.offsets[k],
          bootstrap: nil, grouped: true)
        try t.absorb([], of: cells, yTrue: yTrue, yPred: yPred, slices: slices, rows: rows)
        next[member.index] = t
        done[member.index] = true
      }
    }
  }
  var pending: [(index: Int, cells: TalliedCells)] = []
  for (i, m) in metrics.enumerated() where !done[i] {
    if let t = m as? any CellTallied,
      let cells = try t.talliedCells(yTrue: yTrue, yPred: yPred, sampleWeight: sampleWeight, slices: slices, rows: rows)
    {
      pending.append((i, cells))
    } else if var s = m as? any SlicedMetric {
      guard let slices else { throw .shapeMismatch("\(s.name): slicing needs a slice key per row; received none") }
      try s.update(yTrue: yTrue, yPred: yPred, sampleWeight: sampleWeight, slices: slices, rows: rows)
      next[i] = s
    } else if var p = m as? any PredictionMetric {
      try p.update(yTrue: yTrue, yPred: yPred, sampleWeight: sampleWeight, rows: rows)
      next[i] = p
    } else {
      throw .invalidValue("\(m.name) takes values, not labels and predictions")
    }
  }
  // Cells counted already; then one pass for each way of counting: by
  // slice or not, and bootstrap.
  for member in pending {
    guard member.cells.totals != nil || member.cells.counts != nil, var t = next[member.index] as? any CellTallied
    else { continue }
    try t.absorb(member.cells.totals ?? [], of: member.cells, yTrue: yTrue, yPred: yPred, slices: slices, rows: rows)
    next[member.index] = t
  }
  pending.removeAll { $0.cells.totals != nil || $0.cells.counts != nil }
  while let first = pending.first {
    let same = pending.filter { $0.cells.bootstrap == first.cells.bootstrap && $0.cells.grouped == first.cells.grouped }
    pending.removeAll { $0.cells.bootstrap == first.cells.bootstrap && $0.cells.grouped == first.cells.grouped }
    let grouped = first.cells.grouped ? slices : nil
    let totals = cellTotals(
      same.map { $0.cells.batch! }, groups: grouped?.group, groupCount: grouped?.keys.count ?? 1,
      bootstrap: first.cells.bootstrap, rows: rows)
    for (k, member) in same.enumerated() {
      guard var t = next[member.index] as? any CellTallied else { continue }
      try t.absorb(totals[k], of: member.cells, yTrue: yTrue, yPred: yPred, slices: slices, rows: rows)
      next[member.index] = t
    }
  }
  metrics = next
}
