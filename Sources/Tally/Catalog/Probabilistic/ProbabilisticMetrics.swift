//===--- ProbabilisticMetrics.swift ---------------------------------------===//
//
// Keras's `probabilistic_metrics.py`: the metric classes (the per-sample
// cross-entropies they average are in ProbabilisticFunctions.swift).
//
//===----------------------------------------------------------------------===//

import RealModule

//===--- Metric classes ---------------------------------------------------===//

extension MetricFamily {
  /// Keras's probabilistic metrics, and the focal cross-entropies of
  /// `keras.losses`, which ``MeanMetricWrapper`` can wrap by name.
  public static let probabilistic = MetricFamily(
    "Probabilistic metrics",
    [
      BinaryCrossentropy.declaration, CategoricalCrossentropy.declaration,
      SparseCategoricalCrossentropy.declaration, KLDivergence.declaration, Poisson.declaration,
    ],
    functions: [
      FunctionDeclaration(
        "binary_focal_crossentropy",
        arguments: [MetricArgument("apply_class_balancing", .bool, default: false)] + focalArguments
      ) { (a: MetricArguments) throws(MetricError) in
        let (balance, alpha, gamma) = (
          try a.bool("apply_class_balancing"), try a.double("alpha"), try a.double("gamma")
        )
        let (logits, ls, axis) = (try a.bool("from_logits"), try a.double("label_smoothing"), try a.int("axis"))
        return { (t, p) throws(MetricError) in
          try binaryFocalCrossentropy(
            yTrue: t, yPred: p, applyClassBalancing: balance, alpha: alpha, gamma: gamma, fromLogits: logits,
            labelSmoothing: ls, axis: axis)
        }
      },
      FunctionDeclaration("categorical_focal_crossentropy", arguments: focalArguments) {
        (a: MetricArguments) throws(MetricError) in
        let (alpha, gamma) = (try a.double("alpha"), try a.double("gamma"))
        let (logits, ls, axis) = (try a.bool("from_logits"), try a.double("label_smoothing"), try a.int("axis"))
        return { (t, p) throws(MetricError) in
          try categoricalFocalCrossentropy(
            yTrue: t, yPred: p, alpha: alpha, gamma: gamma, fromLogits: logits, labelSmoothing: ls, axis: axis)
        }
      },
    ])
}

/// `from_logits`, `label_smoothing`, `axis`: the cross-entropies' arguments.
let crossentropyArguments = [
  MetricArgument("from_logits", .bool, default: false), MetricArgument("label_smoothing", .number, default: 0),
  MetricArgument("axis", .integer, default: -1),
]

/// `from_logits`, `ignore_class`, `axis`.
let sparseCrossentropyArguments = [
  MetricArgument("from_logits", .bool, default: false), MetricArgument("ignore_class", .integer, default: .null),
  MetricArgument("axis", .integer, default: -1),
]

/// The focal cross-entropies' `alpha` and `gamma`, then the cross-entropy
/// arguments.
let focalArguments =
  [MetricArgument("alpha", .number, default: 0.25), MetricArgument("gamma", .number, default: 2)]
  + crossentropyArguments

/// The mean binary cross-entropy between labels and predicted probabilities (or logits).
///
/// Formula: the weighted mean of ``binaryCrossentropy(yTrue:yPred:fromLogits:labelSmoothing:axis:)``. Logits use the stable log-sigmoid form.
///
/// Keras: `keras.metrics.BinaryCrossentropy(name="binary_crossentropy", dtype=None, from_logits=False, label_smoothing=0)`.
///
/// ```swift
/// var m = BinaryCrossentropy()
/// try m.update(yTrue: [[0, 1], [0, 0]], yPred: [[0.6, 0.4], [0.4, 0.6]])
/// m.result()   // 0.8149245…
/// ```
///
/// - Complexity: `update` is O(*n*).
public struct BinaryCrossentropy: SampleMeanMetric, DeclaredMetric {
  /// The declaration.
  public static let declaration = MetricDeclaration(
    BinaryCrossentropy.self, className: "BinaryCrossentropy", defaultName: "binary_crossentropy",
    arguments: [
      MetricArgument("from_logits", .bool, default: false), MetricArgument("label_smoothing", .number, default: 0),
    ], aliases: ["bce", "BCE"], input: .elementwise,
    function: FunctionDeclaration("binary_crossentropy", arguments: crossentropyArguments) {
      (a: MetricArguments) throws(MetricError) in
      let (logits, ls, axis) = (try a.bool("from_logits"), try a.double("label_smoothing"), try a.int("axis"))
      return { (t, p) throws(MetricError) in
        try binaryCrossentropy(yTrue: t, yPred: p, fromLogits: logits, labelSmoothing: ls, axis: axis)
      }
    })
  /// The name in logs; default `"binary_crossentropy"`.
  public var name: String
  /// The Keras dtype name, kept for the configuration.
  public var dtype: String
  /// Whether `yPred` holds logits.
  public let fromLogits: Bool
  /// Label smoothing in [0, 1].
  public let labelSmoothing: Double
  /// The weighted mean's state.
  public var state = MeanState()

  /// A `BinaryCrossentropy` metric.
  public init(
    name: String = "binary_crossentropy", dtype: String = "float32", fromLogits: Bool = false,
    labelSmoothing: Double = 0
  ) {
    (self.name, self.dtype) = (name, dtype)
    (self.fromLogits, self.labelSmoothing) = (fromLogits, labelSmoothing)
  }

  /// Builds the metric from checked arguments.
  public init(arguments a: MetricArguments) throws(MetricError) {
    self.init(
      name: a.name, dtype: a.dtype, fromLogits: try a.bool("from_logits"),
      labelSmoothing: try a.double("label_smoothing"))
  }

  /// The declared arguments' values.
  public var arguments: [String: JSONValue] {
    ["from_logits": .bool(fromLogits), "label_smoothing": .double(labelSmoothing)]
  }

  /// The per-sample values: binaryCrossentropy.
  public func values(yTrue: Tensor, yPred: Tensor) throws(MetricError) -> Tensor {
    try binaryCrossentropy(yTrue: yTrue, yPred: yPred, fromLogits: fromLogits, labelSmoothing: labelSmoothing)
  }
}

/// The mean categorical cross-entropy between one-hot labels and predicted probabilities (or logits).
///
/// Formula: the weighted mean of ``categoricalCrossentropy(yTrue:yPred:fromLogits:labelSmoothing:axis:)``.
///
/// Keras: `keras.metrics.CategoricalCrossentropy(name="categorical_crossentropy", dtype=None, from_logits=False, label_smoothing=0, axis=-1)`.
///
/// ```swift
/// var m = CategoricalCrossentropy()
/// try m.update(yTrue: [[0, 1, 0], [0, 0, 1]], yPred: [[0.05, 0.95, 0], [0.1, 0.8, 0.1]])
/// m.result()   // 1.1769392…
/// ```
///
/// - Complexity: `update` is O(*n*).
public struct CategoricalCrossentropy: SampleMeanMetric, DeclaredMetric {
  /// The declaration.
  public static let declaration = MetricDeclaration(
    CategoricalCrossentropy.self, className: "CategoricalCrossentropy", defaultName: "categorical_crossentropy",
    arguments: crossentropyArguments, input: .classAxis,
    function: FunctionDeclaration("categorical_crossentropy", arguments: crossentropyArguments) {
      (a: MetricArguments) throws(MetricError) in
      let (logits, ls, axis) = (try a.bool("from_logits"), try a.double("label_smoothing"), try a.int("axis"))
      return { (t, p) throws(MetricError) in
        try categoricalCrossentropy(yTrue: t, yPred: p, fromLogits: logits, labelSmoothing: ls, axis: axis)
      }
    })
  /// The name in logs; default `"categorical_crossentropy"`.
  public var name: String
  /// The Keras dtype name, kept for the configuration.
  public var dtype: String
  /// Whether `yPred` holds logits.
  public let fromLogits: Bool
  /// Label smoothing in [0, 1].
  public let labelSmoothing: Double
  /// The class axis.
  public let axis: Int
  /// The weighted mean's state.
  public var state = MeanState()

  /// A `CategoricalCrossentropy` metric.
  public init(
    name: String = "categorical_crossentropy", dtype: String = "float32", fromLogits: Bool = false,
    labelSmoothing: Double = 0, axis: Int = -1
  ) {
    (self.name, self.dtype, self.fromLogits) = (name, dtype, fromLogits)
    (self.labelSmoothing, self.axis) = (labelSmoothing, axis)
  }

  /// Builds the metric from checked arguments.
  public init(arguments a: MetricArguments) throws(MetricError) {
    self.init(
      name: a.name, dtype: a.dtype, fromLogits: try a.bool("from_logits"),
      labelSmoothing: try a.double("label_smoothing"),
      axis: try a.int("axis"))
  }

  /// The declared arguments' values.
  public var arguments: [String: JSONValue] {
    [
      "from_logits": .bool(fromLogits), "label_smoothing": .double(labelSmoothing), "axis": .int(Int64(axis)),
    ]
  }

  /// The per-sample values: categoricalCrossentropy.
  public func values(yTrue: Tensor, yPred: Tensor) throws(MetricError) -> Tensor {
    try categoricalCrossentropy(
      yTrue: yTrue, yPred: yPred, fromLogits: fromLogits, labelSmoothing: labelSmoothing, axis: axis)
  }
}

/// The mean Kullback–Leibler divergence between label and predicted distributions.
///
/// Formula: the weighted mean of ``klDivergence(yTrue:yPred:)``.
///
/// Keras: `keras.metrics.KLDivergence(name="kl_divergence", dtype=None)`.
///
/// ```swift
/// var m = KLDivergence()
/// try m.update(yTrue: [[0, 1], [0, 0]], yPred: [[0.6, 0.4], [0.4, 0.6]])
/// m.result()   // 0.4581430451…
/// ```
///
/// - Complexity: `update` is O(*n*).
public typealias KLDivergence = SampleMean<KLDivergenceDefinition>

/// The declaration of ``KLDivergence``: the weighted mean of `kl_divergence`.
public enum KLDivergenceDefinition: SampleMeanDefinition {
  public static let declaration = KLDivergence.declare("kl_divergence", .classAxis, klDivergence(yTrue:yPred:))
}

/// The mean Poisson loss.
///
/// Formula: the weighted mean of ``poisson(yTrue:yPred:)``.
///
/// Keras: `keras.metrics.Poisson(name="poisson", dtype=None)`.
///
/// ```swift
/// var m = Poisson()
/// try m.update(yTrue: [[0, 1], [0, 0]], yPred: [[1, 1], [0, 0]])
/// m.result()   // 0.49999997…
/// ```
///
/// - Complexity: `update` is O(*n*).
public typealias Poisson = SampleMean<PoissonDefinition>

/// The declaration of ``Poisson``: the weighted mean of `poisson`.
public enum PoissonDefinition: SampleMeanDefinition {
  public static let declaration = Poisson.declare("poisson", .elementwise, poisson(yTrue:yPred:))
}

/// The mean sparse categorical cross-entropy between integer labels and
/// predicted probabilities (or logits).
///
/// Formula: the weighted mean of
/// ``sparseCategoricalCrossentropy(yTrue:yPred:fromLogits:ignoreClass:axis:)``.
/// With `ignoreClass`, those positions give 0; as in Keras, they still count
/// as samples unless a `sampleWeight` is passed, in which case their weight
/// is set to 0 (Keras attaches a mask that only acts on weights).
///
/// Keras: `keras.metrics.SparseCategoricalCrossentropy(
/// name="sparse_categorical_crossentropy", dtype=None, from_logits=False,
/// ignore_class=None, axis=-1)`. Deviation: labels outside `[0, C)` throw.
///
/// ```swift
/// var m = SparseCategoricalCrossentropy()
/// try m.update(yTrue: [1, 2], yPred: [[0.05, 0.95, 0], [0.1, 0.8, 0.1]])
/// m.result()   // 1.1769392…
/// ```
///
/// - Complexity: `update` is O(*n*).
public struct SparseCategoricalCrossentropy: PredictionMetric, DeclaredMetric {
  /// The declaration.
  public static let declaration = MetricDeclaration(
    SparseCategoricalCrossentropy.self, className: "SparseCategoricalCrossentropy",
    defaultName: "sparse_categorical_crossentropy", arguments: sparseCrossentropyArguments, input: .classAxis,
    function: FunctionDeclaration("sparse_categorical_crossentropy", arguments: sparseCrossentropyArguments) {
      (a: MetricArguments) throws(MetricError) in
      let (logits, ignore, axis) = (try a.bool("from_logits"), try a.optionalInt("ignore_class"), try a.int("axis"))
      return { (t, p) throws(MetricError) in
        try sparseCategoricalCrossentropy(yTrue: t, yPred: p, fromLogits: logits, ignoreClass: ignore, axis: axis)
      }
    })
  /// The name in logs; default `"sparse_categorical_crossentropy"`.
  public var name: String
  /// The Keras dtype name, kept for the configuration.
  public var dtype: String
  /// Whether `yPred` holds logits.
  public let fromLogits: Bool
  /// A label to ignore.
  public let ignoreClass: Int?
  /// The class axis.
  public let axis: Int
  /// The weighted mean's state.
  public private(set) var state = MeanState()

  /// A sparse categorical cross-entropy.
  public init(
    name: String = "sparse_categorical_crossentropy", dtype: String = "float32",
    fromLogits: Bool = false, ignoreClass: Int? = nil, axis: Int = -1
  ) {
    (self.name, self.dtype, self.fromLogits) = (name, dtype, fromLogits)
    (self.ignoreClass, self.axis) = (ignoreClass, axis)
  }

  /// Builds the metric from checked arguments.
  public init(arguments a: MetricArguments) throws(MetricError) {
    self.init(
      name: a.name, dtype: a.dtype, fromLogits: try a.bool("from_logits"),
      ignoreClass: try a.optionalInt("ignore_class"),
      axis: try a.int("axis"))
  }

  /// The declared arguments' values.
  public var arguments: [String: JSONValue] {
    ["from_logits": .bool(fromLogits), "ignore_class": JSONValue(ignoreClass), "axis": .int(Int64(axis))]
  }

  /// Accumulates one batch.
  public mutating func update(yTrue: Tensor, yPred: Tensor, sampleWeight: Tensor?) throws(MetricError) {
    if !fromLogits, ignoreClass == nil, axis == -1 || axis == 1, !isIntegerDType(dtype),
      let batch = try sparseCrossentropyState(yTrue: yTrue, yPred: yPred, sampleWeight: sampleWeight)
    {
      try state.merge(batch)
      return
    }
    let (values, mask) = try sparseCategoricalCrossentropyWithMask(
      yTrue: yTrue, yPred: yPred, fromLogits: fromLogits, ignoreClass: ignoreClass, axis: axis)
    var weight = sampleWeight
    if let mask, let sampleWeight {
      // Keras's apply_mask: the mask multiplies a given weight.
      let w = try SampleWeights.checked(sampleWeight)
      let (ms, ws) = ShapeRules.squeezeOrExpandToSameRank(values.shape, sampleWeight.shape)
      guard let (product, shape) = Elementwise.map(mask, shape: ms, w, shape: ws, *) else {
        throw .invalidWeights(
          "sparse_categorical_crossentropy: sample_weight cannot be broadcast to the values; received sample_weight of shape \(describe(sampleWeight.shape)) and values of shape \(describe(values.shape))"
        )
      }
      weight = .float64(product, shape: shape)
    }
    try state.add(values, sampleWeight: weight, integerDType: isIntegerDType(dtype))
  }

  /// Assigns `state`, checked (``MeanState/validate()``).
  public mutating func restore(_ state: MeanState) throws(MetricError) {
    try state.validate()
    self.state = state
  }

  /// The weighted mean cross-entropy.
  public func result() -> MetricValue { .scalar(state.mean) }
}
