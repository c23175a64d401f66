//===--- CellCounting.swift -----------------------------------------------===//
//
// Metrics whose unweighted update puts each row into one of a few cells
// (binary accuracy: a miss or a hit; the confusion-matrix family: a label
// and a threshold bucket) and whose state is a function of the cells'
// totals. For them, slices and bootstrap replicates are histograms of cells
// by slice and replicate, counted in one pass (`cellTotals`), instead of one
// update per slice or per replicate.
//
//===----------------------------------------------------------------------===//

import CTallyKernels

/// The cells of one batch: one per row, each in `0..<count`.
struct CellBatch: Sendable {
  var cells: [Int32]
  var count: Int
}

/// Writes the cells of the rows in `range` to `out[i - shift]`, and tells
/// whether one of them is invalid (its cell is then meaningless).
typealias CellFill = @Sendable (_ range: Range<Int>, _ out: UnsafeSendableBox<Int32>, _ shift: Int) -> Bool

/// A batch's cells, written on demand: `rows` rows, each in
/// `0..<count`, by `fill` (valid only inside the call that gave it).
struct CellSource {
  var count: Int
  var rows: Int
  var fill: CellFill
}

/// A metric whose unweighted update counts each row into a cell.
protocol CellCounting: PredictionMetric {
  /// Calls `body` with the batch's cells on demand, for the fast path's
  /// inputs (float32 labels and scores, one per row), or returns `nil`.
  func withCellSource<R>(yTrue: Tensor, yPred: Tensor, _ body: (CellSource) -> R) -> R?
  /// The cell of each row of an unweighted batch, validated as `update`
  /// validates it (same errors), or `nil` when the batch takes the general
  /// path (other shapes or types).
  func cells(yTrue: Tensor, yPred: Tensor) throws(MetricError) -> CellBatch?
  /// `state` with the cells' totals added: as an unweighted update of that
  /// many rows per cell, or with `weighted`, as an update whose weights sum
  /// to each total.
  func adding(_ totals: ArraySlice<Int>, to state: State, weighted: Bool) throws(MetricError) -> State
  /// Takes `state`, which ``adding(_:to:weighted:)`` made from this
  /// metric's own state: of this metric's shape by construction, so not
  /// checked again as ``Metric/restore(_:)`` checks a state from elsewhere
  /// (settling a thousand slices checked a thousand states).
  mutating func restoreAdded(_ state: State)
  /// The result of this metric with the state that ``adding(_:to:weighted:)``
  /// makes of `totals` on an empty state (unweighted), bit for bit,
  /// computed without making that state; `nil` where the metric has no
  /// such shortcut (a slice's value read a thousand times).
  func valueOfCells(_ totals: ArraySlice<Int>) -> MetricValue?
}

extension CellCounting {
  func valueOfCells(_ totals: ArraySlice<Int>) -> MetricValue? { nil }
}

/// ``CellCounting/valueOfCells(_:)`` of `metric`, or `nil` when it does not
/// count cells.
func cellValues<M: PredictionMetric>(_ metric: M) -> ((ArraySlice<Int>) -> MetricValue?)? {
  guard let counting = metric as? any CellCounting else { return nil }
  return { counting.valueOfCells($0) }
}

extension CellSource {
  /// Every row's cell, computed across cores, or `nil` when a row is
  /// invalid.
  func cells() -> CellBatch? {
    var out = [Int32](repeating: 0, count: rows)
    let bad = out.withUnsafeMutableBufferPointer { o in
      let box = UnsafeSendableBox(o)
      return parallelMap(rows) { r in fill(r, box, 0) }.contains(true)
    }
    return bad ? nil : CellBatch(cells: out, count: count)
  }
}

/// Float32 labels and scores, read in place, or `nil` for other types.
func withFloats<R>(_ yTrue: Tensor, _ yPred: Tensor, _ body: (SharedBuffer<Float>, SharedBuffer<Float>) -> R) -> R? {
  guard case .float32(let tb) = yTrue.storage, case .float32(let pb) = yPred.storage else { return nil }
  return tb.withUnsafeBufferPointer { t in
    pb.withUnsafeBufferPointer { p in body(SharedBuffer(base: t), SharedBuffer(base: p)) }
  }
}

extension BinaryAccuracy: CellCounting {
  /// Whether a batch has one score per row (and a float dtype).
  func takesCells(_ yTrue: Tensor, _ yPred: Tensor) -> Bool {
    isIntegerDType(dtype) == false && yPred.count > 0 && yTrue.count == yPred.count
      && yPred.count == batchRows(yPred) && yTrue.count == batchRows(yTrue)
  }

  func withCellSource<R>(yTrue: Tensor, yPred: Tensor, _ body: (CellSource) -> R) -> R? {
    guard takesCells(yTrue, yPred) else { return nil }
    let thr = Float(threshold)
    return withFloats(yTrue, yPred) { t, p in
      body(
        CellSource(count: 2, rows: p.count) { r, out, shift in
          var start = r.lowerBound
          let blocks = r.count / 8 * 8
          if blocks > 0, useWideKernels,
            tally_binary_hit_cells_avx2(p.address(start), t.address(start), blocks, thr, out.address(start &- shift))
              != 0
          {
            start &+= blocks
          }
          for i in start..<r.upperBound { out[i &- shift] = t[i] == (p[i] > thr ? 1 : 0) ? 1 : 0 }
          return false
        })
    }
  }

  /// A hit (1) or a miss (0) per row, for one score per row.
  func cells(yTrue: Tensor, yPred: Tensor) throws(MetricError) -> CellBatch? {
    guard takesCells(yTrue, yPred) else { return nil }
    if let batch = withCellSource(yTrue: yTrue, yPred: yPred, { $0.cells() }) ?? nil { return batch }
    func hits<P: BinaryFloatingPoint & TensorScalar>(_ pb: TensorBuffer<P>) -> [Int32] {
      let thr = P(Float(threshold))
      let labels = yTrue.doubles()
      return pb.withUnsafeBufferPointer { p in
        (0..<p.count).map { i in labels[i] == (p[i] > thr ? 1 : 0) ? 1 : 0 }
      }
    }
    switch yPred.storage {
    case .float32(let b): return CellBatch(cells: hits(b), count: 2)
    case .float64(let b): return CellBatch(cells: hits(b), count: 2)
    default: return nil
    }
  }

  func adding(_ totals: ArraySlice<Int>, to state: MeanState, weighted: Bool) throws(MetricError) -> MeanState {
    let misses = totals[totals.startIndex]
    let hits = totals[totals.startIndex + 1]
    var batch = MeanState()
    batch.total = CompensatedSum(Double(hits))
    if weighted {
      batch.weightTotal = CompensatedSum(Double(hits + misses))
    } else {
      batch.count = Int64(hits + misses)
    }
    var s = state
    try s.merge(batch)
    return s
  }

  mutating func restoreAdded(_ state: MeanState) { self.state = state }

  /// The hits over the rows, as ``result()`` reads the state that
  /// ``adding(_:to:weighted:)`` makes on an empty one: a total of `hits`
  /// and a count of `hits + misses`, each exact in a `Double`.
  func valueOfCells(_ totals: ArraySlice<Int>) -> MetricValue? {
    guard totals.count == 2 else { return nil }
    let (misses, hits) = (totals[totals.startIndex], totals[totals.startIndex + 1])
    let rows = hits &+ misses
    return .scalar(rows == 0 ? 0 : Double(hits) / Double(rows))
  }
}

extension ConfusionUpdate {
  /// Whether a batch has the fast path's form: a single score per row,
  /// without top-k, class id, label weights, logits or multiple labels.
  func takesCells(_ yTrue: Tensor, _ yPred: Tensor) -> Bool {
    guard topK == nil, classId == nil, labelWeights == nil, !fromLogits, !multiLabel,
      yTrue.count == yPred.count, yPred.count > 0, yPred.count == batchRows(yPred),
      yTrue.count == batchRows(yTrue), yPred.dtype.isFloatingPoint
    else { return false }
    let (p, t) = Tensor.squeezeOrExpandToSameRank(yPred, yTrue)
    return p.shape == t.shape
  }

  /// The cells of ``cells(yTrue:yPred:)`` on demand, for float32 labels and
  /// scores.
  func withCellSource<R>(yTrue: Tensor, yPred: Tensor, _ body: (CellSource) -> R) -> R? {
    guard takesCells(yTrue, yPred) else { return nil }
    let thresholds = self.thresholds
    return withFloats(yTrue, yPred) { t, p in
      body(
        CellSource(count: 2 * (thresholds.count + 1), rows: p.count) { r, out, shift in
          // The plain update's vector steps.
          if thresholds.evenlySpaced { return evenSlotsFloat(thresholds, p, t, r, into: out, shift: shift) }
          var bad = false
          for i in r {
            let f = p[i]
            let label = t[i]
            if f.isNaN || (label != 0 && label != 1) { bad = true }
            out[i &- shift] = Int32(2 &* (thresholds.bucket(f.isNaN ? 0 : f) &+ 1) &+ (label == 1 ? 1 : 0))
          }
          return bad
        })
    }
  }

  /// Cell `2·(b + 1) + label` per row, for bucket `b ∈ −1..<T` of a single
  /// score per row, under the fast path's conditions.
  func cells(yTrue: Tensor, yPred: Tensor) throws(MetricError) -> CellBatch? {
    guard takesCells(yTrue, yPred) else { return nil }
    let count = 2 * (thresholds.count + 1)
    // Float32 in place across cores; with a bad element, found again below
    // for the message.
    if let batch = withCellSource(yTrue: yTrue, yPred: yPred, { $0.cells() }) ?? nil { return batch }
    let scores = yPred.doubles()
    let labels = yTrue.doubles()
    var cells = [Int32](repeating: 0, count: scores.count)
    for i in scores.indices {
      let f = Float(scores[i])
      if f.isNaN { throw .invalidValue("\(metricName): y_pred holds NaN at flat index \(i)") }
      let label = labels[i]
      guard label == 0 || label == 1 else {
        throw .invalidValue(
          "\(metricName) needs binary labels in {0, 1}; received y_true value \(label) at flat index \(i)")
      }
      cells[i] = Int32(2 * (thresholds.bucket(f) + 1) + (label == 1 ? 1 : 0))
    }
    return CellBatch(cells: cells, count: count)
  }

  /// The positives and negatives per bucket of per-cell totals (cell
  /// `2·(b + 1) + label`).
  func bucketCounts(_ totals: ArraySlice<Int>) -> (pos: [Int], neg: [Int]) {
    let t = thresholds.count
    var pos = [Int](repeating: 0, count: t + 1)
    var neg = [Int](repeating: 0, count: t + 1)
    let base = totals.startIndex
    for k in 0...t {
      neg[k] = totals[base + 2 * k]
      pos[k] = totals[base + 2 * k + 1]
    }
    return (pos, neg)
  }

  /// `state` with per-cell totals added as bucket counts.
  func adding(_ totals: ArraySlice<Int>, to state: ConfusionCounts) throws(MetricError) -> ConfusionCounts {
    let (pos, neg) = bucketCounts(totals)
    // (Empty: written directly, the same counts as added to zeros.)
    if state.isEmpty { return ConfusionCounts(cumulativePos: pos, neg: neg, order: thresholds.order) }
    var s = state
    try s.addCumulative(pos: pos, neg: neg, order: thresholds.order)
    return s
  }
}

/// A metric of the confusion-matrix family: its update's cells are a label
/// and a threshold bucket.
protocol ConfusionFamily: CellCounting where State == ConfusionCounts {
  var update: ConfusionUpdate { get }
  var state: ConfusionCounts { get set }
}

extension ConfusionFamily {
  func withCellSource<R>(yTrue: Tensor, yPred: Tensor, _ body: (CellSource) -> R) -> R? {
    update.withCellSource(yTrue: yTrue, yPred: yPred, body)
  }
  func cells(yTrue: Tensor, yPred: Tensor) throws(MetricError) -> CellBatch? {
    try update.cells(yTrue: yTrue, yPred: yPred)
  }
  func adding(_ totals: ArraySlice<Int>, to state: ConfusionCounts, weighted: Bool) throws(MetricError)
    -> ConfusionCounts
  { try update.adding(totals, to: state) }
  mutating func restoreAdded(_ state: ConfusionCounts) { self.state = state }
}

extension AUC: ConfusionFamily {
  /// The area of the counts that ``ConfusionUpdate/adding(_:to:)`` writes
  /// on an empty state, read as ``result()`` reads them (each an integer,
  /// exact in a `Double`), without the four arrays of sums.
  func valueOfCells(_ totals: ArraySlice<Int>) -> MetricValue? {
    let order = update.thresholds.order
    let t = order.count
    guard !multiLabel, t == numThresholds, totals.count == 2 * (t + 1) else { return nil }
    guard update.thresholds.inOrder else {
      let (pos, neg) = update.bucketCounts(totals)
      var counts = [ConfusionCounts.Matrix](repeating: (0, 0, 0, 0), count: t)
      ConfusionCounts.cumulativeCounts(pos: pos, neg: neg, order: order) { i, tp, fp, tn, fn in
        counts[i] = (Double(tp), Double(fp), Double(tn), Double(fn))
      }
      return .scalar(Self.area(count: numThresholds, curve: curve, method: summationMethod) { counts[$0] })
    }
    // Thresholds in order (AUC's own): the counts at threshold i read
    // from the cells as the area asks for them, i = 0, 1, …: the positives
    // above it are all positives less those in buckets 0...i (the same
    // integers as cumulativeCounts' sums from the top), without arrays.
    // (A report of 1,000 slices read 1,000 of these.)
    let base = totals.startIndex
    var (positives, negatives) = (0, 0)
    for k in 0...t {
      negatives &+= totals[base &+ 2 &* k]
      positives &+= totals[base &+ 2 &* k &+ 1]
    }
    // Buckets 0..<next summed so far.
    var (next, posBelow, negBelow) = (0, 0, 0)
    return .scalar(
      Self.area(count: numThresholds, curve: curve, method: summationMethod) { i in
        if i < next &- 1 { (next, posBelow, negBelow) = (0, 0, 0) }
        while next <= i {
          negBelow &+= totals[base &+ 2 &* next]
          posBelow &+= totals[base &+ 2 &* next &+ 1]
          next &+= 1
        }
        let (tp, fp) = (positives &- posBelow, negatives &- negBelow)
        return (Double(tp), Double(fp), Double(negatives &- fp), Double(positives &- tp))
      })
  }
}
extension ConditionCount: ConfusionFamily {}
extension PrecisionRecall: ConfusionFamily {}
extension OperatingPoint: ConfusionFamily {}

/// Calls `body` with `metric` seen as a cell-counting metric of the same
/// state type, or returns `nil` when it does not count cells. `body` gets
/// the metric's validating cells, its state with totals added, and
/// ``CellCounting/restoreAdded(_:)`` for a metric of its type.
func withCellCounting<M: PredictionMetric, R>(
  _ metric: M,
  _ body: (
    _ cells: (Tensor, Tensor) throws(MetricError) -> CellBatch?,
    _ add: (ArraySlice<Int>, M.State, Bool) throws(MetricError) -> M.State,
    _ restoreAdded: (inout M, M.State) -> Void
  ) throws(MetricError) -> R
) throws(MetricError) -> R? {
  guard let counting = metric as? any CellCounting else { return nil }
  func open<C: CellCounting>(_ c: C) throws(MetricError) -> R {
    try body(
      { (t, p) throws(MetricError) in try c.cells(yTrue: t, yPred: p) },
      { (totals, state, weighted) throws(MetricError) in
        // `C` is `M` (the same value, seen through the protocol).
        try c.adding(totals, to: state as! C.State, weighted: weighted) as! M.State
      },
      { (m, state) in
        var counting = m as! C
        counting.restoreAdded(state as! C.State)
        m = counting as! M
      })
  }
  return try open(counting)
}
