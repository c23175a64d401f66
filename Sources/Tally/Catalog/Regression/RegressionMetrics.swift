//===--- RegressionMetrics.swift ------------------------------------------===//
//
// Keras's `regression_metrics.py`: the metric classes (their per-sample
// functions are in RegressionFunctions.swift).
//
//===----------------------------------------------------------------------===//

import RealModule

//===--- Metric classes ---------------------------------------------------===//

extension MetricFamily {
  /// Keras's regression metrics, and `huber` of `keras.losses`, which
  /// ``MeanMetricWrapper`` can wrap by name.
  public static let regression = MetricFamily(
    "Regression metrics",
    [
      MeanSquaredError.declaration, MeanAbsoluteError.declaration, MeanAbsolutePercentageError.declaration,
      MeanSquaredLogarithmicError.declaration, RootMeanSquaredError.declaration, CosineSimilarity.declaration,
      LogCoshError.declaration, R2Score.declaration,
    ],
    functions: [
      FunctionDeclaration("huber", arguments: [MetricArgument("delta", .number, default: 1)]) {
        (a: MetricArguments) throws(MetricError) in
        let delta = try a.double("delta")
        return { (t, p) throws(MetricError) in try huber(yTrue: t, yPred: p, delta: delta) }
      }
    ])
}

/// The mean squared error.
///
/// Formula: the weighted mean over samples of ``meanSquaredError(yTrue:yPred:)``.
///
/// Keras: `keras.metrics.MeanSquaredError(name="mean_squared_error", dtype=None)`.
///
/// ```swift
/// var m = MeanSquaredError()
/// try m.update(yTrue: [[0, 1], [0, 0]], yPred: [[1, 1], [0, 0]])
/// m.result()   // 0.25
/// ```
///
/// - Complexity: `update` is O(*n*).
public typealias MeanSquaredError = SampleMean<MeanSquaredErrorDefinition>

/// The declaration and fast path of ``MeanSquaredError``: the weighted mean of `mean_squared_error`.
public enum MeanSquaredErrorDefinition: SampleMeanDefinition {
  public static let declaration = MeanSquaredError.declare(
    "mean_squared_error", .elementwise, aliases: ["mse", "MSE"], meanSquaredError(yTrue:yPred:))

  /// Flat float inputs: squared errors summed in place, across cores.
  public static func batchState(yTrue: Tensor, yPred: Tensor, sampleWeight: Tensor?) throws(MetricError) -> MeanState? {
    flatMeanState(yTrue: yTrue, yPred: yPred, sampleWeight: sampleWeight, kind: .squared) { t, p in (t - p) * (t - p) }
  }
}

/// The mean absolute error.
///
/// Formula: the weighted mean over samples of ``meanAbsoluteError(yTrue:yPred:)``.
///
/// Keras: `keras.metrics.MeanAbsoluteError(name="mean_absolute_error", dtype=None)`.
///
/// ```swift
/// var m = MeanAbsoluteError()
/// try m.update(yTrue: [[0, 1], [0, 0]], yPred: [[1, 1], [0, 0]])
/// m.result()   // 0.25
/// ```
///
/// - Complexity: `update` is O(*n*).
public typealias MeanAbsoluteError = SampleMean<MeanAbsoluteErrorDefinition>

/// The declaration and fast path of ``MeanAbsoluteError``: the weighted mean of `mean_absolute_error`.
public enum MeanAbsoluteErrorDefinition: SampleMeanDefinition {
  public static let declaration = MeanAbsoluteError.declare(
    "mean_absolute_error", .elementwise, aliases: ["mae", "MAE"], meanAbsoluteError(yTrue:yPred:))

  /// Flat float inputs: absolute errors summed in place, across cores.
  public static func batchState(yTrue: Tensor, yPred: Tensor, sampleWeight: Tensor?) throws(MetricError) -> MeanState? {
    flatMeanState(yTrue: yTrue, yPred: yPred, sampleWeight: sampleWeight, kind: .absolute) { t, p in abs(t - p) }
  }
}

/// The mean absolute percentage error.
///
/// Formula: the weighted mean of ``meanAbsolutePercentageError(yTrue:yPred:)``; zero targets explode as in Keras.
///
/// Keras: `keras.metrics.MeanAbsolutePercentageError(name="mean_absolute_percentage_error", dtype=None)`.
///
/// ```swift
/// var m = MeanAbsolutePercentageError()
/// try m.update(yTrue: [[2.0, 4.0]], yPred: [[1.0, 5.0]])
/// m.result()   // 37.5
/// ```
///
/// - Complexity: `update` is O(*n*).
public typealias MeanAbsolutePercentageError = SampleMean<MeanAbsolutePercentageErrorDefinition>

/// The declaration of ``MeanAbsolutePercentageError``: the weighted mean of `mean_absolute_percentage_error`.
public enum MeanAbsolutePercentageErrorDefinition: SampleMeanDefinition {
  public static let declaration = MeanAbsolutePercentageError.declare(
    "mean_absolute_percentage_error", .elementwise, aliases: ["mape", "MAPE"], meanAbsolutePercentageError(yTrue:yPred:)
  )
}

/// The mean squared logarithmic error.
///
/// Formula: the weighted mean of ``meanSquaredLogarithmicError(yTrue:yPred:)``.
///
/// Keras: `keras.metrics.MeanSquaredLogarithmicError(name="mean_squared_logarithmic_error", dtype=None)`.
///
/// ```swift
/// var m = MeanSquaredLogarithmicError()
/// try m.update(yTrue: [[0.0, 1.0]], yPred: [[0.0, 1.0]])
/// m.result()   // 0.0
/// ```
///
/// - Complexity: `update` is O(*n*).
public typealias MeanSquaredLogarithmicError = SampleMean<MeanSquaredLogarithmicErrorDefinition>

/// The declaration of ``MeanSquaredLogarithmicError``: the weighted mean of `mean_squared_logarithmic_error`.
public enum MeanSquaredLogarithmicErrorDefinition: SampleMeanDefinition {
  public static let declaration = MeanSquaredLogarithmicError.declare(
    "mean_squared_logarithmic_error", .elementwise, aliases: ["msle", "MSLE"], meanSquaredLogarithmicError(yTrue:yPred:)
  )
}

/// The mean logarithm of the hyperbolic cosine of the error.
///
/// Formula: the weighted mean of ``logCosh(yTrue:yPred:)``. Keras's default name is `"logcosh"`.
///
/// Keras: `keras.metrics.LogCoshError(name="logcosh", dtype=None)`.
///
/// ```swift
/// var m = LogCoshError()
/// try m.update(yTrue: [[0.0, 1.0]], yPred: [[1.0, 1.0]])
/// m.result()   // 0.2168904…
/// ```
///
/// - Complexity: `update` is O(*n*).
public typealias LogCoshError = SampleMean<LogCoshErrorDefinition>

/// The declaration of ``LogCoshError``: the weighted mean of `log_cosh`.
public enum LogCoshErrorDefinition: SampleMeanDefinition {
  public static let declaration = LogCoshError.declare(
    "logcosh", .elementwise, function: "log_cosh", logCosh(yTrue:yPred:))
}

/// The mean cosine similarity between labels and predictions.
///
/// Formula: the weighted mean of ``cosineSimilarity(yTrue:yPred:axis:)``. Deviation: Keras's config omits `axis` (a non-default axis is lost on a round trip); Tally writes `axis` when it is not -1, so that a round trip and the merge check keep it.
///
/// Keras: `keras.metrics.CosineSimilarity(name="cosine_similarity", dtype=None, axis=-1)`.
///
/// ```swift
/// var m = CosineSimilarity()
/// try m.update(yTrue: [[0.0, 1.0], [1.0, 1.0]], yPred: [[1.0, 0.0], [1.0, 1.0]])
/// m.result()   // 0.4999999999999999
/// ```
///
/// - Complexity: `update` is O(*n*).
public struct CosineSimilarity: SampleMeanMetric, DeclaredMetric {
  /// The declaration.
  public static let declaration = MetricDeclaration(
    CosineSimilarity.self, className: "CosineSimilarity", defaultName: "cosine_similarity",
    arguments: [MetricArgument("axis", .integer, default: -1, omittedAtDefault: true)], input: .classAxis)
  /// The name in logs; default `"cosine_similarity"`.
  public var name: String
  /// The Keras dtype name, kept for the configuration.
  public var dtype: String
  /// The axis along which vectors are compared.
  public let axis: Int
  /// The weighted mean's state.
  public var state = MeanState()

  /// A `CosineSimilarity` metric.
  public init(name: String = "cosine_similarity", dtype: String = "float32", axis: Int = -1) {
    self.name = name
    self.dtype = dtype
    self.axis = axis
  }

  /// Builds the metric from checked arguments.
  public init(arguments a: MetricArguments) throws(MetricError) {
    self.init(name: a.name, dtype: a.dtype, axis: try a.int("axis"))
  }

  /// The declared arguments' values.
  public var arguments: [String: JSONValue] {
    ["axis": .int(Int64(axis))]
  }

  /// The per-sample values: cosineSimilarity.
  public func values(yTrue: Tensor, yPred: Tensor) throws(MetricError) -> Tensor {
    try cosineSimilarity(yTrue: yTrue, yPred: yPred, axis: axis)
  }
}

//===--- RootMeanSquaredError ---------------------------------------------===//

/// The square root of the mean squared error.
///
/// Formula: `sqrt(Σ w·mean((y_pred − y_true)²) / Σ w)`: ``Mean``'s rules on
/// the element-wise squared errors, then a square root.
///
/// Keras: `keras.metrics.RootMeanSquaredError(name="root_mean_squared_error",
/// dtype=None)` (a `Mean` subclass; inputs are cast to the metric dtype).
///
/// ```swift
/// var m = RootMeanSquaredError()
/// try m.update(yTrue: [[0, 1], [0, 0]], yPred: [[1, 1], [0, 0]])
/// m.result()   // 0.5
/// ```
///
/// - Complexity: `update` is O(*n*).
public struct RootMeanSquaredError: PredictionMetric, DeclaredMetric {
  /// The declaration.
  public static let declaration = MetricDeclaration(
    RootMeanSquaredError.self, className: "RootMeanSquaredError", defaultName: "root_mean_squared_error",
    input: .elementwise)
  /// The name in logs; default `"root_mean_squared_error"`.
  public var name: String
  /// The Keras dtype name: inputs are cast to it.
  public var dtype: String
  /// The weighted mean of squared errors.
  public private(set) var state = MeanState()

  /// A root mean squared error.
  public init(name: String = "root_mean_squared_error", dtype: String = "float32") {
    self.name = name
    self.dtype = dtype
  }

  /// Builds the metric from checked arguments.
  public init(arguments a: MetricArguments) throws(MetricError) {
    self.init(name: a.name, dtype: a.dtype)
  }

  /// The declared arguments' values.
  public var arguments: [String: JSONValue] {
    [:]
  }

  /// Accumulates the squared errors of one batch.
  public mutating func update(yTrue: Tensor, yPred: Tensor, sampleWeight: Tensor?) throws(MetricError) {
    let castTo: DType = dtype == "float64" ? .float64 : .float32
    let (t, p) = Tensor.squeezeOrExpandToSameRank(yTrue, yPred)
    guard
      let (sq, shape) = Elementwise.map(
        cast(t.doubles(), to: castTo), shape: t.shape, cast(p.doubles(), to: castTo), shape: p.shape,
        { ($1 - $0) * ($1 - $0) })
    else {
      throw .shapeMismatch(
        "root_mean_squared_error: y_true and y_pred cannot be broadcast together; received shapes \(describe(yTrue.shape)) and \(describe(yPred.shape))"
      )
    }
    try state.add(.float64(sq, shape: shape), sampleWeight: sampleWeight)
  }

  /// Assigns `state`, checked (``MeanState/validate()``).
  public mutating func restore(_ state: MeanState) throws(MetricError) {
    try state.validate()
    self.state = state
  }

  /// `sqrt` of the weighted mean squared error.
  public func result() -> MetricValue { .scalar(state.mean.squareRoot()) }
}

//===--- R2Score ----------------------------------------------------------===//

/// How ``R2Score`` aggregates the per-output scores.
public enum R2ClassAggregation: String, Sendable, Codable, CaseIterable {
  /// The plain mean over outputs.
  case uniformAverage = "uniform_average"
  /// The mean weighted by each output's variance.
  case varianceWeightedAverage = "variance_weighted_average"
}

/// Weighted streaming moments of one output: the weight total, the mean and
/// the sum of squared deviations of `y_true` (Welford/West within a batch,
/// Chan when merging), and the residual sum `Σ w·(y − p)²`.
public struct R2Moments: Codable, Sendable, Equatable {
  /// Σ w.
  public var weight = CompensatedSum()
  /// The weighted mean of `y_true`.
  public var mean = DoubleDouble()
  /// Σ w·(y − mean)².
  public var sumOfSquares = 0.0
  /// Σ w·(y − p)².
  public var residual = CompensatedSum()

  /// Chan's parallel combination.
  mutating func merge(_ o: R2Moments) {
    let na = weight.value
    let nb = o.weight.value
    var total = weight
    total.merge(o.weight)
    let n = total.value
    if nb == 0 && o.sumOfSquares == 0 {
      residual.merge(o.residual)
      weight = total
      return
    }
    if na == 0 && sumOfSquares == 0 {
      var r = o.residual
      r.merge(residual)
      self = o
      self.residual = r
      self.weight = total
      return
    }
    let delta = o.mean.minus(mean)
    if n != 0 { mean.add(delta * (nb / n)) }
    sumOfSquares = sumOfSquares + o.sumOfSquares + (n == 0 ? 0 : delta * delta * (na * nb / n))
    weight = total
    residual.merge(o.residual)
  }
}

/// The state of ``R2Score``: moments per output, and the number of samples
/// with a non-zero weight (for the adjusted score).
public struct R2State: Accumulator {
  /// One entry per output column (empty until the first update).
  public var outputs: [R2Moments] = []
  /// Samples with at least one non-zero weight.
  public var sampleCount: Int64 = 0

  /// The empty state.
  public init() {}

  private enum CodingKeys: String, CodingKey {
    case outputs
    case sampleCount = "num_samples"
  }

  /// Chan-merges the moments of every output.
  ///
  /// - Throws: ``MetricError/incompatibleMerge(_:)`` for different numbers
  ///   of outputs.
  public mutating func merge(_ other: R2State) throws(MetricError) {
    if other.outputs.isEmpty && other.sampleCount == 0 { return }
    if outputs.isEmpty && sampleCount == 0 {
      self = other
      return
    }
    guard outputs.count == other.outputs.count else {
      throw .incompatibleMerge("R2Score states of \(outputs.count) and \(other.outputs.count) outputs")
    }
    let c = try Counting.add(sampleCount, other.sampleCount)
    for i in outputs.indices { outputs[i].merge(other.outputs[i]) }
    sampleCount = c
  }
}

/// The coefficient of determination, R², per output or aggregated, with an
/// optional adjustment for the number of regressors.
///
/// Formula: `R² = 1 − Σw(y − p)² / Σw(y − ȳ)²` per output; a constant target
/// gives 0 for an imperfect fit (Keras maps −∞ to 0) and NaN for a perfect
/// one. `uniformAverage` takes the mean over outputs,
/// `varianceWeightedAverage` weights by `Σw(y − ȳ)²`, `nil` returns the
/// vector. With `numRegressors = p > 0` and `n` samples:
/// `1 − (1 − R²)(n − 1)/(n − p − 1)` (plain R² when `p ≥ n − 1`).
///
/// Keras: `keras.metrics.R2Score(class_aggregation="uniform_average",
/// num_regressors=0, name="r2_score", dtype=None)`. Deviations: Keras sums
/// raw moments in float32 (`Σy² − (Σy)²/n`), which cancels catastrophically
/// when the targets share a large offset; Tally keeps Welford/Chan moments
/// in `Double`, so the score is right at any offset and does not depend on
/// how the data were batched (up to rounding). `n` counts samples with a
/// non-zero weight, as Keras's current source does (Keras 3.15.1 counts
/// `N·C` elements, inflating `n` for several outputs).
///
/// ```swift
/// var m = try R2Score()
/// try m.update(yTrue: [[1], [4], [3]], yPred: [[2], [4], [4]])
/// m.result()   // 0.5714285714285714
/// ```
///
/// - Complexity: `update` is O(*n*).
public struct R2Score: PredictionMetric, DeclaredMetric {
  /// The declaration.
  public static let declaration = MetricDeclaration(
    R2Score.self, className: "R2Score", defaultName: "r2_score",
    arguments: [
      MetricArgument(
        "class_aggregation", .choice(R2ClassAggregation.allCases.map(\.rawValue)), default: "uniform_average",
        nullable: true),
      MetricArgument("num_regressors", .integer, default: 0),
    ], input: .samples)
  /// The name in logs; default `"r2_score"`.
  public var name: String
  /// The Keras dtype name, kept for the configuration.
  public var dtype: String
  /// How the outputs are aggregated (`nil`: one score per output).
  public let classAggregation: R2ClassAggregation?
  /// The number of regressors for the adjusted score (0: unadjusted).
  public let numRegressors: Int
  /// The moments.
  public private(set) var state = R2State()

  /// An R² score.
  ///
  /// - Throws: ``MetricError/invalidConfiguration(_:)`` for a negative
  ///   `numRegressors`.
  public init(
    classAggregation: R2ClassAggregation? = .uniformAverage, numRegressors: Int = 0,
    name: String = "r2_score", dtype: String = "float32"
  ) throws(MetricError) {
    guard numRegressors >= 0 else {
      throw .invalidConfiguration(
        "Invalid value for argument `num_regressors`. Expected a value >= 0. Received: num_regressors=\(numRegressors)")
    }
    (self.classAggregation, self.numRegressors) = (classAggregation, numRegressors)
    (self.name, self.dtype) = (name, dtype)
  }

  /// Builds the metric from checked arguments.
  public init(arguments a: MetricArguments) throws(MetricError) {
    try self.init(
      classAggregation: try a.optionalString("class_aggregation").flatMap(R2ClassAggregation.init(rawValue:)),
      numRegressors: try a.int("num_regressors"), name: a.name, dtype: a.dtype)
  }

  /// The declared arguments' values.
  public var arguments: [String: JSONValue] {
    [
      "class_aggregation": JSONValue(classAggregation?.rawValue), "num_regressors": .int(Int64(numRegressors)),
    ]
  }

  /// Accumulates one batch of `(N, C)` targets and predictions.
  ///
  /// - Throws: ``MetricError/shapeMismatch(_:)`` unless both are rank 2 of
  ///   one shape (with the outputs of earlier batches); bad weights throw
  ///   ``MetricError/invalidWeights(_:)``; the state is then unchanged.
  public mutating func update(yTrue: Tensor, yPred: Tensor, sampleWeight: Tensor?) throws(MetricError) {
    let castTo: DType = dtype == "float64" ? .float64 : .float32
    let (t, p) = Tensor.squeezeOrExpandToSameRank(
      try Tensor(cast(yTrue.doubles(), to: castTo), shape: yTrue.shape),
      try Tensor(cast(yPred.doubles(), to: castTo), shape: yPred.shape))
    guard t.rank == 2, p.rank == 2, t.shape == p.shape else {
      throw .shapeMismatch(
        "R2Score expects 2D inputs with shape (batch_size, output_dim). Received input shapes: y_pred.shape=\(describe(yPred.shape)) and y_true.shape=\(describe(yTrue.shape))."
      )
    }
    let (n, c) = (t.shape[0], t.shape[1])
    guard n > 0, c > 0 else { throw .emptyBatch("R2Score: received shape \(describe(t.shape))") }
    if !state.outputs.isEmpty && state.outputs.count != c {
      throw .shapeMismatch(
        "R2Score was built for \(state.outputs.count) outputs; received shape \(describe(yPred.shape))")
    }
    var w = [Double](repeating: 1, count: n * c)
    if let sampleWeight {
      w = try SampleWeights.expanded(sampleWeight, to: t.shape, metric: "R2Score")
    }
    let y = t.doubles()
    let q = p.doubles()
    var batch = R2State()
    batch.outputs = (0..<c).map { j in
      var m = R2Moments()
      var sw = CompensatedSum()
      var swy = CompensatedSum()
      for i in 0..<n {
        sw.add(w[i * c + j])
        let (h, t) = Augmented.product(w[i * c + j], y[i * c + j])
        swy.add(h)
        swy.add(t)
      }
      m.weight = sw
      m.mean = sw.value == 0 ? DoubleDouble() : DoubleDouble(quotient: swy, sw)
      var ss = CompensatedSum()
      for i in 0..<n {
        let k = i * c + j
        let d = m.mean.deviation(of: y[k])
        ss.add(w[k] * d * d)
        m.residual.add(w[k] * (y[k] - q[k]) * (y[k] - q[k]))
      }
      m.sumOfSquares = ss.value
      return m
    }
    batch.sampleCount = Int64((0..<n).filter { i in (0..<c).contains { w[i * c + $0] != 0 } }.count)
    try state.merge(batch)
  }

  /// Restores a saved state.
  public mutating func restore(_ state: R2State) throws(MetricError) {
    self.state = state
  }

  /// The (adjusted) R², aggregated as configured; NaN before any update.
  public func result() -> MetricValue {
    let raw = state.outputs.map { m -> Double in
      let total = m.sumOfSquares
      let r = 1 - m.residual.value / total
      return r.isInfinite ? 0 : r
    }
    var scores: [Double]
    switch classAggregation {
    case .uniformAverage?:
      scores = [raw.isEmpty ? .nan : raw.reduce(0, +) / Double(raw.count)]
    case .varianceWeightedAverage?:
      var num = CompensatedSum()
      var den = CompensatedSum()
      for (m, r) in zip(state.outputs, raw) {
        num.add(m.sumOfSquares * r)
        den.add(m.sumOfSquares)
      }
      scores = [num.value / den.value]
    case nil:
      scores = raw
    }
    if numRegressors != 0 {
      let n = Double(state.sampleCount)
      let p = Double(numRegressors)
      if p < n - 1 {
        scores = scores.map { 1 - (1 - $0) * (n - 1) / (n - p - 1) }
      }
    }
    return classAggregation == nil ? .vector(scores) : .scalar(scores[0])
  }
}
