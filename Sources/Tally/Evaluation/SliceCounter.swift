//===--- SliceCounter.swift -----------------------------------------------===//
//
// A run's slice counts of metrics that count cells, kept across batches:
// one table from integer key to slot and one set of counters by slot for the
// whole run, so a batch is one pass over its rows (the key mapped inside the
// counting block), without per-batch ordinals, histograms or held-back
// totals; the counts go to the metrics once, when the run hands them over.
//
//===----------------------------------------------------------------------===//

/// The slice counts of a run's unweighted batches, for the slicing metrics
/// that count cells (``Sliced`` of binary accuracy or the confusion-matrix
/// family, on one float32 score per row), keyed by one integer column.
///
/// `count` takes a batch for those metrics (the same checks and errors as
/// their updates); `flush(into:)` hands the counts to them, as
/// ``updateTogether(_:yTrue:yPred:sampleWeight:slices:rows:)`` would have
/// left them batch by batch (the same counts: integers). Until then the
/// metrics do not see the counted batches. One thread at a time; `tally
/// evaluate` keeps one per worker and adds them into the first
/// (``add(_:)``) before it hands the counts over, once.
@_spi(Internals) public final class SliceCounter: @unchecked Sendable {
  /// What ``count(_:yTrue:yPred:sampleWeight:keys:rows:)`` did with a batch.
  public enum Outcome: Equatable, Sendable {
    /// Counted for the metrics at these indices; the others still need
    /// the batch.
    case counted([Int])
    /// Not counted: the batch goes the usual way for every metric.
    case notTaken
    /// A row is invalid for a metric: the usual way throws its error (the
    /// counter is spent: part of the batch is in it).
    case invalidRows
  }

  /// The metrics counted (indices into the metrics given) and their cells.
  private var members: [Int] = []
  private var cells: [Int] = []
  /// Key → slot through a dense table over `lo ..< lo + table.count`, or,
  /// for keys too far apart, a dictionary.
  private var lo: Int64 = 0
  private var table: [Int32] = []
  private var far: [Int64: Int32] = [:]
  /// Each slot's key, in order of first appearance.
  private var keys: [Int64] = []
  /// Where each metric's cells start in a slot's row (`stride` cells in
  /// all), the 16-bit counters slot by slot, and the 32-bit totals they
  /// move into, metric by metric (slot by slot, as a metric takes them).
  private var offsets: [Int] = []
  private var stride = 0
  private var counters: [UInt16] = []
  private var totals: [[UInt32]] = []
  /// The slots the counters, `since` and (once made) the totals have room
  /// for (zeros beyond the slots made): made by ``makeRoom()`` after the
  /// keys that make slots are mapped, at least doubling, so that making a
  /// slot costs nothing; a counter's first batch maps all its keys first,
  /// so its counters are made once, at their size. The totals are made
  /// when counters first move, or by ``add(_:)`` (in most runs, when the
  /// counts are handed over). (With each new slot appending its cells and
  /// totals, a worker's first batch with 1,000 slices took 1.7–2.3 ms;
  /// doubling from 64 slots, 0.75–0.93 ms; made at their size, the first
  /// piece 0.9–1.0 ms against 1.3–1.4 with doubling, its read included.)
  private var capacity = 0
  /// How the 16-bit counters are kept from overflowing: with `checked`
  /// (the metric whose cells are fewest, when a slot's are few and the
  /// slots not too many), by summing each slot's cells of that metric (its
  /// rows since its counters moved) when `bound` rows could overflow one,
  /// and moving the slots past half; else by counting each slot's rows as
  /// they come (`since`).
  private var checked: Int?
  /// At least each slot's rows since its counters last moved (with
  /// `checked`).
  private var bound = 0
  /// Each slot's rows since its counters last moved (without `checked`).
  private var since: [UInt16] = []
  private var rows = 0
  private var end: Int64 = 0
  private var spent = false
  /// Whether every counter is in the totals (nothing counted since).
  private var gathered = false

  /// The widest dense table (slots).
  private static let tableLimit: Int64 = 1 << 20
  /// The most counters a check sums (with `checked`): two per row counted
  /// between checks at most (there are 32,768 at least).
  private static let checkLimit = 1 << 16
  /// Rows per block.
  private static let block = 1_024

  /// An empty counter.
  public init() {}

  /// Counts a batch with one integer slice key per row (`keys`) for those
  /// of `metrics` it can count; hands the counts over first (`flush`)
  /// should they come near 2³² rows.
  ///
  /// - Throws: what the metrics' updates throw for the batch's rows and
  ///   keys (rows and keys of different counts, more distinct keys than a
  ///   metric's limit); the metrics may then hold part of the run.
  public func count(
    _ metrics: inout [any Metric], yTrue: Tensor, yPred: Tensor, sampleWeight: Tensor?, keys column: SliceColumn,
    rows indices: RowIndices
  ) throws(MetricError) -> Outcome {
    guard !spent, sampleWeight == nil else { return .notTaken }
    var found: [Int] = []
    for (i, m) in metrics.enumerated() {
      if let h = m as? any HeldBackCounting,
        try h.takesCounted(yTrue: yTrue, yPred: yPred, sampleWeight: sampleWeight, keyRows: column.count, rows: indices)
      {
        found.append(i)
      }
    }
    guard !found.isEmpty, members.isEmpty || found == members else { return .notTaken }
    let n = column.count
    if rows + n > Int(UInt32.max) { try flush(into: &metrics) }
    let taking = found.map { metrics[$0] as! any HeldBackCounting }
    let known = keys.count
    // (Counting may touch the counters, even when a row is invalid.)
    gathered = false
    let outcome: Outcome? = withSources(taking[...], yTrue: yTrue, yPred: yPred, opened: []) { sources in
      let counted: Bool? =
        switch column.values {
        case .int64s(let b): b.withUnsafeBufferPointer { count(sources, keys: $0) }
        case .int32s(let b): b.withUnsafeBufferPointer { count(sources, keys: $0) }
        case .uint8s(let b): b.withUnsafeBufferPointer { count(sources, keys: $0) }
        case .integers(let v): v.withUnsafeBufferPointer { count(sources, keys: $0) }
        case .strings, .mixed: nil
        }
      guard let counted else { return .notTaken }
      return counted ? .counted(found) : .invalidRows
    }
    guard let outcome, outcome != .notTaken else { return .notTaken }
    if outcome == .invalidRows {
      spent = true
      return .invalidRows
    }
    members = found
    rows += n
    end = max(end, indices.end)
    // The keys of the run so far, as an update bringing them checks them,
    // when this batch brought new ones (else they passed already).
    if keys.count > known {
      for m in taking { try m.checkCountedKeys(count: keys.count) { keys.map { SliceKey([.int($0)]) } } }
    }
    return outcome
  }

  /// Hands the counts to the metrics counted (their held-back totals, as
  /// their updates would have left them) and starts again.
  ///
  /// - Throws: ``MetricError/invalidState(_:)`` when a batch was only
  ///   partly counted (``Outcome/invalidRows``); what adding counts to the
  ///   metrics throws.
  public func flush(into metrics: inout [any Metric]) throws(MetricError) {
    guard !spent else {
      throw .invalidState("slice counts of a batch with an invalid row cannot be handed over")
    }
    guard rows > 0 else { return }
    gather()
    fitSlots()
    let sliceKeys = keys.map { SliceKey([.int($0)]) }
    // (Each metric takes its counts on a core of its own.)
    let given = metrics
    let taken = parallelMap(ranges: members.indices.map { $0..<($0 + 1) }) {
      range -> Result<(any Metric)?, MetricError> in
      let k = range.lowerBound
      guard var m = given[members[k]] as? any HeldBackCounting else { return .success(nil) }
      do throws(MetricError) {
        try m.absorbTotals(keys: sliceKeys, totals: totals[k], cells: cells[k], rows: rows, end: end)
        return .success(m)
      } catch {
        return .failure(error)
      }
    }
    var next = metrics
    for (k, i) in members.enumerated() { if let m = try taken[k].get() { next[i] = m } }
    metrics = next
    empty()
  }

  /// Takes `other`'s counts into this counter's (the same metrics, whose
  /// slices are then handed over once: integer counts, so the same as
  /// handing over each counter's), leaving `other` empty; `false`, with
  /// the counts unchanged, when they count different metrics, either is
  /// spent or empty, or together they pass 2³² − 1 rows.
  public func add(_ other: SliceCounter) -> Bool {
    guard other !== self, !spent, !other.spent, rows > 0, other.rows > 0, members == other.members,
      cells == other.cells, rows + other.rows <= Int(UInt32.max)
    else { return false }
    let slots = other.keys.map { Int(slot($0)) }
    makeRoom()
    // Each slot's totals made in one pass, across cores, from its total (if
    // made), its 16-bit counters and other's (counters and total) for the
    // same key: no zeros written first, and each core takes the page
    // faults of its part (W1 with 1,000 slices: 0.72 ms in all, zeroed
    // totals made and other's counters added; so, 0.40–0.59 ms).
    var theirs = [Int32](repeating: -1, count: capacity)
    for (j, s) in slots.enumerated() { theirs[s] = Int32(j) }
    let (stride, otherStride, capacity) = (self.stride, other.stride, self.capacity)
    for k in totals.indices {
      let (c, offset) = (cells[k], offsets[k])
      let mine = totals[k]
      let theirTotals = other.totals[k]
      totals[k] = [UInt32](unsafeUninitializedCapacity: capacity &* c) { out, initialized in
        let box = UnsafeSendableBox(out)
        counters.withUnsafeBufferPointer { ownCounters in
          other.counters.withUnsafeBufferPointer { otherCounters in
            mine.withUnsafeBufferPointer { ownTotals in
              theirTotals.withUnsafeBufferPointer { otherTotals in
                theirs.withUnsafeBufferPointer { their in
                  let (h, oh, t, ot, th) = (
                    SharedBuffer(base: ownCounters), SharedBuffer(base: otherCounters), SharedBuffer(base: ownTotals),
                    SharedBuffer(base: otherTotals), SharedBuffer(base: their)
                  )
                  _ = parallelMap(capacity, itemSize: c) { range in
                    for s in range {
                      let j = Int(th[s])
                      for i in 0..<c {
                        var v = UInt32(h[s &* stride &+ offset &+ i])
                        if t.count > 0 { v &+= t[s &* c &+ i] }
                        if j >= 0 {
                          v &+= UInt32(oh[j &* otherStride &+ offset &+ i])
                          if ot.count > 0 { v &+= ot[j &* c &+ i] }
                        }
                        box[s &* c &+ i] = v
                      }
                    }
                  }
                }
              }
            }
          }
        }
        initialized = capacity &* c
      }
    }
    // (Every counter is in the totals now.)
    counters.withUnsafeMutableBufferPointer { $0.update(repeating: 0) }
    since.withUnsafeMutableBufferPointer { $0.update(repeating: 0) }
    (gathered, bound) = (true, 0)
    rows += other.rows
    end = max(end, other.end)
    other.empty()
    return true
  }

  /// Moves every slot's 16-bit counters into the 32-bit totals, as
  /// ``add(_:)`` and ``flush(into:)`` do first (once: nothing is moved
  /// again until more rows are counted).
  public func gather() {
    guard !gathered else { return }
    move(keys.indices)
    (gathered, bound) = (true, 0)
  }

  /// Drops the counts (the metrics and their cells stay).
  private func empty() {
    (lo, table, far, keys, counters, since, rows, bound, gathered) = (0, [], [:], [], [], [], 0, 0, false)
    totals = cells.map { _ in [] }
    capacity = 0
  }

  /// Counts every row of `sources` by its key's slot; `nil` when the
  /// sources take other rows, `false` when a row is invalid.
  private func count<T: SliceKeyInteger>(_ sources: [CellSource], keys key: UnsafeBufferPointer<T>)
    -> Bool?
  {
    let m = sources.count
    guard sources.allSatisfy({ $0.rows == key.count }) else { return nil }
    if cells.isEmpty {
      cells = sources.map(\.count)
      offsets = cells.reduce(into: [0]) { $0.append($0.last! + $1) }
      stride = offsets.removeLast()
      totals = cells.map { _ in [] }
      let fewest = cells.indices.min { cells[$0] < cells[$1] }!
      checked = cells[fewest] <= 16 ? fewest : nil
    }
    guard cells == sources.map(\.count) else { return nil }
    let block = Self.block
    let limit = UInt16.max - 2 * UInt16(block)
    var cell = [Int32](repeating: 0, count: block * m)
    var slotOf = [Int32](repeating: 0, count: block)
    if capacity == 0 {
      // The counter's first batch: its keys' slots made first, so that the
      // counters are made once, at their size (grown by doubling from the
      // first block's keys, 1,000 slices' counters took 0.55 ms a worker,
      // most of it page faults of the arrays dropped).
      var start = 0
      while start < key.count {
        let end = min(key.count, start &+ block)
        slotOf.withUnsafeMutableBufferPointer { s in map(key, start..<end, into: s) }
        start = end
      }
      makeRoom()
    }
    var start = 0
    while start < key.count {
      let end = min(key.count, start &+ block)
      let n = end &- start
      var bad = false
      cell.withUnsafeMutableBufferPointer { out in
        let box = UnsafeSendableBox(out)
        for k in 0..<m where sources[k].fill(start..<end, box, start &- k &* block) { bad = true }
      }
      guard !bad else { return false }
      // (Each slot's counters hold at most `bound` rows: checked before
      // this block could overflow one; slots made below hold none.)
      if let k = checked, bound &+ n > Int(UInt16.max) { check(k) }
      if checked != nil {
        // The leading rows whose keys have slots, each key looked up as
        // its row is counted; the others' slots then made and counted.
        let done = m <= 2 && !table.isEmpty ? countKnown(key.baseAddress.unsafelyUnwrapped + start, n, cells: cell) : 0
        if done < n {
          slotOf.withUnsafeMutableBufferPointer { s in map(key, (start &+ done)..<end, into: s) }
          makeRoom()
          count(block: n, from: done, slots: slotOf, cells: cell, sources: m)
        }
        bound &+= n
        start = end
        continue
      }
      slotOf.withUnsafeMutableBufferPointer { s in map(key, start..<end, into: s) }
      makeRoom()
      var overLimit = false
      // Each source's increments; the first also counts each slot's rows
      // since its counters last moved, and moves those past the limit at
      // the block's end (room for this block and the next: the sources
      // after the first add this block's rows after the move).
      let stride = self.stride
      counters.withUnsafeMutableBufferPointer { counterBuffer in
        since.withUnsafeMutableBufferPointer { sp in
          cell.withUnsafeBufferPointer { cellBuffer in
            slotOf.withUnsafeBufferPointer { g in
              let (h, cp) = (counterBuffer.baseAddress!, cellBuffer.baseAddress!)
              // The first two sources in one loop (each row's slot read
              // once); more, one loop each.
              let most =
                m == 1
                ? countTrackingRows(h, stride: stride, slots: g.baseAddress!, cells: cp, n: n, since: sp.baseAddress!)
                : countPairTrackingRows(
                  h, stride: stride, second: offsets[1], slots: g.baseAddress!, cells: cp, cp + block, n: n,
                  since: sp.baseAddress!)
              if most > limit { overLimit = true }
              for k in 2..<max(2, m) {
                let (h, cp) = (h + offsets[k], cp + k &* block)
                for i in 0..<n { h[Int(g[i]) &* stride &+ Int(cp[i])] &+= 1 }
              }
            }
          }
        }
      }
      if overLimit {
        move(Set(slotOf[..<n].lazy.map(Int.init).filter { self.since[$0] > limit }))
      }
      start = end
    }
    return true
  }

  /// Counts rows `from..<n` of a block (their slots from `slotOf[0]` on,
  /// each source's cells) without counting each slot's rows.
  private func count(block n: Int, from: Int, slots slotOf: [Int32], cells cell: [Int32], sources m: Int) {
    let (stride, block) = (self.stride, Self.block)
    counters.withUnsafeMutableBufferPointer { counterBuffer in
      cell.withUnsafeBufferPointer { cellBuffer in
        slotOf.withUnsafeBufferPointer { g in
          let (h, cp) = (counterBuffer.baseAddress!, cellBuffer.baseAddress! + from)
          countRows(
            h, stride: stride, second: m > 1 ? offsets[1] : nil, slots: g.baseAddress!, cells: cp, cp + block,
            n: n &- from)
          for k in 2..<max(2, m) {
            let (h, cp) = (h + offsets[k], cp + k &* block)
            for i in 0..<(n &- from) { h[Int(g[i]) &* stride &+ Int(cp[i])] &+= 1 }
          }
        }
      }
    }
  }

  /// Counts the leading rows of a block of `n` rows (keys from `key`, the
  /// cells of one source or two) whose keys have slots in the table, each
  /// key looked up as its row is counted; how many. (W1 with 1,000
  /// slices, timed inside the process: 1.30–1.37 ns a row, against 1.48
  /// for the slots written to an array first, 0.48, then counted, 1.00.)
  private func countKnown<T: SliceKeyInteger>(_ key: UnsafePointer<T>, _ n: Int, cells cell: [Int32]) -> Int {
    let (stride, block, second) = (self.stride, Self.block, offsets.count > 1 ? offsets[1] : -1)
    return counters.withUnsafeMutableBufferPointer { counterBuffer in
      cell.withUnsafeBufferPointer { cellBuffer in
        table.withUnsafeBufferPointer { t in
          let cp = cellBuffer.baseAddress!
          return T.countKnown(
            key, n, lo: lo, table: t.baseAddress!, width: t.count, counters: counterBuffer.baseAddress!,
            stride: stride, cells: cp, cp + block, second: second)
        }
      }
    }
  }

  /// Sums each slot's cells of metric `k` (its rows since its counters last
  /// moved), moves the slots past half of the 16-bit range, and makes
  /// `bound` the most rows a slot then holds; or, when the slots have
  /// become too many to sum at each check, counts each slot's rows from
  /// here on (`since`, from these sums).
  private func check(_ k: Int) {
    let (stride, offset, c) = (self.stride, offsets[k], cells[k])
    var rows = [Int](repeating: 0, count: keys.count)
    counters.withUnsafeBufferPointer { h in
      for slot in rows.indices {
        var sum = 0
        for j in 0..<c { sum &+= Int(h[slot &* stride &+ offset &+ j]) }
        rows[slot] = sum
      }
    }
    let half = Int(UInt16.max / 2)
    move(rows.indices.lazy.filter { rows[$0] > half })
    bound = 0
    for r in rows where r <= half { bound = max(bound, r) }
    if keys.count &* c > Self.checkLimit {
      checked = nil
      for (slot, r) in rows.enumerated() { since[slot] = r > half ? 0 : UInt16(r) }
    }
  }

  /// Writes the slot of each key of `range` to `out`, making slots for
  /// keys not seen before.
  private func map<T: SliceKeyInteger>(
    _ key: UnsafeBufferPointer<T>, _ range: Range<Int>, into out: UnsafeMutableBufferPointer<Int32>
  ) {
    var i = range.lowerBound
    while i < range.upperBound {
      // Keys in the table, until one is not.
      if !table.isEmpty {
        let (keyBase, outBase) = (key.baseAddress.unsafelyUnwrapped + i, out.baseAddress.unsafelyUnwrapped)
        i &+= table.withUnsafeBufferPointer { t in
          T.tableSlots(
            keyBase, range.upperBound &- i, lo: lo, table: t.baseAddress.unsafelyUnwrapped, width: t.count,
            into: outBase + (i &- range.lowerBound))
        }
      }
      guard i < range.upperBound else { break }
      out[i &- range.lowerBound] = slot(Int64(key[i]))
      i &+= 1
    }
  }

  /// The slot of `x`, made if new (the table widened to take it, or the
  /// dictionary when the keys span too much).
  private func slot(_ x: Int64) -> Int32 {
    let s = UInt64(bitPattern: x &- lo)
    if s < UInt64(table.count), table[Int(s)] >= 0 { return table[Int(s)] }
    if let f = far[x] { return f }
    let new = Int32(keys.count)
    keys.append(x)
    if s < UInt64(table.count) {
      table[Int(s)] = new
      return new
    }
    // Widen the table to take x, or keep x in the dictionary.
    let (newLo, newHi) = table.isEmpty ? (x, x) : (min(lo, x), max(lo &+ Int64(table.count) &- 1, x))
    let (span, overflow) = newHi.subtractingReportingOverflow(newLo)
    guard !overflow, span < Self.tableLimit else {
      far[x] = new
      return new
    }
    let width = min(Self.tableLimit, max(span &+ 1, 2 &* Int64(table.count), 64))
    // (Inside Int64: the table ends at Int64.max at the most.)
    let base = newLo <= Int64.max &- (width &- 1) ? newLo : Int64.max &- (width &- 1)
    var wider = [Int32](repeating: -1, count: Int(width))
    for (k, g) in table.enumerated() where g >= 0 { wider[Int(lo &+ Int64(k) &- base)] = g }
    wider[Int(x &- base)] = new
    (table, lo) = (wider, base)
    return new
  }

  /// Makes room for the slots made (``slot(_:)`` makes them without):
  /// at least twice the room there was.
  private func makeRoom() {
    if keys.count > capacity { reserveSlots(max(64, 2 &* capacity, keys.count)) }
  }

  /// Makes room (zeros) for `n` slots.
  private func reserveSlots(_ n: Int) {
    let more = n &- capacity
    appendZeros(&counters, more &* stride)
    for k in totals.indices where !totals[k].isEmpty { appendZeros(&totals[k], more &* cells[k]) }
    appendZeros(&since, more)
    capacity = n
  }

  /// Makes the totals (zeros), if not yet made, for every slot there is
  /// room for.
  private func makeTotals() {
    for k in totals.indices where totals[k].isEmpty { appendZeros(&totals[k], capacity &* cells[k]) }
  }

  /// Drops the room beyond the slots made: the totals (made) then hold
  /// each slot's cells, metric by metric, and nothing else.
  private func fitSlots() {
    makeTotals()
    let n = keys.count
    counters.removeLast((capacity &- n) &* stride)
    for k in totals.indices { totals[k].removeLast((capacity &- n) &* cells[k]) }
    since.removeLast(capacity &- n)
    capacity = n
  }

  /// Moves slots' 16-bit counters into the totals.
  private func move(_ slots: some Sequence<Int>) {
    let stride = self.stride
    let slots = Array(slots)
    guard !slots.isEmpty else { return }
    makeTotals()
    counters.withUnsafeMutableBufferPointer { h in
      for k in totals.indices {
        let (c, offset) = (cells[k], offsets[k])
        totals[k].withUnsafeMutableBufferPointer { t in
          for slot in slots {
            for j in 0..<c {
              t[slot &* c &+ j] &+= UInt32(h[slot &* stride &+ offset &+ j])
              h[slot &* stride &+ offset &+ j] = 0
            }
          }
        }
      }
      since.withUnsafeMutableBufferPointer { sp in for slot in slots { sp[slot] = 0 } }
    }
  }
}

/// Appends `count` zeros to `array` in one allocation: the old elements
/// copied, the new ones zeroed, each once.
private func appendZeros<T: FixedWidthInteger>(_ array: inout [T], _ count: Int) {
  guard count > 0 else { return }
  let old = array.count
  array = [T](unsafeUninitializedCapacity: old &+ count) { buffer, initialized in
    let base = buffer.baseAddress.unsafelyUnwrapped
    array.withUnsafeBufferPointer { a in
      if let source = a.baseAddress { base.initialize(from: source, count: old) }
    }
    (base + old).initialize(repeating: 0, count: count)
    initialized = old &+ count
  }
}
