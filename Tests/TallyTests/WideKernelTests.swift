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

  /// Labels and scores with everything the counts must tell apart: labels
  /// 0, −0, 1, 2 and NaN; scores at, just above and just below the
  /// threshold, NaN and ±infinity. More than 2²⁰ blocks of eight, so the
  /// 32-bit lanes are widened in the middle.
  static func countData() -> ([Float], [Float]) {
    var g = SplitMix64(seed: 17)
    let labels: [Float] = [0, 1, 1, 0, -0.0, 2, .nan, 1, 0, 0]
    let half: Float = 0.5
    let scores: [Float] = [half, half.nextUp, half.nextDown, .nan, .infinity, -.infinity, 0, 1, -0.0]
    let n = (1 << 20) * 8 + 8 * 1_000
    var t = [Float](repeating: 0, count: n)
    var p = [Float](repeating: 0, count: n)
    for i in 0..<n {
      t[i] = Int.random(in: 0..<20, using: &g) == 0 ? labels.randomElement(using: &g)! : Float(i % 3 == 0 ? 1 : 0)
      p[i] =
        Int.random(in: 0..<20, using: &g) == 0 ? scores.randomElement(using: &g)! : Float.random(in: 0...1, using: &g)
    }
    return (t, p)
  }

  @Test func avx2CountsAreTheSwiftCounts() throws {
    let (t, p) = Self.countData()
    let thr: Float = 0.5
    var hits: Int64 = 0
    var counts = [Int64](repeating: 0, count: 5)
    let ran = t.withUnsafeBufferPointer { tb in
      p.withUnsafeBufferPointer { pb in
        (
          tally_binary_matches_avx2(pb.baseAddress!, tb.baseAddress!, t.count, thr, &hits),
          tally_threshold_counts_avx2(pb.baseAddress!, tb.baseAddress!, t.count, thr, &counts)
        )
      }
    }
    #expect(ran.0 == tally_has_avx2() && ran.1 == tally_has_avx2())
    guard ran.0 != 0 else { return }
    var expected = (hits: Int64(0), posAbove: Int64(0), above: Int64(0), pos: Int64(0), neg: Int64(0), nan: Int64(0))
    for i in t.indices {
      let above = p[i] > thr
      if t[i] == (above ? 1 : 0) { expected.hits += 1 }
      if above && t[i] == 1 { expected.posAbove += 1 }
      if above { expected.above += 1 }
      if t[i] == 1 { expected.pos += 1 }
      if t[i] == 0 { expected.neg += 1 }
      if p[i].isNaN { expected.nan += 1 }
    }
    #expect(expected.nan > 0 && expected.pos + expected.neg < Int64(t.count), "the data hold the odd cases")
    #expect(hits == expected.hits)
    #expect(
      counts == [expected.posAbove, expected.above, expected.pos, expected.neg, expected.nan],
      "\(counts) against \(expected)")
  }

  /// The cells of binary accuracy and of evenly spaced thresholds in AVX2
  /// are the Swift loops' (the scalar formula, and `evenSlotsFloat` four
  /// lanes at a time: ranges of four rows, which it does not hand to the
  /// AVX2 loop), on the odd labels and scores of `countData`, for AUC's
  /// 200 thresholds (with the ends at −ε and 1 + ε) and a grid of 11 from
  /// 0 to 1; and the invalid flag is raised exactly when a row is invalid.
  @Test func avx2CellsAreTheSwiftCells() throws {
    let (t, p) = Self.countData()
    let n = 8 * 10_000
    let thr: Float = 0.5
    var hits = [Int32](repeating: -1, count: n)
    let ran = tally_binary_hit_cells_avx2(p, t, n, thr, &hits)
    #expect(ran == tally_has_avx2())
    if ran != 0 {
      #expect((0..<n).allSatisfy { hits[$0] == (t[$0] == (p[$0] > thr ? 1 : 0) ? 1 : 0) })
    }
    let grids = [
      Thresholds([-1e-7] + (1..<199).map { Double($0) / 199 } + [1 + 1e-7], evenlySpaced: true),
      Thresholds((0...10).map { Double($0) / 10 }, evenlySpaced: true),
    ]
    for th in grids {
      #expect(th.evenlySpaced)
      var wide = [Int32](repeating: -1, count: n)
      var invalid: Int32 = 0
      let ran = tally_even_slots_avx2(p, t, n, Float(th.sorted.count - 1), th.withEpsilon ? 2 : 0, &wide, &invalid)
      #expect(ran == tally_has_avx2())
      guard ran != 0 else { continue }
      var lanes = [Int32](repeating: -2, count: n)
      var anyInvalid = false
      t.withUnsafeBufferPointer { tb in
        p.withUnsafeBufferPointer { pb in
          lanes.withUnsafeMutableBufferPointer { out in
            for start in stride(from: 0, to: n, by: 4)
            where evenSlotsFloat(
              th, SharedBuffer(base: pb), SharedBuffer(base: tb), start..<(start + 4), into: UnsafeSendableBox(out),
              shift: 0)
            {
              anyInvalid = true
            }
          }
        }
      }
      #expect(anyInvalid && (invalid != 0))
      // Rows of a valid block of four are compared (an invalid row's slot is
      // meaningless); every block's flag is compared.
      var compared = 0
      for start in stride(from: 0, to: n, by: 4) {
        let rows = start..<(start + 4)
        let bad = rows.contains { p[$0].isNaN || (t[$0] != 0 && t[$0] != 1) }
        var one: Int32 = 0
        var block = [Int32](repeating: 0, count: 8)
        let eight = (start / 8 * 8)..<(start / 8 * 8 + 8)
        _ = tally_even_slots_avx2(
          Array(p[eight]), Array(t[eight]), 8, Float(th.sorted.count - 1), th.withEpsilon ? 2 : 0, &block, &one)
        let blockBad = eight.contains { p[$0].isNaN || (t[$0] != 0 && t[$0] != 1) }
        #expect((one != 0) == blockBad)
        guard !bad else { continue }
        for i in rows where wide[i] != lanes[i] {
          Issue.record("row \(i): score \(p[i]), label \(t[i]): AVX2 slot \(wide[i]), Swift \(lanes[i])")
        }
        compared += 4
      }
      #expect(compared > n / 2)
    }
  }

  /// The C loops from key to slot stop where the Swift loop did: at the
  /// first key outside the table or without a slot; before it, the same
  /// slots. Int64 keys (four at a time in AVX2), int32 keys and uint8 keys,
  /// with the table's start below, at and above zero.
  @Test func tableSlotsStopWhereTheSwiftLoopStops() throws {
    var g = SplitMix64(seed: 5)
    let width = 300
    var table = (0..<width).map { _ in Int32.random(in: 0..<1_000, using: &g) }
    for k in stride(from: 7, to: width, by: 37) { table[k] = -1 }  // keys without a slot
    func expected(_ keys: [Int64], lo: Int64) -> [Int32] {
      var out: [Int32] = []
      for k in keys {
        let s = UInt64(bitPattern: k &- lo)
        guard s < UInt64(width), table[Int(s)] >= 0 else { break }
        out.append(table[Int(s)])
      }
      return out
    }
    for lo: Int64 in [-40, 0, 5] {
      for trial in 0..<200 {
        let n = Int.random(in: 0..<64, using: &g)
        // Mostly keys with slots; sometimes one outside or without a slot.
        var keys = (0..<n).map { _ in lo + Int64([0, 1, 2, 3, 4, 5, 6, 8, 40, 299].randomElement(using: &g)!) }
        if trial % 3 == 0, n > 0 {
          keys[Int.random(in: 0..<n, using: &g)] = [lo - 1, lo + 300, lo + 7, Int64.min, Int64.max].randomElement(
            using: &g)!
        }
        let want = expected(keys, lo: lo)
        var out = [Int32](repeating: -9, count: n)
        let got = tally_table_slots_i64(keys, n, lo, table, width, &out)
        #expect(got == want.count && Array(out[..<got]) == want, "int64, lo \(lo), keys \(keys)")
        if keys.allSatisfy({ Int64(Int32.min) <= $0 && $0 <= Int64(Int32.max) }) {
          let got32 = tally_table_slots_i32(keys.map { Int32($0) }, n, lo, table, width, &out)
          #expect(got32 == want.count && Array(out[..<got32]) == want, "int32, lo \(lo), keys \(keys)")
        }
        if keys.allSatisfy({ 0 <= $0 && $0 <= 255 }) {
          let got8 = tally_table_slots_u8(keys.map { UInt8($0) }, n, lo, table, width, &out)
          #expect(got8 == want.count && Array(out[..<got8]) == want, "uint8, lo \(lo), keys \(keys)")
        }
      }
    }
  }

  /// The bootstrap's counters in AVX2 and in AVX-512 give the Swift loop's
  /// totals: replicates filling the vectors and not (13 and 16 are two
  /// eight-lane vectors, below one 512-bit step; 32, 48, 56 and 200 are 4,
  /// 6, 7 and 25 vectors, 512-bit steps followed by 0, 2, 3 and 1 vectors in
  /// AVX2), two metrics, slices, counter rows flushed from 16 bits (more
  /// than 8,191 rows each), contiguous and listed global rows, a part of the
  /// rows. (On a CPU without AVX-512 or AVX2 the wide call does nothing and
  /// the Swift loop counts: the comparison then holds trivially.)
  @Test(arguments: [13, 16, 32, 48, 56, 200])
  func wideBootstrapCountersAreTheSwiftCounters(replicates: Int) throws {
    let n = 40_000
    var g = SplitMix64(seed: 77)
    let a = CellBatch(cells: (0..<n).map { _ in Int32.random(in: 0..<2, using: &g) }, count: 2)
    let b = CellBatch(cells: (0..<n).map { _ in Int32.random(in: 0..<5, using: &g) }, count: 5)
    let groups = (0..<n).map { _ in Int32.random(in: 0..<2, using: &g) }
    let bootstrap = try PoissonBootstrap(replicates: replicates, seed: 5)
    let listed = RowIndices.listed((0..<n).map { Int64($0) * 3 + 1 })
    for rows in [RowIndices.contiguous(first: 1_000_000_007, count: n), listed] {
      for range in [0..<n, 123..<30_001] {
        let swift = drawnTotals(
          [a, b], groups: groups, groupCount: 2, bootstrap: bootstrap, rows: rows, range: range, kernel: .swift)
        for kernel in [PoissonKernel.avx2, .avx512] {
          let wide = drawnTotals(
            [a, b], groups: groups, groupCount: 2, bootstrap: bootstrap, rows: rows, range: range, kernel: kernel)
          #expect(wide == swift, "\(kernel)")
        }
        // Each replicate's weights add up to about the rows (a Poisson(1) each).
        let total = swift[0].reduce(0, +)
        #expect(abs(total - range.count * replicates) < range.count * replicates / 50, "\(total)")
      }
    }
  }
}
