// The shape rules (ShapeRules.swift): Keras's rank alignment and NumPy broadcasting.

import Tally
import Testing

@Suite struct ShapeRulesTests {
  // Keras's squeeze_or_expand_to_same_rank: (x1, x2, expandRank1) → aligned shapes.
  static let alignCases: [([Int], [Int], Bool, [Int], [Int])] = [
    ([4, 1], [4], true, [4, 1], [4, 1]),
    ([4], [4, 1], true, [4, 1], [4, 1]),
    ([4, 3, 1], [4, 3], true, [4, 3], [4, 3]),
    ([4, 3], [4, 3, 1], true, [4, 3], [4, 3]),
    ([4], [4, 1], false, [4], [4]),
    ([4, 1], [4], false, [4], [4]),
    ([4, 2], [4], true, [4, 2], [4]),  // last dim not 1: unchanged
    ([4, 3, 1], [4], true, [4, 3, 1], [4]),  // rank gap 2: unchanged
    ([1], [], true, [], []),
    ([3], [3], true, [3], [3]),
  ]

  @Test(arguments: alignCases)
  func squeezeOrExpand(_ c: ([Int], [Int], Bool, [Int], [Int])) {
    let (a, b) = ShapeRules.squeezeOrExpandToSameRank(c.0, c.1, expandRank1: c.2)
    #expect(a == c.3)
    #expect(b == c.4)
  }

  @Test func broadcasting() {
    #expect(ShapeRules.broadcastShape([4, 1], [3]) == [4, 3])
    #expect(ShapeRules.broadcastShape([2, 1, 3], [5, 1]) == [2, 5, 3])
    #expect(ShapeRules.broadcastShape([], [2, 2]) == [2, 2])
    #expect(ShapeRules.broadcastShape([4], [3]) == nil)
    #expect(ShapeRules.canBroadcast([1, 2], to: [3, 2]))
    #expect(ShapeRules.canBroadcast([], to: [3, 2]))
    #expect(!ShapeRules.canBroadcast([3], to: [4]))
    #expect(!ShapeRules.canBroadcast([2, 3], to: [3]))
  }
}
