//===--- Fit.swift --------------------------------------------------------===//
//
// Keras's compile()/fit()/evaluate() loop for the tiny network, with Tally's
// compiled metrics, loss tracker and progress display.
//
//===----------------------------------------------------------------------===//

import Tally

/// The per-epoch logs of ``Model/fit(x:y:rows:batchSize:epochs:validation:shuffleSeed:display:)``,
/// Keras's `History.history`: metric name → one value per epoch.
public struct History: Sendable {
  /// The log keys in Keras's order (`loss`, the compiled metrics, then the
  /// `val_` ones).
  public private(set) var keys: [String] = []
  /// The values of each key, one per epoch.
  public private(set) var values: [String: [Double]] = [:]

  mutating func append(_ logs: [(name: String, value: Double)]) {
    for (k, v) in logs {
      if values[k] == nil { keys.append(k) }
      values[k, default: []].append(v)
    }
  }
}

/// A compiled model: the network, its loss, and Tally's compiled metrics, as
/// after Keras's `model.compile(optimizer:loss:metrics:weighted_metrics:)`.
///
/// ```swift
/// var g = SplitMix64(seed: 1)
/// let net = Sequential([Dense(inputSize: 32, units: 64, activation: .relu, using: &g),
///                       Dense(inputSize: 64, units: 64, activation: .relu, using: &g),
///                       Dense(inputSize: 64, units: 10, activation: .softmax, using: &g)],
///                      loss: .categoricalCrossentropy, optimizer: .adam())
/// var model = Model(net, metrics: ["accuracy", .metric(try AUC())])
/// let history = try model.fit(x: x, y: y, rows: 1000, batchSize: 32, epochs: 10)
/// let logs = try model.evaluate(x: x, y: y, rows: 1000)
/// ```
public struct Model: Sendable {
  /// The network.
  public var network: Sequential
  /// The compiled metrics (Keras's `compile_metrics`).
  public var metrics: CompileMetrics
  /// Keras's loss tracker, `Mean(name: "loss")`, weighted by batch size.
  public var lossTracker = Mean(name: "loss")

  /// Compiles `network` with `metrics` (unweighted) and `weightedMetrics`.
  public init(_ network: Sequential, metrics: [MetricSpec] = [], weightedMetrics: [MetricSpec] = []) {
    self.network = network
    self.metrics = CompileMetrics(metrics: metrics, weightedMetrics: weightedMetrics)
  }

  /// The current logs: `loss` then the compiled metrics (scalars), with
  /// `prefix`.
  public func logs(prefix: String = "") -> [(name: String, value: Double)] {
    [(prefix + "loss", lossTracker.result().scalar ?? .nan)]
      + metrics.results(prefix: prefix).map { ($0.name, $0.value.scalar ?? $0.value.values.first ?? .nan) }
  }

  /// Resets the loss tracker and the metrics (Keras's `reset_metrics()`).
  public mutating func resetMetrics() {
    lossTracker.reset()
    metrics.reset()
  }

  /// Trains for `epochs` epochs, as Keras's `fit`: metrics reset at the
  /// start of each epoch, updated every step with that step's predictions,
  /// shown with a progress bar, logged per epoch; validation (if given)
  /// evaluated after each epoch with `val_` logs.
  ///
  /// - Parameters:
  ///   - x: `rows × inputs`, row-major.
  ///   - y: `rows × outputs` targets, row-major.
  ///   - shuffleSeed: Seed for the per-epoch shuffle (Keras shuffles by
  ///     default); `nil` keeps the order.
  ///   - display: Print a progress bar and epoch headers.
  /// - Throws: a metric's ``MetricError``.
  public mutating func fit(
    x: [Double], y: [Double], rows: Int, batchSize: Int = 32, epochs: Int = 1,
    validation: (x: [Double], y: [Double], rows: Int)? = nil, shuffleSeed: UInt64? = 0,
    display: Bool = true
  ) throws(MetricError) -> History {
    var history = History()
    let inputs = x.count / rows
    let outputs = y.count / rows
    let steps = (rows + batchSize - 1) / batchSize
    var order = Array(0..<rows)
    var generator = SplitMix64(seed: shuffleSeed ?? 0)
    for epoch in 1...max(epochs, 1) {
      if display { print("Epoch \(epoch)/\(epochs)") }
      resetMetrics()
      if shuffleSeed != nil { order.shuffle(using: &generator) }
      var bar = ProgressBar(target: steps)
      for step in 0..<steps {
        let batch = order[(step * batchSize)..<min(rows, (step + 1) * batchSize)]
        let bx = batch.flatMap { x[($0 * inputs)..<(($0 + 1) * inputs)] }
        let by = batch.flatMap { y[($0 * outputs)..<(($0 + 1) * outputs)] }
        let (loss, predictions) = network.trainStep(x: bx, y: by, rows: batch.count)
        try lossTracker.update(Tensor(loss), sampleWeight: Tensor(Double(batch.count)))
        try metrics.update(
          yTrue: try Tensor(by, shape: [batch.count, outputs]),
          yPred: try Tensor(predictions, shape: [batch.count, outputs]))
        if display { bar.update(step + 1, values: logs()) }
      }
      var epochLogs = logs()
      if let validation {
        epochLogs += try evaluate(x: validation.x, y: validation.y, rows: validation.rows, batchSize: batchSize)
          .map { ("val_" + $0.name, $0.value) }
      }
      if display { bar.finish(values: epochLogs) }
      history.append(epochLogs)
    }
    return history
  }

  /// Evaluates the model, as Keras's `evaluate(return_dict=True)`: metrics
  /// reset first, updated batch by batch, results returned.
  public mutating func evaluate(x: [Double], y: [Double], rows: Int, batchSize: Int = 32)
    throws(MetricError) -> [(name: String, value: Double)]
  {
    resetMetrics()
    let inputs = x.count / rows
    let outputs = y.count / rows
    for start in stride(from: 0, to: rows, by: batchSize) {
      let end = min(rows, start + batchSize)
      let bx = Array(x[(start * inputs)..<(end * inputs)])
      let by = Array(y[(start * outputs)..<(end * outputs)])
      let predictions = network.predict(bx, rows: end - start)
      let loss = network.loss(predictions: predictions, targets: by, rows: end - start)
      try lossTracker.update(Tensor(loss), sampleWeight: Tensor(Double(end - start)))
      try metrics.update(
        yTrue: try Tensor(by, shape: [end - start, outputs]),
        yPred: try Tensor(predictions, shape: [end - start, outputs]))
    }
    return logs()
  }
}
