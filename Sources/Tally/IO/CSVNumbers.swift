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

  /// A plain decimal (`-12.5`, `3e-4`) with at most 15 significant digits
  /// and a power of ten within ±22, converted exactly (Clinger's fast path:
  /// the digits and the power of ten are exact doubles, so one
  /// multiplication or division rounds correctly); `nil` for anything
  /// else, which the full parser handles.
  static func fastDecimal(_ t: ArraySlice<UInt8>) -> Double? {
    var i = t.startIndex
    let end = t.endIndex
    var negative = false
    if i < end, t[i] == UInt8(ascii: "-") || t[i] == UInt8(ascii: "+") {
      negative = t[i] == UInt8(ascii: "-")
      i += 1
    }
    var mantissa: UInt64 = 0
    var significant = 0
    var sawDigit = false
    var scale = 0
    var afterPoint = false
    while i < end {
      let c = t[i]
      if c >= UInt8(ascii: "0"), c <= UInt8(ascii: "9") {
        sawDigit = true
        if mantissa != 0 || c != UInt8(ascii: "0") {
          significant += 1
          guard significant <= 15 else { return nil }
          mantissa = mantissa * 10 + UInt64(c - UInt8(ascii: "0"))
        }
        if afterPoint { scale -= 1 }
      } else if c == UInt8(ascii: "."), !afterPoint {
        afterPoint = true
      } else {
        break
      }
      i += 1
    }
    guard sawDigit else { return nil }
    if i < end {
      guard t[i] == UInt8(ascii: "e") || t[i] == UInt8(ascii: "E") else { return nil }
      i += 1
      var exponentNegative = false
      if i < end, t[i] == UInt8(ascii: "-") || t[i] == UInt8(ascii: "+") {
        exponentNegative = t[i] == UInt8(ascii: "-")
        i += 1
      }
      var exponent = 0
      var exponentDigits = 0
      while i < end, t[i] >= UInt8(ascii: "0"), t[i] <= UInt8(ascii: "9") {
        exponent = exponent * 10 + Int(t[i] - UInt8(ascii: "0"))
        exponentDigits += 1
        guard exponent < 10_000 else { return nil }
        i += 1
      }
      guard exponentDigits > 0, i == end else { return nil }
      scale += exponentNegative ? -exponent : exponent
    }
    let magnitude: Double
    if mantissa == 0 {
      magnitude = 0
    } else if scale >= 0, scale <= 22 {
      magnitude = Double(mantissa) * powersOfTen[scale]
    } else if scale < 0, scale >= -22 {
      magnitude = Double(mantissa) / powersOfTen[-scale]
    } else {
      return nil
    }
    return negative ? -magnitude : magnitude
  }
}
