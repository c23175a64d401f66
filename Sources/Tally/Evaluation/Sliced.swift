//===--- Sliced.swift -----------------------------------------------------===//
//
// A metric per slice: one state of the base metric for each slice key seen,
// beside the overall one, mergeable and savable like every state.
//
//===----------------------------------------------------------------------===//

/// One slice's part of a ``SlicedState``: its key, its rows and weight, and
/// the base metric's state on its rows.
public struct SliceEntry<Base: Accumulator>: Codable, Sendable, Equatable {
  /// The key (`nil` for the overall entry).
  public var key: SliceKey?
  /// The slice's rows.
  public var samples: Int64
  /// The slice's weight: the sum of its rows' sample weights (its rows when
  /// unweighted).
  public var weight: CompensatedSum
  /// The base metric's state on the slice's rows.
  public var state: Base

  /// An entry of the given parts.
  public init(key: SliceKey?, samples: Int64, weight: CompensatedSum, state: Base) {
    (self.key, self.samples, self.weight, self.state) = (key, samples, weight, state)
  }
}

/// The state of a ``Sliced`` metric: the overall entry, one entry per slice
/// (sorted by key), and one past the last row seen.
public struct SlicedState<Base: Accumulator>: Accumulator {
  /// All rows.
  public var overall: SliceEntry<Base>
  /// One entry per slice key seen, sorted by key.
  public var slices: [SliceEntry<Base>]
  /// One past the largest global row index seen.
  public var nextRow: Int64

  /// The identity of ``merge(_:)``: no rows.
  public init() {
    overall = SliceEntry(key: nil, samples: 0, weight: CompensatedSum(), state: Base())
    slices = []
    nextRow = 0
  }

  /// A state of the given parts.
  public init(overall: SliceEntry<Base>, slices: [SliceEntry<Base>], nextRow: Int64) {
    (self.overall, self.slices, self.nextRow) = (overall, slices, nextRow)
  }

  private enum CodingKeys: String, CodingKey {
    case overall, slices
    case nextRow = "next_row"
  }

  /// Merges entry by entry (by key); keys in only one state are kept.
  public mutating func merge(_ other: SlicedState<Base>) throws(MetricError) {
    func add(_ a: inout SliceEntry<Base>, _ b: SliceEntry<Base>) throws(MetricError) {
      try a.state.merge(b.state)
      a.samples = try Counting.add(a.samples, b.samples)
      a.weight.merge(b.weight)
    }
    var next = self
    try add(&next.overall, other.overall)
    var byKey: [SliceKey: Int] = [:]
    for (i, e) in next.slices.enumerated() { if let k = e.key { byKey[k] = i } }
    for e in other.slices {
      if let k = e.key, let i = byKey[k] {
        try add(&next.slices[i], e)
      } else {
        next.slices.append(e)
      }
    }
    next.slices.sort { ($0.key ?? SliceKey([])) < ($1.key ?? SliceKey([])) }
    next.nextRow = max(nextRow, other.nextRow)
    self = next
  }
}

/// One slice's result.
public struct SliceResult<Base: Sendable>: Sendable {
  /// The key (`nil` for the overall result).
  public var key: SliceKey?
  /// The slice's rows.
  public var samples: Int64
  /// The slice's weight (the sum of its sample weights, or its rows).
  public var weight: Double
  /// Whether the weight is below the metric's `minimumWeight`; the value is
  /// then not reported.
  public var belowMinimumWeight: Bool
  /// The base metric on the slice's rows (for its state, or, for a
  /// ``Bootstrapped`` base, its interval).
  public var metric: Base
}

extension SliceResult where Base: Metric {
  /// The base metric's result, or `nil` below the minimum weight.
  public var value: MetricValue? { belowMinimumWeight ? nil : metric.result() }
}

extension SliceResult where Base == any Metric {
  /// The base metric's result, or `nil` below the minimum weight.
  public var value: MetricValue? { belowMinimumWeight ? nil : metric.result() }
}

/// One slice's rows, weight and value, without its metric
/// (``Sliced/sliceSummaries()``).
public struct SliceSummary: Sendable, Equatable {
  /// The key.
  public var key: SliceKey
  /// The slice's rows.
  public var samples: Int64
  /// The slice's weight (the sum of its sample weights, or its rows).
  public var weight: Double
  /// Whether the weight is below the metric's `minimumWeight`.
  public var belowMinimumWeight: Bool
  /// The base metric's result on the slice's rows, or `nil` below the
  /// minimum weight.
  public var value: MetricValue?
}

/// A metric evaluated per slice: one state of `Base` for each slice key
/// seen, beside the overall one (TensorFlow Model Analysis's slicing, as a
/// mergeable state).
///
/// Each update takes a slice key per row (``SliceBatch``, from one or more
/// columns of integer or string keys; several columns cross); every row also
/// counts toward the overall result. A slice whose weight (the sum of its
/// rows' sample weights, or its number of rows) is below `minimumWeight`
/// is reported with its rows and weight but no value.
///
/// ```swift
/// var m = Sliced(BinaryAccuracy())
/// try m.update(
///   yTrue: [1, 0, 1, 1], yPred: [0.9, 0.8, 0.7, 0.1],
///   slices: SliceBatch([SliceColumn(strings: ["new", "old", "new", "old"])]))
/// m.result()                                       // 0.5
/// m.sliceResults().map { "\($0.key!)" }           // ["new", "old"]
/// m.sliceResults().map { $0.value!.scalar! }      // [1.0, 0.0]
/// ```
///
/// Rows are the first axis; an element-wise metric (`MeanSquaredError`,
/// ...) given rank-1 labels and predictions reads them as `(rows, 1)`.
///
/// With a ``Bootstrapped`` base, each slice gets its interval: the rows'
/// global indices are passed on, so a row has the same replicate weights in
/// its slice as overall.
///
/// - Complexity: one state per slice. An unweighted update of a metric that
///   counts cells (binary accuracy, the confusion-matrix family on one score
///   per row) is one pass over the rows for all slices, whose counts are
///   held back by slice and added to the states once, when read, merged or
///   saved (``settle()``); any other update gathers each slice's rows and
///   updates its state. ``sliceSummaries()`` reads the slices' values
///   without keeping their states, and ``overall`` adds the held-back
///   counts to the overall state alone.
public struct Sliced<Base: PredictionMetric>: Metric {
  /// The base metric's name.
  public var name: String {
    get { overallBase.name }
    set { overallBase.name = newValue }
  }
  /// Slices whose weight is below this are reported without a value.
  public let minimumWeight: Double
  /// The most distinct slice keys the metric accepts (an update or merge
  /// that would exceed it throws); not part of the configuration.
  public var maximumSlices: Int
  /// The base metric on all rows (held-back counts added to it alone: the
  /// slices' states are not made for it).
  public var overall: Base {
    guard let p = pending else { return overallBase }
    do {
      return try overallAdding(p)
    } catch {
      assertionFailure("adding pending slice totals to the overall state failed: \(error)")
      return overallBase
    }
  }
  /// The overall metric and slices without ``pending``.
  var overallBase: Base
  var overallTally = SliceTally()
  /// Every slice key seen, with its metric, or `nil` for one whose state
  /// is empty (the template's: a key that ``pending`` brought, made
  /// without copying the template a thousand times).
  var slices: [SliceKey: (metric: Base?, tally: SliceTally)] = [:]
  /// Cell totals by slice counted since the states last took them (the
  /// unweighted fast path); every reader sees the states with them added.
  var pending: PendingSliceCells?
  /// One past the largest global row index seen.
  public private(set) var nextRow: Int64 = 0
  let template: Base

  /// The default limit on distinct slice keys.
  public static var defaultMaximumSlices: Int { 10_000 }

  /// `"Sliced"`.
  public static var className: String { "Sliced" }

  /// Slices of `base` (which starts empty: its accumulated state is not
  /// kept).
  ///
  /// - Parameters:
  ///   - base: The metric evaluated on each slice and overall.
  ///   - minimumWeight: Slices of less weight are reported without a value.
  ///   - maximumSlices: The most distinct keys accepted.
  public init(_ base: Base, minimumWeight: Double = 0, maximumSlices: Int = Sliced.defaultMaximumSlices) {
    var b = base
    b.reset()
    (template, overallBase) = (b, b)
    self.minimumWeight = minimumWeight
    self.maximumSlices = maximumSlices
  }

  /// `{"name", "metric": <the base's config>, "minimum_weight"}`.
  public var config: KerasConfig {
    KerasConfig(
      className: Self.className,
      config: ["name": .string(name), "metric": template.config.jsonValue, "minimum_weight": .double(minimumWeight)],
      module: nil)
  }

  /// The overall entry, the slices sorted by key, and the next row.
  public var state: SlicedState<Base.State> {
    let s = settled()
    return s.settledState
  }

  private var settledState: SlicedState<Base.State> {
    SlicedState(
      overall: SliceEntry(
        key: nil, samples: overallTally.samples, weight: overallTally.weight, state: overallBase.state),
      slices: SliceKey.sorted(slices.keys).map { k in
        let s = slices[k]!
        return SliceEntry(
          key: k, samples: s.tally.samples, weight: s.tally.weight, state: (s.metric ?? template).state)
      },
      nextRow: nextRow)
  }

  /// No rows, no slices.
  public var emptyState: SlicedState<Base.State> {
    var s = SlicedState<Base.State>()
    s.overall.state = template.emptyState
    return s
  }

  /// Restores every entry, each checked by the base metric.
  ///
  /// - Throws: ``MetricError/invalidState(_:)`` for a slice without a key,
  ///   a key twice, keys of different lengths, more keys than
  ///   ``maximumSlices``, negative rows, or a state the base rejects.
  public mutating func restore(_ s: SlicedState<Base.State>) throws(MetricError) {
    guard s.slices.count <= maximumSlices else {
      throw .invalidState("\(name): \(s.slices.count) slices exceed the limit of \(maximumSlices)")
    }
    guard s.nextRow >= 0, s.overall.samples >= 0 else {
      throw .invalidState("\(name): row counts must be ≥ 0")
    }
    var next = self
    next.pending = nil
    try next.overallBase.restore(s.overall.state)
    next.overallTally = SliceTally(samples: s.overall.samples, weight: s.overall.weight)
    next.slices = [:]
    let width = s.slices.first?.key?.values.count
    for e in s.slices {
      guard let key = e.key, !key.values.isEmpty, key.values.count == width else {
        throw .invalidState(
          "\(name): every slice needs a key of \(width ?? 1) values; received \(e.key?.description ?? "none")")
      }
      guard next.slices[key] == nil else { throw .invalidState("\(name): slice \(key) appears twice") }
      guard e.samples >= 0 else { throw .invalidState("\(name): slice \(key) has \(e.samples) rows") }
      var m = template
      try m.restore(e.state)
      next.slices[key] = (m, SliceTally(samples: e.samples, weight: e.weight))
    }
    next.nextRow = s.nextRow
    self = next
  }

  /// Merges slice by slice (the configurations must match).
  ///
  /// - Throws: ``MetricError/incompatibleMerge(_:)`` for other
  ///   configurations, or when the union of keys exceeds
  ///   ``maximumSlices``; the state is then unchanged.
  public mutating func merge(_ other: Sliced<Base>) throws(MetricError) {
    try Self.checkMergeable(config, other.config)
    // Nothing to add (such as a worker that saw no rows): the counts held
    // back here stay as they are.
    if other.pending == nil, other.slices.isEmpty, other.overallTally.samples == 0,
      other.overallBase.state == template.state
    {
      nextRow = max(nextRow, other.nextRow)
      return
    }
    var next = self
    var other = other
    // Counts held back on both sides add up as they are, and the states
    // take them once.
    if let p = next.pending, let q = other.pending, p.cells == q.cells, p.rows + q.rows <= Self.pendingRowLimit {
      next.pending = nil
      var both = p
      both.add(q)
      for key in q.keys where next.slices[key] == nil { next.slices[key] = (nil, SliceTally()) }
      next.pending = both
      other.pending = nil
    }
    try next.settle()
    try other.settle()
    // (Empty states, such as those of keys whose counts moved above, are
    // the identity of merging.)
    let empty = template.state
    if other.overallTally.samples != 0 || other.overallBase.state != empty {
      try next.overallBase.merge(other.overallBase)
      next.overallTally = try next.overallTally.adding(other.overallTally)
    }
    for (k, s) in other.slices {
      if let mine = next.slices[k] {
        let theirs = s.metric ?? template
        if s.tally.samples == 0 && theirs.state == empty { continue }
        var m = mine.metric ?? template
        try m.merge(theirs)
        next.slices[k] = (m, try mine.tally.adding(s.tally))
      } else {
        next.slices[k] = s
      }
    }
    guard next.slices.count <= maximumSlices else {
      throw .incompatibleMerge(
        "\(name): the merged states hold \(next.slices.count) distinct slice keys, more than the limit of \(maximumSlices)"
      )
    }
    next.nextRow = max(nextRow, other.nextRow)
    self = next
  }

  /// The overall result.
  public func result() -> MetricValue { overall.result() }

  /// The overall result and its rows.
  public var overallResult: SliceResult<Base> {
    let s = settled()
    return SliceResult(
      key: nil, samples: s.overallTally.samples, weight: s.overallTally.weight.value,
      belowMinimumWeight: false, metric: s.overallBase)
  }

  /// Each slice's result, sorted by key.
  public func sliceResults() -> [SliceResult<Base>] {
    let settled = settled()
    return SliceKey.sorted(settled.slices.keys).map { k in
      let s = settled.slices[k]!
      return SliceResult(
        key: k, samples: s.tally.samples, weight: s.tally.weight.value,
        belowMinimumWeight: s.tally.weight.value < minimumWeight, metric: s.metric ?? template)
    }
  }

  /// Each slice's rows, weight and value, sorted by key: the values of
  /// ``sliceResults()``, without keeping a metric per slice (counts held
  /// back are added to each slice's state in turn, its value read, and the
  /// state dropped), computed across cores.
  public func sliceSummaries() -> [SliceSummary] {
    let keys = SliceKey.sorted(slices.keys)
    let empty = template.state
    let summaries = parallelMap(ranges: Self.sliceRanges(keys.count)) { range -> [SliceSummary]? in
      var out: [SliceSummary] = []
      out.reserveCapacity(range.count)
      func summarize(_ key: SliceKey, _ t: SliceTally, _ value: () -> MetricValue?) {
        let below = t.weight.value < minimumWeight
        out.append(
          SliceSummary(
            key: key, samples: t.samples, weight: t.weight.value, belowMinimumWeight: below,
            value: below ? nil : value()))
      }
      guard let p = pending else {
        for key in keys[range] {
          let (m, t) = slices[key]!
          summarize(key, t) { (m ?? template).result() }
        }
        return out
      }
      let valueOfCells = cellValues(template)
      // (One buffer of cells for the range's slices; the template copied
      // only for a slice that needs a metric.)
      var cells: [Int] = []
      let made: Void? = try? withSlotAdding { (add) throws(MetricError) in
        for key in keys[range] {
          let (metric, tally) = slices[key]!
          guard let slot = p.slot[key] else {
            summarize(key, tally) { (metric ?? template).result() }
            continue
          }
          // A slice of held-back counts only: its value from them, where
          // the base reads it so (the same bits as from its state).
          if tally.samples == 0, let valueOfCells, metric.map({ $0.state == empty }) ?? true {
            let rows = p.counts(of: slot, into: &cells)
            if let v = valueOfCells(cells[...]) {
              summarize(key, try tally.adding(rows: rows, weights: nil, positions: nil)) { v }
              continue
            }
          }
          let (m, t) = try add(metric ?? template, tally, p, slot)
          summarize(key, t) { m.result() }
        }
      }
      return made == nil ? nil : out
    }
    if !summaries.contains(where: { $0 == nil }) { return summaries.flatMap { $0 ?? [] } }
    // (Adding the counts cannot fail; see ``settled()``.)
    assertionFailure("adding pending slice totals failed")
    return sliceResults().map {
      SliceSummary(
        key: $0.key!, samples: $0.samples, weight: $0.weight, belowMinimumWeight: $0.belowMinimumWeight,
        value: $0.value)
    }
  }

  /// Accumulates a batch whose rows follow the last row seen, with a slice
  /// key per row.
  public mutating func update(yTrue: Tensor, yPred: Tensor, sampleWeight: Tensor? = nil, slices: SliceBatch)
    throws(MetricError)
  {
    try update(
      yTrue: yTrue, yPred: yPred, sampleWeight: sampleWeight, slices: slices,
      rows: .contiguous(first: nextRow, count: batchRows(yPred)))
  }

  /// Accumulates a batch given as nested arrays, with a slice key per row.
  public mutating func update<T: TensorConvertible, P: TensorConvertible>(
    yTrue: T, yPred: P, slices: SliceBatch
  ) throws(MetricError) {
    try update(yTrue: try Tensor(yTrue), yPred: try Tensor(yPred), sampleWeight: nil, slices: slices)
  }

  /// Accumulates a batch with a slice key per row, whose rows have the
  /// given global indices.
  ///
  /// - Throws: the base metric's errors; ``MetricError/shapeMismatch(_:)``
  ///   when the keys or indices are not one per row;
  ///   ``MetricError/invalidValue(_:)`` when the batch would bring the
  ///   distinct keys above ``maximumSlices``. The state is then unchanged.
  public mutating func update(
    yTrue: Tensor, yPred: Tensor, sampleWeight: Tensor?, slices batch: SliceBatch, rows: RowIndices
  ) throws(MetricError) {
    if let cells = try talliedCells(yTrue: yTrue, yPred: yPred, sampleWeight: sampleWeight, slices: batch, rows: rows) {
      try absorb(cells.totals ?? [], of: cells, yTrue: yTrue, yPred: yPred, slices: batch, rows: rows)
      return
    }
    let (yTrue, yPred) = rowsAsSamples(yTrue, yPred, of: template)
    let rows = try checked(batch, rows: rows, batchRows: batchRows(yPred))
    let n = rows.count
    var next = self
    try next.settle()
    try next.overallBase.update(yTrue: yTrue, yPred: yPred, sampleWeight: sampleWeight, rows: rows)
    let rowWeights = try Self.rowWeights(sampleWeight, rows: n, metric: name)
    next.overallTally = try next.overallTally.adding(rows: n, weights: rowWeights, positions: nil)
    // Each slice's rows gathered, and its metric updated with them.
    let (order, offsets) = batch.grouping()
    for (g, key) in batch.keys.enumerated() {
      let positions = order[offsets[g]..<offsets[g + 1]]
      var m = next.slices[key]?.metric ?? template
      try m.update(
        yTrue: yTrue.gatheringRows(positions), yPred: yPred.gatheringRows(positions),
        sampleWeight: sampleWeight.map { $0.rank == 0 ? $0 : $0.gatheringRows(positions) },
        rows: rows.picking(positions))
      let tally = try (next.slices[key]?.tally ?? SliceTally()).adding(
        rows: positions.count, weights: rowWeights, positions: positions)
      next.slices[key] = (m, tally)
    }
    next.nextRow = max(nextRow, rows.end)
    self = next
  }

  /// `rows`, checked against the batch and its keys: one key and one index
  /// per row, keys as wide as before, and no more distinct keys than
  /// ``maximumSlices``.
  func checked(_ batch: SliceBatch, rows: RowIndices, batchRows n: Int) throws(MetricError) -> RowIndices {
    let rows = try checkedRows(rows, keyRows: batch.rows, batchRows: n)
    try checkKeys(batch.keys, width: batch.keys.first?.values.count)
    return rows
  }

  /// `rows`, checked against a batch of `n` rows with `keyRows` slice keys:
  /// one key and one index per row.
  func checkedRows(_ rows: RowIndices, keyRows: Int, batchRows n: Int) throws(MetricError) -> RowIndices {
    guard keyRows == n else {
      throw .shapeMismatch("\(name): the batch has \(n) rows; received slice keys for \(keyRows)")
    }
    return try rows.validated(batchRows: n, metric: name)
  }

  /// Checks keys of `width` columns that a batch brings: as wide as
  /// before, and no more distinct keys than ``maximumSlices`` (nor than
  /// the state memory allows).
  func checkKeys(_ keys: some Collection<SliceKey>, width keyWidth: Int?) throws(MetricError) {
    if let width = slices.keys.first?.values.count, let k = keyWidth, k != width {
      throw .shapeMismatch(
        "\(name): slice keys of \(k) columns; earlier batches had \(width)")
    }
    var fresh = 0
    for k in keys where slices.index(forKey: k) == nil { fresh += 1 }
    try checkSliceCount(fresh: fresh)
  }

  /// Checks that `fresh` slices more stay within the memory and the
  /// ``maximumSlices`` limits.
  func checkSliceCount(fresh: Int) throws(MetricError) {
    // The overall state and one per slice.
    try StateMemory.check(
      [slices.count + fresh + 1], bytesPerItem: Tally.estimatedStateBytes(template),
      "\(name) with \(slices.count + fresh) slices")
    guard slices.count + fresh <= maximumSlices else {
      throw .invalidValue(
        "\(name): \(slices.count + fresh) distinct slice keys exceed the limit of \(maximumSlices) (raise maximumSlices, or `tally evaluate --max-slices`, if so many slices are meant)"
      )
    }
  }

  /// Each row's weight (the sum of its sample weights), or `nil` when
  /// unweighted.
  static func rowWeights(_ w: Tensor?, rows n: Int, metric: String) throws(MetricError) -> [Double]? {
    try RowWeights(w, rows: n, metric: metric, use: "slicing")?.sums
  }

}

/// A slice's rows and weight.
struct SliceTally: Sendable {
  var samples: Int64 = 0
  var weight = CompensatedSum()

  func adding(_ other: SliceTally) throws(MetricError) -> SliceTally {
    var w = weight
    w.merge(other.weight)
    return SliceTally(samples: try Counting.add(samples, other.samples), weight: w)
  }

  func adding(rows: Int, weights: [Double]?, positions: ArraySlice<Int32>?) throws(MetricError) -> SliceTally {
    var w = weight
    if let weights {
      if let positions {
        for p in positions { w.add(weights[Int(p)]) }
      } else {
        for x in weights { w.add(x) }
      }
    } else {
      w.add(Double(rows))
    }
    return SliceTally(samples: try Counting.add(samples, Int64(rows)), weight: w)
  }
}

extension Sliced: CellTallied {
  /// The cells of an unweighted batch of a metric that counts cells.
  func talliedCells(yTrue: Tensor, yPred: Tensor, sampleWeight: Tensor?, slices: SliceBatch?, rows: RowIndices)
    throws(MetricError) -> TalliedCells?
  {
    guard let slices,
      try takesHeldBack(yTrue: yTrue, yPred: yPred, sampleWeight: sampleWeight, slices: slices, rows: rows)
    else { return nil }
    let groups = slices.keys.count
    // Counted as the cells are made; a batch with an invalid row (or of
    // other types) through the validating cells, which throw.
    if let (count, counted) = withHeldBackSource(
      yTrue: yTrue, yPred: yPred, { ($0.count, groupedCounts([$0], groups: slices.group, groupCount: groups)) }),
      let counted
    {
      return TalliedCells(count: count, batch: nil, totals: nil, counts: counted.totals, bootstrap: nil, grouped: true)
    }
    let (yTrue, yPred) = rowsAsSamples(yTrue, yPred, of: template)
    let validated = try withCellCounting(template) { (cells, _, _) throws(MetricError) in try cells(yTrue, yPred) }
    guard let batch = validated ?? nil else { return nil }
    let totals = cellTotals([batch], groups: slices.group, groupCount: groups, bootstrap: nil, rows: rows)
    return TalliedCells(count: batch.count, batch: nil, totals: totals[0], bootstrap: nil, grouped: true)
  }

  /// Adds the batch's totals to ``pending`` (its new keys join the slices
  /// with empty states); the states take them when they are read, merged,
  /// saved or updated otherwise, so the per-slice work is once per run
  /// instead of once per batch. Past the bounds below, the batch goes into
  /// the states at once, as an update would.
  mutating func absorb(
    _ totals: [Int], of cells: TalliedCells, yTrue: Tensor, yPred: Tensor, slices batch: SliceBatch?,
    rows: RowIndices
  ) throws(MetricError) {
    guard let batch else { return }
    let offset = cells.countsOffset
    if let counts = cells.counts {
      try absorbCounts(keys: batch.keys, cells: cells.count, rows: batch.rows, end: rows.end) { g, out in
        counts.withUnsafeBufferPointer { b in
          for j in out.indices { out[j] &+= b[offset &+ g &* out.count &+ j] }
        }
      }
    } else {
      // (32-bit: the pending rows are fewer than 2³².)
      try absorbCounts(keys: batch.keys, cells: cells.count, rows: batch.rows, end: rows.end) { g, out in
        totals.withUnsafeBufferPointer { b in
          for j in out.indices { out[j] &+= UInt32(truncatingIfNeeded: b[g &* out.count &+ j]) }
        }
      }
    }
  }

  /// Adds counts of `rows` rows (fewer than 2³²) by key to ``pending``:
  /// `add(g, out)` adds key `g`'s `cells` counts to `out`. Keys new to the
  /// metric join it with empty states; `end` is one past the last row.
  mutating func absorbCounts(
    keys: [SliceKey], cells c: Int, rows: Int, end: Int64,
    _ add: (_ g: Int, _ out: UnsafeMutableBufferPointer<UInt32>) -> Void
  ) throws(MetricError) {
    var next = self
    if let p = next.pending, p.cells != c || p.rows + rows > Self.pendingRowLimit {
      try next.settle()
    }
    var p: PendingSliceCells
    if let pending = next.pending {
      p = pending
    } else {
      // (Room for the keys at once: a run's counts handed over at its end
      // bring all of its keys, often a thousand. Only then: reserving
      // exactly, batch after batch, would copy the arrays each time.)
      p = PendingSliceCells(cells: c)
      p.reserve(keys.count)
      if next.slices.isEmpty { next.slices.reserveCapacity(keys.count) }
    }
    next.pending = nil
    for (g, key) in keys.enumerated() {
      let known = p.keys.count
      let slot = p.slot(for: key)
      if slot == known && next.slices.index(forKey: key) == nil { next.slices[key] = (nil, SliceTally()) }
      p.totals.withUnsafeMutableBufferPointer { t in
        add(g, UnsafeMutableBufferPointer(rebasing: t[(slot &* c)..<(slot &* c &+ c)]))
      }
    }
    p.rows += rows
    next.pending = p
    // Counts this large could overflow: added at once, checked.
    if next.overallTally.samples > Self.settledRowLimit { try next.settle() }
    next.nextRow = max(nextRow, end)
    self = next
  }

  /// Takes counts given key by key (`keys.count × cells`, keys distinct):
  /// kept as they are when nothing is held back yet (a run's counts handed
  /// over at its end: no copy of them), else added as ``absorbCounts``
  /// adds them.
  mutating func absorbTotals(keys: [SliceKey], totals: [UInt32], cells c: Int, rows: Int, end: Int64)
    throws(MetricError)
  {
    let slot = Dictionary(zip(keys, keys.indices), uniquingKeysWith: { a, _ in a })
    guard pending == nil, rows <= Self.pendingRowLimit, totals.count == keys.count &* c, slot.count == keys.count
    else {
      try absorbCounts(keys: keys, cells: c, rows: rows, end: end) { g, out in
        totals.withUnsafeBufferPointer { t in for j in out.indices { out[j] &+= t[g &* c &+ j] } }
      }
      return
    }
    var next = self
    var p = PendingSliceCells(cells: c)
    (p.keys, p.slot, p.totals, p.rows) = (keys, slot, totals, rows)
    if next.slices.isEmpty { next.slices.reserveCapacity(keys.count) }
    for key in keys where next.slices.index(forKey: key) == nil { next.slices[key] = (nil, SliceTally()) }
    next.pending = p
    // (As absorbCounts: counts this large are added at once, checked.)
    if next.overallTally.samples > Self.settledRowLimit { try next.settle() }
    next.nextRow = max(nextRow, end)
    self = next
  }

  /// Rows ``pending`` holds at most before the states take them; with
  /// ``settledRowLimit``, the settled counts cannot overflow.
  static var pendingRowLimit: Int { Int(UInt32.max) }
  /// Beyond this many settled rows, each batch's counts go into the states
  /// at once (the addition checks for overflow; the update then throws).
  static var settledRowLimit: Int64 { 1 << 60 }

  /// Adds the counts that fast updates hold back to the slices' states
  /// (each slice's to its state, their sum to the overall one: the same
  /// counts as updates with all its rows).
  ///
  /// An unweighted update of a metric that counts cells keeps its counts
  /// by slice aside, so the per-slice work is once per run instead of once
  /// per batch; every read (results, state, merge) sees them added. Call
  /// this to pay that once before many reads.
  ///
  /// - Throws: ``MetricError/invalidValue(_:)`` should a count overflow
  ///   (it cannot: beyond 2⁶⁰ rows, updates add their counts at once).
  public mutating func settle() throws(MetricError) {
    guard let p = pending else { return }
    // (absorb gave every pending key an entry.)
    let entries = p.keys.map { slices.index(forKey: $0) }
    guard let settled = try settledSlots(p, entries: entries, of: slices) else { return }
    let overall = try overallAdding(p)
    let overallTally = try overallTally.adding(rows: p.rows, weights: nil, positions: nil)
    // Nothing throws from here (and nothing else holds the slices: the
    // entries are replaced in place).
    pending = nil
    for (entry, slice) in zip(entries, settled) {
      guard let entry, let slice else { continue }
      slices.values[entry] = (slice.metric, slice.tally)
    }
    (overallBase, self.overallTally) = (overall, overallTally)
  }

  /// Each pending slot's metric and tally with its totals added, slot by
  /// slot across cores (`nil` for a slot without an entry), or `nil` when
  /// the base does not count cells.
  private func settledSlots(
    _ p: PendingSliceCells, entries: [Dictionary<SliceKey, (metric: Base?, tally: SliceTally)>.Index?],
    of slices: [SliceKey: (metric: Base?, tally: SliceTally)]
  ) throws(MetricError) -> [(metric: Base, tally: SliceTally)?]? {
    let n = entries.count
    let made = parallelMap(ranges: Self.sliceRanges(n)) {
      range -> Result<[(metric: Base, tally: SliceTally)?]?, MetricError> in
      var out: [(metric: Base, tally: SliceTally)?] = []
      out.reserveCapacity(range.count)
      do throws(MetricError) {
        let counted: Void? = try withSlotAdding { (add) throws(MetricError) in
          for slot in range {
            guard let entry = entries[slot] else {
              out.append(nil)
              continue
            }
            let (m, t) = slices.values[entry]
            out.append(try add(m ?? template, t, p, slot))
          }
        }
        return .success(counted == nil ? nil : out)
      } catch {
        return .failure(error)
      }
    }
    var all: [(metric: Base, tally: SliceTally)?] = []
    all.reserveCapacity(n)
    for part in made {
      guard let slots = try part.get() else { return nil }
      all += slots
    }
    return all
  }

  /// `0..<n` in parts for work slice by slice across cores (a slice's is
  /// thousands of operations: split even for few, 64 at least a part), four
  /// per core, which take them as they come: a core busy with something
  /// else (such as unmapping the input files) takes fewer.
  static func sliceRanges(_ n: Int) -> [Range<Int>] {
    let parts = max(1, min(4 * activeCores, n / 64))
    return (0..<parts).map { k in (n * k / parts)..<(n * (k + 1) / parts) }
  }

  /// Calls `body` with a function that gives a slice's metric and tally
  /// with slot `slot` of `p`'s totals added (as an unweighted update of
  /// that many rows per cell: a slice's rows are its cells' total), or
  /// returns `nil` when the base does not count cells.
  func withSlotAdding<R>(
    _ body: (
      _ add: (Base, SliceTally, _ p: PendingSliceCells, _ slot: Int) throws(MetricError) -> (Base, SliceTally)
    ) throws(MetricError) -> R
  ) throws(MetricError) -> R? {
    try withCellCounting(template) { (_, add, restoreAdded) throws(MetricError) -> R in
      try withoutActuallyEscaping(add) { (add) throws(MetricError) -> R in
        try withoutActuallyEscaping(restoreAdded) { (restoreAdded) throws(MetricError) -> R in
          var mine: [Int] = []
          return try body { (m, t, p, slot) throws(MetricError) in
            let rows = p.counts(of: slot, into: &mine)
            var m = m
            restoreAdded(&m, try add(mine[...], m.state, false))
            return (m, try t.adding(rows: rows, weights: nil, positions: nil))
          }
        }
      }
    }
  }

  /// The overall metric with the sum of `p`'s totals added.
  func overallAdding(_ p: PendingSliceCells) throws(MetricError) -> Base {
    let c = p.cells
    var all = [Int](repeating: 0, count: c)
    all.withUnsafeMutableBufferPointer { a in
      p.totals.withUnsafeBufferPointer { t in
        for slot in 0..<p.keys.count { for j in 0..<c { a[j] &+= Int(t[slot &* c &+ j]) } }
      }
    }
    var overall = overallBase
    _ = try withCellCounting(template) { (_, add, _) throws(MetricError) in
      try overall.restore(try add(all[...], overall.state, false))
    }
    return overall
  }

  /// This metric with ``pending`` added to the states. That cannot fail:
  /// the totals are counts of fewer than ``pendingRowLimit`` rows on states
  /// of at most ``settledRowLimit``, made by the template's own cells (the
  /// failures `settle()` guards against are overflow and a mismatch of
  /// shapes); were it to, the metric is returned as it is.
  func settled() -> Self {
    guard pending != nil else { return self }
    var s = self
    do {
      try s.settle()
      return s
    } catch {
      assertionFailure("settling pending slice totals failed: \(error)")
      return self
    }
  }
}

extension Sliced: HeldBackCounting {
  func takesHeldBack(yTrue: Tensor, yPred: Tensor, sampleWeight: Tensor?, slices: SliceBatch?, rows: RowIndices)
    throws(MetricError) -> Bool
  {
    guard sampleWeight == nil, let slices, template is any CellCounting else { return false }
    let samples = rowsAsSamples(yTrue, yPred, of: template).1
    _ = try checked(slices, rows: rows, batchRows: batchRows(samples))
    return true
  }

  func takesCounted(yTrue: Tensor, yPred: Tensor, sampleWeight: Tensor?, keyRows: Int, rows: RowIndices)
    throws(MetricError) -> Bool
  {
    guard sampleWeight == nil, template is any CellCounting else { return false }
    _ = try checkedRows(rows, keyRows: keyRows, batchRows: batchRows(rowsAsSamples(yTrue, yPred, of: template).1))
    return true
  }

  func checkCountedKeys(count: Int, _ keys: () -> [SliceKey]) throws(MetricError) {
    // (No slices yet: every key is new, and no key need be made.)
    if slices.isEmpty { try checkSliceCount(fresh: count) } else { try checkKeys(keys(), width: 1) }
  }

  func withHeldBackSource<R>(yTrue: Tensor, yPred: Tensor, _ body: (CellSource) -> R) -> R? {
    guard let counting = template as? any CellCounting else { return nil }
    let (yTrue, yPred) = rowsAsSamples(yTrue, yPred, of: template)
    func open<C: CellCounting>(_ c: C) -> R? { c.withCellSource(yTrue: yTrue, yPred: yPred, body) }
    return open(counting)
  }
}

/// Cell totals by slice, not yet in the slices' states.
struct PendingSliceCells: Sendable {
  /// Cells per slice.
  var cells: Int
  /// Each slot's key, and each key's slot.
  var keys: [SliceKey] = []
  var slot: [SliceKey: Int] = [:]
  /// `keys.count × cells` totals, slot by slot (of fewer than 2³² rows).
  var totals: [UInt32] = []
  /// The rows counted.
  var rows = 0

  init(cells: Int) { self.cells = cells }

  /// Room for `count` keys.
  mutating func reserve(_ count: Int) {
    keys.reserveCapacity(count)
    slot.reserveCapacity(count)
    totals.reserveCapacity(count * cells)
  }

  /// Slot `slot`'s totals into `out` (made `cells` long), and their sum
  /// (the slot's rows).
  func counts(of slot: Int, into out: inout [Int]) -> Int {
    let c = cells
    if out.count != c { out = [Int](repeating: 0, count: c) }
    var rows = 0
    totals.withUnsafeBufferPointer { t in
      out.withUnsafeMutableBufferPointer { o in
        for j in 0..<c {
          let x = Int(t[slot &* c &+ j])
          o[j] = x
          rows &+= x
        }
      }
    }
    return rows
  }

  /// The slot of `key`, made (with zero totals) if new.
  mutating func slot(for key: SliceKey) -> Int {
    if let s = slot[key] { return s }
    let s = keys.count
    slot[key] = s
    keys.append(key)
    totals.append(contentsOf: repeatElement(0, count: cells))
    return s
  }

  /// Adds `other`'s totals, key by key (the same cells; fewer than 2³²
  /// rows together).
  mutating func add(_ other: PendingSliceCells) {
    let c = cells
    for (q, key) in other.keys.enumerated() {
      let s = slot(for: key)
      totals.withUnsafeMutableBufferPointer { t in
        other.totals.withUnsafeBufferPointer { o in
          for j in 0..<c { t[s &* c &+ j] &+= o[q &* c &+ j] }
        }
      }
    }
    rows += other.rows
  }
}

extension Sliced: KerasSerializable where Base: KerasSerializable {
  /// Rebuilds slices from `{"class_name": "Sliced", "config": {"metric":
  /// ..., "minimum_weight": w}}` (with the default limit on slices).
  public init(config: KerasConfig) throws(MetricError) {
    var minimum = 0.0
    let base: Base = try wrappedBase(config, Self.className) { (r: inout ConfigReader) throws(MetricError) in
      minimum = try r.double("minimum_weight", default: 0)
    }
    self.init(base, minimumWeight: minimum)
  }

}

/// A metric with a bootstrap interval, whatever its base (for code that
/// holds metrics as existentials, such as `tally evaluate`).
public protocol IntervalEstimating: Metric {
  /// The percentile interval at `confidence` and the standard error.
  func interval(confidence: Double) throws(MetricError) -> BootstrapInterval
}

extension Bootstrapped: IntervalEstimating {}

/// Slices of a metric, whatever its base (for code that holds metrics as
/// existentials, such as `tally evaluate`).
public protocol SlicedMetric: Metric {
  /// Accumulates a batch with a slice key per row, whose rows have the
  /// given global indices.
  mutating func update(
    yTrue: Tensor, yPred: Tensor, sampleWeight: Tensor?, slices: SliceBatch, rows: RowIndices
  ) throws(MetricError)
  /// The base metric on all rows.
  var overallMetric: any Metric { get }
  /// Adds the counts that fast updates hold back to the states (see
  /// ``Sliced/settle()``).
  mutating func settle() throws(MetricError)
  /// Each slice, sorted by key, with its base metric.
  var erasedSliceResults: [SliceResult<any Metric>] { get }
  /// Each slice's rows, weight and value, sorted by key (see
  /// ``Sliced/sliceSummaries()``).
  func sliceSummaries() -> [SliceSummary]
}

extension Sliced: SlicedMetric {
  /// ``overall``.
  public var overallMetric: any Metric { overall }

  /// ``sliceResults()`` with the base metric as an existential.
  public var erasedSliceResults: [SliceResult<any Metric>] {
    sliceResults().map {
      SliceResult<any Metric>(
        key: $0.key, samples: $0.samples, weight: $0.weight, belowMinimumWeight: $0.belowMinimumWeight,
        metric: $0.metric)
    }
  }
}
