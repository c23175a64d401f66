//===--- HingeMetrics.swift -----------------------------------------------===//
//
// Keras's `hinge_metrics.py` and the per-sample hinge functions.
//
//===----------------------------------------------------------------------===//

//===--- Per-sample functions ---------------------------------------------===//

/// Keras's `convert_binary_labels_to_hinge`: if every label of the batch is
/// 0 or 1, labels become `2y − 1` (a batch-level decision, as in Keras).
func hingeLabels(_ y: [Double]) -> [Double] {
  y.allSatisfy { $0 == 0 || $0 == 1 } ? y.map { 2 * $0 - 1 } : y
}

/// The per-sample hinge loss.
///
/// Formula: `mean(max(1 − y·p, 0), axis=-1)`, with 0/1 labels first mapped to
/// −1/1 when the whole batch is 0/1.
///
/// Keras: `keras.metrics.hinge`.
///
/// ```swift
/// try hinge(yTrue: Tensor([[0, 1], [0, 0]]), yPred: Tensor([[0.6, 0.4], [0.4, 0.6]]))
/// // [1.1, 1.5]
/// ```
public func hinge(yTrue: Tensor, yPred: Tensor) throws(MetricError) -> Tensor {
  let (t0, p, shape) = try alignedPair(yTrue, yPred, "hinge", alignRanks: false)
  let t = hingeLabels(t0)
  return try reduceLast(shape, "hinge", sum: false) { i in max(1 - t[i] * p[i], 0) }
}

/// The per-sample squared hinge loss.
///
/// Formula: `mean(max(1 − y·p, 0)², axis=-1)`, with ``hinge(yTrue:yPred:)``'s
/// label conversion.
///
/// Keras: `keras.metrics.squared_hinge`.
///
/// ```swift
/// try squaredHinge(yTrue: Tensor([[0, 1], [0, 0]]), yPred: Tensor([[0.6, 0.4], [0.4, 0.6]]))
/// // [1.46, 2.26]
/// ```
public func squaredHinge(yTrue: Tensor, yPred: Tensor) throws(MetricError) -> Tensor {
  let (t0, p, shape) = try alignedPair(yTrue, yPred, "squared_hinge", alignRanks: false)
  let t = hingeLabels(t0)
  return try reduceLast(shape, "squared_hinge", sum: false) { i in
    let h = max(1 - t[i] * p[i], 0)
    return h * h
  }
}

/// The per-sample categorical hinge loss.
///
/// Formula: `max(neg − pos + 1, 0)` with `pos = Σ y·p`, `neg = max((1 − y)·p)`
/// over the last axis.
///
/// Keras: `keras.metrics.categorical_hinge`.
///
/// ```swift
/// try categoricalHinge(yTrue: Tensor([[0, 1], [0, 0]]), yPred: Tensor([[0.6, 0.4], [0.4, 0.6]]))
/// // [1.2, 1.6]
/// ```
public func categoricalHinge(yTrue: Tensor, yPred: Tensor) throws(MetricError) -> Tensor {
  let (t, p, shape) = try alignedPair(yTrue, yPred, "categorical_hinge", alignRanks: false)
  guard let c = shape.last, c > 0, shape.reduce(1, *) > 0 else {
    throw .emptyBatch("categorical_hinge: received shape \(describe(shape))")
  }
  let v = (0..<(t.count / c)).map { r -> Double in
    var pos = 0.0
    var neg = -Double.infinity
    for j in (r * c)..<((r + 1) * c) {
      pos += t[j] * p[j]
      neg = max(neg, (1 - t[j]) * p[j])
    }
    return max(neg - pos + 1, 0)
  }
  return .float64(v, shape: Array(shape.dropLast()))
}

//===--- Metric classes ---------------------------------------------------===//

extension MetricFamily {
  /// Keras's hinge metrics.
  public static let hinge = MetricFamily(
    "Hinge metrics", [Hinge.declaration, SquaredHinge.declaration, CategoricalHinge.declaration])
}

/// The mean hinge loss.
///
/// Formula: the weighted mean of ``hinge(yTrue:yPred:)``.
///
/// Keras: `keras.metrics.Hinge(name="hinge", dtype=None)`.
///
/// ```swift
/// var m = Hinge()
/// try m.update(yTrue: [[0, 1], [0, 0]], yPred: [[0.6, 0.4], [0.4, 0.6]])
/// m.result()   // 1.3
/// ```
///
/// - Complexity: `update` is O(*n*).
public typealias Hinge = SampleMean<HingeDefinition>

/// The declaration of ``Hinge``: the weighted mean of `hinge`.
public enum HingeDefinition: SampleMeanDefinition {
  public static let declaration = Hinge.declare("hinge", .elementwise, hinge(yTrue:yPred:))
}

/// The mean squared hinge loss.
///
/// Formula: the weighted mean of ``squaredHinge(yTrue:yPred:)``.
///
/// Keras: `keras.metrics.SquaredHinge(name="squared_hinge", dtype=None)`.
///
/// ```swift
/// var m = SquaredHinge()
/// try m.update(yTrue: [[0, 1], [0, 0]], yPred: [[0.6, 0.4], [0.4, 0.6]])
/// m.result()   // 1.86
/// ```
///
/// - Complexity: `update` is O(*n*).
public typealias SquaredHinge = SampleMean<SquaredHingeDefinition>

/// The declaration of ``SquaredHinge``: the weighted mean of `squared_hinge`.
public enum SquaredHingeDefinition: SampleMeanDefinition {
  public static let declaration = SquaredHinge.declare("squared_hinge", .elementwise, squaredHinge(yTrue:yPred:))
}

/// The mean categorical hinge loss.
///
/// Formula: the weighted mean of ``categoricalHinge(yTrue:yPred:)``.
///
/// Keras: `keras.metrics.CategoricalHinge(name="categorical_hinge", dtype=None)`.
///
/// ```swift
/// var m = CategoricalHinge()
/// try m.update(yTrue: [[0, 1], [0, 0]], yPred: [[0.6, 0.4], [0.4, 0.6]])
/// m.result()   // 1.4
/// ```
///
/// - Complexity: `update` is O(*n*).
public typealias CategoricalHinge = SampleMean<CategoricalHingeDefinition>

/// The declaration of ``CategoricalHinge``: the weighted mean of `categorical_hinge`.
public enum CategoricalHingeDefinition: SampleMeanDefinition {
  public static let declaration = CategoricalHinge.declare(
    "categorical_hinge", .classAxis, categoricalHinge(yTrue:yPred:))
}
