//===--- ExactAUC.swift ---------------------------------------------------===//
//
// Beyond Keras: exact ROC AUC and average precision, equal to scikit-learn's
// `roc_auc_score` and `average_precision_score`, from a mergeable state that
// grows with the number of distinct prediction values, and the curves
// themselves.
//
//===----------------------------------------------------------------------===//

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
/// How the update works: each score becomes an integer key that orders as
/// the score does (its float32 bits, sign-adjusted; float64 bits for a
/// score that is no float32), and an unweighted batch keeps only its keys,
/// split by label, 4 bytes a sample. Once they are 4 times as many as the
/// distinct scores held (and at least 16,384), the waiting keys are sorted
/// by an LSD radix sort (three passes of 11 bits, one scratch array, every
/// core from 2²⁰ keys) and counted into the histogram in one sorted merge;
/// ``state`` and ``result()`` count them in on the way. So a stream of
/// batches costs O(1) amortised per sample, not a merge of the whole state
/// per batch. Unweighted float32 scores are held as counts, 12 bytes a
/// distinct score; weights or float64 scores move the state to compensated
/// sums (24 bytes a score, 40 with compensation terms), and a weighted
/// batch sorts (key, sample) pairs the same way and adds its weights in
/// sample order. States and results are bit for bit those of the former
/// comparison sort (counts below 2⁵³ add exactly in any order). On the
/// standard workload W9 (10 M float32 samples in 10 batches) this was
/// about 14 times as fast as scikit-learn's `roc_auc_score`, measured side
/// by side on a 2-core machine (0.38 s against 5.5 s; the comparison sort
/// took 13 s), and `tally evaluate` on those samples peaked at 0.4 GB.
///
/// - Complexity: `update` is O(*n*) amortised (radix sort and merge); the
///   state is O(*D*), with *D* the distinct scores; `result()` is O(*D* +
///   *k*), with *k* the samples waiting (at most max(4*D*, 16,384)).
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
  /// The distinct scores with their weighted labels (the samples still
  /// waiting as keys counted in).
  public var state: ScoreHistogram {
    // Arrays read from it are built for it, not kept by the metric.
    histogram.merging(pending).withOwnReadColumns
  }
  /// The histogram of the samples counted so far.
  private(set) var histogram = ScoreHistogram()
  /// Unweighted samples not yet counted, as keys by label. Only while
  /// ``histogram`` holds counts (whose merges are exact in any order), so
  /// that waiting changes no bit of the state.
  private(set) var pending = PendingScores()
  /// Samples wait as keys until they are this many times as many as the
  /// distinct scores held (4 bytes a sample against 12 a score: as much
  /// memory again at most) ...
  static let pendingRatio = 4
  /// ... and at least this many.
  static let pendingMinimum = 1 << 14
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
    if sampleWeight == nil, let keys = BatchKeys(yTrue: yTrue, yPred: yPred) {
      // Unweighted, well-formed: keys read from the tensors in place.
      count(keys)
      return
    }
    let b = try prepare.prepared(yTrue: yTrue, yPred: yPred, sampleWeight: sampleWeight, labels: nil)
    if b.weights == nil, let keys = BatchKeys(yTrue: Tensor(b.truth), yPred: Tensor(b.pred)) {
      count(keys)
      return
    }
    // Weighted: merged now, in batch order, as compensated sums.
    flush()
    histogram.merge(ScoreHistogram(SumColumns(sorting: b.truth, pred: b.pred, weights: b.weights)))
  }

  /// Counts an unweighted batch: its keys wait while the histogram holds
  /// counts, and are counted in when they are ``pendingRatio`` times as
  /// many as its scores.
  private mutating func count(_ keys: BatchKeys) {
    guard histogram.holdsCounts else {
      var k = PendingScores()
      k.append(keys)
      histogram = histogram.merging(k)
      return
    }
    pending.append(keys)
    if pending.count >= max(Self.pendingMinimum, Self.pendingRatio * histogram.count) { flush() }
  }

  /// Counts the waiting samples into the histogram.
  private mutating func flush() {
    guard !pending.isEmpty else { return }
    histogram = histogram.merging(pending)
    pending = PendingScores()
  }

  /// Adds `other`'s samples (configurations must match, apart from `name`).
  ///
  /// - Throws: ``MetricError/incompatibleMerge(_:)`` if the curves differ;
  ///   the state is then unchanged.
  public mutating func merge(_ other: ExactAUC) throws(MetricError) {
    try Self.checkMergeable(config, other.config)
    // Each side's waiting samples counted in (on two cores when there are
    // many), then one merge.
    let mine = self
    let (a, b) =
      pending.count + other.pending.count < parallelThreshold
      ? (state, other.state) : inParallel({ mine.state }, { other.state })
    histogram = a
    pending = PendingScores()
    histogram.merge(b)
  }

  /// Restores a saved histogram (checked: sorted, consistent lengths).
  public mutating func restore(_ state: ScoreHistogram) throws(MetricError) {
    try state.validate()
    histogram = state
    pending = PendingScores()
  }

  /// The exact ROC AUC or average precision (0 before any update).
  public func result() -> MetricValue {
    let state = state
    guard state.count > 0 else { return .scalar(0) }
    return .scalar(curve == .roc ? state.rocAUC : state.averagePrecision)
  }

  /// The ROC curve through every distinct score.
  public func rocCurve() -> ROCCurve {
    let state = state
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
    let state = state
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
