//===--- CellTotals.swift -------------------------------------------------===//
//
// The one pass behind slices and bootstraps of metrics that count cells:
// the rows' cells (of one metric or several) counted by group (slice) and,
// with a bootstrap, by replicate, the replicate weights drawn once per row
// for all the metrics.
//
//===----------------------------------------------------------------------===//

import CTallyKernels
import Dispatch
import Foundation

/// Weighted totals of per-row cells, per group (slice) and per replicate,
/// for each of `batches` (the cells of several metrics over the same rows):
/// `totals[m][(g·cells + c)·replicates + r]` is the sum over the rows of
/// group `g` in cell `c` of metric `m` of the row's weight in replicate `r`
/// (1 without a bootstrap). Integer, so the totals do not depend on how the
/// rows were split.
///
/// Rows are split across cores when the work is large; each core counts
/// into histograms of its own, added up at the end. Without a bootstrap a
/// histogram is 32-bit, flushed every 2³² − 1 rows. With one, a row's
/// weights are drawn once for all the metrics, eight replicates to a
/// vector (``PoissonBootstrap/Counter``), and added to each metric's 16-bit
/// counters of the row's cell; a cell's counters are flushed to the totals
/// after 8,191 rows (a weight is at most 8, so they cannot wrap) and at the
/// end.
func cellTotals(
  _ batches: [CellBatch], groups: [Int32]?, groupCount: Int, bootstrap: PoissonBootstrap?, rows: RowIndices
) -> [[Int]] {
  guard let n = batches.first?.cells.count else { return [] }
  assert(batches.allSatisfy { $0.cells.count == n } && (groups?.count ?? n) == n && rows.count == n)
  let r = bootstrap?.replicates ?? 1
  let work = n * r * batches.count
  let parts = max(1, min(activeCores, work / parallelThreshold, n))
  let ranges = (0..<parts).map { k in (n * k / parts)..<(n * (k + 1) / parts) }
  let results = UnsafeMutableBufferPointer<[[Int]]?>.allocate(capacity: parts)
  results.initialize(repeating: nil)
  defer {
    // The results hold arrays: deinitialize them, or they leak.
    results.deinitialize()
    results.deallocate()
  }
  let box = UnsafeSendableBox(results)
  let body: @Sendable (Int) -> Void = { k in
    box[k] =
      if let bootstrap {
        drawnTotals(batches, groups: groups, groupCount: groupCount, bootstrap: bootstrap, rows: rows, range: ranges[k])
      } else {
        countedTotals(batches, groups: groups, groupCount: groupCount, range: ranges[k])
      }
  }
  if parts == 1 {
    body(0)
  } else {
    runParts(parts, body)
  }
  var total = results[0]!
  for m in total.indices {
    total[m].withUnsafeMutableBufferPointer { t in
      for k in 1..<parts {
        results[k]![m].withUnsafeBufferPointer { part in
          for j in t.indices { t[j] &+= part[j] }
        }
      }
    }
  }
  return total
}

/// Each batch's counts of the rows in `range` by group and cell.
private func countedTotals(_ batches: [CellBatch], groups: [Int32]?, groupCount: Int, range: Range<Int>)
  -> [[Int]]
{
  batches.map { b in
    let c = b.count
    var totals = [Int](repeating: 0, count: groupCount * c)
    var hist = [UInt32](repeating: 0, count: groupCount * c)
    var start = range.lowerBound
    while start < range.upperBound {
      // A 32-bit count holds this many rows.
      let end = min(range.upperBound, start &+ Int(UInt32.max))
      hist.withUnsafeMutableBufferPointer { h in
        b.cells.withUnsafeBufferPointer { cells in
          if let groups {
            groups.withUnsafeBufferPointer { g in
              for i in start..<end { h[Int(g[i]) &* c &+ Int(cells[i])] &+= 1 }
            }
          } else {
            for i in start..<end { h[Int(cells[i])] &+= 1 }
          }
        }
      }
      for j in hist.indices where hist[j] != 0 {
        totals[j] &+= Int(hist[j])
        hist[j] = 0
      }
      start = end
    }
    return totals
  }
}

/// The loops that count the bootstrap's replicate weights: the same
/// counts from each (`drawnTotals`).
enum PoissonKernel: Sendable {
  case swift, avx2, avx512

  /// The widest this CPU runs: AVX-512 (F and BW), else AVX2, else Swift;
  /// `TALLY_WIDE_KERNELS=0` keeps the Swift loop and `TALLY_WIDE_KERNELS=avx2`
  /// stops at AVX2, to compare.
  static let widest: PoissonKernel = {
    guard useWideKernels else { return .swift }
    if let v = getenv("TALLY_WIDE_KERNELS"), String(cString: v) == "avx2" { return .avx2 }
    return tally_has_avx512() != 0 ? .avx512 : .avx2
  }()
}

/// Each batch's totals of the rows in `range` by group, cell and
/// replicate: the rows' replicate weights drawn once, added to every
/// batch's 16-bit counters of the row's cell.
func drawnTotals(
  _ batches: [CellBatch], groups: [Int32]?, groupCount: Int, bootstrap: PoissonBootstrap, rows: RowIndices,
  range: Range<Int>, kernel: PoissonKernel = .widest
) -> [[Int]] {
  let r = bootstrap.replicates
  // Eight replicates to a vector; the last vector's extra lanes are drawn
  // and never read.
  let vectors = (r + 7) / 8
  let metrics = batches.count
  // The counter rows (group and cell) of each batch, one after another.
  let first = batches.reduce(into: [0]) { $0.append($0.last! + groupCount * $1.count) }
  // Each row's counter row in each batch, row by row.
  var slots = [Int32](repeating: 0, count: range.count * metrics)
  for (m, b) in batches.enumerated() {
    let (c, base) = (b.count, first[m])
    b.cells.withUnsafeBufferPointer { cells in
      for i in range {
        let g = groups.map { Int($0[i]) } ?? 0
        slots[(i &- range.lowerBound) &* metrics &+ m] = Int32(base &+ g &* c &+ Int(cells[i]))
      }
    }
  }
  let counterRows = first[metrics]
  var counters = [SIMD8<Int16>](repeating: .zero, count: counterRows * vectors)
  var fills = [UInt16](repeating: 0, count: counterRows)
  var totals = [Int](repeating: 0, count: counterRows * r)
  var draws = [SIMD8<Int16>](repeating: .zero, count: vectors)
  var random = [SIMD2<UInt64>](repeating: .zero, count: vectors)
  let counter = PoissonBootstrap.Counter()
  counters.withUnsafeMutableBufferPointer { acc in
    fills.withUnsafeMutableBufferPointer { fill in
      totals.withUnsafeMutableBufferPointer { out in
        draws.withUnsafeMutableBufferPointer { d in
          random.withUnsafeMutableBufferPointer { bits in
            slots.withUnsafeBufferPointer { slot in
              /// Adds a counter row to the totals and clears it.
              func flush(_ row: Int) {
                for v in 0..<vectors {
                  let lanes = acc[row &* vectors &+ v]
                  for lane in 0..<min(8, r &- v &* 8) {
                    // The counters hold the counts negated (wrapping).
                    out[row &* r &+ v &* 8 &+ lane] &+= Int(UInt16(bitPattern: 0 &- lanes[lane]))
                  }
                  acc[row &* vectors &+ v] = .zero
                }
                fill[row] = 0
              }
              /// The rows of `block` as the Swift loop below does them.
              func drawn(_ block: Range<Int>) {
                for i in block {
                  let key = bootstrap.rowKey(rows[i])
                  // The bits first, then the counts: built in one step, the
                  // vector of two 64-bit halves took a detour through
                  // 16-bit lane inserts.
                  for v in 0..<vectors {
                    bits[v] = SIMD2(
                      PoissonBootstrap.bits(key, block: 2 &* v), PoissonBootstrap.bits(key, block: 2 &* v &+ 1))
                  }
                  for v in 0..<vectors {
                    d[v] = counter.negatedCounts(unsafeBitCast(bits[v], to: SIMD8<Int16>.self))
                  }
                  let s = (i &- range.lowerBound) &* metrics
                  for m in 0..<metrics {
                    let row = Int(slot[s &+ m])
                    let base = row &* vectors
                    for v in 0..<vectors { acc[base &+ v] &+= d[v] }
                    fill[row] &+= 1
                    if fill[row] == 8_191 { flush(row) }
                  }
                }
              }
              if kernel != .swift {
                // The same in AVX-512 or AVX2 (CTallyKernels), 1,024 rows at a time.
                var keys = [UInt64](repeating: 0, count: Swift.min(1_024, range.count))
                var start = range.lowerBound
                while start < range.upperBound {
                  let end = Swift.min(range.upperBound, start &+ 1_024)
                  for i in start..<end { keys[i &- start] = bootstrap.rowKey(rows[i]) }
                  let done = keys.withUnsafeBufferPointer { k in
                    PoissonBootstrap.thresholds.withUnsafeBufferPointer { t in
                      (kernel == .avx512 ? tally_poisson_rows_avx512 : tally_poisson_rows_avx2)(
                        k.baseAddress, end &- start, slot.baseAddress! + (start &- range.lowerBound) &* metrics,
                        metrics, UnsafeMutableRawPointer(acc.baseAddress!).assumingMemoryBound(to: Int16.self),
                        fill.baseAddress,
                        UnsafeMutableRawPointer(out.baseAddress!).assumingMemoryBound(to: Int64.self), vectors, r,
                        t.baseAddress)
                    }
                  }
                  if done == 0 { drawn(start..<end) }
                  start = end
                }
              } else {
                drawn(range)
              }
              for row in 0..<counterRows where fill[row] != 0 { flush(row) }
            }
          }
        }
      }
    }
  }
  return (0..<metrics).map { m in Array(totals[(first[m] * r)..<(first[m + 1] * r)]) }
}

/// Adds one to `h[slot·stride + cell]` and to `since[slot]` for each of
/// the `n` rows' slots and cells; the largest `since` reached.
@inline(__always)
func countTrackingRows(
  _ h: UnsafeMutablePointer<UInt16>, stride: Int, slots g: UnsafePointer<Int32>, cells cp: UnsafePointer<Int32>,
  n: Int, since sp: UnsafeMutablePointer<UInt16>
) -> UInt16 {
  var most: UInt16 = 0
  for i in 0..<n {
    let slot = Int(g[i])
    h[slot &* stride &+ Int(cp[i])] &+= 1
    sp[slot] &+= 1
    most = Swift.max(most, sp[slot])
  }
  return most
}

/// Adds one to `h[slot·stride + cell]` for each of the `n` rows' slots and
/// cells, and, with `second`, to `h[slot·stride + second + cell2]` for the
/// second source's cells (`cq`; each row's slot read once).
@inline(__always)
func countRows(
  _ h: UnsafeMutablePointer<UInt16>, stride: Int, second: Int?, slots g: UnsafePointer<Int32>,
  cells cp: UnsafePointer<Int32>, _ cq: UnsafePointer<Int32>, n: Int
) {
  guard let second else {
    for i in 0..<n { h[Int(g[i]) &* stride &+ Int(cp[i])] &+= 1 }
    return
  }
  for i in 0..<n {
    let row = h + Int(g[i]) &* stride
    row[Int(cp[i])] &+= 1
    row[second &+ Int(cq[i])] &+= 1
  }
}

/// ``countTrackingRows(_:stride:slots:cells:n:since:)`` for two sources at
/// once (a slice counter's first two, such as binary accuracy and AUC), the
/// second's cells (`cq`) from `second` in a slot's row: each row's slot
/// read once.
@inline(__always)
func countPairTrackingRows(
  _ h: UnsafeMutablePointer<UInt16>, stride: Int, second: Int, slots g: UnsafePointer<Int32>,
  cells cp: UnsafePointer<Int32>, _ cq: UnsafePointer<Int32>, n: Int, since sp: UnsafeMutablePointer<UInt16>
) -> UInt16 {
  var most: UInt16 = 0
  for i in 0..<n {
    let slot = Int(g[i])
    let row = h + slot &* stride
    row[Int(cp[i])] &+= 1
    row[second &+ Int(cq[i])] &+= 1
    sp[slot] &+= 1
    most = Swift.max(most, sp[slot])
  }
  return most
}

/// The counts of several sources' cells over the same rows by group,
/// counted as they are written (1,024 rows at a time, on each core, so no
/// array of cells is made, and each row's group is read once for all the
/// sources): source `k`'s count of cell `c` in group `g` is
/// `totals[offsets[k] + g·count + c]`; `nil` when a row is invalid. 32-bit:
/// a batch has fewer than 2³¹ rows.
///
/// Large histograms (many slices of many cells) are counted in 16 bits,
/// half the cache lines: a group's 16-bit counters go into the 32-bit
/// totals at the end of a block in which it passed 63,487 rows since they
/// last did (that block and the next add at most 2,048 more), and at the
/// end.
func groupedCounts(_ sources: [CellSource], groups: [Int32]?, groupCount: Int) -> (totals: [UInt32], offsets: [Int])? {
  guard let rows = sources.first?.rows else { return ([], [0]) }
  let block = 1_024
  let m = sources.count
  let counts = sources.map(\.count)
  let offsets = counts.reduce(into: [0]) { $0.append($0.last! + groupCount * $1) }
  let narrow = counts.map { groups != nil && groupCount * $0 >= 1 << 16 }
  let narrowOffsets = sources.indices.reduce(into: [0]) {
    $0.append($0.last! + (narrow[$1] ? groupCount * counts[$1] : 0))
  }
  let anyNarrow = narrow.contains(true)
  let parts = parallelMap(rows) { range -> [UInt32]? in
    var hist = [UInt32](repeating: 0, count: offsets[m])
    var hist16 = [UInt16](repeating: 0, count: narrowOffsets[m])
    var since = [UInt16](repeating: 0, count: anyNarrow ? groupCount : 0)
    var cells = [Int32](repeating: 0, count: block * m)
    var bad = false
    hist.withUnsafeMutableBufferPointer { h in
      hist16.withUnsafeMutableBufferPointer { h16 in
        since.withUnsafeMutableBufferPointer { rowsSince in
          cells.withUnsafeMutableBufferPointer { cell in
            /// Moves group `g`'s 16-bit counters to the totals.
            func flush(_ g: Int) {
              for k in 0..<m where narrow[k] {
                let c = counts[k]
                for j in (g &* c)..<(g &* c &+ c) {
                  h[offsets[k] &+ j] &+= UInt32(h16[narrowOffsets[k] &+ j])
                  h16[narrowOffsets[k] &+ j] = 0
                }
              }
              rowsSince[g] = 0
            }
            let out = UnsafeSendableBox(cell)
            var start = range.lowerBound
            while start < range.upperBound {
              let end = min(range.upperBound, start &+ block)
              // Source k's cells at k·block ..< k·block + (end − start).
              for k in 0..<m where sources[k].fill(start..<end, out, start &- k &* block) { bad = true }
              guard let groups else {
                for k in 0..<m {
                  let (base, first) = (offsets[k], k &* block &- start)
                  for i in start..<end { h[base &+ Int(cell[first &+ i])] &+= 1 }
                }
                start = end
                continue
              }
              groups.withUnsafeBufferPointer { g in
                let n = end &- start
                let gp = g.baseAddress! + start
                var counted = false
                for k in 0..<m {
                  let (c, cp) = (counts[k], cell.baseAddress! + k &* block)
                  if narrow[k] && !counted {
                    // The first 16-bit source's increments, and each
                    // group's rows since its counters last went into the
                    // totals (an upper bound of every 16-bit count), in
                    // one loop.
                    let most = countTrackingRows(
                      h16.baseAddress! + narrowOffsets[k], stride: c, slots: gp, cells: cp, n: n,
                      since: rowsSince.baseAddress!)
                    // Flushed at the block's end, so the limit leaves room
                    // for this block and the next: the sources after this
                    // one add this block's rows once the flush has reset
                    // the count.
                    if most > UInt16.max - 2 * UInt16(block) {
                      for i in 0..<n where rowsSince[Int(gp[i])] > UInt16.max - 2 * UInt16(block) { flush(Int(gp[i])) }
                    }
                    counted = true
                  } else if narrow[k] {
                    let hp = h16.baseAddress! + narrowOffsets[k]
                    for i in 0..<n { hp[Int(gp[i]) &* c &+ Int(cp[i])] &+= 1 }
                  } else {
                    let hp = h.baseAddress! + offsets[k]
                    for i in 0..<n { hp[Int(gp[i]) &* c &+ Int(cp[i])] &+= 1 }
                  }
                }
              }
              start = end
            }
            if anyNarrow { for g in 0..<groupCount where rowsSince[g] != 0 { flush(g) } }
          }
        }
      }
    }
    return bad ? nil : hist
  }
  // The parts' sum: fewer than 2³¹ rows (a batch).
  guard parts.allSatisfy({ $0 != nil }), let first = parts.first, var totals = first else { return nil }
  totals.withUnsafeMutableBufferPointer { t in
    for case let part? in parts.dropFirst() {
      part.withUnsafeBufferPointer { h in
        for j in t.indices { t[j] &+= h[j] }
      }
    }
  }
  return (totals, offsets)
}
