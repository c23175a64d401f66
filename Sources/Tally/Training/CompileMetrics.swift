//===--- CompileMetrics.swift ---------------------------------------------===//
//
// Keras's `CompileMetrics`: the metrics of `model.compile(metrics: ...,
// weighted_metrics: ...)`, built from identifiers, named, updated and reset
// by a training loop.
//
//===----------------------------------------------------------------------===//

/// One entry of a `metrics` list: what Keras's `compile(metrics=[...])`
/// accepts.
///
/// ```swift
/// let specs: [MetricSpec] = ["accuracy", "mse", .metric(try AUC(numThresholds: 500)),
///                            .config(try KerasConfig(json: #"{"class_name": "Recall", "config": {}}"#)),
///                            .function(.meanAbsoluteError)]
/// specs.count   // 5
/// ```
public enum MetricSpec: Sendable, ExpressibleByStringLiteral {
  /// A Keras identifier (`"acc"`, `"mse"`, `"AUC"`,
  /// `"sparse_top_k_categorical_accuracy"`); `"accuracy"` and `"acc"` are
  /// resolved from the shapes, as Keras does.
  case identifier(String)
  /// A serialized Keras metric.
  case config(KerasConfig)
  /// A metric value.
  case metric(any PredictionMetric)
  /// A per-sample function, wrapped in ``MeanMetricWrapper``.
  case function(SampleFunction)

  /// An identifier.
  public init(stringLiteral value: String) { self = .identifier(value) }
}

/// A named metric of one output.
struct CompiledEntry: Sendable {
  var output: String?
  var weighted: Bool
  var metric: any PredictionMetric
}

/// The compiled metrics of a model: Keras's `CompileMetrics`, for any Swift
/// training loop.
///
/// Build it from the lists given to `compile`; update it with every batch's
/// labels and predictions; read ``results(prefix:)`` for the logs; reset it
/// at the start of each epoch and evaluation. `metrics` are updated without
/// sample weights and `weightedMetrics` with them, as in Keras 3.
///
/// Names follow Keras: a string identifier is the metric's name verbatim
/// (`"mse"` logs as `mse`), other entries keep their own name; with several
/// outputs names get the output prefix (`output_1_accuracy`); duplicate names
/// get `_1`, `_2`, and a weighted metric whose name is taken becomes
/// `weighted_<name>`.
///
/// `"accuracy"` and `"acc"` (any case) pick the accuracy from the first
/// batch's shapes, exactly as Keras does, pitfalls included: a last
/// dimension of 1 in `yPred` gives ``BinaryAccuracy``; labels of lower rank,
/// or a last label dimension of 1 against several classes, give
/// ``SparseCategoricalAccuracy``; anything else ``CategoricalAccuracy``,
/// including multi-label sigmoid outputs and rank-1 predictions (whose last
/// dimension is the batch).
///
/// ```swift
/// var metrics = CompileMetrics(metrics: ["accuracy", "mse"])
/// try metrics.update(yTrue: [[0, 1], [1, 0]], yPred: [[0.2, 0.8], [0.4, 0.6]])
/// metrics.results().map(\.name)                // ["accuracy", "mse"]
/// metrics.results().compactMap(\.value.scalar)  // [0.5, 0.2]
/// ```
public struct CompileMetrics: Sendable {
  let specs: [String?: [MetricSpec]]
  let weightedSpecs: [String?: [MetricSpec]]
  let outputNames: [String?]
  var entries: [CompiledEntry] = []
  /// Whether the first update has built the metrics.
  public private(set) var isBuilt = false

  /// The metrics of a single-output model.
  public init(metrics: [MetricSpec] = [], weightedMetrics: [MetricSpec] = []) {
    specs = [nil: metrics]
    weightedSpecs = [nil: weightedMetrics]
    outputNames = [nil]
  }

  /// The metrics of a multi-output model, by output name (outputs without
  /// an entry get no metrics), in the order of `outputNames`.
  public init(
    metrics: [String: [MetricSpec]], weightedMetrics: [String: [MetricSpec]] = [:], outputNames: [String]
  ) {
    specs = Dictionary(uniqueKeysWithValues: metrics.map { ($0.key as String?, $0.value) })
    weightedSpecs = Dictionary(uniqueKeysWithValues: weightedMetrics.map { ($0.key as String?, $0.value) })
    self.outputNames = outputNames
  }

  /// Resolves one spec against a batch's shapes, as Keras's `get_metric`
  /// does in `compile`: `"accuracy"`/`"acc"` are chosen from the shapes, a
  /// string identifier becomes the metric's name, a function is wrapped.
  ///
  /// - Throws: ``MetricError/invalidConfiguration(_:)`` for an unknown
  ///   identifier, a config the class rejects, or a metric of values.
  public static func resolve(_ spec: MetricSpec, yTrue: Tensor, yPred: Tensor) throws(MetricError)
    -> any PredictionMetric
  {
    switch spec {
    case .identifier(let id):
      if ["accuracy", "acc"].contains(id.lowercased()) {
        // Keras's is_binary_or_sparse_categorical, on static shapes: the
        // last dimension of a rank-1 tensor is the (unknown) batch.
        let trueLast: Int? = yTrue.rank >= 2 ? yTrue.shape.last : nil
        let predLast: Int? = yPred.rank >= 2 ? yPred.shape.last : nil
        if predLast == 1 { return BinaryAccuracy(name: id) }
        let sparse = yTrue.rank < yPred.rank || (trueLast == 1 && (predLast ?? 0) > 1)
        if sparse { return SparseCategoricalAccuracy(name: id) }
        return CategoricalAccuracy(name: id)
      }
      let m = try MetricRegistry.get(id)
      guard var p = m as? any PredictionMetric else {
        throw .invalidConfiguration(
          "\"\(id)\" names \(type(of: m).className), which takes values, not labels and predictions")
      }
      p.name = id
      return p
    case .config(let config):
      let m = try MetricRegistry.deserialize(config)
      guard let p = m as? any PredictionMetric else {
        throw .invalidConfiguration("\(config.className) takes values, not labels and predictions")
      }
      return p
    case .metric(let m):
      return m
    case .function(let f):
      return MeanMetricWrapper(fn: f, name: f.name)
    }
  }

  /// Builds the metrics from the first batch (Keras builds lazily too).
  mutating func build(yTrue: [String?: Tensor], yPred: [String?: Tensor]) throws(MetricError) {
    var built: [CompiledEntry] = []
    for weighted in [false, true] {
      for output in outputNames {
        guard let list = (weighted ? weightedSpecs : specs)[output], !list.isEmpty else { continue }
        guard let t = yTrue[output], let p = yPred[output] else {
          throw .invalidValue("no labels or predictions for output \(output ?? "(single)")")
        }
        for spec in list {
          built.append(
            CompiledEntry(output: output, weighted: weighted, metric: try Self.resolve(spec, yTrue: t, yPred: p)))
        }
      }
    }
    entries = built
    isBuilt = true
  }

  /// Updates every metric with one batch of a single-output model.
  ///
  /// - Throws: the first metric's error; then no metric is updated.
  public mutating func update(yTrue: Tensor, yPred: Tensor, sampleWeight: Tensor? = nil) throws(MetricError) {
    try update(
      outputs: [nil: yTrue], predictions: [nil: yPred], sampleWeights: sampleWeight.map { [nil: $0] })
  }

  /// Updates every metric with one batch given as nested arrays.
  public mutating func update<T: TensorConvertible, P: TensorConvertible>(yTrue: T, yPred: P)
    throws(MetricError)
  {
    try update(yTrue: try Tensor(yTrue), yPred: try Tensor(yPred), sampleWeight: nil)
  }

  /// Updates every metric with one weighted batch given as nested arrays.
  public mutating func update<T: TensorConvertible, P: TensorConvertible, W: TensorConvertible>(
    yTrue: T, yPred: P, sampleWeight: W
  ) throws(MetricError) {
    try update(yTrue: try Tensor(yTrue), yPred: try Tensor(yPred), sampleWeight: try Tensor(sampleWeight))
  }

  /// Updates every metric with one batch of a multi-output model. With
  /// fewer weight arrays than outputs, the first is used for every output
  /// (as Keras does).
  public mutating func update(
    yTrue: [String: Tensor], yPred: [String: Tensor], sampleWeight: [String: Tensor]? = nil
  ) throws(MetricError) {
    func lift(_ d: [String: Tensor]) -> [String?: Tensor] {
      Dictionary(uniqueKeysWithValues: d.map { ($0.key as String?, $0.value) })
    }
    try update(outputs: lift(yTrue), predictions: lift(yPred), sampleWeights: sampleWeight.map(lift))
  }

  mutating func update(
    outputs: [String?: Tensor], predictions: [String?: Tensor], sampleWeights: [String?: Tensor]?
  ) throws(MetricError) {
    var next = self
    if !next.isBuilt { try next.build(yTrue: outputs, yPred: predictions) }
    let firstWeight = sampleWeights.flatMap { w in outputNames.lazy.compactMap { w[$0] }.first }
    for i in next.entries.indices {
      let e = next.entries[i]
      guard let t = outputs[e.output], let p = predictions[e.output] else {
        throw .invalidValue("no labels or predictions for output \(e.output ?? "(single)")")
      }
      let w = e.weighted ? (sampleWeights?[e.output] ?? firstWeight) : nil
      var m = e.metric
      try m.update(yTrue: t, yPred: p, sampleWeight: w)
      next.entries[i].metric = m
    }
    self = next
  }

  /// The results, in Keras's log order and with Keras's names, each
  /// prefixed with `prefix` (`"val_"` for validation).
  public func results(prefix: String = "") -> [(name: String, value: MetricValue)] {
    var out: [(String, MetricValue)] = []
    var counters: [String: Int] = [:]
    for e in entries {
      var name = e.output.map { "\($0)_\(e.metric.name)" } ?? e.metric.name
      if counters[name] == nil {
        counters[name] = 1
      } else if !e.weighted {
        let index = counters[name]!
        counters[name] = index + 1
        name = "\(name)_\(index)"
      } else {
        name = e.output.map { "\($0)_weighted_\(e.metric.name)" } ?? "weighted_\(e.metric.name)"
        if counters[name] == nil {
          counters[name] = 1
        } else {
          let index = counters[name]!
          counters[name] = index + 1
          name = "\(name)_\(index)"
        }
      }
      out.append((prefix + name, e.metric.result()))
    }
    return out
  }

  /// The metrics, in order.
  public var metrics: [any PredictionMetric] { entries.map(\.metric) }

  /// Resets every metric (the start of an epoch or an evaluation).
  public mutating func reset() {
    for i in entries.indices { entries[i].metric.reset() }
  }

  /// Merges another container built from the same lists (another worker's
  /// metrics): metric by metric.
  ///
  /// - Throws: ``MetricError/incompatibleMerge(_:)`` if the containers hold
  ///   different metrics; then nothing is merged.
  public mutating func merge(_ other: CompileMetrics) throws(MetricError) {
    if !other.isBuilt { return }
    if !isBuilt {
      self = other
      return
    }
    guard entries.count == other.entries.count else {
      throw .incompatibleMerge("compiled metrics of \(entries.count) and \(other.entries.count) metrics")
    }
    var next = entries
    for i in next.indices {
      next[i].metric = try mergeMetrics(next[i].metric, other.entries[i].metric)
    }
    entries = next
  }
}

/// Merges two metrics of the same type held as existentials.
func mergeMetrics(_ a: any PredictionMetric, _ b: any PredictionMetric) throws(MetricError)
  -> any PredictionMetric
{
  func open<M: PredictionMetric>(_ a: M) throws(MetricError) -> any PredictionMetric {
    guard let b = b as? M else {
      throw .incompatibleMerge("cannot merge a \(M.className) with a \(type(of: b).className)")
    }
    var m = a
    try m.merge(b)
    return m
  }
  return try open(a)
}
