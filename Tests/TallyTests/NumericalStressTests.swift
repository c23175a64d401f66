import Testing
import Tally

/// 10^7 values with a large common offset: Tally's MSE, R² and Pearson stay
/// within 1e-9 of a float64 two-pass reference, where naive float32 running
/// sums (Keras's arithmetic) are visibly off.
@Suite struct NumericalStressTests {
  static let n = 10_000_000
  static let batch = 1_000_000
  static let offset = 1e6

  /// Pairwise summation: an independent float64 reference.
  static func pairwiseSum(_ x: ArraySlice<Double>) -> Double {
    if x.count <= 64 { return x.reduce(0, +) }
    let mid = x.startIndex + x.count / 2
    return pairwiseSum(x[..<mid]) + pairwiseSum(x[mid...])
  }

  static func data() -> (y: [Double], p: [Double]) {
    var g = SplitMix64(seed: 2026)
    var y = [Double](repeating: 0, count: n)
    var p = [Double](repeating: 0, count: n)
    for i in 0..<n {
      // Values representable in float32 are not the point here: the offset
      // is, so draw in float64.
      let x = Double.random(in: -1...1, using: &g)
      y[i] = offset + x
      p[i] = offset + 0.9 * x + 0.1 * Double.random(in: -1...1, using: &g)
    }
    return (y, p)
  }

  @Test func largeOffset() throws {
    let (y, p) = Self.data()
    let n = Double(Self.n)
    // Two-pass float64 references.
    let se = zip(y, p).map { ($0 - $1) * ($0 - $1) }
    let mseRef = Self.pairwiseSum(se[...]) / n
    let my = Self.pairwiseSum(y[...]) / n
    let mp = Self.pairwiseSum(p[...]) / n
    let ssy = Self.pairwiseSum(y.map { ($0 - my) * ($0 - my) }[...])
    let ssp = Self.pairwiseSum(p.map { ($0 - mp) * ($0 - mp) }[...])
    let sxy = Self.pairwiseSum(zip(y, p).map { ($0 - my) * ($1 - mp) }[...])
    let r2Ref = 1 - Self.pairwiseSum(se[...]) / ssy
    let pearsonRef = sxy / (ssy * ssp).squareRoot()

    var mse = MeanSquaredError(dtype: "float64")
    var r2 = try R2Score(dtype: "float64")
    var pearson = PearsonCorrelation(dtype: "float64")
    for start in stride(from: 0, to: Self.n, by: Self.batch) {
      let yt = Array(y[start..<(start + Self.batch)])
      let yp = Array(p[start..<(start + Self.batch)])
      try mse.update(yTrue: try Tensor(yt, shape: [Self.batch, 1]), yPred: try Tensor(yp, shape: [Self.batch, 1]))
      try r2.update(yTrue: try Tensor(yt, shape: [Self.batch, 1]), yPred: try Tensor(yp, shape: [Self.batch, 1]))
      try pearson.update(yTrue: Tensor(yt), yPred: Tensor(yp))
    }
    let rel = { (a: Double, b: Double) in abs(a - b) / abs(b) }
    #expect(rel(mse.result().scalar!, mseRef) < 1e-9)
    #expect(rel(r2.result().scalar!, r2Ref) < 1e-9, "\(r2.result()) vs \(r2Ref)")
    #expect(rel(pearson.result().scalar!, pearsonRef) < 1e-9, "\(pearson.result()) vs \(pearsonRef)")

    // Keras's arithmetic: float32 running sums of raw moments.
    var sum: Float = 0, sumSq: Float = 0, residual: Float = 0
    for i in 0..<Self.n {
      let t = Float(y[i])
      sum += t
      sumSq += t * t
      residual += (t - Float(p[i])) * (t - Float(p[i]))
    }
    let mean = sum / Float(Self.n)
    let naiveR2 = 1 - Double(residual / (sumSq - sum * mean))
    #expect(rel(naiveR2, r2Ref) > 1e-2, "naive float32 R² \(naiveR2) should be visibly off \(r2Ref)")
  }
}
