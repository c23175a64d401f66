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
/// The generator, counter-based: SplitMix64's finaliser of the seed and the
/// row index gives the row a 64-bit key; replicates `4b ... 4b + 3` take the
/// four 16-bit quarters (low first) of wyrand's output for the state
/// `key + (b + 1)·P₀` (Wang Yi's generator: the two halves of a 64 × 64 →
/// 128-bit product xored); a 16-bit uniform *u* becomes the
/// count *k* = #{*j* ≤ 7 : *u* ≥ ⌊F(*j*)·2¹⁶⌋} for Poisson(1)'s distribution
/// function F. So each count has Poisson(1)'s probabilities rounded down to
/// multiples of 2⁻¹⁶ (every probability within 1.6·10⁻⁵ of Poisson's; the
/// counts 0 to 8; mean and variance within 3·10⁻⁵ of 1), far below the
/// Monte Carlo error of any number of replicates one would run. 16-bit
/// uniforms make eight weights one 128-bit vector step.
///
/// ```swift
/// let b = try PoissonBootstrap(replicates: 200, seed: 7)
/// b.weight(row: 12_345, replicate: 3) == b.weight(row: 12_345, replicate: 3)   // true
/// ```
///
/// - Complexity: two 64-bit mixes per row and one 128-bit multiply per four
///   replicates, five vector comparisons per eight weights.
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
    Self.weight(key: rowKey(row), replicate: replicate)
  }

  /// The weight in `replicate` of the row whose ``rowKey(_:)`` is `key`.
  static func weight(key: UInt64, replicate: Int) -> Int {
    let h = bits(key, block: replicate >> 2)
    let u = UInt16(truncatingIfNeeded: h >> (16 * UInt64(replicate & 3)))
    var k = 0
    for t in cdf where u >= t { k += 1 }
    return k
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

  /// The 64 random bits of replicates `4·block ..< 4·block + 4`: wyrand's
  /// output for the state `key + (block + 1)·P₀` (one 64 × 64 → 128-bit
  /// multiply, its halves xored).
  @inline(__always)
  static func bits(_ key: UInt64, block: Int) -> UInt64 {
    let s = key &+ UInt64(block &+ 1) &* 0xA076_1D64_78BD_642F
    let (hi, lo) = s.multipliedFullWidth(by: s ^ 0xE703_7ED1_A0B4_28DB)
    return hi ^ lo
  }

  /// ⌊F(k)·2¹⁶⌋ for Poisson(1)'s distribution function F, k = 0...7.
  static let cdf: [UInt16] = {
    var out: [UInt16] = []
    var term = 1.0  // 1/k!
    var sum = 0.0
    for k in 0..<8 {
      if k > 0 { term /= Double(k) }
      sum += term
      out.append(UInt16(min((sum * Double.exp(-1) * 65_536).rounded(.down), 65_535)))
    }
    return out
  }()

  /// Poisson counts of eight 16-bit uniforms at once, negated (the
  /// thresholds held in vectors: a `static let` is read through a
  /// once-check on every access).
  ///
  /// A lane's count is the number of thresholds its uniform reaches. The
  /// comparison is signed (one instruction where unsigned 16-bit lanes take
  /// three): *u* ≥ *t* exactly when (*u* ⊕ 2¹⁵) > (*t* ⊕ 2¹⁵) − 1 as
  /// `Int16` (every threshold is at least 1), and a true lane of a mask is
  /// −1, so the sum of the masks is the count negated.
  /// The thresholds of ``Counter``, one per lane value (for the AVX2
  /// loop of CTallyKernels).
  static let thresholds: [Int16] = cdf.map { Int16(bitPattern: $0 ^ 0x8000) - 1 }

  struct Counter {
    let t0, t1, t2, t3, t4, t5, t6, t7: SIMD8<Int16>
    init() {
      let t = PoissonBootstrap.cdf.map { SIMD8<Int16>(repeating: Int16(bitPattern: $0 ^ 0x8000) - 1) }
      (t0, t1, t2, t3, t4, t5, t6, t7) = (t[0], t[1], t[2], t[3], t[4], t[5], t[6], t[7])
    }

    /// The counts of the lanes of `bits` (eight 16-bit uniforms), negated.
    @inline(__always)
    func negatedCounts(_ bits: SIMD8<Int16>) -> SIMD8<Int16> {
      let u = bits ^ SIMD8(repeating: .min)
      var s = (u .> t0)._storage &+ (u .> t1)._storage
      s &+= (u .> t2)._storage &+ (u .> t3)._storage
      s &+= (u .> t4)._storage
      let high = u .> t5
      // A count of 6 or more: 5.9·10⁻⁴ per lane.
      if any(high) {
        s &+= high._storage &+ (u .> t6)._storage
        s &+= (u .> t7)._storage
      }
      return s
    }
  }
}
