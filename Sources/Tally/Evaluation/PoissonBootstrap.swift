//===--- PoissonBootstrap.swift -------------------------------------------===//
//
// The Poisson bootstrap's replicate weights, drawn by a counter-based
// generator: the weight of a row in a replicate is a pure function of the
// seed, the row's global index and the replicate, so every split of the
// data (batches, threads, shards, merge order) draws the same weights.
//
//===----------------------------------------------------------------------===//

import Dispatch
import RealModule

/// The replicate weights of a Poisson bootstrap: in each of `replicates`
/// replicates, every row gets a weight drawn from Poisson(1), a pure
/// function of (`seed`, the row's global index, the replicate).
///
/// The Poisson bootstrap (Hanley & MacGibbon; Chamandy et al., "Estimating
/// uncertainty for massive data streams", 2012; TensorFlow Model
/// Analysis) approximates resampling *n* rows with replacement, whose
/// counts are Multinomial(*n*, 1/*n*), by independent Poisson(1) counts, so a
/// replicate is one streaming pass that merges like any other state.
///
/// The generator: SplitMix64's finaliser of the seed and the row index gives
/// the row a 64-bit key; replicates `2q` and `2q + 1` take the low and high
/// 32 bits of the finaliser of `key + (q + 1)·φ` (SplitMix64's stream from
/// the key); a 32-bit uniform becomes a count by Poisson(1)'s cumulative
/// distribution, rounded down to multiples of 2⁻³² (counts 0...12; the
/// probability of 13 or more, 8·10⁻¹², is below 2⁻³²).
///
/// ```swift
/// let b = try PoissonBootstrap(replicates: 200, seed: 7)
/// b.weight(row: 12_345, replicate: 3) == b.weight(row: 12_345, replicate: 3)   // true
/// ```
///
/// - Complexity: one 64-bit mix per row and one per two replicates, a few
///   comparisons per weight.
public struct PoissonBootstrap: Sendable, Hashable, Codable {
  /// The number of replicates.
  public let replicates: Int
  /// The seed.
  public let seed: Int64

  /// The most replicates a bootstrap may have.
  public static let maximumReplicates = 100_000

  /// A bootstrap of `replicates` replicates.
  ///
  /// - Throws: ``MetricError/invalidConfiguration(_:)`` unless `replicates`
  ///   is in `1...maximumReplicates`.
  public init(replicates: Int, seed: Int64 = 0) throws(MetricError) {
    guard replicates >= 1, replicates <= Self.maximumReplicates else {
      throw .invalidConfiguration(
        "the bootstrap needs 1...\(Self.maximumReplicates) replicates; received \(replicates)")
    }
    (self.replicates, self.seed) = (replicates, seed)
  }

  /// The weight of the row at global index `row` in `replicate`.
  public func weight(row: Int64, replicate: Int) -> Int {
    let h = Self.bits(rowKey(row), pair: replicate >> 1)
    let u = replicate & 1 == 0 ? UInt32(truncatingIfNeeded: h) : UInt32(truncatingIfNeeded: h >> 32)
    return Int(Self.poisson(u))
  }

  /// SplitMix64's finaliser.
  @inline(__always)
  static func mix(_ z0: UInt64) -> UInt64 {
    var z = z0
    z = (z ^ (z >> 30)) &* 0xBF58_476D_1CE4_E5B9
    z = (z ^ (z >> 27)) &* 0x94D0_49BB_1331_11EB
    return z ^ (z >> 31)
  }

  @inline(__always) static var golden: UInt64 { 0x9E37_79B9_7F4A_7C15 }

  /// The row's key: the finaliser of the seed's mix and the index.
  @inline(__always)
  func rowKey(_ row: Int64) -> UInt64 {
    Self.mix(Self.mix(UInt64(bitPattern: seed)) ^ (UInt64(bitPattern: row) &* Self.golden))
  }

  /// The 64 random bits of replicates `2·pair` and `2·pair + 1`.
  @inline(__always)
  static func bits(_ key: UInt64, pair: Int) -> UInt64 {
    mix(key &+ UInt64(pair &+ 1) &* golden)
  }

  /// `cdf[k]` = ⌊F(k)·2³²⌋ for Poisson(1)'s distribution function F, k = 0...11.
  static let cdf: [UInt32] = {
    var out: [UInt32] = []
    var term = 1.0  // 1/k!
    var sum = 0.0
    for k in 0..<12 {
      if k > 0 { term /= Double(k) }
      sum += term
      out.append(UInt32(min((sum * Double.exp(-1)) * 4_294_967_296, 4_294_967_295).rounded(.down)))
    }
    return out
  }()

  /// The first four thresholds, for the hot loop (a `static let` is read
  /// through a once-check on every access).
  struct Head {
    let c0: UInt32, c1: UInt32, c2: UInt32, c3: UInt32
    init() { (c0, c1, c2, c3) = (cdf[0], cdf[1], cdf[2], cdf[3]) }

    /// The Poisson(1) count of a 32-bit uniform: how many of `cdf` it
    /// reaches.
    @inline(__always)
    func poisson(_ u: UInt32) -> UInt32 {
      let k: UInt32 = (u >= c0 ? 1 : 0) &+ (u >= c1 ? 1 : 0) &+ (u >= c2 ? 1 : 0) &+ (u >= c3 ? 1 : 0)
      return u >= c3 ? tail(u) : k
    }
  }

  /// The Poisson(1) count of a 32-bit uniform.
  static func poisson(_ u: UInt32) -> UInt32 { Head().poisson(u) }

  @inline(never)
  static func tail(_ u: UInt32) -> UInt32 {
    var k: UInt32 = 0
    for c in cdf where u >= c { k += 1 }
    return k
  }
}

//===--- Cell totals ------------------------------------------------------===//

/// Weighted totals of per-row cells, per group (slice) and per replicate:
/// `totals[(g·cells + c)·replicates + r]` is the sum over the rows of group
/// `g` in cell `c` of the row's weight in replicate `r` (1 without a
/// bootstrap). Integer, so the totals do not depend on how the rows were
/// split.
///
/// Rows are split across cores when the work is large; each core counts
/// into 32-bit histograms of its own (flushed every 2²⁴ rows, so a count
/// cannot wrap: a weight is at most 12), added up at the end.
func cellTotals(
  cells: [Int32], cellCount: Int, groups: [Int32]?, groupCount: Int,
  bootstrap: PoissonBootstrap?, rows: RowIndices
) -> [Int] {
  let r = bootstrap?.replicates ?? 1
  let size = groupCount * cellCount * r
  let n = cells.count
  let work = n * r
  let parts = max(1, min(activeCores, work / parallelThreshold))
  let ranges = (0..<parts).map { k in (n * k / parts)..<(n * (k + 1) / parts) }
  let results = UnsafeMutableBufferPointer<[Int]?>.allocate(capacity: parts)
  results.initialize(repeating: nil)
  defer { results.deallocate() }
  let box = UnsafeSendableBox(results)
  let head = PoissonBootstrap.Head()
  let body: @Sendable (Int) -> Void = { k in
    var totals = [Int](repeating: 0, count: size)
    var hist = [UInt32](repeating: 0, count: size)
    var start = ranges[k].lowerBound
    while start < ranges[k].upperBound {
      let end = min(ranges[k].upperBound, start + (1 << 24))
      hist.withUnsafeMutableBufferPointer { h in
        cells.withUnsafeBufferPointer { c in
          for i in start..<end {
            let g = groups.map { Int($0[i]) } ?? 0
            let base = (g &* cellCount &+ Int(c[i])) &* r
            guard let bootstrap else {
              h[base] &+= 1
              continue
            }
            let key = bootstrap.rowKey(rows[i])
            var q = 0
            var slot = base
            while q &+ 1 < r {
              let bits = PoissonBootstrap.bits(key, pair: q >> 1)
              h[slot] &+= head.poisson(UInt32(truncatingIfNeeded: bits))
              h[slot &+ 1] &+= head.poisson(UInt32(truncatingIfNeeded: bits >> 32))
              q &+= 2
              slot &+= 2
            }
            if q < r {
              let bits = PoissonBootstrap.bits(key, pair: q >> 1)
              h[slot] &+= head.poisson(UInt32(truncatingIfNeeded: bits))
            }
          }
        }
        for j in 0..<size where h[j] != 0 {
          totals[j] &+= Int(h[j])
          h[j] = 0
        }
      }
      start = end
    }
    box[k] = totals
  }
  if parts == 1 {
    body(0)
  } else {
    DispatchQueue.concurrentPerform(iterations: parts, execute: body)
  }
  var total = results[0]!
  for k in 1..<parts {
    let part = results[k]!
    for j in 0..<size { total[j] &+= part[j] }
  }
  return total
}
