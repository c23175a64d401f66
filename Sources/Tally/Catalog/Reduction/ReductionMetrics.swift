//===--- ReductionMetrics.swift -------------------------------------------===//
//
// Keras's `reduction_metrics.py`: Sum, Mean, MeanMetricWrapper.
//
//===----------------------------------------------------------------------===//

//===--- Sum --------------------------------------------------------------===//

/// The (weighted) sum of the given values.
///
/// Formula: `total += Σ values · sample_weight`, with values of rank > 1
/// first summed per sample (spec §3.2); `result = total`.
///
/// Keras: `keras.metrics.Sum(name="sum", dtype=None)`. Deviation: the total
/// is a double-double ``CompensatedSum`` and the result a `Double`, where
/// Keras accumulates in float32 (`Sum` of `[2^24]` then `[1]` is 16,777,216
/// in Keras and 16,777,217 here). `dtype` matters only when it is an integer
/// type: values and weights are then truncated toward zero, as Keras's cast
/// does; a floating `dtype` (even `"float16"`) accumulates in double-double.
///
/// ```swift
/// var m = Sum()
/// try m.update([1, 3, 5, 7])
/// m.result()            // 16.0
/// m.reset()
/// try m.update([1, 3, 5, 7], sampleWeight: [1, 1, 0, 0])
/// m.result()            // 4.0
/// ```
///
/// - Complexity: `update` is O(*n*) in the number of elements.
public struct Sum: KerasSerializable {
  /// `"Sum"`.
  public static var className: String { "Sum" }
  /// The name in logs; default `"sum"`.
  public var name: String
  /// The Keras dtype name, kept for the configuration.
  public var dtype: String
  /// The compensated total.
  public var state = CompensatedSum()

  /// A sum named `name`.
  public init(name: String = "sum", dtype: String = "float32") {
    self.name = name
    self.dtype = dtype
  }

  /// Rebuilds a `Sum` from `{"class_name": "Sum", "config": {"name", "dtype"}}`.
  public init(config: KerasConfig) throws(MetricError) {
    var r = try ConfigReader(config, expecting: Self.className)
    self.init(name: try r.string("name", default: "sum"), dtype: try r.dtype())
    try r.finish()
  }

  /// `{"name": name, "dtype": dtype}`, as Keras's `get_config()`.
  public var config: KerasConfig {
    KerasConfig(className: Self.className, config: ["name": .string(name), "dtype": .string(dtype)])
  }

  /// Adds `values` (weighted by `sampleWeight`).
  ///
  /// - Throws: ``MetricError/emptyBatch(_:)``, ``MetricError/invalidWeights(_:)``;
  ///   the state is then unchanged.
  public mutating func update(_ values: Tensor, sampleWeight: Tensor? = nil) throws(MetricError) {
    let s = try reduceToSamplewise(
      values, sampleWeight: sampleWeight, .sum, integerDType: isIntegerDType(dtype))
    state.add(contentsOf: s.values)
  }

  /// Adds `values` given as a scalar or nested arrays.
  public mutating func update<V: TensorConvertible>(_ values: V) throws(MetricError) {
    try update(try Tensor(values), sampleWeight: nil)
  }

  /// Adds weighted `values` given as scalars or nested arrays.
  public mutating func update<V: TensorConvertible, W: TensorConvertible>(
    _ values: V, sampleWeight: W
  ) throws(MetricError) {
    try update(try Tensor(values), sampleWeight: try Tensor(sampleWeight))
  }

  /// The total.
  public func result() -> MetricValue { .scalar(state.value) }
}

//===--- Mean -------------------------------------------------------------===//

/// The (weighted) mean of the given values.
///
/// Formula: values of rank > 1 are first averaged per sample (over every axis
/// after the first); then `total += Σ v_i · w_i`, `count += Σ w_i` (or the
/// number of samples, `values.shape[0]`, when unweighted; 1 for a scalar);
/// `result = total / count`, or 0 when `count` is 0 (Keras's
/// `divide_no_nan`). Weight shapes follow Keras's rules exactly (spec §3.2):
/// a `[N]` weight weights samples, a weight of the values' shape weights
/// elements, and a scalar weight counts the whole batch as that many samples.
///
/// Keras: `keras.metrics.Mean(name="mean", dtype=None)`. Deviations: the
/// total and the weight sum are double-double and the unweighted count an
/// `Int64`, where Keras uses float32 for both (its count stops at 2^24); the
/// result is a `Double`. An integer `dtype` truncates values and weights
/// toward zero, as in Keras.
///
/// ```swift
/// var m = Mean()
/// try m.update([1, 3, 5, 7])
/// m.result()            // 4.0
/// m.reset()
/// try m.update([1, 3, 5, 7], sampleWeight: [1, 1, 0, 0])
/// m.result()            // 2.0
/// ```
///
/// Edge cases: negative weights are accepted as in Keras; a total weight of
/// 0 gives 0; NaN values propagate; NaN or infinite weights, empty batches
/// and non-broadcasting weights throw.
///
/// - Complexity: `update` is O(*n*) in the number of elements.
public struct Mean: KerasSerializable {
  /// `"Mean"`.
  public static var className: String { "Mean" }
  /// The name in logs; default `"mean"`.
  public var name: String
  /// The Keras dtype name, kept for the configuration.
  public var dtype: String
  /// The total, sample count and weight total.
  public var state = MeanState()

  /// A mean named `name`.
  public init(name: String = "mean", dtype: String = "float32") {
    self.name = name
    self.dtype = dtype
  }

  /// Rebuilds a `Mean` from `{"class_name": "Mean", "config": {"name", "dtype"}}`.
  public init(config: KerasConfig) throws(MetricError) {
    var r = try ConfigReader(config, expecting: Self.className)
    self.init(name: try r.string("name", default: "mean"), dtype: try r.dtype())
    try r.finish()
  }

  /// `{"name": name, "dtype": dtype}`, as Keras's `get_config()`.
  public var config: KerasConfig {
    KerasConfig(className: Self.className, config: ["name": .string(name), "dtype": .string(dtype)])
  }

  /// Adds `values` (weighted by `sampleWeight`).
  ///
  /// - Throws: ``MetricError/emptyBatch(_:)``, ``MetricError/invalidWeights(_:)``;
  ///   the state is then unchanged.
  public mutating func update(_ values: Tensor, sampleWeight: Tensor? = nil) throws(MetricError) {
    try state.add(values, sampleWeight: sampleWeight, integerDType: isIntegerDType(dtype))
  }

  /// Adds `values` given as a scalar or nested arrays.
  public mutating func update<V: TensorConvertible>(_ values: V) throws(MetricError) {
    try update(try Tensor(values), sampleWeight: nil)
  }

  /// Adds weighted `values` given as scalars or nested arrays.
  public mutating func update<V: TensorConvertible, W: TensorConvertible>(
    _ values: V, sampleWeight: W
  ) throws(MetricError) {
    try update(try Tensor(values), sampleWeight: try Tensor(sampleWeight))
  }

  /// The mean, or 0 before any update.
  public func result() -> MetricValue { .scalar(state.mean) }
}

//===--- MeanMetricWrapper ------------------------------------------------===//

/// A per-sample metric function, `(yTrue, yPred) -> values`, with the name
/// under which Keras serializes it.
///
/// Built-in functions (``meanSquaredError(yTrue:yPred:)`` and the others of
/// `keras.metrics`) are registered by their Keras name, so a
/// ``MeanMetricWrapper`` that wraps one round-trips through its config. A
/// custom function gets a name of your choosing; two wrappers merge when
/// their function names (and arguments) match.
public struct SampleFunction: Sendable {
  /// The Keras name of the function (`"mean_squared_error"`).
  public let name: String
  /// Keyword arguments Keras would pass to the function (Keras's `**kwargs`
  /// of `MeanMetricWrapper`), kept for the configuration.
  public let arguments: [String: JSONValue]
  private let body: @Sendable (Tensor, Tensor) throws(MetricError) -> Tensor

  /// Wraps `body` under `name`.
  public init(
    name: String, arguments: [String: JSONValue] = [:],
    _ body: @escaping @Sendable (Tensor, Tensor) throws(MetricError) -> Tensor
  ) {
    self.name = name
    self.arguments = arguments
    self.body = body
  }

  /// Applies the function.
  public func callAsFunction(_ yTrue: Tensor, _ yPred: Tensor) throws(MetricError) -> Tensor {
    try body(yTrue, yPred)
  }

  /// Keras's `mean_squared_error`.
  public static let meanSquaredError = SampleFunction(name: "mean_squared_error") {
    (t: Tensor, p: Tensor) throws(MetricError) -> Tensor in try Tally.meanSquaredError(yTrue: t, yPred: p)
  }

  /// Keras's `mean_absolute_error`.
  public static let meanAbsoluteError = SampleFunction(name: "mean_absolute_error") {
    (t: Tensor, p: Tensor) throws(MetricError) -> Tensor in try Tally.meanAbsoluteError(yTrue: t, yPred: p)
  }

  /// The built-in functions by Keras name, with their default arguments.
  public static let registry: [String: SampleFunction] = {
    var table: [String: SampleFunction] = [:]
    for name in knownArguments.keys {
      if let f = try? named(name, arguments: [:]) { table[name] = f }
    }
    return table
  }()

  /// Every per-sample function of `keras.metrics` (and `huber`, `log_cosh`
  /// of `keras.losses`) with the keyword arguments it takes.
  public static let knownArguments: [String: Set<String>] = [
    "mean_squared_error": [], "mean_absolute_error": [], "mean_absolute_percentage_error": [],
    "mean_squared_logarithmic_error": [], "log_cosh": [], "kl_divergence": [], "poisson": [],
    "hinge": [], "squared_hinge": [], "categorical_hinge": [], "categorical_accuracy": [],
    "sparse_categorical_accuracy": [], "binary_accuracy": ["threshold"],
    "top_k_categorical_accuracy": ["k"], "sparse_top_k_categorical_accuracy": ["k", "from_sorted_ids"],
    "binary_crossentropy": ["from_logits", "label_smoothing", "axis"],
    "categorical_crossentropy": ["from_logits", "label_smoothing", "axis"],
    "sparse_categorical_crossentropy": ["from_logits", "ignore_class", "axis"],
    "binary_focal_crossentropy": [
      "apply_class_balancing", "alpha", "gamma", "from_logits", "label_smoothing", "axis",
    ],
    "categorical_focal_crossentropy": ["alpha", "gamma", "from_logits", "label_smoothing", "axis"],
    "huber": ["delta"], "pearson_correlation": ["axis"], "concordance_correlation": ["axis"],
  ]

  /// The built-in function `name` with Keras keyword `arguments` (as in a
  /// serialized `MeanMetricWrapper`: `{"fn": "huber", "delta": 0.5}`).
  ///
  /// - Throws: ``MetricError/invalidConfiguration(_:)`` for an unknown
  ///   function, an argument it does not take, or a value of the wrong type.
  public static func named(_ name: String, arguments: [String: JSONValue]) throws(MetricError) -> SampleFunction {
    guard let known = knownArguments[name] else {
      throw .invalidConfiguration(
        "unknown metric function \"\(name)\"; known: \(knownArguments.keys.sorted().joined(separator: ", "))")
    }
    if let bad = arguments.keys.sorted().first(where: { !known.contains($0) }) {
      throw .invalidConfiguration("\(name) got an unexpected argument `\(bad)`")
    }
    var r = try ConfigReader(KerasConfig(className: name, config: arguments), expecting: name)
    let b = { (key: String, d: Bool) throws(MetricError) -> Bool in try r.bool(key, default: d) }
    let x = { (key: String, d: Double) throws(MetricError) -> Double in try r.double(key, default: d) }
    let i = { (key: String, d: Int) throws(MetricError) -> Int in try r.int(key, default: d) }
    typealias F = @Sendable (Tensor, Tensor) throws(MetricError) -> Tensor
    let body: F
    switch name {
    case "mean_squared_error": body = { (t, p) throws(MetricError) in try Tally.meanSquaredError(yTrue: t, yPred: p) }
    case "mean_absolute_error": body = { (t, p) throws(MetricError) in try Tally.meanAbsoluteError(yTrue: t, yPred: p) }
    case "mean_absolute_percentage_error":
      body = { (t, p) throws(MetricError) in try meanAbsolutePercentageError(yTrue: t, yPred: p) }
    case "mean_squared_logarithmic_error":
      body = { (t, p) throws(MetricError) in try meanSquaredLogarithmicError(yTrue: t, yPred: p) }
    case "log_cosh": body = { (t, p) throws(MetricError) in try logCosh(yTrue: t, yPred: p) }
    case "kl_divergence": body = { (t, p) throws(MetricError) in try klDivergence(yTrue: t, yPred: p) }
    case "poisson": body = { (t, p) throws(MetricError) in try poisson(yTrue: t, yPred: p) }
    case "hinge": body = { (t, p) throws(MetricError) in try hinge(yTrue: t, yPred: p) }
    case "squared_hinge": body = { (t, p) throws(MetricError) in try squaredHinge(yTrue: t, yPred: p) }
    case "categorical_hinge": body = { (t, p) throws(MetricError) in try categoricalHinge(yTrue: t, yPred: p) }
    case "categorical_accuracy":
      body = { (t, p) throws(MetricError) in try categoricalAccuracy(yTrue: t, yPred: p) }
    case "sparse_categorical_accuracy":
      body = { (t, p) throws(MetricError) in try sparseCategoricalAccuracy(yTrue: t, yPred: p) }
    case "binary_accuracy":
      let threshold = try x("threshold", 0.5)
      body = { (t, p) throws(MetricError) in try binaryAccuracy(yTrue: t, yPred: p, threshold: threshold) }
    case "top_k_categorical_accuracy":
      let k = try i("k", 5)
      body = { (t, p) throws(MetricError) in try topKCategoricalAccuracy(yTrue: t, yPred: p, k: k) }
    case "sparse_top_k_categorical_accuracy":
      let k = try i("k", 5)
      let sorted = try b("from_sorted_ids", false)
      body = { (t, p) throws(MetricError) in
        try sparseTopKCategoricalAccuracy(yTrue: t, yPred: p, k: k, fromSortedIds: sorted)
      }
    case "binary_crossentropy":
      let (logits, ls, axis) = (try b("from_logits", false), try x("label_smoothing", 0), try i("axis", -1))
      body = { (t, p) throws(MetricError) in
        try binaryCrossentropy(yTrue: t, yPred: p, fromLogits: logits, labelSmoothing: ls, axis: axis)
      }
    case "categorical_crossentropy":
      let (logits, ls, axis) = (try b("from_logits", false), try x("label_smoothing", 0), try i("axis", -1))
      body = { (t, p) throws(MetricError) in
        try categoricalCrossentropy(yTrue: t, yPred: p, fromLogits: logits, labelSmoothing: ls, axis: axis)
      }
    case "sparse_categorical_crossentropy":
      let (logits, ignore, axis) = (try b("from_logits", false), try r.optionalInt("ignore_class"), try i("axis", -1))
      body = { (t, p) throws(MetricError) in
        try sparseCategoricalCrossentropy(yTrue: t, yPred: p, fromLogits: logits, ignoreClass: ignore, axis: axis)
      }
    case "binary_focal_crossentropy":
      let balance = try b("apply_class_balancing", false)
      let (alpha, gamma) = (try x("alpha", 0.25), try x("gamma", 2))
      let (logits, ls, axis) = (try b("from_logits", false), try x("label_smoothing", 0), try i("axis", -1))
      body = { (t, p) throws(MetricError) in
        try binaryFocalCrossentropy(
          yTrue: t, yPred: p, applyClassBalancing: balance, alpha: alpha, gamma: gamma, fromLogits: logits,
          labelSmoothing: ls, axis: axis)
      }
    case "categorical_focal_crossentropy":
      let (alpha, gamma) = (try x("alpha", 0.25), try x("gamma", 2))
      let (logits, ls, axis) = (try b("from_logits", false), try x("label_smoothing", 0), try i("axis", -1))
      body = { (t, p) throws(MetricError) in
        try categoricalFocalCrossentropy(
          yTrue: t, yPred: p, alpha: alpha, gamma: gamma, fromLogits: logits, labelSmoothing: ls, axis: axis)
      }
    case "huber":
      let delta = try x("delta", 1)
      body = { (t, p) throws(MetricError) in try huber(yTrue: t, yPred: p, delta: delta) }
    case "pearson_correlation":
      let axis = try i("axis", -1)
      body = { (t, p) throws(MetricError) in try pearsonCorrelation(yTrue: t, yPred: p, axis: axis) }
    default:  // "concordance_correlation"
      let axis = try i("axis", -1)
      body = { (t, p) throws(MetricError) in try concordanceCorrelation(yTrue: t, yPred: p, axis: axis) }
    }
    return SampleFunction(name: name, arguments: arguments, body)
  }
}

/// Wraps a per-sample function into a weighted mean metric.
///
/// Formula: `values = fn(yTrue, yPred)` (one value per sample, or per
/// position for sequences), then ``Mean``'s update with `sampleWeight`.
///
/// Keras: `keras.metrics.MeanMetricWrapper(fn, name=None, dtype=None,
/// **kwargs)`. Most of the Keras catalog (accuracies, cross-entropies,
/// regression errors) is such a wrapper. Keras's mask propagation has no
/// Swift counterpart: pass masks as `sampleWeight`. The default name is
/// Keras's `"mean_metric_wrapper"` (Keras makes it unique per process with a
/// counter; Tally does not).
///
/// ```swift
/// var m = MeanMetricWrapper(fn: .meanSquaredError)
/// try m.update(yTrue: [[0, 1], [0, 0]], yPred: [[1, 1], [0, 0]])
/// m.result()   // 0.25
/// ```
///
/// - Complexity: `update` is the function's cost plus O(*n*).
public struct MeanMetricWrapper: PredictionMetric, KerasSerializable {
  /// `"MeanMetricWrapper"`.
  public static var className: String { "MeanMetricWrapper" }
  /// The name in logs; default `"mean_metric_wrapper"`.
  public var name: String
  /// The Keras dtype name, kept for the configuration.
  public var dtype: String
  /// The wrapped per-sample function.
  public let fn: SampleFunction
  /// The total, sample count and weight total.
  public var state = MeanState()

  /// Wraps `fn`.
  public init(fn: SampleFunction, name: String? = nil, dtype: String = "float32") {
    self.fn = fn
    self.name = name ?? "mean_metric_wrapper"
    self.dtype = dtype
  }

  /// Rebuilds a wrapper of a registered built-in function from its Keras
  /// config. The `fn` entry may be the function's name or Keras's
  /// serialized function (`{"class_name": "function", "config":
  /// "mean_squared_error", ...}`).
  public init(config: KerasConfig) throws(MetricError) {
    var r = try ConfigReader(config, expecting: Self.className)
    let name = try r.optionalString("name")
    let dtype = try r.dtype()
    let fnValue = r.value("fn")
    let fnName: String
    switch fnValue {
    case .string(let s)?:
      fnName = s
    case .object(let o)?:
      guard case .string(let s)? = o["config"] else {
        throw .invalidConfiguration("MeanMetricWrapper `fn` has no function name; received \(fnValue!)")
      }
      fnName = s
    default:
      throw .invalidConfiguration(
        "MeanMetricWrapper needs `fn`, a function name; received \(fnValue.map(\.description) ?? "none")")
    }
    // Keras flattens the function's keyword arguments into the config.
    var arguments = config.config
    for key in ["name", "dtype", "fn"] { arguments[key] = nil }
    let fn = try SampleFunction.named(fnName, arguments: arguments)
    self.init(fn: fn, name: name, dtype: dtype)
  }

  /// Keras's config: name, dtype, the serialized function and its
  /// arguments.
  public var config: KerasConfig {
    var c: [String: JSONValue] = ["name": .string(name), "dtype": .string(dtype)]
    c["fn"] = .object([
      "module": "builtins", "class_name": "function", "config": .string(fn.name),
      "registered_name": "function",
    ])
    for (k, v) in fn.arguments { c[k] = v }
    return KerasConfig(className: Self.className, config: c)
  }

  /// Applies the function, then accumulates its values as ``Mean`` does.
  ///
  /// - Throws: the function's errors, ``MetricError/emptyBatch(_:)``,
  ///   ``MetricError/invalidWeights(_:)``; the state is then unchanged.
  public mutating func update(yTrue: Tensor, yPred: Tensor, sampleWeight: Tensor?)
    throws(MetricError)
  {
    let values = try fn(yTrue, yPred)
    try state.add(values, sampleWeight: sampleWeight, integerDType: isIntegerDType(dtype))
  }

  /// The weighted mean of the function's values, or 0 before any update.
  public func result() -> MetricValue { .scalar(state.mean) }
}
