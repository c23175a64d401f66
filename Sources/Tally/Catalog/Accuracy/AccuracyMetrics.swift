//===--- AccuracyMetrics.swift --------------------------------------------===//
//
// Keras's `accuracy_metrics.py`: Accuracy, BinaryAccuracy,
// CategoricalAccuracy, SparseCategoricalAccuracy, TopKCategoricalAccuracy,
// SparseTopKCategoricalAccuracy, and their per-sample functions.
//
//===----------------------------------------------------------------------===//

//===--- Shared helpers ---------------------------------------------------===//

/// Values as they read after Keras's cast to `dtype` (float32 rounding,
/// integer truncation, bool as 0/1).
func cast(_ values: [Double], to dtype: DType) -> [Double] {
  switch dtype {
  case .float64: values
  case .float32: values.map { Double(Float($0)) }
  case .int, .int32, .int64, .uint8: values.map { $0.rounded(.towardZero) }
  case .bool: values.map { $0 != 0 ? 1 : 0 }
  }
}

/// Index of the largest element of each row of `length` (ties: lowest
/// index; a NaN counts as the largest, as NumPy's `argmax`).
func argmaxRows(_ x: [Double], length c: Int) -> [Double] {
  guard c > 0 else { return [] }
  return (0..<(x.count / c)).map { r in
    var best = r * c
    for j in (r * c)..<((r + 1) * c) {
      if x[best].isNaN { break }
      if x[j].isNaN || x[j] > x[best] { best = j }
    }
    return Double(best - r * c)
  }
}

/// Checks that every sparse label is an integer class id in `0..<classes`.
func checkClassIds(_ ids: [Double], classes: Int, _ function: String) throws(MetricError) {
  if let i = ids.firstIndex(where: { $0 != $0.rounded() || $0 < 0 || $0 >= Double(classes) }) {
    throw .invalidValue(
      "\(function): class ids must be integers in [0, \(classes)); received \(ids[i]) at flat index \(i)")
  }
}

/// Whether `target`'s score is among the `k` highest of the row: fewer than
/// `k` classes score strictly higher (Keras's `in_top_k`, ties count as
/// hits). NaN as Keras's NumPy backend (the reference) sorts it, above
/// every number: a NaN elsewhere in the row takes one of the `k` places,
/// and a NaN target score is a miss (every comparison with it is false).
/// (Keras's JAX backend ranks NaN differently; the fixtures record both.)
func inTopK(_ row: ArraySlice<Double>, target: Int, k: Int) -> Bool {
  let score = row[row.startIndex + target]
  if score.isNaN { return false }
  var higher = 0
  for v in row where !(v <= score) { higher += 1 }
  return higher < k
}

/// The arguments of `sparse_top_k_categorical_accuracy` and its class;
/// Keras writes `from_sorted_ids` only when it is set.
let sparseTopKArguments = [
  MetricArgument("k", .integer, default: 5),
  MetricArgument("from_sorted_ids", .bool, default: false, omittedAtDefault: true),
]

//===--- Per-sample functions ---------------------------------------------===//

/// Per-element exact equality: 1 where `yTrue == yPred`, else 0.
///
/// Formula: `y_true` is cast to `y_pred`'s dtype, rank-aligned, and compared
/// element by element (with broadcasting).
///
/// Keras: `keras.metrics.accuracy` (the function behind `Accuracy`).
///
/// ```swift
/// try accuracy(yTrue: Tensor([[1], [2], [3], [4]]), yPred: Tensor([[0], [2], [3], [4]]))
/// // [[0], [1], [1], [1]]
/// ```
public func accuracy(yTrue: Tensor, yPred: Tensor) throws(MetricError) -> Tensor {
  let (t, p) = Tensor.squeezeOrExpandToSameRank(yTrue, yPred)
  guard
    let (v, shape) = Elementwise.map(
      cast(t.doubles(), to: yPred.dtype), shape: t.shape, p.doubles(), shape: p.shape,
      { $0 == $1 ? 1 : 0 })
  else {
    throw .shapeMismatch(
      "accuracy: y_true and y_pred cannot be broadcast together; received shapes \(describe(yTrue.shape)) and \(describe(yPred.shape))"
    )
  }
  return .float64(v, shape: shape)
}

/// Per-element binary accuracy: 1 where `yTrue` equals `yPred > threshold`.
///
/// Formula: `y_true == cast(y_pred > threshold)` after rank alignment; the
/// comparison is strict, so a prediction equal to the threshold is class 0.
/// A soft label (0.9) never matches.
///
/// Keras: `keras.metrics.binary_accuracy(y_true, y_pred, threshold=0.5)`.
///
/// ```swift
/// try binaryAccuracy(yTrue: Tensor([[1], [1], [0], [0]]), yPred: Tensor([[0.98], [1], [0], [0.6]]))
/// // [[1], [1], [1], [0]]
/// ```
public func binaryAccuracy(yTrue: Tensor, yPred: Tensor, threshold: Double = 0.5)
  throws(MetricError) -> Tensor
{
  let (t, p) = Tensor.squeezeOrExpandToSameRank(yTrue, yPred)
  let thr = Double(Float(threshold))
  let predicted = p.doubles().map { $0 > thr ? 1.0 : 0.0 }
  guard
    let (v, shape) = Elementwise.map(
      t.doubles(), shape: t.shape, cast(predicted, to: yTrue.dtype), shape: p.shape,
      { $0 == $1 ? 1 : 0 })
  else {
    throw .shapeMismatch(
      "binary_accuracy: y_true and y_pred cannot be broadcast together; received shapes \(describe(yTrue.shape)) and \(describe(yPred.shape))"
    )
  }
  return .float64(v, shape: shape)
}

/// Per-sample categorical accuracy: 1 where the argmax of `yTrue` equals the
/// argmax of `yPred` along the last axis (ties: lowest index).
///
/// Keras: `keras.metrics.categorical_accuracy`. Works on probabilities or
/// logits.
///
/// ```swift
/// try categoricalAccuracy(yTrue: Tensor([[0, 0, 1], [0, 1, 0]]), yPred: Tensor([[0.1, 0.9, 0.8], [0.05, 0.95, 0]]))
/// // [0, 1]
/// ```
public func categoricalAccuracy(yTrue: Tensor, yPred: Tensor) throws(MetricError) -> Tensor {
  guard yTrue.rank >= 1, yPred.rank >= 1 else {
    throw .invalidShape(
      "categorical_accuracy needs rank ≥ 1 inputs; received shapes \(describe(yTrue.shape)) and \(describe(yPred.shape))"
    )
  }
  var trueIds = argmaxRows(yTrue.doubles(), length: yTrue.shape.last!)
  var trueShape = Array(yTrue.shape.dropLast())
  if trueShape.count == yPred.rank {
    // Keras squeezes the last axis of argmax(y_true) when ranks match.
    guard trueShape.last == 1 else {
      throw .shapeMismatch(
        "categorical_accuracy: y_true and y_pred do not fit; received shapes \(describe(yTrue.shape)) and \(describe(yPred.shape))"
      )
    }
    trueShape.removeLast()
  }
  let predIds = argmaxRows(yPred.doubles(), length: yPred.shape.last!)
  let predShape = Array(yPred.shape.dropLast())
  trueIds = cast(trueIds, to: yPred.dtype)
  guard
    let (v, shape) = Elementwise.map(
      trueIds, shape: trueShape, predIds, shape: predShape, { $0 == $1 ? 1 : 0 })
  else {
    throw .shapeMismatch(
      "categorical_accuracy: y_true and y_pred cannot be broadcast together; received shapes \(describe(yTrue.shape)) and \(describe(yPred.shape))"
    )
  }
  return .float64(v, shape: shape)
}

/// Per-sample sparse categorical accuracy: 1 where the integer label equals
/// the argmax of `yPred` along the last axis.
///
/// Formula: `y_true == argmax(y_pred, -1)`; `y_true` of shape `(N,)` or
/// `(N, 1)` (or `(N, T)` against `(N, T, C)`).
///
/// Keras: `keras.metrics.sparse_categorical_accuracy`. Deviation: labels that
/// are not integer class ids in `[0, C)` throw (Keras counts them as
/// misses).
///
/// ```swift
/// try sparseCategoricalAccuracy(yTrue: Tensor([[2], [1]]), yPred: Tensor([[0.1, 0.6, 0.3], [0.05, 0.95, 0]]))
/// // [0, 1]
/// ```
public func sparseCategoricalAccuracy(yTrue: Tensor, yPred: Tensor) throws(MetricError) -> Tensor {
  guard yPred.rank >= 1, let c = yPred.shape.last, c > 0 else {
    throw .invalidShape(
      "sparse_categorical_accuracy needs y_pred of rank ≥ 1 with classes; received shape \(describe(yPred.shape))")
  }
  let labels = cast(yTrue.doubles(), to: yPred.dtype)
  try checkClassIds(labels, classes: c, "sparse_categorical_accuracy")
  var trueShape = yTrue.shape
  var squeezed = false
  if yTrue.rank == yPred.rank, trueShape.last == 1 {
    trueShape.removeLast()
    squeezed = true
  }
  let predIds = argmaxRows(yPred.doubles(), length: c)
  guard
    case (let v, var shape)? = Elementwise.map(
      labels, shape: trueShape, predIds, shape: Array(yPred.shape.dropLast()), { $0 == $1 ? 1 : 0 })
  else {
    throw .shapeMismatch(
      "sparse_categorical_accuracy: y_true and y_pred do not fit; received shapes \(describe(yTrue.shape)) and \(describe(yPred.shape))"
    )
  }
  if squeezed && shape == trueShape { shape = yTrue.shape }
  if shape.count > 1 && shape.last == 1 { shape.removeLast() }
  return .float64(v, shape: shape)
}

/// Flattens `yPred` to rows of its last axis and returns the rows, the class
/// count, and the shape of one result per row.
private func rowsOf(_ yPred: Tensor, _ function: String) throws(MetricError) -> ([Double], Int) {
  guard yPred.rank >= 2, let c = yPred.shape.last, c > 0 else {
    throw .invalidShape(
      "\(function) needs y_pred of shape (samples, classes); received shape \(describe(yPred.shape))")
  }
  return (yPred.doubles(), c)
}

/// Per-sample top-k categorical accuracy: 1 where the argmax of `yTrue` is
/// among the `k` highest predictions.
///
/// Formula: fewer than `k` classes score strictly higher than the target
/// (ties at the boundary count as hits, as Keras's `in_top_k`; a NaN
/// target score is a miss, a NaN elsewhere scores above every number);
/// inputs of
/// rank > 2 are flattened to rows and the result reshaped back.
///
/// Keras: `keras.metrics.top_k_categorical_accuracy(y_true, y_pred, k=5)`.
/// With `k` at least the number of classes every sample is a hit, as in
/// Keras.
///
/// ```swift
/// try topKCategoricalAccuracy(yTrue: Tensor([[0, 0, 1], [0, 1, 0]]), yPred: Tensor([[0.1, 0.9, 0.8], [0.05, 0.95, 0]]), k: 1)
/// // [0, 1]
/// ```
public func topKCategoricalAccuracy(yTrue: Tensor, yPred: Tensor, k: Int = 5) throws(MetricError)
  -> Tensor
{
  guard k >= 1 else { throw .invalidConfiguration("k must be ≥ 1; received k=\(k)") }
  let (pred, c) = try rowsOf(yPred, "top_k_categorical_accuracy")
  guard yTrue.rank >= 1, yTrue.shape.last == c else {
    throw .shapeMismatch(
      "top_k_categorical_accuracy: y_true and y_pred must have the same classes; received shapes \(describe(yTrue.shape)) and \(describe(yPred.shape))"
    )
  }
  let targets = argmaxRows(yTrue.doubles(), length: c)
  let rows = pred.count / c
  guard targets.count == rows else {
    throw .shapeMismatch(
      "top_k_categorical_accuracy: received shapes \(describe(yTrue.shape)) and \(describe(yPred.shape))")
  }
  let v = (0..<rows).map { r in
    inTopK(pred[(r * c)..<((r + 1) * c)], target: Int(targets[r]), k: k) ? 1.0 : 0.0
  }
  return .float64(v, shape: Array(yTrue.shape.dropLast()))
}

/// Per-sample sparse top-k categorical accuracy: 1 where the integer label
/// is among the `k` highest predictions, or, with `fromSortedIds`, among the
/// first `k` ids of each row of `yPred` (ids sorted by score).
///
/// Keras: `keras.metrics.sparse_top_k_categorical_accuracy(y_true, y_pred,
/// k=5, from_sorted_ids=False)`. Deviation: labels that are not class ids in
/// `[0, C)` throw (without `fromSortedIds`).
///
/// ```swift
/// try sparseTopKCategoricalAccuracy(yTrue: Tensor([2, 1]), yPred: Tensor([[0.1, 0.9, 0.8], [0.05, 0.95, 0]]), k: 1)
/// // [0, 1]
/// ```
public func sparseTopKCategoricalAccuracy(
  yTrue: Tensor, yPred: Tensor, k: Int = 5, fromSortedIds: Bool = false
) throws(MetricError) -> Tensor {
  guard k >= 1 else { throw .invalidConfiguration("k must be ≥ 1; received k=\(k)") }
  let (pred, c) = try rowsOf(yPred, "sparse_top_k_categorical_accuracy")
  let rows = pred.count / c
  var labels = yTrue.doubles()
  guard labels.count == rows else {
    throw .shapeMismatch(
      "sparse_top_k_categorical_accuracy: one label per row of y_pred; received shapes \(describe(yTrue.shape)) and \(describe(yPred.shape))"
    )
  }
  let shape = yTrue.shape
  let v: [Double]
  if fromSortedIds {
    labels = cast(labels, to: yPred.dtype)
    v = (0..<rows).map { r in
      pred[(r * c)..<(r * c + min(k, c))].contains(labels[r]) ? 1.0 : 0.0
    }
  } else {
    labels = labels.map { $0.rounded(.towardZero) }
    try checkClassIds(labels, classes: c, "sparse_top_k_categorical_accuracy")
    v = (0..<rows).map { r in
      inTopK(pred[(r * c)..<((r + 1) * c)], target: Int(labels[r]), k: k) ? 1.0 : 0.0
    }
  }
  return .float64(v, shape: shape)
}

//===--- The accuracy metrics ---------------------------------------------===//

//===--- Metric classes ---------------------------------------------------===//

extension MetricFamily {
  /// Keras's accuracy metrics.
  public static let accuracy = MetricFamily(
    "Accuracy metrics",
    [
      Accuracy.declaration, BinaryAccuracy.declaration, CategoricalAccuracy.declaration,
      SparseCategoricalAccuracy.declaration, TopKCategoricalAccuracy.declaration,
      SparseTopKCategoricalAccuracy.declaration,
    ])
}

/// How often predictions equal labels exactly.
///
/// Formula: the weighted mean over samples of ``accuracy(yTrue:yPred:)``
/// (per-sample means of per-element equality). No threshold, no argmax.
///
/// Keras: `keras.metrics.Accuracy(name="accuracy", dtype=None)`.
///
/// ```swift
/// var m = Accuracy()
/// try m.update(yTrue: [[1], [2], [3], [4]], yPred: [[0], [2], [3], [4]])
/// m.result()   // 0.75
/// ```
///
/// - Complexity: `update` is O(*n*).
public typealias Accuracy = SampleMean<AccuracyDefinition>

/// The declaration of ``Accuracy``: the weighted mean of `accuracy`.
public enum AccuracyDefinition: SampleMeanDefinition {
  public static let declaration = Accuracy.declare("accuracy", .samples, accuracy(yTrue:yPred:))
}

/// How often predictions, thresholded, match binary labels.
///
/// Formula: the weighted mean of ``binaryAccuracy(yTrue:yPred:threshold:)``;
/// `y_pred > threshold` is strict (0.5 is class 0 at the default threshold).
/// For logits use `threshold: 0`.
///
/// Keras: `keras.metrics.BinaryAccuracy(name="binary_accuracy", dtype=None,
/// threshold=0.5)`.
///
/// ```swift
/// var m = BinaryAccuracy()
/// try m.update(yTrue: [[1], [1], [0], [0]], yPred: [[0.98], [1], [0], [0.6]])
/// m.result()   // 0.75
/// ```
///
/// - Complexity: `update` is O(*n*).
public struct BinaryAccuracy: SampleMeanMetric, DeclaredMetric {
  /// The declaration.
  public static let declaration = MetricDeclaration(
    BinaryAccuracy.self, className: "BinaryAccuracy", defaultName: "binary_accuracy",
    arguments: [MetricArgument("threshold", .number, default: 0.5)], input: .samples,
    function: FunctionDeclaration("binary_accuracy", arguments: [MetricArgument("threshold", .number, default: 0.5)]) {
      (a: MetricArguments) throws(MetricError) in
      let threshold = try a.double("threshold")
      return { (t, p) throws(MetricError) in try binaryAccuracy(yTrue: t, yPred: p, threshold: threshold) }
    })
  /// The name in logs; default `"binary_accuracy"`.
  public var name: String
  /// The Keras dtype name, kept for the configuration.
  public var dtype: String
  /// The decision threshold.
  public let threshold: Double
  /// The weighted mean's state.
  public var state = MeanState()

  /// A binary accuracy at `threshold`.
  public init(name: String = "binary_accuracy", dtype: String = "float32", threshold: Double = 0.5) {
    self.name = name
    self.dtype = dtype
    self.threshold = threshold
  }

  /// Builds the metric from checked arguments.
  public init(arguments a: MetricArguments) throws(MetricError) {
    self.init(name: a.name, dtype: a.dtype, threshold: try a.double("threshold"))
  }

  /// The declared arguments' values.
  public var arguments: [String: JSONValue] {
    ["threshold": .double(threshold)]
  }

  /// The per-sample values: ``binaryAccuracy(yTrue:yPred:threshold:)``.
  public func values(yTrue: Tensor, yPred: Tensor) throws(MetricError) -> Tensor {
    try binaryAccuracy(yTrue: yTrue, yPred: yPred, threshold: threshold)
  }

  /// Flat inputs: matches counted in place, across cores.
  public func batchState(yTrue: Tensor, yPred: Tensor, sampleWeight: Tensor?) throws(MetricError) -> MeanState? {
    binaryAccuracyState(yTrue: yTrue, yPred: yPred, sampleWeight: sampleWeight, threshold: threshold)
  }
}

/// How often the argmax of the predictions matches the argmax of one-hot
/// labels.
///
/// Formula: the weighted mean of ``categoricalAccuracy(yTrue:yPred:)``.
///
/// Keras: `keras.metrics.CategoricalAccuracy(name="categorical_accuracy",
/// dtype=None)`.
///
/// ```swift
/// var m = CategoricalAccuracy()
/// try m.update(yTrue: [[0, 0, 1], [0, 1, 0]], yPred: [[0.1, 0.9, 0.8], [0.05, 0.95, 0]])
/// m.result()   // 0.5
/// ```
///
/// - Complexity: `update` is O(*n*).
public typealias CategoricalAccuracy = SampleMean<CategoricalAccuracyDefinition>

/// The declaration of ``CategoricalAccuracy``: the weighted mean of `categorical_accuracy`.
public enum CategoricalAccuracyDefinition: SampleMeanDefinition {
  public static let declaration = CategoricalAccuracy.declare(
    "categorical_accuracy", .classAxis, categoricalAccuracy(yTrue:yPred:))
}

/// How often the argmax of the predictions matches integer labels.
///
/// Formula: the weighted mean of ``sparseCategoricalAccuracy(yTrue:yPred:)``.
///
/// Keras: `keras.metrics.SparseCategoricalAccuracy(
/// name="sparse_categorical_accuracy", dtype=None)`. Deviation: labels that
/// are not class ids in `[0, C)` throw.
///
/// ```swift
/// var m = SparseCategoricalAccuracy()
/// try m.update(yTrue: [[2], [1]], yPred: [[0.1, 0.6, 0.3], [0.05, 0.95, 0]])
/// m.result()   // 0.5
/// ```
///
/// - Complexity: `update` is O(*n*).
public typealias SparseCategoricalAccuracy = SampleMean<SparseCategoricalAccuracyDefinition>

/// The declaration and fast path of ``SparseCategoricalAccuracy``: the weighted mean of `sparse_categorical_accuracy`.
public enum SparseCategoricalAccuracyDefinition: SampleMeanDefinition {
  public static let declaration = SparseCategoricalAccuracy.declare(
    "sparse_categorical_accuracy", .classAxis, sparseCategoricalAccuracy(yTrue:yPred:))

  /// Rows of float scores: one vectorised argmax per row, across cores.
  public static func batchState(yTrue: Tensor, yPred: Tensor, sampleWeight: Tensor?) throws(MetricError) -> MeanState? {
    try sparseAccuracyState(
      yTrue: yTrue, yPred: yPred, sampleWeight: sampleWeight, topK: nil, function: "sparse_categorical_accuracy")
  }
}

/// How often the one-hot target is among the `k` highest predictions.
///
/// Formula: the weighted mean of
/// ``topKCategoricalAccuracy(yTrue:yPred:k:)``.
///
/// Keras: `keras.metrics.TopKCategoricalAccuracy(k=5,
/// name="top_k_categorical_accuracy", dtype=None)`.
///
/// ```swift
/// var m = try TopKCategoricalAccuracy(k: 1)
/// try m.update(yTrue: [[0, 0, 1], [0, 1, 0]], yPred: [[0.1, 0.9, 0.8], [0.05, 0.95, 0]])
/// m.result()   // 0.5
/// ```
///
/// - Complexity: `update` is O(*n*).
public struct TopKCategoricalAccuracy: SampleMeanMetric, DeclaredMetric {
  /// The declaration.
  public static let declaration = MetricDeclaration(
    TopKCategoricalAccuracy.self, className: "TopKCategoricalAccuracy", defaultName: "top_k_categorical_accuracy",
    arguments: [MetricArgument("k", .integer, default: 5)], input: .classAxis,
    function: FunctionDeclaration("top_k_categorical_accuracy", arguments: [MetricArgument("k", .integer, default: 5)])
    { (a: MetricArguments) throws(MetricError) in
      let k = try a.int("k")
      return { (t, p) throws(MetricError) in try topKCategoricalAccuracy(yTrue: t, yPred: p, k: k) }
    })
  /// The name in logs; default `"top_k_categorical_accuracy"`.
  public var name: String
  /// The Keras dtype name, kept for the configuration.
  public var dtype: String
  /// How many top predictions count.
  public let k: Int
  /// The weighted mean's state.
  public var state = MeanState()

  /// A top-`k` accuracy (`k ≥ 1`).
  public init(k: Int = 5, name: String = "top_k_categorical_accuracy", dtype: String = "float32")
    throws(MetricError)
  {
    guard k >= 1 else { throw .invalidConfiguration("TopKCategoricalAccuracy k must be ≥ 1; received k=\(k)") }
    self.k = k
    self.name = name
    self.dtype = dtype
  }

  /// Builds the metric from checked arguments.
  public init(arguments a: MetricArguments) throws(MetricError) {
    try self.init(k: try a.int("k"), name: a.name, dtype: a.dtype)
  }

  /// The declared arguments' values.
  public var arguments: [String: JSONValue] {
    ["k": .int(Int64(k))]
  }

  /// The per-sample values: ``topKCategoricalAccuracy(yTrue:yPred:k:)``.
  public func values(yTrue: Tensor, yPred: Tensor) throws(MetricError) -> Tensor {
    try topKCategoricalAccuracy(yTrue: yTrue, yPred: yPred, k: k)
  }
}

/// How often the integer label is among the `k` highest predictions (or the
/// first `k` sorted ids).
///
/// Formula: the weighted mean of
/// ``sparseTopKCategoricalAccuracy(yTrue:yPred:k:fromSortedIds:)``.
///
/// Keras: `keras.metrics.SparseTopKCategoricalAccuracy(k=5,
/// name="sparse_top_k_categorical_accuracy", dtype=None,
/// from_sorted_ids=False)`. Deviation: labels that are not class ids in
/// `[0, C)` throw.
///
/// ```swift
/// var m = try SparseTopKCategoricalAccuracy(k: 1)
/// try m.update(yTrue: [2, 1], yPred: [[0.1, 0.9, 0.8], [0.05, 0.95, 0]])
/// m.result()   // 0.5
/// ```
///
/// - Complexity: `update` is O(*n*).
public struct SparseTopKCategoricalAccuracy: SampleMeanMetric, DeclaredMetric {
  /// The declaration.
  public static let declaration = MetricDeclaration(
    SparseTopKCategoricalAccuracy.self, className: "SparseTopKCategoricalAccuracy",
    defaultName: "sparse_top_k_categorical_accuracy",
    arguments: sparseTopKArguments, input: .classAxis,
    function: FunctionDeclaration("sparse_top_k_categorical_accuracy", arguments: sparseTopKArguments) {
      (a: MetricArguments) throws(MetricError) in
      let (k, sorted) = (try a.int("k"), try a.bool("from_sorted_ids"))
      return { (t, p) throws(MetricError) in
        try sparseTopKCategoricalAccuracy(yTrue: t, yPred: p, k: k, fromSortedIds: sorted)
      }
    })
  /// The name in logs; default `"sparse_top_k_categorical_accuracy"`.
  public var name: String
  /// The Keras dtype name, kept for the configuration.
  public var dtype: String
  /// How many top predictions count.
  public let k: Int
  /// Whether `yPred` holds class ids sorted by score rather than scores.
  public let fromSortedIds: Bool
  /// The weighted mean's state.
  public var state = MeanState()

  /// A sparse top-`k` accuracy (`k ≥ 1`).
  public init(
    k: Int = 5, name: String = "sparse_top_k_categorical_accuracy", dtype: String = "float32",
    fromSortedIds: Bool = false
  ) throws(MetricError) {
    guard k >= 1 else {
      throw .invalidConfiguration("SparseTopKCategoricalAccuracy k must be ≥ 1; received k=\(k)")
    }
    (self.k, self.name) = (k, name)
    (self.dtype, self.fromSortedIds) = (dtype, fromSortedIds)
  }

  /// Builds the metric from checked arguments.
  public init(arguments a: MetricArguments) throws(MetricError) {
    try self.init(k: try a.int("k"), name: a.name, dtype: a.dtype, fromSortedIds: try a.bool("from_sorted_ids"))
  }

  /// The declared arguments' values.
  public var arguments: [String: JSONValue] {
    ["k": .int(Int64(k)), "from_sorted_ids": .bool(fromSortedIds)]
  }

  /// The per-sample values:
  /// ``sparseTopKCategoricalAccuracy(yTrue:yPred:k:fromSortedIds:)``.
  public func values(yTrue: Tensor, yPred: Tensor) throws(MetricError) -> Tensor {
    try sparseTopKCategoricalAccuracy(yTrue: yTrue, yPred: yPred, k: k, fromSortedIds: fromSortedIds)
  }

  /// Rows of float scores: one vectorised count per row, across cores.
  public func batchState(yTrue: Tensor, yPred: Tensor, sampleWeight: Tensor?) throws(MetricError) -> MeanState? {
    guard !fromSortedIds else { return nil }
    return try sparseAccuracyState(
      yTrue: yTrue, yPred: yPred, sampleWeight: sampleWeight, topK: k, function: "sparse_top_k_categorical_accuracy")
  }
}
