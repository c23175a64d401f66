//===--- CSVNumbers.swift -------------------------------------------------===//
//
// Reading a number from the text of a CSV cell: decimal and exponent
// notation (exactly, as the standard library reads it), `nan`, `inf`,
// `true` and `false`.
//
//===----------------------------------------------------------------------===//

extension CSVReader {
  /// The cell without surrounding spaces and tabs.
  static func trimmed(_ cell: ArraySlice<UInt8>) -> ArraySlice<UInt8> {
    var lo = cell.startIndex
    var hi = cell.endIndex
    while lo < hi, cell[lo] == 0x20 || cell[lo] == 0x09 { lo += 1 }
    while hi > lo, cell[hi - 1] == 0x20 || cell[hi - 1] == 0x09 { hi -= 1 }
    return cell[lo..<hi]
  }

  static func trimmedText(_ cell: ArraySlice<UInt8>) -> String {
    String(decoding: trimmed(cell), as: UTF8.self)
  }

  /// The number a cell holds, or `nil`.
  static func number(from cell: ArraySlice<UInt8>) -> Double? {
    let t = trimmed(cell)
    guard let first = t.first else { return nil }
    // Digits, signs, '.', 'e', 'x' and letters of nan/inf/true/false only:
    // this also rejects NUL, which would end the C string `Double` parses.
    for b in t {
      guard b >= 0x21, b < 0x7F else { return nil }
    }
    let isLetter = (first | 0x20) >= UInt8(ascii: "a") && (first | 0x20) <= UInt8(ascii: "z")
    if isLetter, t.count <= 5 {
      let lower = String(decoding: t.map { $0 | 0x20 }, as: UTF8.self)
      if lower == "true" { return 1 }
      if lower == "false" { return 0 }
    }
    if let value = fastDecimal(t) { return value }
    guard let value = Double(String(decoding: t, as: UTF8.self)) else { return nil }
    return value.isNaN ? .nan : value
  }

  /// Exact powers of ten representable in a `Double`.
  static let powersOfTen: [Double] = [
    1e0, 1e1, 1e2, 1e3, 1e4, 1e5, 1e6, 1e7, 1e8, 1e9, 1e10, 1e11,
    1e12, 1e13, 1e14, 1e15, 1e16, 1e17, 1e18, 1e19, 1e20, 1e21, 1e22,
  ]

  /// A plain decimal (`-12.5`, `3e-4`, `.5`, `5.`) filling all of `t`,
  /// exactly rounded; `nil` for anything else, and for the rare decimals
  /// the fast algorithms leave to `Double(String)` (more than 19
  /// significant digits, an exponent of 10,000 or more).
  static func fastDecimal(_ t: ArraySlice<UInt8>) -> Double? {
    t.withUnsafeBufferPointer { b -> Double? in
      guard let base = b.baseAddress else { return nil }
      var stop = 0
      guard let value = decimalPrefix(base, 0, b.count, stop: &stop), stop == b.count else { return nil }
      return value
    }
  }

  /// The plain decimal that starts at `p[start]` (a sign, digits with at
  /// most one point, at least one digit, an optional exponent), exactly
  /// rounded, with `stop` set to the index after it; `nil` when there is no
  /// such decimal or the fast algorithms leave it to `Double(String)`.
  ///
  /// The digits go into a 64-bit integer `w` (at most 19 significant
  /// digits) and a power of ten `q`; `w · 10^q` is then converted by
  /// Clinger's fast path when both are exact doubles, else by the
  /// Eisel–Lemire algorithm (``eiselLemire(_:_:)``).
  @inline(never)
  static func decimalPrefix(_ p: UnsafePointer<UInt8>, _ start: Int, _ end: Int, stop: inout Int) -> Double? {
    var i = start
    var negative = false
    if i < end, p[i] == UInt8(ascii: "-") || p[i] == UInt8(ascii: "+") {
      negative = p[i] == UInt8(ascii: "-")
      i += 1
    }
    // The digits, with the point, into `mantissa` (wrapping past 19
    // significant digits, which are then left to `Double(String)`).
    let digitsStart = i
    var (mantissa, digits, scale) = pointedDigits(p, &i, end)
    guard digits > 0 else { return nil }
    if digits > 19 {
      // Leading zeros are not significant.
      var k = digitsStart
      while k < i, p[k] == UInt8(ascii: "0") || p[k] == UInt8(ascii: ".") {
        if p[k] == UInt8(ascii: "0") { digits &-= 1 }
        k &+= 1
      }
      guard digits <= 19 else { return nil }
    }
    if i < end, p[i] | 0x20 == UInt8(ascii: "e") {
      i += 1
      var exponentNegative = false
      if i < end, p[i] == UInt8(ascii: "-") || p[i] == UInt8(ascii: "+") {
        exponentNegative = p[i] == UInt8(ascii: "-")
        i += 1
      }
      var exponent = 0
      var exponentDigits = 0
      while i < end {
        let d = p[i] &- UInt8(ascii: "0")
        if d > 9 { break }
        exponent = exponent &* 10 &+ Int(d)
        guard exponent < 10_000 else { return nil }
        exponentDigits &+= 1
        i &+= 1
      }
      guard exponentDigits > 0 else { return nil }
      scale += exponentNegative ? -exponent : exponent
    }
    stop = i
    return value(mantissa, scale, negative: negative)
  }

  /// ``decimalPrefix(_:_:_:stop:)`` for the bulk scanner, inlined there:
  /// the common cell — an optional minus, at most 19 digits with at most
  /// one point, no exponent — is read here; anything else by
  /// ``decimalPrefix(_:_:_:stop:)`` (the same value and `stop` either way).
  /// Inlining it took W10 through `tally evaluate` from about 33 to 29 ms
  /// (inlining all of ``decimalPrefix(_:_:_:stop:)`` there: about 32).
  /// Reading eight digits at a time (SWAR, as fast_float does) was tried
  /// here and was 2 ms slower: W10's cells have one to eight digits.
  @_transparent
  static func commonDecimalPrefix(_ p: UnsafePointer<UInt8>, _ start: Int, _ end: Int, stop: inout Int) -> Double? {
    var i = start
    let negative = i < end && p[i] == UInt8(ascii: "-")
    if negative { i &+= 1 }
    let (mantissa, digits, scale) = pointedDigits(p, &i, end)
    guard digits > 0, digits <= 19, i == end || p[i] | 0x20 != UInt8(ascii: "e") else {
      return decimalPrefix(p, start, end, stop: &stop)
    }
    stop = i
    return value(mantissa, scale, negative: negative)
  }

  /// The digits at `p[i...]` with at most one point among them, moving `i`
  /// past them: their value as an integer (wrapping past 19 digits), how
  /// many there are, and the power of ten to scale by (minus the digits
  /// after the point).
  @_transparent
  static func pointedDigits(_ p: UnsafePointer<UInt8>, _ i: inout Int, _ end: Int) -> (UInt64, Int, Int) {
    var mantissa: UInt64 = 0
    let digitsStart = i
    accumulateDigits(p, &i, end, into: &mantissa)
    var digits = i &- digitsStart
    var scale = 0
    if i < end, p[i] == UInt8(ascii: ".") {
      i &+= 1
      let fractionStart = i
      accumulateDigits(p, &i, end, into: &mantissa)
      scale = fractionStart &- i
      digits &-= scale
    }
    return (mantissa, digits, scale)
  }

  /// Adds the digits at `p[i...]` (before `end`) to `mantissa`, wrapping,
  /// and moves `i` past them.
  @_transparent
  static func accumulateDigits(_ p: UnsafePointer<UInt8>, _ i: inout Int, _ end: Int, into mantissa: inout UInt64) {
    while i < end {
      let d = p[i] &- UInt8(ascii: "0")
      if d > 9 { break }
      mantissa = mantissa &* 10 &+ UInt64(d)
      i &+= 1
    }
  }

  /// The double nearest `±mantissa · 10^scale`, `mantissa` holding the
  /// exact digits (at most 19); `nil` when Eisel–Lemire cannot decide.
  @_transparent
  static func value(_ mantissa: UInt64, _ scale: Int, negative: Bool) -> Double? {
    if mantissa <= 1 << 53, scale >= -22, scale <= 22 {
      // Clinger: the digits and the power of ten are exact doubles, so one
      // multiplication or division rounds correctly (zero too). Zero is not
      // tested first: a column of 0/1 labels would make that branch a coin
      // toss (3 ms of W10's 30).
      let m = Double(mantissa)
      let v = scale >= 0 ? m * powersOfTen[scale] : m / powersOfTen[-scale]
      return negative ? -v : v
    }
    if mantissa == 0 { return negative ? -0.0 : 0 }
    guard let bits = eiselLemire(mantissa, scale) else { return nil }
    return Double(bitPattern: negative ? bits | 1 << 63 : bits)
  }

  /// The bits of the double nearest `w · 10^q` (ties to even), `w > 0`
  /// holding the exact decimal digits, by the Eisel–Lemire algorithm (as in
  /// Lemire's fast_float): `w` normalized times a 128-bit approximation of
  /// `5^q` (``powersOfFive``) gives the 54 leading bits of the result and
  /// whether they can be rounded without doubt. `nil` in the rare case the
  /// product is too close to call (its low word all ones, outside the
  /// exponents where the table is exact); then `Double(String)` decides.
  static func eiselLemire(_ w: UInt64, _ q: Int) -> UInt64? {
    let infinity: UInt64 = 0x7FF << 52
    if q < smallestPowerOfTen { return 0 }
    if q > largestPowerOfTen { return infinity }
    let lz = w.leadingZeroBitCount
    let normalized = w << UInt64(lz)
    let index = 2 * (q - smallestPowerOfTen)
    var (hi, lo) = normalized.multipliedFullWidth(by: powersOfFive[index])
    let precisionMask: UInt64 = UInt64.max >> 55
    if hi & precisionMask == precisionMask {
      // The first product may be off in its rounding bits: add the next 64
      // bits of the power.
      let second = normalized.multipliedFullWidth(by: powersOfFive[index + 1]).high
      let (sum, carry) = lo.addingReportingOverflow(second)
      lo = sum
      if carry { hi &+= 1 }
    }
    if lo == UInt64.max, q < -27 || q > 55 { return nil }
    let upperBit = Int(hi >> 63)
    let shift = upperBit + 64 - 52 - 3
    var mantissa = hi >> UInt64(shift)
    // ⌊q · log2(10)⌋ + 63, then the bias.
    var power2 = (((152_170 + 65_536) * q) >> 16) + 63 + upperBit - lz + 1023
    if power2 <= 0 {  // subnormal
      if -power2 + 1 >= 64 { return 0 }
      mantissa >>= UInt64(-power2 + 1)
      mantissa += mantissa & 1
      mantissa >>= 1
      power2 = mantissa < 1 << 52 ? 0 : 1
      return UInt64(power2) << 52 | mantissa
    }
    // A tie (possible only where 5^q fits in 64 bits) rounds to even.
    if lo <= 1, q >= -4, q <= 23, mantissa & 3 == 1, mantissa << UInt64(shift) == hi {
      mantissa &= ~1
    }
    mantissa += mantissa & 1
    mantissa >>= 1
    if mantissa >= 2 << 52 {
      mantissa = 1 << 52
      power2 += 1
    }
    mantissa &= ~(1 << 52)
    if power2 >= 0x7FF { return infinity }
    return UInt64(power2) << 52 | mantissa
  }
}
