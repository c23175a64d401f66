//===--- CalibrationMetrics.swift -----------------------------------------===//
//
// Metrics Keras 3 lacks that measure whether predicted probabilities are
// calibrated: BrierScore (scikit-learn's brier_score_loss) and
// ExpectedCalibrationError (TorchMetrics' binary definition), mergeable.
//
//===----------------------------------------------------------------------===//

extension MetricFamily {
  /// Calibration of predicted probabilities (beyond Keras).
  public static let calibration = MetricFamily(
    "Calibration metrics (beyond Keras)", [BrierScore.declaration, ExpectedCalibrationError.declaration])
}

/// Checks binary labels and probabilities of one batch, element-wise.
func checkedProbabilities(_ yTrue: Tensor, _ yPred: Tensor, _ metric: String) throws(MetricError) -> (
  t: [Double], p: [Double]
) {
  let t = yTrue.doubles()
  let p = yPred.doubles()
  if let i = t.firstIndex(where: { $0 != 0 && $0 != 1 }) {
    throw .invalidValue("\(metric): y_true must be 0 or 1; received \(t[i]) at flat index \(i)")
  }
  if let i = p.firstIndex(where: { !($0 >= 0 && $0 <= 1) }) {
    throw .invalidValue("\(metric): y_pred must be probabilities in [0, 1]; received \(p[i]) at flat index \(i)")
  }
  return (t, p)
}

//===--- BrierScore -------------------------------------------------------===//

/// The per-sample Brier score: the squared distance between the predicted
/// probabilities and the outcome.
///
/// Formula: binary (`y_pred` of shape `[N]` or `[N, 1]`, `y_true` 0 or 1):
/// `(p − y)²`; multi-class (`y_pred` of shape `[N, C]`, `C > 1`, `y_true`
/// one-hot of the same shape or class ids of shape `[N]`/`[N, 1]`):
/// `Σ_c (p_c − y_c)²` (never halved).
///
/// ```swift
/// try brierScore(yTrue: Tensor([0.0, 1, 1, 0]), yPred: Tensor([0.1, 0.9, 0.8, 0.3]))
/// // [0.01, 0.01, 0.04, 0.09]
/// ```
///
/// - Throws: ``MetricError`` for labels other than 0 and 1 (or class ids out
///   of range), probabilities outside [0, 1] or NaN, shapes that differ.
/// - Returns: A `float64` tensor of shape `[N]`.
public func brierScore(yTrue: Tensor, yPred: Tensor) throws(MetricError) -> Tensor {
  let c = yPred.rank == 2 ? yPred.shape[1] : 1
  guard yPred.rank == 1 || yPred.rank == 2 else {
    throw .invalidShape("brier_score: y_pred must be of shape [N] or [N, C]; received \(describe(yPred.shape))")
  }
  let n = yPred.shape[0]
  var labels = yTrue
  if c > 1 && yTrue.count == n && (yTrue.rank == 1 || yTrue.shape == [n, 1]) {
    // Class ids: one-hot them.
    var oneHot = [Double](repeating: 0, count: n * c)
    for (i, k) in yTrue.doubles().enumerated() {
      guard k == k.rounded(), k >= 0, k < Double(c) else {
        throw .invalidValue("brier_score: class ids must be in [0, \(c)); received \(k) at index \(i)")
      }
      oneHot[i * c + Int(k)] = 1
    }
    labels = .float64(oneHot, shape: [n, c])
  }
  guard labels.count == yPred.count, c == 1 || labels.shape == yPred.shape else {
    throw .shapeMismatch(
      "brier_score: y_true and y_pred do not match; received shapes \(describe(yTrue.shape)) and \(describe(yPred.shape))"
    )
  }
  let (t, p) = try checkedProbabilities(labels, yPred, "brier_score")
  var out = [Double](repeating: 0, count: n)
  for i in 0..<n {
    var s = 0.0
    for j in 0..<c { s += (p[i * c + j] - t[i * c + j]) * (p[i * c + j] - t[i * c + j]) }
    out[i] = s
  }
  return .float64(out, shape: [n])
}

/// The mean squared difference between predicted probabilities and
/// outcomes.
///
/// Formula: the weighted mean over samples of
/// ``brierScore(yTrue:yPred:)``: `Σ w·(p − y)² / Σ w` for binary
/// probabilities, `Σ w·Σ_c (p_c − y_c)² / Σ w` for several classes.
///
/// Not in Keras. Equals `sklearn.metrics.brier_score_loss` for a column of
/// binary probabilities, and its multi-class value with
/// `scale_by_half=False` for `C` columns (scikit-learn's default `"auto"`
/// halves the score when `C` is 2; Tally never halves). Weights follow
/// ``Mean``'s rules (negative weights are accepted, as in Keras).
///
/// ```swift
/// var m = BrierScore()
/// try m.update(yTrue: [0, 1, 1, 0], yPred: [0.1, 0.9, 0.8, 0.3])
/// m.result()   // 0.0375
/// ```
///
/// - Complexity: `update` is O(*n*·*C*).
public typealias BrierScore = SampleMean<BrierScoreDefinition>

/// The declaration of ``BrierScore``.
public enum BrierScoreDefinition: SampleMeanDefinition {
  public static let declaration = BrierScore.declare("brier_score", .samples, origin: .tally, brierScore(yTrue:yPred:))
}

//===--- ExpectedCalibrationError -----------------------------------------===//

/// Per bin of confidence: the total weight, and the weighted sums of the
/// confidences and of the labels.
public struct CalibrationBins: Accumulator {
  /// Σ w per bin.
  public private(set) var weight: [CompensatedSum] = []
  /// Σ w·confidence per bin.
  public private(set) var confidence: [CompensatedSum] = []
  /// Σ w·label per bin.
  public private(set) var positives: [CompensatedSum] = []

  /// The empty state.
  public init() {}

  init(bins: Int) {
    weight = [CompensatedSum](repeating: CompensatedSum(), count: bins)
    confidence = weight
    positives = weight
  }

  /// The number of bins (0 when empty).
  public var count: Int { weight.count }

  /// Adds another state with as many bins.
  ///
  /// - Throws: ``MetricError/incompatibleMerge(_:)`` for another number of
  ///   bins.
  public mutating func merge(_ other: CalibrationBins) throws(MetricError) {
    if other.count == 0 { return }
    if count == 0 {
      self = other
      return
    }
    guard other.count == count else {
      throw .incompatibleMerge("calibration states of \(count) and \(other.count) bins")
    }
    for b in 0..<count {
      weight[b].merge(other.weight[b])
      confidence[b].merge(other.confidence[b])
      positives[b].merge(other.positives[b])
    }
  }

  mutating func add(bin b: Int, confidence c: Double, label y: Double, weight w: Double) {
    weight[b].add(w)
    confidence[b].add(w * c)
    positives[b].add(w * y)
  }
}

/// The expected calibration error of binary probabilities: how far the
/// observed frequency of positives is from the predicted probability,
/// averaged over equal-width bins by their mass.
///
/// Formula: bin `i` holds the confidences `i/n ≤ p < (i+1)/n` (exactly; a
/// confidence of 1 has a bin of its own, as TorchMetrics'
/// `bucketize(right=True)` gives); with `W_b`, `C_b`, `Y_b` a bin's weight,
/// weighted confidence and weighted labels and `W` the total weight,
/// `ECE = Σ_b (W_b/W)·|Y_b/W_b − C_b/W_b| = Σ_b |Y_b − C_b| / W`; 0 before
/// any update. Every element of `y_pred` is one prediction, paired with the
/// element of `y_true` (0 or 1) at the same position.
///
/// Not in Keras. The definition of TorchMetrics'
/// `BinaryCalibrationError(n_bins=15, norm="l1")`. Deviations: sample
/// weights weight each element (TorchMetrics has none); probabilities
/// outside [0, 1] and labels other than 0 and 1 throw (TorchMetrics applies a
/// sigmoid to scores outside [0, 1]); bin edges are exact multiples of
/// `1/n`, where TorchMetrics compares with float32 `linspace` edges.
///
/// ```swift
/// var m = try ExpectedCalibrationError(numBins: 2)
/// try m.update(yTrue: [0, 1, 1, 1], yPred: [0.25, 0.25, 0.75, 0.75])
/// m.result()   // 0.25
/// ```
///
/// - Complexity: `update` is O(*n*); the state holds 3(*B* + 1)
///   compensated sums for *B* bins.
public struct ExpectedCalibrationError: PredictionMetric, DeclaredMetric {
  /// The declaration (TorchMetrics' definition; Keras has none).
  public static let declaration = MetricDeclaration(
    ExpectedCalibrationError.self, className: "ExpectedCalibrationError",
    defaultName: "expected_calibration_error", arguments: [MetricArgument("num_bins", .integer, default: 15)],
    input: .samples, origin: .torchMetrics)
  /// The name in logs; default `"expected_calibration_error"`.
  public var name: String
  /// The dtype name, kept for the configuration.
  public var dtype: String
  /// The number of equal-width bins over [0, 1).
  public let numBins: Int
  /// The bins (`numBins + 1`: the last holds confidences of exactly 1).
  public private(set) var state = CalibrationBins()

  /// The expected calibration error over `numBins` bins.
  ///
  /// - Throws: ``MetricError/invalidConfiguration(_:)`` unless `numBins` is
  ///   between 1 and 2^20.
  public init(numBins: Int = 15, name: String = "expected_calibration_error", dtype: String = "float32")
    throws(MetricError)
  {
    guard numBins >= 1, numBins <= 1 << 20 else {
      throw .invalidConfiguration("ExpectedCalibrationError num_bins must be in 1...\(1 << 20); received \(numBins)")
    }
    self.numBins = numBins
    self.name = name
    self.dtype = dtype
  }

  /// Builds the metric from checked arguments.
  public init(arguments a: MetricArguments) throws(MetricError) {
    try self.init(numBins: try a.int("num_bins"), name: a.name, dtype: a.dtype)
  }

  /// `num_bins`.
  public var arguments: [String: JSONValue] { ["num_bins": .int(Int64(numBins))] }

  /// The bin of confidence `c` in [0, 1]: `⌊c·n⌋` computed exactly.
  func bin(_ c: Double) -> Int {
    if c >= 1 { return numBins }
    let n = Double(numBins)
    var i = (c * n).rounded(.down)
    // c·n may round up onto an integer the exact product is below.
    if (-i).addingProduct(c, n) < 0 { i -= 1 }
    return Int(i)
  }

  /// Accumulates one batch of labels and probabilities.
  ///
  /// - Throws: ``MetricError`` for labels other than 0 and 1, probabilities
  ///   outside [0, 1] or NaN, element counts that differ, weights that are
  ///   negative, not finite or not one per element (or a scalar, or one per
  ///   row of a `[N, 1]` input); the state is then unchanged.
  public mutating func update(yTrue: Tensor, yPred: Tensor, sampleWeight: Tensor?) throws(MetricError) {
    let metric = Self.className
    guard yTrue.count == yPred.count else {
      throw .shapeMismatch(
        "\(metric): y_true and y_pred hold different numbers of elements; received shapes \(describe(yTrue.shape)) and \(describe(yPred.shape))"
      )
    }
    guard yPred.count > 0 else { throw .emptyBatch("\(metric): received y_pred of shape \(describe(yPred.shape))") }
    let (t, p) = try checkedProbabilities(yTrue, yPred, metric)
    let w = try SampleWeights.nonNegative(sampleWeight, count: p.count, of: "element", metric: metric)
    var batch = CalibrationBins(bins: numBins + 1)
    for i in p.indices { batch.add(bin: bin(p[i]), confidence: p[i], label: t[i], weight: w[i]) }
    try state.merge(batch)
  }

  /// Restores bins of the same number.
  ///
  /// - Throws: ``MetricError/invalidState(_:)`` for another number of bins
  ///   or arrays of different lengths; the state is then unchanged.
  public mutating func restore(_ state: CalibrationBins) throws(MetricError) {
    guard state.count == 0 || state.count == numBins + 1,
      state.confidence.count == state.count, state.positives.count == state.count
    else {
      throw .invalidState(
        "ExpectedCalibrationError keeps \(numBins + 1) bins; the state has \(state.count), \(state.confidence.count) and \(state.positives.count)"
      )
    }
    self.state = state
  }

  /// The expected calibration error (0 before any update).
  public func result() -> MetricValue {
    var total = CompensatedSum()
    var gap = CompensatedSum()
    for b in 0..<state.count {
      total.merge(state.weight[b])
      gap.add(abs(state.positives[b].value - state.confidence[b].value))
    }
    return .scalar(total.value > 0 ? gap.value / total.value : 0)
  }
}
