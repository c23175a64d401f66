//===--- RegressionFunctions.swift ----------------------------------------===//
//
// The per-sample functions of Keras's regression metrics, which the metric
// classes in RegressionMetrics.swift average and ``MeanMetricWrapper`` wraps.
//
//===----------------------------------------------------------------------===//

import RealModule

/// The per-sample mean squared error.
///
/// Formula: `mean((y_true − y_pred)², axis=-1)`, after rank alignment, with
/// broadcasting.
///
/// Keras: `keras.metrics.mean_squared_error` (computed in `Double`).
///
/// ```swift
/// try meanSquaredError(yTrue: Tensor([[0, 1], [0, 0]]), yPred: Tensor([[1, 1], [0, 0]]))
/// // [0.5, 0.0]
/// ```
///
/// - Returns: A `float64` tensor of the broadcast shape without its last axis.
public func meanSquaredError(yTrue: Tensor, yPred: Tensor) throws(MetricError) -> Tensor {
  let (t, p, shape) = try alignedPair(yTrue, yPred, "mean_squared_error")
  return try meanLastAxis(t, p, shape: shape, "mean_squared_error") { ($0 - $1) * ($0 - $1) }
}

/// The per-sample mean absolute error.
///
/// Formula: `mean(|y_true − y_pred|, axis=-1)`.
///
/// Keras: `keras.metrics.mean_absolute_error`.
///
/// ```swift
/// try meanAbsoluteError(yTrue: Tensor([[0, 1], [0, 0]]), yPred: Tensor([[1, 1], [0, 0]]))
/// // [0.5, 0.0]
/// ```
public func meanAbsoluteError(yTrue: Tensor, yPred: Tensor) throws(MetricError) -> Tensor {
  let (t, p, shape) = try alignedPair(yTrue, yPred, "mean_absolute_error")
  return try meanLastAxis(t, p, shape: shape, "mean_absolute_error") { abs($0 - $1) }
}

/// The per-sample mean absolute percentage error.
///
/// Formula: `100 · mean(|y_true − y_pred| / max(|y_true|, ε), axis=-1)`,
/// ε = 1e-7: a zero target makes the error explode (`y=0, p=1` → 1e9), as in
/// Keras.
///
/// Keras: `keras.metrics.mean_absolute_percentage_error`.
///
/// ```swift
/// try meanAbsolutePercentageError(yTrue: Tensor([[2.0, 4.0]]), yPred: Tensor([[1.0, 5.0]]))
/// // [37.5]
/// ```
public func meanAbsolutePercentageError(yTrue: Tensor, yPred: Tensor) throws(MetricError) -> Tensor {
  let (t, p, shape) = try alignedPair(yTrue, yPred, "mean_absolute_percentage_error")
  let epsilon = yPred.dtype.isFloatingPoint ? kerasEpsilon : 0
  let v = try meanLastAxis(t, p, shape: shape, "mean_absolute_percentage_error") {
    abs(($0 - $1) / max(abs($0), epsilon))
  }
  return .float64(v.doubles().map { 100 * $0 }, shape: v.shape)
}

/// The per-sample mean squared logarithmic error.
///
/// Formula: `mean((log(max(y_pred, ε) + 1) − log(max(y_true, ε) + 1))², axis=-1)`.
///
/// Keras: `keras.metrics.mean_squared_logarithmic_error`.
///
/// ```swift
/// try meanSquaredLogarithmicError(yTrue: Tensor([[0.0, 1.0]]), yPred: Tensor([[0.0, 1.0]]))
/// // [0.0]
/// ```
public func meanSquaredLogarithmicError(yTrue: Tensor, yPred: Tensor) throws(MetricError) -> Tensor {
  let (t, p, shape) = try alignedPair(yTrue, yPred, "mean_squared_logarithmic_error")
  return try meanLastAxis(t, p, shape: shape, "mean_squared_logarithmic_error") { y, q in
    let d = Double.log(onePlus: max(q, kerasEpsilon)) - Double.log(onePlus: max(y, kerasEpsilon))
    return d * d
  }
}

/// The per-sample cosine similarity along `axis` (positive: 1 for the same
/// direction).
///
/// Formula: `Σ_axis l2n(y_true) · l2n(y_pred)` with
/// `l2n(x) = x / sqrt(max(Σ x², ε²))`, so a zero vector gives 0.
///
/// Keras: the metric form of `keras.losses.cosine_similarity` (the loss is
/// its negative), used by `keras.metrics.CosineSimilarity`.
///
/// ```swift
/// try cosineSimilarity(yTrue: Tensor([[0.0, 1.0], [1.0, 1.0]]), yPred: Tensor([[1.0, 0.0], [1.0, 1.0]]))
/// // [0.0, 0.9999999999999998]
/// ```
public func cosineSimilarity(yTrue: Tensor, yPred: Tensor, axis: Int = -1) throws(MetricError) -> Tensor {
  let (t, p, shape) = try alignedPair(yTrue, yPred, "cosine_similarity")
  let layout = try AxisLayout(shape, axis: axis, "cosine_similarity")
  let floor = kerasEpsilon * kerasEpsilon
  let v = layout.reduce { idx in
    var tt = 0.0, pp = 0.0, tp = 0.0
    for i in idx {
      tt += t[i] * t[i]
      pp += p[i] * p[i]
      tp += t[i] * p[i]
    }
    return tp / (max(tt, floor).squareRoot() * max(pp, floor).squareRoot())
  }
  return .float64(v, shape: layout.reducedShape)
}

/// The per-sample mean of `log(cosh(y_pred − y_true))`, computed stably.
///
/// Formula: `mean(x + softplus(−2x) − log 2, axis=-1)`, `x = y_pred − y_true`.
///
/// Keras: `keras.losses.log_cosh` (behind `keras.metrics.LogCoshError`).
///
/// ```swift
/// try logCosh(yTrue: Tensor([[0.0, 1.0]]), yPred: Tensor([[1.0, 1.0]]))
/// // [0.2168904152]
/// ```
public func logCosh(yTrue: Tensor, yPred: Tensor) throws(MetricError) -> Tensor {
  let (t, p, shape) = try alignedPair(yTrue, yPred, "log_cosh")
  return try meanLastAxis(t, p, shape: shape, "log_cosh") { y, q in
    let x = q - y
    return x + softplus(-2 * x) - Double.log(2)
  }
}

/// The per-sample Huber loss.
///
/// Formula: `mean(½e² if |e| ≤ δ else δ·|e| − ½δ², axis=-1)`, `e = y_pred − y_true`.
///
/// Keras: `keras.losses.huber(y_true, y_pred, delta=1.0)`; Keras has no
/// Huber metric class: wrap it in ``MeanMetricWrapper``.
///
/// ```swift
/// try huber(yTrue: Tensor([[0.0, 1.0]]), yPred: Tensor([[0.5, 3.0]]))
/// // [0.8125]
/// ```
public func huber(yTrue: Tensor, yPred: Tensor, delta: Double = 1.0) throws(MetricError) -> Tensor {
  let (t, p, shape) = try alignedPair(yTrue, yPred, "huber")
  return try meanLastAxis(t, p, shape: shape, "huber") { y, q in
    let e = abs(q - y)
    return e <= delta ? 0.5 * e * e : delta * e - 0.5 * delta * delta
  }
}

/// `log(1 + exp(x))` without overflow.
@inlinable
func softplus(_ x: Double) -> Double {
  max(x, 0) + Double.log(onePlus: Double.exp(-abs(x)))
}
