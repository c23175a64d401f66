//===--- ExactAUC.swift ---------------------------------------------------===//
//
// Beyond Keras: exact ROC AUC and average precision, equal to scikit-learn's
// `roc_auc_score` and `average_precision_score`, from a mergeable state that
// grows with the number of distinct prediction values, and the curves
// themselves.
//
//===----------------------------------------------------------------------===//

/// The weighted positives and negatives at each distinct prediction value,
/// sorted by value: the sufficient statistic of every ranking metric.
///
/// Its size is the number of distinct scores, not the number of samples
/// (TorchMetrics' exact AUROC keeps every prediction): float32 scores
/// rounded to 3 decimals keep at most 1,001 entries however many samples
/// arrive. Merging is a sorted merge that adds the sums of equal scores.
public struct ScoreHistogram: Accumulator {
  /// The distinct scores, ascending.
  public private(set) var scores: [Double] = []
  /// Σ weight of positive samples at each score.
  public private(set) var positives: [CompensatedSum] = []
  /// Σ weight of negative samples at each score.
  public private(set) var negatives: [CompensatedSum] = []

  /// The empty state.
  public init() {}

  /// A histogram of the given parts (checked by ``validate()`` where it
  /// comes from outside).
  init(scores: [Double], positives: [CompensatedSum], negatives: [CompensatedSum]) {
    (self.scores, self.positives, self.negatives) = (scores, positives, negatives)
  }

  /// The number of distinct scores held.
  public var count: Int { scores.count }

  func validate() throws(MetricError) {
    guard positives.count == scores.count, negatives.count == scores.count else {
      throw .invalidState("a score histogram needs one positive and one negative sum per score")
    }
    if let bad = scores.firstIndex(where: \.isNaN) {
      throw .invalidState("score histogram scores must not be NaN; received NaN at index \(bad)")
    }
    if let bad = positives.indices.first(where: { positives[$0].value.isNaN || negatives[$0].value.isNaN }) {
      throw .invalidState("score histogram sums must not be NaN; received NaN at index \(bad)")
    }
    for i in scores.indices.dropFirst() where !(scores[i - 1] < scores[i]) {
      throw .invalidState(
        "score histogram scores must be strictly ascending; received \(scores[i - 1]) before \(scores[i])")
    }
  }

  /// Adds another histogram (a sorted merge).
  public mutating func merge(_ other: ScoreHistogram) {
    if other.scores.isEmpty { return }
    if scores.isEmpty {
      self = other
      return
    }
    var out = ScoreHistogram()
    out.scores.reserveCapacity(scores.count + other.scores.count)
    var i = 0
    var j = 0
    while i < scores.count || j < other.scores.count {
      if j == other.scores.count || (i < scores.count && scores[i] < other.scores[j]) {
        out.append(scores[i], positives[i], negatives[i])
        i += 1
      } else if i == scores.count || other.scores[j] < scores[i] {
        out.append(other.scores[j], other.positives[j], other.negatives[j])
        j += 1
      } else {
        var p = positives[i]
        p.merge(other.positives[j])
        var n = negatives[i]
        n.merge(other.negatives[j])
        out.append(scores[i], p, n)
        i += 1
        j += 1
      }
    }
    self = out
  }

  private mutating func append(_ s: Double, _ p: CompensatedSum, _ n: CompensatedSum) {
    scores.append(s)
    positives.append(p)
    negatives.append(n)
  }

  /// A histogram of one batch: sort, then collapse equal scores.
  init(truth: [Double], pred: [Double], weights: [Double]?) {
    let order = pred.indices.sorted { pred[$0] < pred[$1] }
    for k in order {
      let s = pred[k]
      let w = weights?[k] ?? 1
      if scores.last != s {
        append(s, CompensatedSum(), CompensatedSum())
      }
      if truth[k] != 0 {
        positives[positives.count - 1].add(w)
      } else {
        negatives[negatives.count - 1].add(w)
      }
    }
  }

  /// Cumulative (weighted) true and false positives at each distinct
  /// score, from the highest score down: predictions `≥ score` are
  /// positive.
  func cumulativeFromTop() -> (scores: [Double], tp: [Double], fp: [Double]) {
    var tp = CompensatedSum()
    var fp = CompensatedSum()
    var outTP: [Double] = []
    var outFP: [Double] = []
    var outScores: [Double] = []
    for i in scores.indices.reversed() {
      tp.merge(positives[i])
      fp.merge(negatives[i])
      outScores.append(scores[i])
      outTP.append(tp.value)
      outFP.append(fp.value)
    }
    return (outScores, outTP, outFP)
  }

  /// Total positive and negative weight.
  var totals: (positives: CompensatedSum, negatives: CompensatedSum) {
    var p = CompensatedSum()
    var n = CompensatedSum()
    for i in scores.indices {
      p.merge(positives[i])
      n.merge(negatives[i])
    }
    return (p, n)
  }

  /// The exact area under the ROC curve (trapezoids over the distinct
  /// scores; ties count one half), or NaN if one class has no weight.
  public var rocAUC: Double {
    let (pTotal, nTotal) = totals
    let p = pTotal.value
    let n = nTotal.value
    guard p != 0, n != 0 else { return .nan }
    // Σ over scores of negatives(s) · (positives above s + positives(s)/2).
    var above = CompensatedSum()
    var area = CompensatedSum()
    for i in scores.indices.reversed() {
      let neg = negatives[i].value
      let pos = positives[i].value
      area.add(neg * above.value)
      area.add(neg * pos / 2)
      above.merge(positives[i])
    }
    return area.value / (p * n)
  }

  /// The average precision, `Σ (R_k − R_{k−1}) · P_k` over the distinct
  /// scores from the top (scikit-learn's step-wise definition, without
  /// interpolation); 0 if there are no positives.
  public var averagePrecision: Double {
    let (pTotal, _) = totals
    let positiveTotal = pTotal.value
    guard positiveTotal != 0 else { return 0 }
    let c = cumulativeFromTop()
    var ap = CompensatedSum()
    var previousRecall = 0.0
    for k in c.scores.indices {
      let recall = c.tp[k] / positiveTotal
      let predicted = c.tp[k] + c.fp[k]
      let precision = predicted == 0 ? 0 : c.tp[k] / predicted
      ap.add((recall - previousRecall) * precision)
      previousRecall = recall
    }
    return ap.value
  }
}

/// Points of a ROC curve, from the highest threshold down, as
/// scikit-learn's `roc_curve(..., drop_intermediate=False)`: the first point
/// is (0, 0) at threshold +∞, then one point per distinct score.
public struct ROCCurve: Sendable, Equatable {
  /// False-positive rates.
  public var falsePositiveRates: [Double]
  /// True-positive rates (recall).
  public var truePositiveRates: [Double]
  /// The threshold of each point (`score ≥ threshold` is positive).
  public var thresholds: [Double]
}

/// Points of a precision-recall curve, as scikit-learn's
/// `precision_recall_curve`: thresholds ascending, with a last point of
/// precision 1 and recall 0 that has no threshold.
public struct PrecisionRecallCurve: Sendable, Equatable {
  /// Precision at each threshold, then 1.
  public var precisions: [Double]
  /// Recall at each threshold, then 0.
  public var recalls: [Double]
  /// The distinct scores, ascending (`score ≥ threshold` is positive).
  public var thresholds: [Double]
}

/// The exact area under the ROC curve, or the exact average precision:
/// scikit-learn's `roc_auc_score` and `average_precision_score`, streaming
/// and mergeable.
///
/// Formula: ROC: the trapezoid area through every distinct score (equal to
/// the Mann–Whitney statistic with ties counted one half); PR: average
/// precision `Σ (R_k − R_{k−1}) · P_k`. Weighted by `sampleWeight`; inputs of
/// any rank are flattened, as Keras's `AUC` does.
///
/// Not in Keras, whose ``AUC`` sums over 200 fixed thresholds. That
/// approximation can be far off when scores crowd into one part of [0, 1]:
/// on 5,000 rare-event scores (labels Bernoulli(0.02), scores
/// `sigmoid(N(−6, 1) + 1.5·label)`, nearly all below 0.03; the fixture
/// `roc/appendix_imbalanced_n5000` in `exact.json`) Keras's `AUC()` gives 0.7983 where
/// the exact ROC AUC is 0.8507 (and PR: 0.1340 against an average precision
/// of 0.1429), because almost every sample falls into the first of the 199
/// buckets. The state (``ScoreHistogram``) grows
/// with the number of distinct scores, not samples, and merges like any
/// other state. With one class absent the ROC AUC is undefined and the
/// result is NaN (scikit-learn raises; Keras returns 0).
///
/// ```swift
/// var m = ExactAUC()
/// try m.update(yTrue: [0, 0, 1, 1], yPred: [0.1, 0.4, 0.35, 0.8])
/// m.result()   // 0.75
/// m.rocCurve().truePositiveRates   // [0, 0.5, 0.5, 1, 1]
/// ```
///
/// - Complexity: `update` is O(*n* log *n* + *D*), with *D* the distinct
///   scores held; `result()` is O(*D*).
public struct ExactAUC: PredictionMetric, DeclaredMetric {
  /// The declaration: a Tally class (Keras has none), without `dtype`.
  public static let declaration = MetricDeclaration(
    ExactAUC.self, className: "ExactAUC", defaultName: "exact_auc",
    arguments: [MetricArgument("curve", .string, default: "ROC")], hasDType: false,
    input: .samples, origin: .tally)
  /// The name in logs; default `"exact_auc"`.
  public var name: String
  /// `.roc` for ROC AUC, `.pr` for average precision.
  public let curve: AUCCurve
  /// The distinct scores with their weighted labels.
  public private(set) var state = ScoreHistogram()
  let prepare = ConfusionUpdate(thresholds: Thresholds([0.5], evenlySpaced: false), metricName: "ExactAUC")

  /// An exact ROC AUC (`curve: .roc`) or average precision (`curve: .pr`).
  ///
  /// - Throws: ``MetricError/invalidConfiguration(_:)`` for `.prGain`.
  public init(curve: AUCCurve, name: String = "exact_auc") throws(MetricError) {
    guard curve != .prGain else {
      throw .invalidConfiguration("ExactAUC supports curve ROC or PR; received PRGAIN")
    }
    self.curve = curve
    self.name = name
  }

  /// An exact ROC AUC named `name`.
  public init(name: String = "exact_auc") {
    self.curve = .roc
    self.name = name
  }

  /// Builds the metric from checked arguments (`curve`).
  public init(arguments a: MetricArguments) throws(MetricError) {
    try self.init(curve: try AUCCurve(keras: try a.optionalString("curve") ?? "ROC"), name: a.name)
  }

  /// `curve`.
  public var arguments: [String: JSONValue] { ["curve": .string(curve.rawValue)] }

  /// Accumulates one batch: labels in {0, 1}, scores, optional weights
  /// (Keras's confusion-matrix weight rules).
  ///
  /// - Throws: ``MetricError`` for labels outside {0, 1}, NaN scores,
  ///   shapes that differ, bad weights; the state is then unchanged.
  public mutating func update(yTrue: Tensor, yPred: Tensor, sampleWeight: Tensor?) throws(MetricError) {
    let b = try prepare.prepared(yTrue: yTrue, yPred: yPred, sampleWeight: sampleWeight, labels: nil)
    state.merge(ScoreHistogram(truth: b.truth, pred: b.pred, weights: b.weights))
  }

  /// Restores a saved histogram (checked: sorted, consistent lengths).
  public mutating func restore(_ state: ScoreHistogram) throws(MetricError) {
    try state.validate()
    self.state = state
  }

  /// The exact ROC AUC or average precision (0 before any update).
  public func result() -> MetricValue {
    guard state.count > 0 else { return .scalar(0) }
    return .scalar(curve == .roc ? state.rocAUC : state.averagePrecision)
  }

  /// The ROC curve through every distinct score.
  public func rocCurve() -> ROCCurve {
    let (pTotal, nTotal) = state.totals
    let c = state.cumulativeFromTop()
    let p = pTotal.value
    let n = nTotal.value
    return ROCCurve(
      falsePositiveRates: [0] + c.fp.map { n == 0 ? .nan : $0 / n },
      truePositiveRates: [0] + c.tp.map { p == 0 ? .nan : $0 / p },
      thresholds: [.infinity] + c.scores)
  }

  /// The precision-recall curve through every distinct score.
  public func precisionRecallCurve() -> PrecisionRecallCurve {
    let (pTotal, _) = state.totals
    let c = state.cumulativeFromTop()
    let p = pTotal.value
    let precision = c.scores.indices.map { k in
      let predicted = c.tp[k] + c.fp[k]
      return predicted == 0 ? 0 : c.tp[k] / predicted
    }
    let recall = c.tp.map { p == 0 ? 1 : $0 / p }
    return PrecisionRecallCurve(
      precisions: precision.reversed() + [1], recalls: recall.reversed() + [0],
      thresholds: c.scores.reversed())
  }
}

extension MetricFamily {
  /// Tally's exact curve metrics (beyond Keras).
  public static let exact = MetricFamily("Exact curve metrics (beyond Keras)", [ExactAUC.declaration])
}
