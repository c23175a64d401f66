/// A small, fast, seeded random number generator (SplitMix64), so that
/// examples, property tests and benchmarks see the same data on every run
/// and every platform.
///
/// ```swift
/// var g = SplitMix64(seed: 42)
/// let x = Double.random(in: 0..<1, using: &g)
/// var h = SplitMix64(seed: 42)
/// Double.random(in: 0..<1, using: &h) - x   // 0.0: the same seed, the same numbers
/// ```
public struct SplitMix64: RandomNumberGenerator, Sendable {
  private var state: UInt64

  /// A generator whose sequence is fixed by `seed`.
  public init(seed: UInt64) { state = seed }

  /// The next 64 random bits.
  public mutating func next() -> UInt64 {
    state &+= 0x9E37_79B9_7F4A_7C15
    var z = state
    z = (z ^ (z >> 30)) &* 0xBF58_476D_1CE4_E5B9
    z = (z ^ (z >> 27)) &* 0x94D0_49BB_1331_11EB
    return z ^ (z >> 31)
  }
}
