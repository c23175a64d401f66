//===--- KerasConfig.swift ------------------------------------------------===//
//
// Keras's serialized metric form, `{"class_name": "Mean", "config": {...}}`,
// and the JSON values inside it.
//
//===----------------------------------------------------------------------===//

import Foundation

/// A JSON value: what a Keras `get_config()` dictionary holds.
public enum JSONValue: Sendable, Hashable, Codable, CustomStringConvertible {
  /// JSON `null` (Python `None`).
  case null
  /// A boolean.
  case bool(Bool)
  /// An integral number.
  case int(Int64)
  /// A number with a fraction or exponent.
  case double(Double)
  /// A string.
  case string(String)
  /// A list.
  case array([JSONValue])
  /// A dictionary.
  case object([String: JSONValue])

  public init(from decoder: any Decoder) throws {
    let c = try decoder.singleValueContainer()
    // The common kinds first (state files are numbers and objects): each
    // failed attempt builds an error with its coding path, which made
    // loading a deep state quadratic-ish (4.7 MB of sliced bootstrap
    // state took 11 s).
    if c.decodeNil() {
      self = .null
    } else if let i = try? c.decode(Int64.self) {
      self = .int(i)
    } else if let d = try? c.decode(Double.self) {
      // JSON has no non-finite numbers: one came from the strings "nan",
      // "inf" or "-inf" through the state files' decoder, and is a string
      // (a metric named "nan"; found by FuzzConfig).
      if !d.isFinite, let s = try? c.decode(String.self) {
        self = .string(s)
      } else {
        self = .double(d)
      }
    } else if let o = try? c.decode([String: JSONValue].self) {
      self = .object(o)
    } else if let a = try? c.decode([JSONValue].self) {
      self = .array(a)
    } else if let b = try? c.decode(Bool.self) {
      self = .bool(b)
    } else {
      self = .string(try c.decode(String.self))
    }
  }

  public func encode(to encoder: any Encoder) throws {
    var c = encoder.singleValueContainer()
    switch self {
    case .null: try c.encodeNil()
    case .bool(let b): try c.encode(b)
    case .int(let i): try c.encode(i)
    case .double(let d): try c.encode(d)
    case .string(let s): try c.encode(s)
    case .array(let a): try c.encode(a)
    case .object(let o): try c.encode(o)
    }
  }

  /// The number, for `.int` and `.double`.
  public var number: Double? {
    switch self {
    case .int(let i): Double(i)
    case .double(let d): d
    default: nil
    }
  }

  /// Numbers compare by value (`200` equals `200.0`), everything else
  /// structurally.
  public static func == (a: JSONValue, b: JSONValue) -> Bool {
    switch (a, b) {
    case (.null, .null): true
    case (.bool(let x), .bool(let y)): x == y
    case (.string(let x), .string(let y)): x == y
    case (.array(let x), .array(let y)): x == y
    case (.object(let x), .object(let y)): x == y
    default:
      if let x = a.number, let y = b.number { x == y } else { false }
    }
  }

  public func hash(into hasher: inout Hasher) {
    switch self {
    case .null: hasher.combine(0)
    case .bool(let b): hasher.combine(b)
    case .int, .double: hasher.combine(number)
    case .string(let s): hasher.combine(s)
    case .array(let a): hasher.combine(a)
    case .object(let o): hasher.combine(o)
    }
  }

  /// The value as compact JSON-like text.
  public var description: String {
    switch self {
    case .null: "null"
    case .bool(let b): "\(b)"
    case .int(let i): "\(i)"
    case .double(let d): "\(d)"
    case .string(let s): "\"\(s)\""
    case .array(let a): "[" + a.map(\.description).joined(separator: ", ") + "]"
    case .object(let o):
      "{" + o.keys.sorted().map { "\"\($0)\": \(o[$0]!)" }.joined(separator: ", ") + "}"
    }
  }
}

extension JSONValue: ExpressibleByStringLiteral, ExpressibleByIntegerLiteral,
  ExpressibleByFloatLiteral, ExpressibleByBooleanLiteral
{
  /// A string value.
  public init(stringLiteral value: String) { self = .string(value) }
  /// An integral value.
  public init(integerLiteral value: Int64) { self = .int(value) }
  /// A fractional value.
  public init(floatLiteral value: Double) { self = .double(value) }
  /// A boolean value.
  public init(booleanLiteral value: Bool) { self = .bool(value) }
}

/// A metric's configuration in Keras's serialized form: what
/// `keras.metrics.serialize(metric)` emits and `keras.metrics.deserialize`
/// reads.
///
/// ```json
/// {"module": "keras.metrics", "class_name": "Mean",
///  "config": {"name": "mean", "dtype": "float32"}, "registered_name": null}
/// ```
///
/// Reading accepts the form with or without `module` and `registered_name`.
public struct KerasConfig: Sendable, Equatable, Codable, CustomStringConvertible {
  /// The Keras class name, e.g. `"Mean"`.
  public var className: String
  /// The constructor arguments, by Keras argument name (`"name"`, `"dtype"`,
  /// `"num_thresholds"`, ...).
  public var config: [String: JSONValue]
  /// The Python module, `"keras.metrics"` for built-ins.
  public var module: String?
  /// Keras's registered name (`null` for built-ins).
  public var registeredName: String?

  /// A config for `className` with the given arguments.
  public init(
    className: String, config: [String: JSONValue], module: String? = "keras.metrics",
    registeredName: String? = nil
  ) {
    (self.className, self.config) = (className, config)
    (self.module, self.registeredName) = (module, registeredName)
  }

  private enum CodingKeys: String, CodingKey {
    case module
    case className = "class_name"
    case config
    case registeredName = "registered_name"
  }

  public init(from decoder: any Decoder) throws {
    let c = try decoder.container(keyedBy: CodingKeys.self)
    className = try c.decode(String.self, forKey: .className)
    config = try c.decodeIfPresent([String: JSONValue].self, forKey: .config) ?? [:]
    module = try c.decodeIfPresent(String.self, forKey: .module)
    registeredName = try c.decodeIfPresent(String.self, forKey: .registeredName)
  }

  public func encode(to encoder: any Encoder) throws {
    var c = encoder.container(keyedBy: CodingKeys.self)
    try c.encode(module, forKey: .module)
    try c.encode(className, forKey: .className)
    try c.encode(config, forKey: .config)
    try c.encode(registeredName, forKey: .registeredName)
  }

  /// Parses the JSON text of a serialized Keras metric.
  ///
  /// - Throws: ``MetricError/invalidConfiguration(_:)`` if the text is not
  ///   JSON or lacks `class_name`.
  public init(json: String) throws(MetricError) {
    do {
      self = try JSONDecoder().decode(KerasConfig.self, from: Data(json.utf8))
    } catch {
      throw .invalidConfiguration("not a serialized Keras metric: \(error); received \(json.prefix(200))")
    }
  }

  /// The JSON text, keys sorted.
  public var json: String {
    let encoder = JSONEncoder()
    encoder.outputFormatting = [.sortedKeys, .withoutEscapingSlashes]
    let data = (try? encoder.encode(self)) ?? Data()
    return String(decoding: data, as: UTF8.self)
  }

  /// The JSON text.
  public var description: String { json }

  /// The configuration without `name`: two metrics that differ only in name
  /// can merge.
  public var withoutName: KerasConfig {
    var c = self
    c.config["name"] = nil
    c.module = nil
    c.registeredName = nil
    return c
  }
}

/// Reads constructor arguments out of a Keras config, type-checking each one
/// and rejecting arguments the class does not have.
///
/// Used by every built-in `init(config:)`:
///
/// ```swift
/// let config = try KerasConfig(json: #"{"class_name": "Mean", "config": {"name": "loss"}}"#)
/// var r = try ConfigReader(config, expecting: "Mean")
/// let name = try r.string("name", default: "mean")   // "loss"
/// let dtype = try r.dtype()                           // "float32"
/// try r.finish()   // throws on an unknown argument
/// ```
public struct ConfigReader {
  /// The class being read.
  public let className: String
  private var remaining: [String: JSONValue]

  /// Starts reading `config`, which must be for `className`.
  public init(_ config: KerasConfig, expecting className: String) throws(MetricError) {
    guard config.className == className else {
      throw .invalidConfiguration(
        "expected a \(className) config; received class_name \"\(config.className)\"")
    }
    self.className = className
    self.remaining = config.config
  }

  private mutating func take(_ key: String) -> JSONValue? {
    guard let v = remaining.removeValue(forKey: key) else { return nil }
    if case .null = v { return nil }
    return v
  }

  private func wrongType(_ key: String, _ expected: String, _ v: JSONValue) -> MetricError {
    .invalidConfiguration("\(className) argument `\(key)` must be \(expected); received \(v)")
  }

  /// A string argument.
  public mutating func string(_ key: String, default d: String) throws(MetricError) -> String {
    guard let v = take(key) else { return d }
    guard case .string(let s) = v else { throw wrongType(key, "a string", v) }
    return s
  }

  /// An optional string argument.
  public mutating func optionalString(_ key: String) throws(MetricError) -> String? {
    guard let v = take(key) else { return nil }
    guard case .string(let s) = v else { throw wrongType(key, "a string", v) }
    return s
  }

  /// A number argument.
  public mutating func double(_ key: String, default d: Double) throws(MetricError) -> Double {
    try optionalDouble(key) ?? d
  }

  /// An optional number argument.
  public mutating func optionalDouble(_ key: String) throws(MetricError) -> Double? {
    guard let v = take(key) else { return nil }
    guard let x = v.number else { throw wrongType(key, "a number", v) }
    return x
  }

  /// An integer argument.
  public mutating func int(_ key: String, default d: Int) throws(MetricError) -> Int {
    try optionalInt(key) ?? d
  }

  /// An optional integer argument.
  public mutating func optionalInt(_ key: String) throws(MetricError) -> Int? {
    guard let v = take(key) else { return nil }
    guard let x = v.number, x == x.rounded(), abs(x) < 1e15 else {
      throw wrongType(key, "an integer (of magnitude below 10¹⁵)", v)
    }
    return Int(x)
  }

  /// A boolean argument.
  public mutating func bool(_ key: String, default d: Bool) throws(MetricError) -> Bool {
    guard let v = take(key) else { return d }
    guard case .bool(let b) = v else { throw wrongType(key, "a boolean", v) }
    return b
  }

  /// A raw JSON argument (for structured values such as a list of
  /// thresholds).
  public mutating func value(_ key: String) -> JSONValue? {
    take(key)
  }

  /// The `dtype` argument: a dtype name, or a serialized `DTypePolicy`
  /// (`{"class_name": "DTypePolicy", "config": {"name": "float32"}}`).
  public mutating func dtype(default d: String = "float32") throws(MetricError) -> String {
    guard let v = take("dtype") else { return d }
    switch v {
    case .string(let s):
      return s
    case .object(let o):
      if case .object(let inner)? = o["config"], case .string(let s)? = inner["name"] {
        return s
      }
      throw wrongType("dtype", "a dtype name or DTypePolicy", v)
    default:
      throw wrongType("dtype", "a dtype name", v)
    }
  }

  /// Ends reading.
  ///
  /// - Throws: ``MetricError/invalidConfiguration(_:)`` naming every
  ///   argument that was not read (Keras would reject it as an unexpected
  ///   keyword argument).
  public func finish() throws(MetricError) {
    guard remaining.isEmpty else {
      throw .invalidConfiguration(
        "\(className) got unexpected argument(s): \(remaining.keys.sorted().joined(separator: ", "))"
      )
    }
  }
}
