//===--- Declaration.swift ------------------------------------------------===//
//
// One declaration per metric: everything the rest of the package needs to
// know about a metric class (Keras name, default name, arguments, aliases,
// how it reads its inputs, the per-sample function it wraps), written once
// beside the metric. The registry, the string identifiers, the wrapper's
// function table and the command line's lists are derived from these.
//
//===----------------------------------------------------------------------===//

/// How a metric reads the last axis of `y_pred`: what a caller streaming a
/// rank-1 file needs to know.
public enum MetricInput: String, Sendable, CaseIterable {
  /// The per-sample value reduces the last axis with an element-wise
  /// function (a mean or sum of element values), so a rank-1 array's
  /// elements can be read as samples of shape `(rows, 1)` without changing
  /// the result.
  case elementwise
  /// The last axis of `y_pred` holds classes (or the vector being compared);
  /// a rank-1 `y_pred` would be one sample, so streaming needs rank ≥ 2.
  case classAxis
  /// Every element (or row) is a sample as given: rank-1 arrays stream as
  /// they are.
  case samples
}

/// Where a metric's definition comes from.
public enum MetricOrigin: String, Sendable {
  /// A class of `keras.metrics` (Keras 3).
  case keras
  /// A metric Keras lacks, defined by Tally.
  case tally
  /// A metric Keras lacks, with TensorFlow Addons' name and arguments.
  case tensorFlowAddons
  /// A metric Keras lacks, with TorchMetrics' definition.
  case torchMetrics
}

/// One constructor argument of a metric or per-sample function: its Keras
/// name, the kind of value it takes, and its default.
public struct MetricArgument: Sendable, Equatable {
  /// The kinds of values an argument takes.
  public enum Kind: Sendable, Equatable {
    /// `true` or `false`.
    case bool
    /// An integral number.
    case integer
    /// Any number.
    case number
    /// A string.
    case string
    /// One of the given strings.
    case choice([String])
    /// A number or a list of numbers (Keras's `thresholds`).
    case numbers
    /// A list of integers (class ids).
    case integers
  }

  /// The Keras argument name (`"num_thresholds"`).
  public let key: String
  /// The kind of value.
  public let kind: Kind
  /// The default; `.null` for Keras's `None`.
  public let defaultValue: JSONValue
  /// Whether `null` (Python `None`) is accepted.
  public let nullable: Bool
  /// Whether the argument has no default and must be given.
  public let required: Bool
  /// Whether the configuration leaves the argument out at its default (as
  /// Keras's `CosineSimilarity` does with `axis`).
  public let omittedAtDefault: Bool

  /// An argument of `kind` with a default (`.null` makes it optional).
  public init(
    _ key: String, _ kind: Kind, default defaultValue: JSONValue, nullable: Bool? = nil,
    omittedAtDefault: Bool = false
  ) {
    self.key = key
    self.kind = kind
    self.defaultValue = defaultValue
    self.nullable = nullable ?? (defaultValue == .null)
    self.required = false
    self.omittedAtDefault = omittedAtDefault
  }

  /// An argument that must be given (Keras: a positional argument without
  /// default, such as `num_classes`).
  public init(required key: String, _ kind: Kind) {
    (self.key, self.kind, self.defaultValue) = (key, kind, .null)
    (self.nullable, self.required, self.omittedAtDefault) = (false, true, false)
  }

  /// Checks `value` against the kind.
  func check(_ value: JSONValue, in owner: String) throws(MetricError) {
    if value == .null {
      guard nullable else { throw .invalidConfiguration("\(owner) argument `\(key)` must not be null") }
      return
    }
    let ok: Bool
    switch kind {
    case .bool:
      if case .bool = value { ok = true } else { ok = false }
    case .integer:
      ok = value.number.map { $0 == $0.rounded() && abs($0) < 1e15 } ?? false
    case .number:
      ok = value.number != nil
    case .string:
      if case .string = value { ok = true } else { ok = false }
    case .choice(let options):
      if case .string(let s) = value { ok = options.contains(s) } else { ok = false }
    case .numbers:
      if case .array(let a) = value { ok = a.allSatisfy { $0.number != nil } } else { ok = value.number != nil }
    case .integers:
      if case .array(let a) = value {
        ok = a.allSatisfy { $0.number.map { $0 == $0.rounded() && abs($0) < 1e15 } ?? false }
      } else {
        ok = false
      }
    }
    guard ok else {
      throw .invalidConfiguration("\(owner) argument `\(key)` must be \(kind.phrase); received \(value)")
    }
  }
}

extension MetricArgument.Kind {
  /// How the kind reads in an error message.
  var phrase: String {
    switch self {
    case .bool: "a boolean"
    case .integer: "an integer (of magnitude below 10¹⁵)"
    case .number: "a number"
    case .string: "a string"
    case .choice(let o): "one of " + o.map { "\"\($0)\"" }.joined(separator: ", ")
    case .numbers: "a number or a list of numbers"
    case .integers: "a list of integers (each of magnitude below 10¹⁵)"
    }
  }
}

/// The arguments of one configuration, checked against a declaration: every
/// declared argument is present (given or defaulted) and of its kind.
///
/// Reading an argument the declaration does not list (a slip in a metric's
/// `init(arguments:)`) throws ``MetricError/invalidConfiguration(_:)``; the
/// catalog tests read every declared metric's arguments.
public struct MetricArguments: Sendable {
  /// The metric's name (the declaration's default name when not given).
  public let name: String
  /// The dtype name (`"float32"` when not given).
  public let dtype: String
  let values: [String: JSONValue]
  let owner: String

  /// The raw value of `key` (`.null` for `None`).
  public func value(_ key: String) throws(MetricError) -> JSONValue {
    guard let v = values[key] else {
      throw .invalidConfiguration("\(owner) reads `\(key)`, which its declaration does not list")
    }
    return v
  }

  /// A boolean argument.
  public func bool(_ key: String) throws(MetricError) -> Bool {
    guard case .bool(let b) = try value(key) else { throw wrongKind(key, "a boolean") }
    return b
  }

  /// A number argument that cannot be `None`.
  public func double(_ key: String) throws(MetricError) -> Double {
    guard let x = try optionalDouble(key) else { throw wrongKind(key, "a number") }
    return x
  }

  /// A number argument, or `nil` for `None`.
  public func optionalDouble(_ key: String) throws(MetricError) -> Double? { try value(key).number }

  /// An integer argument that cannot be `None`.
  public func int(_ key: String) throws(MetricError) -> Int {
    guard let x = try optionalInt(key) else { throw wrongKind(key, "an integer") }
    return x
  }

  /// An integer argument, or `nil` for `None`.
  public func optionalInt(_ key: String) throws(MetricError) -> Int? {
    guard let x = try value(key).number else { return nil }
    guard x == x.rounded(), abs(x) < 1e15 else { throw wrongKind(key, "an integer") }
    return Int(x)
  }

  /// A string argument, or `nil` for `None`.
  public func optionalString(_ key: String) throws(MetricError) -> String? {
    if case .string(let s) = try value(key) { s } else { nil }
  }

  /// A number-or-list argument as a list, or `nil` for `None`.
  public func doubles(_ key: String) throws(MetricError) -> [Double]? {
    switch try value(key) {
    case .array(let a): a.compactMap(\.number)
    case .null: nil
    case let v: v.number.map { [$0] }
    }
  }

  /// A list of integers, or `nil` for `None`.
  public func ints(_ key: String) throws(MetricError) -> [Int]? {
    guard case .array(let a) = try value(key) else { return nil }
    return a.compactMap(\.number).map { Int($0) }
  }

  private func wrongKind(_ key: String, _ kind: String) -> MetricError {
    .invalidConfiguration("\(owner) reads `\(key)` as \(kind), which its declaration does not say it is")
  }
}

/// A per-sample function of `keras.metrics` (or `keras.losses`) that
/// ``MeanMetricWrapper`` can wrap by name: its Keras name, its keyword
/// arguments, and how to build it from them.
public struct FunctionDeclaration: Sendable {
  /// The Keras function name (`"mean_squared_error"`).
  public let name: String
  /// The keyword arguments it takes.
  public let arguments: [MetricArgument]
  let make: @Sendable (MetricArguments) throws(MetricError) -> @Sendable (Tensor, Tensor) throws(MetricError) -> Tensor

  /// Declares the function `name`, built from its checked arguments.
  public init(
    _ name: String, arguments: [MetricArgument] = [],
    _ make:
      @escaping @Sendable (MetricArguments) throws(MetricError) ->
      @Sendable (Tensor, Tensor) throws(MetricError) ->
      Tensor
  ) {
    self.name = name
    self.arguments = arguments
    self.make = make
  }

  /// Declares a function without arguments.
  public init(_ name: String, _ body: @escaping @Sendable (Tensor, Tensor) throws(MetricError) -> Tensor) {
    self.init(name) { _ in body }
  }

  /// The function with Keras keyword `arguments`.
  ///
  /// - Throws: ``MetricError/invalidConfiguration(_:)`` for an argument it
  ///   does not take or a value of the wrong kind.
  public func callAsFunction(arguments given: [String: JSONValue]) throws(MetricError) -> SampleFunction {
    let checked = try checkArguments(given, schema: arguments, owner: name, allowNameAndDType: false)
    return SampleFunction(name: name, arguments: given, try make(checked))
  }
}

/// Everything Tally needs to know about one metric class, declared once
/// beside the metric (its `static let declaration`).
///
/// ```swift
/// let d = MeanAbsoluteError.declaration
/// d.className      // "MeanAbsoluteError"
/// d.aliases        // ["mae", "MAE"]
/// d.input.rawValue // "elementwise": a rank-1 file's elements are samples
/// R2Score.declaration.arguments.map(\.key)   // ["class_aggregation", "num_regressors"]
/// ```
public struct MetricDeclaration: Sendable {
  /// The Keras class name (`"MeanAbsoluteError"`).
  public let className: String
  /// The default `name` (`"mean_absolute_error"`).
  public let defaultName: String
  /// The constructor arguments besides `name` and `dtype`, in Keras's
  /// order.
  public let arguments: [MetricArgument]
  /// Whether the configuration has a `dtype` entry.
  public let hasDType: Bool
  /// Keras's short aliases (`"mae"`, `"MAE"`).
  public let aliases: [String]
  /// How the metric reads the last axis of `y_pred`.
  public let input: MetricInput
  /// Where the definition comes from.
  public let origin: MetricOrigin
  /// The per-sample function the metric averages, when it has one: the
  /// entry of ``MeanMetricWrapper``'s function table.
  public let function: FunctionDeclaration?
  /// The Swift type.
  public let type: any KerasSerializable.Type

  /// Declares `type`.
  public init(
    _ type: any KerasSerializable.Type, className: String, defaultName: String,
    arguments: [MetricArgument] = [], hasDType: Bool = true, aliases: [String] = [],
    input: MetricInput, origin: MetricOrigin = .keras, function: FunctionDeclaration? = nil
  ) {
    (self.type, self.className, self.defaultName) = (type, className, defaultName)
    (self.arguments, self.hasDType, self.aliases) = (arguments, hasDType, aliases)
    (self.input, self.origin, self.function) = (input, origin, function)
  }

  /// The string identifiers `keras.metrics.get` resolves to this class: the
  /// class name, its snake case (`mean_absolute_error`) and the aliases.
  public var identifiers: [String] {
    [className, MetricRegistry.snakeCase(className)] + aliases
  }

  /// Checks `config` against the declaration: the class name, every
  /// argument's kind, no unknown argument; fills in defaults.
  ///
  /// - Throws: ``MetricError/invalidConfiguration(_:)`` naming what was
  ///   received.
  public func read(_ config: KerasConfig) throws(MetricError) -> MetricArguments {
    guard config.className == className else {
      throw .invalidConfiguration("expected a \(className) config; received class_name \"\(config.className)\"")
    }
    var c = try checkArguments(config.config, schema: arguments, owner: className, allowNameAndDType: true)
    if case .string(let n)? = config.config["name"] {
      c = MetricArguments(name: n, dtype: c.dtype, values: c.values, owner: className)
    } else {
      c = MetricArguments(name: defaultName, dtype: c.dtype, values: c.values, owner: className)
    }
    if !hasDType, config.config["dtype"] != nil {
      throw .invalidConfiguration("\(className) got unexpected argument(s): dtype")
    }
    return c
  }

  /// The Keras configuration of an instance: `name`, `dtype` and the
  /// declared arguments' `values`.
  public func config(name: String, dtype: String, _ values: [String: JSONValue]) -> KerasConfig {
    assert(Set(values.keys) == Set(arguments.map(\.key)), "\(className): config keys differ from the declaration")
    var c = values
    for a in arguments where a.omittedAtDefault && values[a.key] == a.defaultValue {
      c[a.key] = nil
    }
    c["name"] = .string(name)
    if hasDType { c["dtype"] = .string(dtype) }
    return KerasConfig(className: className, config: c)
  }
}

/// Checks `given` against `schema`, filling defaults.
func checkArguments(
  _ given: [String: JSONValue], schema: [MetricArgument], owner: String, allowNameAndDType: Bool
) throws(MetricError) -> MetricArguments {
  var remaining = given
  var name: String? = nil
  var dtype = "float32"
  if allowNameAndDType {
    switch remaining.removeValue(forKey: "name") {
    case nil, .null?: break
    case .string(let s)?: name = s
    case let v?: throw .invalidConfiguration("\(owner) argument `name` must be a string; received \(v)")
    }
    switch remaining.removeValue(forKey: "dtype") {
    case nil, .null?: break
    case .string(let s)?: dtype = s
    case .object(let o)?:
      // A serialized DTypePolicy: {"class_name": "DTypePolicy", "config": {"name": "float32"}}.
      guard case .object(let inner)? = o["config"], case .string(let s)? = inner["name"] else {
        throw .invalidConfiguration(
          "\(owner) argument `dtype` must be a dtype name or DTypePolicy; received \(JSONValue.object(o))")
      }
      dtype = s
    case let v?: throw .invalidConfiguration("\(owner) argument `dtype` must be a dtype name; received \(v)")
    }
  }
  var values: [String: JSONValue] = [:]
  for a in schema {
    // Absent, or `null` where `None` is not a value, means the default;
    // `null` where `None` is a value (R2Score's `class_aggregation`) is kept.
    let v = remaining.removeValue(forKey: a.key) ?? .null
    if v == .null && a.required {
      throw .invalidConfiguration("\(owner) needs the argument `\(a.key)` (\(a.kind.phrase))")
    }
    let value = v == .null && !(a.nullable && given[a.key] != nil) ? a.defaultValue : v
    try a.check(value, in: owner)
    values[a.key] = value
  }
  guard remaining.isEmpty else {
    throw .invalidConfiguration(
      "\(owner) got unexpected argument(s): \(remaining.keys.sorted().joined(separator: ", "))")
  }
  return MetricArguments(name: name ?? "", dtype: dtype, values: values, owner: owner)
}

/// A metric built from its ``MetricDeclaration``: the configuration is read
/// and written through the declared arguments, so `init(config:)`, `config`
/// and ``Metric/className`` come from the declaration.
///
/// A conformance writes its `static let declaration`, `init(arguments:)`
/// (which validates values, as Keras's constructor does) and
/// ``arguments`` (the declared arguments' current values).
public protocol DeclaredMetric: KerasSerializable {
  /// The metric's declaration.
  static var declaration: MetricDeclaration { get }
  /// Builds the metric from checked arguments.
  ///
  /// - Throws: ``MetricError/invalidConfiguration(_:)`` for a value the
  ///   metric rejects (a negative count, an empty list).
  init(arguments: MetricArguments) throws(MetricError)
  /// The dtype name, kept for the configuration.
  var dtype: String { get }
  /// The declared arguments' values (without `name` and `dtype`).
  var arguments: [String: JSONValue] { get }
}

extension DeclaredMetric {
  /// The declaration's class name.
  public static var className: String { declaration.className }

  /// Reads `config` through the declaration, then ``init(arguments:)``.
  public init(config: KerasConfig) throws(MetricError) {
    try self.init(arguments: Self.declaration.read(config))
  }

  /// `name`, `dtype` and the declared arguments, as Keras's `get_config()`.
  public var config: KerasConfig {
    Self.declaration.config(name: name, dtype: dtype, arguments)
  }

  /// No declared arguments.
  public var arguments: [String: JSONValue] { [:] }

  /// `"float32"`, for a metric without a `dtype` (whose declaration says
  /// `hasDType: false`).
  public var dtype: String { "float32" }
}

extension JSONValue {
  /// An optional integer as JSON (`null` for `nil`).
  init(_ x: Int?) { self = x.map { .int(Int64($0)) } ?? .null }
  /// An optional list of numbers as JSON.
  init(_ x: [Double]?) { self = x.map { .array($0.map(JSONValue.double)) } ?? .null }
  /// An optional string as JSON.
  init(_ x: String?) { self = x.map(JSONValue.string) ?? .null }
}

extension MetricArguments {
  /// No arguments: what an argument-free function is built from.
  static let none = MetricArguments(name: "", dtype: "float32", values: [:], owner: "")
}

extension JSONValue: ExpressibleByArrayLiteral {
  /// A list.
  public init(arrayLiteral elements: JSONValue...) { self = .array(elements) }
}
