//===--- AgreementMetrics.swift -------------------------------------------===//
//
// Metrics Keras 3 lacks that measure the agreement of class decisions, with
// TensorFlow Addons' names and arguments: MatthewsCorrelationCoefficient and
// CohenKappa. Both keep a weighted confusion matrix of classes (the IoU
// family's ConfusionMatrixState), so they merge exactly.
//
//===----------------------------------------------------------------------===//

import RealModule

extension MetricFamily {
  /// Agreement of class decisions (beyond Keras; TensorFlow Addons' names).
  public static let agreement = MetricFamily(
    "Agreement metrics (beyond Keras)", [MatthewsCorrelationCoefficient.declaration, CohenKappa.declaration])
}

/// How the agreement metrics turn labels and predictions into class ids.
///
/// - `y_true` of shape `[N, K]` (K = `numClasses` > 1) is one-hot: its argmax
///   (when `oneHotLabels`); `[N]` or `[N, 1]` holds class ids, which must be
///   integral and in `[0, K)`.
/// - `y_pred` of shape `[N, K]` holds scores: the argmax (the lowest index
///   on ties; a NaN is an error). `[N]` or `[N, 1]`: for two classes a score,
///   class 1 when `y_pred > 0.5` (Keras's threshold convention); for more,
///   class ids (with `roundPredictions`, `round(|y_pred|)` half to even
///   first, as TensorFlow Addons' `regression` option).
/// - `sampleWeight`: a scalar, `[N]` or `[N, 1]`; finite and ≥ 0.
struct ClassDecisions: Sendable, Equatable {
  let numClasses: Int
  let oneHotLabels: Bool
  let roundPredictions: Bool
  let metric: String

  /// Decisions over `numClasses` ≥ 2 classes, whose matrix of compensated
  /// sums fits ``StateMemory/limit``.
  ///
  /// - Throws: ``MetricError/invalidConfiguration(_:)`` naming `metric`.
  init(numClasses: Int, oneHotLabels: Bool, roundPredictions: Bool, metric: String) throws(MetricError) {
    guard numClasses >= 2 else {
      throw .invalidConfiguration("\(metric) num_classes must be ≥ 2; received \(numClasses)")
    }
    try StateMemory.check(
      [numClasses, numClasses], bytesPerItem: MemoryLayout<CompensatedSum>.stride,
      "\(metric) with num_classes = \(numClasses)")
    (self.numClasses, self.oneHotLabels, self.roundPredictions) = (numClasses, oneHotLabels, roundPredictions)
    self.metric = metric
  }

  /// The rows of a rank-1 or `[N, 1]` tensor, or `nil` for `[N, c]`, c > 1.
  private func column(_ x: Tensor) -> Bool {
    x.rank == 1 || (x.rank == 2 && x.shape[1] == 1)
  }

  /// Argmax per row of an `[N, K]` tensor (lowest index on ties).
  private func argmax(_ x: Tensor, _ what: String) throws(MetricError) -> [Int] {
    let v = x.doubles()
    let k = numClasses
    var out = [Int](repeating: 0, count: x.shape[0])
    for i in out.indices {
      var best = 0
      for j in 0..<k {
        let s = v[i * k + j]
        guard !s.isNaN else {
          throw .invalidValue("\(metric): \(what) is NaN at row \(i), column \(j)")
        }
        if s > v[i * k + best] { best = j }
      }
      out[i] = best
    }
    return out
  }

  /// Class ids from a column of values.
  private func ids(_ v: [Double], _ what: String) throws(MetricError) -> [Int] {
    var out = [Int](repeating: 0, count: v.count)
    for (i, x) in v.enumerated() {
      guard x == x.rounded(), x >= 0, x < Double(numClasses) else {
        throw .invalidValue(
          "\(metric): \(what) must be class ids in [0, \(numClasses)); received \(x) at index \(i)")
      }
      out[i] = Int(x)
    }
    return out
  }

  func labels(_ t: Tensor) throws(MetricError) -> [Int] {
    if column(t) { return try ids(t.doubles(), "y_true") }
    guard oneHotLabels, t.rank == 2, t.shape[1] == numClasses else {
      throw .shapeMismatch(
        "\(metric): y_true must be class ids of shape [N] or [N, 1]\(oneHotLabels ? " or one-hot of shape [N, \(numClasses)]" : "") ; received shape \(describe(t.shape))"
      )
    }
    return try argmax(t, "y_true")
  }

  func predictions(_ p: Tensor) throws(MetricError) -> [Int] {
    if column(p) {
      let v = p.doubles()
      if numClasses == 2 {
        if let i = v.firstIndex(where: \.isNaN) {
          throw .invalidValue("\(metric): y_pred is NaN at index \(i)")
        }
        return v.map { $0 > 0.5 ? 1 : 0 }
      }
      return try ids(roundPredictions ? v.map { abs($0).rounded(.toNearestOrEven) } : v, "y_pred")
    }
    guard p.rank == 2, p.shape[1] == numClasses else {
      throw .shapeMismatch(
        "\(metric): y_pred must be scores of shape [N, \(numClasses)], or of shape [N] or [N, 1]; received shape \(describe(p.shape))"
      )
    }
    return try argmax(p, "y_pred")
  }

  /// One batch's weighted confusion matrix (rows: true class).
  func batch(yTrue: Tensor, yPred: Tensor, sampleWeight: Tensor?) throws(MetricError) -> ConfusionMatrixState {
    let t = try labels(yTrue)
    let p = try predictions(yPred)
    guard t.count == p.count else {
      throw .shapeMismatch(
        "\(metric): y_true and y_pred hold different numbers of samples; received shapes \(describe(yTrue.shape)) and \(describe(yPred.shape))"
      )
    }
    guard !t.isEmpty else { throw .emptyBatch("\(metric): received y_pred of shape \(describe(yPred.shape))") }
    if let sampleWeight, sampleWeight.rank > 0, !column(sampleWeight) {
      throw .invalidWeights(
        "\(metric): sample_weight must be a scalar or one weight per sample (\(t.count)); received shape \(describe(sampleWeight.shape))"
      )
    }
    let w = try SampleWeights.nonNegative(sampleWeight, count: t.count, of: "sample", metric: metric)
    var m = ConfusionMatrixState(classes: numClasses)
    for i in t.indices { m.add(true: t[i], predicted: p[i], weight: w[i]) }
    return m
  }

  /// Throws unless `s` is empty or a matrix of `numClasses` classes.
  func checkRestorable(_ s: ConfusionMatrixState) throws(MetricError) {
    try s.check(classes: numClasses, metric)
  }
}

extension ConfusionMatrixState {
  /// Row sums (true classes) and column sums (predicted classes).
  var marginals: (rows: [Double], columns: [Double]) {
    var rows = [Double](repeating: 0, count: classes)
    var columns = [Double](repeating: 0, count: classes)
    for i in 0..<classes {
      var r = CompensatedSum()
      var c = CompensatedSum()
      for j in 0..<classes {
        r.add(self[i, j])
        c.add(self[j, i])
      }
      rows[i] = r.value
      columns[i] = c.value
    }
    return (rows, columns)
  }
}

/// `Σ a_i · b_i`, compensated.
func compensatedDot(_ a: [Double], _ b: [Double]) -> Double {
  var s = CompensatedSum()
  for (x, y) in zip(a, b) {
    let (h, t) = Augmented.product(x, y)
    s.add(h)
    s.add(t)
  }
  return s.value
}

//===--- MatthewsCorrelationCoefficient -----------------------------------===//

/// The Matthews correlation coefficient (the phi coefficient for two
/// classes), binary or multi-class.
///
/// Formula: from the weighted confusion matrix `C` (rows true, columns
/// predicted) with row sums `t`, column sums `p`, trace `c` and total `s`:
/// `(c·s − t·p) / sqrt((s² − p·p)(s² − t·t))`, 0 when a factor of the
/// denominator is 0 (scikit-learn's convention) and before any update.
/// Inputs: see the class decisions below.
///
/// Not in Keras. TensorFlow Addons' `MatthewsCorrelationCoefficient(
/// num_classes, name="MatthewsCorrelationCoefficient", dtype=None)`; equals
/// `sklearn.metrics.matthews_corrcoef`. Deviations from TensorFlow Addons:
/// labels may be class ids as well as one-hot rows, a single score column
/// is thresholded at 0.5 for two classes, and sample weights are supported
/// (TensorFlow Addons ignores them). Labels and predictions become classes
/// thus: `y_true` `[N]`/`[N, 1]` class ids, or `[N, K]` one-hot (argmax);
/// `y_pred` `[N, K]` scores (argmax, lowest index on ties), or for
/// `numClasses == 2` a column of scores (class 1 when `> 0.5`), or for more
/// classes a column of class ids. Class ids must be integers in `[0, K)`.
///
/// ```swift
/// var m = try MatthewsCorrelationCoefficient(numClasses: 2)
/// try m.update(
///   yTrue: [[0.0, 1.0], [0.0, 1.0], [0.0, 1.0], [1.0, 0.0]],
///   yPred: [[0.0, 1.0], [1.0, 0.0], [0.0, 1.0], [0.0, 1.0]])
/// m.result()   // -0.3333333333333333
/// ```
///
/// - Complexity: `update` is O(*n*·*K*); `result` O(*K*²); the state holds
///   *K*² compensated counts.
public struct MatthewsCorrelationCoefficient: PredictionMetric, DeclaredMetric {
  /// The declaration (TensorFlow Addons' name, arguments and default name).
  public static let declaration = MetricDeclaration(
    MatthewsCorrelationCoefficient.self, className: "MatthewsCorrelationCoefficient",
    defaultName: "MatthewsCorrelationCoefficient", arguments: [MetricArgument(required: "num_classes", .integer)],
    input: .samples, origin: .tensorFlowAddons)
  /// The name in logs; default `"MatthewsCorrelationCoefficient"`.
  public var name: String
  /// The dtype name, kept for the configuration.
  public var dtype: String
  /// The number of classes (≥ 2).
  public var numClasses: Int { decisions.numClasses }
  let decisions: ClassDecisions
  /// The weighted confusion matrix.
  public private(set) var state = ConfusionMatrixState()

  /// A Matthews correlation coefficient over `numClasses` classes.
  ///
  /// - Throws: ``MetricError/invalidConfiguration(_:)`` for fewer than 2
  ///   classes.
  public init(numClasses: Int, name: String = "MatthewsCorrelationCoefficient", dtype: String = "float32")
    throws(MetricError)
  {
    decisions = try ClassDecisions(
      numClasses: numClasses, oneHotLabels: true, roundPredictions: false, metric: "MatthewsCorrelationCoefficient")
    self.name = name
    self.dtype = dtype
  }

  /// Builds the metric from checked arguments.
  public init(arguments a: MetricArguments) throws(MetricError) {
    try self.init(numClasses: try a.int("num_classes"), name: a.name, dtype: a.dtype)
  }

  /// `num_classes`.
  public var arguments: [String: JSONValue] { ["num_classes": .int(Int64(numClasses))] }

  /// Accumulates one batch.
  ///
  /// - Throws: ``MetricError`` for labels or predictions that are not
  ///   classes, shapes that differ, bad weights; the state is then unchanged.
  public mutating func update(yTrue: Tensor, yPred: Tensor, sampleWeight: Tensor?) throws(MetricError) {
    try state.merge(decisions.batch(yTrue: yTrue, yPred: yPred, sampleWeight: sampleWeight))
  }

  /// Restores a matrix of the same number of classes.
  public mutating func restore(_ state: ConfusionMatrixState) throws(MetricError) {
    try decisions.checkRestorable(state)
    self.state = state
  }

  /// The coefficient, or 0 when it is undefined.
  public func result() -> MetricValue {
    guard state.classes == numClasses else { return .scalar(0) }
    let (t, p) = state.marginals
    var trace = CompensatedSum()
    for k in 0..<numClasses { trace.add(state[k, k]) }
    let s = t.reduce(0, +)
    let covTP = trace.value * s - compensatedDot(t, p)
    let covPP = s * s - compensatedDot(p, p)
    let covTT = s * s - compensatedDot(t, t)
    guard covPP * covTT != 0 else { return .scalar(0) }
    return .scalar(covTP / (covTT * covPP).squareRoot())
  }
}

//===--- CohenKappa -------------------------------------------------------===//

/// How ``CohenKappa`` weighs disagreements.
public enum KappaWeighting: String, Sendable, CaseIterable {
  /// `|i − j|`.
  case linear
  /// `(i − j)²`.
  case quadratic
}

/// Cohen's kappa: the agreement of two raters beyond chance, optionally
/// weighted by how far apart the classes are.
///
/// Formula: with the weighted confusion matrix `C`, the expected matrix
/// `E = outer(row sums, column sums) / Σ C` and disagreement weights `w_ij`
/// (1 off the diagonal; `|i − j|` linear; `(i − j)²` quadratic):
/// `κ = 1 − Σ w·C / Σ w·E`; 0 before any update and when `Σ w·E` is 0.
///
/// Not in Keras. TensorFlow Addons' `CohenKappa(num_classes,
/// name="cohen_kappa", weightage=None, sparse_labels=False,
/// regression=False, dtype=None)`; equals
/// `sklearn.metrics.cohen_kappa_score(weights=...)` over all updates.
/// Deviations: where scikit-learn returns NaN (no disagreement is
/// possible, e.g. one class throughout), Tally returns 0; class decisions
/// follow ``MatthewsCorrelationCoefficient``'s rules, with one-hot `y_true`
/// only when `sparseLabels` is false and `regression: true` rounding a
/// column of predictions (`round(|y|)`, half to even) before it is read as
/// class ids. Sample weights must be ≥ 0.
///
/// ```swift
/// var m = try CohenKappa(numClasses: 5, sparseLabels: true)
/// try m.update(yTrue: [4, 4, 3, 4, 2, 4, 1, 1], yPred: [4, 4, 3, 4, 4, 2, 1, 1])
/// m.result()   // 0.6190476190476191
/// ```
///
/// - Complexity: `update` is O(*n*·*K*); `result` O(*K*²).
public struct CohenKappa: PredictionMetric, DeclaredMetric {
  /// The declaration (TensorFlow Addons' name, arguments and defaults).
  public static let declaration = MetricDeclaration(
    CohenKappa.self, className: "CohenKappa", defaultName: "cohen_kappa",
    arguments: [
      MetricArgument(required: "num_classes", .integer),
      MetricArgument("weightage", .choice(KappaWeighting.allCases.map(\.rawValue)), default: .null),
      MetricArgument("sparse_labels", .bool, default: false), MetricArgument("regression", .bool, default: false),
    ], input: .samples, origin: .tensorFlowAddons)
  /// The name in logs; default `"cohen_kappa"`.
  public var name: String
  /// The dtype name, kept for the configuration.
  public var dtype: String
  /// The disagreement weights; `nil` for plain kappa.
  public let weightage: KappaWeighting?
  /// Whether `y_true` always holds class ids (never one-hot rows).
  public let sparseLabels: Bool
  /// Whether a column of predictions is rounded to class ids.
  public let regression: Bool
  /// The number of classes (≥ 2).
  public var numClasses: Int { decisions.numClasses }
  let decisions: ClassDecisions
  /// The weighted confusion matrix.
  public private(set) var state = ConfusionMatrixState()

  /// Cohen's kappa over `numClasses` classes.
  ///
  /// - Throws: ``MetricError/invalidConfiguration(_:)`` for fewer than 2
  ///   classes.
  public init(
    numClasses: Int, name: String = "cohen_kappa", weightage: KappaWeighting? = nil, sparseLabels: Bool = false,
    regression: Bool = false, dtype: String = "float32"
  ) throws(MetricError) {
    decisions = try ClassDecisions(
      numClasses: numClasses, oneHotLabels: !sparseLabels, roundPredictions: regression, metric: "CohenKappa")
    (self.name, self.weightage, self.sparseLabels) = (name, weightage, sparseLabels)
    (self.regression, self.dtype) = (regression, dtype)
  }

  /// Builds the metric from checked arguments.
  public init(arguments a: MetricArguments) throws(MetricError) {
    try self.init(
      numClasses: try a.int("num_classes"), name: a.name,
      weightage: try a.optionalString("weightage").flatMap(KappaWeighting.init(rawValue:)),
      sparseLabels: try a.bool("sparse_labels"), regression: try a.bool("regression"), dtype: a.dtype)
  }

  /// `num_classes`, `weightage`, `sparse_labels`, `regression`.
  public var arguments: [String: JSONValue] {
    [
      "num_classes": .int(Int64(numClasses)), "weightage": JSONValue(weightage?.rawValue),
      "sparse_labels": .bool(sparseLabels), "regression": .bool(regression),
    ]
  }

  /// Accumulates one batch.
  ///
  /// - Throws: ``MetricError`` for labels or predictions that are not
  ///   classes, shapes that differ, bad weights; the state is then unchanged.
  public mutating func update(yTrue: Tensor, yPred: Tensor, sampleWeight: Tensor?) throws(MetricError) {
    try state.merge(decisions.batch(yTrue: yTrue, yPred: yPred, sampleWeight: sampleWeight))
  }

  /// Restores a matrix of the same number of classes.
  public mutating func restore(_ state: ConfusionMatrixState) throws(MetricError) {
    try decisions.checkRestorable(state)
    self.state = state
  }

  /// The disagreement weight of true class `i` rated `j`.
  func weight(_ i: Int, _ j: Int) -> Double {
    switch weightage {
    case nil: i == j ? 0 : 1
    case .linear?: Double(abs(i - j))
    case .quadratic?: Double((i - j) * (i - j))
    }
  }

  /// Kappa, or 0 when it is undefined.
  public func result() -> MetricValue {
    guard state.classes == numClasses else { return .scalar(0) }
    let (rows, columns) = state.marginals
    let total = rows.reduce(0, +)
    guard total > 0 else { return .scalar(0) }
    var observed = CompensatedSum()
    var expected = CompensatedSum()
    for i in 0..<numClasses {
      for j in 0..<numClasses {
        let w = weight(i, j)
        observed.add(w * state[i, j])
        expected.add(w * (rows[i] * columns[j] / total))
      }
    }
    guard expected.value != 0 else { return .scalar(0) }
    return .scalar(1 - observed.value / expected.value)
  }
}
