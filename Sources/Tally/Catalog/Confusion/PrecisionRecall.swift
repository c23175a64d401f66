//===--- PrecisionRecall.swift --------------------------------------------===//
//
// Keras's Precision and Recall: one generic metric, PrecisionRecall, with
// the same arguments (thresholds, top_k, class_id), that differs only by the
// rate it reports.
//
//===----------------------------------------------------------------------===//

/// The choice that distinguishes ``Precision`` from ``Recall``: the rate
/// reported at each threshold.
public protocol PrecisionRecallRate: Sendable {
  /// The metric's declaration.
  static var declaration: MetricDeclaration { get }
  /// The rate of one threshold's confusion matrix.
  static func value(_ rates: ConfusionRates) -> Double
}

/// Precision or recall at thresholds: ``Precision`` or ``Recall``, which
/// are typealiases of it.
///
/// - Complexity: `update` is O(*n* + *T*) for evenly spaced thresholds,
///   O(*n* log *T* + *T*) otherwise, plus O(*C* log *C*) per row of *C*
///   classes with `topK`.
public struct PrecisionRecall<Rate: PrecisionRecallRate>: PredictionMetric, DeclaredMetric {
  /// The declaration.
  public static var declaration: MetricDeclaration { Rate.declaration }
  /// The name in logs; Keras's default name of the class unless given.
  public var name: String
  /// The Keras dtype name, kept for the configuration.
  public var dtype: String
  /// Only the `topK` highest predictions of each row count as positive.
  public let topK: Int?
  /// The column scored one-vs-rest, or `nil` for every element.
  public let classId: Int?
  /// The per-threshold counts; ``restore(_:)`` sets them.
  public internal(set) var state = ConfusionCounts()
  /// `thresholds` as given (a number, a list or `null`), for the
  /// configuration.
  let thresholdsValue: JSONValue
  let update: ConfusionUpdate

  /// The rate at `thresholds` (default `[0.5]`, or every kept prediction
  /// with `topK`).
  ///
  /// - Throws: ``MetricError/invalidConfiguration(_:)`` for thresholds
  ///   outside [0, 1], an empty list, `topK < 1` or `classId < 0`.
  public init(
    thresholds: [Double]? = nil, topK: Int? = nil, classId: Int? = nil, name: String? = nil,
    dtype: String = "float32"
  ) throws(MetricError) {
    try self.init(
      thresholds: thresholds, given: JSONValue(thresholds), topK: topK, classId: classId, name: name, dtype: dtype)
  }

  init(thresholds: [Double]?, given: JSONValue, topK: Int?, classId: Int?, name: String?, dtype: String)
    throws(MetricError)
  {
    let className = Rate.declaration.className
    if let topK, topK < 1 {
      throw .invalidConfiguration("\(className) top_k must be ≥ 1; received \(topK)")
    }
    if let classId, classId < 0 {
      throw .invalidConfiguration("\(className) class_id must be ≥ 0; received \(classId)")
    }
    // With top_k and no thresholds, the threshold is Keras's NEG_INF.
    let t = try Thresholds(parsing: thresholds, default: topK == nil ? 0.5 : -1e10)
    update = ConfusionUpdate(thresholds: t, topK: topK, classId: classId, metricName: className)
    thresholdsValue = given
    (self.topK, self.classId) = (topK, classId)
    (self.name, self.dtype) = (name ?? Rate.declaration.defaultName, dtype)
  }

  /// Builds the metric from checked arguments.
  public init(arguments a: MetricArguments) throws(MetricError) {
    try self.init(
      thresholds: try a.doubles("thresholds"), given: try a.value("thresholds"), topK: try a.optionalInt("top_k"),
      classId: try a.optionalInt("class_id"), name: a.name, dtype: a.dtype)
  }

  /// `thresholds` as given, `top_k` and `class_id`.
  public var arguments: [String: JSONValue] {
    ["thresholds": thresholdsValue, "top_k": JSONValue(topK), "class_id": JSONValue(classId)]
  }

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

  /// The rate: a scalar for one threshold, else one per threshold.
  public func result() -> MetricValue { update.perThreshold(state) { Rate.value(ConfusionRates($0)) } }
}

/// The arguments of ``Precision`` and ``Recall``, in Keras's order.
let precisionRecallArguments = [
  thresholdsArgument, MetricArgument("top_k", .integer, default: .null), classIdArgument,
]

/// The precision of the predictions: `TP / (TP + FP)` per threshold.
///
/// Formula: `div0(TP, TP + FP)` (0 when nothing is predicted positive). With
/// `topK`, only the `k` highest predictions of each row count as positive
/// (ties broken by lowest index); with `classId`, only that column is
/// scored (one-vs-rest).
///
/// Keras: `keras.metrics.Precision(thresholds=None, top_k=None,
/// class_id=None, name=None, dtype=None)`. Deviations as
/// ``TruePositives``; `top_k` larger than the number of classes and an
/// out-of-range `class_id` throw.
///
/// ```swift
/// var m = try Precision()
/// try m.update(yTrue: [0, 1, 1, 1], yPred: [1, 0, 1, 1])
/// m.result()   // 0.6666666666666666
/// ```
///
/// - Complexity: `update` is O(*n* + *T*) for evenly spaced thresholds,
///   O(*n* log *T* + *T*) otherwise, plus O(*C* log *C*) per row of *C*
///   classes with `topK`.
public typealias Precision = PrecisionRecall<PrecisionRate>

/// The declaration of ``Precision``: `TP / (TP + FP)`.
public enum PrecisionRate: PrecisionRecallRate {
  /// Keras's class name, default name and arguments.
  public static let declaration = MetricDeclaration(
    Precision.self, className: "Precision", defaultName: "precision", arguments: precisionRecallArguments,
    input: .samples)

  /// The precision.
  public static func value(_ rates: ConfusionRates) -> Double { rates.precision }
}

/// The recall of the predictions: `TP / (TP + FN)` per threshold.
///
/// Formula: `div0(TP, TP + FN)`; `topK` and `classId` as in ``Precision``.
///
/// Keras: `keras.metrics.Recall(thresholds=None, top_k=None, class_id=None,
/// name=None, dtype=None)`; deviations as ``Precision``.
///
/// ```swift
/// var m = try Recall()
/// try m.update(yTrue: [0, 1, 1, 1], yPred: [1, 0, 1, 1])
/// m.result()   // 0.6666666666666666
/// ```
///
/// - Complexity: as ``Precision``.
public typealias Recall = PrecisionRecall<RecallRate>

/// The declaration of ``Recall``: `TP / (TP + FN)`.
public enum RecallRate: PrecisionRecallRate {
  /// Keras's class name, default name and arguments.
  public static let declaration = MetricDeclaration(
    Recall.self, className: "Recall", defaultName: "recall", arguments: precisionRecallArguments, input: .samples)

  /// The recall (sensitivity).
  public static func value(_ rates: ConfusionRates) -> Double { rates.sensitivity }
}
