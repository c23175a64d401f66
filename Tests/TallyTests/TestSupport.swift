import Foundation
import Tally

/// Whether `a` and `b` are equal or adjacent doubles (at most 1 ulp apart).
func withinOneUlp(_ a: Double, _ b: Double) -> Bool {
  if a == b { return true }
  if a.isNaN && b.isNaN { return true }
  return a.nextUp == b || a.nextDown == b
}

/// Relative closeness for fixture comparisons: `|a − e| ≤ rtol·|e|`, with
/// `atol` for expected values at or near 0.
func isClose(_ a: Double, _ e: Double, rtol: Double, atol: Double = 1e-12) -> Bool {
  if a.isNaN || e.isNaN { return a.isNaN && e.isNaN }
  if a.isInfinite || e.isInfinite { return a == e }
  return abs(a - e) <= rtol * abs(e) + atol
}

/// Splits `0..<n` into consecutive ranges at random cut points.
func randomSplit(_ n: Int, parts: Int, using g: inout SplitMix64) -> [Range<Int>] {
  guard n > 0 else { return [] }
  let k = max(1, min(parts, n))
  var cuts = Set<Int>()
  while cuts.count < k - 1 { cuts.insert(Int.random(in: 1..<n, using: &g)) }
  let bounds = [0] + cuts.sorted() + [n]
  return (0..<(bounds.count - 1)).map { bounds[$0]..<bounds[$0 + 1] }
}

/// Rows `range` of a row-major tensor, as a new tensor.
func rows(_ t: Tensor, _ range: Range<Int>) -> Tensor {
  let rowSize = t.shape.dropFirst().reduce(1, *)
  let d = t.doubles()
  let slice = Array(d[(range.lowerBound * rowSize)..<(range.upperBound * rowSize)])
  return try! Tensor(slice, shape: [range.count] + t.shape.dropFirst())
}

/// Merges `metrics` in a random tree order: repeatedly pick two, merge.
func mergeRandomly<M: Metric>(_ metrics: [M], using g: inout SplitMix64) throws -> M {
  var pool = metrics
  while pool.count > 1 {
    let i = Int.random(in: 0..<pool.count, using: &g)
    var a = pool.remove(at: i)
    let j = Int.random(in: 0..<pool.count, using: &g)
    let b = pool.remove(at: j)
    // Merge in either direction: merge must be commutative.
    if Bool.random(using: &g) {
      try a.merge(b)
      pool.append(a)
    } else {
      var b2 = b
      try b2.merge(a)
      pool.append(b2)
    }
  }
  return pool[0]
}
