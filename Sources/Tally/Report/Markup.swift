//===--- Markup.swift -----------------------------------------------------===//
//
// The smallest HTML/SVG writer the report needs: elements with escaped
// text and attributes, always well-formed (every element closed, every
// attribute quoted, no named entities), so a report parses as XML too.
//
//===----------------------------------------------------------------------===//

/// Text made safe for an HTML or SVG text node or a quoted attribute: `&`,
/// `<`, `>`, `"` and `'` become character references, and characters XML
/// does not allow (controls other than tab and line breaks, lone
/// surrogates cannot occur in `String`) become U+FFFD.
///
/// ```swift
/// escapeMarkup("<script>\"x\" & 'y'</script>")
/// // "&lt;script&gt;&quot;x&quot; &amp; &#39;y&#39;&lt;/script&gt;"
/// ```
public func escapeMarkup(_ text: String) -> String {
  var out = ""
  out.reserveCapacity(text.utf8.count)
  for scalar in text.unicodeScalars {
    switch scalar {
    case "&": out += "&amp;"
    case "<": out += "&lt;"
    case ">": out += "&gt;"
    case "\"": out += "&quot;"
    case "'": out += "&#39;"
    case "\t", "\n", "\r": out.unicodeScalars.append(scalar)
    default:
      let v = scalar.value
      if v < 0x20 || v == 0x7F || (0xFFFE...0xFFFF).contains(v) {
        out += "\u{FFFD}"
      } else {
        out.unicodeScalars.append(scalar)
      }
    }
  }
  return out
}

/// A piece of markup: an element with attributes and children, escaped
/// text, or markup trusted as is (only the report's own constants).
struct Node {
  enum Kind {
    case element(name: String, attributes: [(String, String)], children: [Node])
    case text(String)
    case raw(String)
  }
  let kind: Kind

  /// An element; attribute values and text children are escaped when
  /// rendered.
  static func el(_ name: String, _ attributes: [(String, String)] = [], _ children: [Node] = []) -> Node {
    Node(kind: .element(name: name, attributes: attributes, children: children))
  }

  /// An element holding one text node.
  static func el(_ name: String, _ attributes: [(String, String)] = [], text: String) -> Node {
    .el(name, attributes, [.text(text)])
  }

  /// Escaped text.
  static func text(_ s: String) -> Node { Node(kind: .text(s)) }

  /// Markup written as is: for the report's own constant style sheet only.
  static func raw(_ s: String) -> Node { Node(kind: .raw(s)) }

  /// The markup.
  func render(into out: inout String) {
    switch kind {
    case .text(let s): out += escapeMarkup(s)
    case .raw(let s): out += s
    case .element(let name, let attributes, let children):
      out += "<" + name
      for (k, v) in attributes { out += " \(k)=\"\(escapeMarkup(v))\"" }
      if children.isEmpty {
        // Void HTML elements and SVG shapes self-close; others get an
        // explicit end tag (`<div/>` is not empty in HTML).
        out += Self.selfClosing.contains(name) ? "/>" : "></\(name)>"
        return
      }
      out += ">"
      for c in children { c.render(into: &out) }
      out += "</\(name)>"
    }
  }

  var rendered: String {
    var s = ""
    render(into: &s)
    return s
  }

  static let selfClosing: Set<String> = [
    "meta", "br", "hr", "img", "col", "line", "rect", "circle", "path", "polyline", "polygon", "stop", "use",
  ]
}

/// A number for an SVG coordinate: two decimals, no exponent, no `-0`.
func svgNumber(_ x: Double) -> String {
  guard x.isFinite else { return "0" }
  let r = (x * 100).rounded() / 100
  if r == 0 { return "0" }
  if r == r.rounded() { return String(Int(r)) }
  var s = String(r)
  if s.contains("e") { s = "0" }
  return s
}
