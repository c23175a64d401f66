import CTallyKernels
import Testing

@testable import Tally

/// The AVX2 loops chosen at run time give the Swift loops' bits, lane for
/// lane: the same result on every x86-64 machine whatever its vector units.
@Suite struct WideKernelTests {
  /// The Swift loop of `flatErrorSum` over the blocks of eight.
  static func swiftLanes(_ t: [Float], _ p: [Float], kind: FlatError) -> (SIMD8<Double>, SIMD8<Double>) {
    var hi = SIMD8<Double>(repeating: 0)
    var lo = SIMD8<Double>(repeating: 0)
    var i = 0
    while i + 8 <= t.count {
      let tv = SIMD8<Double>(SIMD8<Float>(t[i..<(i + 8)]))
      let pv = SIMD8<Double>(SIMD8<Float>(p[i..<(i + 8)]))
      let d = tv - pv
      let v = kind == .squared ? d * d : d.replacing(with: -d, where: d .< 0)
      let s = hi + v
      let bb = s - hi
      lo += (hi - (s - bb)) + (v - bb)
      hi = s
      i += 8
    }
    return (hi, lo)
  }

  static func sameBits(_ a: SIMD8<Double>, _ b: SIMD8<Double>) -> Bool {
    (0..<8).allSatisfy { a[$0].bitPattern == b[$0].bitPattern }
  }

  /// 100,000 ordinary pairs, then pairs of awkward values: ±0,
  /// subnormals, large values; with `nonFinite`, also values whose squares
  /// overflow, infinities and NaN.
  static func data(nonFinite: Bool) -> ([Float], [Float]) {
    var g = SplitMix64(seed: 41)
    var t = (0..<100_000).map { _ in Float.random(in: -3...3, using: &g) }
    var p = t.map { $0 + Float.random(in: -0.1...0.1, using: &g) }
    var odd: [Float] = [
      0, -0.0, .leastNonzeroMagnitude, -.leastNormalMagnitude, 1e-20, 7, -7, 1, 0.1, 0.2, 0.3, 1e19, -2e19,
    ]
    if nonFinite { odd += [3e38, -3e38, .infinity, -.infinity, .nan] }
    for k in 0..<4_000 {
      t.append(odd[k % odd.count])
      p.append(odd[(k * 7 + 3) % odd.count])
    }
    return (t, p)
  }

  @Test(arguments: [FlatError.squared, .absolute], [false, true])
  func avx2LanesAreTheSwiftLanes(kind: FlatError, nonFinite: Bool) throws {
    let (t, p) = Self.data(nonFinite: nonFinite)
    let (hi, lo) = Self.swiftLanes(t, p, kind: kind)
    // Finite data give finite lanes: the comparison is of numbers, not
    // only of NaNs.
    #expect(nonFinite || (0..<8).allSatisfy { hi[$0].isFinite && hi[$0] > 0 && lo[$0].isFinite })
    var wideHi = SIMD8<Double>(repeating: 0)
    var wideLo = SIMD8<Double>(repeating: 0)
    let ran = t.withUnsafeBufferPointer { tb in
      p.withUnsafeBufferPointer { pb in
        errorSumAVX2(
          tb.baseAddress!, pb.baseAddress!, t.count / 8 * 8, kind == .squared ? 0 : 1, &wideHi, &wideLo)
      }
    }
    #expect(ran == (tally_has_avx2() != 0))
    if ran {
      #expect(Self.sameBits(hi, wideHi), "hi \(hi) against \(wideHi)")
      #expect(Self.sameBits(lo, wideLo), "lo \(lo) against \(wideLo)")
    }
  }
}
