//===--- ConfusionMatrix.swift --------------------------------------------===//
//
// Keras's `update_confusion_matrix_variables`: thresholds, top-k filtering,
// class slicing, and the per-threshold TP/FP/TN/FN counts shared by every
// metric of the family, from TruePositives to AUC.
//
//===----------------------------------------------------------------------===//

import RealModule

/// The thresholds of a confusion-matrix metric, and how a prediction is
/// compared with them.
///
/// A prediction is positive at threshold `t` iff `y_pred > t` (strict),
/// compared in float32 as Keras does. Evenly spaced grids
/// (`[0, 1/(T−1), …, 1]`, Keras's `is_evenly_distributed_thresholds`) take
/// Keras's O(N + T) bucket path: predictions are clipped to [0, 1] and
/// bucketed with `ceil(p·(T−1)) − 1` in float32, exactly as Keras does, so
/// that a prediction on a grid point lands where Keras puts it. Other lists
/// are bucketed by binary search over the sorted thresholds: also
/// O(N log T + T), never Keras's O(N·T).
public struct Thresholds: Sendable, Equatable {
  /// The thresholds in the order given (results follow this order).
  public let values: [Double]
  /// Whether Keras takes its evenly-distributed path for this list.
  public let evenlySpaced: Bool
  /// Whether the first or last threshold lies outside [0, 1] (AUC's ±ε end
  /// points), which makes a prediction of exactly 0 count as positive at the
  /// first threshold.
  public let withEpsilon: Bool
  @usableFromInline let sorted: [Float]
  @usableFromInline let order: [Int]
  /// Whether the values are given in order (`order` is `0..<count`).
  let inOrder: Bool

  /// Thresholds compared as Keras compares them; `evenlySpaced` as Keras
  /// decides it.
  public init(_ values: [Double], evenlySpaced: Bool) {
    self.values = values
    self.evenlySpaced = evenlySpaced
    self.withEpsilon = (values.first ?? 0) < 0 || (values.last ?? 1) > 1
    let order = values.indices.sorted { (values[$0], $0) < (values[$1], $1) }
    self.order = order
    self.inOrder = order.elementsEqual(order.indices)
    self.sorted = order.map { Float(values[$0]) }
  }

  /// The number of thresholds.
  public var count: Int { values.count }

  /// Keras's `is_evenly_distributed_thresholds`: at least 3 values, each
  /// within `1e-7 + 1e-5·|g|` of the grid point `g = i/(T−1)`.
  public static func isEvenlyDistributed(_ values: [Double]) -> Bool {
    let n = values.count
    guard n >= 3 else { return false }
    for (i, t) in values.enumerated() {
      let g = Double(Float(i) / Float(n - 1))
      if abs(t - g) > 1e-7 + 1e-5 * abs(g) { return false }
    }
    return true
  }

  /// Keras's `parse_init_thresholds`: `nil` gives `[default]`; every value
  /// must lie in [0, 1].
  ///
  /// - Throws: ``MetricError/invalidConfiguration(_:)`` naming the values
  ///   outside [0, 1].
  public static func parse(_ thresholds: [Double]?, default d: Double) throws(MetricError)
    -> [Double]
  {
    guard let thresholds else { return [d] }
    let bad = thresholds.filter { !($0 >= 0 && $0 <= 1) }
    guard bad.isEmpty else {
      throw .invalidConfiguration("Threshold values must be in [0, 1]. Received: \(bad)")
    }
    guard !thresholds.isEmpty else {
      throw .invalidConfiguration("thresholds must not be empty")
    }
    return thresholds
  }

  /// The bucket of a prediction: the index of the last sorted threshold it
  /// exceeds, or -1 if it exceeds none.
  @inlinable
  @inline(__always)
  func bucket(_ p: Float) -> Int {
    if evenlySpaced {
      let n = Float(sorted.count - 1)
      let clipped = min(max(p, 0), 1)
      var b = Int((clipped * n).rounded(.up)) - 1
      if withEpsilon { b = max(b, 0) }
      return b
    }
    // Count of thresholds strictly below p, minus one.
    var lo = 0
    var hi = sorted.count
    while lo < hi {
      let mid = (lo + hi) / 2
      if p > sorted[mid] { lo = mid + 1 } else { hi = mid }
    }
    return lo - 1
  }
}

/// Per-threshold (and, for multi-label AUC, per-label) weighted counts of
/// true positives, false positives, true negatives and false negatives.
///
/// Index `t · labels + l` holds threshold `t` (in the order the metric was
/// given them) and label `l`. The empty state (no arrays) is the identity of
/// ``merge(_:)``; it takes its shape from the first update or merge.
///
/// Keras keeps these counts as float32 variables, exact only to 2^24; here
/// they are double-double sums, exact for integer counts to 2^53 and
/// order-independent for weighted ones.
public struct ConfusionCounts: Accumulator {
  /// Number of thresholds.
  public private(set) var thresholdCount: Int
  /// Number of labels (1 unless multi-label).
  public private(set) var labelCount: Int
  /// Weighted true positives per threshold and label.
  public private(set) var truePositives: [CompensatedSum]
  /// Weighted false positives per threshold and label.
  public private(set) var falsePositives: [CompensatedSum]
  /// Weighted true negatives per threshold and label.
  public private(set) var trueNegatives: [CompensatedSum]
  /// Weighted false negatives per threshold and label.
  public private(set) var falseNegatives: [CompensatedSum]

  /// The empty state.
  public init() {
    self.init(thresholds: 0, labels: 0)
  }

  /// Zero counts for `thresholds` × `labels`.
  public init(thresholds: Int, labels: Int) {
    thresholdCount = thresholds
    labelCount = labels
    // Four arrays of their own (one shared would be copied at each first
    // write).
    let n = thresholds * labels
    truePositives = [CompensatedSum](repeating: CompensatedSum(), count: n)
    falsePositives = [CompensatedSum](repeating: CompensatedSum(), count: n)
    trueNegatives = [CompensatedSum](repeating: CompensatedSum(), count: n)
    falseNegatives = [CompensatedSum](repeating: CompensatedSum(), count: n)
  }

  private enum CodingKeys: String, CodingKey {
    case thresholdCount = "thresholds"
    case labelCount = "labels"
    case truePositives = "true_positives"
    case falsePositives = "false_positives"
    case trueNegatives = "true_negatives"
    case falseNegatives = "false_negatives"
  }

  /// Whether no update has built the arrays yet.
  public var isEmpty: Bool { thresholdCount == 0 }

  /// Checks that the shape is not negative and the arrays have the lengths
  /// it says (a decoded state can claim any shape).
  func validate() throws(MetricError) {
    let (n, overflow) = thresholdCount.multipliedReportingOverflow(by: labelCount)
    guard thresholdCount >= 0, labelCount >= 0, !overflow else {
      throw .invalidState("confusion counts cannot have \(thresholdCount) thresholds × \(labelCount) labels")
    }
    guard truePositives.count == n, falsePositives.count == n, trueNegatives.count == n, falseNegatives.count == n
    else {
      throw .invalidState(
        "confusion counts for \(thresholdCount) thresholds × \(labelCount) labels must have \(n) entries each")
    }
    // Finite weights sum to finite counts (negative weights, which Keras
    // allows, can make them negative). (A loop per array: restoring a
    // thousand slices' states checks each.)
    func check(_ counts: [CompensatedSum], _ name: String) throws(MetricError) {
      let bad = counts.withUnsafeBufferPointer { c -> Int? in
        for i in c.indices where !c[i].value.isFinite { return i }
        return nil
      }
      if let i = bad {
        throw .invalidState("confusion counts must be finite; received \(counts[i].value) in \(name)[\(i)]")
      }
    }
    try check(truePositives, "true_positives")
    try check(falsePositives, "false_positives")
    try check(trueNegatives, "true_negatives")
    try check(falseNegatives, "false_negatives")
  }

  /// Adds another state's counts.
  ///
  /// - Throws: ``MetricError/incompatibleMerge(_:)`` if both are built with
  ///   different shapes.
  public mutating func merge(_ other: ConfusionCounts) throws(MetricError) {
    if other.isEmpty { return }
    if isEmpty {
      self = other
      return
    }
    guard other.thresholdCount == thresholdCount, other.labelCount == labelCount else {
      throw .incompatibleMerge(
        "confusion counts of \(thresholdCount) thresholds × \(labelCount) labels and \(other.thresholdCount) × \(other.labelCount)"
      )
    }
    for i in truePositives.indices {
      truePositives[i].merge(other.truePositives[i])
      falsePositives[i].merge(other.falsePositives[i])
      trueNegatives[i].merge(other.trueNegatives[i])
      falseNegatives[i].merge(other.falseNegatives[i])
    }
  }

  /// The four counts of one threshold and label: its 2×2 confusion matrix.
  public typealias Matrix = (tp: Double, fp: Double, tn: Double, fn: Double)

  /// The four counts as `Double`s for threshold `t`, label `l`.
  @inlinable
  public func counts(threshold t: Int, label l: Int = 0) -> Matrix {
    let i = t * labelCount + l
    return (
      truePositives[i].value, falsePositives[i].value, trueNegatives[i].value,
      falseNegatives[i].value
    )
  }
}

/// Keras's `divide_no_nan`: 0 where the denominator is 0.
@inlinable
func divideNoNaN(_ a: Double, _ b: Double) -> Double {
  b == 0 ? 0 : a / b
}

/// The configuration of a confusion-matrix update: Keras's
/// `update_confusion_matrix_variables` arguments.
@usableFromInline
struct ConfusionUpdate: Sendable {
  var thresholds: Thresholds
  var topK: Int? = nil
  var classId: Int? = nil
  var multiLabel = false
  /// Label weights applied inside the update (AUC with `multi_label=False`).
  var labelWeights: [Double]? = nil
  var fromLogits = false
  /// The metric's class name, for messages.
  var metricName: String

  /// Adds the counts of one single-label batch to `state` (the whole batch
  /// or nothing: throws before any counting if an input is bad).
  func add(to state: inout ConfusionCounts, yTrue: Tensor, yPred: Tensor, sampleWeight: Tensor?)
    throws(MetricError)
  {
    if try addFastCounts(to: &state, yTrue: yTrue, yPred: yPred, sampleWeight: sampleWeight) { return }
    try state.merge(counts(yTrue: yTrue, yPred: yPred, sampleWeight: sampleWeight, labels: nil))
  }

  /// The counts of one batch by the general path (throws before any
  /// counting if an input is bad).
  func counts(yTrue: Tensor, yPred: Tensor, sampleWeight: Tensor?, labels fixedLabels: Int?)
    throws(MetricError) -> ConfusionCounts
  {
    let b = try prepared(yTrue: yTrue, yPred: yPred, sampleWeight: sampleWeight, labels: fixedLabels)
    return accumulate(truth: b.truth, pred: b.pred, weights: b.weights, labels: b.labels)
  }

  /// One batch after Keras's preparation: rank alignment, validation,
  /// sigmoid for logits, weight broadcasting, top-k filtering, class
  /// slicing, label weights; flattened (label `i % labels` for element `i`).
  func prepared(yTrue: Tensor, yPred: Tensor, sampleWeight: Tensor?, labels fixedLabels: Int?)
    throws(MetricError) -> (truth: [Double], pred: [Double], weights: [Double]?, labels: Int)
  {
    // Rank-align predictions and labels (y_pred first, as Keras does).
    let (p, t) = Tensor.squeezeOrExpandToSameRank(yPred, yTrue)
    guard p.shape == t.shape else {
      throw .shapeMismatch(
        "\(metricName): y_true and y_pred must have the same shape; received shapes \(describe(yTrue.shape)) and \(describe(yPred.shape))"
      )
    }
    guard p.count > 0 else {
      throw .emptyBatch("\(metricName): y_pred of shape \(describe(yPred.shape)) holds no elements")
    }
    var pred = p.doubles()
    var truth = t.doubles()
    var shape = p.shape

    if let i = pred.firstIndex(where: \.isNaN) {
      throw .invalidValue("\(metricName): y_pred holds NaN at flat index \(i)")
    }
    if let i = truth.firstIndex(where: { $0 != 0 && $0 != 1 }) {
      throw .invalidValue(
        "\(metricName) needs binary labels in {0, 1}; received y_true value \(truth[i]) at flat index \(i)")
    }
    if fromLogits {
      pred = pred.map { Double(Self.sigmoid(Float($0))) }
    }

    // Weights: cast, expanded by one trailing axis, rank-aligned with the
    // labels without expanding rank 1, as Keras's confusion update does.
    var weights: [Double]? = nil
    var weightShape: [Int] = []
    if let sampleWeight {
      weights = try SampleWeights.checked(sampleWeight)
      (_, weightShape) = ShapeRules.squeezeOrExpandToSameRank(
        shape, sampleWeight.shape + [1], expandRank1: false)
    }

    if let k = topK {
      let c = shape.last ?? 1
      guard k >= 1, k <= c || shape.isEmpty else {
        throw .invalidConfiguration(
          "\(metricName): top_k=\(k) must be in 1...\(c), the number of classes; received y_pred of shape \(describe(yPred.shape))"
        )
      }
      pred = Self.filterTopK(pred, rowLength: c, k: k)
    }

    if let classId {
      guard shape.count >= 2 else {
        throw .shapeMismatch(
          "\(metricName): when class_id is provided, y_pred must be a 2D array with shape (num_samples, num_classes); received shape \(describe(yPred.shape))"
        )
      }
      let c = shape[shape.count - 1]
      guard classId >= 0, classId < c else {
        throw .invalidValue(
          "\(metricName): class_id=\(classId) is out of range for y_pred of shape \(describe(yPred.shape)) (\(c) classes)"
        )
      }
      pred = stride(from: classId, to: pred.count, by: c).map { pred[$0] }
      truth = stride(from: classId, to: truth.count, by: c).map { truth[$0] }
      shape[shape.count - 1] = 1
    }

    var w: [Double]? = nil
    if let weights {
      guard ShapeRules.canBroadcast(weightShape, to: shape) else {
        throw .invalidWeights(
          "\(metricName): sample_weight cannot be broadcast to y_pred; received sample_weight of shape \(describe(sampleWeight!.shape)) and y_pred of shape \(describe(yPred.shape))"
        )
      }
      w = Elementwise.broadcast(weights, shape: weightShape, to: shape)
    }

    var labels = 1
    if multiLabel {
      guard shape.count == 2 else {
        throw .shapeMismatch(
          "\(metricName): y_pred must have rank 2 when multi_label=True; received shape \(describe(yPred.shape))"
        )
      }
      labels = shape[1]
      if let fixedLabels, fixedLabels != labels {
        throw .shapeMismatch(
          "\(metricName): expected \(fixedLabels) labels; received y_pred of shape \(describe(yPred.shape))")
      }
    } else if let labelWeights {
      // Label weights weight the columns of the flattened data.
      let c = shape.last ?? 1
      guard labelWeights.count == c || labelWeights.count == 1 else {
        throw .shapeMismatch(
          "\(metricName): label_weights of length \(labelWeights.count) do not match y_pred's last axis of \(c); received shape \(describe(yPred.shape))"
        )
      }
      let lw = (0..<pred.count).map { labelWeights[labelWeights.count == 1 ? 0 : $0 % c] }
      w = w.map { zip($0, lw).map(*) } ?? lw
    }
    return (truth, pred, w, labels)
  }

  /// Buckets every prediction once, then turns bucket totals into counts
  /// with reverse cumulative sums: O(N + T) (O(N log T) for uneven lists).
  func accumulate(truth: [Double], pred: [Double], weights: [Double]?, labels: Int)
    -> ConfusionCounts
  {
    let tCount = thresholds.count
    let cells = tCount * labels
    var out = ConfusionCounts(thresholds: tCount, labels: labels)
    var posBucket = [CompensatedSum](repeating: CompensatedSum(), count: cells)
    var negBucket = [CompensatedSum](repeating: CompensatedSum(), count: cells)
    var posTotal = [CompensatedSum](repeating: CompensatedSum(), count: labels)
    var negTotal = [CompensatedSum](repeating: CompensatedSum(), count: labels)
    if let weights {
      for i in pred.indices {
        let l = i % labels
        let b = thresholds.bucket(Float(pred[i]))
        if truth[i] != 0 {
          posTotal[l].add(weights[i])
          if b >= 0 { posBucket[b * labels + l].add(weights[i]) }
        } else {
          negTotal[l].add(weights[i])
          if b >= 0 { negBucket[b * labels + l].add(weights[i]) }
        }
      }
    } else {
      // Unweighted: integer counts.
      var pos = [Int](repeating: 0, count: cells)
      var neg = [Int](repeating: 0, count: cells)
      var pt = [Int](repeating: 0, count: labels)
      var nt = [Int](repeating: 0, count: labels)
      for i in pred.indices {
        let l = i % labels
        let b = thresholds.bucket(Float(pred[i]))
        if truth[i] != 0 {
          pt[l] += 1
          if b >= 0 { pos[b * labels + l] += 1 }
        } else {
          nt[l] += 1
          if b >= 0 { neg[b * labels + l] += 1 }
        }
      }
      posBucket = pos.map { CompensatedSum(Double($0)) }
      negBucket = neg.map { CompensatedSum(Double($0)) }
      posTotal = pt.map { CompensatedSum(Double($0)) }
      negTotal = nt.map { CompensatedSum(Double($0)) }
    }
    // Reverse cumulative sums over the sorted thresholds, written back in
    // the thresholds' given order.
    for l in 0..<labels {
      var tp = CompensatedSum()
      var fp = CompensatedSum()
      for s in stride(from: tCount - 1, through: 0, by: -1) {
        tp.merge(posBucket[s * labels + l])
        fp.merge(negBucket[s * labels + l])
        let dest = thresholds.order[s] * labels + l
        var fn = posTotal[l]
        fn.merge(tp.negated)
        var tn = negTotal[l]
        tn.merge(fp.negated)
        out.setCounts(index: dest, tp: tp, fp: fp, tn: tn, fn: fn)
      }
    }
    return out
  }

  /// Keras's `_filter_top_k`: in each row, all but the `k` largest entries
  /// (ties broken by lowest index) become -1e10.
  static func filterTopK(_ x: [Double], rowLength c: Int, k: Int) -> [Double] {
    guard c > 0 else { return x }
    var out = [Double](repeating: Double(Float(-1e10)), count: x.count)
    var idx = [Int](repeating: 0, count: c)
    for r in 0..<(x.count / c) {
      let base = r * c
      for j in 0..<c { idx[j] = j }
      idx.sort { a, b in
        let va = x[base + a]
        let vb = x[base + b]
        return va != vb ? va > vb : a < b
      }
      for j in idx.prefix(k) { out[base + j] = x[base + j] }
    }
    return out
  }

  /// The logistic sigmoid in float32, as Keras's `activations.sigmoid`.
  static func sigmoid(_ x: Float) -> Float {
    x >= 0 ? 1 / (1 + Float.exp(-x)) : Float.exp(x) / (1 + Float.exp(x))
  }
}

extension ConfusionCounts {
  /// Calls `body(i, tp, fp, tn, fn)` for each threshold, at its given
  /// position `i`: one label's four counts there, from integer counts per
  /// bucket (`pos[b + 1]`, `neg[b + 1]`: elements whose score exceeds
  /// exactly the sorted thresholds `0...b`) as reverse cumulative sums;
  /// `order[s]` is the given position of sorted threshold `s`.
  static func cumulativeCounts(
    pos: [Int], neg: [Int], order: [Int], _ body: (_ i: Int, _ tp: Int, _ fp: Int, _ tn: Int, _ fn: Int) -> Void
  ) {
    let t = order.count
    var totalPos = 0
    var totalNeg = 0
    for k in 0...t {
      totalPos &+= pos[k]
      totalNeg &+= neg[k]
    }
    var tp = 0
    var fp = 0
    var s = t - 1
    while s >= 0 {
      tp &+= pos[s &+ 1]
      fp &+= neg[s &+ 1]
      body(order[s], tp, fp, totalNeg &- fp, totalPos &- tp)
      s &-= 1
    }
  }

  /// The counts of one label that ``addCumulative(pos:neg:order:)`` gives
  /// on zero counts of `order.count` thresholds, written directly: each
  /// entry is then one exact term (`CompensatedSum(x)`, as adding `x` to
  /// zero leaves it), so the arrays are not zeroed first and no sum is
  /// rounded. (Settling a thousand slices made a thousand of these.)
  init(cumulativePos pos: [Int], neg: [Int], order: [Int]) {
    let t = order.count
    precondition(pos.count == t + 1 && neg.count == t + 1)
    // `order` is a permutation of 0..<t: each entry is written once.
    func column(_ value: (_ tp: Int, _ fp: Int, _ tn: Int, _ fn: Int) -> Int) -> [CompensatedSum] {
      [CompensatedSum](unsafeUninitializedCapacity: t) { out, initialized in
        Self.cumulativeCounts(pos: pos, neg: neg, order: order) { i, tp, fp, tn, fn in
          (out.baseAddress! + i).initialize(to: CompensatedSum(Double(value(tp, fp, tn, fn))))
        }
        initialized = t
      }
    }
    thresholdCount = t
    labelCount = 1
    truePositives = column { tp, _, _, _ in tp }
    falsePositives = column { _, fp, _, _ in fp }
    trueNegatives = column { _, _, tn, _ in tn }
    falseNegatives = column { _, _, _, fn in fn }
  }

  /// Adds one label's integer counts given per bucket (as
  /// ``cumulativeCounts(pos:neg:order:_:)`` reads them). Counts are
  /// integers: added to totals that are integers below 2⁵³ (every
  /// unweighted history) they are exact, as a ``merge(_:)`` of the batch's
  /// counts would be; after weighted updates both are double-double sums of
  /// the same terms.
  mutating func addCumulative(pos: [Int], neg: [Int], order: [Int]) throws(MetricError) {
    let tCount = order.count
    guard thresholdCount == tCount, labelCount == 1, pos.count == tCount + 1, neg.count == tCount + 1 else {
      throw .incompatibleMerge(
        "confusion counts of \(thresholdCount) thresholds × \(labelCount) labels and \(tCount) × 1")
    }
    // One pass over the four arrays through pointers; each count is added
    // with one 2Sum (`CompensatedSum.add`).
    truePositives.withUnsafeMutableBufferPointer { tpOut in
      falsePositives.withUnsafeMutableBufferPointer { fpOut in
        trueNegatives.withUnsafeMutableBufferPointer { tnOut in
          falseNegatives.withUnsafeMutableBufferPointer { fnOut in
            Self.cumulativeCounts(pos: pos, neg: neg, order: order) { i, tp, fp, tn, fn in
              tpOut[i].add(Double(tp))
              fpOut[i].add(Double(fp))
              tnOut[i].add(Double(tn))
              fnOut[i].add(Double(fn))
            }
          }
        }
      }
    }
  }

  mutating func setCounts(
    index i: Int, tp: CompensatedSum, fp: CompensatedSum, tn: CompensatedSum, fn: CompensatedSum
  ) {
    truePositives[i] = tp
    falsePositives[i] = fp
    trueNegatives[i] = tn
    falseNegatives[i] = fn
  }
}

extension CompensatedSum {
  /// The sum with its sign flipped.
  public var negated: CompensatedSum {
    var s = CompensatedSum()
    s._head = -_head
    s._tail = -_tail
    return s
  }
}
