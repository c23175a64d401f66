//===--- Metric.swift -----------------------------------------------------===//
//
// The Metric protocol: Keras's contract (update, result, reset), plus merge
// and state-as-data.
//
//===----------------------------------------------------------------------===//

/// What a metric's `result()` returns: a scalar, or a vector (per class, per
/// threshold).
///
/// Keras returns a scalar tensor or a 1-D tensor; Tally returns the value in
/// `Double`.
public enum MetricValue: Sendable, Equatable, Codable, CustomStringConvertible {
  /// A single value (Keras's scalar tensor).
  case scalar(Double)
  /// One value per threshold or class (Keras's 1-D tensor).
  case vector([Double])

  /// The scalar, or `nil` for a vector.
  public var scalar: Double? {
    if case .scalar(let x) = self { x } else { nil }
  }

  /// The values, flattened (one element for a scalar).
  public var values: [Double] {
    switch self {
    case .scalar(let x): [x]
    case .vector(let v): v
    }
  }

  /// The Keras result shape: `[]` for a scalar, `[n]` for a vector.
  public var shape: [Int] {
    switch self {
    case .scalar: []
    case .vector(let v): [v.count]
    }
  }

  /// The value, or the bracketed values.
  public var description: String {
    switch self {
    case .scalar(let x): "\(x)"
    case .vector(let v): "[" + v.map { "\($0)" }.joined(separator: ", ") + "]"
    }
  }
}

/// A stateful, mergeable metric: Keras's `keras.metrics.Metric` as a Swift
/// value type.
///
/// A metric accumulates batches with an `update` method, reports the value
/// with ``result()``, starts over with ``reset()``, and combines the states of
/// several instances with ``merge(_:)``, which is how distributed evaluation
/// works: evaluate shards anywhere, save each ``state``, merge them.
///
/// Keras's `update_state` takes different arguments in different metrics, and
/// so does Tally: metrics of predictions conform to ``PredictionMetric``
/// (`update(yTrue:yPred:sampleWeight:)`), while ``Sum`` and ``Mean`` take
/// `update(_ values:sampleWeight:)`.
///
/// Because a metric is a value, a copy is a snapshot of its state: Keras's
/// stateless API (`stateless_update_state`, `stateless_result`) comes for
/// free.
///
/// | Keras | Tally |
/// | --- | --- |
/// | `m.update_state(y_true, y_pred, sample_weight)` | `try m.update(yTrue:yPred:sampleWeight:)` |
/// | `m.result()` | `m.result()` |
/// | `m.reset_state()` | `m.reset()` |
/// | `m.name` | `m.name` |
/// | `keras.metrics.serialize(m)` | `m.config` |
/// | `tf.keras` `m.merge_state([other])` | `try m.merge(other)` (checks configs) |
/// | variables | `m.state` (`Codable`, read-only; `try m.restore(s)` sets it) |
///
/// Conformances get ``reset()``, ``merge(_:)``, and state saving and loading
/// from default implementations; a custom metric writes its update, its
/// result and ``restore(_:)`` (one line when any state is valid).
public protocol Metric: Sendable {
  /// The accumulated statistics: a `Codable`, mergeable value.
  associatedtype State: Accumulator

  /// The Keras class name (`"Mean"`, `"AUC"`). Defaults to the Swift type
  /// name.
  static var className: String { get }

  /// The metric's name, as it appears in logs (Keras's `name`).
  var name: String { get set }

  /// The accumulated state. It is read-only through the protocol: a new
  /// state goes through ``restore(_:)``, which checks it against the
  /// configuration, so no state can make ``result()`` fail.
  var state: State { get }

  /// The configuration in Keras's serialized form. Two metrics can merge only
  /// if their configurations are equal apart from `name`.
  var config: KerasConfig { get }

  /// The metric's value for everything accumulated so far. Does not change
  /// the state.
  func result() -> MetricValue

  /// Returns to the empty state (Keras's `reset_state()`).
  mutating func reset()

  /// Adds the state of `other` into this metric.
  ///
  /// Merging is associative and commutative, with a freshly reset metric as
  /// identity: the merged result equals one metric updated on all the data
  /// (exactly for counts, to the last bit or within 1 ulp for sums).
  ///
  /// - Throws: ``MetricError/incompatibleMerge(_:)`` if the configurations
  ///   differ (other thresholds, classes, arguments); the state is then
  ///   unchanged.
  mutating func merge(_ other: Self) throws(MetricError)

  /// Replaces the state with `state`, after checking that it fits this
  /// metric's configuration (array lengths, for instance).
  ///
  /// This is the only way to set a state from outside: a custom metric
  /// writes it in one line (`mutating func restore(_ s: State) throws(MetricError) { state = s }`)
  /// when every value of its state is valid.
  ///
  /// - Throws: ``MetricError/invalidState(_:)``, leaving the state unchanged.
  mutating func restore(_ state: State) throws(MetricError)

  /// The state of a metric that has seen nothing. Defaults to `State()`.
  var emptyState: State { get }
}

extension Metric {
  /// The Swift type name.
  public static var className: String { _typeName(Self.self, qualified: false) }

  /// The base Keras config, `{"name": name, "dtype": "float32"}`; custom
  /// metrics with arguments override ``config``.
  public var config: KerasConfig {
    KerasConfig(
      className: Self.className, config: ["name": .string(name), "dtype": "float32"],
      module: nil)
  }

  /// `State()`.
  public var emptyState: State { State() }

  /// Replaces the state with the empty state.
  public mutating func reset() {
    do {
      try restore(emptyState)
    } catch {
      preconditionFailure("\(Self.className) rejects its own empty state: \(error)")
    }
  }

  /// Checks that the configurations match (apart from `name`), then merges
  /// the states; on error the state is unchanged.
  public mutating func merge(_ other: Self) throws(MetricError) {
    try Self.checkMergeable(config, other.config)
    var merged = state
    try merged.merge(other.state)
    try restore(merged)
  }

  /// Throws unless the two configurations are equal apart from `name`.
  public static func checkMergeable(_ a: KerasConfig, _ b: KerasConfig) throws(MetricError) {
    guard a.withoutName == b.withoutName else {
      throw .incompatibleMerge(
        "\(className) configurations differ; received \(a.withoutName.json) and \(b.withoutName.json)"
      )
    }
  }

  /// A metric with `other`'s state merged in; `self` is unchanged.
  public func merging(_ other: Self) throws(MetricError) -> Self {
    var m = self
    try m.merge(other)
    return m
  }
}

/// A metric of predictions against labels: `update(yTrue:yPred:sampleWeight:)`
/// as Keras's `update_state(y_true, y_pred, sample_weight=None)`.
///
/// A custom metric is as short as Keras's subclass example:
///
/// ```swift
/// struct BinaryTruePositives: PredictionMetric {
///   var name = "binary_true_positives"
///   private(set) var state = CompensatedSum()
///
///   mutating func update(yTrue: Tensor, yPred: Tensor, sampleWeight: Tensor?)
///     throws(MetricError)
///   {
///     let hits = try Tensor.map(yTrue, yPred) { t, p in t != 0 && p != 0 ? 1 : 0 }
///     try state.add(hits, sampleWeight: sampleWeight)
///   }
///
///   mutating func restore(_ s: CompensatedSum) throws(MetricError) { state = s }
///
///   func result() -> MetricValue { .scalar(state.value) }
/// }
/// ```
///
/// `reset()`, `merge(_:)`, `savedState()` and `load(savedState:)` come from
/// the protocol.
public protocol PredictionMetric: Metric {
  /// Accumulates one batch of labels and predictions.
  ///
  /// - Parameters:
  ///   - yTrue: The ground truth (`y_true`).
  ///   - yPred: The predictions (`y_pred`).
  ///   - sampleWeight: Optional weights (`sample_weight`), broadcast against
  ///     the per-sample values by Keras's rules.
  /// - Throws: ``MetricError`` for shapes that do not fit, bad weights, empty
  ///   batches or values outside the metric's domain; the state is then
  ///   unchanged.
  mutating func update(yTrue: Tensor, yPred: Tensor, sampleWeight: Tensor?) throws(MetricError)

  /// Accumulates one batch whose rows have the given global indices in the
  /// dataset (the same arguments otherwise).
  ///
  /// Only a metric whose result depends on which rows it sees uses the
  /// indices: ``Bootstrapped`` draws each row's replicate weights from its
  /// index, and ``Sliced`` passes each slice's rows on. The default ignores
  /// them.
  mutating func update(yTrue: Tensor, yPred: Tensor, sampleWeight: Tensor?, rows: RowIndices) throws(MetricError)
}

extension PredictionMetric {
  /// Ignores the row indices.
  public mutating func update(yTrue: Tensor, yPred: Tensor, sampleWeight: Tensor?, rows: RowIndices)
    throws(MetricError)
  {
    try update(yTrue: yTrue, yPred: yPred, sampleWeight: sampleWeight)
  }

  /// Accumulates one batch without weights.
  public mutating func update(yTrue: Tensor, yPred: Tensor) throws(MetricError) {
    try update(yTrue: yTrue, yPred: yPred, sampleWeight: nil)
  }

  /// Accumulates one batch given as nested arrays.
  public mutating func update<T: TensorConvertible, P: TensorConvertible>(
    yTrue: T, yPred: P
  ) throws(MetricError) {
    try update(yTrue: try Tensor(yTrue), yPred: try Tensor(yPred), sampleWeight: nil)
  }

  /// Accumulates one weighted batch given as nested arrays.
  public mutating func update<T: TensorConvertible, P: TensorConvertible, W: TensorConvertible>(
    yTrue: T, yPred: P, sampleWeight: W
  ) throws(MetricError) {
    try update(
      yTrue: try Tensor(yTrue), yPred: try Tensor(yPred), sampleWeight: try Tensor(sampleWeight))
  }
}
