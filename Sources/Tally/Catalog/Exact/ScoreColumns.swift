//===--- ScoreColumns.swift -----------------------------------------------===//
//
// The two forms of a score histogram's columns and their kernels. Counts:
// the order keys of float32 scores and 32-bit counts, 12 bytes a distinct
// score (unweighted samples). Sums: float64 scores and the weighted sums'
// rounded values, with their compensation terms only while some is not
// zero, 24 or 40 bytes a distinct score. Each is built from sorted keys
// and merged by a sorted merge whose steps do not branch on which side
// comes first (histograms interleave at random: a branch would be
// mispredicted every other step).
//
//===----------------------------------------------------------------------===//

/// Three columns of at most `capacity` elements, filled together by `body`,
/// which returns how many it wrote.
func filledColumns<A: BitwiseCopyable, B: BitwiseCopyable, C: BitwiseCopyable>(
  capacity: Int,
  _ body: (UnsafeMutableBufferPointer<A>, UnsafeMutableBufferPointer<B>, UnsafeMutableBufferPointer<C>) -> Int
) -> ([A], [B], [C]) {
  var written = 0
  var b: [B] = []
  var c: [C] = []
  let a = [A](unsafeUninitializedCapacity: capacity) { ab, ac in
    b = [B](unsafeUninitializedCapacity: capacity) { bb, bc in
      c = [C](unsafeUninitializedCapacity: capacity) { cb, cc in
        written = body(ab, bb, cb)
        cc = written
      }
      bc = written
    }
    ac = written
  }
  // Give back a large unused remainder (many equal scores merged).
  if written < capacity - capacity / 4 { return (Array(a[...]), Array(b[...]), Array(c[...])) }
  return (a, b, c)
}

/// 1 for `true`, 0 for `false`, as a number the compiler does not turn
/// back into a branch.
@inline(__always)
func bit(_ b: Bool) -> Int { Int(truncatingIfNeeded: unsafeBitCast(b, to: UInt8.self)) }

//===--- Counts -----------------------------------------------------------===//

/// Unweighted counts at float32 scores: each distinct score's order key and
/// its numbers of positive and negative samples, 12 bytes a score.
struct CountColumns: Sendable, Equatable {
  /// The distinct scores' keys, ascending.
  var keys: [Float32Key] = []
  /// Positive samples at each score.
  var positives: [UInt32] = []
  /// Negative samples at each score.
  var negatives: [UInt32] = []

  init() {}

  /// The number of distinct scores.
  var count: Int { keys.count }

  /// `self` with sorted samples counted in: one sorted merge of the
  /// histogram and the two key lists, equal keys adding up, in parts on
  /// every core for large merges. `nil` if a score would hold more than
  /// `UInt32.max` samples of one label.
  ///
  /// - Complexity: O(*D* + *n*): one step per score held and per sample,
  ///   whose only branch is whether a key is new.
  func merging(sortedPositives positives: inout [Float32Key], _ negatives: inout [Float32Key]) -> CountColumns? {
    let sizes = [count, positives.count, negatives.count]
    // Each key list ends with a key above every score's, so that the merge
    // reads past neither end (nor past a part's end: the next part's keys
    // are above all of its own).
    positives.append(.end)
    negatives.append(.end)
    defer {
      positives.removeLast()
      negatives.removeLast()
    }
    // What an empty part of the histogram reads: one entry at that key,
    // never taken.
    let none = CountColumns(keys: [.end], positives: [0], negatives: [0])
    var probe: UInt64 = 0
    var out = CountColumns()
    (out.keys, out.positives, out.negatives) = filledColumns(capacity: sizes.reduce(0, +)) { s, p, n in
      keys.withUnsafeBufferPointer { hk in
        self.positives.withUnsafeBufferPointer { hp in
          self.negatives.withUnsafeBufferPointer { hn in
            positives.withUnsafeBufferPointer { pos in
              negatives.withUnsafeBufferPointer { neg in
                none.keys.withUnsafeBufferPointer { nk in
                  none.positives.withUnsafeBufferPointer { np in
                    none.negatives.withUnsafeBufferPointer { nn in
                      let h = (SharedBuffer(base: hk), SharedBuffer(base: hp), SharedBuffer(base: hn))
                      let empty = (SharedBuffer(base: nk), SharedBuffer(base: np), SharedBuffer(base: nn))
                      let (pk, nk) = (SharedBuffer(base: pos), SharedBuffer(base: neg))
                      let (k, seen) = Self.inParts([h.0, pk, nk], sizes: sizes, into: (s, p, n)) { r, out, base in
                        let held = r[0].count
                        return Self.countKernel(
                          held > 0 ? (h.0[r[0]], h.1[r[0]], h.2[r[0]]) : empty, held: held,
                          pk[r[1].lowerBound..<(r[1].upperBound + 1)], nk[r[2].lowerBound..<(r[2].upperBound + 1)],
                          samples: r[1].count + r[2].count, into: out, at: base)
                      }
                      probe = seen
                      return k
                    }
                  }
                }
              }
            }
          }
        }
      }
    }
    return probe <= UInt64(UInt32.max) ? out : nil
  }

  private init(keys: [Float32Key], positives: [UInt32], negatives: [UInt32]) {
    (self.keys, self.positives, self.negatives) = (keys, positives, negatives)
  }

  /// The columns of a count histogram, read.
  typealias Read = (SharedBuffer<Float32Key>, SharedBuffer<UInt32>, SharedBuffer<UInt32>)
  /// The columns of a count histogram, written.
  typealias Written = (UnsafeSendableBox<Float32Key>, UnsafeSendableBox<UInt32>, UnsafeSendableBox<UInt32>)

  /// Merges the first `held` scores of `h` with the `samples` sorted keys
  /// of `pos` and `neg` (each followed by a key above all of theirs) into
  /// `out` from index `base`: the number of scores written and the bitwise
  /// or of every count (past 32 bits if one overflowed).
  ///
  /// Each step takes one item, the smallest key of the three lists (the
  /// histogram's entry first, then a positive, then a negative, when keys
  /// are equal), chosen by arithmetic rather than branches: the lists
  /// interleave at random.
  private static func countKernel(
    _ h: Read, held: Int, _ pos: SharedBuffer<Float32Key>, _ neg: SharedBuffer<Float32Key>, samples: Int,
    into out: Written, at base: Int
  ) -> (count: Int, probe: UInt64) {
    let (hk, hp, hn) = h
    let (s, p, n) = out
    var probe: UInt64 = 0
    var i = 0  // into h
    var j = 0  // into pos
    var l = 0  // into neg
    var k = base &- 1
    var last = UInt32.max  // no score's key
    var (cp, cn): (UInt64, UInt64) = (0, 0)  // the counts of score k
    let lastHeld = max(held - 1, 0)
    for _ in 0..<(held + samples) {
      // The histogram's next entry, or (past its end) a key above all.
      let hi = i < held ? i : lastHeld
      let x = i < held ? hk[hi].bits : UInt32.max
      let a = pos[j].bits
      let b = neg[l].bits
      let takeH = x <= a && x <= b
      let takeP = !takeH && a <= b
      let (th, tp, tn) = (UInt64(bit(takeH)), UInt64(bit(takeP)), UInt64(bit(!takeH && !takeP)))
      let key = takeH ? x : (takeP ? a : b)
      if key != last {
        if k >= base {
          p[k] = UInt32(truncatingIfNeeded: cp)
          n[k] = UInt32(truncatingIfNeeded: cn)
          probe |= cp | cn
        }
        k &+= 1
        s[k] = Float32Key(bits: key)
        (cp, cn) = (0, 0)
        last = key
      }
      cp &+= UInt64(hp[hi]) &* th &+ tp
      cn &+= UInt64(hn[hi]) &* th &+ tn
      i &+= Int(truncatingIfNeeded: th)
      j &+= Int(truncatingIfNeeded: tp)
      l &+= Int(truncatingIfNeeded: tn)
    }
    if k >= base {
      p[k] = UInt32(truncatingIfNeeded: cp)
      n[k] = UInt32(truncatingIfNeeded: cn)
      probe |= cp | cn
    }
    return (k &+ 1 &- base, probe)
  }

  /// The sorted merge of two count histograms, in parts on every core for
  /// large merges, or `nil` if a count would pass `UInt32.max`.
  ///
  /// - Complexity: O(*D* + *D'*).
  static func merged(_ x: CountColumns, _ y: CountColumns) -> CountColumns? {
    var probe: UInt64 = 0
    var out = CountColumns()
    (out.keys, out.positives, out.negatives) = filledColumns(capacity: x.count + y.count) { s, p, n in
      x.keys.withUnsafeBufferPointer { xk in
        y.keys.withUnsafeBufferPointer { yk in
          x.positives.withUnsafeBufferPointer { xp in
            x.negatives.withUnsafeBufferPointer { xn in
              y.positives.withUnsafeBufferPointer { yp in
                y.negatives.withUnsafeBufferPointer { yn in
                  let a = (SharedBuffer(base: xk), SharedBuffer(base: xp), SharedBuffer(base: xn))
                  let b = (SharedBuffer(base: yk), SharedBuffer(base: yp), SharedBuffer(base: yn))
                  let (k, seen) = inParts([a.0, b.0], sizes: [x.count, y.count], into: (s, p, n)) { r, out, base in
                    mergeKernel(
                      (a.0[r[0]], a.1[r[0]], a.2[r[0]]), (b.0[r[1]], b.1[r[1]], b.2[r[1]]), into: out, at: base)
                  }
                  probe = seen
                  return k
                }
              }
            }
          }
        }
      }
    }
    return probe <= UInt64(UInt32.max) ? out : nil
  }

  /// The sorted merge of `x` and `y` into `out` from index `base`: the
  /// number of scores written, and the bitwise or of every count read and
  /// written (past 32 bits if a sum overflowed).
  private static func mergeKernel(_ x: Read, _ y: Read, into out: Written, at base: Int) -> (count: Int, probe: UInt64)
  {
    let (xk, xp, xn) = x
    let (yk, yp, yn) = y
    let (s, p, n) = out
    let nx = xk.count
    let ny = yk.count
    var probe: UInt64 = 0
    var i = 0
    var j = 0
    var k = base
    while i < nx && j < ny {
      let a = xk[i].bits
      let b = yk[j].bits
      let (xpi, xni, ypj, ynj) = (UInt64(xp[i]), UInt64(xn[i]), UInt64(yp[j]), UInt64(yn[j]))
      let tx = bit(a <= b)
      let ty = bit(b <= a)
      // Counts times 1 or 0: both sides' counts are read every step (and
      // into `probe`), so no load waits on a branch.
      let pos = xpi &* UInt64(tx) &+ ypj &* UInt64(ty)
      let neg = xni &* UInt64(tx) &+ ynj &* UInt64(ty)
      probe |= pos | neg | xpi | xni | ypj | ynj
      s[k] = Float32Key(bits: a <= b ? a : b)
      p[k] = UInt32(truncatingIfNeeded: pos)
      n[k] = UInt32(truncatingIfNeeded: neg)
      i &+= tx
      j &+= ty
      k &+= 1
    }
    for (keys, pos, neg, r) in [(xk, xp, xn, i), (yk, yp, yn, j)] {
      for e in r..<keys.count {
        s[k] = keys[e]
        p[k] = pos[e]
        n[k] = neg[e]
        k &+= 1
      }
    }
    return (k &- base, probe)
  }

  /// Runs `kernel` on the parts of a merge of the sorted key lists `lists`
  /// (of `sizes` keys each), on every core for large merges, and packs the
  /// parts' outputs together in `out`; returns how many it holds and the
  /// bitwise or of the parts' probes.
  ///
  /// The parts are `parallelMap`'s parts of the longest list, each cut
  /// moved back to the first of equal keys, and the other lists cut at the
  /// same keys: no key is in two parts, and each part takes every list's
  /// keys below the next cut. Part *r* writes from the sum of the earlier
  /// parts' items (one score at most per item) and its `kernel` gets the
  /// index ranges it takes of each list, the outputs and that index.
  private static func inParts(
    _ lists: [SharedBuffer<Float32Key>], sizes: [Int],
    into columns: (
      UnsafeMutableBufferPointer<Float32Key>, UnsafeMutableBufferPointer<UInt32>, UnsafeMutableBufferPointer<UInt32>
    ),
    _ kernel: @Sendable ([Range<Int>], Written, Int) -> (count: Int, probe: UInt64)
  ) -> (count: Int, probe: UInt64) {
    let out = (UnsafeSendableBox(columns.0), UnsafeSendableBox(columns.1), UnsafeSendableBox(columns.2))
    let longest = sizes.indices.max { sizes[$0] < sizes[$1] } ?? 0
    let n = sizes[longest]
    let ranges = chunks(n, parts: activeCores)
    // cuts[r][list]: where part r begins in each list.
    var cuts = [[Int]](repeating: [Int](repeating: 0, count: lists.count), count: ranges.count + 1)
    cuts[ranges.count] = sizes
    for r in ranges.indices.dropFirst() {
      let pivot = lists[longest][ranges[r].lowerBound].bits
      for l in lists.indices {
        // The first key of list l not below the pivot (binary search).
        var (lo, hi) = (0, sizes[l])
        while lo < hi {
          let mid = (lo + hi) / 2
          if lists[l][mid].bits < pivot { lo = mid + 1 } else { hi = mid }
        }
        cuts[r][l] = lo
      }
    }
    let parts = ranges.indices.map { r in lists.indices.map { l in cuts[r][l]..<cuts[r + 1][l] } }
    let bases = parts.indices.map { r in parts[..<r].reduce(0) { $0 + $1.reduce(0) { $0 + $1.count } } }
    let results = parallelMap(n) { range in
      guard let r = ranges.firstIndex(of: range) else {
        preconditionFailure("internal: parallelMap's part \(range) is not one of \(ranges)")
      }
      return kernel(parts[r], out, bases[r])
    }
    // Pack: each part's scores moved down after the previous part's.
    var written = 0
    for (r, result) in results.enumerated() {
      if bases[r] != written {
        for e in 0..<result.count {
          out.0[written + e] = out.0[bases[r] + e]
          out.1[written + e] = out.1[bases[r] + e]
          out.2[written + e] = out.2[bases[r] + e]
        }
      }
      written += result.count
    }
    return (written, results.reduce(0) { $0 | $1.probe })
  }

  /// The index of the first key not above its predecessor, if any.
  var firstDescent: Int? { keys.indices.dropFirst().first { keys[$0 - 1].bits >= keys[$0].bits } }

  /// The total positive and negative counts (exact).
  var totals: (positives: UInt64, negatives: UInt64) {
    var p: UInt64 = 0
    var n: UInt64 = 0
    for c in positives { p &+= UInt64(c) }
    for c in negatives { n &+= UInt64(c) }
    return (p, n)
  }

  /// The same histogram as sums: float64 scores, counts as `Double`s.
  var sums: SumColumns {
    var s = SumColumns()
    s.scores = keys.map(\.score)
    s.positiveHeads = positives.map(Double.init)
    s.negativeHeads = negatives.map(Double.init)
    return s
  }
}

//===--- Sums -------------------------------------------------------------===//

/// Weighted sums at float64 scores: each distinct score and its positive
/// and negative sums, as the sums' rounded values (``CompensatedSum/head``)
/// with their compensation terms (``CompensatedSum/tail``) only while some
/// is not zero: 24 bytes a score, 40 with compensation terms.
struct SumColumns: Sendable {
  /// The distinct scores, ascending.
  var scores: [Double] = []
  /// The rounded value of the positive sum at each score.
  var positiveHeads: [Double] = []
  /// The rounded value of the negative sum at each score.
  var negativeHeads: [Double] = []
  /// The compensation terms of the sums, or `nil` when every one is 0.
  var tails: Tails? = nil
  /// Whether every sum is a whole number in [0, 2⁵³) without compensation
  /// term: such sums add exactly, in any order.
  var holdsCounts = true

  /// The compensation terms of the sums, one per score.
  struct Tails: Sendable, Equatable {
    var positives: [Double]
    var negatives: [Double]
  }

  init() {}

  /// Columns of the given sums; tails that are all 0 are dropped.
  init(
    scores: [Double], positiveHeads: [Double], negativeHeads: [Double], positiveTails: [Double]?,
    negativeTails: [Double]?
  ) {
    self.scores = scores
    self.positiveHeads = positiveHeads
    self.negativeHeads = negativeHeads
    let pt = positiveTails ?? []
    let nt = negativeTails ?? []
    if pt.contains(where: { $0 != 0 }) || nt.contains(where: { $0 != 0 }) {
      tails = Tails(
        positives: pt.isEmpty ? [Double](repeating: 0, count: positiveHeads.count) : pt,
        negatives: nt.isEmpty ? [Double](repeating: 0, count: negativeHeads.count) : nt)
    }
    holdsCounts = tails == nil && positiveHeads.allSatisfy(Self.isCount) && negativeHeads.allSatisfy(Self.isCount)
  }

  /// Columns of the given compensated sums.
  init(scores: [Double], positives: [CompensatedSum], negatives: [CompensatedSum]) {
    self.init(
      scores: scores, positiveHeads: positives.map(\.head), negativeHeads: negatives.map(\.head),
      positiveTails: positives.map(\.tail), negativeTails: negatives.map(\.tail))
  }

  /// The number of distinct scores.
  var count: Int { scores.count }

  /// Whether `h` is a count that `Double` sums exactly: whole, in [0, 2⁵³),
  /// not −0.
  @inline(__always)
  static func isCount(_ h: Double) -> Bool {
    h.sign == .plus && h < 0x1p53 && h.rounded(.towardZero) == h
  }

  /// The positive sum at score `i`.
  @inline(__always)
  func positive(_ i: Int) -> CompensatedSum {
    CompensatedSum(head: positiveHeads[i], tail: tails?.positives[i] ?? 0)
  }

  /// The negative sum at score `i`.
  @inline(__always)
  func negative(_ i: Int) -> CompensatedSum {
    CompensatedSum(head: negativeHeads[i], tail: tails?.negatives[i] ?? 0)
  }

  /// The counts of sorted samples, as sums (for float64 scores, or counts
  /// beyond 32 bits).
  init<Key: ScoreOrderKey>(countingSorted positives: inout [Key], _ negatives: inout [Key]) {
    let np = positives.count
    let nn = negatives.count
    positives.append(Key.end)
    negatives.append(Key.end)
    defer {
      positives.removeLast()
      negatives.removeLast()
    }
    (scores, positiveHeads, negativeHeads) = filledColumns(capacity: np + nn) { s, p, n in
      positives.withUnsafeBufferPointer { pos in
        negatives.withUnsafeBufferPointer { neg in
          var i = 0
          var j = 0
          var k = -1
          var last = UInt64.max  // no score's key
          var (cp, cn): (UInt64, UInt64) = (0, 0)
          for _ in 0..<(np + nn) {
            let a = pos[i].radixKey
            let b = neg[j].radixKey
            let tp = bit(a <= b)
            let key = a <= b ? a : b
            if key != last {
              if k >= 0 {
                p.initializeElement(at: k, to: Double(cp))
                n.initializeElement(at: k, to: Double(cn))
              }
              k &+= 1
              s.initializeElement(at: k, to: Key(radixKey: key).score)
              (cp, cn) = (0, 0)
              last = key
            }
            cp &+= UInt64(tp)
            cn &+= UInt64(1 &- tp)
            i &+= tp
            j &+= 1 &- tp
          }
          if k >= 0 {
            p.initializeElement(at: k, to: Double(cp))
            n.initializeElement(at: k, to: Double(cn))
          }
          return k &+ 1
        }
      }
    }
    holdsCounts = positiveHeads.allSatisfy(Self.isCount) && negativeHeads.allSatisfy(Self.isCount)
  }

  /// The weighted sums of one batch: the samples sorted by score (stably:
  /// equal scores in sample order), then each score's weights summed with
  /// compensation, positives and negatives apart.
  ///
  /// - Complexity: O(*n*) (radix sort of 16-byte key-index pairs).
  init(sorting truth: [Double], pred: [Double], weights: [Double]?) {
    let order = RadixSort.sorted([pred.indices.map { KeyedIndex(key: Float64Key(pred[$0]).bits, index: $0) }])
    var scores: [Double] = []
    var positives: [CompensatedSum] = []
    var negatives: [CompensatedSum] = []
    var last = UInt64.max
    for e in order {
      if e.key != last {
        scores.append(Float64Key(radixKey: e.key).score)
        positives.append(CompensatedSum())
        negatives.append(CompensatedSum())
        last = e.key
      }
      let w = weights?[e.index] ?? 1
      if truth[e.index] != 0 {
        positives[positives.count - 1].add(w)
      } else {
        negatives[negatives.count - 1].add(w)
      }
    }
    self.init(scores: scores, positives: positives, negatives: negatives)
  }

  /// The same histogram as counts, when every score is a float32 (not −0,
  /// whose key is +0's) and every sum a count below 2³².
  var counts: CountColumns? {
    guard holdsCounts,
      scores.allSatisfy({ Double(Float($0)) == $0 && !($0 == 0 && $0.sign == .minus) }),
      positiveHeads.allSatisfy({ $0 <= Double(UInt32.max) }),
      negativeHeads.allSatisfy({ $0 <= Double(UInt32.max) })
    else { return nil }
    var c = CountColumns()
    c.keys = scores.map { Float32Key(Float($0)) }
    c.positives = positiveHeads.map { UInt32($0) }
    c.negatives = negativeHeads.map { UInt32($0) }
    return c
  }

  /// Equal scores and equal sums (heads and tails).
  static func == (a: SumColumns, b: SumColumns) -> Bool {
    func sameTails(_ x: [Double]?, _ y: [Double]?) -> Bool {
      switch (x, y) {
      case (nil, nil): true
      case (let x?, let y?): x == y
      case (let x?, nil), (nil, let x?): x.allSatisfy { $0 == 0 }
      }
    }
    return a.scores == b.scores && a.positiveHeads == b.positiveHeads && a.negativeHeads == b.negativeHeads
      && sameTails(a.tails?.positives, b.tails?.positives) && sameTails(a.tails?.negatives, b.tails?.negatives)
  }

  /// Adds another's sums: counts as plain `Double`s while both hold
  /// counts and no sum reaches 2⁵³ (exact), else compensated sums.
  mutating func merge(_ other: SumColumns) {
    if holdsCounts && other.holdsCounts, let merged = Self.mergedCounts(self, other) {
      self = merged
    } else {
      self = Self.mergedSums(self, other)
    }
  }

  /// The merge of two histograms of counts, adding plain `Double`s, or
  /// `nil` if a sum reaches 2⁵³ (where a unit may be lost).
  private static func mergedCounts(_ x: SumColumns, _ y: SumColumns) -> SumColumns? {
    var largest = 0.0
    var out = SumColumns()
    (out.scores, out.positiveHeads, out.negativeHeads) = filledColumns(capacity: x.count + y.count) { s, p, n in
      x.scores.withUnsafeBufferPointer { xs in
        y.scores.withUnsafeBufferPointer { ys in
          x.positiveHeads.withUnsafeBufferPointer { xp in
            x.negativeHeads.withUnsafeBufferPointer { xn in
              y.positiveHeads.withUnsafeBufferPointer { yp in
                y.negativeHeads.withUnsafeBufferPointer { yn in
                  let (k, l) = mergeKernel((xs, xp, xn), (ys, yp, yn), into: (s, p, n))
                  largest = l
                  return k
                }
              }
            }
          }
        }
      }
    }
    return largest < 0x1p53 ? out : nil
  }

  /// The columns of a histogram, read.
  typealias Read = (UnsafeBufferPointer<Double>, UnsafeBufferPointer<Double>, UnsafeBufferPointer<Double>)
  /// The columns of a histogram, written.
  typealias Written = (
    UnsafeMutableBufferPointer<Double>, UnsafeMutableBufferPointer<Double>, UnsafeMutableBufferPointer<Double>
  )

  /// The sorted merge of the counts `x` and `y` into `out`: the number of
  /// scores written and the largest sum of a positive and a negative count.
  private static func mergeKernel(_ x: Read, _ y: Read, into out: Written) -> (count: Int, largest: Double) {
    let (xs, xp, xn) = x
    let (ys, yp, yn) = y
    let (s, p, n) = out
    let nx = xs.count
    let ny = ys.count
    var largest = 0.0
    var i = 0
    var j = 0
    var k = 0
    while i < nx && j < ny {
      let a = xs[i]
      let b = ys[j]
      let takeX = !(b < a)
      let takeY = !(a < b)
      // Counts times 1 or 0 (exact): arithmetic, which the compiler does
      // not turn into branches on the loads.
      let fx = Double(bit(takeX))
      let fy = Double(bit(takeY))
      let pos = xp[i] * fx + yp[j] * fy
      let neg = xn[i] * fx + yn[j] * fy
      // Equal scores: x's, as the compensated merge keeps.
      s.initializeElement(at: k, to: takeX ? a : b)
      p.initializeElement(at: k, to: pos)
      n.initializeElement(at: k, to: neg)
      let both = pos + neg
      largest = both > largest ? both : largest
      i &+= bit(takeX)
      j &+= bit(takeY)
      k &+= 1
    }
    for (sc, pos, neg, r) in [(xs, xp, xn, i), (ys, yp, yn, j)] {
      for e in r..<sc.count {
        s.initializeElement(at: k, to: sc[e])
        p.initializeElement(at: k, to: pos[e])
        n.initializeElement(at: k, to: neg[e])
        k &+= 1
      }
    }
    return (k, largest)
  }

  /// The merge of any two histograms, adding compensated sums.
  private static func mergedSums(_ x: SumColumns, _ y: SumColumns) -> SumColumns {
    let capacity = x.count + y.count
    var scores: [Double] = []
    var heads: ([Double], [Double]) = ([], [])
    var tails: ([Double], [Double]) = ([], [])
    scores.reserveCapacity(capacity)
    heads.0.reserveCapacity(capacity)
    heads.1.reserveCapacity(capacity)
    tails.0.reserveCapacity(capacity)
    tails.1.reserveCapacity(capacity)
    func append(_ s: Double, _ p: CompensatedSum, _ n: CompensatedSum) {
      scores.append(s)
      heads.0.append(p.head)
      heads.1.append(n.head)
      tails.0.append(p.tail)
      tails.1.append(n.tail)
    }
    var i = 0
    var j = 0
    while i < x.count || j < y.count {
      if j == y.count || (i < x.count && x.scores[i] < y.scores[j]) {
        append(x.scores[i], x.positive(i), x.negative(i))
        i += 1
      } else if i == x.count || y.scores[j] < x.scores[i] {
        append(y.scores[j], y.positive(j), y.negative(j))
        j += 1
      } else {
        var p = x.positive(i)
        p.merge(y.positive(j))
        var n = x.negative(i)
        n.merge(y.negative(j))
        append(x.scores[i], p, n)
        i += 1
        j += 1
      }
    }
    return SumColumns(
      scores: scores, positiveHeads: heads.0, negativeHeads: heads.1, positiveTails: tails.0,
      negativeTails: tails.1)
  }
}
