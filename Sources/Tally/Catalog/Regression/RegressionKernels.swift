//===--- RegressionKernels.swift ------------------------------------------===//
//
// The regression family's fast path: compensated element-wise means of
// flat float inputs (mean squared and absolute error), split across cores,
// float32 vectorised.
//
//===----------------------------------------------------------------------===//

import CTallyKernels
import Foundation

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
  let parts = parallelMap(t.count) { r -> CompensatedSum in
    var lanes = (CompensatedSum(), CompensatedSum(), CompensatedSum(), CompensatedSum())
    var i = r.lowerBound
    while i + 4 <= r.upperBound {
      lanes.0.add(f(Double(t[i]), Double(p[i])))
      lanes.1.add(f(Double(t[i + 1]), Double(p[i + 1])))
      lanes.2.add(f(Double(t[i + 2]), Double(p[i + 2])))
      lanes.3.add(f(Double(t[i + 3]), Double(p[i + 3])))
      i += 4
    }
    while i < r.upperBound {
      lanes.0.add(f(Double(t[i]), Double(p[i])))
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

/// Whether the loops of CTallyKernels run where the CPU has their vector
/// units (`TALLY_WIDE_KERNELS=0` turns them off, to compare).
let useWideKernels: Bool = {
  if let v = getenv("TALLY_WIDE_KERNELS"), String(cString: v) == "0" { return false }
  return tally_has_avx2() != 0
}()

/// ``tally_error_sum_avx2`` on eight double-double lanes held as vectors;
/// `false` when it did nothing.
func errorSumAVX2(
  _ t: UnsafePointer<Float>, _ p: UnsafePointer<Float>, _ n: Int, _ kind: Int32, _ hi: inout SIMD8<Double>,
  _ lo: inout SIMD8<Double>
) -> Bool {
  withUnsafeMutableBytes(of: &hi) { h in
    withUnsafeMutableBytes(of: &lo) { l in
      tally_error_sum_avx2(
        t, p, n, kind, h.baseAddress.unsafelyUnwrapped.assumingMemoryBound(to: Double.self),
        l.baseAddress.unsafelyUnwrapped.assumingMemoryBound(to: Double.self)) != 0
    }
  }
}

/// The element-wise error of a float32 pair, vectorised.
enum FlatError: Sendable {
  case squared, absolute
}

/// `Σ err(t_i − p_i)` over float32 buffers: eight double-double lanes
/// (vectorised 2Sum), split across cores, merged in a fixed order. The
/// same value as ``flatSum(_:_:_:)`` up to the last bit of the double-double.
func flatErrorSum(_ t: SharedBuffer<Float>, _ p: SharedBuffer<Float>, _ kind: FlatError) -> CompensatedSum {
  let parts = parallelMap(t.count) { r -> CompensatedSum in
    var hi = SIMD8<Double>(repeating: 0)
    var lo = SIMD8<Double>(repeating: 0)
    var i = r.lowerBound
    // The blocks of eight in AVX2 when the CPU has it: the same operations
    // lane for lane, so the same bits (TallyKernels.h).
    let blocks = r.count / 8 * 8
    if blocks > 0, useWideKernels,
      errorSumAVX2(t.address(i), p.address(i), blocks, kind == .squared ? 0 : 1, &hi, &lo)
    {
      i += blocks
    }
    while i + 8 <= r.upperBound {
      let tv = SIMD8<Double>(t.load(SIMD8<Float>.self, at: i))
      let pv = SIMD8<Double>(p.load(SIMD8<Float>.self, at: i))
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
      let d = Double(t[i]) - Double(p[i])
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
