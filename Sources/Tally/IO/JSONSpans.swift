import Foundation

/// Where the members of a JSON object lie in a document, found without
/// building their values (for Tally's command and fuzzing harness, not a
/// public API): a state file's metric entries are handed to
/// `init(savedState:)` as the bytes they are in the file, so a 64 MB
/// exact-AUC state is not first built as a JSON tree and written out again.
///
/// Only the structure is followed here (strings with their escapes,
/// nesting, commas and colons); each value is decoded, and so checked, by
/// `JSONDecoder` where it is used. Anything that is not that structure is
/// refused with ``Malformed``.
@_spi(Internals) public struct JSONSpans: Sendable {
  /// What was not a JSON value where one was expected, with the byte
  /// offset.
  public struct Malformed: Error, CustomStringConvertible {
    /// Where, in bytes from the start.
    public var offset: Int
    /// What was expected there.
    public var expected: String
    /// What was expected, and where.
    public var description: String { "expected \(expected) at byte \(offset)" }
  }

  /// The document.
  public let bytes: [UInt8]

  /// Spans of `data`.
  public init(_ data: Data) { bytes = [UInt8](data) }

  /// The bytes of `range`.
  public func data(_ range: Range<Int>) -> Data { Data(bytes[range]) }

  /// The members of the object that fills `range` (or the whole document),
  /// in order: each key as text and its value's byte range. Whitespace
  /// alone may surround the object.
  public func members(of range: Range<Int>? = nil) throws(Malformed) -> [(key: String, value: Range<Int>)] {
    let range = range ?? bytes.indices
    var i = skipSpace(range.lowerBound, range.upperBound)
    try expect(UInt8(ascii: "{"), at: i, range.upperBound, "an object")
    i = skipSpace(i + 1, range.upperBound)
    var out: [(String, Range<Int>)] = []
    if i < range.upperBound, bytes[i] == UInt8(ascii: "}") {
      try end(i + 1, range.upperBound)
      return out
    }
    while true {
      try expect(UInt8(ascii: "\""), at: i, range.upperBound, "a member name")
      let keyEnd = try skipString(i, range.upperBound)
      guard let key = try? JSONDecoder().decode(String.self, from: data(i..<keyEnd)) else {
        throw Malformed(offset: i, expected: "a member name")
      }
      i = skipSpace(keyEnd, range.upperBound)
      try expect(UInt8(ascii: ":"), at: i, range.upperBound, "':'")
      let start = skipSpace(i + 1, range.upperBound)
      let valueEnd = try skipValue(start, range.upperBound)
      out.append((key, start..<valueEnd))
      i = skipSpace(valueEnd, range.upperBound)
      guard i < range.upperBound else { throw Malformed(offset: i, expected: "',' or '}'") }
      if bytes[i] == UInt8(ascii: "}") {
        try end(i + 1, range.upperBound)
        return out
      }
      try expect(UInt8(ascii: ","), at: i, range.upperBound, "',' or '}'")
      i = skipSpace(i + 1, range.upperBound)
    }
  }

  /// The byte ranges of the elements of the array that fills `range`.
  public func elements(of range: Range<Int>) throws(Malformed) -> [Range<Int>] {
    var i = skipSpace(range.lowerBound, range.upperBound)
    try expect(UInt8(ascii: "["), at: i, range.upperBound, "an array")
    i = skipSpace(i + 1, range.upperBound)
    var out: [Range<Int>] = []
    if i < range.upperBound, bytes[i] == UInt8(ascii: "]") {
      try end(i + 1, range.upperBound)
      return out
    }
    while true {
      let valueEnd = try skipValue(i, range.upperBound)
      out.append(i..<valueEnd)
      i = skipSpace(valueEnd, range.upperBound)
      guard i < range.upperBound else { throw Malformed(offset: i, expected: "',' or ']'") }
      if bytes[i] == UInt8(ascii: "]") {
        try end(i + 1, range.upperBound)
        return out
      }
      try expect(UInt8(ascii: ","), at: i, range.upperBound, "',' or ']'")
      i = skipSpace(i + 1, range.upperBound)
    }
  }

  // MARK: Scanning

  private static func isSpace(_ b: UInt8) -> Bool {
    b == UInt8(ascii: " ") || b == UInt8(ascii: "\n") || b == UInt8(ascii: "\r") || b == UInt8(ascii: "\t")
  }

  private func skipSpace(_ i: Int, _ limit: Int) -> Int {
    var i = i
    while i < limit, Self.isSpace(bytes[i]) { i += 1 }
    return i
  }

  private func expect(_ b: UInt8, at i: Int, _ limit: Int, _ what: String) throws(Malformed) {
    guard i < limit, bytes[i] == b else { throw Malformed(offset: i, expected: what) }
  }

  /// Only whitespace from `i` to `limit`.
  private func end(_ i: Int, _ limit: Int) throws(Malformed) {
    let j = skipSpace(i, limit)
    guard j == limit else { throw Malformed(offset: j, expected: "the end of the value") }
  }

  /// The index after the string that starts (with its quote) at `i`.
  private func skipString(_ i: Int, _ limit: Int) throws(Malformed) -> Int {
    var j = i + 1
    while true {
      // The next quote, found with memchr; it ends the string unless an
      // odd number of backslashes precede it.
      let found: Int? = bytes.withUnsafeBufferPointer { b in
        guard j < limit, let base = b.baseAddress,
          let p = memchr(base + j, Int32(UInt8(ascii: "\"")), limit - j)
        else { return nil }
        return UnsafeRawPointer(p) - UnsafeRawPointer(base)
      }
      guard let q = found else { throw Malformed(offset: i, expected: "the end of the string that starts") }
      var slashes = 0
      while q - 1 - slashes > i, bytes[q - 1 - slashes] == UInt8(ascii: "\\") { slashes += 1 }
      if slashes % 2 == 0 { return q + 1 }
      j = q + 1
    }
  }

  /// The index after the value that starts at `i` (nested values are
  /// followed with a depth count, not recursion).
  private func skipValue(_ i: Int, _ limit: Int) throws(Malformed) -> Int {
    guard i < limit else { throw Malformed(offset: i, expected: "a value") }
    switch bytes[i] {
    case UInt8(ascii: "\""):
      return try skipString(i, limit)
    case UInt8(ascii: "{"), UInt8(ascii: "["):
      var depth = 0
      var j = i
      while j < limit {
        switch bytes[j] {
        case UInt8(ascii: "\""):
          j = try skipString(j, limit)
          continue
        case UInt8(ascii: "{"), UInt8(ascii: "["):
          depth += 1
        case UInt8(ascii: "}"), UInt8(ascii: "]"):
          depth -= 1
          if depth == 0 { return j + 1 }
        default:
          break
        }
        j += 1
      }
      throw Malformed(offset: i, expected: "the end of the value that starts")
    default:
      // A number, true, false or null: up to the next delimiter.
      var j = i
      while j < limit, !Self.isSpace(bytes[j]), bytes[j] != UInt8(ascii: ","), bytes[j] != UInt8(ascii: "}"),
        bytes[j] != UInt8(ascii: "]")
      {
        j += 1
      }
      guard j > i else { throw Malformed(offset: i, expected: "a value") }
      return j
    }
  }
}
