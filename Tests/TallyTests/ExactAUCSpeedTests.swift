// The exact family's fast update (Catalog/Exact: ScoreSorting, ScoreColumns):
// order keys and radix sort, waiting keys, counts held in 12 bytes, and that
// all of it gives bit for bit what the former comparison sort and
// compensated merge gave (a copy of which is kept here as the reference).
// No timing is asserted: speed is measured by `tally-bench W9`.

import Foundation
import Testing

@testable import Tally

//===--- The former implementation, as the reference ----------------------===//

/// ExactAUC's state and results as they were computed before the radix
/// sort: indices sorted by comparison, weights added in that order, states
/// merged by a sorted merge of compensated sums.
struct ReferenceHistogram {
  var scores: [Double] = []
  var positives: [CompensatedSum] = []
  var negatives: [CompensatedSum] = []

  init() {}

  /// One batch: sort, then collapse equal scores.
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

  mutating func append(_ s: Double, _ p: CompensatedSum, _ n: CompensatedSum) {
    scores.append(s)
    positives.append(p)
    negatives.append(n)
  }

  mutating func merge(_ other: ReferenceHistogram) {
    if other.scores.isEmpty { return }
    if scores.isEmpty {
      self = other
      return
    }
    var out = ReferenceHistogram()
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

  var totals: (CompensatedSum, CompensatedSum) {
    var p = CompensatedSum()
    var n = CompensatedSum()
    for i in scores.indices {
      p.merge(positives[i])
      n.merge(negatives[i])
    }
    return (p, n)
  }

  var rocAUC: Double {
    let (pTotal, nTotal) = totals
    let p = pTotal.value
    let n = nTotal.value
    guard p != 0, n != 0 else { return .nan }
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

  var averagePrecision: Double {
    let positiveTotal = totals.0.value
    guard positiveTotal != 0 else { return 0 }
    var tp = CompensatedSum()
    var fp = CompensatedSum()
    var ap = CompensatedSum()
    var previousRecall = 0.0
    for i in scores.indices.reversed() {
      tp.merge(positives[i])
      fp.merge(negatives[i])
      let recall = tp.value / positiveTotal
      let predicted = tp.value + fp.value
      let precision = predicted == 0 ? 0 : tp.value / predicted
      ap.add((recall - previousRecall) * precision)
      previousRecall = recall
    }
    return ap.value
  }
}

/// The same bits, NaN included.
func sameBits(_ a: Double, _ b: Double) -> Bool { a.bitPattern == b.bitPattern || (a.isNaN && b.isNaN) }

/// Whether `h` holds exactly the reference's scores and sums (heads and
/// tails, to the bit; a zero score's sign aside, which keys make +0).
func matches(_ h: ScoreHistogram, _ r: ReferenceHistogram) -> Bool {
  let (s, p, n) = (h.scores, h.positives, h.negatives)
  guard s.count == r.scores.count, p.count == s.count, n.count == s.count else { return false }
  for i in s.indices {
    guard s[i] == r.scores[i], s[i] == 0 || sameBits(s[i], r.scores[i]) else { return false }
    for (x, y) in [(p[i], r.positives[i]), (n[i], r.negatives[i])] {
      guard sameBits(x.head, y.head), x.tail == y.tail else { return false }
    }
  }
  return true
}

//===--- Data -------------------------------------------------------------===//

/// Scores of the kinds the fast path treats apart.
enum ScoreKind: CaseIterable {
  /// Distinct float32 scores in [0, 1) (the standard workloads').
  case float32
  /// float32 scores on a grid of 21 values: many ties.
  case ties
  /// float64 scores that are no float32.
  case float64
  /// Both, and signed zeros, infinities, negative and huge scores.
  case mixed
}

/// A batch's labels, scores and weights, as arrays and as tensors.
struct Batch {
  var truth: [Double]
  var pred: [Double]
  var weights: [Double]?
  var yTrue: Tensor
  var yPred: Tensor
  var sampleWeight: Tensor?
}

func randomBatch(_ n: Int, kind: ScoreKind, weighted: Bool, using g: inout SplitMix64) -> Batch {
  let truth = (0..<n).map { _ in Double(Int.random(in: 0...1, using: &g)) }
  let specials: [Double] = [0, -0.0, .infinity, -.infinity, -1, 1e30, -1e30, 0x1p-149, 1]
  let pred: [Double] = truth.map { y in
    switch kind {
    case .float32: Double(Float.random(in: 0..<1, using: &g) * 0.6 + Float(y) * 0.4)
    case .ties: Double(Float(Int.random(in: 0...20, using: &g)) / 20)
    case .float64: Double.random(in: 0..<1, using: &g) + y * 0.3
    case .mixed:
      switch Int.random(in: 0..<4, using: &g) {
      case 0: specials[Int.random(in: 0..<specials.count, using: &g)]
      case 1: Double(Float.random(in: -2..<2, using: &g))
      case 2: Double.random(in: -2..<2, using: &g)
      default: Double(Float(Int.random(in: 0...4, using: &g)) / 4)
      }
    }
  }
  let weights: [Double]? =
    weighted ? (0..<n).map { _ in Bool.random(using: &g) ? Double.random(in: 0..<3, using: &g) : 1 } : nil
  // float32 tensors where the scores are float32 (the common input), and
  // labels of several element types.
  let allFloat32 = pred.allSatisfy { Double(Float($0)) == $0 }
  let yPred = allFloat32 && Bool.random(using: &g) ? Tensor(pred.map(Float.init)) : Tensor(pred)
  let yTrue: Tensor =
    switch Int.random(in: 0..<3, using: &g) {
    case 0: Tensor(truth.map(Float.init))
    case 1: Tensor(truth.map { Int64($0) })
    default: Tensor(truth.map { $0 != 0 })
    }
  return Batch(
    truth: truth, pred: pred, weights: weights, yTrue: yTrue, yPred: yPred, sampleWeight: weights.map { Tensor($0) })
}

//===--- Tests ------------------------------------------------------------===//

@Suite struct ExactAUCSpeedTests {
  /// Any mix of batches (sizes from 1 to past the radix sort's and the
  /// waiting keys' thresholds, weighted or not, float32 or float64 scores),
  /// with results read in between: every state and result has the bits of
  /// the former implementation.
  @Test(arguments: 0..<24)
  func sameBitsAsTheComparisonSort(seed: Int) throws {
    var g = SplitMix64(seed: UInt64(7_000 + seed))
    let kind = ScoreKind.allCases[seed % ScoreKind.allCases.count]
    let weightedBatches = seed % 3 == 2
    var roc = ExactAUC()
    var pr = try ExactAUC(curve: .pr)
    var reference = ReferenceHistogram()
    for step in 0..<8 {
      let n = [1, 3, 100, 129, 1_000, 5_000, 70_000][Int.random(in: 0..<7, using: &g)]
      let weighted = weightedBatches && Bool.random(using: &g)
      let b = randomBatch(n, kind: kind, weighted: weighted, using: &g)
      try roc.update(yTrue: b.yTrue, yPred: b.yPred, sampleWeight: b.sampleWeight)
      try pr.update(yTrue: b.yTrue, yPred: b.yPred, sampleWeight: b.sampleWeight)
      reference.merge(ReferenceHistogram(truth: b.truth, pred: b.pred, weights: b.weights))
      if step % 3 == 1 || step == 7 {
        #expect(matches(roc.state, reference), "seed \(seed) step \(step): state differs")
        #expect(sameBits(roc.result().scalar!, reference.rocAUC), "\(roc.result()) vs \(reference.rocAUC)")
        #expect(sameBits(pr.result().scalar!, reference.averagePrecision))
      }
    }
    // Curves come from the same sums.
    #expect(roc.rocCurve().thresholds.count == reference.scores.count + 1)
  }

  /// Shards merged in a random order give the bits of the reference merged
  /// in the same order; saved and loaded, they still do.
  @Test(arguments: 0..<12)
  func mergesAndSavedStatesKeepTheBits(seed: Int) throws {
    var g = SplitMix64(seed: UInt64(8_000 + seed))
    let kind = ScoreKind.allCases[seed % ScoreKind.allCases.count]
    var shards: [(ExactAUC, ReferenceHistogram)] = []
    for _ in 0..<4 {
      var m = ExactAUC()
      var r = ReferenceHistogram()
      for _ in 0..<3 {
        let b = randomBatch(Int.random(in: 1...3_000, using: &g), kind: kind, weighted: seed % 2 == 1, using: &g)
        try m.update(yTrue: b.yTrue, yPred: b.yPred, sampleWeight: b.sampleWeight)
        r.merge(ReferenceHistogram(truth: b.truth, pred: b.pred, weights: b.weights))
      }
      if Bool.random(using: &g) { m = try ExactAUC(savedState: m.savedState()) }
      shards.append((m, r))
    }
    while shards.count > 1 {
      var (a, ra) = shards.remove(at: Int.random(in: 0..<shards.count, using: &g))
      let (b, rb) = shards.remove(at: Int.random(in: 0..<shards.count, using: &g))
      try a.merge(b)
      ra.merge(rb)
      shards.append((a, ra))
    }
    let (m, r) = shards[0]
    #expect(matches(m.state, r))
    #expect(sameBits(m.result().scalar!, r.rocAUC))
    let loaded = try ExactAUC(savedState: m.savedState())
    #expect(loaded.state == m.state)
    #expect(sameBits(loaded.result().scalar!, r.rocAUC))
  }

  /// Unweighted float32 scores are held as counts: 12 bytes a distinct
  /// score (a 32-bit key and two 32-bit counts); weights move the state to
  /// sums, whose results are unchanged.
  @Test func unweightedFloat32ScoresAreHeldAsCounts() throws {
    var g = SplitMix64(seed: 5)
    var m = ExactAUC()
    for _ in 0..<4 {
      let b = randomBatch(50_000, kind: .float32, weighted: false, using: &g)
      try m.update(yTrue: b.yTrue, yPred: b.yPred)
    }
    guard case .counts(let c) = m.state.storage else {
      Issue.record("unweighted float32 scores should be held as counts")
      return
    }
    #expect(
      MemoryLayout<Float32Key>.stride + 2 * MemoryLayout<UInt32>.stride == 12 && c.count == m.state.count)
    let before = m.result()
    try m.update(yTrue: [Float(1)], yPred: [Float(0.5)], sampleWeight: [Float(0.25)])
    guard case .sums = m.state.storage else {
      Issue.record("a weight that is no count should move the state to sums")
      return
    }
    #expect(m.result() != before)
  }

  /// The saved bytes of counts are those of the same histogram as sums
  /// (files written before counts existed load, and are written again, the
  /// same).
  @Test func countsSaveAsSumsDid() throws {
    var g = SplitMix64(seed: 9)
    var m = ExactAUC()
    let b = randomBatch(3_000, kind: .ties, weighted: false, using: &g)
    try m.update(yTrue: b.yTrue, yPred: b.yPred)
    guard case .counts(let c) = m.state.storage else {
      Issue.record("expected counts")
      return
    }
    let asSums = ScoreHistogram(storing: c.sums)
    #expect(asSums.binary() == m.state.binary())
    #expect(asSums == m.state)
    let back = ScoreHistogram(binary: m.state.binary(), count: m.state.count)
    #expect(back == m.state)
    if let back, case .counts = back.storage {} else { Issue.record("counts should load as counts") }
  }

  /// Order keys order as their scores (−0 as +0), and give them back.
  @Test func orderKeysOrderAsScores() {
    var g = SplitMix64(seed: 1)
    let specials: [Double] = [
      0, -0.0, 1, -1, .infinity, -.infinity, .leastNonzeroMagnitude, -.leastNonzeroMagnitude,
      .greatestFiniteMagnitude, -.greatestFiniteMagnitude, 0x1p-149, -0x1p-149,
    ]
    let values = specials + (0..<500).map { _ in Double(bitPattern: g.next()) }.filter { !$0.isNaN }
    for a in values {
      for b in values.prefix(40) {
        #expect((Float64Key(a).bits < Float64Key(b).bits) == (a < b), "\(a) vs \(b)")
        let (fa, fb) = (Float(a), Float(b))
        if !fa.isNaN && !fb.isNaN {
          #expect((Float32Key(fa).bits < Float32Key(fb).bits) == (fa < fb), "\(fa) vs \(fb)")
        }
      }
      #expect(Float64Key(a).score == a)
      if !Float(a).isNaN { #expect(Float32Key(Float(a)).score == Double(Float(a))) }
    }
    #expect(Float32Key(-0.0).bits == Float32Key(0).bits && Float64Key(-0.0).bits == Float64Key(0).bits)
    #expect(Float64Key(-0.0).score.sign == .plus)
  }

  /// The radix sort is a stable sort, at every size and for keys that
  /// share digits.
  @Test(arguments: [0, 1, 2, 128, 129, 4_096, 100_000, RadixSort.parallelMinimum + 3])
  func radixSortIsStable(n: Int) {
    var g = SplitMix64(seed: UInt64(n))
    for spread in [UInt64(4), 1 << 20, .max] {
      let keys = (0..<n).map { i in KeyedIndex(key: (g.next() % spread) << 7, index: i) }
      // Split over several sources, as waiting keys are.
      let cut = n / 3
      let sorted = RadixSort.sorted([Array(keys[..<cut]), Array(keys[cut...])])
      let expected = keys.sorted { ($0.key, $0.index) < ($1.key, $1.index) }
      #expect(sorted.map(\.key) == expected.map(\.key) && sorted.map(\.index) == expected.map(\.index))
    }
  }

  /// Merges large enough to run in parts on several cores (split by key,
  /// with equal keys on both sides of a cut) give the reference's bits.
  @Test func largeMergesSplitByKey() throws {
    var g = SplitMix64(seed: 33)
    var metrics: [ExactAUC] = []
    var references: [ReferenceHistogram] = []
    for kind in [ScoreKind.float32, .ties] {
      var m = ExactAUC()
      var r = ReferenceHistogram()
      for _ in 0..<2 {
        var b = randomBatch(300_000, kind: kind, weighted: false, using: &g)
        if kind == .ties {
          // 4,096 grid values: many equal keys around every cut.
          b.pred = b.pred.map { _ in Double(Float(Int.random(in: 0..<4_096, using: &g)) / 4_096) }
          b.yPred = Tensor(b.pred.map(Float.init))
        }
        try m.update(yTrue: b.yTrue, yPred: b.yPred)
        r.merge(ReferenceHistogram(truth: b.truth, pred: b.pred, weights: nil))
      }
      #expect(matches(m.state, r))
      metrics.append(m)
      references.append(r)
    }
    var m = metrics[0]
    try m.merge(metrics[1])
    var r = references[0]
    r.merge(references[1])
    #expect(matches(m.state, r))
    #expect(sameBits(m.result().scalar!, r.rocAUC))
  }

  /// Many small batches with a result read after each: the waiting keys
  /// never change a result.
  @Test func smallBatchesWithResultsReadBetween() throws {
    var g = SplitMix64(seed: 21)
    var m = ExactAUC()
    var reference = ReferenceHistogram()
    for _ in 0..<300 {
      let b = randomBatch(Int.random(in: 1...64, using: &g), kind: .ties, weighted: false, using: &g)
      try m.update(yTrue: b.yTrue, yPred: b.yPred)
      reference.merge(ReferenceHistogram(truth: b.truth, pred: b.pred, weights: nil))
      #expect(sameBits(m.result().scalar!, reference.rocAUC))
    }
    #expect(matches(m.state, reference))
  }

  /// A rejected batch leaves waiting keys and counts as they were.
  @Test func rejectedBatchesChangeNothing() throws {
    var m = ExactAUC()
    try m.update(yTrue: [Float(1), 0, 1], yPred: [Float(0.8), 0.3, 0.6])
    let state = m.state
    #expect(throws: MetricError.self) { try m.update(yTrue: [Float(1), 2], yPred: [Float(0.8), 0.3]) }
    #expect(throws: MetricError.self) { try m.update(yTrue: [Float(1), 0], yPred: [Float(0.8), .nan]) }
    #expect(throws: MetricError.self) { try m.update(yTrue: [Float(1), 0], yPred: [Float(0.8)]) }
    #expect(m.state == state)
    #expect(m.result() == .scalar(1))
  }
}
