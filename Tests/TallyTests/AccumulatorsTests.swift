// The accumulators (Accumulators.swift): compensated sums, and counts that report overflow.

import Tally
import Testing

/// The compensated sum does not depend on the order of its terms; a count
/// past Int64.max is an error, not a trap.
@Suite struct AccumulatorsTests: BadInputChecks {
  /// Compensation at work: a naive sum of these terms depends on the order,
  /// the compensated one does not. (Condition number Σ|x| / |Σx| ≈ 10^7:
  /// heavy cancellation, inside the double-double bound documented on
  /// `CompensatedSum`.)
  @Test func compensatedSumIsOrderIndependent() {
    var g = SplitMix64(seed: 7)
    var terms: [Double] = []
    for _ in 0..<10_000 {
      let big = Double.random(in: 1e6...1e7, using: &g)
      terms += [big, Double.random(in: 0...1, using: &g), -big]
    }
    var forward = CompensatedSum()
    forward.add(contentsOf: terms)
    var backward = CompensatedSum()
    backward.add(contentsOf: terms.reversed())
    var shuffled = CompensatedSum()
    shuffled.add(contentsOf: terms.shuffled(using: &g))
    #expect(withinOneUlp(forward.value, backward.value))
    #expect(withinOneUlp(forward.value, shuffled.value))
    let naiveForward = terms.reduce(0, +)
    let naiveShuffled = terms.shuffled(using: &g).reduce(0, +)
    #expect(naiveForward != naiveShuffled)  // the problem compensation solves
  }

  @Test func countOverflowIsAnErrorNotATrap() throws {
    var big = MeanState()
    big.count = Int64.max / 2 + 1
    var a = Mean()
    try a.restore(big)
    Self.expectRejected(a, MetricError.invalidValue, mentioning: "overflow") { m throws(MetricError) in
      try m.merge(a)
    }
  }
}
