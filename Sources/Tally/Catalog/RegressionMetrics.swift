//===--- RegressionMetrics.swift ------------------------------------------===//
//
// Keras's `regression_metrics.py` and the per-sample regression functions
// of `keras.metrics` (`mean_squared_error`, `mean_absolute_error`, ...).
//
//===----------------------------------------------------------------------===//

/// The shared shape of Keras's element-wise regression functions:
/// `y_true` is rank-aligned with `y_pred` (`squeeze_or_expand_to_same_rank`),
/// `f` is applied element by element with broadcasting, and the result is
/// averaged over the last axis.
@usableFromInline
func meanOverLastAxis(
  _ function: String, yTrue: Tensor, yPred: Tensor, _ f: (Double, Double) -> Double
) throws(MetricError) -> Tensor {
  let (t, p) = Tensor.squeezeOrExpandToSameRank(yTrue, yPred)
  guard
    let (values, shape) = Elementwise.map(t.doubles(), shape: t.shape, p.doubles(), shape: p.shape, f)
  else {
    throw .shapeMismatch(
      "\(function): y_true and y_pred cannot be broadcast together; received shapes \(describe(yTrue.shape)) and \(describe(yPred.shape))"
    )
  }
  guard !shape.isEmpty else {
    throw .invalidShape("\(function) reduces the last axis and needs rank ≥ 1; received scalars")
  }
  guard shape.last! > 0 else {
    throw .emptyBatch("\(function): the last axis is empty; received shape \(describe(shape))")
  }
  let (reduced, outShape) = Elementwise.reduceTrailing(
    values, shape: shape, fromAxis: shape.count - 1, .mean)
  return .float64(reduced, shape: outShape)
}

/// The per-sample mean squared error.
///
/// Formula: `mean((y_true − y_pred)², axis=-1)`, after rank alignment, with
/// broadcasting.
///
/// Keras: `keras.metrics.mean_squared_error` (computed in `Double`).
///
/// ```swift
/// try meanSquaredError(yTrue: [[0, 1], [0, 0]], yPred: [[1, 1], [0, 0]])
/// // [0.5, 0.0]
/// ```
///
/// - Returns: A `float64` tensor of `yPred`'s shape without its last axis.
public func meanSquaredError(yTrue: Tensor, yPred: Tensor) throws(MetricError) -> Tensor {
  try meanOverLastAxis("mean_squared_error", yTrue: yTrue, yPred: yPred) { t, p in
    (t - p) * (t - p)
  }
}

/// The per-sample mean absolute error.
///
/// Formula: `mean(|y_true − y_pred|, axis=-1)`, after rank alignment, with
/// broadcasting.
///
/// Keras: `keras.metrics.mean_absolute_error` (computed in `Double`).
///
/// ```swift
/// try meanAbsoluteError(yTrue: [[0, 1], [0, 0]], yPred: [[1, 1], [0, 0]])
/// // [0.5, 0.0]
/// ```
///
/// - Returns: A `float64` tensor of `yPred`'s shape without its last axis.
public func meanAbsoluteError(yTrue: Tensor, yPred: Tensor) throws(MetricError) -> Tensor {
  try meanOverLastAxis("mean_absolute_error", yTrue: yTrue, yPred: yPred) { t, p in
    abs(t - p)
  }
}
