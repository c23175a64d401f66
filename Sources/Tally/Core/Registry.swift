//===--- Registry.swift ---------------------------------------------------===//
//
// Metrics by Keras class name: `keras.metrics.deserialize`.
//
//===----------------------------------------------------------------------===//

/// A metric of plain values, `update(_ values:sampleWeight:)`, as Keras's
/// `Sum` and `Mean` (`update_state(values, sample_weight=None)`).
public protocol ValueMetric: Metric {
  /// Accumulates `values`, weighted by `sampleWeight`.
  mutating func update(_ values: Tensor, sampleWeight: Tensor?) throws(MetricError)
}

extension Sum: ValueMetric {}
extension Mean: ValueMetric {}

/// The built-in metric classes, by Keras class name.
public enum MetricRegistry {
  /// Every class Tally implements, by Keras class name.
  public static let classes: [String: any KerasSerializable.Type] = [
    Sum.className: Sum.self,
    Mean.className: Mean.self,
    MeanMetricWrapper.className: MeanMetricWrapper.self,
    // Accuracy
    Accuracy.className: Accuracy.self,
    BinaryAccuracy.className: BinaryAccuracy.self,
    CategoricalAccuracy.className: CategoricalAccuracy.self,
    SparseCategoricalAccuracy.className: SparseCategoricalAccuracy.self,
    TopKCategoricalAccuracy.className: TopKCategoricalAccuracy.self,
    SparseTopKCategoricalAccuracy.className: SparseTopKCategoricalAccuracy.self,
    // Confusion matrix
    TruePositives.className: TruePositives.self,
    FalsePositives.className: FalsePositives.self,
    TrueNegatives.className: TrueNegatives.self,
    FalseNegatives.className: FalseNegatives.self,
    Precision.className: Precision.self,
    Recall.className: Recall.self,
    SensitivityAtSpecificity.className: SensitivityAtSpecificity.self,
    SpecificityAtSensitivity.className: SpecificityAtSensitivity.self,
    PrecisionAtRecall.className: PrecisionAtRecall.self,
    RecallAtPrecision.className: RecallAtPrecision.self,
    AUC.className: AUC.self,
    // F-scores
    FBetaScore.className: FBetaScore.self,
    F1Score.className: F1Score.self,
    // IoU
    IoU.className: IoU.self,
    MeanIoU.className: MeanIoU.self,
    BinaryIoU.className: BinaryIoU.self,
    OneHotIoU.className: OneHotIoU.self,
    OneHotMeanIoU.className: OneHotMeanIoU.self,
    // Probabilistic
    BinaryCrossentropy.className: BinaryCrossentropy.self,
    CategoricalCrossentropy.className: CategoricalCrossentropy.self,
    SparseCategoricalCrossentropy.className: SparseCategoricalCrossentropy.self,
    KLDivergence.className: KLDivergence.self,
    Poisson.className: Poisson.self,
    // Regression
    MeanSquaredError.className: MeanSquaredError.self,
    MeanAbsoluteError.className: MeanAbsoluteError.self,
    MeanAbsolutePercentageError.className: MeanAbsolutePercentageError.self,
    MeanSquaredLogarithmicError.className: MeanSquaredLogarithmicError.self,
    RootMeanSquaredError.className: RootMeanSquaredError.self,
    CosineSimilarity.className: CosineSimilarity.self,
    LogCoshError.className: LogCoshError.self,
    R2Score.className: R2Score.self,
    // Hinge
    Hinge.className: Hinge.self,
    SquaredHinge.className: SquaredHinge.self,
    CategoricalHinge.className: CategoricalHinge.self,
    // Correlation
    PearsonCorrelation.className: PearsonCorrelation.self,
    ConcordanceCorrelation.className: ConcordanceCorrelation.self,
    // Beyond Keras
    ExactAUC.className: ExactAUC.self,
  ]

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
    guard let type = classes[config.className] else {
      throw .invalidConfiguration(
        "unknown metric class \"\(config.className)\"; known classes: \(classes.keys.sorted().joined(separator: ", "))"
      )
    }
    return try type.init(config: config)
  }
}
