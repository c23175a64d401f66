//===--- AccuracyKernels.swift --------------------------------------------===//
//
// The accuracy family's fast paths: binary accuracy over flat labels and
// scores, and sparse (top-k) categorical accuracy over rows of class
// scores, read in place and split across cores. `ClassRows` also serves
// sparse categorical cross-entropy (ProbabilisticKernels.swift).
//
//===----------------------------------------------------------------------===//

import CTallyKernels

//===--- Binary accuracy --------------------------------------------------===//

/// Matches of `y_true == (y_pred > threshold)` over flat buffers.
func binaryMatches<P: BinaryFloatingPoint & Sendable & SendableMetatype, L: TensorScalar>(
  _ p: SharedBuffer<P>, _ t: SharedBuffer<L>, threshold: Double
) -> Int {
  let thr = P(Float(threshold))
  return parallelMap(p.count) { r -> Int in
    var hits = 0
    for i in r {
      let predicted: Double = p[i] > thr ? 1 : 0
      if t[i].doubleValue == predicted { hits &+= 1 }
    }
    return hits
  }.reduce(0, +)
}

/// Matches of binary accuracy over float32 labels and scores, vectorised:
/// a label matches when it is 1 and the score is above the threshold, or 0
/// and it is not.
func binaryMatchesFloat(_ p: SharedBuffer<Float>, _ t: SharedBuffer<Float>, threshold: Double) -> Int {
  let thr = Float(threshold)
  return parallelMap(p.count) { r -> Int in
    // Four 4-lane accumulators: SIMD4 is one register on baseline x86-64
    // (SSE2) and arm64, where wider masks are packed and unpacked.
    var i = r.lowerBound
    // The blocks of eight in AVX2 when the CPU has it (an integer count:
    // the same in any order).
    var wide: Int64 = 0
    let blocks = r.count / 8 * 8
    if blocks > 0, useWideKernels, tally_binary_matches_avx2(p.address(i), t.address(i), blocks, thr, &wide) != 0 {
      i += blocks
    }
    var c0 = SIMD4<Int32>(repeating: 0)
    var c1 = c0
    var c2 = c0
    var c3 = c0
    let threshold = SIMD4<Float>(repeating: thr)
    /// A hit: the label equals the prediction, 1 above the threshold, else 0.
    @inline(__always) func hits(_ k: Int) -> SIMD4<Int32> {
      let v = thresholdStep(p, t, at: k, threshold)
      return SIMD4(onesWhere: v.labels .== SIMD4<Float>(onesWhere: v.above))
    }
    while i + 16 <= r.upperBound {
      c0 &+= hits(i)
      c1 &+= hits(i &+ 4)
      c2 &+= hits(i &+ 8)
      c3 &+= hits(i &+ 12)
      i &+= 16
    }
    var total = Int(wide) &+ Int(((c0 &+ c1) &+ (c2 &+ c3)).wrappedSum())
    while i < r.upperBound {
      let predicted: Float = p[i] > thr ? 1 : 0
      total &+= t[i] == predicted ? 1 : 0
      i += 1
    }
    return total
  }.reduce(0, +)
}

/// The mean state of an unweighted binary-accuracy batch of flat inputs
/// (`(N,)` or `(N, 1)`, one sample per element), or `nil`.
func binaryAccuracyState(yTrue: Tensor, yPred: Tensor, sampleWeight: Tensor?, threshold: Double) -> MeanState? {
  guard sampleWeight == nil, yPred.count > 0, yTrue.count == yPred.count,
    yPred.rank == 1 || (yPred.rank == 2 && yPred.shape[1] == 1),
    yTrue.rank == 1 || (yTrue.rank == 2 && yTrue.shape[1] == 1)
  else { return nil }
  /// The matches of scores of type `P` against the labels, of any type.
  func labels<P: BinaryFloatingPoint & Sendable & SendableMetatype>(_ p: SharedBuffer<P>) -> Int {
    switch yTrue.storage {
    case .float32(let b): b.withUnsafeBufferPointer { binaryMatches(p, SharedBuffer(base: $0), threshold: threshold) }
    case .float64(let b): b.withUnsafeBufferPointer { binaryMatches(p, SharedBuffer(base: $0), threshold: threshold) }
    case .int(let b): b.withUnsafeBufferPointer { binaryMatches(p, SharedBuffer(base: $0), threshold: threshold) }
    case .int32(let b): b.withUnsafeBufferPointer { binaryMatches(p, SharedBuffer(base: $0), threshold: threshold) }
    case .int64(let b): b.withUnsafeBufferPointer { binaryMatches(p, SharedBuffer(base: $0), threshold: threshold) }
    case .uint8(let b): b.withUnsafeBufferPointer { binaryMatches(p, SharedBuffer(base: $0), threshold: threshold) }
    case .bool(let b): b.withUnsafeBufferPointer { binaryMatches(p, SharedBuffer(base: $0), threshold: threshold) }
    }
  }
  let hits: Int
  switch (yPred.storage, yTrue.storage) {
  case (.float32(let b), .float32(let l)):
    hits = b.withUnsafeBufferPointer { pb in
      l.withUnsafeBufferPointer { lb in
        binaryMatchesFloat(SharedBuffer(base: pb), SharedBuffer(base: lb), threshold: threshold)
      }
    }
  case (.float32(let b), _): hits = b.withUnsafeBufferPointer { labels(SharedBuffer(base: $0)) }
  case (.float64(let b), _): hits = b.withUnsafeBufferPointer { labels(SharedBuffer(base: $0)) }
  default: return nil
  }
  var s = MeanState()
  s.total = CompensatedSum(Double(hits))
  s.count = Int64(yPred.count)
  return s
}

//===--- Rows of class scores ---------------------------------------------===//

/// A batch of `(N, C)` float scores with one integer label per row
/// (`(N,)` or `(N, 1)`), read in place; `nil` for other shapes and types.
struct ClassRows {
  let rows: Int
  let classes: Int

  /// The layout of `yPred` against `yTrue`, or `nil` when the shapes are
  /// not `(N, C)` and `(N,)` or `(N, 1)`.
  init?(yTrue: Tensor, yPred: Tensor) {
    guard yPred.rank == 2, yPred.shape[1] > 0, yPred.shape[0] > 0,
      yTrue.count == yPred.shape[0], yTrue.rank == 1 || (yTrue.rank == 2 && yTrue.shape[1] == 1)
    else { return nil }
    rows = yPred.shape[0]
    classes = yPred.shape[1]
  }

  /// Calls `perRow(scores, label)` for each row in parallel chunks and
  /// combines the chunk results with `combine`, in row order; the labels
  /// must be integer class ids in `[0, C)` (else the first bad row is
  /// reported).
  func map<R: Sendable>(
    yTrue: Tensor, yPred: Tensor, truncatingLabels: Bool = false,
    _ perChunk: @escaping @Sendable (SharedBuffer<Float>?, SharedBuffer<Double>?, [Int], Range<Int>) -> R
  ) -> (results: [R], badRow: Int?)? {
    var labels = yTrue.doubles()
    if truncatingLabels { labels = labels.map { $0.rounded(.towardZero) } }
    let c = classes
    if let i = labels.firstIndex(where: { $0 != $0.rounded() || $0 < 0 || $0 >= Double(c) }) {
      return ([], i)
    }
    let ids = labels.map { Int($0) }
    switch yPred.storage {
    case .float32(let b):
      return b.withUnsafeBufferPointer { p in
        let shared = SharedBuffer(base: p)
        return (parallelMap(rows, itemSize: c) { r in perChunk(shared, nil, ids, r) }, nil)
      }
    case .float64(let b):
      return b.withUnsafeBufferPointer { p in
        let shared = SharedBuffer(base: p)
        return (parallelMap(rows, itemSize: c) { r in perChunk(nil, shared, ids, r) }, nil)
      }
    default:
      return nil
    }
  }
}

/// Whether `argmax(row) == target` (ties: lowest index; NaN: the first NaN,
/// as NumPy's argmax), without finding the argmax: the label's score wins
/// when every score before it is smaller and every score after it is no
/// larger. The whole row is read, right or wrong: a scan that stopped at
/// the first score beating the label's made W3's realistic rows (80 %
/// right) run at half the speed of all-right ones (4.1 against 7.9 Mrows/s
/// on one core; the lines a wrong row skips break the hardware prefetcher's
/// stream, we think).
@inline(__always)
func isArgmaxFloat(_ row: SharedBuffer<Float>, _ target: Int) -> Bool {
  let c = row.count
  let s = row[target]
  if s.isNaN {
    // NaN at the label wins only as the first NaN.
    for j in 0..<target where row[j].isNaN { return false }
    return true
  }
  let sv = SIMD16<Float>(repeating: s)
  // Before the label: each score must be < s (false for NaN); after it,
  // <= s (false for NaN). `bad` gathers the lanes that are not.
  var bad = SIMDMask<SIMD16<Int32>>(repeating: false)
  var j = 0
  while j + 16 <= target {
    bad .|= .!(row.load(SIMD16<Float>.self, at: j) .< sv)
    j += 16
  }
  var wrong = false
  while j < target {
    wrong = wrong || !(row[j] < s)
    j += 1
  }
  j = target + 1
  while j + 16 <= c {
    bad .|= .!(row.load(SIMD16<Float>.self, at: j) .<= sv)
    j += 16
  }
  while j < c {
    wrong = wrong || !(row[j] <= s)
    j += 1
  }
  return !wrong && !any(bad)
}

/// Whether fewer than `k` elements of `row` are strictly greater than `s`
/// or NaN (Keras's `in_top_k` on its NumPy backend, which sorts NaN above
/// every number); `s` is not NaN. The whole row is read (as
/// `isArgmaxFloat`, for the prefetcher).
@inline(__always)
func fewerGreater(_ row: SharedBuffer<Float>, than s: Float, _ k: Int) -> Bool {
  let c = row.count
  var j = 0
  var lanes = SIMD16<Int32>()
  let threshold = SIMD16<Float>(repeating: s)
  while j + 16 <= c {
    // At most C / 16 per lane; their 32-bit sum wraps only past 2^31 classes.
    lanes &+= SIMD16<Int32>(onesWhere: .!(row.load(SIMD16<Float>.self, at: j) .<= threshold))
    j += 16
  }
  var n = Int(lanes.wrappedSum())
  while j < c {
    n &+= !(row[j] <= s) ? 1 : 0
    j += 1
  }
  return n < k
}

/// Hits of `label == argmax(row)` (ties: lowest index) or, with `k`,
/// `fewer than k scores > row[label]` (Keras's in_top_k), per chunk: one
/// pass per row, no sort.
func classRowHits(
  _ f: SharedBuffer<Float>?, _ d: SharedBuffer<Double>?, ids: [Int], rows r: Range<Int>, classes c: Int, topK k: Int?
) -> Int {
  var hits = 0
  for row in r {
    let base = row * c
    let target = ids[row]
    if let f {
      let p = f[base..<(base + c)]
      if let k {
        // A NaN target score is a miss (Keras's in_top_k).
        let s = p[target]
        hits &+= !s.isNaN && fewerGreater(p, than: s, k) ? 1 : 0
      } else {
        hits &+= isArgmaxFloat(p, target) ? 1 : 0
      }
    } else if let d {
      if let k {
        let s = d[base + target]
        var higher = 0
        for j in base..<(base + c) { higher &+= !(d[j] <= s) ? 1 : 0 }
        hits &+= !s.isNaN && higher < k ? 1 : 0
      } else {
        var best = 0
        for j in 0..<c {
          if d[base + best].isNaN { break }
          if d[base + j].isNaN || d[base + j] > d[base + best] { best = j }
        }
        hits &+= best == target ? 1 : 0
      }
    }
  }
  return hits
}

/// The mean state of an unweighted sparse (top-k) accuracy batch of
/// `(N, C)` scores, or `nil` for the general path.
func sparseAccuracyState(yTrue: Tensor, yPred: Tensor, sampleWeight: Tensor?, topK: Int?, function: String)
  throws(MetricError) -> MeanState?
{
  guard sampleWeight == nil, let layout = ClassRows(yTrue: yTrue, yPred: yPred) else { return nil }
  let c = layout.classes
  guard
    let (parts, bad) = layout.map(
      yTrue: yTrue, yPred: yPred,
      { f, d, ids, r in
        classRowHits(f, d, ids: ids, rows: r, classes: c, topK: topK)
      })
  else { return nil }
  if let bad {
    throw .invalidValue(
      "\(function): class ids must be integers in [0, \(c)); received \(yTrue.doubles()[bad]) at flat index \(bad)")
  }
  var s = MeanState()
  s.total = CompensatedSum(Double(parts.reduce(0, +)))
  s.count = Int64(layout.rows)
  return s
}
