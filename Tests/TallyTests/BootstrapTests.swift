// Evaluation: the Poisson bootstrap (Bootstrapped, PoissonBootstrap).

import Foundation
import Tally
import Testing

/// Labels and scores of a binary classifier: positives score N(μ, 1),
/// negatives N(0, 1), squashed into (0, 1) by the logistic function (which
/// keeps the ROC AUC, Φ(μ/√2)).
func binormalScores(_ n: Int, positiveRate: Double, shift: Double, using g: inout SplitMix64)
  -> (y: [Double], p: [Double])
{
  var y: [Double] = []
  var p: [Double] = []
  for _ in 0..<n {
    let positive = Double.random(in: 0..<1, using: &g) < positiveRate
    // Box–Muller.
    let u1 = Double.random(in: Double.ulpOfOne..<1, using: &g)
    let u2 = Double.random(in: 0..<1, using: &g)
    let z = (-2 * log(u1)).squareRoot() * cos(2 * .pi * u2)
    let s = z + (positive ? shift : 0)
    y.append(positive ? 1 : 0)
    p.append(1 / (1 + exp(-s)))
  }
  return (y, p)
}

@Suite struct BootstrapTests {
  /// The table of Poisson(1)'s distribution function, and 2 M draws
  /// against the probabilities (each frequency within 5 standard errors).
  @Test func drawsArePoissonOne() throws {
    let b = try PoissonBootstrap(replicates: 200, seed: 3)
    var counts = [Int](repeating: 0, count: 16)
    let rows = 10_000
    for row in 0..<rows {
      for r in 0..<200 { counts[b.weight(row: Int64(row), replicate: r)] += 1 }
    }
    let n = Double(rows * 200)
    var factorial = 1.0
    for k in 0..<8 {
      if k > 0 { factorial *= Double(k) }
      let p = exp(-1) / factorial
      let se = (p * (1 - p) / n).squareRoot()
      #expect(abs(Double(counts[k]) / n - p) < 5 * se, "P(\(k)): \(Double(counts[k]) / n) against \(p)")
    }
    // The mean is 1 and the variance 1, to sampling error.
    let mean = counts.enumerated().map { Double($0.offset * $0.element) }.reduce(0, +) / n
    let meanSquare = counts.enumerated().map { Double($0.offset * $0.offset * $0.element) }.reduce(0, +) / n
    #expect(abs(mean - 1) < 5 / n.squareRoot())
    #expect(abs(meanSquare - mean * mean - 1) < 10 / n.squareRoot())
  }

  /// Draws depend on the seed, the row and the replicate, and on nothing
  /// else: rows and replicates far apart are not correlated.
  @Test func drawsArePureAndIndependent() throws {
    let a = try PoissonBootstrap(replicates: 4, seed: 1)
    let b = try PoissonBootstrap(replicates: 4, seed: 2)
    let same = (0..<5_000).map { a.weight(row: Int64($0), replicate: 1) }
    #expect(same == (0..<5_000).map { a.weight(row: Int64($0), replicate: 1) })
    let other = (0..<5_000).map { b.weight(row: Int64($0), replicate: 1) }
    #expect(same != other)
    // Correlation between replicates 0 and 1, and between rows i and i + 1.
    func correlation(_ x: [Int], _ y: [Int]) -> Double {
      let n = Double(x.count)
      let mx = Double(x.reduce(0, +)) / n
      let my = Double(y.reduce(0, +)) / n
      var sxy = 0.0
      var sxx = 0.0
      var syy = 0.0
      for i in x.indices {
        sxy += (Double(x[i]) - mx) * (Double(y[i]) - my)
        sxx += (Double(x[i]) - mx) * (Double(x[i]) - mx)
        syy += (Double(y[i]) - my) * (Double(y[i]) - my)
      }
      return sxy / (sxx * syy).squareRoot()
    }
    let r0 = (0..<20_000).map { a.weight(row: Int64($0), replicate: 0) }
    let r1 = (0..<20_000).map { a.weight(row: Int64($0), replicate: 1) }
    #expect(abs(correlation(r0, r1)) < 0.03)
    #expect(abs(correlation(Array(r0.dropLast()), Array(r0.dropFirst()))) < 0.03)
  }

  @Test func badArgumentsAreRefused() throws {
    #expect(throws: MetricError.self) { try PoissonBootstrap(replicates: 0) }
    #expect(throws: MetricError.self) { try PoissonBootstrap(replicates: -5) }
    #expect(throws: MetricError.self) { try Bootstrapped(BinaryAccuracy(), replicates: 0) }
    var m = try Bootstrapped(BinaryAccuracy(), replicates: 10)
    try m.update(yTrue: [1, 0], yPred: [0.9, 0.1])
    for c in [0.0, 1.0, -0.5, 1.5, .nan] {
      #expect(throws: MetricError.self) { try m.interval(confidence: c) }
    }
    // A weight that is not one per row; rows of the wrong count; the state
    // is unchanged after each.
    let before = m.state
    #expect(throws: MetricError.self) {
      try m.update(yTrue: Tensor([1.0, 0]), yPred: Tensor([0.9, 0.1]), sampleWeight: Tensor([1.0, 1, 1]))
    }
    #expect(throws: MetricError.self) {
      try m.update(
        yTrue: Tensor([1.0, 0]), yPred: Tensor([0.9, 0.1]), sampleWeight: nil,
        rows: .contiguous(first: 0, count: 3))
    }
    #expect(throws: MetricError.self) {
      try m.update(
        yTrue: Tensor([1.0, 0]), yPred: Tensor([0.9, 0.1]), sampleWeight: nil,
        rows: .contiguous(first: -1, count: 2))
    }
    #expect(m.state == before)
    // A NaN score in AUC.
    var auc = try Bootstrapped(AUC(), replicates: 10)
    try auc.update(yTrue: [1, 0], yPred: [0.9, 0.1])
    let aucBefore = auc.state
    #expect(throws: MetricError.self) { try auc.update(yTrue: [1, 0], yPred: [0.9, Double.nan]) as Void }
    #expect(auc.state == aucBefore)
  }

  /// The same replicates however the rows are batched, sharded and merged:
  /// bit for bit for counts (binary accuracy and AUC, by the cell path),
  /// within 1 ulp for sums (MSE, by weighted updates).
  @Test(arguments: [1, 2, 3]) func splitInvariance(seed: UInt64) throws {
    var g = SplitMix64(seed: seed)
    let n = 3_000
    let (y, p) = binormalScores(n, positiveRate: 0.3, shift: 1, using: &g)
    let yt = Tensor(y)
    let yp = Tensor(p)
    func check<M: PredictionMetric>(_ base: M, exact: Bool) throws {
      var whole = try Bootstrapped(base, replicates: 50, seed: 9)
      try whole.update(yTrue: yt, yPred: yp)
      // Batches in order through plain update (rows continue).
      var batched = try Bootstrapped(base, replicates: 50, seed: 9)
      for r in randomSplit(n, parts: 7, using: &g) { try batched.update(yTrue: rows(yt, r), yPred: rows(yp, r)) }
      // Shards with their first rows, merged in random order.
      let shards = try randomSplit(n, parts: 5, using: &g).map { r in
        var s = try Bootstrapped(base, replicates: 50, seed: 9)
        try s.update(
          yTrue: rows(yt, r), yPred: rows(yp, r), sampleWeight: nil,
          rows: .contiguous(first: Int64(r.lowerBound), count: r.count))
        return s
      }
      let merged = try mergeRandomly(shards, using: &g)
      for other in [batched, merged] {
        let a = whole.replicateResults().flatMap(\.values)
        let b = other.replicateResults().flatMap(\.values)
        if exact {
          #expect(a == b)
          #expect(whole.state == other.state || M.self == BinaryAccuracy.self)
          #expect(try whole.interval() == other.interval())
        } else {
          #expect(zip(a, b).allSatisfy { withinOneUlp($0, $1) })
        }
      }
    }
    try check(BinaryAccuracy(), exact: true)
    try check(AUC(), exact: true)
    try check(Precision(thresholds: [0.3, 0.5]), exact: true)
    try check(MeanSquaredError(), exact: false)
  }

  /// The cell path (no weights) gives the same replicates as weighted
  /// updates of the base metric (weights of 1 take that path).
  @Test func cellPathEqualsWeightedUpdates() throws {
    var g = SplitMix64(seed: 5)
    let (y, p) = binormalScores(2_000, positiveRate: 0.4, shift: 1.5, using: &g)
    let ones = Tensor([Double](repeating: 1, count: y.count))
    func check<M: PredictionMetric>(_ base: M) throws {
      var cells = try Bootstrapped(base, replicates: 30, seed: 4)
      try cells.update(yTrue: Tensor(y), yPred: Tensor(p))
      var weighted = try Bootstrapped(base, replicates: 30, seed: 4)
      try weighted.update(yTrue: Tensor(y), yPred: Tensor(p), sampleWeight: ones)
      #expect(cells.replicateResults() == weighted.replicateResults())
      #expect(cells.result() == weighted.result())
    }
    try check(BinaryAccuracy())
    try check(AUC(numThresholds: 50))
    try check(AUC(curve: .pr))
    try check(Recall(thresholds: [0.4]))
    try check(TruePositives())
    try check(PrecisionAtRecall(recall: 0.5))
  }

  /// Against a plain resampling reference: each replicate's data set is
  /// built row by row (row i repeated by its Poisson weight), the metric is
  /// computed on it by its formula, and the percentile interval by sorting.
  @Test func matchesPlainResampling() throws {
    var g = SplitMix64(seed: 21)
    let n = 400
    let (y, p) = binormalScores(n, positiveRate: 0.5, shift: 1, using: &g)
    let replicates = 99
    var m = try Bootstrapped(BinaryAccuracy(), replicates: replicates, seed: 77)
    for r in randomSplit(n, parts: 3, using: &g) {
      try m.update(yTrue: Tensor(Array(y[r])), yPred: Tensor(Array(p[r])))
    }
    let b = m.bootstrap
    var values: [Double] = []
    for q in 0..<replicates {
      var resampleY: [Double] = []
      var resampleP: [Double] = []
      for i in 0..<n {
        for _ in 0..<b.weight(row: Int64(i), replicate: q) {
          resampleY.append(y[i])
          resampleP.append(p[i])
        }
      }
      let hits = zip(resampleY, resampleP).filter { $0 == ($1 > 0.5 ? 1 : 0) }.count
      values.append(Double(hits) / Double(resampleY.count))
    }
    #expect(m.replicateResults().map { $0.scalar! } == values)
    values.sort()
    // 99 replicates: the 5 % and 95 % quantiles sit at positions 4.9 and 93.1.
    let low = values[4] + (values[5] - values[4]) * 0.9
    let high = values[93] + (values[94] - values[93]) * 0.1
    let ci = try m.interval(confidence: 0.9)
    #expect(abs(ci.low.scalar! - low) < 1e-15)
    #expect(abs(ci.high.scalar! - high) < 1e-15)
    let mean = values.reduce(0, +) / Double(replicates)
    let sd = (values.map { ($0 - mean) * ($0 - mean) }.reduce(0, +) / Double(replicates - 1)).squareRoot()
    #expect(abs(ci.standardError.scalar! - sd) < 1e-12)
    #expect(ci.value == m.result())
    #expect(ci.replicates == replicates)
  }

  /// The 95 % interval covers the true value in 90–99 % of 200 data sets:
  /// a mean of Bernoulli(0.3) samples (as the mean absolute error of 0/1
  /// predictions against 0, by weighted updates), a binary accuracy of 0.7
  /// (by the cell path), and an exact ROC AUC of Φ(1/√2) = 0.76025 of two
  /// normal score distributions.
  @Test func intervalsCoverTheTruth() throws {
    var g = SplitMix64(seed: 2026)
    let trials = 200
    var covered = [0, 0, 0]
    let trueAUC = 0.5 * erfc(-(1 / 2.0.squareRoot()) / 2.0.squareRoot())
    for trial in 0..<trials {
      // A mean of Bernoulli(0.3).
      let x = (0..<300).map { _ in Double.random(in: 0..<1, using: &g) < 0.3 ? 1.0 : 0.0 }
      var mean = try Bootstrapped(MeanAbsoluteError(), replicates: 200, seed: Int64(trial))
      try mean.update(yTrue: Tensor([Double](repeating: 0, count: x.count)), yPred: Tensor(x))
      let a = try mean.interval()
      if a.low.scalar! <= 0.3 && 0.3 <= a.high.scalar! { covered[0] += 1 }
      // An accuracy of 0.7: the prediction is right with probability 0.7.
      var labels: [Double] = []
      var scores: [Double] = []
      for _ in 0..<500 {
        let label = Double.random(in: 0..<1, using: &g) < 0.5 ? 1.0 : 0.0
        let right = Double.random(in: 0..<1, using: &g) < 0.7
        labels.append(label)
        scores.append(right == (label == 1) ? 0.9 : 0.1)
      }
      var accuracy = try Bootstrapped(BinaryAccuracy(), replicates: 200, seed: Int64(trial))
      try accuracy.update(yTrue: Tensor(labels), yPred: Tensor(scores))
      let b = try accuracy.interval()
      if b.low.scalar! <= 0.7 && 0.7 <= b.high.scalar! { covered[1] += 1 }
      // An exact AUC.
      let (y, p) = binormalScores(400, positiveRate: 0.5, shift: 1, using: &g)
      var auc = try Bootstrapped(AUC(), replicates: 200, seed: Int64(trial))
      try auc.update(yTrue: Tensor(y), yPred: Tensor(p))
      let c = try auc.interval()
      if c.low.scalar! <= trueAUC && trueAUC <= c.high.scalar! { covered[2] += 1 }
    }
    for (name, k) in zip(["mean", "accuracy", "auc"], covered) {
      print("coverage of the 95 % interval, \(name): \(k) of \(trials)")
      let rate = Double(k) / Double(trials)
      #expect(rate >= 0.90 && rate <= 0.99, "\(name): the 95 % interval covered the truth in \(k) of \(trials)")
    }
  }

  /// Saved, loaded and merged like any state; a config of the wrong
  /// replicates is refused.
  @Test func savesLoadsAndMerges() throws {
    var a = try Bootstrapped(AUC(), replicates: 20, seed: 8)
    try a.update(yTrue: [0, 1, 1, 0], yPred: [0.2, 0.7, 0.4, 0.5])
    let data = a.savedState()
    let b = try Bootstrapped<AUC>(savedState: data)
    #expect(b.state == a.state)
    #expect(b.config == a.config)
    #expect(try b.interval() == a.interval())
    var other = try Bootstrapped(AUC(), replicates: 21, seed: 8)
    #expect(throws: MetricError.self) { try other.merge(try Bootstrapped(AUC(), replicates: 20, seed: 8)) }
    #expect(throws: MetricError.self) { try other.load(savedState: data) }
    #expect(MetricRegistry.classes["Bootstrapped"] == nil)
  }

  /// A vector result gets an interval per element.
  @Test func vectorResults() throws {
    var m = try Bootstrapped(Precision(thresholds: [0.3, 0.6]), replicates: 40, seed: 2)
    var g = SplitMix64(seed: 4)
    let (y, p) = binormalScores(500, positiveRate: 0.5, shift: 1, using: &g)
    try m.update(yTrue: Tensor(y), yPred: Tensor(p))
    let ci = try m.interval()
    guard case .vector(let low) = ci.low, case .vector(let high) = ci.high, case .vector(let v) = ci.value else {
      Issue.record("expected vectors")
      return
    }
    #expect(low.count == 2 && high.count == 2)
    for j in 0..<2 { #expect(low[j] <= v[j] && v[j] <= high[j]) }
  }
}
