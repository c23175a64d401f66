//===--- FScoreMetrics.swift ----------------------------------------------===//
//
// Keras's `f_score_metrics.py`: FBetaScore and F1Score.
//
//===----------------------------------------------------------------------===//

/// How ``FBetaScore`` averages over classes.
public enum FScoreAverage: String, Sendable, Codable, CaseIterable {
  /// Counts pooled over all classes, one score.
  case micro
  /// The unweighted mean of the per-class scores.
  case macro
  /// The mean of the per-class scores weighted by each class's support.
  case weighted
}

/// The per-class counts of an F-score: true positives, false positives,
/// false negatives and support (Keras's `intermediate_weights`), one entry
/// per class (one in all for `micro`).
///
/// Empty until the first update fixes the number of classes.
public struct FScoreState: Accumulator {
  /// Σ w·ŷ·y per class.
  public internal(set) var truePositives: [CompensatedSum] = []
  /// Σ w·ŷ·(1−y) per class.
  public internal(set) var falsePositives: [CompensatedSum] = []
  /// Σ w·(1−ŷ)·y per class.
  public internal(set) var falseNegatives: [CompensatedSum] = []
  /// Σ w·y per class.
  public internal(set) var support: [CompensatedSum] = []

  /// The empty state.
  public init() {}

  init(count: Int) {
    let zero = [CompensatedSum](repeating: CompensatedSum(), count: count)
    (truePositives, falsePositives, falseNegatives, support) = (zero, zero, zero, zero)
  }

  private enum CodingKeys: String, CodingKey {
    case truePositives = "true_positives"
    case falsePositives = "false_positives"
    case falseNegatives = "false_negatives"
    case support = "intermediate_weights"
  }

  /// Whether no update has fixed the number of classes yet.
  public var isEmpty: Bool { truePositives.isEmpty }

  func validate() throws(MetricError) {
    let n = truePositives.count
    guard falsePositives.count == n, falseNegatives.count == n, support.count == n else {
      throw .invalidState("F-score counts must all have the same length")
    }
  }

  /// Adds another state's counts.
  ///
  /// - Throws: ``MetricError/incompatibleMerge(_:)`` for different numbers
  ///   of classes.
  public mutating func merge(_ other: FScoreState) throws(MetricError) {
    if other.isEmpty { return }
    if isEmpty {
      self = other
      return
    }
    guard other.truePositives.count == truePositives.count else {
      throw .incompatibleMerge(
        "F-score counts for \(truePositives.count) and \(other.truePositives.count) classes")
    }
    for i in truePositives.indices {
      truePositives[i].merge(other.truePositives[i])
      falsePositives[i].merge(other.falsePositives[i])
      falseNegatives[i].merge(other.falseNegatives[i])
      support[i].merge(other.support[i])
    }
  }
}

/// The F-beta score: the weighted harmonic mean of precision and recall,
/// per class or averaged.
///
/// Formula: `P = TP/(TP+FP+ε)`, `R = TP/(TP+FN+ε)`,
/// `F = (1+β²)·P·R/(β²·P + R + ε)` with ε = 1e-7; `average: nil` gives one
/// value per class, `.macro` and `.micro` the mean, `.weighted` the
/// support-weighted mean. Predictions are binarised with `y_pred >
/// threshold`, or, with no threshold, 1 where the row's maximum is (ties all
/// 1; an all-zero row stays 0). Labels may be soft.
///
/// Keras: `keras.metrics.FBetaScore(average=None, beta=1.0, threshold=None,
/// name="fbeta_score", dtype=None)`. Inputs must be rank 2 `(N, C)`.
/// Weights of rank below 2 are expanded with trailing axes (Keras's current
/// behaviour; 3.15.1 always inserts one axis, which is the same for `(N,)`
/// weights). Counts are double-double.
///
/// ```swift
/// var m = try FBetaScore(average: .micro, beta: 1, threshold: 0.5)
/// try m.update(yTrue: [[1, 1, 1], [1, 0, 0], [1, 1, 0]],
///              yPred: [[0.2, 0.6, 0.7], [0.2, 0.6, 0.6], [0.6, 0.8, 0]])
/// m.result()   // 0.6666666…
/// ```
///
/// - Complexity: `update` is O(*n*).
public struct FBetaScore: PredictionMetric, KerasSerializable {
  /// `"FBetaScore"`.
  public static var className: String { "FBetaScore" }
  /// The name in logs; default `"fbeta_score"`.
  public var name: String
  /// The Keras dtype name, kept for the configuration.
  public var dtype: String
  /// The averaging, or `nil` for per-class scores.
  public let average: FScoreAverage?
  /// The weight of recall relative to precision.
  public let beta: Double
  /// The binarisation threshold, or `nil` for the row maximum.
  public let threshold: Double?
  /// The per-class counts.
  public var state = FScoreState()

  /// An F-beta score.
  ///
  /// - Throws: ``MetricError/invalidConfiguration(_:)`` unless `beta > 0`
  ///   and `threshold` is `nil` or in (0, 1].
  public init(
    average: FScoreAverage? = nil, beta: Double = 1.0, threshold: Double? = nil,
    name: String = "fbeta_score", dtype: String = "float32"
  ) throws(MetricError) {
    guard beta > 0, beta.isFinite else {
      throw .invalidConfiguration("Invalid `beta` argument value. It should be > 0. Received: beta=\(beta)")
    }
    if let threshold, !(threshold > 0 && threshold <= 1) {
      throw .invalidConfiguration(
        "Invalid `threshold` argument value. It should verify 0 < threshold <= 1. Received: threshold=\(threshold)")
    }
    self.average = average
    self.beta = beta
    self.threshold = threshold
    self.name = name
    self.dtype = dtype
  }

  static func readCommon(_ r: inout ConfigReader) throws(MetricError) -> (FScoreAverage?, Double?) {
    var average: FScoreAverage? = nil
    if let a = try r.optionalString("average") {
      guard let parsed = FScoreAverage(rawValue: a) else {
        throw .invalidConfiguration(
          "Invalid `average` argument value. Expected one of: {None, 'micro', 'macro', 'weighted'}. Received: average=\(a)")
      }
      average = parsed
    }
    return (average, try r.optionalDouble("threshold"))
  }

  /// Rebuilds the metric from `{"name", "dtype", "average", "beta",
  /// "threshold"}`.
  public init(config: KerasConfig) throws(MetricError) {
    var r = try ConfigReader(config, expecting: Self.className)
    let name = try r.string("name", default: "fbeta_score")
    let dtype = try r.dtype()
    let (average, threshold) = try Self.readCommon(&r)
    let beta = try r.double("beta", default: 1.0)
    try r.finish()
    try self.init(average: average, beta: beta, threshold: threshold, name: name, dtype: dtype)
  }

  /// Keras's config.
  public var config: KerasConfig {
    KerasConfig(
      className: Self.className,
      config: [
        "name": .string(name), "dtype": .string(dtype),
        "average": average.map { .string($0.rawValue) } ?? .null, "beta": .double(beta),
        "threshold": threshold.map(JSONValue.double) ?? .null,
      ])
  }

  /// Accumulates one batch of `(N, C)` labels and predictions.
  ///
  /// - Throws: ``MetricError/shapeMismatch(_:)`` unless both are rank 2 with
  ///   the same shape (and the classes of earlier batches);
  ///   ``MetricError/invalidWeights(_:)``; the state is then unchanged.
  public mutating func update(yTrue: Tensor, yPred: Tensor, sampleWeight: Tensor?) throws(MetricError) {
    try state.merge(
      fScoreCounts(
        yTrue: yTrue, yPred: yPred, sampleWeight: sampleWeight, threshold: threshold,
        micro: average == .micro, classes: state.isEmpty ? nil : state.truePositives.count,
        metric: Self.className))
  }

  /// Restores a saved state (checked for consistent lengths).
  public mutating func restore(_ state: FScoreState) throws(MetricError) {
    try state.validate()
    if average == .micro && !state.isEmpty && state.truePositives.count != 1 {
      throw .invalidState("a micro-averaged F-score keeps one count per quantity")
    }
    self.state = state
  }

  /// The score per class (`average: nil`) or averaged.
  public func result() -> MetricValue {
    fScoreResult(state, beta: beta, average: average)
  }
}

/// The F1 score: ``FBetaScore`` with β = 1.
///
/// Keras: `keras.metrics.F1Score(average=None, threshold=None,
/// name="f1_score", dtype=None)`; its config has no `beta`.
///
/// ```swift
/// var m = try F1Score(threshold: 0.5)
/// try m.update(yTrue: [[1, 1, 1], [1, 0, 0], [1, 1, 0]],
///              yPred: [[0.2, 0.6, 0.7], [0.2, 0.6, 0.6], [0.6, 0.8, 0]])
/// m.result()   // [0.5, 0.8, 0.6666…]
/// ```
///
/// - Complexity: `update` is O(*n*).
public struct F1Score: PredictionMetric, KerasSerializable {
  /// `"F1Score"`.
  public static var className: String { "F1Score" }
  /// The name in logs; default `"f1_score"`.
  public var name: String
  /// The Keras dtype name, kept for the configuration.
  public var dtype: String
  /// The averaging, or `nil` for per-class scores.
  public let average: FScoreAverage?
  /// The binarisation threshold, or `nil` for the row maximum.
  public let threshold: Double?
  /// The per-class counts.
  public var state = FScoreState()

  /// An F1 score.
  ///
  /// - Throws: ``MetricError/invalidConfiguration(_:)`` unless `threshold`
  ///   is `nil` or in (0, 1].
  public init(
    average: FScoreAverage? = nil, threshold: Double? = nil, name: String = "f1_score",
    dtype: String = "float32"
  ) throws(MetricError) {
    _ = try FBetaScore(average: average, beta: 1, threshold: threshold)
    self.average = average
    self.threshold = threshold
    self.name = name
    self.dtype = dtype
  }

  /// Rebuilds the metric from `{"name", "dtype", "average", "threshold"}`.
  public init(config: KerasConfig) throws(MetricError) {
    var r = try ConfigReader(config, expecting: Self.className)
    let name = try r.string("name", default: "f1_score")
    let dtype = try r.dtype()
    let (average, threshold) = try FBetaScore.readCommon(&r)
    try r.finish()
    try self.init(average: average, threshold: threshold, name: name, dtype: dtype)
  }

  /// Keras's config (no `beta`).
  public var config: KerasConfig {
    KerasConfig(
      className: Self.className,
      config: [
        "name": .string(name), "dtype": .string(dtype),
        "average": average.map { .string($0.rawValue) } ?? .null,
        "threshold": threshold.map(JSONValue.double) ?? .null,
      ])
  }

  /// Accumulates one batch of `(N, C)` labels and predictions.
  public mutating func update(yTrue: Tensor, yPred: Tensor, sampleWeight: Tensor?) throws(MetricError) {
    try state.merge(
      fScoreCounts(
        yTrue: yTrue, yPred: yPred, sampleWeight: sampleWeight, threshold: threshold,
        micro: average == .micro, classes: state.isEmpty ? nil : state.truePositives.count,
        metric: Self.className))
  }

  /// Restores a saved state (checked for consistent lengths).
  public mutating func restore(_ state: FScoreState) throws(MetricError) {
    try state.validate()
    self.state = state
  }

  /// The score per class (`average: nil`) or averaged.
  public func result() -> MetricValue {
    fScoreResult(state, beta: 1, average: average)
  }
}

/// One batch's F-score counts.
func fScoreCounts(
  yTrue: Tensor, yPred: Tensor, sampleWeight: Tensor?, threshold: Double?, micro: Bool,
  classes: Int?, metric: String
) throws(MetricError) -> FScoreState {
  guard yTrue.rank == 2, yPred.rank == 2, yTrue.shape == yPred.shape else {
    throw .shapeMismatch(
      "\(metric) expects 2D inputs with shape (batch_size, output_dim). Received input shapes: y_pred.shape=\(describe(yPred.shape)) and y_true.shape=\(describe(yTrue.shape))."
    )
  }
  let (n, c) = (yPred.shape[0], yPred.shape[1])
  guard n > 0, c > 0 else {
    throw .emptyBatch("\(metric): received inputs of shape \(describe(yPred.shape))")
  }
  if let classes, !micro, classes != c {
    throw .shapeMismatch("\(metric) was built for \(classes) classes; received y_pred of shape \(describe(yPred.shape))")
  }
  let truth = cast(yTrue.doubles(), to: .float32)
  let pred = cast(yPred.doubles(), to: .float32)
  var w = [Double](repeating: 1, count: n * c)
  if let sampleWeight {
    w = cast(try SampleWeights.expanded(sampleWeight, to: yPred.shape, metric: metric), to: .float32)
  }
  // Binarise the predictions.
  var binary = [Double](repeating: 0, count: n * c)
  for r in 0..<n {
    let row = pred[(r * c)..<((r + 1) * c)]
    if let threshold {
      let t = Float(threshold)
      for j in row.indices { binary[j] = Float(pred[j]) > t ? 1 : 0 }
    } else {
      let m = row.max()!
      for j in row.indices { binary[j] = (pred[j] >= m && abs(pred[j]) > 1e-9) ? 1 : 0 }
    }
  }
  var s = FScoreState(count: micro ? 1 : c)
  for i in 0..<(n * c) {
    let k = micro ? 0 : i % c
    let (y, p, wi) = (truth[i], binary[i], w[i])
    s.truePositives[k].add(wi * p * y)
    s.falsePositives[k].add(wi * p * (1 - y))
    s.falseNegatives[k].add(wi * (1 - p) * y)
    s.support[k].add(wi * y)
  }
  return s
}

/// Keras's F-score result from the counts.
func fScoreResult(_ s: FScoreState, beta: Double, average: FScoreAverage?) -> MetricValue {
  let epsilon = 1e-7
  guard !s.isEmpty else { return average == nil ? .vector([]) : .scalar(0) }
  let b2 = beta * beta
  let f = s.truePositives.indices.map { i -> Double in
    let tp = s.truePositives[i].value
    let precision = tp / (tp + s.falsePositives[i].value + epsilon)
    let recall = tp / (tp + s.falseNegatives[i].value + epsilon)
    return precision * recall / (b2 * precision + recall + epsilon) * (1 + b2)
  }
  switch average {
  case nil:
    return .vector(f)
  case .micro, .macro:
    var total = CompensatedSum()
    total.add(contentsOf: f)
    return .scalar(total.value / Double(f.count))
  case .weighted:
    var support = CompensatedSum()
    for x in s.support { support.merge(x) }
    var total = CompensatedSum()
    for (i, fi) in f.enumerated() { total.add(fi * (s.support[i].value / (support.value + epsilon))) }
    return .scalar(total.value)
  }
}
