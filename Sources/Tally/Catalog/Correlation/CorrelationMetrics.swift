//===--- CorrelationMetrics.swift -----------------------------------------===//
//
// Keras's `correlation_metrics.py`: PearsonCorrelation and
// ConcordanceCorrelation, with dataset-level values from mergeable moments.
//
//===----------------------------------------------------------------------===//

import RealModule

//===--- Per-sample functions ---------------------------------------------===//

/// The Pearson correlation along `axis`, per remaining position.
///
/// Formula: both centred, each divided by its population standard
/// deviation, then the mean of the product. A constant line gives NaN, as in
/// Keras.
///
/// Keras: `keras.metrics.pearson_correlation(y_true, y_pred, axis=-1)`.
///
/// ```swift
/// try pearsonCorrelation(yTrue: Tensor([[1.0, 2, 3]]), yPred: Tensor([[2.0, 4, 7]]))
/// // [0.9933993]
/// ```
public func pearsonCorrelation(yTrue: Tensor, yPred: Tensor, axis: Int = -1) throws(MetricError) -> Tensor {
  let (t, p, shape) = try alignedPair(yTrue, yPred, "pearson_correlation")
  let layout = try AxisLayout(shape, axis: axis, "pearson_correlation")
  let v = layout.reduce { idx in CorrelationMoments(t, p, idx).pearson }
  return .float64(v, shape: layout.reducedShape)
}

/// The concordance correlation coefficient along `axis`.
///
/// Formula: `2·cov(y, p) / (var(y) + var(p) + (μ_y − μ_p)² + ε)` with
/// population moments, ε = 1e-7.
///
/// Keras: `keras.metrics.concordance_correlation(y_true, y_pred, axis=-1)`.
///
/// ```swift
/// try concordanceCorrelation(yTrue: Tensor([[1.0, 2, 3]]), yPred: Tensor([[2.0, 4, 7]]))
/// // [0.3225806420]
/// ```
public func concordanceCorrelation(yTrue: Tensor, yPred: Tensor, axis: Int = -1) throws(MetricError)
  -> Tensor
{
  let (t, p, shape) = try alignedPair(yTrue, yPred, "concordance_correlation")
  let layout = try AxisLayout(shape, axis: axis, "concordance_correlation")
  let v = layout.reduce { idx in CorrelationMoments(t, p, idx).concordance }
  return .float64(v, shape: layout.reducedShape)
}

//===--- Mergeable moments ------------------------------------------------===//

/// Weighted second moments of two variables: the weight total, the means,
/// the sums of squared deviations and the sum of cross deviations, merged
/// with Chan's formulas.
public struct CorrelationMoments: Codable, Sendable, Equatable {
  /// Σ w.
  public var weight = 0.0
  /// Weighted mean of `y_true`.
  public var meanTrue = DoubleDouble()
  /// Weighted mean of `y_pred`.
  public var meanPred = DoubleDouble()
  /// Σ w·(y − ȳ)².
  public var m2True = 0.0
  /// Σ w·(p − p̄)².
  public var m2Pred = 0.0
  /// Σ w·(y − ȳ)(p − p̄).
  public var coMoment = 0.0

  /// Empty moments.
  public init() {}

  /// Two-pass moments of the elements at `idx` (weights optional).
  init(_ t: [Double], _ p: [Double], _ idx: some Sequence<Int>, weights: [Double]? = nil) {
    var sw = CompensatedSum()
    var st = CompensatedSum()
    var sp = CompensatedSum()
    for i in idx {
      let w = weights?[i] ?? 1
      sw.add(w)
      // Exact products: w·y loses absolute precision when y has an offset.
      let (th, tt) = Augmented.product(w, t[i])
      st.add(th)
      st.add(tt)
      let (ph, pt) = Augmented.product(w, p[i])
      sp.add(ph)
      sp.add(pt)
    }
    weight = sw.value
    guard weight != 0 else { return }
    meanTrue = DoubleDouble(quotient: st, sw)
    meanPred = DoubleDouble(quotient: sp, sw)
    var a = CompensatedSum()
    var b = CompensatedSum()
    var c = CompensatedSum()
    for i in idx {
      let w = weights?[i] ?? 1
      let dt = meanTrue.deviation(of: t[i])
      let dp = meanPred.deviation(of: p[i])
      a.add(w * dt * dt)
      b.add(w * dp * dp)
      c.add(w * dt * dp)
    }
    m2True = a.value
    m2Pred = b.value
    coMoment = c.value
  }

  /// Chan's parallel combination.
  mutating func merge(_ o: CorrelationMoments) {
    if o.weight == 0 { return }
    if weight == 0 {
      self = o
      return
    }
    let n = weight + o.weight
    let dt = o.meanTrue.minus(meanTrue)
    let dp = o.meanPred.minus(meanPred)
    let f = weight * o.weight / n
    meanTrue.add(dt * (o.weight / n))
    meanPred.add(dp * (o.weight / n))
    m2True += o.m2True + dt * dt * f
    m2Pred += o.m2Pred + dp * dp * f
    coMoment += o.coMoment + dt * dp * f
    weight = n
  }

  /// `cov / (σ_y σ_p)`; NaN for a constant variable.
  public var pearson: Double {
    (coMoment / weight) / ((m2True / weight).squareRoot() * (m2Pred / weight).squareRoot())
  }

  /// Lin's concordance correlation with Keras's ε.
  public var concordance: Double {
    let d = meanTrue.minus(meanPred)
    return 2 * (coMoment / weight) / (m2True / weight + m2Pred / weight + d * d + kerasEpsilon)
  }
}

/// The state of a correlation metric: either the mean of per-sample
/// correlations (correlation along a feature axis, as Keras), or
/// dataset-level moments per column (correlation along the sample axis).
public struct CorrelationState: Accumulator {
  /// Per-sample correlations, averaged.
  public var perSample = MeanState()
  /// Dataset-level moments, one per column.
  public var columns: [CorrelationMoments] = []

  /// The empty state.
  public init() {}

  /// Merges both parts.
  ///
  /// - Throws: ``MetricError/incompatibleMerge(_:)`` for different column
  ///   counts or a mix of the two modes.
  public mutating func merge(_ other: CorrelationState) throws(MetricError) {
    if other.columns.isEmpty && other.perSample == MeanState() { return }
    if columns.isEmpty && perSample == MeanState() {
      self = other
      return
    }
    guard columns.count == other.columns.count else {
      throw .incompatibleMerge(
        "correlation states with \(columns.count) and \(other.columns.count) dataset-level columns")
    }
    var ps = perSample
    try ps.merge(other.perSample)
    for i in columns.indices { columns[i].merge(other.columns[i]) }
    perSample = ps
  }
}

/// The shared update of the correlation metrics.
func updateCorrelation(
  _ state: inout CorrelationState, yTrue: Tensor, yPred: Tensor, sampleWeight: Tensor?, axis: Int,
  function: String, perSample: (Tensor, Tensor) throws(MetricError) -> Tensor
) throws(MetricError) {
  let (t, p, shape) = try alignedPair(yTrue, yPred, function)
  let layout = try AxisLayout(shape, axis: axis, function)
  guard layout.axis == 0 else {
    // Correlation within each sample: Keras's per-sample values, averaged.
    guard state.columns.isEmpty else {
      throw .invalidValue(
        "\(function): this metric holds dataset-level moments; received per-sample inputs of shape \(describe(shape))")
    }
    var s = state.perSample
    try s.add(try perSample(yTrue, yPred), sampleWeight: sampleWeight)
    state.perSample = s
    return
  }
  // Correlation along the sample axis: dataset-level moments per column.
  guard state.perSample == MeanState() else {
    throw .invalidValue(
      "\(function): this metric holds per-sample correlations; received inputs of shape \(describe(shape))")
  }
  guard layout.length > 0 else { throw .emptyBatch("\(function): received shape \(describe(shape))") }
  var w: [Double]? = nil
  if let sampleWeight {
    w = try SampleWeights.expanded(sampleWeight, to: shape, metric: function)
  }
  var batch: [CorrelationMoments] = []
  layout.forEachLine { _, idx in batch.append(CorrelationMoments(t, p, idx, weights: w)) }
  if !state.columns.isEmpty && state.columns.count != batch.count {
    throw .shapeMismatch("\(function): expected \(state.columns.count) columns; received shape \(describe(shape))")
  }
  if state.columns.isEmpty {
    state.columns = batch
  } else {
    for i in batch.indices { state.columns[i].merge(batch[i]) }
  }
}

/// The result of a correlation state.
func correlationResult(_ s: CorrelationState, _ value: (CorrelationMoments) -> Double) -> MetricValue {
  if s.columns.isEmpty { return .scalar(s.perSample.mean) }
  var total = CompensatedSum()
  for c in s.columns { total.add(value(c)) }
  return .scalar(total.value / Double(s.columns.count))
}

//===--- Metric classes ---------------------------------------------------===//

extension MetricFamily {
  /// Keras's correlation metrics.
  public static let correlation = MetricFamily(
    "Correlation metrics", [PearsonCorrelation.declaration, ConcordanceCorrelation.declaration])
}

/// The choice that distinguishes ``PearsonCorrelation`` from
/// ``ConcordanceCorrelation``: the coefficient, per sample and from moments.
public protocol CorrelationCoefficient: Sendable {
  /// The metric's declaration.
  static var declaration: MetricDeclaration { get }
  /// The per-sample coefficient along `axis` (Keras's function).
  static func perSample(yTrue: Tensor, yPred: Tensor, axis: Int) throws(MetricError) -> Tensor
  /// The coefficient of dataset-level moments.
  static func value(_ moments: CorrelationMoments) -> Double
}

/// A correlation metric: ``PearsonCorrelation`` or
/// ``ConcordanceCorrelation``, which are typealiases of it.
///
/// - Complexity: `update` is O(*n*).
public struct Correlation<Coefficient: CorrelationCoefficient>: PredictionMetric, DeclaredMetric {
  /// The declaration.
  public static var declaration: MetricDeclaration { Coefficient.declaration }
  /// The name in logs.
  public var name: String
  /// The Keras dtype name, kept for the configuration.
  public var dtype: String
  /// The correlation axis.
  public let axis: Int
  /// Per-sample means or dataset-level moments.
  public private(set) var state = CorrelationState()

  /// A correlation along `axis`, named `name` (default: Keras's).
  public init(name: String? = nil, dtype: String = "float32", axis: Int = -1) {
    self.name = name ?? Coefficient.declaration.defaultName
    self.dtype = dtype
    self.axis = axis
  }

  /// Builds the metric from checked arguments.
  public init(arguments a: MetricArguments) throws(MetricError) {
    self.init(name: a.name, dtype: a.dtype, axis: try a.int("axis"))
  }

  /// `axis`.
  public var arguments: [String: JSONValue] { ["axis": .int(Int64(axis))] }

  /// Accumulates one batch.
  public mutating func update(yTrue: Tensor, yPred: Tensor, sampleWeight: Tensor?) throws(MetricError) {
    let axis = axis
    var s = state
    try updateCorrelation(
      &s, yTrue: yTrue, yPred: yPred, sampleWeight: sampleWeight, axis: axis,
      function: Coefficient.declaration.function?.name ?? name
    ) { (t: Tensor, p: Tensor) throws(MetricError) -> Tensor in
      try Coefficient.perSample(yTrue: t, yPred: p, axis: axis)
    }
    state = s
  }

  /// Assigns `state`: any mix of per-sample means and column moments reads
  /// as a number.
  public mutating func restore(_ state: CorrelationState) throws(MetricError) {
    self.state = state
  }

  /// The correlation (0 before any update).
  public func result() -> MetricValue { correlationResult(state, Coefficient.value) }
}

/// The correlation axis: the one argument of both correlations and their
/// functions.
let correlationArguments = [MetricArgument("axis", .integer, default: -1)]

/// The Pearson correlation between labels and predictions.
///
/// Formula: when the correlation axis is a feature axis (rank-2 inputs with
/// `axis: -1`), the weighted mean over samples of
/// ``pearsonCorrelation(yTrue:yPred:axis:)``, as Keras. When it is the
/// sample axis (rank-1 inputs, or `axis: 0`), the dataset-level correlation
/// `C_xy / sqrt(M2_x · M2_y)` from moments accumulated with Welford/Chan
/// (per column, then averaged), weighted per sample by `sampleWeight`.
///
/// Keras: `keras.metrics.PearsonCorrelation(name="pearson_correlation",
/// dtype=None, axis=-1)`. Deviation: for correlation along the sample axis
/// Keras averages per-batch correlations, so its result depends on how the
/// data were batched; Tally's equals Keras's for a single batch and is the
/// correlation of the whole dataset for many.
///
/// ```swift
/// var m = PearsonCorrelation()
/// try m.update(yTrue: [1.0, 2], yPred: [2.0, 4])
/// try m.update(yTrue: [3.0], yPred: [7.0])
/// m.result()   // 0.9933993… (the correlation of all three points)
/// ```
///
/// - Complexity: `update` is O(*n*).
public typealias PearsonCorrelation = Correlation<PearsonCoefficient>

/// The declaration of ``PearsonCorrelation``.
public enum PearsonCoefficient: CorrelationCoefficient {
  public static let declaration = MetricDeclaration(
    PearsonCorrelation.self, className: "PearsonCorrelation", defaultName: "pearson_correlation",
    arguments: correlationArguments, input: .samples,
    function: FunctionDeclaration("pearson_correlation", arguments: correlationArguments) {
      (a: MetricArguments) throws(MetricError) in
      let axis = try a.int("axis")
      return { (t, p) throws(MetricError) in try pearsonCorrelation(yTrue: t, yPred: p, axis: axis) }
    })

  /// ``pearsonCorrelation(yTrue:yPred:axis:)``.
  public static func perSample(yTrue: Tensor, yPred: Tensor, axis: Int) throws(MetricError) -> Tensor {
    try pearsonCorrelation(yTrue: yTrue, yPred: yPred, axis: axis)
  }

  /// `C_xy / sqrt(M2_x · M2_y)`.
  public static func value(_ moments: CorrelationMoments) -> Double { moments.pearson }
}

/// Lin's concordance correlation coefficient between labels and
/// predictions.
///
/// Formula: as ``PearsonCorrelation``, with
/// ``concordanceCorrelation(yTrue:yPred:axis:)`` per sample, or
/// `2·C_xy/n / (M2_x/n + M2_y/n + (μ_x − μ_y)² + ε)` from dataset-level
/// moments along the sample axis.
///
/// Keras: `keras.metrics.ConcordanceCorrelation(
/// name="concordance_correlation", dtype=None, axis=-1)`; deviation as
/// ``PearsonCorrelation``.
///
/// ```swift
/// var m = ConcordanceCorrelation()
/// try m.update(yTrue: [1.0, 2, 3], yPred: [2.0, 4, 7])
/// m.result()   // 0.3225806420…
/// ```
///
/// - Complexity: `update` is O(*n*).
public typealias ConcordanceCorrelation = Correlation<ConcordanceCoefficient>

/// The declaration of ``ConcordanceCorrelation``.
public enum ConcordanceCoefficient: CorrelationCoefficient {
  public static let declaration = MetricDeclaration(
    ConcordanceCorrelation.self, className: "ConcordanceCorrelation", defaultName: "concordance_correlation",
    arguments: correlationArguments, input: .samples,
    function: FunctionDeclaration("concordance_correlation", arguments: correlationArguments) {
      (a: MetricArguments) throws(MetricError) in
      let axis = try a.int("axis")
      return { (t, p) throws(MetricError) in try concordanceCorrelation(yTrue: t, yPred: p, axis: axis) }
    })

  /// ``concordanceCorrelation(yTrue:yPred:axis:)``.
  public static func perSample(yTrue: Tensor, yPred: Tensor, axis: Int) throws(MetricError) -> Tensor {
    try concordanceCorrelation(yTrue: yTrue, yPred: yPred, axis: axis)
  }

  /// Lin's coefficient from moments.
  public static func value(_ moments: CorrelationMoments) -> Double { moments.concordance }
}
