// Hand-written support for DocumentationExamples.swift, which
// Scripts/extract-doc-examples.py generates from the documentation's examples.

import Foundation
import Tally
import Testing

// MARK: - Checking a value written in an example

/// Checks `actual` against a value written in a documentation comment
/// (`m.result()   // .scalar(0.25)`): `0.25`, `[0.5, 0.0]`, `[[0], [1]]`,
/// `.scalar(4.0)`, `.vector([1, 2])`; `actual` is a metric's result, a tensor,
/// a number, or an array of numbers (a shape).
///
/// Each number is compared to the digits written: within half a unit of its
/// last digit (`0.99999994` within 5e-9, `2.0` within 0.05, `3.2058e-05`
/// within 5e-10), within a whole unit when it ends in `…` (truncated:
/// `0.6666666…`), and exactly for an integer (`16`, `[0, 1]`); 1e-12 of the
/// value is added for the rounding of the decimal to binary. The shape must
/// match too: a number is a scalar, a list of `n` numbers has shape `[n]`, a
/// list of `n` lists of `k` numbers has shape `[n, k]`.
func expectDoc(_ actual: MetricValue, _ written: String, sourceLocation: SourceLocation = #_sourceLocation) {
  compare(actual.values, actual.shape, "\(actual)", written, sourceLocation)
}

func expectDoc(_ actual: Tensor, _ written: String, sourceLocation: SourceLocation = #_sourceLocation) {
  compare(actual.doubles(), actual.shape, "\(actual.doubles()) (shape \(actual.shape))", written, sourceLocation)
}

func expectDoc(_ actual: Double, _ written: String, sourceLocation: SourceLocation = #_sourceLocation) {
  compare([actual], [], "\(actual)", written, sourceLocation)
}

func expectDoc(_ actual: [Double], _ written: String, sourceLocation: SourceLocation = #_sourceLocation) {
  compare(actual, [actual.count], "\(actual)", written, sourceLocation)
}

func expectDoc(_ actual: Int, _ written: String, sourceLocation: SourceLocation = #_sourceLocation) {
  compare([Double(actual)], [], "\(actual)", written, sourceLocation)
}

func expectDoc(_ actual: [Int], _ written: String, sourceLocation: SourceLocation = #_sourceLocation) {
  compare(actual.map(Double.init), [actual.count], "\(actual)", written, sourceLocation)
}

func expectDoc(_ actual: Int64, _ written: String, sourceLocation: SourceLocation = #_sourceLocation) {
  compare([Double(actual)], [], "\(actual)", written, sourceLocation)
}

/// A boolean written as `true` or `false`.
func expectDoc(_ actual: Bool, _ written: String, sourceLocation: SourceLocation = #_sourceLocation) {
  #expect(
    "\(actual)" == written, "the documentation says \(written), the code gives \(actual)",
    sourceLocation: sourceLocation)
}

/// A string written as a Swift literal (`"mean_absolute_error"`): equal to the
/// written text as Swift prints it (`String(reflecting:)`).
func expectDoc(_ actual: String, _ written: String, sourceLocation: SourceLocation = #_sourceLocation) {
  #expect(
    String(reflecting: actual) == written,
    "the documentation says \(written), the code gives \(String(reflecting: actual))",
    sourceLocation: sourceLocation)
}

/// Strings written as a Swift array literal (`["mae", "MAE"]`).
func expectDoc(_ actual: [String], _ written: String, sourceLocation: SourceLocation = #_sourceLocation) {
  #expect(
    String(reflecting: actual) == written,
    "the documentation says \(written), the code gives \(String(reflecting: actual))",
    sourceLocation: sourceLocation)
}

private func compare(
  _ values: [Double], _ shape: [Int], _ description: String, _ written: String,
  _ sourceLocation: SourceLocation
) {
  guard let expected = WrittenValue(written) else {
    Issue.record("cannot read the written value `\(written)`", sourceLocation: sourceLocation)
    return
  }
  let matches =
    shape == expected.shape && values.count == expected.numbers.count
    && zip(values, zip(expected.numbers, expected.tolerances)).allSatisfy { a, e in
      abs(a - e.0) <= e.1 + 1e-12 * max(1, abs(e.0))
    }
  if !matches {
    Issue.record(
      "the documentation says \(written), the code gives \(description)", sourceLocation: sourceLocation)
  }
}

/// A value as written in the documentation: its numbers, the tolerance that
/// the digits of each imply, and its shape.
struct WrittenValue {
  var numbers: [Double] = []
  var tolerances: [Double] = []
  var shape: [Int] = []

  init?(_ text: String) {
    var s = Substring(text.trimmingCharacters(in: .whitespaces))
    var isScalar: Bool?
    for (prefix, scalar) in [(".scalar(", true), (".vector(", false)] where s.hasPrefix(prefix) && s.hasSuffix(")") {
      s = s.dropFirst(prefix.count).dropLast()
      isScalar = scalar
    }
    guard let shape = parse(&s), s.isEmpty else { return nil }
    if let isScalar, isScalar != shape.isEmpty { return nil }
    self.shape = shape
  }

  /// Parses a number or a bracketed list at the start of `s`; returns its shape.
  private mutating func parse(_ s: inout Substring) -> [Int]? {
    s = s.drop { $0 == " " }
    if s.first == "[" {
      s = s.dropFirst()
      var shapes: [[Int]] = []
      while true {
        s = s.drop { $0 == " " }
        if s.first == "]" { break }
        guard let inner = parse(&s) else { return nil }
        shapes.append(inner)
        s = s.drop { $0 == " " }
        if s.first == "," { s = s.dropFirst() } else if s.first != "]" { return nil }
      }
      s = s.dropFirst()
      guard Set(shapes).count <= 1 else { return nil }
      return [shapes.count] + (shapes.first ?? [])
    }
    let token = s.prefix { "0123456789.eE+-…".contains($0) }
    s = s.dropFirst(token.count)
    let truncated = token.hasSuffix("…")
    let digits = truncated ? token.dropLast() : token
    guard let value = Double(digits) else { return nil }
    let mantissa = digits.prefix { $0 != "e" && $0 != "E" }
    let exponent = Int(digits.dropFirst(mantissa.count + 1)) ?? 0
    let fractionDigits = mantissa.split(separator: ".", omittingEmptySubsequences: false).dropFirst().first?.count
    let unit = pow(10, Double(exponent - (fractionDigits ?? 0)))
    numbers.append(value)
    if truncated {
      tolerances.append(unit)
    } else if fractionDigits == nil && mantissa.count == digits.count {
      tolerances.append(0)  // an integer: exact
    } else {
      tolerances.append(unit / 2)
    }
    return []
  }
}

// MARK: - The generated file is up to date

/// The examples of one source file, by the same rule as `extract` in
/// Scripts/extract-doc-examples.py: a block opens at a ```swift line and
/// closes at the next ``` line; in a .swift file only `///` lines count, read
/// without leading whitespace, `///` and one space; a block right after a
/// `<!-- not compiled` line is skipped.
func extractExamples(path: String, content: String) -> [String] {
  var lines: [String?] = content.components(separatedBy: "\n")
  if path.hasSuffix(".swift") {
    lines = lines.map { line in
      let t = line!.drop { $0 == " " || $0 == "\t" }
      guard t.hasPrefix("///") else { return nil }
      let text = t.dropFirst(3)
      return String(text.hasPrefix(" ") ? text.dropFirst() : text)
    }
  }
  func trimmed(_ i: Int) -> String? { lines[i]?.trimmingCharacters(in: .whitespacesAndNewlines) }
  var blocks: [String] = []
  var i = 0
  while i < lines.count {
    if trimmed(i) == "```swift" {
      let skipped = i > 0 && trimmed(i - 1)?.hasPrefix("<!-- not compiled") == true
      var j = i + 1
      while j < lines.count, let t = trimmed(j), t != "```" { j += 1 }
      if j < lines.count, lines[j] != nil, !skipped {
        blocks.append(lines[(i + 1)..<j].map { $0! }.joined(separator: "\n"))
      }
      i = j
    }
    i += 1
  }
  return blocks
}

@Suite struct DocumentationFreshnessTests {
  static let root = URL(fileURLWithPath: #filePath)
    .deletingLastPathComponent().deletingLastPathComponent().deletingLastPathComponent()

  /// The repository-relative paths of the files of one source kind.
  static func sourceFiles(_ kind: String) throws -> [String] {
    switch kind {
    case "readme":
      return ["README.md"]
    case "docc":
      let dir = "Sources/Tally/Documentation.docc"
      return try FileManager.default.contentsOfDirectory(atPath: root.appendingPathComponent(dir).path)
        .filter { $0.hasSuffix(".md") }.map { "\(dir)/\($0)" }.sorted()
    default:
      let dir = "Sources/Tally"
      let all = FileManager.default.enumerator(atPath: root.appendingPathComponent(dir).path)
      return (all?.allObjects as? [String] ?? []).filter { $0.hasSuffix(".swift") }.map { "\(dir)/\($0)" }.sorted()
    }
  }

  @Test func generatedExamplesMatchTheDocumentation() throws {
    var documented: [String] = []
    for kind in documentationExampleKinds.sorted() {
      for path in try Self.sourceFiles(kind) {
        let content = try String(contentsOf: Self.root.appendingPathComponent(path), encoding: .utf8)
        documented += extractExamples(path: path, content: content).map { "\(path):\n\($0)" }
      }
    }
    let generated = documentationExampleTable.map { "\($0.file):\n\($0.text)" }
    let stale = "DocumentationExamples.swift is out of date (run `python3 Scripts/extract-doc-examples.py`)"
    for example in Set(documented).subtracting(generated).sorted() {
      Issue.record("\(stale): this example is not compiled: \(example)")
    }
    for example in Set(generated).subtracting(documented).sorted() {
      Issue.record("\(stale): this example is no longer in the documentation: \(example)")
    }
    #expect(documented.count == generated.count, "\(stale): the number of examples differs")
  }

  @Test func everySourceIsRead() {
    let left = Set(["readme", "docc", "comments"]).subtracting(documentationExampleKinds)
    if !left.isEmpty {
      withKnownIssue("DocumentationExamples.swift was generated with --only: not compiled: \(left.sorted())") {
        Issue.record("run `python3 Scripts/extract-doc-examples.py` without --only")
      }
    }
  }

  @Test func writtenValuesAreReadAsWritten() throws {
    let v = try #require(WrittenValue("[[0.5, 1], [2.0e-3, 0.6666…]]"))
    #expect(v.shape == [2, 2])
    #expect(v.numbers == [0.5, 1, 2.0e-3, 0.6666])
    #expect(zip(v.tolerances, [0.05, 0, 0.5e-4, 1e-4]).allSatisfy { abs($0 - $1) < 1e-18 })
    #expect(WrittenValue(".scalar(4.0)")?.shape == [])
    #expect(WrittenValue(".scalar([4.0])") == nil)
    #expect(WrittenValue(".vector([1, 2])")?.shape == [2])
    #expect(WrittenValue("[[1], [2, 3]]") == nil)
    #expect(WrittenValue("0.99999994")?.tolerances.first.map { abs($0 - 5e-9) < 1e-20 } == true)
  }
}
