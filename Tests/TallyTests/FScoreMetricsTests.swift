// The F-score family (Catalog/FScore): FBetaScore and F1Score.

import Tally
import Testing

/// Keras's F-score docstring vectors.
@Suite struct FScoreMetricsTests {
  static let y: [[Double]] = [[1, 1, 1], [1, 0, 0], [1, 1, 0]]
  static let p: [[Double]] = [[0.2, 0.6, 0.7], [0.2, 0.6, 0.6], [0.6, 0.8, 0]]

  @Test func averages() throws {
    var none = try F1Score(threshold: 0.5)
    try none.update(yTrue: Self.y, yPred: Self.p)
    let v = none.result().values
    for (a, b) in zip(v, [0.5, 0.8, 0.666667]) { #expect(abs(a - b) < 1e-6) }
    let expected: [(FScoreAverage, Double)] = [(.micro, 0.666667), (.macro, 0.655555), (.weighted, 0.627778)]
    for (avg, want) in expected {
      var m = try FBetaScore(average: avg, beta: 1, threshold: 0.5)
      try m.update(yTrue: Self.y, yPred: Self.p)
      #expect(abs(m.result().scalar! - want) < 1e-6, "\(avg)")
    }
    var rowMax = try F1Score()
    try rowMax.update(yTrue: Self.y, yPred: Self.p)
    for (a, b) in zip(rowMax.result().values, [0.0, 0.5, 0.666667]) { #expect(abs(a - b) < 1e-6) }
  }
}
