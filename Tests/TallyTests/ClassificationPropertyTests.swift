import Foundation
import Testing
import Tally

/// Batch-split, merge-order and save/load invariance for the classification
/// catalog, on seeded random data.
@Suite struct ClassificationPropertyTests: InvarianceChecks {
  typealias Data = PredictionData

  @Test(arguments: 0..<40)
  func aucIsInvariant(seed: Int) throws {
    let weighted = seed % 2 == 1
    var (d, g) = Self.data(seed: UInt64(seed), weighted: weighted)
    let curves: [AUCCurve] = [.roc, .pr, .prGain]
    let curve = curves[seed % 3]
    let (a, b) = try Self.both({ try AUC(numThresholds: [3, 200, 1000][seed % 3], curve: curve) }, d, &g)
    Self.expectSame(a, b, exact: !weighted)
    let (e1, e2) = try Self.both({ try ExactAUC(curve: seed % 2 == 0 ? .roc : .pr) }, d, &g)
    Self.expectSame(e1, e2, exact: !weighted)
  }

  @Test(arguments: 0..<30)
  func thresholdMetricsAreInvariant(seed: Int) throws {
    let weighted = seed % 2 == 1
    var (d, g) = Self.data(seed: UInt64(100 + seed), weighted: weighted)
    let (p1, p2) = try Self.both({ try Precision(thresholds: [0.7, 0.25, 0.5]) }, d, &g)
    Self.expectSame(p1, p2, exact: !weighted)
    let (r1, r2) = try Self.both({ try Recall(thresholds: [0, 0.5, 1]) }, d, &g)
    Self.expectSame(r1, r2, exact: !weighted)
    let (s1, s2) = try Self.both({ try SensitivityAtSpecificity(specificity: 0.6) }, d, &g)
    Self.expectSame(s1, s2, exact: !weighted)
  }

  @Test(arguments: 0..<30)
  func fScoresAndAccuracyAreInvariant(seed: Int) throws {
    let weighted = seed % 2 == 1
    var (d, g) = Self.data(seed: UInt64(200 + seed), weighted: weighted)
    let averages: [FScoreAverage?] = [nil, .micro, .macro, .weighted]
    let (f1, f2) = try Self.both({ try FBetaScore(average: averages[seed % 4], beta: 2, threshold: 0.5) }, d, &g)
    Self.expectSame(f1, f2, exact: false)
    let (a1, a2) = try Self.both({ BinaryAccuracy() }, d, &g)
    Self.expectSame(a1, a2, exact: false)
  }
}
