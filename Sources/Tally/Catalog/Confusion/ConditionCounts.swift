//===--- ConditionCounts.swift --------------------------------------------===//
//
// Keras's TruePositives, FalsePositives, TrueNegatives and FalseNegatives:
// one generic metric, ConditionCount, that differs only by the cell of the
// confusion matrix it reports (Keras's `_ConfusionMatrixConditionCount`).
//
//===----------------------------------------------------------------------===//

/// The choice that distinguishes the four condition counts: which cell of
/// the confusion matrix is reported.
public protocol ConfusionCondition: Sendable {
  /// The metric's declaration.
  static var declaration: MetricDeclaration { get }
  /// The cell's count in one threshold's confusion matrix.
  static func count(_ m: ConfusionCounts.Matrix) -> Double
}

/// A condition count: ``TruePositives``, ``FalsePositives``,
/// ``TrueNegatives`` or ``FalseNegatives``, which are typealiases of it.
///
/// - Complexity: `update` is O(*n* + *T*) for evenly spaced thresholds,
///   O(*n* log *T* + *T*) otherwise.
public struct ConditionCount<Condition: ConfusionCondition>: PredictionMetric, DeclaredMetric {
  /// The declaration.
  public static var declaration: MetricDeclaration { Condition.declaration }
  /// The name in logs; Keras's default name of the class unless given.
  public var name: String
  /// The Keras dtype name, kept for the configuration.
  public var dtype: String
  /// The per-threshold counts; ``restore(_:)`` sets them.
  public internal(set) var state = ConfusionCounts()
  /// `thresholds` as given (a number, a list or `null`), for the
  /// configuration.
  let thresholdsValue: JSONValue
  let update: ConfusionUpdate

  /// Counts the condition at `thresholds` (default `[0.5]`, each in [0, 1]).
  ///
  /// - Throws: ``MetricError/invalidConfiguration(_:)`` for an empty list or
  ///   a threshold outside [0, 1].
  public init(thresholds: [Double]? = nil, name: String? = nil, dtype: String = "float32") throws(MetricError) {
    try self.init(thresholds: thresholds, given: JSONValue(thresholds), name: name, dtype: dtype)
  }

  init(thresholds: [Double]?, given: JSONValue, name: String?, dtype: String) throws(MetricError) {
    let className = Condition.declaration.className
    update = ConfusionUpdate(thresholds: try Thresholds(parsing: thresholds, default: 0.5), metricName: className)
    thresholdsValue = given
    self.name = name ?? Condition.declaration.defaultName
    self.dtype = dtype
  }

  /// Builds the metric from checked arguments.
  public init(arguments a: MetricArguments) throws(MetricError) {
    try self.init(
      thresholds: try a.doubles("thresholds"), given: try a.value("thresholds"), name: a.name, dtype: a.dtype)
  }

  /// `thresholds` as given.
  public var arguments: [String: JSONValue] { ["thresholds": thresholdsValue] }

  /// The thresholds, in the order given.
  public var thresholds: [Double] { update.thresholds.values }

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

  /// The count: a scalar for one threshold, else one per threshold.
  public func result() -> MetricValue { update.perThreshold(state, Condition.count) }
}

/// The arguments of the four condition counts.
let conditionCountArguments = [thresholdsArgument]

/// The weighted number of true positives, per threshold.
///
/// Formula: `Σ w · [y_true ≠ 0 ∧ y_pred > t]` for each threshold `t`.
/// Inputs of any rank are flattened: each element is one binary decision.
///
/// Keras: `keras.metrics.TruePositives(thresholds=None, name=None,
/// dtype=None)`; default threshold 0.5; a scalar for one threshold, a vector
/// for several. Deviations: counts are double-double (exact to 2^53, not
/// float32's 2^24); labels outside {0, 1} and NaN predictions throw (Keras
/// casts labels to bool).
///
/// ```swift
/// var m = try TruePositives()
/// try m.update(yTrue: [0, 1, 1, 1], yPred: [1, 0, 1, 1])
/// m.result()   // 2.0
/// ```
///
/// - Complexity: `update` is O(*n* + *T*) for evenly spaced thresholds,
///   O(*n* log *T* + *T*) otherwise.
public typealias TruePositives = ConditionCount<TruePositivesCondition>

/// The declaration of ``TruePositives``: the cell `TP`.
public enum TruePositivesCondition: ConfusionCondition {
  /// Keras's class name, default name and arguments.
  public static let declaration = MetricDeclaration(
    TruePositives.self, className: "TruePositives", defaultName: "true_positives",
    arguments: conditionCountArguments, input: .samples)

  /// `TP`.
  public static func count(_ m: ConfusionCounts.Matrix) -> Double { m.tp }
}

/// The weighted number of false positives, per threshold.
///
/// Formula: `Σ w · [y_true = 0 ∧ y_pred > t]`.
///
/// Keras: `keras.metrics.FalsePositives(thresholds=None, name=None,
/// dtype=None)`; deviations as ``TruePositives``.
///
/// ```swift
/// var m = try FalsePositives()
/// try m.update(yTrue: [0, 1, 0, 0], yPred: [0, 0, 1, 1])
/// m.result()   // 2.0
/// ```
///
/// - Complexity: as ``TruePositives``.
public typealias FalsePositives = ConditionCount<FalsePositivesCondition>

/// The declaration of ``FalsePositives``: the cell `FP`.
public enum FalsePositivesCondition: ConfusionCondition {
  /// Keras's class name, default name and arguments.
  public static let declaration = MetricDeclaration(
    FalsePositives.self, className: "FalsePositives", defaultName: "false_positives",
    arguments: conditionCountArguments, input: .samples)

  /// `FP`.
  public static func count(_ m: ConfusionCounts.Matrix) -> Double { m.fp }
}

/// The weighted number of true negatives, per threshold.
///
/// Formula: `Σ w · [y_true = 0 ∧ y_pred ≤ t]`.
///
/// Keras: `keras.metrics.TrueNegatives(thresholds=None, name=None,
/// dtype=None)`; deviations as ``TruePositives``.
///
/// ```swift
/// var m = try TrueNegatives()
/// try m.update(yTrue: [0, 1, 0, 0], yPred: [1, 1, 0, 0])
/// m.result()   // 2.0
/// ```
///
/// - Complexity: as ``TruePositives``.
public typealias TrueNegatives = ConditionCount<TrueNegativesCondition>

/// The declaration of ``TrueNegatives``: the cell `TN`.
public enum TrueNegativesCondition: ConfusionCondition {
  /// Keras's class name, default name and arguments.
  public static let declaration = MetricDeclaration(
    TrueNegatives.self, className: "TrueNegatives", defaultName: "true_negatives",
    arguments: conditionCountArguments, input: .samples)

  /// `TN`.
  public static func count(_ m: ConfusionCounts.Matrix) -> Double { m.tn }
}

/// The weighted number of false negatives, per threshold.
///
/// Formula: `Σ w · [y_true ≠ 0 ∧ y_pred ≤ t]`.
///
/// Keras: `keras.metrics.FalseNegatives(thresholds=None, name=None,
/// dtype=None)`; deviations as ``TruePositives``.
///
/// ```swift
/// var m = try FalseNegatives()
/// try m.update(yTrue: [0, 1, 1, 1], yPred: [0, 1, 0, 0])
/// m.result()   // 2.0
/// ```
///
/// - Complexity: as ``TruePositives``.
public typealias FalseNegatives = ConditionCount<FalseNegativesCondition>

/// The declaration of ``FalseNegatives``: the cell `FN`.
public enum FalseNegativesCondition: ConfusionCondition {
  /// Keras's class name, default name and arguments.
  public static let declaration = MetricDeclaration(
    FalseNegatives.self, className: "FalseNegatives", defaultName: "false_negatives",
    arguments: conditionCountArguments, input: .samples)

  /// `FN`.
  public static func count(_ m: ConfusionCounts.Matrix) -> Double { m.fn }
}
