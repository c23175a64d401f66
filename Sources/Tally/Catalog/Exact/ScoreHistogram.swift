//===--- ScoreHistogram.swift ---------------------------------------------===//
//
// The state of an exact AUC: the weighted positives and negatives at each
// distinct score, held as counts (12 bytes a score) while every sample is
// unweighted with a float32 score, else as sums (ScoreColumns.swift); the
// sorted merge of two states, and the ROC AUC and average precision summed
// from them.
//
//===----------------------------------------------------------------------===//

/// The weighted positives and negatives at each distinct prediction value,
/// sorted by value: the sufficient statistic of every ranking metric.
///
/// Its size is the number of distinct scores, not the number of samples
/// (TorchMetrics' exact AUROC keeps every prediction): float32 scores
/// rounded to 3 decimals keep at most 1,001 entries however many samples
/// arrive. Merging is a sorted merge that adds the sums of equal scores.
///
/// In memory, unweighted samples with float32 scores are held as counts:
/// each score's 32-bit key and two 32-bit counts, 12 bytes a distinct
/// score, merged with integer additions. Anything else (weights, float64
/// scores, a count past 2³²) is held as float64 scores and the sums' rounded
/// values (``CompensatedSum/head``), with the compensation terms
/// (``CompensatedSum/tail``) only while some is not zero: 24 bytes a score,
/// 40 with them. ``scores``, ``positives`` and ``negatives`` are built from
/// these columns when first read, then kept.
public struct ScoreHistogram: Accumulator {
  /// The two forms of the columns.
  enum Storage: Sendable {
    case counts(CountColumns)
    case sums(SumColumns)
  }

  private(set) var storage = Storage.counts(CountColumns()) {
    didSet { read = ReadColumns() }
  }

  /// ``scores``, ``positives`` and ``negatives`` as built when first read,
  /// so that reading them element by element costs O(1) a read, as when
  /// they were stored (shared by copies of one storage; a new one with
  /// each new storage).
  private var read = ReadColumns()

  /// Arrays built from the columns, kept once built.
  final class ReadColumns: Sendable {
    let scores = LockedValue<[Double]?>(nil)
    let positives = LockedValue<[CompensatedSum]?>(nil)
    let negatives = LockedValue<[CompensatedSum]?>(nil)

    /// The value in `box`, built by `make` the first time.
    static func kept<T: Sendable>(_ box: LockedValue<T?>, _ make: () -> T) -> T {
      if let kept = box.value { return kept }
      let built = make()
      box.value = built
      return built
    }
  }

  /// The same histogram with arrays of its own to build when read (not
  /// kept by the value it was copied from).
  var withOwnReadColumns: ScoreHistogram {
    var h = self
    h.read = ReadColumns()
    return h
  }

  /// The empty state.
  public init() {}

  init(_ counts: CountColumns) { storage = .counts(counts) }

  /// Sums, held as counts when they are.
  init(_ sums: SumColumns) { storage = sums.counts.map(Storage.counts) ?? .sums(sums) }

  /// Sums, held as they are.
  init(storing sums: SumColumns) { storage = .sums(sums) }

  /// A histogram of the given parts (checked by ``validate()`` where it
  /// comes from outside).
  init(scores: [Double], positives: [CompensatedSum], negatives: [CompensatedSum]) {
    self.init(SumColumns(scores: scores, positives: positives, negatives: negatives))
  }

  /// The number of distinct scores held.
  public var count: Int {
    switch storage {
    case .counts(let c): c.count
    case .sums(let s): s.count
    }
  }

  /// The distinct scores, ascending (−0 is held as +0: they are one
  /// score).
  ///
  /// - Complexity: O(*D*) the first time for counts (built as `Double`s,
  ///   then kept), O(1) after.
  public var scores: [Double] {
    switch storage {
    case .counts(let c): ReadColumns.kept(read.scores) { c.keys.map(\.score) }
    case .sums(let s): s.scores
    }
  }

  /// Σ weight of positive samples at each score.
  ///
  /// - Complexity: O(*D*) the first time (built from the columns, then
  ///   kept), O(1) after.
  public var positives: [CompensatedSum] {
    ReadColumns.kept(read.positives) {
      let s = sums
      return s.scores.indices.map(s.positive)
    }
  }

  /// Σ weight of negative samples at each score.
  ///
  /// - Complexity: O(*D*) the first time (built from the columns, then
  ///   kept), O(1) after.
  public var negatives: [CompensatedSum] {
    ReadColumns.kept(read.negatives) {
      let s = sums
      return s.scores.indices.map(s.negative)
    }
  }

  /// The columns as sums (a conversion when held as counts).
  var sums: SumColumns {
    switch storage {
    case .counts(let c): c.sums
    case .sums(let s): s
    }
  }

  /// Whether every sum is a whole number below 2⁵³ without compensation
  /// term: such histograms merge exactly, in any order.
  var holdsCounts: Bool {
    switch storage {
    case .counts: true
    case .sums(let s): s.holdsCounts
    }
  }

  /// Equal scores and equal sums (heads and tails).
  public static func == (a: ScoreHistogram, b: ScoreHistogram) -> Bool {
    if case .counts(let x) = a.storage, case .counts(let y) = b.storage { return x == y }
    return a.sums == b.sums
  }

  func validate() throws(MetricError) {
    if case .counts(let c) = storage {
      guard c.positives.count == c.count, c.negatives.count == c.count else {
        throw .invalidState("a score histogram needs one positive and one negative sum per score")
      }
      if let i = c.firstDescent {
        throw .invalidState(
          "score histogram scores must be strictly ascending; received \(c.keys[i - 1].score) before \(c.keys[i].score)"
        )
      }
      return
    }
    let s = sums
    let n = s.count
    guard s.positiveHeads.count == n, s.negativeHeads.count == n,
      s.tails.map({ $0.positives.count == n && $0.negatives.count == n }) ?? true
    else {
      throw .invalidState("a score histogram needs one positive and one negative sum per score")
    }
    if let bad = s.scores.firstIndex(where: \.isNaN) {
      throw .invalidState("score histogram scores must not be NaN; received NaN at index \(bad)")
    }
    if let bad = s.scores.indices.first(where: { s.positive($0).value.isNaN || s.negative($0).value.isNaN }) {
      throw .invalidState("score histogram sums must not be NaN; received NaN at index \(bad)")
    }
    for i in s.scores.indices.dropFirst() where !(s.scores[i - 1] < s.scores[i]) {
      throw .invalidState(
        "score histogram scores must be strictly ascending; received \(s.scores[i - 1]) before \(s.scores[i])")
    }
  }

  /// Adds another histogram (a sorted merge).
  ///
  /// - Complexity: O(*D* + *D'*), the distinct scores of both.
  public mutating func merge(_ other: ScoreHistogram) {
    if other.count == 0 { return }
    if count == 0 {
      self = other
      return
    }
    if case .counts(let x) = storage, case .counts(let y) = other.storage, let merged = CountColumns.merged(x, y) {
      storage = .counts(merged)
      return
    }
    var s = sums
    s.merge(other.sums)
    storage = .sums(s)
  }
}

//===--- Counting waiting samples -----------------------------------------===//

extension ScoreHistogram {
  /// This histogram with the waiting samples counted in. Counts and float32
  /// keys: the keys sorted, then one merge that counts them into the
  /// histogram; anything else counted apart, then merged.
  ///
  /// - Complexity: O(*D* + *n*), with *n* the samples waiting.
  func merging(_ pending: PendingScores) -> ScoreHistogram {
    var out = self
    if !pending.float32.isEmpty {
      var positives = RadixSort.sorted(pending.float32.map(\.positives))
      var negatives = RadixSort.sorted(pending.float32.map(\.negatives))
      if case .counts(let c) = storage, let merged = c.merging(sortedPositives: &positives, &negatives) {
        out.storage = .counts(merged)
      } else {
        out.merge(Float32Key.histogram(countingSorted: &positives, &negatives))
      }
    }
    if !pending.float64.isEmpty { out.merge(LabeledKeys.histogram(pending.float64)) }
    return out
  }
}

//===--- Results ----------------------------------------------------------===//

extension ScoreHistogram {
  /// Cumulative (weighted) true and false positives at each distinct
  /// score, from the highest score down: predictions `≥ score` are
  /// positive.
  func cumulativeFromTop() -> (scores: [Double], tp: [Double], fp: [Double]) {
    var outTP: [Double] = []
    var outFP: [Double] = []
    var outScores: [Double] = []
    outTP.reserveCapacity(count)
    outFP.reserveCapacity(count)
    outScores.reserveCapacity(count)
    forEachFromTop { score, tp, fp in
      outScores.append(score)
      outTP.append(tp)
      outFP.append(fp)
    }
    return (outScores, outTP, outFP)
  }

  /// Total positive and negative weight.
  var totals: (positives: CompensatedSum, negatives: CompensatedSum) {
    if let (p, n) = countTotals { return (CompensatedSum(Double(p)), CompensatedSum(Double(n))) }
    let s = sums
    var p = CompensatedSum()
    var n = CompensatedSum()
    for i in s.scores.indices {
      p.merge(s.positive(i))
      n.merge(s.negative(i))
    }
    return (p, n)
  }

  /// The totals of a histogram of counts when both are below 2⁵³ (then
  /// exactly the compensated sums of the counts), else `nil`.
  private var countTotals: (UInt64, UInt64)? {
    guard case .counts(let c) = storage else { return nil }
    let (p, n) = c.totals
    return p < 1 << 53 && n < 1 << 53 ? (p, n) : nil
  }

  /// The exact area under the ROC curve (trapezoids over the distinct
  /// scores; ties count one half), or NaN if one class has no weight.
  ///
  /// - Complexity: O(*D*), the distinct scores.
  public var rocAUC: Double {
    if case .counts(let c) = storage, let (pc, nc) = countTotals {
      let p = Double(pc)
      let n = Double(nc)
      guard p != 0, n != 0 else { return .nan }
      if p * n < 0x1p52 {
        // P·N < 2⁵²: every term and partial sum below is a whole number
        // under 2⁵³, so integer arithmetic gives exactly the compensated
        // sums of the general case (2·area, halved exactly).
        var twiceArea: UInt64 = 0
        var above: UInt64 = 0
        c.positives.withUnsafeBufferPointer { pos in
          c.negatives.withUnsafeBufferPointer { neg in
            for i in pos.indices.reversed() {
              twiceArea &+= UInt64(neg[i]) &* (2 &* above &+ UInt64(pos[i]))
              above &+= UInt64(pos[i])
            }
          }
        }
        return Double(twiceArea) * 0.5 / (p * n)
      }
    }
    let (pTotal, nTotal) = totals
    let p = pTotal.value
    let n = nTotal.value
    guard p != 0, n != 0 else { return .nan }
    // Σ over scores of negatives(s) · (positives above s + positives(s)/2).
    let s = sums
    var above = CompensatedSum()
    var area = CompensatedSum()
    for i in s.scores.indices.reversed() {
      let neg = s.negative(i).value
      let pos = s.positive(i).value
      area.add(neg * above.value)
      area.add(neg * pos / 2)
      above.merge(s.positive(i))
    }
    return area.value / (p * n)
  }

  /// The average precision, `Σ (R_k − R_{k−1}) · P_k` over the distinct
  /// scores from the top (scikit-learn's step-wise definition, without
  /// interpolation); 0 if there are no positives.
  ///
  /// - Complexity: O(*D*), the distinct scores.
  public var averagePrecision: Double {
    // (Counts below 2⁵³ step as integers, exactly the compensated sums.)
    let positiveTotal = totals.positives.value
    guard positiveTotal != 0 else { return 0 }
    var ap = CompensatedSum()
    var previousRecall = 0.0
    forEachFromTop { _, tp, fp in
      let recall = tp / positiveTotal
      let predicted = tp + fp
      let precision = predicted == 0 ? 0 : tp / predicted
      ap.add((recall - previousRecall) * precision)
      previousRecall = recall
    }
    return ap.value
  }
}

//===--- Visits -----------------------------------------------------------===//

extension ScoreHistogram {
  /// Calls `body` with each distinct score, ascending, and the values of
  /// its positive and negative sums: what ``scores``, ``positives`` and
  /// ``negatives`` hold, without building them.
  ///
  /// - Complexity: O(*D*), the distinct scores, and no allocation.
  func forEachScore(_ body: (_ score: Double, _ positives: Double, _ negatives: Double) -> Void) {
    switch storage {
    case .counts(let c):
      c.keys.withUnsafeBufferPointer { k in
        c.positives.withUnsafeBufferPointer { p in
          c.negatives.withUnsafeBufferPointer { n in
            for i in k.indices { body(k[i].score, Double(p[i]), Double(n[i])) }
          }
        }
      }
    case .sums(let s):
      for i in s.scores.indices { body(s.scores[i], s.positive(i).value, s.negative(i).value) }
    }
  }

  /// Calls `body` with each distinct score from the highest down and the
  /// positives and negatives scored at least it (running compensated sums;
  /// integer running counts when the histogram holds counts below 2⁵³, which
  /// are the same values): what ``averagePrecision``, `cumulativeFromTop()`
  /// and the report's curves step through.
  ///
  /// - Complexity: O(*D*), the distinct scores, and no allocation.
  func forEachFromTop(_ body: (_ score: Double, _ tp: Double, _ fp: Double) -> Void) {
    if case .counts(let c) = storage, countTotals != nil {
      // Integer running counts below 2⁵³: exactly the compensated ones.
      var tp: UInt64 = 0
      var fp: UInt64 = 0
      c.keys.withUnsafeBufferPointer { k in
        c.positives.withUnsafeBufferPointer { p in
          c.negatives.withUnsafeBufferPointer { n in
            for i in k.indices.reversed() {
              tp &+= UInt64(p[i])
              fp &+= UInt64(n[i])
              body(k[i].score, Double(tp), Double(fp))
            }
          }
        }
      }
      return
    }
    let s = sums
    var tp = CompensatedSum()
    var fp = CompensatedSum()
    for i in s.scores.indices.reversed() {
      tp.merge(s.positive(i))
      fp.merge(s.negative(i))
      body(s.scores[i], tp.value, fp.value)
    }
  }
}

extension ScoreHistogram {
  /// The lowest and the highest score held, or `nil` when empty.
  var scoreRange: (lowest: Double, highest: Double)? {
    switch storage {
    case .counts(let c): c.keys.first.map { ($0.score, c.keys[c.keys.count - 1].score) }
    case .sums(let s): s.scores.first.map { ($0, s.scores[s.scores.count - 1]) }
    }
  }
}
