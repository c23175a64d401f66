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
