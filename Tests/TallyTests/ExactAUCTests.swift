// The exact family (Catalog/Exact): ExactAUC, its curves and its memory.

import Tally
import Testing

/// ExactAUC: sklearn's exact ROC AUC and average precision, ties, a single
/// class, and a state that grows with distinct scores.
@Suite struct ExactAUCTests {
  @Test func docExample() throws {
    var m = ExactAUC()
    try m.update(yTrue: [0, 0, 1, 1], yPred: [0.1, 0.4, 0.35, 0.8])
    #expect(m.result() == .scalar(0.75))
    let roc = m.rocCurve()
    #expect(roc.truePositiveRates == [0, 0.5, 0.5, 1, 1])
    #expect(roc.falsePositiveRates == [0, 0, 0.5, 0.5, 1])
    #expect(roc.thresholds.first == .infinity)
    var ap = try ExactAUC(curve: .pr)
    try ap.update(yTrue: [0, 0, 1, 1], yPred: [0.1, 0.4, 0.35, 0.8])
    // sklearn average_precision_score: 0.8333…
    #expect(abs(ap.result().scalar! - 5.0 / 6.0) < 1e-15)
    let pr = ap.precisionRecallCurve()
    #expect(pr.thresholds == [0.1, 0.35, 0.4, 0.8])
    #expect(pr.recalls == [1, 1, 0.5, 0.5, 0])
    #expect(pr.precisions.last == 1)
  }

  @Test func tiesCountOneHalf() throws {
    var m = ExactAUC()
    try m.update(yTrue: [0, 1], yPred: [0.5, 0.5])
    #expect(m.result() == .scalar(0.5))
  }

  @Test func singleClassIsNaN() throws {
    var m = ExactAUC()
    try m.update(yTrue: [1, 1], yPred: [0.2, 0.7])
    #expect(m.result().scalar!.isNaN)
  }

  /// The state grows with distinct scores, not samples.
  @Test func memoryFollowsDistinctScores() throws {
    var m = ExactAUC()
    var g = SplitMix64(seed: 11)
    for _ in 0..<20 {
      let y = (0..<5_000).map { _ in Double(Int.random(in: 0...1, using: &g)) }
      let p = (0..<5_000).map { _ in (Double.random(in: 0...1, using: &g) * 1000).rounded() / 1000 }
      try m.update(yTrue: Tensor(y), yPred: Tensor(p))
    }
    #expect(m.state.count <= 1_001)
  }
}
