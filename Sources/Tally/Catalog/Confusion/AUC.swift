//===--- AUC.swift --------------------------------------------------------===//
//
// Keras's AUC: the area under the ROC, PR or PR-gain curve, as a Riemann sum
// over per-threshold confusion counts.
//
//===----------------------------------------------------------------------===//

import RealModule

/// The curve whose area ``AUC`` computes.
public enum AUCCurve: String, Sendable, Codable, CaseIterable {
  /// Receiver operating characteristic: recall against false-positive rate.
  case roc = "ROC"
  /// Precision against recall.
  case pr = "PR"
  /// Flach & Kull's precision-recall-gain curve.
  case prGain = "PRGAIN"

  /// Keras's spellings of the curve: `"ROC"` and `"roc"`, ...
  var kerasSpellings: [String] { [rawValue, rawValue.lowercased()] }

  /// Parses Keras's spellings (`"ROC"`/`"roc"`, `"PR"`/`"pr"`,
  /// `"PRGAIN"`/`"prgain"`).
  ///
  /// - Throws: ``MetricError/invalidConfiguration(_:)`` for another string.
  public init(keras value: String) throws(MetricError) {
    guard let curve = Self.allCases.first(where: { $0.kerasSpellings.contains(value) }) else {
      throw .invalidConfiguration(
        "Invalid AUC curve value: \"\(value)\". Expected values are [\"PR\", \"ROC\", \"PRGAIN\"]")
    }
    self = curve
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

  /// Keras's spellings of the method: `"interpolation"` and
  /// `"Interpolation"`, ...
  var kerasSpellings: [String] { [rawValue, rawValue.prefix(1).uppercased() + rawValue.dropFirst()] }

  /// Parses Keras's spellings (`"interpolation"`/`"Interpolation"`, ...).
  ///
  /// - Throws: ``MetricError/invalidConfiguration(_:)`` for another string.
  public init(keras value: String) throws(MetricError) {
    guard let method = Self.allCases.first(where: { $0.kerasSpellings.contains(value) }) else {
      throw .invalidConfiguration(
        "Invalid AUC summation method value: \"\(value)\". Expected values are [\"interpolation\", \"majoring\", \"minoring\"]"
      )
    }
    self = method
  }
}

/// The area under the ROC, PR or PR-gain curve, approximated by a Riemann
/// sum over `numThresholds` thresholds.
///
/// Formula: with per-threshold counts, `recall = TP/(TP+FN)`,
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
///   default), O(*n* log *T* + *T*) for other given thresholds, never
///   Keras's O(*n*·*T*); with `multiLabel`, the O(*T*) part is O(*T*·*L*)
///   for *L* labels. `result()` is O(*T*·*L*).
public struct AUC: PredictionMetric, DeclaredMetric {
  /// Keras's class name, default name and arguments.
  public static let declaration = MetricDeclaration(
    AUC.self, className: "AUC", defaultName: "auc",
    arguments: [
      MetricArgument("num_thresholds", .integer, default: 200),
      MetricArgument("curve", .choice(AUCCurve.allCases.flatMap(\.kerasSpellings)), default: "ROC"),
      MetricArgument(
        "summation_method", .choice(AUCSummationMethod.allCases.flatMap(\.kerasSpellings)), default: "interpolation"),
      // Keras writes `thresholds` only when they were given.
      MetricArgument("thresholds", .numbers, default: .null, omittedAtDefault: true),
      MetricArgument("multi_label", .bool, default: false),
      MetricArgument("num_labels", .integer, default: .null),
      MetricArgument("label_weights", .numbers, default: .null),
      MetricArgument("from_logits", .bool, default: false),
    ],
    input: .samples)
  /// The name in logs; default `"auc"`.
  public var name: String
  /// The Keras dtype name, kept for the configuration.
  public var dtype: String
  /// The per-threshold (per-label) counts; ``restore(_:)`` sets them.
  public internal(set) var state = ConfusionCounts()
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
  /// The given thresholds, sorted, without the end points.
  let explicitThresholds: [Double]?
  /// `label_weights` as given (a list, or Keras's serialized tensor), for
  /// the configuration.
  let labelWeightsValue: JSONValue
  let update: ConfusionUpdate

  /// An AUC with Keras's arguments.
  ///
  /// - Throws: ``MetricError/invalidConfiguration(_:)`` for
  ///   `numThresholds ≤ 1`, thresholds outside [0, 1], `numLabels`
  ///   without `multiLabel` or below 1, or label weights that are not
  ///   finite.
  public init(
    numThresholds: Int = 200, curve: AUCCurve = .roc,
    summationMethod: AUCSummationMethod = .interpolation, name: String? = nil,
    dtype: String = "float32", thresholds: [Double]? = nil, multiLabel: Bool = false,
    numLabels: Int? = nil, labelWeights: [Double]? = nil, fromLogits: Bool = false
  ) throws(MetricError) {
    try self.init(
      numThresholds: numThresholds, curve: curve, summationMethod: summationMethod, name: name,
      dtype: dtype, thresholds: thresholds, multiLabel: multiLabel, numLabels: numLabels,
      labelWeights: labelWeights, labelWeightsValue: JSONValue(labelWeights), fromLogits: fromLogits)
  }

  init(
    numThresholds: Int, curve: AUCCurve, summationMethod: AUCSummationMethod, name: String?,
    dtype: String, thresholds: [Double]?, multiLabel: Bool, numLabels: Int?,
    labelWeights: [Double]?, labelWeightsValue: JSONValue, fromLogits: Bool
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
      // Four compensated sums per threshold and label, and the thresholds.
      try StateMemory.check(
        [numThresholds, max(numLabels ?? 1, 1)], bytesPerItem: 4 * MemoryLayout<CompensatedSum>.stride,
        "AUC with num_thresholds = \(numThresholds)\(numLabels.map { " and num_labels = \($0)" } ?? "")")
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
    (self.curve, self.summationMethod, self.name) = (curve, summationMethod, name ?? Self.declaration.defaultName)
    (self.dtype, self.multiLabel, self.numLabels) = (dtype, multiLabel, numLabels)
    (self.labelWeights, self.labelWeightsValue, self.fromLogits) = (labelWeights, labelWeightsValue, fromLogits)
    self.update = ConfusionUpdate(
      thresholds: Thresholds([0 - epsilon] + inner + [1 + epsilon], evenlySpaced: evenly),
      multiLabel: multiLabel, labelWeights: multiLabel ? nil : labelWeights,
      fromLogits: fromLogits, metricName: "AUC")
  }

  /// Builds the metric from checked arguments.
  public init(arguments a: MetricArguments) throws(MetricError) {
    try self.init(arguments: a, labelWeightsValue: try a.value("label_weights"))
  }

  init(arguments a: MetricArguments, labelWeightsValue: JSONValue) throws(MetricError) {
    var labelWeights: [Double]? = nil
    switch try a.value("label_weights") {
    case .null: break
    case .array: labelWeights = try a.doubles("label_weights")
    case let v: throw .invalidConfiguration("label_weights must be a list of numbers; received \(v)")
    }
    // The declaration's choices admit only Keras's spellings.
    try self.init(
      numThresholds: try a.int("num_thresholds"), curve: AUCCurve(keras: try a.optionalString("curve") ?? ""),
      summationMethod: AUCSummationMethod(keras: try a.optionalString("summation_method") ?? ""), name: a.name,
      dtype: a.dtype, thresholds: try a.doubles("thresholds"), multiLabel: try a.bool("multi_label"),
      numLabels: try a.optionalInt("num_labels"), labelWeights: labelWeights, labelWeightsValue: labelWeightsValue,
      fromLogits: try a.bool("from_logits"))
  }

  /// Rebuilds the metric from its Keras config, where `label_weights` may
  /// be a list or Keras's serialized tensor
  /// (`{"class_name": "__tensor__", "config": {"value": [...]}}`); the
  /// configuration writes it back as it was given.
  public init(config: KerasConfig) throws(MetricError) {
    var plain = config
    let given = config.config["label_weights"] ?? .null
    if case .object(let o) = given, case .object(let tensor)? = o["config"], let value = tensor["value"] {
      plain.config["label_weights"] = value
    }
    try self.init(arguments: Self.declaration.read(plain), labelWeightsValue: given)
  }

  /// The declared arguments' values; `thresholds` only when they were
  /// given, as Keras.
  public var arguments: [String: JSONValue] {
    [
      "num_thresholds": .int(Int64(numThresholds)), "curve": .string(curve.rawValue),
      "summation_method": .string(summationMethod.rawValue), "thresholds": JSONValue(explicitThresholds),
      "multi_label": .bool(multiLabel), "num_labels": JSONValue(numLabels), "label_weights": labelWeightsValue,
      "from_logits": .bool(fromLogits),
    ]
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

  /// Restores counts of these thresholds: of one label, or with
  /// `multiLabel` of `numLabels` labels (as many as `labelWeights` when
  /// given, any number otherwise).
  ///
  /// - Throws: ``MetricError/invalidState(_:)`` for counts of another
  ///   shape; the state is then unchanged.
  public mutating func restore(_ state: ConfusionCounts) throws(MetricError) {
    try update.restore(state, to: &self.state, labels: multiLabel ? numLabels ?? labelWeights?.count : 1)
  }

  /// The area (averaged over labels with `multiLabel`); 0 before any update.
  public func result() -> MetricValue {
    guard !state.isEmpty else { return .scalar(0) }
    let labels = state.labelCount
    let perLabel = (0..<labels).map { l in
      Self.area(count: numThresholds, curve: curve, method: summationMethod) { state.counts(threshold: $0, label: l) }
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
    _ c: [ConfusionCounts.Matrix], curve: AUCCurve,
    method: AUCSummationMethod
  ) -> Double {
    area(count: c.count, curve: curve, method: method) { c[$0] }
  }

  /// The Riemann sum over the counts of thresholds `0..<n`, read in order
  /// through `counts` (each twice at most; no array of them, nor of the
  /// curve's points: a report of a thousand slices takes a thousand areas).
  @inline(__always)
  static func area(
    count n: Int, curve: AUCCurve, method: AUCSummationMethod, _ counts: (Int) -> ConfusionCounts.Matrix
  ) -> Double {
    var total = CompensatedSum()
    guard n > 1 else { return total.value }
    if curve == .pr && method == .interpolation {
      // Davis & Goadrich: interpolate TP and P = TP + FP linearly.
      var a = counts(0)
      for i in 0..<(n - 1) {
        let b = counts(i + 1)
        let dtp = a.tp - b.tp
        let pA = a.tp + a.fp
        let pB = b.tp + b.fp
        let dp = pA - pB
        let slope = divideNoNaN(dtp, max(dp, 0))
        let intercept = b.tp - slope * pB
        let ratio = (pA > 0 && pB > 0) ? divideNoNaN(pA, max(pB, 0)) : 1
        total.add(divideNoNaN(slope * (dtp + intercept * .log(ratio)), max(b.tp + b.fn, 0)))
        a = b
      }
      return total.value
    }
    /// The curve's point at a threshold.
    func point(_ k: ConfusionCounts.Matrix) -> (x: Double, y: Double) {
      let recall = divideNoNaN(k.tp, k.tp + k.fn)
      switch curve {
      case .roc:
        return (divideNoNaN(k.fp, k.fp + k.tn), recall)
      case .pr:
        return (recall, divideNoNaN(k.tp, k.tp + k.fp))
      case .prGain:
        let scale = divideNoNaN(k.tp + k.fn, k.tn + k.fp)
        var recallGain = 1 - scale * divideNoNaN(k.fn, k.tp)
        var precisionGain = 1 - scale * divideNoNaN(k.fp, k.tp)
        if k.tp == 0 {
          recallGain = 0
          precisionGain = 1
        }
        return (max(recallGain, 0), precisionGain)
      }
    }
    var a = point(counts(0))
    for i in 0..<(n - 1) {
      let b = point(counts(i + 1))
      let height: Double =
        switch method {
        case .interpolation: (a.y + b.y) / 2
        case .minoring: min(a.y, b.y)
        case .majoring: max(a.y, b.y)
        }
      total.add((a.x - b.x) * height)
      a = b
    }
    return total.value
  }
}
