//===--- Samplewise.swift -------------------------------------------------===//
//
// Keras's `reduce_to_samplewise_values` and the weighted-mean
// state that `Mean`, `MeanMetricWrapper` and most of the catalog share.
//
//===----------------------------------------------------------------------===//

/// Per-sample values and weights, ready to accumulate.
@usableFromInline
struct SamplewiseValues {
  /// The weighted per-sample values (`values * weights`), shape `[N]` or `[]`.
  var values: [Double]
  /// The per-sample weights after broadcasting and reduction, or `nil` when
  /// no `sample_weight` was given.
  var weights: [Double]?
  /// How many samples an unweighted batch counts for: `values.shape[0]`, or
  /// 1 for a scalar.
  var sampleCount: Int
}

/// Keras's `reduce_to_samplewise_values(values, sample_weight, reduce_fn)`.
///
/// 1. Rank-align `values` and `sample_weight` (`squeeze_or_expand_to_same_rank`).
/// 2. Reduce `values` over the axes the weight does not have.
/// 3. Broadcast the weight to the values, multiply.
/// 4. Reduce the weight over its axes after the first.
/// 5. Reduce the values over their axes after the first.
///
/// - Throws: ``MetricError/emptyBatch(_:)`` for a batch without elements;
///   ``MetricError/invalidWeights(_:)`` for weights that do not broadcast or
///   are not finite.
///
/// With `integerDType`, values and weights are first truncated toward zero,
/// as Keras's cast to an integer metric dtype (`Mean(dtype="int32")`) does.
@usableFromInline
func reduceToSamplewise(
  _ values: Tensor, sampleWeight: Tensor?, _ reduction: Elementwise.Reduction,
  integerDType: Bool = false
) throws(MetricError) -> SamplewiseValues {
  guard values.count > 0 else {
    throw .emptyBatch("values of shape \(describe(values.shape)) hold no elements")
  }
  var v = values.doubles()
  if integerDType { v = v.map { $0.rounded(.towardZero) } }
  var vShape = values.shape
  var weights: [Double]? = nil
  if let sampleWeight {
    guard sampleWeight.count > 0 else {
      throw .invalidWeights(
        "sample_weight of shape \(describe(sampleWeight.shape)) holds no elements; values have shape \(describe(values.shape))"
      )
    }
    var w = try SampleWeights.checked(sampleWeight)
    if integerDType { w = w.map { $0.rounded(.towardZero) } }
    let (sv, sw) = ShapeRules.squeezeOrExpandToSameRank(vShape, sampleWeight.shape)
    vShape = sv
    let wRank = sw.count
    if vShape.count > wRank {
      (v, vShape) = Elementwise.reduceTrailing(v, shape: vShape, fromAxis: wRank, reduction)
    }
    guard ShapeRules.canBroadcast(sw, to: vShape) else {
      throw .invalidWeights(
        "sample_weight cannot be broadcast to the values; received sample_weight of shape \(describe(sampleWeight.shape)) and values of shape \(describe(values.shape))"
      )
    }
    var wb = Elementwise.broadcast(w, shape: sw, to: vShape)
    for i in v.indices { v[i] *= wb[i] }
    if wRank > 1 {
      wb = Elementwise.reduceTrailing(wb, shape: vShape, fromAxis: 1, reduction).values
    }
    weights = wb
  }
  if vShape.count > 1 {
    (v, vShape) = Elementwise.reduceTrailing(v, shape: vShape, fromAxis: 1, reduction)
  }
  return SamplewiseValues(
    values: v, weights: weights, sampleCount: vShape.first ?? 1)
}

/// The state of a weighted mean: a compensated total, the unweighted sample
/// count (an integer), and the compensated sum of weights.
///
/// Keras's `Mean` keeps `total` and `count` as float32 variables; Tally keeps
/// the count of unweighted samples as an `Int64` (exact past 2^24) and the
/// weight sum in double-double, so the mean is the same however the batches
/// were split.
public struct MeanState: Accumulator, Hashable {
  /// Σ (weighted) per-sample values.
  public var total = CompensatedSum()
  /// Samples from unweighted updates.
  public var count: Int64 = 0
  /// Σ per-sample weights from weighted updates.
  public var weightTotal = CompensatedSum()

  /// The empty state.
  public init() {}

  private enum CodingKeys: String, CodingKey {
    case total, count
    case weightTotal = "weight_total"
  }

  /// Checks what no update can produce: a negative count of samples.
  /// (Totals and weights may be anything updates allow: negative or
  /// non-finite values and weights are the caller's.)
  ///
  /// - Throws: ``MetricError/invalidState(_:)``.
  public func validate() throws(MetricError) {
    guard count >= 0 else { throw .invalidState("a mean's sample count must be ≥ 0; received \(count)") }
  }

  /// The number of samples: `count` plus the weight total.
  public var denominator: Double {
    var c = weightTotal
    c.add(Double(count))
    return c.value
  }

  /// Keras's `divide_no_nan(total, count)`: 0 before any update.
  public var mean: Double {
    let d = denominator
    return d == 0 ? 0 : total.value / d
  }

  /// Adds another mean's totals and counts.
  ///
  /// - Throws: ``MetricError/invalidValue(_:)`` if the sample count would
  ///   overflow `Int64`; the state is then unchanged.
  public mutating func merge(_ other: MeanState) throws(MetricError) {
    let c = try Counting.add(count, other.count)
    total.merge(other.total)
    weightTotal.merge(other.weightTotal)
    count = c
  }

  /// Accumulates `values` with Keras's `Mean.update_state` rules: values
  /// reduced to per-sample means, weighted, and counted per sample (or by
  /// weight).
  ///
  /// - Throws: ``MetricError``; the state is then unchanged.
  ///
  /// - Parameters:
  ///   - values: The values, of any rank.
  ///   - sampleWeight: Optional weights, rank-aligned and broadcast by
  ///     Keras's rules.
  ///   - integerDType: Truncate values and weights toward zero first, as
  ///     Keras's cast to an integer metric dtype does.
  public mutating func add(_ values: Tensor, sampleWeight: Tensor?, integerDType: Bool = false)
    throws(MetricError)
  {
    let s = try reduceToSamplewise(values, sampleWeight: sampleWeight, .mean, integerDType: integerDType)
    var next = self
    next.total.add(contentsOf: s.values)
    if let w = s.weights {
      next.weightTotal.add(contentsOf: w)
    } else {
      next.count = try Counting.add(count, Int64(s.sampleCount))
    }
    self = next
  }
}

/// Keras dtype names that are integer types: a metric with such a `dtype`
/// truncates its values (and weights) toward zero, as Keras's cast does.
@usableFromInline
func isIntegerDType(_ name: String) -> Bool {
  ["int", "int8", "int16", "int32", "int64", "uint8", "uint16", "uint32", "uint64"].contains(name)
}
