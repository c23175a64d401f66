//===--- ConfusionKernels.swift -------------------------------------------===//
//
// The confusion-matrix family's fast path: an unweighted batch of flat
// binary labels and float scores, counted per threshold bucket in place,
// across cores, without the general path's per-element arrays; the general
// path (ConfusionMatrix.swift) takes everything else.
//
//===----------------------------------------------------------------------===//

import CTallyKernels

//===--- Bucket histograms ------------------------------------------------===//

/// Per-bucket counts of one slice: `pos[b + 1]`, `neg[b + 1]` for bucket
/// `b ∈ −1..<T`, or the first invalid element.
struct BucketCounts: Sendable {
  var pos: [Int]
  var neg: [Int]
  var badLabel: Int? = nil
  var badPrediction: Int? = nil
}

extension Thresholds {
  /// Counts labels per bucket over `range`, reading scores of type `P` and
  /// labels of type `L` in place. Branch-free in the hot loop (random
  /// labels and scores would mispredict every other branch): validity is
  /// collected in a flag, and the first invalid element is found by a second
  /// scan only when there is one.
  func bucketCounts<P: BinaryFloatingPoint, L: TensorScalar>(
    _ pred: SharedBuffer<P>, _ truth: SharedBuffer<L>, _ range: Range<Int>
  ) -> BucketCounts {
    let t = sorted.count
    // counts[lane·stride + 2·(b + 1) + isPositive], four lanes so that
    // consecutive increments of one bucket do not wait on each other; with
    // many buckets repeats are rare and one lane keeps the histogram in
    // cache.
    let stride = 2 * (t + 1)
    let laneMask = t > 256 ? 0 : 3
    var counts = [Int](repeating: 0, count: (laneMask + 1) * stride)
    let p = pred
    let y = truth
    let scale = Float(t - 1)
    let floorBucket = withEpsilon ? 0 : -1
    var invalid = 0
    let evenly = evenlySpaced
    sorted.withUnsafeBufferPointer { th in
      counts.withUnsafeMutableBufferPointer { counts in
        for i in range {
          let raw = Float(p[i])
          let label = y[i].doubleValue
          invalid |= (raw.isNaN ? 1 : 0) | (label != 0 ? 1 : 0) & (label != 1 ? 1 : 0)
          let f = raw.isNaN ? 0 : raw
          var b: Int
          if evenly {
            // ceil(x) − 1 without libm's ceilf (a call per element on
            // baseline x86-64): truncate, then add one when x was above.
            let x = Swift.min(Swift.max(f, 0), 1) * scale
            let whole = Int(Int32(x))
            b = whole &+ (Float(whole) < x ? 1 : 0) &- 1
            b = b < floorBucket ? floorBucket : b
          } else {
            // Branch-free count of thresholds below f.
            var base = 0
            var len = th.count
            while len > 1 {
              let half = len >> 1
              base = f > th[base &+ half &- 1] ? base &+ half : base
              len &-= half
            }
            b = base &+ (f > th[base] ? 1 : 0) &- 1
          }
          let isPositive = label == 1 ? 1 : 0
          counts[(i & laneMask) &* stride &+ 2 &* (b &+ 1) &+ isPositive] &+= 1
        }
      }
    }
    var pos = [Int](repeating: 0, count: t + 1)
    var neg = [Int](repeating: 0, count: t + 1)
    for lane in 0...laneMask {
      for k in 0...t {
        neg[k] += counts[lane * stride + 2 * k]
        pos[k] += counts[lane * stride + 2 * k + 1]
      }
    }
    guard invalid != 0 else { return BucketCounts(pos: pos, neg: neg) }
    for i in range {
      if Float(p[i]).isNaN { return BucketCounts(pos: pos, neg: neg, badPrediction: i) }
      let label = y[i].doubleValue
      if label != 0 && label != 1 { return BucketCounts(pos: pos, neg: neg, badLabel: i) }
    }
    return BucketCounts(pos: pos, neg: neg)
  }
}

/// Which of four float32 labels are 1 and which are 0 (any other value is
/// an invalid binary label).
@inline(__always)
func binaryLabels(_ y: SIMD4<Float>) -> (positive: SIMDMask<SIMD4<Int32>>, negative: SIMDMask<SIMD4<Int32>>) {
  (y .== SIMD4<Float>(repeating: 1), y .== SIMD4<Float>(repeating: 0))
}

/// The slot `2·(b + 1) + isPositive` of each row in `range` (`b` its
/// bucket among evenly spaced thresholds, as ``Thresholds/bucket(_:)``),
/// written to `out[i - shift]`, four rows to a vector step; `true` when a
/// row is invalid (a NaN score or a label other than 0 and 1), whose slot
/// is then meaningless.
@inline(__always)
func evenSlotsFloat(
  _ th: Thresholds, _ pred: SharedBuffer<Float>, _ truth: SharedBuffer<Float>, _ range: Range<Int>,
  into out: UnsafeSendableBox<Int32>, shift: Int
) -> Bool {
  let scale = SIMD4<Float>(repeating: Float(th.sorted.count - 1))
  let magic = SIMD4<Float>(repeating: 8_388_608)  // 2²³: x + 2²³ rounds x to an integer
  let magicBits = SIMD4<Int32>(repeating: 0x4B00_0000)
  let floorSlot = SIMD4<Int32>(repeating: th.withEpsilon ? 2 : 0)  // 2·(floorBucket + 1)
  let zero = SIMD4<Float>(repeating: 0)
  let one = SIMD4<Float>(repeating: 1)
  var invalid = SIMD4<Int32>(repeating: 0)
  var i = range.lowerBound
  // Eight lanes at a time in AVX2 where the CPU has it (the same
  // operations, lane for lane), then four.
  let blocks = range.count / 8 * 8
  var wideInvalid: Int32 = 0
  if blocks > 0, useWideKernels,
    tally_even_slots_avx2(
      pred.address(i), truth.address(i), blocks, scale[0], floorSlot[0], out.address(i &- shift), &wideInvalid) != 0
  {
    i &+= blocks
  }
  if wideInvalid != 0 { invalid = SIMD4(repeating: 1) }
  while i + 4 <= range.upperBound {
    var f = pred.load(SIMD4<Float>.self, at: i)
    let y = truth.load(SIMD4<Float>.self, at: i)
    let isNaN = f .!= f
    let (isPos, isNeg) = binaryLabels(y)
    invalid |= SIMD4(onesWhere: isNaN .| .!(isPos .| isNeg))
    // NaN and below 0 to 0, above 1 to 1 (selects: the generic
    // pointwise min/max are calls, not instructions).
    f = f.replacing(with: zero, where: isNaN .| (f .< zero)).replacing(with: one, where: f .> one)
    let x = f * scale
    let m = x + magic
    let rounded = unsafeBitCast(m, to: SIMD4<Int32>.self) &- magicBits
    let ceil = rounded &+ SIMD4(onesWhere: (m - magic) .< x)
    // slot = 2·(bucket + 1) + isPositive, bucket = max(ceil − 1, floorBucket)
    let twice = ceil &+ ceil
    let s = twice.replacing(with: floorSlot, where: twice .< floorSlot) &+ SIMD4(onesWhere: isPos)
    out.store(s, at: i - shift)
    i += 4
  }
  var bad = invalid != SIMD4<Int32>(repeating: 0)
  while i < range.upperBound {
    var f = pred[i]
    let y = truth[i]
    if f.isNaN || (y != 0 && y != 1) { bad = true }
    if f.isNaN { f = 0 }
    let x = Swift.min(Swift.max(f, 0), 1) * scale[0]
    let b = Swift.max(Int(x.rounded(.up)) - 1, th.withEpsilon ? 0 : -1)
    out[i - shift] = Int32(2 * (b + 1) + (y == 1 ? 1 : 0))
    i += 1
  }
  return bad
}

/// Bucket counts of float32 scores against float32 labels on an evenly
/// spaced grid, in two phases per block of 1,024 elements: first the
/// histogram slot of every element, vectorised (4 lanes, no float-to-int
/// conversion: `ceil` by the 2²³ rounding trick, exact for the grid's
/// range), then the increments alone, into four interleaved histograms
/// (one above 256 thresholds, to stay in cache); bucketing and incrementing
/// element by element was several times slower in the benchmarks
/// (BENCHMARKS.md). The buckets are those of
/// ``Thresholds/bucket(_:)``; the caller keeps grids below 2²² points.
func evenBucketCountsFloat(
  _ th: Thresholds, _ pred: SharedBuffer<Float>, _ truth: SharedBuffer<Float>, _ range: Range<Int>
) -> BucketCounts {
  let t = th.sorted.count
  let slots = 2 * (t + 1)
  let lanes = t > 256 ? 1 : 4
  let laneStride = lanes == 1 ? 0 : slots
  // 32-bit counts, added into 64-bit totals before any can reach 2³².
  // (16-bit counts would keep 10,000 thresholds' histogram in L1, but their
  // frequent flushes cost more than they save in the benchmarks.)
  var counts = [UInt32](repeating: 0, count: lanes * slots)
  var pos = [Int](repeating: 0, count: t + 1)
  var neg = [Int](repeating: 0, count: t + 1)
  /// Adds the 32-bit lane counts into the totals and clears them.
  func flush(_ c: UnsafeMutableBufferPointer<UInt32>) {
    for lane in 0..<lanes {
      for k in 0...t {
        neg[k] &+= Int(c[lane &* slots &+ 2 &* k])
        pos[k] &+= Int(c[lane &* slots &+ 2 &* k &+ 1])
      }
    }
    for k in c.indices { c[k] = 0 }
  }
  var sinceFlush = 0
  var invalid = false
  let block = 1024
  var slot = [Int32](repeating: 0, count: block)
  counts.withUnsafeMutableBufferPointer { c in
    slot.withUnsafeMutableBufferPointer { slotBuffer in
      let slot = UnsafeSendableBox(slotBuffer)
      var start = range.lowerBound
      while start < range.upperBound {
        let n = Swift.min(block, range.upperBound - start)
        if sinceFlush + n > Int(UInt32.max) {
          flush(c)
          sinceFlush = 0
        }
        if evenSlotsFloat(th, pred, truth, start..<(start + n), into: slot, shift: start) { invalid = true }
        var k = 0
        while k + 4 <= n {
          c[Int(slot[k])] &+= 1
          c[laneStride &+ Int(slot[k &+ 1])] &+= 1
          c[2 &* laneStride &+ Int(slot[k &+ 2])] &+= 1
          c[3 &* laneStride &+ Int(slot[k &+ 3])] &+= 1
          k &+= 4
        }
        while k < n {
          c[Int(slot[k])] &+= 1
          k &+= 1
        }
        start += n
        sinceFlush += n
      }
      flush(c)
    }
  }
  guard !invalid else {
    // Find the first invalid element, as the general kernel reports it.
    return th.bucketCounts(pred, truth, range)
  }
  return BucketCounts(pos: pos, neg: neg)
}

//===--- One threshold ----------------------------------------------------===//

/// Bucket counts for one threshold over float32 buffers, vectorised:
/// positives and negatives above the threshold (bucket 0) and at or below
/// it (bucket −1), or the first invalid element.
func singleThresholdCounts(_ p: SharedBuffer<Float>, _ t: SharedBuffer<Float>, threshold thr: Float) -> BucketCounts {
  let parts = parallelMap(p.count) { r -> (SIMD4<Int>, Bool) in
    // Per 4-lane step: positives above, all above, positives, negatives
    // and NaN scores, each a comparison mask added as 0 or 1.
    // Negatives above = above − positives above once every label is 0 or
    // 1 (positives + negatives = count), which the caller checks.
    /// The counts of one accumulator, per lane.
    struct Counts {
      var posAbove = SIMD4<Int32>(repeating: 0)
      var above = SIMD4<Int32>(repeating: 0)
      var pos = SIMD4<Int32>(repeating: 0)
      var neg = SIMD4<Int32>(repeating: 0)
      var nan = SIMD4<Int32>(repeating: 0)
    }
    var c0 = Counts()
    var c1 = Counts()
    let threshold = SIMD4<Float>(repeating: thr)
    var i = r.lowerBound
    // The blocks of eight in AVX2 when the CPU has it (integer counts: the
    // same in any order): posAbove, above, pos, neg, NaN scores.
    var wide = (Int64(0), Int64(0), Int64(0), Int64(0), Int64(0))
    let blocks = r.count / 8 * 8
    if blocks > 0, useWideKernels,
      withUnsafeMutableBytes(
        of: &wide,
        { w in
          tally_threshold_counts_avx2(
            p.address(i), t.address(i), blocks, thr, w.baseAddress.unsafelyUnwrapped.assumingMemoryBound(to: Int64.self)
          )
        }) != 0
    {
      i += blocks
    }
    /// Adds the counts of the four elements from `k` to `c`.
    @inline(__always) func step(_ k: Int, _ c: inout Counts) {
      let v = thresholdStep(p, t, at: k, threshold)
      let (isPos, isNeg) = binaryLabels(v.labels)
      c.above &+= SIMD4(onesWhere: v.above)
      c.posAbove &+= SIMD4(onesWhere: v.above .& isPos)
      c.pos &+= SIMD4(onesWhere: isPos)
      c.neg &+= SIMD4(onesWhere: isNeg)
      c.nan &+= SIMD4(onesWhere: v.scores .!= v.scores)
    }
    while i + 8 <= r.upperBound {
      step(i, &c0)
      step(i &+ 4, &c1)
      i &+= 8
    }
    var scalar = SIMD4<Int>(repeating: 0)  // posAbove, negAbove, pos, all
    var bad = false
    while i < r.upperBound {
      let x = p[i]
      let y = t[i]
      if x.isNaN || (y != 0 && y != 1) { bad = true }
      if x > thr { if y == 1 { scalar[0] += 1 } else if y == 0 { scalar[1] += 1 } }
      if y == 1 { scalar[2] += 1 }
      i += 1
    }
    let vectorised = (r.upperBound - r.lowerBound) / 8 * 8
    let pos = Int(wide.2) + Int((c0.pos &+ c1.pos).wrappedSum())
    let neg = Int(wide.3) + Int((c0.neg &+ c1.neg).wrappedSum())
    let posAbove = Int(wide.0) + Int((c0.posAbove &+ c1.posAbove).wrappedSum())
    let above = Int(wide.1) + Int((c0.above &+ c1.above).wrappedSum())
    if pos + neg != vectorised || wide.4 != 0 || (c0.nan &+ c1.nan) != SIMD4(repeating: 0) { bad = true }
    scalar[0] += posAbove
    scalar[1] += above - posAbove
    scalar[2] += pos
    scalar[3] = r.count
    return (scalar, bad)
  }
  var total = SIMD4<Int>(repeating: 0)
  var bad = false
  for (c, b) in parts {
    total &+= c
    bad = bad || b
  }
  if bad {
    // Find the first invalid element, as the general kernel reports it.
    let th = Thresholds([Double(thr)], evenlySpaced: false)
    return th.bucketCounts(p, t, 0..<p.count)
  }
  let negatives = total[3] - total[2]
  return BucketCounts(
    pos: [total[2] - total[0], total[0]], neg: [negatives - total[1], total[1]])
}

//===--- The fast path of an update ---------------------------------------===//

extension ConfusionUpdate {
  /// Adds the counts of an unweighted batch of flat binary labels and
  /// float scores to `state` and returns `true`, or returns `false` when the
  /// batch needs the general path (weights, top-k, class ids, label
  /// weights, logits, multi-label, other shapes or types). Adding in place
  /// spares a batch's worth of count arrays (with 10,000 thresholds, 640 KB
  /// of fresh pages per update). Throws before changing `state`.
  func addFastCounts(to state: inout ConfusionCounts, yTrue: Tensor, yPred: Tensor, sampleWeight: Tensor?)
    throws(MetricError) -> Bool
  {
    guard sampleWeight == nil, topK == nil, classId == nil, labelWeights == nil, !fromLogits,
      !multiLabel, yTrue.count == yPred.count, yPred.count > 0
    else { return false }
    let (p, t) = Tensor.squeezeOrExpandToSameRank(yPred, yTrue)
    guard p.shape == t.shape else { return false }
    let buckets: BucketCounts?
    switch yPred.storage {
    case .float32(let pb): buckets = try withLabels(yTrue, pb)
    case .float64(let pb): buckets = try withLabels(yTrue, pb)
    default: buckets = nil
    }
    guard let buckets else { return false }
    if let i = buckets.badPrediction {
      throw .invalidValue("\(metricName): y_pred holds NaN at flat index \(i)")
    }
    if let i = buckets.badLabel {
      throw .invalidValue(
        "\(metricName) needs binary labels in {0, 1}; received y_true value \(yTrue.doubles()[i]) at flat index \(i)")
    }
    // Reverse cumulative sums, added in the thresholds' given order.
    let tCount = thresholds.count
    if state.isEmpty { state = ConfusionCounts(thresholds: tCount, labels: 1) }
    try state.addCumulative(pos: buckets.pos, neg: buckets.neg, order: thresholds.order)
    return true
  }

  /// The bucket counts of scores of type `P` by the fastest kernel that
  /// fits the labels' type and the thresholds.
  private func withLabels<P: BinaryFloatingPoint & TensorScalar>(_ yTrue: Tensor, _ pb: TensorBuffer<P>)
    throws(MetricError) -> BucketCounts?
  {
    // One threshold over float32 labels and scores: vectorised counts.
    if thresholds.count == 1, !thresholds.evenlySpaced, P.self == Float.self, case .float32(let lb) = yTrue.storage {
      let fb = unsafeBitCast(pb, to: TensorBuffer<Float>.self)
      return fb.withUnsafeBufferPointer { p in
        lb.withUnsafeBufferPointer { l in
          singleThresholdCounts(SharedBuffer(base: p), SharedBuffer(base: l), threshold: thresholds.sorted[0])
        }
      }
    }
    // The vector kernel's rounding trick holds for p·(T−1) < 2²²: up to
    // about four million thresholds.
    if thresholds.evenlySpaced, thresholds.count - 1 < 1 << 22, P.self == Float.self,
      case .float32(let lb) = yTrue.storage
    {
      let fb = unsafeBitCast(pb, to: TensorBuffer<Float>.self)
      return fb.withUnsafeBufferPointer { p in
        lb.withUnsafeBufferPointer { l in
          let sp = SharedBuffer(base: p)
          let sl = SharedBuffer(base: l)
          let thresholds = self.thresholds
          return Self.combine(
            parallelMap(p.count) { r in evenBucketCountsFloat(thresholds, sp, sl, r) }, thresholds.count)
        }
      }
    }
    switch yTrue.storage {
    case .float32(let lb): return count(pb, lb)
    case .float64(let lb): return count(pb, lb)
    case .int(let lb): return count(pb, lb)
    case .int32(let lb): return count(pb, lb)
    case .int64(let lb): return count(pb, lb)
    case .uint8(let lb): return count(pb, lb)
    case .bool(let lb): return count(pb, lb)
    }
  }

  /// The bucket counts of scores of type `P` against labels of type `L`,
  /// by the general kernel across cores.
  private func count<P: BinaryFloatingPoint & TensorScalar, L: TensorScalar>(
    _ pb: TensorBuffer<P>, _ lb: TensorBuffer<L>
  ) -> BucketCounts {
    pb.withUnsafeBufferPointer { p in
      lb.withUnsafeBufferPointer { l in
        let sp = SharedBuffer(base: p)
        let sl = SharedBuffer(base: l)
        let thresholds = self.thresholds
        return Self.combine(parallelMap(p.count) { r in thresholds.bucketCounts(sp, sl, r) }, thresholds.count)
      }
    }
  }

  /// The chunks' counts added up; the first chunk with a bad element names it.
  private static func combine(_ parts: [BucketCounts], _ thresholds: Int) -> BucketCounts {
    var total = BucketCounts(
      pos: [Int](repeating: 0, count: thresholds + 1),
      neg: [Int](repeating: 0, count: thresholds + 1))
    for part in parts {
      if total.badLabel == nil && total.badPrediction == nil {
        total.badLabel = part.badLabel
        total.badPrediction = part.badPrediction
      }
      for k in total.pos.indices {
        total.pos[k] += part.pos[k]
        total.neg[k] += part.neg[k]
      }
    }
    return total
  }
}
