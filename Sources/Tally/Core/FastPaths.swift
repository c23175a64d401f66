//===--- FastPaths.swift --------------------------------------------------===//
//
// Allocation-free kernels for the common shapes of the hottest updates:
// flat binary labels and scores for the confusion-matrix family, and flat
// element-wise means for the accuracy and error metrics. They read the
// caller's buffers in place, split large batches across cores (each core
// on its own partial counts, merged at the end), and give the same counts
// as the general path, which they fall back to for anything else.
//
//===----------------------------------------------------------------------===//

import RealModule

//===--- Confusion-matrix counting ----------------------------------------===//

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
    let p = pred.base
    let y = truth.base
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

/// Bucket counts of float32 scores against float32 labels on an evenly
/// spaced grid, in two phases per block of 1,024 elements: first the
/// histogram slot of every element, vectorised (4 lanes, no float-to-int
/// conversion: `ceil` by the 2²³ rounding trick, exact for the grid's
/// range), then the increments alone, into four interleaved histograms
/// (one above 256 thresholds, to stay in cache). Bucketing and incrementing
/// element by element ran at a third of this speed on the benchmark machine
/// (measured, not profiled). The buckets are those of
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
  // frequent flushes cost more than they save: measured 15 % slower.)
  var counts = [UInt32](repeating: 0, count: lanes * slots)
  var pos = [Int](repeating: 0, count: t + 1)
  var neg = [Int](repeating: 0, count: t + 1)
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
  let scale = SIMD4<Float>(repeating: Float(t - 1))
  let magic = SIMD4<Float>(repeating: 8_388_608)  // 2²³: x + 2²³ rounds x to an integer
  let magicBits = SIMD4<Int32>(repeating: 0x4B00_0000)
  let floorSlot = SIMD4<Int32>(repeating: th.withEpsilon ? 2 : 0)  // 2·(floorBucket + 1)
  let zero = SIMD4<Float>(repeating: 0)
  let one = SIMD4<Float>(repeating: 1)
  let intOne = SIMD4<Int32>(repeating: 1)
  let intZero = SIMD4<Int32>(repeating: 0)
  var invalid = SIMD4<Int32>(repeating: 0)
  let pr = UnsafeRawPointer(pred.base.baseAddress!)
  let tr = UnsafeRawPointer(truth.base.baseAddress!)
  let block = 1024
  var slot = [Int32](repeating: 0, count: block)
  counts.withUnsafeMutableBufferPointer { c in
    slot.withUnsafeMutableBufferPointer { slot in
      var start = range.lowerBound
      while start < range.upperBound {
        let n = Swift.min(block, range.upperBound - start)
        if sinceFlush + n > Int(UInt32.max) {
          flush(c)
          sinceFlush = 0
        }
        var j = 0
        while j + 4 <= n {
          let offset = (start + j) * 4
          var f = pr.loadUnaligned(fromByteOffset: offset, as: SIMD4<Float>.self)
          let y = tr.loadUnaligned(fromByteOffset: offset, as: SIMD4<Float>.self)
          let isNaN = f .!= f
          let isPos = y .== one
          let valid = isPos .| (y .== zero)
          invalid |= intZero.replacing(with: intOne, where: isNaN .| .!valid)
          // NaN and below 0 to 0, above 1 to 1 (selects: the generic
          // pointwise min/max are calls, not instructions).
          f = f.replacing(with: zero, where: isNaN .| (f .< zero)).replacing(with: one, where: f .> one)
          let x = f * scale
          let m = x + magic
          let rounded = unsafeBitCast(m, to: SIMD4<Int32>.self) &- magicBits
          let ceil = rounded &+ intZero.replacing(with: intOne, where: (m - magic) .< x)
          // slot = 2·(bucket + 1) + isPositive, bucket = max(ceil − 1, floorBucket)
          let twice = ceil &+ ceil
          let s = twice.replacing(with: floorSlot, where: twice .< floorSlot) &+ intZero.replacing(with: intOne, where: isPos)
          UnsafeMutableRawPointer(slot.baseAddress!).storeBytes(of: s, toByteOffset: j * 4, as: SIMD4<Int32>.self)
          j += 4
        }
        while j < n {
          let i = start + j
          var f = pred.base[i]
          let y = truth.base[i]
          if f.isNaN || (y != 0 && y != 1) { invalid[0] = 1 }
          if f.isNaN { f = 0 }
          let x = Swift.min(Swift.max(f, 0), 1) * scale[0]
          let b = Swift.max(Int(x.rounded(.up)) - 1, th.withEpsilon ? 0 : -1)
          slot[j] = Int32(2 * (b + 1) + (y == 1 ? 1 : 0))
          j += 1
        }
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
  guard invalid == SIMD4<Int32>(repeating: 0) else {
    // Find the first invalid element, as the general kernel reports it.
    return th.bucketCounts(pred, truth, range)
  }
  return BucketCounts(pos: pos, neg: neg)
}

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
          return Self.combine(parallelMap(p.count) { r in evenBucketCountsFloat(thresholds, sp, sl, r) }, thresholds.count)
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

//===--- Flat element-wise means ------------------------------------------===//

/// A flat, unweighted batch of same-shape float inputs whose per-sample
/// values are single elements: `(N,)` against `(N,)` for element-wise
/// metrics, or `(N, 1)` against `(N, 1)`.
enum FlatPair {
  /// Calls `body` with both inputs as `Float` or `Double` buffers of one
  /// type, or returns `nil` when the inputs are of other types or shapes.
  static func withBuffers<R>(
    _ yTrue: Tensor, _ yPred: Tensor,
    _ body: (SharedBuffer<Double>?, SharedBuffer<Float>?, SharedBuffer<Double>?, SharedBuffer<Float>?) -> R
  ) -> R? {
    guard yTrue.shape == yPred.shape, yPred.count > 0 else { return nil }
    switch (yTrue.storage, yPred.storage) {
    case (.float32(let t), .float32(let p)):
      return t.withUnsafeBufferPointer { t in
        p.withUnsafeBufferPointer { p in body(nil, SharedBuffer(base: t), nil, SharedBuffer(base: p)) }
      }
    case (.float64(let t), .float64(let p)):
      return t.withUnsafeBufferPointer { t in
        p.withUnsafeBufferPointer { p in body(SharedBuffer(base: t), nil, SharedBuffer(base: p), nil) }
      }
    default:
      return nil
    }
  }
}

/// `Σ f(t_i, p_i)` over flat buffers, compensated, split across cores.
/// Four independent double-double lanes per core keep the adds pipelined;
/// the lanes and cores are merged in a fixed order.
func flatSum<T: BinaryFloatingPoint & SendableMetatype>(
  _ t: SharedBuffer<T>, _ p: SharedBuffer<T>, _ f: @escaping @Sendable (Double, Double) -> Double
) -> CompensatedSum {
  let parts = parallelMap(t.base.count) { r -> CompensatedSum in
    var lanes = (CompensatedSum(), CompensatedSum(), CompensatedSum(), CompensatedSum())
    var i = r.lowerBound
    while i + 4 <= r.upperBound {
      lanes.0.add(f(Double(t.base[i]), Double(p.base[i])))
      lanes.1.add(f(Double(t.base[i + 1]), Double(p.base[i + 1])))
      lanes.2.add(f(Double(t.base[i + 2]), Double(p.base[i + 2])))
      lanes.3.add(f(Double(t.base[i + 3]), Double(p.base[i + 3])))
      i += 4
    }
    while i < r.upperBound {
      lanes.0.add(f(Double(t.base[i]), Double(p.base[i])))
      i += 1
    }
    lanes.0.merge(lanes.1)
    lanes.2.merge(lanes.3)
    lanes.0.merge(lanes.2)
    return lanes.0
  }
  var total = CompensatedSum()
  for part in parts { total.merge(part) }
  return total
}

/// The element-wise error of a float32 pair, vectorised.
enum FlatError: Sendable {
  case squared, absolute
}

/// `Σ err(t_i − p_i)` over float32 buffers: eight double-double lanes
/// (vectorised 2Sum), split across cores, merged in a fixed order. The
/// same value as ``flatSum(_:_:_:)`` up to the last bit of the double-double.
func flatErrorSum(_ t: SharedBuffer<Float>, _ p: SharedBuffer<Float>, _ kind: FlatError) -> CompensatedSum {
  let parts = parallelMap(t.base.count) { r -> CompensatedSum in
    var hi = SIMD8<Double>(repeating: 0)
    var lo = SIMD8<Double>(repeating: 0)
    var i = r.lowerBound
    let tr = UnsafeRawPointer(t.base.baseAddress!)
    let pr = UnsafeRawPointer(p.base.baseAddress!)
    while i + 8 <= r.upperBound {
      let tv = SIMD8<Double>(tr.loadUnaligned(fromByteOffset: i * 4, as: SIMD8<Float>.self))
      let pv = SIMD8<Double>(pr.loadUnaligned(fromByteOffset: i * 4, as: SIMD8<Float>.self))
      let d = tv - pv
      let v: SIMD8<Double>
      switch kind {
      case .squared: v = d * d
      case .absolute: v = d.replacing(with: -d, where: d .< 0)
      }
      let s = hi + v
      let bb = s - hi
      lo += (hi - (s - bb)) + (v - bb)
      hi = s
      i += 8
    }
    var total = CompensatedSum()
    for k in 0..<8 {
      var lane = CompensatedSum(hi[k])
      lane.add(lo[k])
      total.merge(lane)
    }
    while i < r.upperBound {
      let d = Double(t.base[i]) - Double(p.base[i])
      total.add(kind == .squared ? d * d : abs(d))
      i += 1
    }
    return total
  }
  var total = CompensatedSum()
  for part in parts { total.merge(part) }
  return total
}

/// The mean state of an unweighted batch whose per-sample value is the mean
/// of `f` over the last axis, for flat float inputs: `(N,)` (one sample:
/// Keras reduces the only axis) or `(N, 1)` (N samples). `nil` otherwise.
func flatMeanState(
  yTrue: Tensor, yPred: Tensor, sampleWeight: Tensor?, kind: FlatError? = nil,
  _ f: @escaping @Sendable (Double, Double) -> Double
) -> MeanState? {
  guard sampleWeight == nil, yPred.rank == 1 || (yPred.rank == 2 && yPred.shape[1] == 1) else { return nil }
  let sum: CompensatedSum? = FlatPair.withBuffers(yTrue, yPred) { td, tf, pd, pf in
    if let tf, let pf {
      if let kind { return flatErrorSum(tf, pf, kind) }
      return flatSum(tf, pf, f)
    }
    return flatSum(td!, pd!, f)
  }
  guard let sum else { return nil }
  var s = MeanState()
  if yPred.rank == 1 {
    // One sample: the mean over the only axis.
    s.total = CompensatedSum(sum.value / Double(yPred.count))
    s.count = 1
  } else {
    s.total = sum
    s.count = Int64(yPred.count)
  }
  return s
}

//===--- Binary accuracy --------------------------------------------------===//

/// Matches of `y_true == (y_pred > threshold)` over flat buffers.
func binaryMatches<P: BinaryFloatingPoint & Sendable & SendableMetatype, L: TensorScalar>(
  _ p: SharedBuffer<P>, _ t: SharedBuffer<L>, threshold: Double
) -> Int {
  let thr = P(Float(threshold))
  return parallelMap(p.base.count) { r -> Int in
    var hits = 0
    for i in r {
      let predicted: Double = p.base[i] > thr ? 1 : 0
      if t.base[i].doubleValue == predicted { hits &+= 1 }
    }
    return hits
  }.reduce(0, +)
}

/// Matches of binary accuracy over float32 labels and scores, vectorised:
/// a label matches when it is 1 and the score is above the threshold, or 0
/// and it is not.
func binaryMatchesFloat(_ p: SharedBuffer<Float>, _ t: SharedBuffer<Float>, threshold: Double) -> Int {
  let thr = Float(threshold)
  return parallelMap(p.base.count) { r -> Int in
    // Four 4-lane accumulators: SIMD4 is one register on baseline x86-64
    // (SSE2) and arm64, where wider masks are packed and unpacked.
    var i = r.lowerBound
    var c0 = SIMD4<Int32>(repeating: 0)
    var c1 = c0
    var c2 = c0
    var c3 = c0
    let threshold = SIMD4<Float>(repeating: thr)
    let ones = SIMD4<Float>(repeating: 1)
    let zeros = SIMD4<Float>(repeating: 0)
    let one = SIMD4<Int32>(repeating: 1)
    let zero = SIMD4<Int32>(repeating: 0)
    let pr = UnsafeRawPointer(p.base.baseAddress!)
    let tr = UnsafeRawPointer(t.base.baseAddress!)
    // A hit: the label equals the prediction, 1 above the threshold, else 0.
    @inline(__always) func hits(_ k: Int) -> SIMD4<Int32> {
      let pv = pr.loadUnaligned(fromByteOffset: k &* 4, as: SIMD4<Float>.self)
      let tv = tr.loadUnaligned(fromByteOffset: k &* 4, as: SIMD4<Float>.self)
      let predicted = zeros.replacing(with: ones, where: pv .> threshold)
      return zero.replacing(with: one, where: tv .== predicted)
    }
    while i + 16 <= r.upperBound {
      c0 &+= hits(i)
      c1 &+= hits(i &+ 4)
      c2 &+= hits(i &+ 8)
      c3 &+= hits(i &+ 12)
      i &+= 16
    }
    var total = Int(((c0 &+ c1) &+ (c2 &+ c3)).wrappedSum())
    while i < r.upperBound {
      let predicted: Float = p.base[i] > thr ? 1 : 0
      total &+= t.base[i] == predicted ? 1 : 0
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
    _ perChunk: @escaping @Sendable (UnsafeBufferPointer<Float>?, UnsafeBufferPointer<Double>?, [Int], Range<Int>) -> R
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
        return (parallelMap(rows) { r in perChunk(shared.base, nil, ids, r) }, nil)
      }
    case .float64(let b):
      return b.withUnsafeBufferPointer { p in
        let shared = SharedBuffer(base: p)
        return (parallelMap(rows) { r in perChunk(nil, shared.base, ids, r) }, nil)
      }
    default:
      return nil
    }
  }
}

/// Whether `argmax(row) == target` (ties: lowest index; NaN: the first NaN,
/// as NumPy's argmax), without finding the argmax: the label's score wins
/// when every score before it is smaller and every score after it is no
/// larger. The scan stops at the first score that beats the label's, so a
/// wrong prediction usually costs a cache line or two instead of the whole
/// row; a right one reads the whole row.
@inline(__always)
func isArgmaxFloat(_ row: UnsafePointer<Float>, _ c: Int, _ target: Int) -> Bool {
  let s = row[target]
  let raw = UnsafeRawPointer(row)
  if s.isNaN {
    // NaN at the label wins only as the first NaN.
    for j in 0..<target where row[j].isNaN { return false }
    return true
  }
  let sv = SIMD16<Float>(repeating: s)
  // Before the label: each score must be < s (false for NaN).
  var j = 0
  while j + 16 <= target {
    let v = raw.loadUnaligned(fromByteOffset: j * 4, as: SIMD16<Float>.self)
    if any(.!(v .< sv)) { return false }
    j += 16
  }
  while j < target {
    if !(row[j] < s) { return false }
    j += 1
  }
  // After the label: each score must be <= s (false for NaN).
  j = target + 1
  while j + 16 <= c {
    let v = raw.loadUnaligned(fromByteOffset: j * 4, as: SIMD16<Float>.self)
    if any(.!(v .<= sv)) { return false }
    j += 16
  }
  while j < c {
    if !(row[j] <= s) { return false }
    j += 1
  }
  return true
}

/// Whether fewer than `k` elements of `row` are strictly greater than `s`
/// (Keras's `in_top_k`), stopping as soon as `k` are found.
@inline(__always)
func fewerGreater(_ row: UnsafePointer<Float>, _ c: Int, than s: Float, _ k: Int) -> Bool {
  var j = 0
  var n = 0
  let threshold = SIMD16<Float>(repeating: s)
  let one = SIMD16<Int32>(repeating: 1)
  let zero = SIMD16<Int32>(repeating: 0)
  let raw = UnsafeRawPointer(row)
  while j + 16 <= c {
    let v = raw.loadUnaligned(fromByteOffset: j * 4, as: SIMD16<Float>.self)
    n &+= Int(zero.replacing(with: one, where: v .> threshold).wrappedSum())
    if n >= k { return false }
    j += 16
  }
  while j < c {
    n &+= row[j] > s ? 1 : 0
    j += 1
  }
  return n < k
}

/// Hits of `label == argmax(row)` (ties: lowest index) or, with `k`,
/// `fewer than k scores > row[label]` (Keras's in_top_k), per chunk: one
/// pass per row, no sort.
func classRowHits(_ f: UnsafeBufferPointer<Float>?, _ d: UnsafeBufferPointer<Double>?, ids: [Int], rows r: Range<Int>, classes c: Int, topK k: Int?) -> Int {
  var hits = 0
  for row in r {
    let base = row * c
    let target = ids[row]
    if let f, let start = f.baseAddress {
      let p = start + base
      if let k {
        hits &+= fewerGreater(p, c, than: p[target], k) ? 1 : 0
      } else {
        hits &+= isArgmaxFloat(p, c, target) ? 1 : 0
      }
    } else if let d {
      if let k {
        let s = d[base + target]
        var higher = 0
        for j in base..<(base + c) { higher &+= d[j] > s ? 1 : 0 }
        hits &+= higher < k ? 1 : 0
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
    let (parts, bad) = layout.map(yTrue: yTrue, yPred: yPred, { f, d, ids, r in
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

/// The sum of a row of floats, vectorised (16 lanes, then the tail).
@inline(__always)
func rowSum(_ row: UnsafePointer<Float>, _ c: Int) -> Float {
  var j = 0
  var acc = SIMD16<Float>(repeating: 0)
  let raw = UnsafeRawPointer(row)
  while j + 16 <= c {
    acc += raw.loadUnaligned(fromByteOffset: j * 4, as: SIMD16<Float>.self)
    j += 16
  }
  var s = acc.sum()
  while j < c {
    s += row[j]
    j += 1
  }
  return s
}

/// The mean state of an unweighted sparse categorical cross-entropy batch
/// of `(N, C)` float32 probabilities (class axis last, no ignored class):
/// `−log(clip(p[y] / Σp))` per row in one pass over the row, or `nil`.
func sparseCrossentropyState(yTrue: Tensor, yPred: Tensor, sampleWeight: Tensor?) throws(MetricError)
  -> MeanState?
{
  guard sampleWeight == nil, yPred.dtype == .float32, let layout = ClassRows(yTrue: yTrue, yPred: yPred) else {
    return nil
  }
  let c = layout.classes
  guard
    let (parts, bad) = layout.map(yTrue: yTrue, yPred: yPred, truncatingLabels: true, { f, _, ids, r -> CompensatedSum in
      var total = CompensatedSum()
      guard let base = f?.baseAddress else { return total }
      let lo = Double(Float(kerasEpsilon))
      let hi = Double(Float(1 - kerasEpsilon))
      for row in r {
        let p = base + row * c
        let q = Double(p[ids[row]]) / Double(rowSum(p, c))
        total.add(-Double.log(Swift.min(Swift.max(q, lo), hi)))
      }
      return total
    })
  else { return nil }
  if let bad {
    throw .invalidValue(
      "sparse_categorical_crossentropy: class ids must be in [0, \(c)); received \(yTrue.doubles()[bad]) at flat index \(bad)")
  }
  var s = MeanState()
  for part in parts { s.total.merge(part) }
  s.count = Int64(layout.rows)
  return s
}

//===--- IoU confusion matrix ---------------------------------------------===//

/// Counts of `(true, predicted)` pairs of class ids over flat buffers, or the
/// first pair outside `[0, C)` (pairs whose true id is `ignore` are skipped).
func pairCounts<T: TensorScalar, P: TensorScalar>(
  _ t: SharedBuffer<T>, _ p: SharedBuffer<P>, classes c: Int, ignore: Int?
) -> (counts: [Int], bad: Int?) {
  let parts = parallelMap(t.base.count) { r -> ([Int], Int?) in
    var counts = [Int](repeating: 0, count: c * c)
    let limit = Double(c)
    let ignored = ignore.map(Double.init) ?? .nan
    var bad: Int? = nil
    counts.withUnsafeMutableBufferPointer { counts in
      for i in r {
        let a = t.base[i].doubleValue.rounded(.towardZero)
        if a == ignored { continue }
        let b = p.base[i].doubleValue.rounded(.towardZero)
        guard a >= 0, a < limit, b >= 0, b < limit else {
          bad = i
          return
        }
        counts[Int(a) &* c &+ Int(b)] &+= 1
      }
    }
    return (counts, bad)
  }
  var total = [Int](repeating: 0, count: c * c)
  for (counts, bad) in parts {
    if let bad { return (total, bad) }
    for k in total.indices { total[k] &+= counts[k] }
  }
  return (total, nil)
}

extension IoUCore {
  /// An unweighted batch of sparse class ids, counted in place across
  /// cores; `nil` for the general path.
  func fastBatch(yTrue: Tensor, yPred: Tensor, sampleWeight: Tensor?) throws(MetricError) -> ConfusionMatrixState? {
    guard sampleWeight == nil, threshold == nil, sparseYTrue, sparseYPred, yTrue.count == yPred.count,
      yTrue.count > 0
    else { return nil }
    func withPred<T: TensorScalar>(_ t: SharedBuffer<T>) -> (counts: [Int], bad: Int?) {
      switch yPred.storage {
      case .float32(let b): b.withUnsafeBufferPointer { pairCounts(t, SharedBuffer(base: $0), classes: numClasses, ignore: ignoreClass) }
      case .float64(let b): b.withUnsafeBufferPointer { pairCounts(t, SharedBuffer(base: $0), classes: numClasses, ignore: ignoreClass) }
      case .int(let b): b.withUnsafeBufferPointer { pairCounts(t, SharedBuffer(base: $0), classes: numClasses, ignore: ignoreClass) }
      case .int32(let b): b.withUnsafeBufferPointer { pairCounts(t, SharedBuffer(base: $0), classes: numClasses, ignore: ignoreClass) }
      case .int64(let b): b.withUnsafeBufferPointer { pairCounts(t, SharedBuffer(base: $0), classes: numClasses, ignore: ignoreClass) }
      case .uint8(let b): b.withUnsafeBufferPointer { pairCounts(t, SharedBuffer(base: $0), classes: numClasses, ignore: ignoreClass) }
      case .bool(let b): b.withUnsafeBufferPointer { pairCounts(t, SharedBuffer(base: $0), classes: numClasses, ignore: ignoreClass) }
      }
    }
    let result: (counts: [Int], bad: Int?)
    switch yTrue.storage {
    case .float32(let b): result = b.withUnsafeBufferPointer { withPred(SharedBuffer(base: $0)) }
    case .float64(let b): result = b.withUnsafeBufferPointer { withPred(SharedBuffer(base: $0)) }
    case .int(let b): result = b.withUnsafeBufferPointer { withPred(SharedBuffer(base: $0)) }
    case .int32(let b): result = b.withUnsafeBufferPointer { withPred(SharedBuffer(base: $0)) }
    case .int64(let b): result = b.withUnsafeBufferPointer { withPred(SharedBuffer(base: $0)) }
    case .uint8(let b): result = b.withUnsafeBufferPointer { withPred(SharedBuffer(base: $0)) }
    case .bool(let b): result = b.withUnsafeBufferPointer { withPred(SharedBuffer(base: $0)) }
    }
    if let i = result.bad {
      throw .invalidValue(
        "\(className): class ids must be in [0, \(numClasses)); received y_true \(yTrue.doubles()[i].rounded(.towardZero)) and y_pred \(yPred.doubles()[i].rounded(.towardZero)) at flat index \(i)"
      )
    }
    var m = ConfusionMatrixState(classes: numClasses)
    for t in 0..<numClasses {
      for p in 0..<numClasses where result.counts[t * numClasses + p] != 0 {
        m.add(true: t, predicted: p, weight: Double(result.counts[t * numClasses + p]))
      }
    }
    return m
  }
}

/// Bucket counts for one threshold over float32 buffers, vectorised:
/// positives and negatives above the threshold (bucket 0) and at or below
/// it (bucket −1), or the first invalid element.
func singleThresholdCounts(_ p: SharedBuffer<Float>, _ t: SharedBuffer<Float>, threshold thr: Float) -> BucketCounts {
  let parts = parallelMap(p.base.count) { r -> (SIMD4<Int>, Bool) in
    // Per 4-lane step: positives above, all above, positives, negatives
    // and NaN scores, each a subtraction of a comparison mask (−1 or 0).
    // Negatives above = above − positives above once every label is 0 or
    // 1 (positives + negatives = count), which the caller checks.
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
    let ones = SIMD4<Float>(repeating: 1)
    let zeros = SIMD4<Float>(repeating: 0)
    let one = SIMD4<Int32>(repeating: 1)
    let zero = SIMD4<Int32>(repeating: 0)
    let pr = UnsafeRawPointer(p.base.baseAddress!)
    let tr = UnsafeRawPointer(t.base.baseAddress!)
    @inline(__always) func step(_ k: Int, _ c: inout Counts) {
      let pv = pr.loadUnaligned(fromByteOffset: k &* 4, as: SIMD4<Float>.self)
      let tv = tr.loadUnaligned(fromByteOffset: k &* 4, as: SIMD4<Float>.self)
      let above = pv .> threshold
      let isPos = tv .== ones
      c.above &+= zero.replacing(with: one, where: above)
      c.posAbove &+= zero.replacing(with: one, where: above .& isPos)
      c.pos &+= zero.replacing(with: one, where: isPos)
      c.neg &+= zero.replacing(with: one, where: tv .== zeros)
      c.nan &+= zero.replacing(with: one, where: pv .!= pv)
    }
    var i = r.lowerBound
    while i + 8 <= r.upperBound {
      step(i, &c0)
      step(i &+ 4, &c1)
      i &+= 8
    }
    var scalar = SIMD4<Int>(repeating: 0)  // posAbove, negAbove, pos, all
    var bad = false
    while i < r.upperBound {
      let x = p.base[i]
      let y = t.base[i]
      if x.isNaN || (y != 0 && y != 1) { bad = true }
      if x > thr { if y == 1 { scalar[0] += 1 } else if y == 0 { scalar[1] += 1 } }
      if y == 1 { scalar[2] += 1 }
      i += 1
    }
    let vectorised = (r.upperBound - r.lowerBound) / 8 * 8
    let pos = Int((c0.pos &+ c1.pos).wrappedSum())
    let neg = Int((c0.neg &+ c1.neg).wrappedSum())
    let posAbove = Int((c0.posAbove &+ c1.posAbove).wrappedSum())
    let above = Int((c0.above &+ c1.above).wrappedSum())
    if pos + neg != vectorised || (c0.nan &+ c1.nan) != zero { bad = true }
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
    return th.bucketCounts(p, t, 0..<p.base.count)
  }
  let negatives = total[3] - total[2]
  return BucketCounts(
    pos: [total[2] - total[0], total[0]], neg: [negatives - total[1], total[1]])
}
