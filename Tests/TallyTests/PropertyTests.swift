import Foundation
import Testing
import Tally

/// Batch-split, merge-order and save/load invariance on seeded random data:
/// the same data give the same result, to the last bit or within 1 ulp,
/// however they are batched, sharded, saved and merged.
@Suite struct PropertyTests {
  /// Merge laws on states: identity, commutativity, associativity.
  @Test(arguments: 0..<30)
  func mergeLaws(seed: Int) throws {
    var g = SplitMix64(seed: UInt64(3000 + seed))
    func random() throws -> Mean {
      var m = Mean()
      let n = Int.random(in: 1...50, using: &g)
      let v = (0..<n).map { _ in Double.random(in: -1e3...1e3, using: &g) }
      if Bool.random(using: &g) {
        try m.update(Tensor(v), sampleWeight: Tensor((0..<n).map { _ in Double.random(in: 0...2, using: &g) }))
      } else {
        try m.update(Tensor(v))
      }
      return m
    }
    let a = try random(), b = try random(), c = try random()
    #expect(try a.merging(Mean()).state == a.state)
    #expect(try Mean().merging(a).state == a.state)
    let ab = try a.merging(b).result().scalar!
    let ba = try b.merging(a).result().scalar!
    #expect(withinOneUlp(ab, ba))
    let left = try a.merging(b).merging(c).result().scalar!
    let right = try a.merging(b.merging(c)).result().scalar!
    #expect(withinOneUlp(left, right))
  }

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
}
