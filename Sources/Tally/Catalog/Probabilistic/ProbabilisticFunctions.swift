//===--- ProbabilisticFunctions.swift -------------------------------------===//
//
// The per-sample functions of Keras's probabilistic metrics, which the metric
// classes in ProbabilisticMetrics.swift average and ``MeanMetricWrapper`` wraps.
//
//===----------------------------------------------------------------------===//

import RealModule

/// Checks that two tensors have one shape, as Keras's backend cross-entropy
/// ops require.
func requireSameShape(_ a: Tensor, _ b: Tensor, _ function: String) throws(MetricError) {
  guard a.shape == b.shape else {
    throw .shapeMismatch(
      "\(function): Arguments `target` and `output` must have the same shape. Received: target.shape=\(describe(a.shape)), output.shape=\(describe(b.shape))"
    )
  }
  guard a.count > 0 else {
    throw .emptyBatch("\(function): received inputs of shape \(describe(a.shape))")
  }
}

/// Element-wise binary cross-entropy of a probability (clipped to
/// [ε, 1 − ε] in `dtype`) or, with `fromLogits`, of a logit in the stable
/// form `max(x, 0) − x·y + log(1 + exp(−|x|))`.
func binaryCrossentropyElement(_ y: Double, _ p: Double, fromLogits: Bool, dtype: DType) -> Double {
  if fromLogits {
    return max(p, 0) - p * y + Double.log(onePlus: Double.exp(-abs(p)))
  }
  let q = clip(p, kerasEpsilon, 1 - kerasEpsilon, in: dtype)
  // Keras computes 1 − q in the predictions' dtype: for float32,
  // the clipped 1 − (1 − 1e-7) is 2^-23 there, not 1e-7.
  let oneMinus = dtype == .float32 ? Double(Float(1 - q)) : 1 - q
  // A hard label needs one logarithm: the other term is 0 · (a finite
  // logarithm) = −0, and x + (−0) is x, so these are the general formula's
  // bits (for a NaN score, a NaN as well; its sign bit may differ).
  if y == 1 { return -Double.log(q) }
  if y == 0 { return -Double.log(oneMinus) }
  return -(y * Double.log(q) + (1 - y) * Double.log(oneMinus))
}

/// The per-sample binary cross-entropy.
///
/// Formula: labels smoothed to `y·(1 − ls) + 0.5·ls`; element-wise
/// `−(y·log p + (1 − y)·log(1 − p))` with `p` clipped to `[ε, 1 − ε]`
/// (ε = 1e-7, in the predictions' dtype, so the numbers match Keras); then
/// the mean along `axis`. With `fromLogits`, the stable log-sigmoid form
/// (as Keras's TensorFlow and JAX backends).
///
/// Keras: `keras.metrics.binary_crossentropy(y_true, y_pred,
/// from_logits=False, label_smoothing=0.0, axis=-1)`.
///
/// ```swift
/// try binaryCrossentropy(yTrue: Tensor([[0.0, 1.0]]), yPred: Tensor([[0.4, 0.6]]))
/// // [0.5108256]
/// ```
public func binaryCrossentropy(
  yTrue: Tensor, yPred: Tensor, fromLogits: Bool = false, labelSmoothing: Double = 0, axis: Int = -1
) throws(MetricError) -> Tensor {
  try requireSameShape(yTrue, yPred, "binary_crossentropy")
  let ls = labelSmoothing
  if let fast = try float32BinaryCrossentropy(
    yTrue: yTrue, yPred: yPred, fromLogits: fromLogits, labelSmoothing: ls, axis: axis)
  {
    return fast
  }
  let y = cast(yTrue.doubles(), to: yPred.dtype).map { $0 * (1 - ls) + 0.5 * ls }
  let p = yPred.doubles()
  let e = zip(y, p).map { binaryCrossentropyElement($0, $1, fromLogits: fromLogits, dtype: yPred.dtype) }
  let layout = try AxisLayout(yPred.shape, axis: axis, "binary_crossentropy")
  let v = layout.reduce { idx in idx.reduce(0) { $0 + e[$1] } / Double(layout.length) }
  return .float64(v, shape: layout.reducedShape)
}

/// ``binaryCrossentropy(yTrue:yPred:fromLogits:labelSmoothing:axis:)`` for
/// float32 labels and scores reduced along their last axis (the common case:
/// a column of scores), in one pass over the buffers with no array of
/// doubles between: the same operations per element and line, so the same
/// bits (NaN for NaN). `nil` for other inputs.
func float32BinaryCrossentropy(
  yTrue: Tensor, yPred: Tensor, fromLogits: Bool, labelSmoothing ls: Double, axis: Int
) throws(MetricError) -> Tensor? {
  guard case .float32(let tb) = yTrue.storage, case .float32(let pb) = yPred.storage else { return nil }
  let layout = try AxisLayout(yPred.shape, axis: axis, "binary_crossentropy")
  guard layout.inner == 1, layout.length > 0 else { return nil }
  let (lines, length) = (layout.outer, layout.length)
  var out = [Double](repeating: 0, count: lines)
  tb.withUnsafeBufferPointer { t in
    pb.withUnsafeBufferPointer { p in
      out.withUnsafeMutableBufferPointer { o in
        let (t, p, o) = (SharedBuffer(base: t), SharedBuffer(base: p), UnsafeSendableBox(o))
        _ = parallelMap(lines, itemSize: length) { range in
          for line in range {
            var sum = 0.0
            for j in (line &* length)..<(line &* length &+ length) {
              // (A float32 label cast to float32 is itself.)
              let y = Double(t[j]) * (1 - ls) + 0.5 * ls
              sum += binaryCrossentropyElement(y, Double(p[j]), fromLogits: fromLogits, dtype: .float32)
            }
            o[line] = sum / Double(length)
          }
        }
      }
    }
  }
  return .float64(out, shape: layout.reducedShape)
}

/// Log-probabilities along one line: `log_softmax` of logits, or the log of
/// probabilities normalised to sum 1 and clipped to [ε, 1 − ε].
func logProbabilities(_ x: [Double], _ idx: StrideTo<Int>, fromLogits: Bool, dtype: DType)
  -> [Double]
{
  let line = idx.map { x[$0] }
  if fromLogits {
    let m = line.max() ?? 0
    let lse = m + Double.log(line.reduce(0) { $0 + Double.exp($1 - m) })
    return line.map { $0 - lse }
  }
  let s = line.reduce(0, +)
  return line.map { Double.log(clip($0 / s, kerasEpsilon, 1 - kerasEpsilon, in: dtype)) }
}

/// The per-sample categorical cross-entropy.
///
/// Formula: labels smoothed to `y·(1 − ls) + ls/C`; `−Σ y·log p` along
/// `axis`, with probabilities renormalised to sum 1 and clipped to
/// `[ε, 1 − ε]`, or `log_softmax` of logits.
///
/// Keras: `keras.metrics.categorical_crossentropy(y_true, y_pred,
/// from_logits=False, label_smoothing=0.0, axis=-1)`.
///
/// ```swift
/// try categoricalCrossentropy(yTrue: Tensor([[0, 1, 0], [0, 0, 1]]), yPred: Tensor([[0.05, 0.95, 0], [0.1, 0.8, 0.1]]))
/// // [0.051293, 2.302585]
/// ```
public func categoricalCrossentropy(
  yTrue: Tensor, yPred: Tensor, fromLogits: Bool = false, labelSmoothing: Double = 0, axis: Int = -1
) throws(MetricError) -> Tensor {
  let (layout, y, p) = try smoothedClasses(yTrue, yPred, labelSmoothing, axis, "categorical_crossentropy")
  let v = layout.reduce { idx in
    let lp = logProbabilities(p, idx, fromLogits: fromLogits, dtype: yPred.dtype)
    var s = 0.0
    for (k, i) in idx.enumerated() { s -= y[i] * lp[k] }
    return s
  }
  return .float64(v, shape: layout.reducedShape)
}

/// The class layout along `axis` of same-shaped labels and predictions, the
/// labels cast to `yPred`'s dtype and smoothed (`y·(1 − s) + s/C`), and the
/// predictions: the start of both categorical cross-entropies.
func smoothedClasses(_ yTrue: Tensor, _ yPred: Tensor, _ labelSmoothing: Double, _ axis: Int, _ function: String)
  throws(MetricError) -> (layout: AxisLayout, y: [Double], p: [Double])
{
  try requireSameShape(yTrue, yPred, function)
  let layout = try AxisLayout(yPred.shape, axis: axis, function)
  let c = Double(layout.length)
  let y = cast(yTrue.doubles(), to: yPred.dtype).map { $0 * (1 - labelSmoothing) + labelSmoothing / c }
  return (layout, y, yPred.doubles())
}

/// The per-sample sparse categorical cross-entropy and the mask of
/// positions that count (`ignoreClass`).
func sparseCategoricalCrossentropyWithMask(
  yTrue: Tensor, yPred: Tensor, fromLogits: Bool, ignoreClass: Int?, axis: Int
) throws(MetricError) -> (values: Tensor, mask: [Double]?) {
  let function = "sparse_categorical_crossentropy"
  guard yPred.rank >= 1, yPred.count > 0 else {
    throw .invalidShape(
      "\(function): Argument `output` must be at least rank 1 and non-empty. Received: output.shape=\(describe(yPred.shape))"
    )
  }
  let layout = try AxisLayout(yPred.shape, axis: axis, function)
  var trueShape = yTrue.shape
  if yTrue.rank == yPred.rank, trueShape[layout.axis] == 1 { trueShape.remove(at: layout.axis) }
  guard trueShape == layout.reducedShape else {
    throw .shapeMismatch(
      "\(function): Arguments `target` and `output` must have the same shape up until the last dimension: target.shape=\(describe(yTrue.shape)), output.shape=\(describe(yPred.shape))"
    )
  }
  let labels = yTrue.doubles().map { $0.rounded(.towardZero) }
  var valid = [Bool](repeating: true, count: labels.count)
  if let ignoreClass {
    for i in labels.indices where labels[i] == Double(ignoreClass) { valid[i] = false }
  }
  for (i, l) in labels.enumerated() where valid[i] && !(l >= 0 && l < Double(layout.length)) {
    throw .invalidValue(
      "\(function): class ids must be in [0, \(layout.length)); received \(yTrue.doubles()[i]) at flat index \(i)")
  }
  let p = yPred.doubles()
  var v = [Double](repeating: 0, count: labels.count)
  layout.forEachLine { g, idx in
    guard valid[g] else { return }
    let lp = logProbabilities(p, idx, fromLogits: fromLogits, dtype: yPred.dtype)
    v[g] = -lp[Int(labels[g])]
  }
  let mask: [Double]? = ignoreClass == nil ? nil : valid.map { $0 ? 1 : 0 }
  return (.float64(v, shape: layout.reducedShape), mask)
}

/// The per-sample sparse categorical cross-entropy.
///
/// Formula: `−log p[y]` along `axis`, with `p` normalised and clipped (or
/// `log_softmax` of logits); positions whose label is `ignoreClass` give 0.
///
/// Keras: `keras.metrics.sparse_categorical_crossentropy(y_true, y_pred,
/// from_logits=False, ignore_class=None, axis=-1)`. Deviation: labels
/// outside `[0, C)` (other than `ignoreClass`) throw.
///
/// ```swift
/// try sparseCategoricalCrossentropy(yTrue: Tensor([1, 2]), yPred: Tensor([[0.05, 0.95, 0], [0.1, 0.8, 0.1]]))
/// // [0.051293, 2.302585]
/// ```
public func sparseCategoricalCrossentropy(
  yTrue: Tensor, yPred: Tensor, fromLogits: Bool = false, ignoreClass: Int? = nil, axis: Int = -1
) throws(MetricError) -> Tensor {
  try sparseCategoricalCrossentropyWithMask(
    yTrue: yTrue, yPred: yPred, fromLogits: fromLogits, ignoreClass: ignoreClass, axis: axis
  ).values
}

/// The per-sample Kullback–Leibler divergence.
///
/// Formula: `Σ y·log(y/p)` along the last axis, both clipped to `[ε, 1]`.
///
/// Keras: `keras.metrics.kl_divergence`.
///
/// ```swift
/// try klDivergence(yTrue: Tensor([[0.0, 1.0]]), yPred: Tensor([[0.4, 0.6]]))
/// // [0.5108241036]
/// ```
public func klDivergence(yTrue: Tensor, yPred: Tensor) throws(MetricError) -> Tensor {
  let (t, p, shape) = try alignedPair(yTrue, yPred, "kl_divergence", alignRanks: false)
  let d = yPred.dtype
  return try reduceLast(shape, "kl_divergence", sum: true) { i in
    let y = clip(t[i], kerasEpsilon, 1, in: d)
    let q = clip(p[i], kerasEpsilon, 1, in: d)
    return y * Double.log(y / q)
  }
}

/// The per-sample Poisson loss.
///
/// Formula: `mean(p − y·log(p + ε))` along the last axis.
///
/// Keras: `keras.metrics.poisson`. Deviation: negative predictions (whose
/// log Keras turns into NaN) throw.
///
/// ```swift
/// try poisson(yTrue: Tensor([[0.0, 1.0]]), yPred: Tensor([[1.0, 1.0]]))
/// // [0.99999995]
/// ```
public func poisson(yTrue: Tensor, yPred: Tensor) throws(MetricError) -> Tensor {
  let (t, p, shape) = try alignedPair(yTrue, yPred, "poisson", alignRanks: false)
  if let i = p.firstIndex(where: { $0 + kerasEpsilon < 0 }) {
    throw .invalidValue("poisson takes the log of y_pred, which must be ≥ 0; received \(p[i]) at flat index \(i)")
  }
  return try reduceLast(shape, "poisson", sum: false) { i in p[i] - t[i] * Double.log(p[i] + kerasEpsilon) }
}

/// The per-sample binary focal cross-entropy.
///
/// Formula: `mean((1 − p_t)^γ · bce)` along `axis`, `p_t = y·p + (1 − y)(1 −
/// p)`, with class balancing `α·y + (1 − α)(1 − y)` when asked.
///
/// Keras: `keras.losses.binary_focal_crossentropy(y_true, y_pred,
/// apply_class_balancing=False, alpha=0.25, gamma=2.0, from_logits=False,
/// label_smoothing=0.0, axis=-1)`; no metric class: wrap it in
/// ``MeanMetricWrapper``.
///
/// ```swift
/// try binaryFocalCrossentropy(yTrue: Tensor([[0.0, 1.0]]), yPred: Tensor([[0.4, 0.6]]))
/// // [0.0817320998]
/// ```
public func binaryFocalCrossentropy(
  yTrue: Tensor, yPred: Tensor, applyClassBalancing: Bool = false, alpha: Double = 0.25,
  gamma: Double = 2.0, fromLogits: Bool = false, labelSmoothing: Double = 0, axis: Int = -1
) throws(MetricError) -> Tensor {
  try requireSameShape(yTrue, yPred, "binary_focal_crossentropy")
  let ls = labelSmoothing
  let y = cast(yTrue.doubles(), to: yPred.dtype).map { $0 * (1 - ls) + 0.5 * ls }
  let p = yPred.doubles().map { fromLogits ? 1 / (1 + Double.exp(-$0)) : $0 }
  let e = zip(y, p).map { y, p -> Double in
    let bce = binaryCrossentropyElement(y, p, fromLogits: false, dtype: yPred.dtype)
    let pt = y * p + (1 - y) * (1 - p)
    var f = Double.pow(1 - pt, gamma) * bce
    if applyClassBalancing { f *= y * alpha + (1 - y) * (1 - alpha) }
    return f
  }
  let layout = try AxisLayout(yPred.shape, axis: axis, "binary_focal_crossentropy")
  let v = layout.reduce { idx in idx.reduce(0) { $0 + e[$1] } / Double(layout.length) }
  return .float64(v, shape: layout.reducedShape)
}

/// The per-sample categorical focal cross-entropy.
///
/// Formula: `Σ α·(1 − p)^γ · (−y·log p)` along `axis`, `p` normalised and
/// clipped (softmax of logits first).
///
/// Keras: `keras.losses.categorical_focal_crossentropy(y_true, y_pred,
/// alpha=0.25, gamma=2.0, from_logits=False, label_smoothing=0.0, axis=-1)`;
/// wrap it in ``MeanMetricWrapper``.
///
/// ```swift
/// try categoricalFocalCrossentropy(yTrue: Tensor([[0, 1, 0]]), yPred: Tensor([[0.05, 0.95, 0]]))
/// // [3.2058e-05]
/// ```
public func categoricalFocalCrossentropy(
  yTrue: Tensor, yPred: Tensor, alpha: Double = 0.25, gamma: Double = 2.0, fromLogits: Bool = false,
  labelSmoothing: Double = 0, axis: Int = -1
) throws(MetricError) -> Tensor {
  let (layout, y, p) = try smoothedClasses(yTrue, yPred, labelSmoothing, axis, "categorical_focal_crossentropy")
  let v = layout.reduce { idx in
    var line = idx.map { p[$0] }
    if fromLogits {
      let m = line.max() ?? 0
      let e = line.map { Double.exp($0 - m) }
      let s = e.reduce(0, +)
      line = e.map { $0 / s }
    }
    let s = line.reduce(0, +)
    var total = 0.0
    for (k, i) in idx.enumerated() {
      let q = clip(line[k] / s, kerasEpsilon, 1 - kerasEpsilon, in: yPred.dtype)
      total += alpha * Double.pow(1 - q, gamma) * (-y[i] * Double.log(q))
    }
    return total
  }
  return .float64(v, shape: layout.reducedShape)
}

/// Reduces `f(flatIndex)` over the last axis of `shape` (sum or mean).
func reduceLast(_ shape: [Int], _ function: String, sum: Bool, _ f: (Int) -> Double)
  throws(MetricError) -> Tensor
{
  guard let c = shape.last else {
    throw .invalidShape("\(function) reduces the last axis and needs rank ≥ 1; received scalars")
  }
  guard c > 0, shape.reduce(1, *) > 0 else {
    throw .emptyBatch("\(function): received shape \(describe(shape))")
  }
  let n = shape.reduce(1, *) / c
  let v = (0..<n).map { r in
    var s = 0.0
    for j in 0..<c { s += f(r * c + j) }
    return sum ? s : s / Double(c)
  }
  return .float64(v, shape: Array(shape.dropLast()))
}
