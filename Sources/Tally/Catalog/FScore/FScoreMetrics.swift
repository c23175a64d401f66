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
extension MetricFamily {
  /// Keras's F-scores.
  public static let fScore = MetricFamily("F-scores", [FBetaScore.declaration, F1Score.declaration])
}

/// The choice that distinguishes ``FBetaScore`` from ``F1Score``: whether
/// `beta` is an argument or fixed at 1.
public protocol FScoreKind: Sendable {
  /// The metric's declaration.
  static var declaration: MetricDeclaration { get }
}

/// An F-score: the generic type behind ``FBetaScore`` and ``F1Score``,
/// which are typealiases of it with their Keras initialisers.
///
/// - Complexity: `update` is O(*n*·*C*); `result` O(*C*).
public struct FScore<Kind: FScoreKind>: PredictionMetric, DeclaredMetric {
  /// The declaration.
  public static var declaration: MetricDeclaration { Kind.declaration }
  /// The name in logs.
  public var name: String
  /// The Keras dtype name, kept for the configuration.
  public var dtype: String
  /// The averaging, or `nil` for per-class scores.
  public let average: FScoreAverage?
  /// The weight of recall relative to precision (1 for ``F1Score``).
  public let beta: Double
  /// The binarisation threshold, or `nil` for the row maximum.
  public let threshold: Double?
  /// The per-class counts.
  public private(set) var state = FScoreState()

  /// Checks the values as Keras's constructor does.
  ///
  /// - Throws: ``MetricError/invalidConfiguration(_:)`` unless `beta > 0`
  ///   and `threshold` is `nil` or in (0, 1].
  init(average: FScoreAverage?, beta: Double, threshold: Double?, name: String?, dtype: String) throws(MetricError) {
    guard beta > 0, beta.isFinite else {
      throw .invalidConfiguration("Invalid `beta` argument value. It should be > 0. Received: beta=\(beta)")
    }
    if let threshold, !(threshold > 0 && threshold <= 1) {
      throw .invalidConfiguration(
        "Invalid `threshold` argument value. It should verify 0 < threshold <= 1. Received: threshold=\(threshold)")
    }
    (self.average, self.beta, self.threshold) = (average, beta, threshold)
    (self.name, self.dtype) = (name ?? Kind.declaration.defaultName, dtype)
  }

  /// Builds the metric from checked arguments.
  public init(arguments a: MetricArguments) throws(MetricError) {
    let beta = Kind.declaration.arguments.contains { $0.key == "beta" } ? try a.double("beta") : 1
    try self.init(
      average: try a.optionalString("average").flatMap(FScoreAverage.init(rawValue:)), beta: beta,
      threshold: try a.optionalDouble("threshold"), name: a.name, dtype: a.dtype)
  }

  /// `average` and `threshold`, and `beta` where it is an argument.
  public var arguments: [String: JSONValue] {
    var c: [String: JSONValue] = [
      "average": JSONValue(average?.rawValue), "threshold": threshold.map(JSONValue.double) ?? .null,
    ]
    if Kind.declaration.arguments.contains(where: { $0.key == "beta" }) { c["beta"] = .double(beta) }
    return c
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
  ///
  /// - Throws: ``MetricError/invalidState(_:)``; the state is then
  ///   unchanged.
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

/// `average` and `threshold`, the arguments of both F-scores.
let fScoreArguments = [
  MetricArgument("average", .choice(FScoreAverage.allCases.map(\.rawValue)), default: .null),
  MetricArgument("threshold", .number, default: .null),
]

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
public typealias FBetaScore = FScore<FScoreWithBeta>

/// The declaration of ``FBetaScore``.
public enum FScoreWithBeta: FScoreKind {
  public static let declaration = MetricDeclaration(
    FBetaScore.self, className: "FBetaScore", defaultName: "fbeta_score",
    arguments: [fScoreArguments[0], MetricArgument("beta", .number, default: 1.0), fScoreArguments[1]],
    input: .classAxis)
}

extension FScore where Kind == FScoreWithBeta {
  /// An F-beta score.
  ///
  /// - Throws: ``MetricError/invalidConfiguration(_:)`` unless `beta > 0`
  ///   and `threshold` is `nil` or in (0, 1].
  public init(
    average: FScoreAverage? = nil, beta: Double = 1.0, threshold: Double? = nil,
    name: String = "fbeta_score", dtype: String = "float32"
  ) throws(MetricError) {
    try self.init(average: average, beta: beta, threshold: threshold, name: name as String?, dtype: dtype)
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
public typealias F1Score = FScore<FScoreOne>

/// The declaration of ``F1Score``.
public enum FScoreOne: FScoreKind {
  public static let declaration = MetricDeclaration(
    F1Score.self, className: "F1Score", defaultName: "f1_score", arguments: fScoreArguments, input: .classAxis)
}

extension FScore where Kind == FScoreOne {
  /// An F1 score.
  ///
  /// - Throws: ``MetricError/invalidConfiguration(_:)`` unless `threshold`
  ///   is `nil` or in (0, 1].
  public init(
    average: FScoreAverage? = nil, threshold: Double? = nil, name: String = "f1_score", dtype: String = "float32"
  ) throws(MetricError) {
    try self.init(average: average, beta: 1, threshold: threshold, name: name as String?, dtype: dtype)
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
    throw .shapeMismatch(
      "\(metric) was built for \(classes) classes; received y_pred of shape \(describe(yPred.shape))")
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
