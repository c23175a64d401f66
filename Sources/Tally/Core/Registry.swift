//===--- Registry.swift ---------------------------------------------------===//
//
// Metrics by Keras class name and by string identifier
// (`keras.metrics.deserialize`, `keras.metrics.get`), derived from the
// families' declarations.
//
//===----------------------------------------------------------------------===//

/// A metric of plain values, `update(_ values:sampleWeight:)`, as Keras's
/// `Sum` and `Mean` (`update_state(values, sample_weight=None)`).
public protocol ValueMetric: Metric {
  /// Accumulates `values`, weighted by `sampleWeight`.
  mutating func update(_ values: Tensor, sampleWeight: Tensor?) throws(MetricError)
}

extension ValueMetric {
  /// Adds unweighted `values`.
  public mutating func update(_ values: Tensor) throws(MetricError) {
    try update(values, sampleWeight: nil)
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
}

/// A family of metrics: the declarations of one catalog file or folder, and
/// the per-sample functions it defines that no class wraps (`huber`).
public struct MetricFamily: Sendable {
  /// The family's title, as its heading in the documentation's topics.
  public let title: String
  /// Its metrics, in documentation order.
  public let metrics: [MetricDeclaration]
  /// Per-sample functions of the family that no metric class declares.
  public let functions: [FunctionDeclaration]

  /// A family of `metrics`.
  public init(_ title: String, _ metrics: [MetricDeclaration], functions: [FunctionDeclaration] = []) {
    self.title = title
    self.metrics = metrics
    self.functions = functions
  }
}

/// The built-in metric classes, by Keras class name and identifier, derived
/// from the families' declarations.
public enum MetricRegistry {
  /// Every family, in documentation order.
  public static let families: [MetricFamily] = [
    .reduction, .accuracy, .confusion, .exact, .fScore, .iou, .agreement, .probabilistic, .calibration,
    .regression, .hinge, .correlation,
  ]

  /// Every declared metric.
  public static let declarations: [MetricDeclaration] = families.flatMap(\.metrics)

  /// Declarations by class name.
  static let byClassName: [String: MetricDeclaration] = Dictionary(
    declarations.map { ($0.className, $0) },
    uniquingKeysWith: { a, _ in
      preconditionFailure("two declarations of \(a.className)")
    })

  /// Every class Tally implements, by Keras class name.
  public static let classes: [String: any KerasSerializable.Type] = byClassName.mapValues { $0.type }

  /// Every per-sample function ``MeanMetricWrapper`` can wrap by name: the
  /// functions the declared metrics average, and the families' others.
  public static let functions: [String: FunctionDeclaration] = Dictionary(
    (declarations.compactMap(\.function) + families.flatMap(\.functions)).map { ($0.name, $0) },
    uniquingKeysWith: { a, _ in preconditionFailure("two declarations of the function \(a.name)") })

  /// Keras's abstract base class, which `keras.metrics.get("Metric")`
  /// instantiates; it measures nothing, and Tally refuses it.
  public static let abstractKerasClasses: [String] = ["Metric"]

  /// Keras's short aliases (`"mse"` → `"MeanSquaredError"`).
  public static let aliases: [String: String] = Dictionary(
    declarations.flatMap { d in d.aliases.map { ($0, d.className) } }, uniquingKeysWith: { a, _ in a })

  /// Keras's `ALL_OBJECTS`: every class name `keras.metrics.get` knows.
  public static let kerasClassNames: [String] =
    abstractKerasClasses + declarations.filter { $0.origin == .keras }.map(\.className)

  /// Every string identifier `keras.metrics.get` accepts (102 in Keras 3),
  /// and Tally's own classes', mapped to the class name.
  public static let identifiers: [String: String] = {
    var table: [String: String] = [:]
    for name in abstractKerasClasses {
      table[name] = name
      table[snakeCase(name)] = name
    }
    for d in declarations {
      for id in d.identifiers {
        precondition(table[id] == nil || table[id] == d.className, "identifier \(id) names two classes")
        table[id] = d.className
      }
    }
    return table
  }()

  /// The declaration `identifier` names (a class name, its snake case or an
  /// alias), or `nil`.
  public static func declaration(for identifier: String) -> MetricDeclaration? {
    identifiers[identifier].flatMap { byClassName[$0] }
  }

  /// Builds a metric from its Keras serialized form, as
  /// `keras.metrics.deserialize` does.
  ///
  /// ```swift
  /// let m = try MetricRegistry.deserialize(
  ///   KerasConfig(json: #"{"class_name": "Mean", "config": {"name": "loss"}}"#))
  /// m.name   // "loss"
  /// ```
  ///
  /// - Throws: ``MetricError/invalidConfiguration(_:)`` for an unknown class
  ///   or a configuration the class rejects.
  public static func deserialize(_ config: KerasConfig) throws(MetricError) -> any KerasSerializable {
    try serializableType(for: config).init(config: config)
  }

  /// The type that reads `config`: a declared class, or ``Bootstrapped``
  /// or ``Sliced`` of one (at any depth; `"metric"` holds the base's
  /// configuration).
  ///
  /// - Throws: ``MetricError/invalidConfiguration(_:)`` for an unknown class,
  ///   or a wrapper whose base is missing or takes values.
  public static func serializableType(for config: KerasConfig) throws(MetricError) -> any KerasSerializable.Type {
    if config.className == Bootstrapped<AUC>.className || config.className == Sliced<AUC>.className {
      guard let inner = config.config["metric"] else {
        throw .invalidConfiguration("\(config.className): the configuration has no \"metric\"")
      }
      let base = try serializableType(for: KerasConfig(jsonValue: inner, in: config.className))
      guard let prediction = base as? any (PredictionMetric & KerasSerializable).Type else {
        throw .invalidConfiguration("\(config.className) needs a metric of predictions; \(base.className) takes values")
      }
      func wrapped<M: PredictionMetric & KerasSerializable>(_: M.Type) -> any KerasSerializable.Type {
        config.className == Bootstrapped<M>.className ? Bootstrapped<M>.self : Sliced<M>.self
      }
      return wrapped(prediction)
    }
    guard let d = byClassName[config.className] else {
      throw .invalidConfiguration(
        "unknown metric class \"\(config.className)\"; known classes: \(byClassName.keys.sorted().joined(separator: ", "))"
      )
    }
    return d.type
  }

  /// Keras's `keras.metrics.get` for a string: the metric with its default
  /// arguments and default name (`get("mse").name` is
  /// `"mean_squared_error"`; the compiled-metrics container renames it).
  ///
  /// ```swift
  /// let m = try MetricRegistry.get("sparse_top_k_categorical_accuracy")
  /// m.name   // "sparse_top_k_categorical_accuracy"
  /// ```
  ///
  /// - Throws: ``MetricError/invalidConfiguration(_:)`` for an unknown name
  ///   (listing the closest known ones), an abstract class, or a class that
  ///   needs arguments (`"mean_io_u"` needs `num_classes`, as Keras raises
  ///   `TypeError`).
  public static func get(_ identifier: String) throws(MetricError) -> any KerasSerializable {
    guard let className = identifiers[identifier] else {
      let close = closeMatches(identifier, in: Array(identifiers.keys))
      throw .invalidConfiguration(
        "Could not interpret metric identifier: \"\(identifier)\""
          + (close.isEmpty ? "" : "; did you mean \(close.map { "\"\($0)\"" }.joined(separator: ", "))?"))
    }
    guard let d = byClassName[className] else {
      throw .invalidConfiguration("\"\(identifier)\" names Keras's abstract \(className) class, which measures nothing")
    }
    do {
      return try d.type.init(config: KerasConfig(className: className, config: [:]))
    } catch {
      throw .invalidConfiguration("\"\(identifier)\" names \(className), which needs arguments: \(error.message)")
    }
  }

  /// Keras's `to_snake_case`: `MeanIoU` → `mean_io_u`, `AUC` → `auc`,
  /// `R2Score` → `r2_score`.
  public static func snakeCase(_ name: String) -> String {
    // Insert "_" before an upper-case letter that starts a capitalised
    // word, then between a lower-case letter or digit and an upper-case one.
    var s = ""
    let chars = Array(name)
    for (i, c) in chars.enumerated() {
      if i > 0, c.isUppercase, i + 1 < chars.count, chars[i + 1].isLowercase {
        s.append("_")
      }
      s.append(c)
    }
    var out = ""
    let t = Array(s)
    for (i, c) in t.enumerated() {
      if i > 0, c.isUppercase, t[i - 1].isLowercase || t[i - 1].isNumber { out.append("_") }
      out.append(c)
    }
    var lowered = out.lowercased()
    while lowered.hasPrefix("_") { lowered.removeFirst() }
    return lowered.replacingOccurrences(of: "__", with: "_")
  }

  /// The known identifiers nearest to `s` (small edit distance, or sharing
  /// a case-insensitive prefix), best first.
  static func closeMatches(_ s: String, in candidates: [String], limit: Int = 3) -> [String] {
    let lower = s.lowercased()
    let scored = candidates.map { c -> (String, Int) in
      (c, editDistance(lower, c.lowercased()))
    }
    return scored.filter { $0.1 <= max(2, lower.count / 3) || $0.0.lowercased().hasPrefix(lower) }
      .sorted { ($0.1, $0.0) < ($1.1, $1.0) }
      .prefix(limit).map(\.0)
  }

  static func editDistance(_ a: String, _ b: String) -> Int {
    let a = Array(a)
    let b = Array(b)
    if a.isEmpty { return b.count }
    var previous = Array(0...b.count)
    for i in 1...a.count {
      var current = [i] + [Int](repeating: 0, count: b.count)
      for j in 1...max(b.count, 1) where j <= b.count {
        current[j] = min(previous[j] + 1, current[j - 1] + 1, previous[j - 1] + (a[i - 1] == b[j - 1] ? 0 : 1))
      }
      previous = current
    }
    return previous[b.count]
  }
}
