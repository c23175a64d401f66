//===--- OperatingPoints.swift --------------------------------------------===//
//
// Keras's SensitivityAtSpecificity, SpecificityAtSensitivity,
// PrecisionAtRecall and RecallAtPrecision (its `SensitivitySpecificityBase`):
// one generic metric, OperatingPoint, that differs only by which rate is
// constrained and which is maximised.
//
//===----------------------------------------------------------------------===//

/// The choice that distinguishes the four operating-point metrics: the rate
/// constrained to reach the target and the rate maximised under that
/// constraint.
///
/// The declaration's first argument is the target (Keras's `specificity`,
/// `sensitivity`, `recall` or `precision`).
public protocol OperatingPointKind: Sendable {
  /// The metric's declaration.
  static var declaration: MetricDeclaration { get }
  /// The constrained rate and the maximised rate of one threshold.
  static func rates(_ rates: ConfusionRates) -> (constrained: Double, maximised: Double)
}

/// The best value of one rate among the thresholds where another reaches a
/// target: ``SensitivityAtSpecificity``, ``SpecificityAtSensitivity``,
/// ``PrecisionAtRecall`` or ``RecallAtPrecision``, which are typealiases of
/// it and keep Keras's argument names in their initialisers.
///
/// - Complexity: `update` is O(*n* + *T*).
public struct OperatingPoint<Kind: OperatingPointKind>: PredictionMetric, DeclaredMetric {
  /// The declaration.
  public static var declaration: MetricDeclaration { Kind.declaration }
  /// The name in logs; Keras's default name of the class unless given.
  public var name: String
  /// The Keras dtype name, kept for the configuration.
  public var dtype: String
  /// The value the constrained rate must reach, in [0, 1].
  public let target: Double
  /// The number of evenly spaced thresholds in [0, 1].
  public let numThresholds: Int
  /// The column scored one-vs-rest, or `nil` for every element.
  public let classId: Int?
  /// The per-threshold counts; ``restore(_:)`` sets them.
  public internal(set) var state = ConfusionCounts()
  let update: ConfusionUpdate

  /// The target's Keras argument name: the declaration's first argument.
  static var targetKey: String { Kind.declaration.arguments[0].key }

  /// The metric with the constrained rate's `target`; the typealiases'
  /// initialisers name it as Keras does.
  ///
  /// - Throws: ``MetricError/invalidConfiguration(_:)`` for a target outside
  ///   [0, 1], `numThresholds < 1` or `classId < 0`, or thresholds whose
  ///   state would pass ``StateMemory/limit``.
  public init(
    target: Double, numThresholds: Int = 200, classId: Int? = nil, name: String? = nil, dtype: String = "float32"
  ) throws(MetricError) {
    let key = Self.targetKey
    guard target >= 0, target <= 1 else {
      throw .invalidConfiguration("Argument `\(key)` must be in the range [0, 1]. Received: \(key)=\(target)")
    }
    guard numThresholds > 0 else {
      throw .invalidConfiguration(
        "Argument `num_thresholds` must be an integer > 0. Received: num_thresholds=\(numThresholds)")
    }
    let className = Kind.declaration.className
    if let classId, classId < 0 {
      throw .invalidConfiguration("\(className) class_id must be ≥ 0; received \(classId)")
    }
    // Four compensated sums per threshold, and the thresholds.
    try StateMemory.check(
      [numThresholds], bytesPerItem: 4 * MemoryLayout<CompensatedSum>.stride + MemoryLayout<Double>.stride,
      "\(className) with num_thresholds = \(numThresholds)")
    let thresholds: Thresholds
    if numThresholds == 1 {
      thresholds = Thresholds([0.5], evenlySpaced: false)
    } else {
      // Keras's grid without ε end points, on the evenly spaced path.
      let inner = (0..<(numThresholds - 2)).map { Double($0 + 1) / Double(numThresholds - 1) }
      thresholds = Thresholds([0] + inner + [1], evenlySpaced: true)
    }
    update = ConfusionUpdate(thresholds: thresholds, classId: classId, metricName: className)
    (self.target, self.numThresholds, self.classId) = (target, numThresholds, classId)
    (self.name, self.dtype) = (name ?? Kind.declaration.defaultName, dtype)
  }

  /// Builds the metric from checked arguments.
  public init(arguments a: MetricArguments) throws(MetricError) {
    try self.init(
      target: try a.double(Self.targetKey), numThresholds: try a.int("num_thresholds"),
      classId: try a.optionalInt("class_id"),
      name: a.name, dtype: a.dtype)
  }

  /// The target under its Keras name, `num_thresholds` and `class_id`.
  public var arguments: [String: JSONValue] {
    [Self.targetKey: .double(target), "num_thresholds": .int(Int64(numThresholds)), "class_id": JSONValue(classId)]
  }

  /// Accumulates one batch.
  public mutating func update(yTrue: Tensor, yPred: Tensor, sampleWeight: Tensor?) throws(MetricError) {
    try update.add(to: &state, yTrue: yTrue, yPred: yPred, sampleWeight: sampleWeight)
  }

  /// Restores counts of these thresholds.
  ///
  /// - Throws: ``MetricError/invalidState(_:)`` for counts of another
  ///   number of thresholds, or of more than one label; the state is then
  ///   unchanged.
  public mutating func restore(_ state: ConfusionCounts) throws(MetricError) {
    try update.restore(state, to: &self.state)
  }

  /// Keras's `_find_max_under_constraint`: the largest maximised rate among
  /// thresholds whose constrained rate reaches the target (compared in
  /// float32, as Keras); 0 if none, or before any update.
  public func result() -> MetricValue {
    guard !state.isEmpty else { return .scalar(0) }
    var best = 0.0
    for t in 0..<update.thresholds.count {
      let (constrained, maximised) = Kind.rates(ConfusionRates(state.counts(threshold: t)))
      if Float(constrained) >= Float(target) { best = max(best, maximised) }
    }
    return .scalar(best)
  }
}

/// The arguments of an operating-point metric whose target is named `key`,
/// in Keras's order.
func operatingPointArguments(_ key: String) -> [MetricArgument] {
  [MetricArgument(required: key, .number), MetricArgument("num_thresholds", .integer, default: 200), classIdArgument]
}

//===--- SensitivityAtSpecificity -----------------------------------------===//

/// The best sensitivity (recall) among thresholds whose specificity is at
/// least `specificity`.
///
/// Formula: `max_t { TP/(TP+FN) : TN/(TN+FP) ≥ specificity }`, 0 if no
/// threshold qualifies, over `numThresholds` evenly spaced thresholds in
/// [0, 1].
///
/// Keras: `keras.metrics.SensitivityAtSpecificity(specificity,
/// num_thresholds=200, class_id=None, name=None, dtype=None)`. Deviations as
/// ``TruePositives``.
///
/// ```swift
/// var m = try SensitivityAtSpecificity(specificity: 0.5)
/// try m.update(yTrue: [0, 0, 0, 1, 1], yPred: [0, 0.3, 0.8, 0.3, 0.8])
/// m.result()   // 0.5
/// ```
///
/// - Complexity: `update` is O(*n* + *T*).
public typealias SensitivityAtSpecificity = OperatingPoint<SensitivityAtSpecificityKind>

/// The declaration of ``SensitivityAtSpecificity``: specificity
/// constrained, sensitivity maximised.
public enum SensitivityAtSpecificityKind: OperatingPointKind {
  /// Keras's class name, default name and arguments.
  public static let declaration = MetricDeclaration(
    SensitivityAtSpecificity.self, className: "SensitivityAtSpecificity", defaultName: "sensitivity_at_specificity",
    arguments: operatingPointArguments("specificity"), input: .samples)

  /// Specificity, then sensitivity.
  public static func rates(_ r: ConfusionRates) -> (constrained: Double, maximised: Double) {
    (r.specificity, r.sensitivity)
  }
}

extension OperatingPoint where Kind == SensitivityAtSpecificityKind {
  /// Sensitivity at the given `specificity` (in [0, 1]).
  public init(
    specificity: Double, numThresholds: Int = 200, classId: Int? = nil, name: String? = nil, dtype: String = "float32"
  ) throws(MetricError) {
    try self.init(target: specificity, numThresholds: numThresholds, classId: classId, name: name, dtype: dtype)
  }
}

//===--- SpecificityAtSensitivity -----------------------------------------===//

/// The best specificity among thresholds whose sensitivity is at least
/// `sensitivity`.
///
/// Formula: `max_t { TN/(TN+FP) : TP/(TP+FN) ≥ sensitivity }`, 0 if none.
///
/// Keras: `keras.metrics.SpecificityAtSensitivity(sensitivity,
/// num_thresholds=200, class_id=None, name=None, dtype=None)`; deviations as
/// ``TruePositives``.
///
/// ```swift
/// var m = try SpecificityAtSensitivity(sensitivity: 0.5)
/// try m.update(yTrue: [0, 0, 0, 1, 1], yPred: [0, 0.3, 0.8, 0.3, 0.8])
/// m.result()   // 0.6666666666666666
/// ```
///
/// - Complexity: `update` is O(*n* + *T*).
public typealias SpecificityAtSensitivity = OperatingPoint<SpecificityAtSensitivityKind>

/// The declaration of ``SpecificityAtSensitivity``: sensitivity
/// constrained, specificity maximised.
public enum SpecificityAtSensitivityKind: OperatingPointKind {
  /// Keras's class name, default name and arguments.
  public static let declaration = MetricDeclaration(
    SpecificityAtSensitivity.self, className: "SpecificityAtSensitivity", defaultName: "specificity_at_sensitivity",
    arguments: operatingPointArguments("sensitivity"), input: .samples)

  /// Sensitivity, then specificity.
  public static func rates(_ r: ConfusionRates) -> (constrained: Double, maximised: Double) {
    (r.sensitivity, r.specificity)
  }
}

extension OperatingPoint where Kind == SpecificityAtSensitivityKind {
  /// Specificity at the given `sensitivity` (in [0, 1]).
  public init(
    sensitivity: Double, numThresholds: Int = 200, classId: Int? = nil, name: String? = nil, dtype: String = "float32"
  ) throws(MetricError) {
    try self.init(target: sensitivity, numThresholds: numThresholds, classId: classId, name: name, dtype: dtype)
  }
}

//===--- PrecisionAtRecall ------------------------------------------------===//

/// The best precision among thresholds whose recall is at least `recall`.
///
/// Formula: `max_t { TP/(TP+FP) : TP/(TP+FN) ≥ recall }`, 0 if none.
///
/// Keras: `keras.metrics.PrecisionAtRecall(recall, num_thresholds=200,
/// class_id=None, name=None, dtype=None)`; deviations as ``TruePositives``.
///
/// ```swift
/// var m = try PrecisionAtRecall(recall: 0.5)
/// try m.update(yTrue: [0, 0, 0, 1, 1], yPred: [0, 0.3, 0.8, 0.3, 0.8])
/// m.result()   // 0.5
/// ```
///
/// - Complexity: `update` is O(*n* + *T*).
public typealias PrecisionAtRecall = OperatingPoint<PrecisionAtRecallKind>

/// The declaration of ``PrecisionAtRecall``: recall constrained, precision
/// maximised.
public enum PrecisionAtRecallKind: OperatingPointKind {
  /// Keras's class name, default name and arguments.
  public static let declaration = MetricDeclaration(
    PrecisionAtRecall.self, className: "PrecisionAtRecall", defaultName: "precision_at_recall",
    arguments: operatingPointArguments("recall"), input: .samples)

  /// Recall, then precision.
  public static func rates(_ r: ConfusionRates) -> (constrained: Double, maximised: Double) {
    (r.sensitivity, r.precision)
  }
}

extension OperatingPoint where Kind == PrecisionAtRecallKind {
  /// Precision at the given `recall` (in [0, 1]).
  public init(
    recall: Double, numThresholds: Int = 200, classId: Int? = nil, name: String? = nil, dtype: String = "float32"
  ) throws(MetricError) {
    try self.init(target: recall, numThresholds: numThresholds, classId: classId, name: name, dtype: dtype)
  }
}

//===--- RecallAtPrecision ------------------------------------------------===//

/// The best recall among thresholds whose precision is at least
/// `precision`.
///
/// Formula: `max_t { TP/(TP+FN) : TP/(TP+FP) ≥ precision }`, 0 when the
/// precision is unattainable.
///
/// Keras: `keras.metrics.RecallAtPrecision(precision, num_thresholds=200,
/// class_id=None, name=None, dtype=None)`; deviations as ``TruePositives``.
///
/// ```swift
/// var m = try RecallAtPrecision(precision: 0.8)
/// try m.update(yTrue: [0, 0, 1, 1], yPred: [0, 0.5, 0.3, 0.9])
/// m.result()   // 0.5
/// ```
///
/// - Complexity: `update` is O(*n* + *T*).
public typealias RecallAtPrecision = OperatingPoint<RecallAtPrecisionKind>

/// The declaration of ``RecallAtPrecision``: precision constrained, recall
/// maximised.
public enum RecallAtPrecisionKind: OperatingPointKind {
  /// Keras's class name, default name and arguments.
  public static let declaration = MetricDeclaration(
    RecallAtPrecision.self, className: "RecallAtPrecision", defaultName: "recall_at_precision",
    arguments: operatingPointArguments("precision"), input: .samples)

  /// Precision, then recall.
  public static func rates(_ r: ConfusionRates) -> (constrained: Double, maximised: Double) {
    (r.precision, r.sensitivity)
  }
}

extension OperatingPoint where Kind == RecallAtPrecisionKind {
  /// Recall at the given `precision` (in [0, 1]).
  public init(
    precision: Double, numThresholds: Int = 200, classId: Int? = nil, name: String? = nil, dtype: String = "float32"
  ) throws(MetricError) {
    try self.init(target: precision, numThresholds: numThresholds, classId: classId, name: name, dtype: dtype)
  }
}
