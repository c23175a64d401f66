//===--- ReductionMetrics.swift -------------------------------------------===//
//
// Keras's `reduction_metrics.py`: Sum, Mean, MeanMetricWrapper.
//
//===----------------------------------------------------------------------===//

//===--- Sum and Mean -----------------------------------------------------===//

/// What distinguishes ``Sum`` from ``Mean``: the state and how values are
/// added to it and read from it.
public protocol ValueReduction: Sendable {
  /// The accumulated statistics.
  associatedtype State: Accumulator
  /// The metric's declaration.
  static var declaration: MetricDeclaration { get }
  /// Adds weighted `values` to `state` (Keras's rules); throws leaving it
  /// unchanged.
  static func add(_ values: Tensor, sampleWeight: Tensor?, integerDType: Bool, to state: inout State)
    throws(MetricError)
  /// The value of `state`.
  static func value(_ state: State) -> Double
}

/// A reduction of plain values, Keras's `Sum` and `Mean`: the generic type
/// behind both, which are typealiases of it.
///
/// - Complexity: `update` is O(*n*) in the number of elements.
public struct Reduction<Kind: ValueReduction>: ValueMetric, DeclaredMetric {
  /// The declaration.
  public static var declaration: MetricDeclaration { Kind.declaration }
  /// The name in logs; Keras's default unless given.
  public var name: String
  /// The Keras dtype name; an integer dtype truncates values and weights.
  public var dtype: String
  /// The accumulated statistics.
  public private(set) var state = Kind.State()

  /// A reduction named `name` (default: Keras's).
  public init(name: String? = nil, dtype: String = "float32") {
    (self.name, self.dtype) = (name ?? Kind.declaration.defaultName, dtype)
  }

  /// `{"name", "dtype"}`.
  public init(arguments a: MetricArguments) throws(MetricError) {
    self.init(name: a.name, dtype: a.dtype)
  }

  /// Assigns `state`: every total and weighted mean is a valid state.
  public mutating func restore(_ state: Kind.State) throws(MetricError) {
    self.state = state
  }

  /// Adds `values` (weighted by `sampleWeight`).
  ///
  /// - Throws: ``MetricError/emptyBatch(_:)``, ``MetricError/invalidWeights(_:)``;
  ///   the state is then unchanged.
  public mutating func update(_ values: Tensor, sampleWeight: Tensor?) throws(MetricError) {
    var s = state
    try Kind.add(values, sampleWeight: sampleWeight, integerDType: isIntegerDType(dtype), to: &s)
    state = s
  }

  /// The total or the mean (0 before any update).
  public func result() -> MetricValue { .scalar(Kind.value(state)) }
}

/// The (weighted) sum of the given values.
///
/// Formula: `total += Σ values · sample_weight`, with values of rank > 1
/// first summed per sample; `result = total`.
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
public typealias Sum = Reduction<SumOfValues>

/// The declaration of ``Sum``: a compensated total of per-sample sums.
public enum SumOfValues: ValueReduction {
  public static let declaration = MetricDeclaration(Sum.self, className: "Sum", defaultName: "sum", input: .samples)

  public static func add(_ values: Tensor, sampleWeight: Tensor?, integerDType: Bool, to state: inout CompensatedSum)
    throws(MetricError)
  {
    state.add(
      contentsOf: try reduceToSamplewise(values, sampleWeight: sampleWeight, .sum, integerDType: integerDType).values)
  }

  public static func value(_ state: CompensatedSum) -> Double { state.value }
}

/// The (weighted) mean of the given values.
///
/// Formula: values of rank > 1 are first averaged per sample (over every axis
/// after the first); then `total += Σ v_i · w_i`, `count += Σ w_i` (or the
/// number of samples, `values.shape[0]`, when unweighted; 1 for a scalar);
/// `result = total / count`, or 0 when `count` is 0 (Keras's
/// `divide_no_nan`). Weight shapes follow Keras's rules exactly:
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
public typealias Mean = Reduction<MeanOfValues>

/// The declaration of ``Mean``: per-sample means, weighted and counted.
public enum MeanOfValues: ValueReduction {
  public static let declaration = MetricDeclaration(Mean.self, className: "Mean", defaultName: "mean", input: .samples)

  public static func add(_ values: Tensor, sampleWeight: Tensor?, integerDType: Bool, to state: inout MeanState)
    throws(MetricError)
  {
    try state.add(values, sampleWeight: sampleWeight, integerDType: integerDType)
  }

  public static func value(_ state: MeanState) -> Double { state.mean }
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
  public static var meanSquaredError: SampleFunction { builtIn("mean_squared_error") }

  /// Keras's `mean_absolute_error`.
  public static var meanAbsoluteError: SampleFunction { builtIn("mean_absolute_error") }

  /// A declared function that takes no arguments.
  static func builtIn(_ name: String) -> SampleFunction {
    guard let f = try? named(name, arguments: [:]) else { preconditionFailure("\(name) is not declared") }
    return f
  }

  /// The built-in functions by Keras name, with their default arguments:
  /// every ``FunctionDeclaration`` of the catalog
  /// (``MetricRegistry/functions``).
  public static var registry: [String: SampleFunction] {
    MetricRegistry.functions.compactMapValues { try? $0(arguments: [:]) }
  }

  /// Every declared per-sample function with the keyword arguments it takes.
  public static var knownArguments: [String: Set<String>] {
    MetricRegistry.functions.mapValues { Set($0.arguments.map(\.key)) }
  }

  /// The built-in function `name` with Keras keyword `arguments` (as in a
  /// serialized `MeanMetricWrapper`: `{"fn": "huber", "delta": 0.5}`).
  ///
  /// - Throws: ``MetricError/invalidConfiguration(_:)`` for an unknown
  ///   function, an argument it does not take, or a value of the wrong type.
  public static func named(_ name: String, arguments: [String: JSONValue]) throws(MetricError) -> SampleFunction {
    guard let declaration = MetricRegistry.functions[name] else {
      throw .invalidConfiguration(
        "unknown metric function \"\(name)\"; known: \(MetricRegistry.functions.keys.sorted().joined(separator: ", "))")
    }
    return try declaration(arguments: arguments)
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
public struct MeanMetricWrapper: SampleMeanMetric {
  /// The declaration: `fn` names a declared per-sample function, whose
  /// keyword arguments Keras flattens into the configuration.
  public static let declaration = MetricDeclaration(
    MeanMetricWrapper.self, className: "MeanMetricWrapper", defaultName: "mean_metric_wrapper",
    arguments: [MetricArgument(required: "fn", .string)], input: .elementwise)
  /// `"MeanMetricWrapper"`.
  public static var className: String { declaration.className }
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

  /// The function's values; they are accumulated as ``Mean`` does.
  public func values(yTrue: Tensor, yPred: Tensor) throws(MetricError) -> Tensor {
    try fn(yTrue, yPred)
  }
}

extension MetricFamily {
  /// Keras's reduction metrics.
  public static let reduction = MetricFamily(
    "Reduction metrics", [Sum.declaration, Mean.declaration, MeanMetricWrapper.declaration])
}
