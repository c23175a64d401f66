//===--- Bootstrapped.swift -----------------------------------------------===//
//
// A bootstrap confidence interval for any metric: the metric itself (the
// point estimate) and one copy per replicate, updated with the rows'
// Poisson(1) replicate weights, in one streaming pass, mergeable and
// savable like every state.
//
//===----------------------------------------------------------------------===//

/// A point estimate with its bootstrap percentile interval and standard
/// error.
///
/// For a vector-valued metric (per class, per threshold) `low`, `high` and
/// `standardError` are vectors of the same length, element by element.
public struct BootstrapInterval: Sendable, Equatable {
  /// The metric on the data as they are (not resampled).
  public var value: MetricValue
  /// The lower end: the replicates' `(1 − confidence)/2` quantile.
  public var low: MetricValue
  /// The upper end: the replicates' `(1 + confidence)/2` quantile.
  public var high: MetricValue
  /// The replicates' standard deviation (with Bessel's correction).
  public var standardError: MetricValue
  /// The confidence level, in (0, 1).
  public var confidence: Double
  /// The number of replicates.
  public var replicates: Int
}

/// The state of a ``Bootstrapped`` metric: the point estimate's state, one
/// state per replicate, and one past the last row seen (where a plain
/// `update` continues).
public struct BootstrapState<Base: Accumulator>: Accumulator {
  /// The state of the metric on the data as they are.
  public var point: Base
  /// One state per replicate (empty only in `init()`, the identity).
  public var replicates: [Base]
  /// One past the largest global row index seen.
  public var nextRow: Int64

  /// The identity of ``merge(_:)``.
  public init() { (point, replicates, nextRow) = (Base(), [], 0) }

  /// A state of the given parts.
  public init(point: Base, replicates: [Base], nextRow: Int64) {
    (self.point, self.replicates, self.nextRow) = (point, replicates, nextRow)
  }

  private enum CodingKeys: String, CodingKey {
    case point, replicates
    case nextRow = "next_row"
  }

  /// Adds `other` replicate by replicate.
  ///
  /// - Throws: ``MetricError/incompatibleMerge(_:)`` for another number of
  ///   replicates; `self` is then unchanged.
  public mutating func merge(_ other: BootstrapState<Base>) throws(MetricError) {
    var next = self
    try next.point.merge(other.point)
    if next.replicates.isEmpty {
      next.replicates = other.replicates
    } else if !other.replicates.isEmpty {
      guard next.replicates.count == other.replicates.count else {
        throw .incompatibleMerge(
          "bootstraps of \(next.replicates.count) and \(other.replicates.count) replicates")
      }
      for r in next.replicates.indices { try next.replicates[r].merge(other.replicates[r]) }
    }
    next.nextRow = max(nextRow, other.nextRow)
    self = next
  }
}

/// Any metric with a Poisson-bootstrap confidence interval: the metric on
/// the data as they are, and one copy per replicate updated with the rows'
/// Poisson(1) weights (``PoissonBootstrap``).
///
/// `result()` is the base metric's result; ``interval(confidence:)`` gives
/// the percentile interval and the standard error. A row's weights depend
/// only on the seed, the row's global index and the replicate, so the
/// interval is the same however the data are batched, threaded, sharded or
/// merged, provided each part says where its rows are: `update` continues
/// from the last row seen; `update(yTrue:yPred:sampleWeight:rows:)` takes the
/// rows' global indices (for a shard of a dataset, ``RowIndices/contiguous(first:count:)``
/// from its first row). Two instances that both start at row 0 on different
/// data draw the same weights for different rows, which correlates their
/// replicates: give each part its own rows before merging.
///
/// ```swift
/// var m = try Bootstrapped(BinaryAccuracy(), replicates: 200, seed: 1)
/// try m.update(yTrue: [1, 0, 1, 1, 0, 1, 0, 1], yPred: [0.9, 0.2, 0.3, 0.8, 0.6, 0.7, 0.1, 0.9])
/// m.result()                          // 0.75
/// let ci = try m.interval(confidence: 0.9)
/// ci.low.scalar! < 0.75 && 0.75 < ci.high.scalar!   // true
/// ```
///
/// Rows are the first axis. Sample weights multiply the replicate weights
/// (a weight with one entry per row, or a scalar). An element-wise metric
/// (`MeanSquaredError`, ...) given rank-1 labels and predictions reads them
/// as `(rows, 1)`, one sample per row (Keras reads a rank-1 array as one
/// sample of that many elements: the same value, but nothing to resample).
///
/// - Complexity: *R* + 1 states. An update of a metric that counts cells
///   (binary accuracy, the confusion-matrix family: `AUC`, `Precision`,
///   `Recall`, ... on one score per row, without sample weights) draws *R*
///   weights per row and adds them to 16-bit counters of the row's cell,
///   about half a nanosecond per row and replicate on one core (two
///   64 × 64-bit multiplies and a dozen 128-bit vector steps per eight
///   replicates); several such metrics updated together
///   (``updateTogether(_:yTrue:yPred:sampleWeight:slices:rows:)``) share the
///   draws. Any other update is *R* weighted updates of the base metric.
public struct Bootstrapped<Base: PredictionMetric>: PredictionMetric {
  /// The base metric's name.
  public var name: String {
    get { point.name }
    set { point.name = newValue }
  }
  /// The replicates and their seed.
  public let bootstrap: PoissonBootstrap
  /// The base metric on the data as they are.
  public private(set) var point: Base
  /// The base metric on each replicate.
  public private(set) var replicas: [Base]
  /// One past the largest global row index seen.
  public private(set) var nextRow: Int64 = 0

  /// `"Bootstrapped"`.
  public static var className: String { "Bootstrapped" }

  /// A bootstrap of `base` (which starts empty: its accumulated state is
  /// not kept) with `replicates` replicates.
  ///
  /// - Throws: ``MetricError/invalidConfiguration(_:)`` unless `replicates`
  ///   is in `1...PoissonBootstrap.maximumReplicates` and the replicates'
  ///   states fit ``StateMemory/limit``.
  public init(_ base: Base, replicates: Int = 200, seed: Int64 = 0) throws(MetricError) {
    let bootstrap = try PoissonBootstrap(replicates: replicates, seed: seed)
    try Self.checkStateMemory(base, bootstrap)
    self.init(base, bootstrap: bootstrap)
  }

  /// Checks that `replicates + 1` states of `base` fit ``StateMemory/limit``.
  ///
  /// - Throws: ``MetricError/invalidConfiguration(_:)``.
  public static func checkStateMemory(_ base: Base, _ bootstrap: PoissonBootstrap) throws(MetricError) {
    try StateMemory.check(
      [bootstrap.replicates + 1], bytesPerItem: Tally.estimatedStateBytes(base),
      "a bootstrap of \(bootstrap.replicates) replicates of \(base.name)")
  }

  /// A bootstrap of `base` (which starts empty) with the given replicates.
  public init(_ base: Base, bootstrap: PoissonBootstrap) {
    var b = base
    b.reset()
    self.bootstrap = bootstrap
    point = b
    replicas = Array(repeating: b, count: bootstrap.replicates)
  }

  /// `{"name", "metric": <the base's config>, "replicates", "seed"}`.
  public var config: KerasConfig {
    KerasConfig(
      className: Self.className,
      config: [
        "name": .string(name), "metric": point.config.jsonValue,
        "replicates": .int(Int64(bootstrap.replicates)), "seed": .int(bootstrap.seed),
      ],
      module: nil)
  }

  /// The point state, the replicates' states and the next row.
  public var state: BootstrapState<Base.State> {
    BootstrapState(point: point.state, replicates: replicas.map(\.state), nextRow: nextRow)
  }

  /// The empty state of every replicate.
  public var emptyState: BootstrapState<Base.State> {
    BootstrapState(
      point: point.emptyState, replicates: Array(repeating: point.emptyState, count: bootstrap.replicates),
      nextRow: 0)
  }

  /// Restores every part, each checked by the base metric.
  ///
  /// - Throws: ``MetricError/invalidState(_:)`` for another number of
  ///   replicates, a negative next row, or a part the base rejects.
  public mutating func restore(_ s: BootstrapState<Base.State>) throws(MetricError) {
    guard s.replicates.count == bootstrap.replicates || s.replicates.isEmpty else {
      throw .invalidState(
        "\(name): a bootstrap of \(bootstrap.replicates) replicates cannot hold \(s.replicates.count)")
    }
    guard s.nextRow >= 0 else { throw .invalidState("\(name): next_row must be ≥ 0; received \(s.nextRow)") }
    var next = self
    try next.point.restore(s.point)
    for r in next.replicas.indices {
      try next.replicas[r].restore(s.replicates.isEmpty ? point.emptyState : s.replicates[r])
    }
    next.nextRow = s.nextRow
    self = next
  }

  /// Merges part by part (the bootstraps must have the same replicates and
  /// seed, and the bases the same configuration).
  public mutating func merge(_ other: Bootstrapped<Base>) throws(MetricError) {
    try Self.checkMergeable(config, other.config)
    var next = self
    try next.point.merge(other.point)
    for r in next.replicas.indices { try next.replicas[r].merge(other.replicas[r]) }
    next.nextRow = max(nextRow, other.nextRow)
    self = next
  }

  /// The base metric's result on the data as they are.
  public func result() -> MetricValue { point.result() }

  /// Each replicate's result.
  public func replicateResults() -> [MetricValue] { replicas.map { $0.result() } }

  /// The percentile interval at `confidence` and the standard error.
  ///
  /// Replicates whose result is not finite (or not of the point's shape)
  /// are left out; with none left, the ends are NaN.
  ///
  /// - Throws: ``MetricError/invalidConfiguration(_:)`` unless `confidence`
  ///   is in (0, 1).
  public func interval(confidence: Double = 0.95) throws(MetricError) -> BootstrapInterval {
    try BootstrapInterval(value: result(), replicates: replicateResults(), confidence: confidence)
  }

  /// Accumulates a batch whose rows follow the last row seen.
  public mutating func update(yTrue: Tensor, yPred: Tensor, sampleWeight: Tensor?) throws(MetricError) {
    try update(
      yTrue: yTrue, yPred: yPred, sampleWeight: sampleWeight,
      rows: .contiguous(first: nextRow, count: batchRows(yPred)))
  }

  /// Accumulates a batch whose rows have the given global indices: the
  /// base metric with the batch as it is, each replicate with the rows'
  /// replicate weights (times `sampleWeight`).
  ///
  /// - Throws: the base metric's errors; ``MetricError/shapeMismatch(_:)``
  ///   when `rows` does not have one index per row; ``MetricError/invalidWeights(_:)``
  ///   for a sample weight that is not one entry per row (or a scalar).
  ///   The state is then unchanged.
  public mutating func update(yTrue: Tensor, yPred: Tensor, sampleWeight: Tensor?, rows: RowIndices)
    throws(MetricError)
  {
    if let cells = try talliedCells(yTrue: yTrue, yPred: yPred, sampleWeight: sampleWeight, slices: nil, rows: rows) {
      let totals = cellTotals([cells.batch!], groups: nil, groupCount: 1, bootstrap: bootstrap, rows: rows)
      try absorb(totals[0], of: cells, yTrue: yTrue, yPred: yPred, slices: nil, rows: rows)
      return
    }
    let (yTrue, yPred) = rowsAsSamples(yTrue, yPred, of: point)
    let n = batchRows(yPred)
    let rows = try rows.validated(batchRows: n, metric: name)
    var next = self
    try next.point.update(yTrue: yTrue, yPred: yPred, sampleWeight: sampleWeight)
    let weights = try ReplicateWeights(sampleWeight, rows: n, metric: name)
    // Each row's key once, not once per replicate.
    let keys = (0..<rows.count).map { bootstrap.rowKey(rows[$0]) }
    for q in next.replicas.indices {
      try next.replicas[q].update(
        yTrue: yTrue, yPred: yPred, sampleWeight: weights.tensor(replicate: q, keys: keys))
    }
    next.nextRow = max(nextRow, rows.end)
    self = next
  }
}

extension Bootstrapped: CellTallied {
  /// The cells of an unweighted batch of a metric that counts cells.
  func talliedCells(yTrue: Tensor, yPred: Tensor, sampleWeight: Tensor?, slices: SliceBatch?, rows: RowIndices)
    throws(MetricError) -> TalliedCells?
  {
    guard sampleWeight == nil, slices == nil else { return nil }
    let (yTrue, yPred) = rowsAsSamples(yTrue, yPred, of: point)
    _ = try rows.validated(batchRows: batchRows(yPred), metric: name)
    let batch = try withCellCounting(point) { (cells, _, _) throws(MetricError) in try cells(yTrue, yPred) }
    return batch.flatMap { $0 }.map {
      TalliedCells(count: $0.count, batch: $0, totals: nil, bootstrap: bootstrap, grouped: false)
    }
  }

  /// The point updated with the batch, each replicate from its column of
  /// the totals.
  mutating func absorb(
    _ totals: [Int], of cells: TalliedCells, yTrue: Tensor, yPred: Tensor, slices: SliceBatch?, rows: RowIndices
  ) throws(MetricError) {
    let (yTrue, yPred) = rowsAsSamples(yTrue, yPred, of: point)
    var next = self
    try next.point.update(yTrue: yTrue, yPred: yPred, sampleWeight: nil)
    let (r, c) = (bootstrap.replicates, cells.count)
    _ = try withCellCounting(point) { (_, add, _) throws(MetricError) in
      var column = [Int](repeating: 0, count: c)
      for q in 0..<r {
        for j in 0..<c { column[j] = totals[j * r + q] }
        try next.replicas[q].restore(try add(column[...], next.replicas[q].state, true))
      }
    }
    next.nextRow = max(nextRow, rows.end)
    self = next
  }
}

/// A sample weight times a replicate's row weights.
struct ReplicateWeights {
  let base: [Double]?
  let shape: [Int]
  let perRow: Int

  init(_ sampleWeight: Tensor?, rows n: Int, metric: String) throws(MetricError) {
    guard let w = try RowWeights(sampleWeight, rows: n, metric: metric, use: "a bootstrap") else {
      (base, shape, perRow) = (nil, [n], 1)
      return
    }
    (base, shape, perRow) = (w.values, w.shape, w.perRow)
  }

  /// The weights of `replicate`.
  func tensor(replicate q: Int, keys: [UInt64]) -> Tensor {
    var out = [Double](repeating: 0, count: keys.count * perRow)
    for i in keys.indices {
      let k = Double(PoissonBootstrap.weight(key: keys[i], replicate: q))
      for j in 0..<perRow {
        out[i * perRow + j] = k * (base?[i * perRow + j] ?? 1)
      }
    }
    // The shape is the weight's own (or [n]): its element count matches.
    return (try? Tensor(out, shape: shape)) ?? Tensor(out)
  }
}

extension BootstrapInterval {
  /// The interval of `replicates` around `value`.
  init(value: MetricValue, replicates: [MetricValue], confidence: Double) throws(MetricError) {
    guard confidence > 0, confidence < 1 else {
      throw .invalidConfiguration("the confidence level must lie in (0, 1); received \(confidence)")
    }
    let width = value.values.count
    var lows: [Double] = []
    var highs: [Double] = []
    var errors: [Double] = []
    for j in 0..<width {
      let xs = replicates.compactMap { r -> Double? in
        guard r.shape == value.shape else { return nil }
        let x = r.values[j]
        return x.isFinite ? x : nil
      }.sorted()
      lows.append(Self.quantile(xs, (1 - confidence) / 2))
      highs.append(Self.quantile(xs, (1 + confidence) / 2))
      errors.append(Self.standardDeviation(xs))
    }
    func shaped(_ v: [Double]) -> MetricValue {
      if case .scalar = value { return .scalar(v[0]) }
      return .vector(v)
    }
    self.init(
      value: value, low: shaped(lows), high: shaped(highs), standardError: shaped(errors),
      confidence: confidence, replicates: replicates.count)
  }

  /// NumPy's default (linear) quantile of sorted values; NaN for none.
  static func quantile(_ sorted: [Double], _ q: Double) -> Double {
    guard !sorted.isEmpty else { return .nan }
    let position = q * Double(sorted.count - 1)
    let lower = Int(position.rounded(.down))
    let upper = min(lower + 1, sorted.count - 1)
    let fraction = position - Double(lower)
    return sorted[lower] + (sorted[upper] - sorted[lower]) * fraction
  }

  /// The sample standard deviation (n − 1); NaN for fewer than two values.
  static func standardDeviation(_ xs: [Double]) -> Double {
    guard xs.count >= 2 else { return .nan }
    var mean = CompensatedSum()
    for x in xs { mean.add(x) }
    let m = mean.value / Double(xs.count)
    var squares = CompensatedSum()
    for x in xs { squares.add((x - m) * (x - m)) }
    return (squares.value / Double(xs.count - 1)).squareRoot()
  }
}

extension KerasConfig {
  /// The configuration as a JSON value (`{"class_name", "config", ...}`).
  var jsonValue: JSONValue {
    .object([
      "module": module.map(JSONValue.string) ?? .null, "class_name": .string(className),
      "config": .object(config), "registered_name": registeredName.map(JSONValue.string) ?? .null,
    ])
  }

  /// A configuration read back from ``jsonValue``.
  init(jsonValue: JSONValue, in owner: String) throws(MetricError) {
    guard case .object(let o) = jsonValue, case .string(let className)? = o["class_name"] else {
      throw .invalidConfiguration("\(owner): \"metric\" must be a serialized Keras metric; received \(jsonValue)")
    }
    var config: [String: JSONValue] = [:]
    if case .object(let c)? = o["config"] { config = c }
    var module: String? = nil
    if case .string(let m)? = o["module"] { module = m }
    self.init(className: className, config: config, module: module)
  }
}

extension Bootstrapped: KerasSerializable where Base: KerasSerializable {
  /// Rebuilds a bootstrap from `{"class_name": "Bootstrapped", "config":
  /// {"metric": ..., "replicates": R, "seed": S}}`.
  public init(config: KerasConfig) throws(MetricError) {
    var replicates = 200
    var seed = 0
    let base: Base = try wrappedBase(config, Self.className) { (r: inout ConfigReader) throws(MetricError) in
      replicates = try r.int("replicates", default: 200)
      seed = try r.int("seed", default: 0)
    }
    try self.init(base, replicates: replicates, seed: Int64(seed))
  }

}

/// The base metric of a wrapper's configuration (`"metric"`, renamed to
/// `"name"` when given), after `read` takes the wrapper's own arguments.
func wrappedBase<Base: KerasSerializable>(
  _ config: KerasConfig, _ className: String, _ read: (inout ConfigReader) throws(MetricError) -> Void
) throws(MetricError) -> Base {
  var r = try ConfigReader(config, expecting: className)
  let name = try r.optionalString("name")
  guard let metric = r.value("metric") else {
    throw .invalidConfiguration("\(className): the configuration has no \"metric\"")
  }
  try read(&r)
  try r.finish()
  var base = try Base(config: KerasConfig(jsonValue: metric, in: className))
  if let name { base.name = name }
  return base
}
