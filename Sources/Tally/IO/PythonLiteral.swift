//===--- PythonLiteral.swift ----------------------------------------------===//
//
// The subset of Python literal syntax that `.npy` headers are written in,
// and a parser for it that no input can crash.
//
//===----------------------------------------------------------------------===//

/// A Python literal, as found in a `.npy` header.
indirect enum PythonLiteral: Sendable {
  case string(String)
  case int(Int)
  case bool(Bool)
  case none
  case tuple([PythonLiteral])
  case list([PythonLiteral])
  case dict([(key: PythonLiteral, value: PythonLiteral)])

  /// The literal in Python syntax, for messages.
  var rendered: String {
    switch self {
    case .string(let s): "'\(s)'"
    case .int(let n): "\(n)"
    case .bool(let b): b ? "True" : "False"
    case .none: "None"
    case .tuple(let items):
      items.count == 1
        ? "(\(items[0].rendered),)" : "(" + items.map(\.rendered).joined(separator: ", ") + ")"
    case .list(let items): "[" + items.map(\.rendered).joined(separator: ", ") + "]"
    case .dict(let pairs):
      "{" + pairs.map { "\($0.key.rendered): \($0.value.rendered)" }.joined(separator: ", ") + "}"
    }
  }
}

/// A recursive-descent parser for the subset of Python literal syntax that
/// `.npy` headers use: dicts, tuples, lists, strings, integers, `True`,
/// `False`, `None`. Nesting is limited, so hostile input cannot exhaust the
/// stack.
struct PythonLiteralParser {
  struct Failure: Error { var message: String }

  let bytes: [UInt8]
  /// Version 3.0 headers are UTF-8; earlier ones are Latin-1.
  let utf8: Bool
  var position = 0
  var depth = 0
  static let maxDepth = 32

  init(bytes: [UInt8], utf8: Bool) {
    self.bytes = bytes
    self.utf8 = utf8
  }

  /// Parses the whole header as a dict with string keys.
  mutating func parseHeaderDictionary() throws(Failure) -> [(key: String, value: PythonLiteral)] {
    let value = try parseValue()
    skipWhitespace()
    guard position == bytes.count else { throw fail("unexpected text after the dictionary") }
    guard case .dict(let pairs) = value else { throw Failure(message: "the header is not a dict") }
    var result: [(key: String, value: PythonLiteral)] = []
    for (key, value) in pairs {
      guard case .string(let name) = key else {
        throw Failure(message: "a key is not a string: \(key.rendered)")
      }
      result.append((name, value))
    }
    return result
  }

  func fail(_ message: String) -> Failure {
    Failure(message: "\(message) at byte \(position)")
  }

  mutating func skipWhitespace() {
    while position < bytes.count {
      switch bytes[position] {
      case 0x20, 0x09, 0x0A, 0x0D, 0x0C, 0x0B: position += 1
      default: return
      }
    }
  }

  mutating func parseValue() throws(Failure) -> PythonLiteral {
    skipWhitespace()
    guard position < bytes.count else { throw fail("unexpected end of the header") }
    depth += 1
    defer { depth -= 1 }
    guard depth <= Self.maxDepth else { throw fail("nesting too deep") }
    let b = bytes[position]
    switch b {
    case UInt8(ascii: "{"):
      position += 1
      var pairs: [(key: PythonLiteral, value: PythonLiteral)] = []
      while true {
        skipWhitespace()
        if position < bytes.count, bytes[position] == UInt8(ascii: "}") {
          position += 1
          return .dict(pairs)
        }
        let key = try parseValue()
        skipWhitespace()
        guard position < bytes.count, bytes[position] == UInt8(ascii: ":") else {
          throw fail("expected ':'")
        }
        position += 1
        let value = try parseValue()
        pairs.append((key, value))
        skipWhitespace()
        guard position < bytes.count else { throw fail("unterminated dict") }
        if bytes[position] == UInt8(ascii: ",") {
          position += 1
        } else if bytes[position] != UInt8(ascii: "}") {
          throw fail("expected ',' or '}'")
        }
      }
    case UInt8(ascii: "("), UInt8(ascii: "["):
      let isTuple = b == UInt8(ascii: "(")
      let close = isTuple ? UInt8(ascii: ")") : UInt8(ascii: "]")
      position += 1
      var items: [PythonLiteral] = []
      var sawComma = false
      while true {
        skipWhitespace()
        if position < bytes.count, bytes[position] == close {
          position += 1
          // `(x)` is x parenthesized, not a tuple.
          if isTuple, items.count == 1, !sawComma { return items[0] }
          return isTuple ? .tuple(items) : .list(items)
        }
        items.append(try parseValue())
        skipWhitespace()
        guard position < bytes.count else { throw fail("unterminated \(isTuple ? "tuple" : "list")") }
        if bytes[position] == UInt8(ascii: ",") {
          sawComma = true
          position += 1
        } else if bytes[position] != close {
          throw fail("expected ',' or '\(Character(Unicode.Scalar(close)))'")
        }
      }
    case UInt8(ascii: "'"), UInt8(ascii: "\""):
      return .string(try parseString())
    case UInt8(ascii: "-"), UInt8(ascii: "+"), UInt8(ascii: "0")...UInt8(ascii: "9"):
      return .int(try parseInt())
    default:
      var end = position
      while end < bytes.count, isIdentifierByte(bytes[end]) { end += 1 }
      let word = String(decoding: bytes[position..<end], as: UTF8.self)
      switch word {
      case "True": position = end; return .bool(true)
      case "False": position = end; return .bool(false)
      case "None": position = end; return .none
      case "u", "b", "U", "B":
        // u'...' / b'...' string prefixes (Python 2 headers).
        if end < bytes.count, bytes[end] == UInt8(ascii: "'") || bytes[end] == UInt8(ascii: "\"") {
          position = end
          return .string(try parseString())
        }
        throw fail("unexpected '\(word)'")
      default:
        throw fail(word.isEmpty ? "unexpected character" : "unexpected '\(word.prefix(40))'")
      }
    }
  }

  func isIdentifierByte(_ b: UInt8) -> Bool {
    (b >= UInt8(ascii: "a") && b <= UInt8(ascii: "z")) || (b >= UInt8(ascii: "A") && b <= UInt8(ascii: "Z"))
      || (b >= UInt8(ascii: "0") && b <= UInt8(ascii: "9")) || b == UInt8(ascii: "_")
  }

  mutating func parseInt() throws(Failure) -> Int {
    var negative = false
    if bytes[position] == UInt8(ascii: "-") || bytes[position] == UInt8(ascii: "+") {
      negative = bytes[position] == UInt8(ascii: "-")
      position += 1
    }
    var value = 0
    var digits = 0
    while position < bytes.count, bytes[position] >= UInt8(ascii: "0"), bytes[position] <= UInt8(ascii: "9") {
      let (m, o1) = value.multipliedReportingOverflow(by: 10)
      let (s, o2) = m.addingReportingOverflow(Int(bytes[position] - UInt8(ascii: "0")))
      guard !o1, !o2 else { throw fail("integer too large") }
      value = s
      digits += 1
      position += 1
    }
    guard digits > 0 else { throw fail("expected digits") }
    // Python 2 long suffix: `3L`.
    if position < bytes.count, bytes[position] == UInt8(ascii: "L") || bytes[position] == UInt8(ascii: "l") {
      position += 1
    }
    if position < bytes.count, isIdentifierByte(bytes[position]) || bytes[position] == UInt8(ascii: ".") {
      throw fail("not an integer")
    }
    return negative ? -value : value
  }

  mutating func parseString() throws(Failure) -> String {
    let quote = bytes[position]
    let start = position
    position += 1
    var content: [UInt8] = []
    while true {
      guard position < bytes.count else {
        position = start
        throw fail("unterminated string")
      }
      let b = bytes[position]
      position += 1
      if b == quote { break }
      if b == 0x0A { throw fail("newline in a string") }
      if b == UInt8(ascii: "\\") {
        guard position < bytes.count else { continue }
        let e = bytes[position]
        position += 1
        switch e {
        case UInt8(ascii: "n"): content.append(0x0A)
        case UInt8(ascii: "t"): content.append(0x09)
        case UInt8(ascii: "r"): content.append(0x0D)
        case UInt8(ascii: "0"): content.append(0)
        default: content.append(e)
        }
      } else {
        content.append(b)
      }
    }
    if utf8 { return String(decoding: content, as: UTF8.self) }
    return String(String.UnicodeScalarView(content.map { Unicode.Scalar($0) }))
  }
}
