//===--- ShapeRules.swift -------------------------------------------------===//
//
// Keras's rank alignment, NumPy broadcasting, and reductions over trailing
// axes: the shape rules every metric family shares.
//
//===----------------------------------------------------------------------===//

/// Keras's shape rules, on shapes alone.
///
/// Tensors are row-major, so squeezing or expanding a trailing dimension of
/// size 1 never moves data: these functions only compute shapes, and the
/// tensor-level helpers re-view the same elements.
public enum ShapeRules {
  /// Keras's `squeeze_or_expand_to_same_rank(x1, x2, expand_rank_1)`.
  ///
  /// If the ranks differ by exactly one and the longer shape ends in 1, that
  /// trailing 1 is squeezed; except that when the shorter shape has rank 1
  /// and `expandRank1` is true, the shorter one is expanded instead.
  /// Any other pair is returned unchanged (broadcasting decides later).
  ///
  /// ```swift
  /// ShapeRules.squeezeOrExpandToSameRank([4, 1], [4]).1                     // [4, 1]: expanded
  /// ShapeRules.squeezeOrExpandToSameRank([4, 3, 1], [4, 3]).0                // [4, 3]: squeezed
  /// ShapeRules.squeezeOrExpandToSameRank([4], [4, 1], expandRank1: false).1  // [4]: squeezed
  /// ```
  public static func squeezeOrExpandToSameRank(
    _ s1: [Int], _ s2: [Int], expandRank1: Bool = true
  ) -> ([Int], [Int]) {
    var s1 = s1
    var s2 = s2
    let r1 = s1.count
    let r2 = s2.count
    if r1 == r2 { return (s1, s2) }
    if r1 == r2 + 1, s1.last == 1 {
      if r2 == 1 && expandRank1 { s2.append(1) } else { s1.removeLast() }
    }
    if r2 == r1 + 1, s2.last == 1 {
      if r1 == 1 && expandRank1 { s1.append(1) } else { s2.removeLast() }
    }
    return (s1, s2)
  }

  /// The NumPy broadcast of two shapes, or `nil` if they do not broadcast.
  public static func broadcastShape(_ a: [Int], _ b: [Int]) -> [Int]? {
    let rank = max(a.count, b.count)
    var out = [Int](repeating: 1, count: rank)
    for i in 0..<rank {
      let da = i < rank - a.count ? 1 : a[i - (rank - a.count)]
      let db = i < rank - b.count ? 1 : b[i - (rank - b.count)]
      if da == db || db == 1 {
        out[i] = da
      } else if da == 1 {
        out[i] = db
      } else {
        return nil
      }
    }
    return out
  }

  /// Whether `shape` broadcasts to exactly `target` (NumPy `broadcast_to`).
  public static func canBroadcast(_ shape: [Int], to target: [Int]) -> Bool {
    guard shape.count <= target.count else { return false }
    let offset = target.count - shape.count
    for (i, d) in shape.enumerated() where d != 1 && d != target[offset + i] {
      return false
    }
    return true
  }

  /// Row-major strides of `shape`, in elements.
  @usableFromInline
  static func strides(_ shape: [Int]) -> [Int] {
    var strides = [Int](repeating: 1, count: shape.count)
    var s = 1
    for i in shape.indices.reversed() {
      strides[i] = s
      s *= shape[i]
    }
    return strides
  }

  /// Strides of `shape` read as if broadcast to `target` (0 along
  /// broadcast dimensions). `shape` must broadcast to `target`.
  @usableFromInline
  static func broadcastStrides(_ shape: [Int], to target: [Int]) -> [Int] {
    let own = strides(shape)
    let offset = target.count - shape.count
    var out = [Int](repeating: 0, count: target.count)
    for i in shape.indices where shape[i] != 1 {
      out[offset + i] = own[i]
    }
    return out
  }
}

//===--- Element-wise helpers on Double buffers ---------------------------===//

/// Internal element-wise machinery shared by the metric families.
@usableFromInline
enum Elementwise {
  /// Calls `body(outIndex, aOffset, bOffset)` for every element of
  /// `outShape`, with `a` and `b` read through (possibly zero) strides.
  @inlinable
  static func forEachPair(
    outShape: [Int], stridesA: [Int], stridesB: [Int],
    _ body: (Int, Int, Int) -> Void
  ) {
    let rank = outShape.count
    if rank == 0 {
      body(0, 0, 0)
      return
    }
    let inner = outShape[rank - 1]
    let sa = stridesA[rank - 1]
    let sb = stridesB[rank - 1]
    let outer = outShape.dropLast().reduce(1, *)
    if inner == 0 || outer == 0 { return }
    var counter = [Int](repeating: 0, count: rank - 1)
    var baseA = 0
    var baseB = 0
    var out = 0
    for _ in 0..<outer {
      var ia = baseA
      var ib = baseB
      for _ in 0..<inner {
        body(out, ia, ib)
        out += 1
        ia += sa
        ib += sb
      }
      // Advance the odometer over the outer dimensions.
      var d = rank - 2
      while d >= 0 {
        counter[d] += 1
        baseA += stridesA[d]
        baseB += stridesB[d]
        if counter[d] < outShape[d] { break }
        baseA -= stridesA[d] * outShape[d]
        baseB -= stridesB[d] * outShape[d]
        counter[d] = 0
        d -= 1
      }
    }
  }

  /// `f(a, b)` element by element with NumPy broadcasting.
  @inlinable
  static func map(
    _ a: [Double], shape sa: [Int], _ b: [Double], shape sb: [Int],
    _ f: (Double, Double) -> Double
  ) -> (values: [Double], shape: [Int])? {
    if sa == sb {
      return (zip(a, b).map(f), sa)
    }
    guard let out = ShapeRules.broadcastShape(sa, sb) else { return nil }
    let stridesA = ShapeRules.broadcastStrides(sa, to: out)
    let stridesB = ShapeRules.broadcastStrides(sb, to: out)
    var result = [Double](repeating: 0, count: out.reduce(1, *))
    result.withUnsafeMutableBufferPointer { r in
      a.withUnsafeBufferPointer { pa in
        b.withUnsafeBufferPointer { pb in
          forEachPair(outShape: out, stridesA: stridesA, stridesB: stridesB) { o, ia, ib in
            r[o] = f(pa[ia], pb[ib])
          }
        }
      }
    }
    return (result, out)
  }

  /// `values` (of `shape`) broadcast to `target`; `shape` must broadcast.
  @inlinable
  static func broadcast(_ values: [Double], shape: [Int], to target: [Int]) -> [Double] {
    if shape == target { return values }
    let strides = ShapeRules.broadcastStrides(shape, to: target)
    var result = [Double](repeating: 0, count: target.reduce(1, *))
    result.withUnsafeMutableBufferPointer { r in
      values.withUnsafeBufferPointer { v in
        forEachPair(outShape: target, stridesA: strides, stridesB: strides) { o, i, _ in
          r[o] = v[i]
        }
      }
    }
    return result
  }

  /// How to combine the elements of a reduced block.
  @usableFromInline
  enum Reduction: Sendable { case sum, mean }

  /// Reduces `values` (of `shape`) over the axes `axis...`: each contiguous
  /// block of `shape[axis...]` elements becomes one value.
  @inlinable
  static func reduceTrailing(
    _ values: [Double], shape: [Int], fromAxis axis: Int, _ reduction: Reduction
  ) -> (values: [Double], shape: [Int]) {
    let outShape = Array(shape[..<axis])
    let block = shape[axis...].reduce(1, *)
    if block == 1 { return (values, outShape) }
    let n = outShape.reduce(1, *)
    var result = [Double](repeating: 0, count: n)
    values.withUnsafeBufferPointer { v in
      for i in 0..<n {
        var s = 0.0
        for j in (i * block)..<((i + 1) * block) { s += v[j] }
        switch reduction {
        case .sum: result[i] = s
        case .mean: result[i] = block == 0 ? .nan : s / Double(block)
        }
      }
    }
    return (result, outShape)
  }
}

extension Tensor {
  /// Keras's `squeeze_or_expand_to_same_rank` on two tensors (no copy).
  public static func squeezeOrExpandToSameRank(
    _ a: Tensor, _ b: Tensor, expandRank1: Bool = true
  ) -> (Tensor, Tensor) {
    let (sa, sb) = ShapeRules.squeezeOrExpandToSameRank(a.shape, b.shape, expandRank1: expandRank1)
    return (
      Tensor(uncheckedShape: sa, storage: a.storage),
      Tensor(uncheckedShape: sb, storage: b.storage)
    )
  }

  /// `f(a, b)` element by element, with NumPy broadcasting, as a `float64`
  /// tensor.
  ///
  /// ```swift
  /// let hits = try Tensor.map([1, 0, 1], [true, true, false]) { t, p in
  ///   t != 0 && p != 0 ? 1 : 0
  /// }   // [1.0, 0.0, 0.0]
  /// ```
  ///
  /// - Throws: ``MetricError/shapeMismatch(_:)`` if the shapes do not
  ///   broadcast.
  public static func map(
    _ a: Tensor, _ b: Tensor, _ f: (Double, Double) -> Double
  ) throws(MetricError) -> Tensor {
    guard
      let (values, shape) = Elementwise.map(
        a.doubles(), shape: a.shape, b.doubles(), shape: b.shape, f)
    else {
      throw .shapeMismatch(
        "shapes \(describe(a.shape)) and \(describe(b.shape)) cannot be broadcast together")
    }
    return .float64(values, shape: shape)
  }

  /// `f(a, b)` element by element on values convertible to tensors.
  public static func map(
    _ a: some TensorConvertible, _ b: some TensorConvertible, _ f: (Double, Double) -> Double
  ) throws(MetricError) -> Tensor {
    try map(try Tensor(a), try Tensor(b), f)
  }
}
