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

  /// Throws unless the state is empty or a `classes × classes` matrix
  /// (a decoded state may claim any number of classes and counts).
  func check(classes n: Int, _ metric: String) throws(MetricError) {
    guard (classes == 0 && counts.isEmpty) || (classes == n && counts.count == n * n) else {
      throw .invalidState(
        "\(metric) counts \(n) × \(n) classes; the state has \(classes) classes and \(counts.count) counts")
    }
    if let i = counts.firstIndex(where: { !$0.value.isFinite }) {
      throw .invalidState("\(metric) counts must be finite; received \(counts[i].value) at index \(i)")
    }
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
    // A num_classes × num_classes matrix of compensated sums.
    try StateMemory.check(
      [numClasses, numClasses], bytesPerItem: MemoryLayout<CompensatedSum>.stride,
      "\(className) with num_classes = \(numClasses)")
    guard !targetClassIds.isEmpty else {
      throw .invalidConfiguration("\(className) target_class_ids must not be empty")
    }
    if let m = targetClassIds.max(), m >= numClasses {
      throw .invalidConfiguration("Target class id \(m) is out of range, which is [0, \(numClasses)).")
    }
    if let m = targetClassIds.min(), m < 0 {
      throw .invalidConfiguration("Target class id \(m) is out of range, which is [0, \(numClasses)).")
    }
    (self.className, self.numClasses, self.targetClassIds) = (className, numClasses, targetClassIds)
    (self.ignoreClass, self.sparseYTrue, self.sparseYPred) = (ignoreClass, sparseYTrue, sparseYPred)
    (self.axis, self.threshold) = (axis, threshold)
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
    try s.check(classes: numClasses, className)
  }
}

extension MetricFamily {
  /// Keras's IoU metrics.
  public static let iou = MetricFamily(
    "IoU metrics",
    [IoU.declaration, MeanIoU.declaration, BinaryIoU.declaration, OneHotIoU.declaration, OneHotMeanIoU.declaration])
}

/// The choice that distinguishes the five IoU metrics: their Keras
/// arguments and how those configure the shared ``IoUCore``.
public protocol IoUKind: Sendable {
  /// The metric's declaration.
  static var declaration: MetricDeclaration { get }
  /// The core configured by checked arguments.
  static func core(_ a: MetricArguments) throws(MetricError) -> IoUCore
  /// The declared arguments' values for `core`.
  static func arguments(_ core: IoUCore) -> [String: JSONValue]
}

/// An intersection-over-union metric on a confusion matrix of classes: the
/// generic type behind ``IoU``, ``MeanIoU``, ``BinaryIoU``, ``OneHotIoU``
/// and ``OneHotMeanIoU``, which are typealiases of it with their Keras
/// initialisers.
///
/// - Complexity: `update` is O(*n*); `result` O(*C*²).
public struct IntersectionOverUnion<Kind: IoUKind>: PredictionMetric, DeclaredMetric {
  /// The declaration.
  public static var declaration: MetricDeclaration { Kind.declaration }
  /// The name in logs.
  public var name: String
  /// The Keras dtype name, kept for the configuration.
  public var dtype: String
  /// The configuration.
  public let core: IoUCore
  /// The confusion matrix.
  public private(set) var state = ConfusionMatrixState()

  init(core: IoUCore, name: String, dtype: String) {
    self.core = core
    self.name = name
    self.dtype = dtype
  }

  /// Builds the metric from checked arguments.
  public init(arguments a: MetricArguments) throws(MetricError) {
    self.init(core: try Kind.core(a), name: a.name, dtype: a.dtype)
  }

  /// The declared arguments' values.
  public var arguments: [String: JSONValue] { Kind.arguments(core) }

  /// Accumulates one batch.
  public mutating func update(yTrue: Tensor, yPred: Tensor, sampleWeight: Tensor?) throws(MetricError) {
    try state.merge(core.batch(yTrue: yTrue, yPred: yPred, sampleWeight: sampleWeight))
  }

  /// Restores a matrix of the same number of classes.
  ///
  /// - Throws: ``MetricError/invalidState(_:)`` for another number of
  ///   classes; the state is then unchanged.
  public mutating func restore(_ state: ConfusionMatrixState) throws(MetricError) {
    try core.checkRestorable(state)
    self.state = state
  }

  /// The mean IoU over the target classes present.
  public func result() -> MetricValue { core.result(state) }
}

/// `ignore_class`: a true label whose samples are not counted.
let ignoreClassArgument = MetricArgument("ignore_class", .integer, default: .null)
/// `axis`: the class axis of the argmax.
let axisArgument = MetricArgument("axis", .integer, default: -1)

extension IoUCore {
  /// Every class id, `0..<numClasses`, for the mean IoUs, once the matrix
  /// of that many classes is known to fit ``StateMemory/limit`` (the list
  /// itself would otherwise be allocated first).
  static func allClasses(_ numClasses: Int, _ className: String) throws(MetricError) -> [Int] {
    try StateMemory.check(
      [numClasses, numClasses], bytesPerItem: MemoryLayout<CompensatedSum>.stride,
      "\(className) with num_classes = \(numClasses)")
    return Array(0..<max(numClasses, 1))
  }

  /// The arguments every class-id variant writes.
  func commonArguments(sparseYTrue: Bool) -> [String: JSONValue] {
    var c: [String: JSONValue] = [
      "num_classes": .int(Int64(numClasses)), "ignore_class": JSONValue(ignoreClass),
      "sparse_y_pred": .bool(sparseYPred), "axis": .int(Int64(axis)),
    ]
    if sparseYTrue { c["sparse_y_true"] = .bool(self.sparseYTrue) }
    return c
  }

  /// `target_class_ids` as JSON.
  var targetClassIdsJSON: JSONValue { .array(targetClassIds.map { .int(Int64($0)) }) }
}

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
public typealias IoU = IntersectionOverUnion<IoUOfTargetClasses>

/// The declaration of ``IoU``.
public enum IoUOfTargetClasses: IoUKind {
  public static let declaration = MetricDeclaration(
    IoU.self, className: "IoU", defaultName: "io_u",
    arguments: [
      MetricArgument(required: "num_classes", .integer), MetricArgument(required: "target_class_ids", .integers),
      ignoreClassArgument, MetricArgument("sparse_y_true", .bool, default: true),
      MetricArgument("sparse_y_pred", .bool, default: true), axisArgument,
    ], input: .samples)

  public static func core(_ a: MetricArguments) throws(MetricError) -> IoUCore {
    try IoUCore(
      "IoU", numClasses: try a.int("num_classes"), targetClassIds: try a.ints("target_class_ids") ?? [],
      ignoreClass: try a.optionalInt("ignore_class"), sparseYTrue: try a.bool("sparse_y_true"),
      sparseYPred: try a.bool("sparse_y_pred"), axis: try a.int("axis"))
  }

  public static func arguments(_ core: IoUCore) -> [String: JSONValue] {
    var c = core.commonArguments(sparseYTrue: true)
    c["target_class_ids"] = core.targetClassIdsJSON
    return c
  }
}

extension IntersectionOverUnion where Kind == IoUOfTargetClasses {
  /// An IoU over `targetClassIds` of `numClasses` classes.
  public init(
    numClasses: Int, targetClassIds: [Int], name: String = "io_u", dtype: String = "int64",
    ignoreClass: Int? = nil, sparseYTrue: Bool = true, sparseYPred: Bool = true, axis: Int = -1
  ) throws(MetricError) {
    let core = try IoUCore(
      "IoU", numClasses: numClasses, targetClassIds: targetClassIds, ignoreClass: ignoreClass,
      sparseYTrue: sparseYTrue, sparseYPred: sparseYPred, axis: axis)
    self.init(core: core, name: name, dtype: dtype)
  }
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
public typealias MeanIoU = IntersectionOverUnion<IoUOfAllClasses>

/// The declaration of ``MeanIoU``.
public enum IoUOfAllClasses: IoUKind {
  public static let declaration = MetricDeclaration(
    MeanIoU.self, className: "MeanIoU", defaultName: "mean_io_u",
    arguments: [
      MetricArgument(required: "num_classes", .integer), ignoreClassArgument,
      MetricArgument("sparse_y_true", .bool, default: true), MetricArgument("sparse_y_pred", .bool, default: true),
      axisArgument,
    ], input: .samples)

  public static func core(_ a: MetricArguments) throws(MetricError) -> IoUCore {
    try IoUCore(
      "MeanIoU", numClasses: try a.int("num_classes"),
      targetClassIds: try IoUCore.allClasses(try a.int("num_classes"), "MeanIoU"),
      ignoreClass: try a.optionalInt("ignore_class"), sparseYTrue: try a.bool("sparse_y_true"),
      sparseYPred: try a.bool("sparse_y_pred"), axis: try a.int("axis"))
  }

  public static func arguments(_ core: IoUCore) -> [String: JSONValue] { core.commonArguments(sparseYTrue: true) }
}

extension IntersectionOverUnion where Kind == IoUOfAllClasses {
  /// A mean IoU over `numClasses` classes.
  public init(
    numClasses: Int, name: String = "mean_io_u", dtype: String = "int64", ignoreClass: Int? = nil,
    sparseYTrue: Bool = true, sparseYPred: Bool = true, axis: Int = -1
  ) throws(MetricError) {
    let core = try IoUCore(
      "MeanIoU", numClasses: numClasses, targetClassIds: try IoUCore.allClasses(numClasses, "MeanIoU"),
      ignoreClass: ignoreClass,
      sparseYTrue: sparseYTrue, sparseYPred: sparseYPred, axis: axis)
    self.init(core: core, name: name, dtype: dtype)
  }
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
public typealias BinaryIoU = IntersectionOverUnion<IoUOfThresholdedScores>

/// The declaration of ``BinaryIoU``.
public enum IoUOfThresholdedScores: IoUKind {
  public static let declaration = MetricDeclaration(
    BinaryIoU.self, className: "BinaryIoU", defaultName: "binary_io_u",
    arguments: [
      MetricArgument("target_class_ids", .integers, default: [0, 1]),
      MetricArgument("threshold", .number, default: 0.5),
    ], input: .samples)

  public static func core(_ a: MetricArguments) throws(MetricError) -> IoUCore {
    try IoUCore(
      "BinaryIoU", numClasses: 2, targetClassIds: try a.ints("target_class_ids") ?? [], ignoreClass: nil,
      sparseYTrue: true, sparseYPred: true, axis: -1, threshold: try a.double("threshold"))
  }

  public static func arguments(_ core: IoUCore) -> [String: JSONValue] {
    ["target_class_ids": core.targetClassIdsJSON, "threshold": .double(core.threshold ?? 0.5)]
  }
}

extension IntersectionOverUnion where Kind == IoUOfThresholdedScores {
  /// A binary IoU over `targetClassIds` (subset of `[0, 1]`).
  public init(
    targetClassIds: [Int] = [0, 1], threshold: Double = 0.5, name: String = "binary_io_u", dtype: String = "int64"
  ) throws(MetricError) {
    let core = try IoUCore(
      "BinaryIoU", numClasses: 2, targetClassIds: targetClassIds, ignoreClass: nil, sparseYTrue: true,
      sparseYPred: true, axis: -1, threshold: threshold)
    self.init(core: core, name: name, dtype: dtype)
  }

  /// The threshold: `y_pred ≥ threshold` is class 1.
  public var threshold: Double { core.threshold ?? 0.5 }
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
///              yPred: [[0.2, 0.3, 0.5], [0.1, 0.2, 0.7], [0.5, 0.3, 0.1], [0.1, 0.4, 0.5]],
///              sampleWeight: [0.1, 0.2, 0.3, 0.4])
/// m.result()   // 0.0714285…
/// ```
///
/// - Complexity: `update` is O(*n*).
public typealias OneHotIoU = IntersectionOverUnion<IoUOfOneHotTargetClasses>

/// The declaration of ``OneHotIoU``.
public enum IoUOfOneHotTargetClasses: IoUKind {
  public static let declaration = MetricDeclaration(
    OneHotIoU.self, className: "OneHotIoU", defaultName: "one_hot_io_u",
    arguments: [
      MetricArgument(required: "num_classes", .integer), MetricArgument(required: "target_class_ids", .integers),
      ignoreClassArgument, MetricArgument("sparse_y_pred", .bool, default: false), axisArgument,
    ], input: .classAxis)

  public static func core(_ a: MetricArguments) throws(MetricError) -> IoUCore {
    try IoUCore(
      "OneHotIoU", numClasses: try a.int("num_classes"), targetClassIds: try a.ints("target_class_ids") ?? [],
      ignoreClass: try a.optionalInt("ignore_class"), sparseYTrue: false, sparseYPred: try a.bool("sparse_y_pred"),
      axis: try a.int("axis"))
  }

  public static func arguments(_ core: IoUCore) -> [String: JSONValue] {
    var c = core.commonArguments(sparseYTrue: false)
    c["target_class_ids"] = core.targetClassIdsJSON
    return c
  }
}

extension IntersectionOverUnion where Kind == IoUOfOneHotTargetClasses {
  /// A one-hot IoU.
  public init(
    numClasses: Int, targetClassIds: [Int], name: String = "one_hot_io_u", dtype: String = "int64",
    ignoreClass: Int? = nil, sparseYPred: Bool = false, axis: Int = -1
  ) throws(MetricError) {
    let core = try IoUCore(
      "OneHotIoU", numClasses: numClasses, targetClassIds: targetClassIds, ignoreClass: ignoreClass,
      sparseYTrue: false, sparseYPred: sparseYPred, axis: axis)
    self.init(core: core, name: name, dtype: dtype)
  }
}

/// The mean IoU of one-hot labels against scores, over every class.
///
/// Keras: `keras.metrics.OneHotMeanIoU(num_classes, name=None, dtype=None,
/// ignore_class=None, sparse_y_pred=False, axis=-1)`.
///
/// ```swift
/// var m = try OneHotMeanIoU(numClasses: 3)
/// try m.update(yTrue: [[0, 0, 1], [1, 0, 0], [0, 1, 0], [1, 0, 0]],
///              yPred: [[0.2, 0.3, 0.5], [0.1, 0.2, 0.7], [0.5, 0.3, 0.1], [0.1, 0.4, 0.5]],
///              sampleWeight: [0.1, 0.2, 0.3, 0.4])
/// m.result()   // 0.0476190…
/// ```
///
/// - Complexity: `update` is O(*n*).
public typealias OneHotMeanIoU = IntersectionOverUnion<IoUOfOneHotAllClasses>

/// The declaration of ``OneHotMeanIoU``.
public enum IoUOfOneHotAllClasses: IoUKind {
  public static let declaration = MetricDeclaration(
    OneHotMeanIoU.self, className: "OneHotMeanIoU", defaultName: "one_hot_mean_io_u",
    arguments: [
      MetricArgument(required: "num_classes", .integer), ignoreClassArgument,
      MetricArgument("sparse_y_pred", .bool, default: false), axisArgument,
    ], input: .classAxis)

  public static func core(_ a: MetricArguments) throws(MetricError) -> IoUCore {
    try IoUCore(
      "OneHotMeanIoU", numClasses: try a.int("num_classes"),
      targetClassIds: try IoUCore.allClasses(try a.int("num_classes"), "OneHotMeanIoU"),
      ignoreClass: try a.optionalInt("ignore_class"), sparseYTrue: false, sparseYPred: try a.bool("sparse_y_pred"),
      axis: try a.int("axis"))
  }

  public static func arguments(_ core: IoUCore) -> [String: JSONValue] { core.commonArguments(sparseYTrue: false) }
}

extension IntersectionOverUnion where Kind == IoUOfOneHotAllClasses {
  /// A one-hot mean IoU.
  public init(
    numClasses: Int, name: String = "one_hot_mean_io_u", dtype: String = "int64", ignoreClass: Int? = nil,
    sparseYPred: Bool = false, axis: Int = -1
  ) throws(MetricError) {
    let core = try IoUCore(
      "OneHotMeanIoU", numClasses: numClasses, targetClassIds: try IoUCore.allClasses(numClasses, "OneHotMeanIoU"),
      ignoreClass: ignoreClass, sparseYTrue: false, sparseYPred: sparseYPred, axis: axis)
    self.init(core: core, name: name, dtype: dtype)
  }
}
