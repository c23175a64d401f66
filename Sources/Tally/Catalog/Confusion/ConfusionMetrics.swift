//===--- ConfusionMetrics.swift -------------------------------------------===//
//
// Keras's `confusion_metrics.py`: the family's declarations and what its
// metrics share. The metrics live by kind: the four condition counts in
// ConditionCounts.swift, Precision and Recall in PrecisionRecall.swift, the
// four operating-point metrics in OperatingPoints.swift, AUC in AUC.swift;
// the confusion-matrix update they all use is in ConfusionMatrix.swift.
//
//===----------------------------------------------------------------------===//

extension MetricFamily {
  /// Keras's confusion-matrix metrics.
  public static let confusion = MetricFamily(
    "Confusion-matrix metrics",
    [
      TruePositives.declaration, FalsePositives.declaration, TrueNegatives.declaration,
      FalseNegatives.declaration, Precision.declaration, Recall.declaration,
      SensitivityAtSpecificity.declaration, SpecificityAtSensitivity.declaration,
      PrecisionAtRecall.declaration, RecallAtPrecision.declaration, AUC.declaration,
    ])
}

//===--- Shared arguments -------------------------------------------------===//

/// Keras's `thresholds`: a number, a list of numbers, or `None` for the
/// metric's default.
let thresholdsArgument = MetricArgument("thresholds", .numbers, default: .null)

/// Keras's `class_id`: the column scored one-vs-rest, or `None` for all.
let classIdArgument = MetricArgument("class_id", .integer, default: .null)

//===--- Shared state checks and results ----------------------------------===//

/// Checks a state to restore against the thresholds (and labels) a metric
/// counts: the arrays have the lengths the state's shape says, and a
/// non-empty state has `thresholds` thresholds and `labels` labels (any
/// positive number when `labels` is `nil`).
///
/// - Throws: ``MetricError/invalidState(_:)`` naming both shapes.
func checkRestorable(_ s: ConfusionCounts, thresholds: Int, labels: Int?, _ metric: String)
  throws(MetricError)
{
  try s.validate()
  if s.isEmpty { return }
  let labelsFit = labels.map { s.labelCount == $0 } ?? (s.labelCount >= 1)
  guard s.thresholdCount == thresholds, labelsFit else {
    throw .invalidState(
      "\(metric) counts \(thresholds) thresholds × \(labels.map(String.init) ?? "any number of") labels; the state has \(s.thresholdCount) × \(s.labelCount)"
    )
  }
}

extension ConfusionUpdate {
  /// Replaces `state` with `new` after ``checkRestorable(_:thresholds:labels:_:)``
  /// against these thresholds and `labels` (one unless given).
  func restore(_ new: ConfusionCounts, to state: inout ConfusionCounts, labels: Int? = 1) throws(MetricError) {
    try checkRestorable(new, thresholds: thresholds.count, labels: labels, metricName)
    state = new
  }

  /// One value per threshold from `state` (0 for each before any update): a
  /// scalar for one threshold, else a vector, as Keras.
  func perThreshold(_ state: ConfusionCounts, _ value: (ConfusionCounts.Matrix) -> Double) -> MetricValue {
    let values = (0..<thresholds.count).map { t in state.isEmpty ? 0 : value(state.counts(threshold: t)) }
    return values.count == 1 ? .scalar(values[0]) : .vector(values)
  }
}

/// The rates of one threshold's confusion matrix, each 0 where its
/// denominator is 0 (Keras's `divide_no_nan`).
public struct ConfusionRates: Sendable, Equatable {
  /// Sensitivity, recall or true-positive rate: `TP / (TP + FN)`.
  public let sensitivity: Double
  /// Specificity or true-negative rate: `TN / (TN + FP)`.
  public let specificity: Double
  /// Precision or positive predictive value: `TP / (TP + FP)`.
  public let precision: Double

  /// The rates of `m`.
  public init(_ m: ConfusionCounts.Matrix) {
    sensitivity = divideNoNaN(m.tp, m.tp + m.fn)
    specificity = divideNoNaN(m.tn, m.tn + m.fp)
    precision = divideNoNaN(m.tp, m.tp + m.fp)
  }
}

extension Thresholds {
  /// A metric's `thresholds` after Keras's `parse_init_thresholds` (`nil`
  /// gives `[d]`), on the evenly spaced path when Keras would take it.
  ///
  /// - Throws: ``MetricError/invalidConfiguration(_:)`` for an empty list or
  ///   values outside [0, 1].
  init(parsing values: [Double]?, default d: Double) throws(MetricError) {
    let t = try Thresholds.parse(values, default: d)
    self.init(t, evenlySpaced: Thresholds.isEvenlyDistributed(t))
  }
}
