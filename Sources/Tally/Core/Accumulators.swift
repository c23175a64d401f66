//===--- Accumulators.swift -----------------------------------------------===//
//
// Mergeable building blocks for metric state: a compensated Double sum and
// an integer count.
//
//===----------------------------------------------------------------------===//

import RealModule

/// The state of a metric: a `Codable` value that merges with another state
/// of the same metric.
///
/// `init()` is the empty state, the identity of ``merge(_:)``; merging is
/// associative and commutative (for floating-point sums, up to the last bit
/// of a compensated sum). Every Keras metric's state is additive (its
/// variables are declared `aggregation="sum"`), so a state is usually a
/// struct of ``CompensatedSum``s and integer counts whose merge adds them.
public protocol Accumulator: Codable, Sendable, Equatable {
  /// The empty state.
  init()
  /// Adds `other` into this state.
  ///
  /// - Throws: ``MetricError/incompatibleMerge(_:)`` if the two states have
  ///   different shapes (per-threshold or per-class arrays of other lengths),
  ///   leaving `self` unchanged.
  mutating func merge(_ other: Self) throws(MetricError)
}

/// A sum of `Double`s carried in double-double precision (about 106 bits),
/// so that the rounded ``value`` does not depend on the order in which the
/// terms were added or on how they were split and merged.
///
/// Each addition is an error-free transformation (swift-numerics
/// `Augmented.sum`): `head` holds the rounded running sum and `tail` the
/// accumulated rounding errors. The value is `head + tail`, rounded once.
///
/// The error of the double-double sum of *n* terms is at most about
/// `n²·ε²·Σ|x|` (ε = 2^-53) on top of the final rounding, so the value is
/// the correctly rounded sum, independent of order, unless the terms cancel
/// so heavily that `Σ|x| / |Σx|` approaches `1 / (n²·ε)`; metric totals
/// (sums of losses, counts, weights) are far from that.
///
/// Keras keeps its totals in float32 with no compensation, so they drift
/// (10^7 additions of 0.1 are 8.8 % off) and stop growing at 2^24; Tally's
/// sums are correct to the last bit of a `Double` for any sane condition
/// number.
///
/// ```swift
/// var s = CompensatedSum()
/// s.add(1e16); s.add(1); s.add(-1e16)
/// s.value   // 1.0 (a plain Double sum gives 0.0)
/// ```
public struct CompensatedSum: Accumulator, Hashable {
  /// The rounded running sum.
  public var head: Double { _head }
  /// The accumulated rounding error of `head`.
  public var tail: Double { _tail }
  @usableFromInline var _head: Double
  @usableFromInline var _tail: Double

  private enum CodingKeys: String, CodingKey {
    case _head = "head"
    case _tail = "tail"
  }

  /// Zero.
  public init() {
    _head = 0
    _tail = 0
  }

  /// A sum holding one value.
  public init(_ value: Double) {
    _head = value
    _tail = 0
  }

  /// A sum of the given parts, as ``head`` and ``tail`` read them (a saved
  /// sum read back).
  init(head: Double, tail: Double) {
    _head = head
    _tail = tail
  }

  /// The sum, rounded once to the nearest `Double`.
  @inlinable
  public var value: Double {
    head.isFinite ? head + tail : head
  }

  /// Adds one term.
  @inlinable
  public mutating func add(_ x: Double) {
    let (s, e) = Augmented.sum(_head, x)
    _head = s
    _tail += e
  }

  /// Adds every term of `xs`.
  @inlinable
  public mutating func add<S: Sequence>(contentsOf xs: S) where S.Element == Double {
    for x in xs { add(x) }
  }

  /// Adds another compensated sum (the double-double addition).
  public mutating func merge(_ other: CompensatedSum) {
    // Zero is the identity exactly, representation included.
    if other._head == 0 && other._tail == 0 { return }
    if _head == 0 && _tail == 0 {
      self = other
      return
    }
    let (s, e) = Augmented.sum(head, other.head)
    let t = tail + other.tail + e
    if s.isFinite {
      let (h, l) = Augmented.sum(large: s, small: t)
      _head = h
      _tail = l
    } else {
      _head = s
      _tail = 0
    }
  }

  /// Adds `values`, each multiplied by its `sampleWeight`, following Keras's
  /// custom-metric idiom: the weight is broadcast to the shape of `values`
  /// (`ops.broadcast_to(sample_weight, values.shape)`), then every product
  /// is summed.
  ///
  /// - Throws: ``MetricError/invalidWeights(_:)`` if the weight does not
  ///   broadcast to `values` or is not finite; nothing is added then.
  public mutating func add(_ values: Tensor, sampleWeight: Tensor? = nil) throws(MetricError) {
    let v = values.doubles()
    guard let sampleWeight else {
      add(contentsOf: v)
      return
    }
    let w = try SampleWeights.checked(sampleWeight)
    guard ShapeRules.canBroadcast(sampleWeight.shape, to: values.shape) else {
      throw .invalidWeights(
        "sample_weight cannot be broadcast to the values; received sample_weight of shape \(describe(sampleWeight.shape)) and values of shape \(describe(values.shape))"
      )
    }
    let wb = Elementwise.broadcast(w, shape: sampleWeight.shape, to: values.shape)
    for i in v.indices { add(v[i] * wb[i]) }
  }
}

/// Integer counting with overflow reported as an error, never a trap or a
/// silent wrap.
@usableFromInline
enum Counting {
  @inlinable
  static func add(_ a: Int64, _ b: Int64) throws(MetricError) -> Int64 {
    let (r, overflow) = a.addingReportingOverflow(b)
    guard !overflow else {
      throw .invalidValue("count overflow: \(a) + \(b) exceeds Int64.max")
    }
    return r
  }
}

/// Validation of `sample_weight` values shared by every family.
@usableFromInline
enum SampleWeights {
  /// The weights as `Double`s, after checking that each one is finite.
  ///
  /// - Throws: ``MetricError/invalidWeights(_:)`` naming the first NaN or
  ///   infinite weight.
  @usableFromInline
  static func checked(_ weights: Tensor) throws(MetricError) -> [Double] {
    let w = weights.doubles()
    if let i = w.firstIndex(where: { !$0.isFinite }) {
      throw .invalidWeights(
        "sample_weight must be finite; received \(w[i]) at flat index \(i) of shape \(describe(weights.shape))"
      )
    }
    return w
  }

  /// One finite, non-negative weight for each of `count` items: a scalar
  /// weight repeated, or exactly `count` weights (the rule of the agreement
  /// and calibration metrics, whose counts take no negative weight); all 1
  /// when `weights` is `nil`.
  ///
  /// - Throws: ``MetricError/invalidWeights(_:)`` naming the first bad
  ///   weight, or the shape received.
  static func nonNegative(_ weights: Tensor?, count: Int, of items: String, metric: String) throws(MetricError)
    -> [Double]
  {
    guard let weights else { return [Double](repeating: 1, count: count) }
    let raw = try checked(weights)
    if let i = raw.firstIndex(where: { $0 < 0 }) {
      throw .invalidWeights("\(metric): sample_weight must be ≥ 0; received \(raw[i]) at flat index \(i)")
    }
    if weights.rank == 0 { return [Double](repeating: raw[0], count: count) }
    guard raw.count == count else {
      throw .invalidWeights(
        "\(metric): sample_weight must be a scalar or one weight per \(items) (\(count)); received shape \(describe(weights.shape))"
      )
    }
    return raw
  }

  /// Finite `weights`, given trailing axes of size 1 up to the rank of
  /// `shape` (a `(N,)` weight weights rows) and broadcast to `shape`: the
  /// rule of the metrics whose state is per column (F-scores, R², the
  /// dataset-level correlations).
  ///
  /// - Throws: ``MetricError/invalidWeights(_:)`` for a non-finite weight or
  ///   a shape that does not broadcast, naming both shapes.
  static func expanded(_ weights: Tensor, to shape: [Int], metric: String) throws(MetricError) -> [Double] {
    let w = try checked(weights)
    let padded = weights.shape + [Int](repeating: 1, count: max(0, shape.count - weights.rank))
    guard ShapeRules.canBroadcast(padded, to: shape) else {
      throw .invalidWeights(
        "\(metric): sample_weight cannot be broadcast to the inputs; received sample_weight of shape \(describe(weights.shape)) and inputs of shape \(describe(shape))"
      )
    }
    return Elementwise.broadcast(w, shape: padded, to: shape)
  }
}

/// A value carried as an unevaluated sum `head + tail` of two `Double`s
/// (about 106 bits): the means of Tally's moment states, so that Chan's
/// merge of two means that share a large offset loses nothing to rounding.
public struct DoubleDouble: Codable, Sendable, Equatable {
  /// The rounded value.
  public var head: Double
  /// The rounding error of `head`.
  public var tail: Double

  /// `head + tail`.
  public init(head: Double = 0, tail: Double = 0) {
    self.head = head
    self.tail = tail
  }

  /// The value, rounded once.
  public var value: Double { head + tail }

  /// `sum / count`, correct to about 106 bits.
  init(quotient sum: CompensatedSum, _ count: CompensatedSum) {
    let n = count.value
    let q = sum.value / n
    // The remainder sum − q·n, computed without rounding error.
    var r = sum
    let (ph, pt) = Augmented.product(q, count.head)
    r.add(-ph)
    r.add(-pt)
    r.add(-q * count.tail)
    self.init(head: q, tail: r.value / n)
  }

  /// `self − other`, rounded once.
  func minus(_ other: DoubleDouble) -> Double {
    (head - other.head) + (tail - other.tail)
  }

  /// `x − self`, rounded once.
  func deviation(of x: Double) -> Double {
    (x - head) - tail
  }

  /// Adds `x`.
  mutating func add(_ x: Double) {
    let (s, e) = Augmented.sum(head, x)
    head = s
    tail += e
  }
}
