//===--- RegressionSample.swift -------------------------------------------===//
//
// A uniform sample of (label, prediction) pairs for the report's regression
// plots, chosen by a hash of each row's global index: the same rows
// whatever the batching, threads, shards or merge order.
//
//===----------------------------------------------------------------------===//

/// The sampled pairs: at most `capacity`, those whose rows have the
/// smallest hashes (a bottom-k sample), kept sorted by hash.
public struct RegressionSampleState: Accumulator {
  /// The hash of each kept row's global index, ascending.
  public private(set) var hashes: [UInt64] = []
  /// The label of each kept row.
  public private(set) var labels: [Double] = []
  /// The prediction of each kept row.
  public private(set) var predictions: [Double] = []
  /// Every row seen (not only those kept).
  public private(set) var rows: Int64 = 0

  /// The empty state.
  public init() {}

  init(hashes: [UInt64], labels: [Double], predictions: [Double], rows: Int64) {
    (self.hashes, self.labels, self.predictions, self.rows) = (hashes, labels, predictions, rows)
  }

  /// Keeps the `capacity` smallest hashes of both (the same sample as one
  /// pass over both inputs).
  public mutating func merge(_ other: RegressionSampleState) throws(MetricError) {
    try merge(other, capacity: Int.max)
  }

  mutating func merge(_ other: RegressionSampleState, capacity: Int) throws(MetricError) {
    let (total, overflow) = rows.addingReportingOverflow(other.rows)
    guard !overflow else { throw .invalidState("RegressionSample row counts overflow: \(rows) + \(other.rows)") }
    var out = RegressionSampleState()
    out.rows = total
    var (i, j) = (0, 0)
    while out.hashes.count < capacity, i < hashes.count || j < other.hashes.count {
      if j >= other.hashes.count || (i < hashes.count && hashes[i] <= other.hashes[j]) {
        if out.hashes.last != hashes[i] { out.append(hashes[i], labels[i], predictions[i]) }
        i += 1
      } else {
        if out.hashes.last != other.hashes[j] { out.append(other.hashes[j], other.labels[j], other.predictions[j]) }
        j += 1
      }
    }
    self = out
  }

  private mutating func append(_ h: UInt64, _ t: Double, _ p: Double) {
    hashes.append(h)
    labels.append(t)
    predictions.append(p)
  }

  func validate(capacity: Int) throws(MetricError) {
    guard hashes.count == labels.count, hashes.count == predictions.count, hashes.count <= capacity, rows >= 0,
      Int64(hashes.count) <= rows
    else {
      throw .invalidState(
        "RegressionSample state holds \(hashes.count) hashes, \(labels.count) labels, \(predictions.count) predictions and \(rows) rows (capacity \(capacity))"
      )
    }
    for k in 1..<max(hashes.count, 1) where hashes[k - 1] >= hashes[k] {
      throw .invalidState("RegressionSample hashes must be strictly increasing; they are not at index \(k)")
    }
    if let bad = (labels + predictions).first(where: { !$0.isFinite }) {
      throw .invalidState("RegressionSample values must be finite; received \(bad)")
    }
  }
}

/// A uniform sample of at most `capacity` (label, prediction) pairs, for
/// the report's predicted-vs-true and residual plots (Tally's; neither
/// Keras nor TorchMetrics has it).
///
/// Row *i* of the dataset (its global index, from `update(…rows:)`) is
/// kept when its hash (SplitMix64 of *i*) is among the `capacity`
/// smallest: a bottom-k sample, uniform over rows, which merges exactly, so
/// the sample does not depend on batching, threads or shards (shards need
/// their `--row-offset`, as for the bootstrap). Without row indices, rows
/// are numbered from 0 in update order.
///
/// ```swift
/// var s = RegressionSample(capacity: 2)
/// try s.update(yTrue: Tensor([Float(1), 2, 3]), yPred: Tensor([Float(1.5), 2, 2.5]), sampleWeight: nil)
/// s.state.labels.count   // 2
/// s.state.rows           // 3
/// ```
///
/// - Complexity: `update` is O(*n* log *capacity*) at worst, O(*n*) once
///   the sample is full; the state holds 24 bytes per kept row.
public struct RegressionSample: PredictionMetric {
  /// The name in logs; default `"regression_sample"`.
  public var name: String
  /// The most rows kept.
  public let capacity: Int
  /// The sample.
  public private(set) var state = RegressionSampleState()

  /// A sample of at most `capacity` rows (at least 1).
  public init(capacity: Int = 20_000, name: String = "regression_sample") {
    self.capacity = max(1, capacity)
    self.name = name
  }

  /// The configuration: the name and `capacity`.
  public var config: KerasConfig {
    KerasConfig(
      className: Self.className, config: ["name": .string(name), "capacity": .int(Int64(capacity))], module: nil)
  }

  /// Samples a batch whose rows are numbered after those seen so far.
  public mutating func update(yTrue: Tensor, yPred: Tensor, sampleWeight: Tensor?) throws(MetricError) {
    let n = yTrue.shape.first ?? 1
    try update(yTrue: yTrue, yPred: yPred, sampleWeight: sampleWeight, rows: .contiguous(first: state.rows, count: n))
  }

  /// Samples a batch of one value per row (`(n,)` or `(n, 1)`) whose rows
  /// have the given global indices. Weights are ignored (the plots show
  /// rows).
  ///
  /// - Throws: ``MetricError/shapeMismatch(_:)`` unless both hold one value
  ///   per row of `rows`, ``MetricError/invalidValue(_:)`` for a value that
  ///   is not finite; the state is then unchanged.
  public mutating func update(yTrue: Tensor, yPred: Tensor, sampleWeight: Tensor?, rows: RowIndices)
    throws(MetricError)
  {
    guard yTrue.count == rows.count, yPred.count == rows.count, yTrue.rank <= 2, yPred.rank <= 2 else {
      throw .shapeMismatch(
        "\(name) takes one label and one prediction per row; received shapes \(describe(yTrue.shape)) and \(describe(yPred.shape)) for \(rows.count) rows"
      )
    }
    let t = yTrue.doubles()
    let p = yPred.doubles()
    if let k = t.indices.first(where: { !t[$0].isFinite || !p[$0].isFinite }) {
      throw .invalidValue("\(name): values must be finite; received \(t[k]) and \(p[k]) at row \(k)")
    }
    let bound = state.hashes.count == capacity ? state.hashes.last! : UInt64.max
    var batch: [(UInt64, Double, Double)] = []
    for i in 0..<rows.count {
      var g = SplitMix64(seed: UInt64(bitPattern: rows[i]))
      let h = g.next()
      if h < bound || state.hashes.count < capacity { batch.append((h, t[i], p[i])) }
    }
    batch.sort { $0.0 < $1.0 }
    if batch.count > capacity { batch.removeLast(batch.count - capacity) }
    let incoming = RegressionSampleState(
      hashes: batch.map(\.0), labels: batch.map(\.1), predictions: batch.map(\.2), rows: Int64(rows.count))
    var next = state
    try next.merge(incoming, capacity: capacity)
    state = next
  }

  /// Adds `other`'s sample (the same capacity).
  public mutating func merge(_ other: RegressionSample) throws(MetricError) {
    guard other.capacity == capacity else {
      throw .incompatibleMerge("\(name) keeps \(capacity) rows; the other keeps \(other.capacity)")
    }
    var next = state
    try next.merge(other.state, capacity: capacity)
    state = next
  }

  /// Replaces the sample after checking it.
  public mutating func restore(_ s: RegressionSampleState) throws(MetricError) {
    try s.validate(capacity: capacity)
    state = s
  }

  /// The number of rows kept.
  public func result() -> MetricValue { .scalar(Double(state.hashes.count)) }
}
