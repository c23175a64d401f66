//===--- IoUMetrics.swift -------------------------------------------------===//
//
// Keras's `iou_metrics.py`: IoU, MeanIoU, BinaryIoU, OneHotIoU,
// OneHotMeanIoU, on one confusion-matrix accumulator.
//
//===----------------------------------------------------------------------===//

/// A `C × C` confusion matrix (rows: true class, columns: predicted class)
/// of weighted counts.
///
/// Keras keeps it in the platform int type and truncates fractional sample
/// weights (0.5 counts as 0); Tally keeps double-double sums, so fractional
/// weights count exactly and integer counts are exact to 2^53.
public struct ConfusionMatrixState: Accumulator {
  /// The number of classes.
  public private(set) var classes: Int = 0
  /// Row-major `classes × classes` counts.
  public private(set) var counts: [CompensatedSum] = []

  /// The empty state.
  public init() {}

  init(classes: Int) {
    self.classes = classes
    counts = [CompensatedSum](repeating: CompensatedSum(), count: classes * classes)
  }

  /// The count of true class `t` predicted as `p`.
  public subscript(t: Int, p: Int) -> Double { counts[t * classes + p].value }

  mutating func add(true t: Int, predicted p: Int, weight: Double) {
    counts[t * classes + p].add(weight)
  }

  /// Adds another matrix.
  ///
  /// - Throws: ``MetricError/incompatibleMerge(_:)`` for a different number
  ///   of classes.
  public mutating func merge(_ other: ConfusionMatrixState) throws(MetricError) {
    if other.counts.isEmpty { return }
    if counts.isEmpty {
      self = other
      return
    }
    guard other.classes == classes else {
      throw .incompatibleMerge("confusion matrices of \(classes) and \(other.classes) classes")
    }
    for i in counts.indices { counts[i].merge(other.counts[i]) }
  }
}

/// The shared configuration and algorithms of the IoU metrics.
public struct IoUCore: Sendable, Equatable {
  /// The number of classes.
  public let numClasses: Int
  /// The classes whose IoU is averaged.
  public let targetClassIds: [Int]
  /// A true label to ignore.
  public let ignoreClass: Int?
  /// Whether `y_true` holds class ids (else one-hot / scores: argmax).
  public let sparseYTrue: Bool
  /// Whether `y_pred` holds class ids (else scores: argmax).
  public let sparseYPred: Bool
  /// The class axis for the argmax.
  public let axis: Int
  /// BinaryIoU's threshold (`y_pred ≥ threshold` is class 1).
  let threshold: Double?
  let className: String

  init(
    _ className: String, numClasses: Int, targetClassIds: [Int], ignoreClass: Int?, sparseYTrue: Bool,
    sparseYPred: Bool, axis: Int, threshold: Double? = nil
  ) throws(MetricError) {
    guard numClasses >= 1 else {
      throw .invalidConfiguration("\(className) num_classes must be ≥ 1; received \(numClasses)")
    }
    guard !targetClassIds.isEmpty else {
      throw .invalidConfiguration("\(className) target_class_ids must not be empty")
    }
    if let m = targetClassIds.max(), m >= numClasses {
      throw .invalidConfiguration("Target class id \(m) is out of range, which is [0, \(numClasses)).")
    }
    if let m = targetClassIds.min(), m < 0 {
      throw .invalidConfiguration("Target class id \(m) is out of range, which is [0, \(numClasses)).")
    }
    self.className = className
    self.numClasses = numClasses
    self.targetClassIds = targetClassIds
    self.ignoreClass = ignoreClass
    self.sparseYTrue = sparseYTrue
    self.sparseYPred = sparseYPred
    self.axis = axis
    self.threshold = threshold
  }

  /// Class ids of one input: argmax along `axis`, or the values truncated
  /// toward zero.
  func classIds(_ t: Tensor, sparse: Bool) throws(MetricError) -> [Double] {
    if sparse { return t.doubles().map { $0.rounded(.towardZero) } }
    let layout = try AxisLayout(t.shape, axis: axis, className)
    let v = t.doubles()
    return layout.reduce { idx in
      var best = -1
      var bestValue = -Double.infinity
      for (k, i) in idx.enumerated() where best < 0 || v[i] > bestValue {
        best = k
        bestValue = v[i]
      }
      return Double(best)
    }
  }

  /// One batch's confusion matrix.
  func batch(yTrue: Tensor, yPred: Tensor, sampleWeight: Tensor?) throws(MetricError)
    -> ConfusionMatrixState
  {
    if let fast = try fastBatch(yTrue: yTrue, yPred: yPred, sampleWeight: sampleWeight) { return fast }
    let truth = try classIds(yTrue, sparse: sparseYTrue)
    let pred: [Double]
    if let threshold {
      pred = yPred.doubles().map { Float($0) >= Float(threshold) ? 1 : 0 }
    } else {
      pred = try classIds(yPred, sparse: sparseYPred)
    }
    guard truth.count == pred.count else {
      throw .shapeMismatch(
        "\(className): y_true and y_pred hold different numbers of labels; received shapes \(describe(yTrue.shape)) and \(describe(yPred.shape))"
      )
    }
    guard !truth.isEmpty else {
      throw .emptyBatch("\(className): received y_pred of shape \(describe(yPred.shape))")
    }
    var w = [Double](repeating: 1, count: truth.count)
    if let sampleWeight {
      let raw = try SampleWeights.checked(sampleWeight)
      let ws = sampleWeight.rank > 1 ? [raw.count] : sampleWeight.shape
      guard ShapeRules.canBroadcast(ws, to: [truth.count]) else {
        throw .invalidWeights(
          "\(className): sample_weight cannot be broadcast to the labels; received sample_weight of shape \(describe(sampleWeight.shape)) and \(truth.count) labels"
        )
      }
      w = Elementwise.broadcast(raw, shape: ws, to: [truth.count])
    }
    var m = ConfusionMatrixState(classes: numClasses)
    let c = Double(numClasses)
    for i in truth.indices {
      let t = truth[i]
      if let ignoreClass, t == Double(ignoreClass) { continue }
      guard t >= 0, t < c, pred[i] >= 0, pred[i] < c else {
        throw .invalidValue(
          "\(className): class ids must be in [0, \(numClasses)); received y_true \(t) and y_pred \(pred[i]) at flat index \(i)"
        )
      }
      m.add(true: Int(t), predicted: Int(pred[i]), weight: w[i])
    }
    return m
  }

  /// Keras's IoU result: mean over the target classes present of
  /// `TP / (TP + FP + FN + ε)`.
  func result(_ m: ConfusionMatrixState) -> MetricValue {
    guard m.classes == numClasses else { return .scalar(0) }
    var sum = 0.0
    var present = 0.0
    for k in targetClassIds {
      var row = CompensatedSum()
      var col = CompensatedSum()
      for j in 0..<numClasses {
        row.add(m[k, j])
        col.add(m[j, k])
      }
      let tp = m[k, k]
      let denominator = row.value + col.value - tp
      if denominator > 1e-9 {
        sum += tp / (denominator + kerasEpsilon)
        present += 1
      }
    }
    return .scalar(sum / (present + kerasEpsilon))
  }

  func checkRestorable(_ s: ConfusionMatrixState) throws(MetricError) {
    guard s.counts.isEmpty || (s.classes == numClasses && s.counts.count == numClasses * numClasses) else {
      throw .invalidState("\(className) counts \(numClasses) classes; the state has \(s.classes)")
    }
  }
}

/// Reads `target_class_ids` (a list of integers).
func readClassIds(_ r: inout ConfigReader, _ key: String) throws(MetricError) -> [Int]? {
  guard let v = r.value(key) else { return nil }
  guard case .array(let a) = v else {
    throw .invalidConfiguration("\(key) must be a list of integers; received \(v)")
  }
  var out: [Int] = []
  for x in a {
    guard let n = x.number, n == n.rounded() else {
      throw .invalidConfiguration("\(key) must be a list of integers; received \(v)")
    }
    out.append(Int(n))
  }
  return out
}

func classIdsJSON(_ ids: [Int]) -> JSONValue { .array(ids.map { .int(Int64($0)) }) }

/// Intersection-over-union averaged over chosen classes.
///
/// Formula: from the confusion matrix `cm` (rows true, columns predicted),
/// `IoU_c = cm[c,c] / (row_c + col_c − cm[c,c] + ε)` for each target class
/// present (denominator > 0); the result is their mean (0 if none). Labels
/// are class ids (or, with `sparseYTrue`/`sparseYPred` false, argmax along
/// `axis`), truncated toward zero.
///
/// Keras: `keras.metrics.IoU(num_classes, target_class_ids, name=None,
/// dtype=None, ignore_class=None, sparse_y_true=True, sparse_y_pred=True,
/// axis=-1)`. Deviations: fractional weights count exactly (Keras's int
/// state truncates them); labels outside `[0, num_classes)` throw (Keras
/// drops them silently), except `ignoreClass`.
///
/// ```swift
/// var m = try IoU(numClasses: 2, targetClassIds: [0])
/// try m.update(yTrue: [0, 1, 0, 1], yPred: [0, 1, 1, 1])
/// m.result()   // 0.4999999…
/// ```
///
/// - Complexity: `update` is O(*n*); `result` O(*C*²).
public struct IoU: PredictionMetric, KerasSerializable {
  /// `"IoU"`.
  public static var className: String { "IoU" }
  /// The name in logs; default `"io_u"`.
  public var name: String
  /// The Keras dtype name, kept for the configuration.
  public var dtype: String
  /// The configuration.
  public let core: IoUCore
  /// The confusion matrix.
  public var state = ConfusionMatrixState()

  /// An IoU over `targetClassIds` of `numClasses` classes.
  public init(
    numClasses: Int, targetClassIds: [Int], name: String = "io_u", dtype: String = "int64",
    ignoreClass: Int? = nil, sparseYTrue: Bool = true, sparseYPred: Bool = true, axis: Int = -1
  ) throws(MetricError) {
    core = try IoUCore(
      Self.className, numClasses: numClasses, targetClassIds: targetClassIds, ignoreClass: ignoreClass,
      sparseYTrue: sparseYTrue, sparseYPred: sparseYPred, axis: axis)
    self.name = name
    self.dtype = dtype
  }

  /// Rebuilds the metric from its Keras config.
  public init(config: KerasConfig) throws(MetricError) {
    let (name, dtype, reader) = try readNameAndDType(config, Self.className, defaultName: "io_u")
    var r = reader
    guard let n = try r.optionalInt("num_classes"), let ids = try readClassIds(&r, "target_class_ids") else {
      throw .invalidConfiguration("IoU needs num_classes and target_class_ids")
    }
    let ignore = try r.optionalInt("ignore_class")
    let st = try r.bool("sparse_y_true", default: true)
    let sp = try r.bool("sparse_y_pred", default: true)
    let axis = try r.int("axis", default: -1)
    try r.finish()
    try self.init(
      numClasses: n, targetClassIds: ids, name: name, dtype: dtype, ignoreClass: ignore, sparseYTrue: st,
      sparseYPred: sp, axis: axis)
  }

  /// Keras's config.
  public var config: KerasConfig {
    KerasConfig(
      className: Self.className,
      config: [
        "name": .string(name), "dtype": .string(dtype), "num_classes": .int(Int64(core.numClasses)),
        "target_class_ids": classIdsJSON(core.targetClassIds),
        "ignore_class": optionalIntJSON(core.ignoreClass), "sparse_y_true": .bool(core.sparseYTrue),
        "sparse_y_pred": .bool(core.sparseYPred), "axis": .int(Int64(core.axis)),
      ])
  }

  /// Accumulates one batch.
  public mutating func update(yTrue: Tensor, yPred: Tensor, sampleWeight: Tensor?) throws(MetricError) {
    try state.merge(core.batch(yTrue: yTrue, yPred: yPred, sampleWeight: sampleWeight))
  }

  /// Restores a matrix of the same number of classes.
  public mutating func restore(_ state: ConfusionMatrixState) throws(MetricError) {
    try core.checkRestorable(state)
    self.state = state
  }

  /// The mean IoU over the target classes present.
  public func result() -> MetricValue { core.result(state) }
}

/// The IoU averaged over every class.
///
/// Formula: ``IoU`` with `targetClassIds = 0..<numClasses`.
///
/// Keras: `keras.metrics.MeanIoU(num_classes, name=None, dtype=None,
/// ignore_class=None, sparse_y_true=True, sparse_y_pred=True, axis=-1)`;
/// deviations as ``IoU``.
///
/// ```swift
/// var m = try MeanIoU(numClasses: 3)
/// try m.update(yTrue: [0, 1, 1, 1], yPred: [0, 1, 0, 1])
/// m.result()   // 0.5833333…
/// ```
///
/// - Complexity: `update` is O(*n*); `result` O(*C*²).
public struct MeanIoU: PredictionMetric, KerasSerializable {
  /// `"MeanIoU"`.
  public static var className: String { "MeanIoU" }
  /// The name in logs; default `"mean_io_u"`.
  public var name: String
  /// The Keras dtype name, kept for the configuration.
  public var dtype: String
  /// The configuration.
  public let core: IoUCore
  /// The confusion matrix.
  public var state = ConfusionMatrixState()

  /// A mean IoU over `numClasses` classes.
  public init(
    numClasses: Int, name: String = "mean_io_u", dtype: String = "int64", ignoreClass: Int? = nil,
    sparseYTrue: Bool = true, sparseYPred: Bool = true, axis: Int = -1
  ) throws(MetricError) {
    core = try IoUCore(
      Self.className, numClasses: numClasses, targetClassIds: Array(0..<max(numClasses, 1)),
      ignoreClass: ignoreClass, sparseYTrue: sparseYTrue, sparseYPred: sparseYPred, axis: axis)
    self.name = name
    self.dtype = dtype
  }

  /// Rebuilds the metric from its Keras config.
  public init(config: KerasConfig) throws(MetricError) {
    let (name, dtype, reader) = try readNameAndDType(config, Self.className, defaultName: "mean_io_u")
    var r = reader
    guard let n = try r.optionalInt("num_classes") else {
      throw .invalidConfiguration("MeanIoU needs num_classes")
    }
    let ignore = try r.optionalInt("ignore_class")
    let st = try r.bool("sparse_y_true", default: true)
    let sp = try r.bool("sparse_y_pred", default: true)
    let axis = try r.int("axis", default: -1)
    try r.finish()
    try self.init(
      numClasses: n, name: name, dtype: dtype, ignoreClass: ignore, sparseYTrue: st, sparseYPred: sp,
      axis: axis)
  }

  /// Keras's config.
  public var config: KerasConfig {
    KerasConfig(
      className: Self.className,
      config: [
        "name": .string(name), "dtype": .string(dtype), "num_classes": .int(Int64(core.numClasses)),
        "ignore_class": optionalIntJSON(core.ignoreClass), "sparse_y_true": .bool(core.sparseYTrue),
        "sparse_y_pred": .bool(core.sparseYPred), "axis": .int(Int64(core.axis)),
      ])
  }

  /// Accumulates one batch.
  public mutating func update(yTrue: Tensor, yPred: Tensor, sampleWeight: Tensor?) throws(MetricError) {
    try state.merge(core.batch(yTrue: yTrue, yPred: yPred, sampleWeight: sampleWeight))
  }

  /// Restores a matrix of the same number of classes.
  public mutating func restore(_ state: ConfusionMatrixState) throws(MetricError) {
    try core.checkRestorable(state)
    self.state = state
  }

  /// The mean IoU over the classes present.
  public func result() -> MetricValue { core.result(state) }
}

/// The IoU of binary labels against thresholded predictions.
///
/// Formula: ``IoU`` with 2 classes, `y_pred ≥ threshold` (non-strict, unlike
/// ``BinaryAccuracy``) as class 1.
///
/// Keras: `keras.metrics.BinaryIoU(target_class_ids=(0, 1), threshold=0.5,
/// name=None, dtype=None)`; deviations as ``IoU``.
///
/// ```swift
/// var m = try BinaryIoU(targetClassIds: [0, 1], threshold: 0.3)
/// try m.update(yTrue: [0, 1, 0, 1], yPred: [0.1, 0.2, 0.4, 0.7])
/// m.result()   // 0.3333333…
/// ```
///
/// - Complexity: `update` is O(*n*).
public struct BinaryIoU: PredictionMetric, KerasSerializable {
  /// `"BinaryIoU"`.
  public static var className: String { "BinaryIoU" }
  /// The name in logs; default `"binary_io_u"`.
  public var name: String
  /// The Keras dtype name, kept for the configuration.
  public var dtype: String
  /// The threshold.
  public let threshold: Double
  /// The configuration.
  public let core: IoUCore
  /// The confusion matrix.
  public var state = ConfusionMatrixState()

  /// A binary IoU over `targetClassIds` (subset of `[0, 1]`).
  public init(
    targetClassIds: [Int] = [0, 1], threshold: Double = 0.5, name: String = "binary_io_u",
    dtype: String = "int64"
  ) throws(MetricError) {
    core = try IoUCore(
      Self.className, numClasses: 2, targetClassIds: targetClassIds, ignoreClass: nil, sparseYTrue: true,
      sparseYPred: true, axis: -1, threshold: threshold)
    self.threshold = threshold
    self.name = name
    self.dtype = dtype
  }

  /// Rebuilds the metric from its Keras config.
  public init(config: KerasConfig) throws(MetricError) {
    let (name, dtype, reader) = try readNameAndDType(config, Self.className, defaultName: "binary_io_u")
    var r = reader
    let ids = try readClassIds(&r, "target_class_ids") ?? [0, 1]
    let threshold = try r.double("threshold", default: 0.5)
    try r.finish()
    try self.init(targetClassIds: ids, threshold: threshold, name: name, dtype: dtype)
  }

  /// Keras's config.
  public var config: KerasConfig {
    KerasConfig(
      className: Self.className,
      config: [
        "name": .string(name), "dtype": .string(dtype),
        "target_class_ids": classIdsJSON(core.targetClassIds), "threshold": .double(threshold),
      ])
  }

  /// Accumulates one batch.
  public mutating func update(yTrue: Tensor, yPred: Tensor, sampleWeight: Tensor?) throws(MetricError) {
    try state.merge(core.batch(yTrue: yTrue, yPred: yPred, sampleWeight: sampleWeight))
  }

  /// Restores a 2-class matrix.
  public mutating func restore(_ state: ConfusionMatrixState) throws(MetricError) {
    try core.checkRestorable(state)
    self.state = state
  }

  /// The mean IoU over the target classes present.
  public func result() -> MetricValue { core.result(state) }
}

/// The IoU of one-hot labels against scores (argmax), over chosen classes.
///
/// Formula: ``IoU`` with `sparseYTrue: false`.
///
/// Keras: `keras.metrics.OneHotIoU(num_classes, target_class_ids,
/// name=None, dtype=None, ignore_class=None, sparse_y_pred=False, axis=-1)`.
///
/// ```swift
/// var m = try OneHotIoU(numClasses: 3, targetClassIds: [0, 2])
/// try m.update(yTrue: [[0, 0, 1], [1, 0, 0], [0, 1, 0], [1, 0, 0]],
///              yPred: [[0.2, 0.3, 0.5], [0.1, 0.2, 0.7], [0.5, 0.3, 0.1], [0.1, 0.4, 0.5]])
/// m.result()   // 0.0714285…
/// ```
///
/// - Complexity: `update` is O(*n*).
public struct OneHotIoU: PredictionMetric, KerasSerializable {
  /// `"OneHotIoU"`.
  public static var className: String { "OneHotIoU" }
  /// The name in logs; default `"one_hot_io_u"`.
  public var name: String
  /// The Keras dtype name, kept for the configuration.
  public var dtype: String
  /// The configuration.
  public let core: IoUCore
  /// The confusion matrix.
  public var state = ConfusionMatrixState()

  /// A one-hot IoU.
  public init(
    numClasses: Int, targetClassIds: [Int], name: String = "one_hot_io_u", dtype: String = "int64",
    ignoreClass: Int? = nil, sparseYPred: Bool = false, axis: Int = -1
  ) throws(MetricError) {
    core = try IoUCore(
      Self.className, numClasses: numClasses, targetClassIds: targetClassIds, ignoreClass: ignoreClass,
      sparseYTrue: false, sparseYPred: sparseYPred, axis: axis)
    self.name = name
    self.dtype = dtype
  }

  /// Rebuilds the metric from its Keras config.
  public init(config: KerasConfig) throws(MetricError) {
    let (name, dtype, reader) = try readNameAndDType(config, Self.className, defaultName: "one_hot_io_u")
    var r = reader
    guard let n = try r.optionalInt("num_classes"), let ids = try readClassIds(&r, "target_class_ids") else {
      throw .invalidConfiguration("OneHotIoU needs num_classes and target_class_ids")
    }
    let ignore = try r.optionalInt("ignore_class")
    let sp = try r.bool("sparse_y_pred", default: false)
    let axis = try r.int("axis", default: -1)
    try r.finish()
    try self.init(
      numClasses: n, targetClassIds: ids, name: name, dtype: dtype, ignoreClass: ignore, sparseYPred: sp,
      axis: axis)
  }

  /// Keras's config.
  public var config: KerasConfig {
    KerasConfig(
      className: Self.className,
      config: [
        "name": .string(name), "dtype": .string(dtype), "num_classes": .int(Int64(core.numClasses)),
        "target_class_ids": classIdsJSON(core.targetClassIds),
        "ignore_class": optionalIntJSON(core.ignoreClass), "sparse_y_pred": .bool(core.sparseYPred),
        "axis": .int(Int64(core.axis)),
      ])
  }

  /// Accumulates one batch.
  public mutating func update(yTrue: Tensor, yPred: Tensor, sampleWeight: Tensor?) throws(MetricError) {
    try state.merge(core.batch(yTrue: yTrue, yPred: yPred, sampleWeight: sampleWeight))
  }

  /// Restores a matrix of the same number of classes.
  public mutating func restore(_ state: ConfusionMatrixState) throws(MetricError) {
    try core.checkRestorable(state)
    self.state = state
  }

  /// The mean IoU over the target classes present.
  public func result() -> MetricValue { core.result(state) }
}

/// The mean IoU of one-hot labels against scores, over every class.
///
/// Keras: `keras.metrics.OneHotMeanIoU(num_classes, name=None, dtype=None,
/// ignore_class=None, sparse_y_pred=False, axis=-1)`.
///
/// ```swift
/// var m = try OneHotMeanIoU(numClasses: 3)
/// try m.update(yTrue: [[0, 0, 1], [1, 0, 0], [0, 1, 0], [1, 0, 0]],
///              yPred: [[0.2, 0.3, 0.5], [0.1, 0.2, 0.7], [0.5, 0.3, 0.1], [0.1, 0.4, 0.5]])
/// m.result()   // 0.0476190…
/// ```
///
/// - Complexity: `update` is O(*n*).
public struct OneHotMeanIoU: PredictionMetric, KerasSerializable {
  /// `"OneHotMeanIoU"`.
  public static var className: String { "OneHotMeanIoU" }
  /// The name in logs; default `"one_hot_mean_io_u"`.
  public var name: String
  /// The Keras dtype name, kept for the configuration.
  public var dtype: String
  /// The configuration.
  public let core: IoUCore
  /// The confusion matrix.
  public var state = ConfusionMatrixState()

  /// A one-hot mean IoU.
  public init(
    numClasses: Int, name: String = "one_hot_mean_io_u", dtype: String = "int64", ignoreClass: Int? = nil,
    sparseYPred: Bool = false, axis: Int = -1
  ) throws(MetricError) {
    core = try IoUCore(
      Self.className, numClasses: numClasses, targetClassIds: Array(0..<max(numClasses, 1)),
      ignoreClass: ignoreClass, sparseYTrue: false, sparseYPred: sparseYPred, axis: axis)
    self.name = name
    self.dtype = dtype
  }

  /// Rebuilds the metric from its Keras config.
  public init(config: KerasConfig) throws(MetricError) {
    let (name, dtype, reader) = try readNameAndDType(config, Self.className, defaultName: "one_hot_mean_io_u")
    var r = reader
    guard let n = try r.optionalInt("num_classes") else {
      throw .invalidConfiguration("OneHotMeanIoU needs num_classes")
    }
    let ignore = try r.optionalInt("ignore_class")
    let sp = try r.bool("sparse_y_pred", default: false)
    let axis = try r.int("axis", default: -1)
    try r.finish()
    try self.init(numClasses: n, name: name, dtype: dtype, ignoreClass: ignore, sparseYPred: sp, axis: axis)
  }

  /// Keras's config.
  public var config: KerasConfig {
    KerasConfig(
      className: Self.className,
      config: [
        "name": .string(name), "dtype": .string(dtype), "num_classes": .int(Int64(core.numClasses)),
        "ignore_class": optionalIntJSON(core.ignoreClass), "sparse_y_pred": .bool(core.sparseYPred),
        "axis": .int(Int64(core.axis)),
      ])
  }

  /// Accumulates one batch.
  public mutating func update(yTrue: Tensor, yPred: Tensor, sampleWeight: Tensor?) throws(MetricError) {
    try state.merge(core.batch(yTrue: yTrue, yPred: yPred, sampleWeight: sampleWeight))
  }

  /// Restores a matrix of the same number of classes.
  public mutating func restore(_ state: ConfusionMatrixState) throws(MetricError) {
    try core.checkRestorable(state)
    self.state = state
  }

  /// The mean IoU over the classes present.
  public func result() -> MetricValue { core.result(state) }
}
