//===--- ConfusionMetrics.swift -------------------------------------------===//
//
// Keras's `confusion_metrics.py`: TruePositives, FalsePositives,
// TrueNegatives, FalseNegatives, Precision, Recall, the four at-X metrics,
// and AUC. All share one confusion-matrix update (ConfusionMatrix.swift).
// The condition counts are in ConditionCounts.swift,
// Precision and Recall in PrecisionRecall.swift, the at-X metrics in
// OperatingPoints.swift.
//
//===----------------------------------------------------------------------===//

//===--- Shared configuration helpers -------------------------------------===//

/// Reads Keras's `thresholds` argument: `null`, a number, or a list.
func readThresholds(_ r: inout ConfigReader) throws(MetricError) -> ([Double]?, JSONValue) {
  guard let v = r.value("thresholds") else { return (nil, .null) }
  switch v {
  case .int, .double:
    return ([v.number!], v)
  case .array(let a):
    var out: [Double] = []
    for x in a {
      guard let n = x.number else {
        throw .invalidConfiguration("thresholds must be numbers; received \(v)")
      }
      out.append(n)
    }
    return (out, v)
  default:
    throw .invalidConfiguration("thresholds must be a number or a list of numbers; received \(v)")
  }
}

/// The JSON form of thresholds given in Swift.
func thresholdsJSON(_ t: [Double]?) -> JSONValue {
  t.map { .array($0.map(JSONValue.double)) } ?? .null
}

func optionalIntJSON(_ x: Int?) -> JSONValue { x.map { .int(Int64($0)) } ?? .null }

/// Checks a state to restore against the thresholds (and labels) a metric
/// counts: the arrays have the lengths the state's shape says, and a
/// non-empty state has `thresholds` thresholds and `labels` labels (any
/// positive number when `labels` is `nil`).
///
/// - Throws: ``MetricError/invalidState(_:)`` naming both shapes.
func checkRestorable(_ s: ConfusionCounts, thresholds: Int, labels: Int?, _ metric: String)
  throws(MetricError)
{
  try s.validate()
  if s.isEmpty { return }
  let labelsFit = labels.map { s.labelCount == $0 } ?? (s.labelCount >= 1)
  guard s.thresholdCount == thresholds, labelsFit else {
    throw .invalidState(
      "\(metric) counts \(thresholds) thresholds × \(labels.map(String.init) ?? "any number of") labels; the state has \(s.thresholdCount) × \(s.labelCount)"
    )
  }
}

/// A per-threshold result: a scalar for one threshold, else a vector.
func perThreshold(_ values: [Double]) -> MetricValue {
  values.count == 1 ? .scalar(values[0]) : .vector(values)
}

/// Keras's `thresholds`: a number, a list of numbers, or `None` for the
/// metric's default.
let thresholdsArgument = MetricArgument("thresholds", .numbers, default: .null)

/// Keras's `class_id`: the column scored one-vs-rest, or `None` for all.
let classIdArgument = MetricArgument("class_id", .integer, default: .null)

/// The rates of one threshold's confusion matrix, each 0 where its
/// denominator is 0 (Keras's `divide_no_nan`).
public struct ConfusionRates: Sendable, Equatable {
  /// Sensitivity, recall or true-positive rate: `TP / (TP + FN)`.
  public let sensitivity: Double
  /// Specificity or true-negative rate: `TN / (TN + FP)`.
  public let specificity: Double
  /// Precision or positive predictive value: `TP / (TP + FP)`.
  public let precision: Double

  /// The rates of `m`.
  public init(_ m: ConfusionCounts.Matrix) {
    sensitivity = divideNoNaN(m.tp, m.tp + m.fn)
    specificity = divideNoNaN(m.tn, m.tn + m.fp)
    precision = divideNoNaN(m.tp, m.tp + m.fp)
  }
}

extension ConfusionUpdate {
  /// Replaces `state` with `new` after ``checkRestorable(_:thresholds:labels:_:)``
  /// against these thresholds and `labels` (one unless given).
  func restore(_ new: ConfusionCounts, to state: inout ConfusionCounts, labels: Int? = 1) throws(MetricError) {
    try checkRestorable(new, thresholds: thresholds.count, labels: labels, metricName)
    state = new
  }

  /// One value per threshold from `state` (0 for each before any update): a
  /// scalar for one threshold, else a vector, as Keras.
  func perThreshold(_ state: ConfusionCounts, _ value: (ConfusionCounts.Matrix) -> Double) -> MetricValue {
    let values = (0..<thresholds.count).map { t in state.isEmpty ? 0 : value(state.counts(threshold: t)) }
    return values.count == 1 ? .scalar(values[0]) : .vector(values)
  }
}

extension Thresholds {
  /// A metric's `thresholds` after Keras's `parse_init_thresholds` (`nil`
  /// gives `[d]`), on the evenly spaced path when Keras would take it.
  ///
  /// - Throws: ``MetricError/invalidConfiguration(_:)`` for an empty list or
  ///   values outside [0, 1].
  init(parsing values: [Double]?, default d: Double) throws(MetricError) {
    let t = try Thresholds.parse(values, default: d)
    self.init(t, evenlySpaced: Thresholds.isEvenlyDistributed(t))
  }
}

//===--- AUC --------------------------------------------------------------===//

/// The curve whose area ``AUC`` computes.
public enum AUCCurve: String, Sendable, Codable, CaseIterable {
  /// Receiver operating characteristic: recall against false-positive rate.
  case roc = "ROC"
  /// Precision against recall.
  case pr = "PR"
  /// Flach & Kull's precision-recall-gain curve.
  case prGain = "PRGAIN"

  /// Parses Keras's spellings (`"ROC"`/`"roc"`, `"PR"`/`"pr"`,
  /// `"PRGAIN"`/`"prgain"`).
  public init(keras value: String) throws(MetricError) {
    switch value {
    case "ROC", "roc": self = .roc
    case "PR", "pr": self = .pr
    case "PRGAIN", "prgain": self = .prGain
    default:
      throw .invalidConfiguration(
        "Invalid AUC curve value: \"\(value)\". Expected values are [\"PR\", \"ROC\", \"PRGAIN\"]")
    }
  }
}

/// How ``AUC`` sums the area under its curve.
public enum AUCSummationMethod: String, Sendable, Codable, CaseIterable {
  /// Mid-point (trapezoid) rule; for PR, Davis & Goadrich interpolation.
  case interpolation
  /// Left or right sums, whichever is lower.
  case minoring
  /// Left or right sums, whichever is higher.
  case majoring

  /// Parses Keras's spellings (`"interpolation"`/`"Interpolation"`, ...).
  public init(keras value: String) throws(MetricError) {
    switch value {
    case "interpolation", "Interpolation": self = .interpolation
    case "minoring", "Minoring": self = .minoring
    case "majoring", "Majoring": self = .majoring
    default:
      throw .invalidConfiguration(
        "Invalid AUC summation method value: \"\(value)\". Expected values are [\"interpolation\", \"majoring\", \"minoring\"]"
      )
    }
  }
}

/// The area under the ROC, PR or PR-gain curve, approximated by a Riemann
/// sum over `numThresholds` thresholds.
///
/// Formula (spec §3.5): with per-threshold counts, `recall = TP/(TP+FN)`,
/// `fpr = FP/(FP+TN)`, `precision = TP/(TP+FP)` (each 0 on a zero
/// denominator); ROC sums `Δfpr · height(recall)`, PR `Δrecall ·
/// height(precision)` (Davis & Goadrich interpolation by default), PRGAIN
/// the gain curve. Thresholds are `[−ε, 1/(T−1), …, (T−2)/(T−1), 1+ε]`, or
/// `[−ε] + sorted(thresholds) + [1+ε]` when given. With `multiLabel`, one AUC
/// per column of a rank-2 `yPred`, averaged (weighted by `labelWeights`).
///
/// Keras: `keras.metrics.AUC(num_thresholds=200, curve="ROC",
/// summation_method="interpolation", name=None, dtype=None,
/// thresholds=None, multi_label=False, num_labels=None, label_weights=None,
/// from_logits=False)`. Deviations: counts are double-double (exact to 2^53);
/// labels outside {0, 1}, NaN predictions and explicit thresholds outside
/// [0, 1] throw; the result is computed in `Double`. Like Keras, a ROC curve
/// with one class present gives 0. The Riemann sum can differ from the exact
/// area; ``ExactAUC`` computes it exactly.
///
/// ```swift
/// var m = try AUC(numThresholds: 3)
/// try m.update(yTrue: [0, 0, 1, 1], yPred: [0, 0.5, 0.3, 0.9])
/// m.result()   // 0.75
/// ```
///
/// - Complexity: `update` is O(*n* + *T*) for evenly spaced thresholds (the
///   default), not O(*n*·*T*): on the benchmark machine 10,000 thresholds
///   cost 1.26× what 200 do for one update of 10 M rows, 1.44–1.62× for ten
///   updates of 1 M (the O(*T*) part is paid per update; `BENCHMARKS.md`).
public struct AUC: PredictionMetric, KerasSerializable {
  /// `"AUC"`.
  public static var className: String { "AUC" }
  /// The name in logs; default `"auc"`.
  public var name: String
  /// The Keras dtype name, kept for the configuration.
  public var dtype: String
  /// The per-threshold (per-label) counts.
  public var state = ConfusionCounts()
  /// The number of thresholds, including the two end points.
  public let numThresholds: Int
  /// The curve.
  public let curve: AUCCurve
  /// The Riemann sum.
  public let summationMethod: AUCSummationMethod
  /// One AUC per label, averaged.
  public let multiLabel: Bool
  /// The number of labels, if fixed up front.
  public let numLabels: Int?
  /// Weights of the labels (columns).
  public let labelWeights: [Double]?
  /// Whether `yPred` holds logits (a sigmoid is applied first).
  public let fromLogits: Bool
  let explicitThresholds: [Double]?
  let labelWeightsConfig: JSONValue
  let update: ConfusionUpdate

  /// An AUC with Keras's arguments.
  ///
  /// - Throws: ``MetricError/invalidConfiguration(_:)`` for
  ///   `numThresholds ≤ 1`, thresholds outside [0, 1], or `numLabels`
  ///   without `multiLabel`.
  public init(
    numThresholds: Int = 200, curve: AUCCurve = .roc,
    summationMethod: AUCSummationMethod = .interpolation, name: String = "auc",
    dtype: String = "float32", thresholds: [Double]? = nil, multiLabel: Bool = false,
    numLabels: Int? = nil, labelWeights: [Double]? = nil, fromLogits: Bool = false
  ) throws(MetricError) {
    try self.init(
      numThresholds: numThresholds, curve: curve, summationMethod: summationMethod, name: name,
      dtype: dtype, thresholds: thresholds, multiLabel: multiLabel, numLabels: numLabels,
      labelWeights: labelWeights,
      labelWeightsConfig: labelWeights.map { .array($0.map(JSONValue.double)) } ?? .null,
      fromLogits: fromLogits)
  }

  init(
    numThresholds: Int, curve: AUCCurve, summationMethod: AUCSummationMethod, name: String,
    dtype: String, thresholds: [Double]?, multiLabel: Bool, numLabels: Int?,
    labelWeights: [Double]?, labelWeightsConfig: JSONValue, fromLogits: Bool
  ) throws(MetricError) {
    let inner: [Double]
    let evenly: Bool
    if let thresholds {
      let sorted = try Thresholds.parse(thresholds, default: 0.5).sorted()
      inner = sorted
      evenly = Thresholds.isEvenlyDistributed([0] + sorted + [1])
      self.numThresholds = sorted.count + 2
    } else {
      guard numThresholds > 1 else {
        throw .invalidConfiguration(
          "Argument `num_thresholds` must be an integer > 1. Received: num_thresholds=\(numThresholds)")
      }
      inner = (0..<(numThresholds - 2)).map { Double($0 + 1) / Double(numThresholds - 1) }
      evenly = true
      self.numThresholds = numThresholds
    }
    if numLabels != nil && !multiLabel {
      throw .invalidConfiguration("`num_labels` is needed only when `multi_label` is True.")
    }
    if let numLabels, numLabels < 1 {
      throw .invalidConfiguration("num_labels must be ≥ 1; received \(numLabels)")
    }
    if let labelWeights, let bad = labelWeights.first(where: { !$0.isFinite }) {
      throw .invalidConfiguration("label_weights must be finite; received \(bad)")
    }
    let epsilon = 1e-7
    self.explicitThresholds = thresholds == nil ? nil : inner
    self.curve = curve
    self.summationMethod = summationMethod
    self.name = name
    self.dtype = dtype
    self.multiLabel = multiLabel
    self.numLabels = numLabels
    self.labelWeights = labelWeights
    self.labelWeightsConfig = labelWeightsConfig
    self.fromLogits = fromLogits
    self.update = ConfusionUpdate(
      thresholds: Thresholds([0 - epsilon] + inner + [1 + epsilon], evenlySpaced: evenly),
      multiLabel: multiLabel, labelWeights: multiLabel ? nil : labelWeights,
      fromLogits: fromLogits, metricName: "AUC")
  }

  /// Rebuilds the metric from its Keras config.
  public init(config: KerasConfig) throws(MetricError) {
    var r = try ConfigReader(config, expecting: Self.className)
    let name = try r.string("name", default: "auc")
    let dtype = try r.dtype()
    let n = try r.int("num_thresholds", default: 200)
    let curve = try AUCCurve(keras: try r.string("curve", default: "ROC"))
    let method = try AUCSummationMethod(keras: try r.string("summation_method", default: "interpolation"))
    let multi = try r.bool("multi_label", default: false)
    let numLabels = try r.optionalInt("num_labels")
    let fromLogits = try r.bool("from_logits", default: false)
    let (thresholds, _) = try readThresholds(&r)
    let lwValue = r.value("label_weights")
    try r.finish()
    var weights: [Double]? = nil
    if let lwValue {
      weights = try Self.readLabelWeights(lwValue)
    }
    try self.init(
      numThresholds: n, curve: curve, summationMethod: method, name: name, dtype: dtype,
      thresholds: thresholds, multiLabel: multi, numLabels: numLabels, labelWeights: weights,
      labelWeightsConfig: lwValue ?? .null, fromLogits: fromLogits)
  }

  /// Label weights as a list, or as Keras's serialized tensor
  /// (`{"class_name": "__tensor__", "config": {"value": [...]}}`).
  static func readLabelWeights(_ v: JSONValue) throws(MetricError) -> [Double] {
    var list = v
    if case .object(let o) = v, case .object(let inner)? = o["config"], let value = inner["value"] {
      list = value
    }
    guard case .array(let a) = list else {
      throw .invalidConfiguration("label_weights must be a list of numbers; received \(v)")
    }
    var out: [Double] = []
    for x in a {
      guard let n = x.number else {
        throw .invalidConfiguration("label_weights must be a list of numbers; received \(v)")
      }
      out.append(n)
    }
    return out
  }

  /// Keras's config (with `thresholds` only when they were given).
  public var config: KerasConfig {
    var c: [String: JSONValue] = [
      "name": .string(name), "dtype": .string(dtype),
      "num_thresholds": .int(Int64(numThresholds)), "curve": .string(curve.rawValue),
      "summation_method": .string(summationMethod.rawValue), "multi_label": .bool(multiLabel),
      "num_labels": optionalIntJSON(numLabels), "label_weights": labelWeightsConfig,
      "from_logits": .bool(fromLogits),
    ]
    if let explicitThresholds { c["thresholds"] = .array(explicitThresholds.map(JSONValue.double)) }
    return KerasConfig(className: Self.className, config: c)
  }

  /// The thresholds, with the two ε end points (Keras's `thresholds`).
  public var thresholds: [Double] { update.thresholds.values }

  /// Accumulates one batch.
  ///
  /// - Throws: ``MetricError`` for labels outside {0, 1}, NaN predictions,
  ///   shapes that differ, weights that do not broadcast, a multi-label
  ///   `yPred` that is not rank 2 or changes its number of labels; the
  ///   state is then unchanged.
  public mutating func update(yTrue: Tensor, yPred: Tensor, sampleWeight: Tensor?) throws(MetricError) {
    guard multiLabel else {
      try update.add(to: &state, yTrue: yTrue, yPred: yPred, sampleWeight: sampleWeight)
      return
    }
    let fixed = numLabels ?? (state.isEmpty ? nil : state.labelCount)
    let batch = try update.counts(yTrue: yTrue, yPred: yPred, sampleWeight: sampleWeight, labels: fixed)
    if let lw = labelWeights, lw.count != batch.labelCount {
      throw .shapeMismatch(
        "AUC: label_weights of length \(lw.count) do not match the \(batch.labelCount) labels of y_pred of shape \(describe(yPred.shape))"
      )
    }
    try state.merge(batch)
  }

  /// Restores counts saved for the same thresholds (and labels).
  public mutating func restore(_ state: ConfusionCounts) throws(MetricError) {
    try checkRestorable(
      state, thresholds: numThresholds, labels: multiLabel ? numLabels : 1, Self.className)
    self.state = state
  }

  /// The area (averaged over labels with `multiLabel`); 0 before any update.
  public func result() -> MetricValue {
    guard !state.isEmpty else { return .scalar(0) }
    let labels = state.labelCount
    let perLabel = (0..<labels).map { l in
      let c = (0..<numThresholds).map { state.counts(threshold: $0, label: l) }
      return Self.area(c, curve: curve, method: summationMethod)
    }
    if !multiLabel { return .scalar(perLabel[0]) }
    if let lw = labelWeights, lw.count == labels {
      var num = CompensatedSum()
      var den = CompensatedSum()
      for l in 0..<labels {
        num.add(perLabel[l] * lw[l])
        den.add(lw[l])
      }
      return .scalar(divideNoNaN(num.value, den.value))
    }
    var s = CompensatedSum()
    s.add(contentsOf: perLabel)
    return .scalar(s.value / Double(labels))
  }

  /// The Riemann sum over one label's per-threshold counts.
  static func area(
    _ c: [(tp: Double, fp: Double, tn: Double, fn: Double)], curve: AUCCurve,
    method: AUCSummationMethod
  ) -> Double {
    let n = c.count
    var total = CompensatedSum()
    if curve == .pr && method == .interpolation {
      // Davis & Goadrich: interpolate TP and P = TP + FP linearly.
      for i in 0..<(n - 1) {
        let a = c[i]
        let b = c[i + 1]
        let dtp = a.tp - b.tp
        let pA = a.tp + a.fp
        let pB = b.tp + b.fp
        let dp = pA - pB
        let slope = divideNoNaN(dtp, max(dp, 0))
        let intercept = b.tp - slope * pB
        let ratio = (pA > 0 && pB > 0) ? divideNoNaN(pA, max(pB, 0)) : 1
        total.add(divideNoNaN(slope * (dtp + intercept * .log(ratio)), max(b.tp + b.fn, 0)))
      }
      return total.value
    }
    var x = [Double](repeating: 0, count: n)
    var y = [Double](repeating: 0, count: n)
    for (i, k) in c.enumerated() {
      let recall = divideNoNaN(k.tp, k.tp + k.fn)
      switch curve {
      case .roc:
        x[i] = divideNoNaN(k.fp, k.fp + k.tn)
        y[i] = recall
      case .pr:
        x[i] = recall
        y[i] = divideNoNaN(k.tp, k.tp + k.fp)
      case .prGain:
        let scale = divideNoNaN(k.tp + k.fn, k.tn + k.fp)
        var recallGain = 1 - scale * divideNoNaN(k.fn, k.tp)
        var precisionGain = 1 - scale * divideNoNaN(k.fp, k.tp)
        if k.tp == 0 {
          recallGain = 0
          precisionGain = 1
        }
        x[i] = max(recallGain, 0)
        y[i] = precisionGain
      }
    }
    for i in 0..<(n - 1) {
      let height: Double =
        switch method {
        case .interpolation: (y[i] + y[i + 1]) / 2
        case .minoring: min(y[i], y[i + 1])
        case .majoring: max(y[i], y[i + 1])
        }
      total.add((x[i] - x[i + 1]) * height)
    }
    return total.value
  }
}
