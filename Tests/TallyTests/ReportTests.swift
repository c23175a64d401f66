import Foundation
import Testing

@testable import Tally

#if canImport(FoundationXML)
  import FoundationXML
#endif

/// The report page's structure: well-formed markup, each plot with its
/// axes and marks, escaped text, thinned curves that keep their area, and
/// the regression sample's independence from batching.
@Suite struct ReportTests {
  /// Elements of a page parsed as XML: names with attributes, in order,
  /// and the text of each `<text>`/`<td>`.
  final class Collector: NSObject, XMLParserDelegate {
    var elements: [(name: String, attributes: [String: String], path: [String])] = []
    var texts: [String] = []
    var stack: [String] = []
    var error: Error?

    func parser(
      _ parser: XMLParser, didStartElement name: String, namespaceURI: String?, qualifiedName: String?,
      attributes: [String: String] = [:]
    ) {
      elements.append((name, attributes, stack))
      stack.append(name)
    }

    func parser(_ parser: XMLParser, didEndElement name: String, namespaceURI: String?, qualifiedName: String?) {
      stack.removeLast()
    }

    func parser(_ parser: XMLParser, foundCharacters string: String) { texts.append(string) }

    func parser(_ parser: XMLParser, parseErrorOccurred parseError: Error) { error = parseError }
  }

  static func parse(_ html: String) throws -> Collector {
    // XMLParser takes the document without the HTML doctype line.
    let body = html.replacingOccurrences(of: "<!DOCTYPE html>\n", with: "")
    let parser = XMLParser(data: Data(body.utf8))
    let c = Collector()
    parser.delegate = c
    let ok = parser.parse()
    #expect(ok, "not well-formed: \(String(describing: c.error ?? parser.parserError))")
    return c
  }

  /// The elements inside the `<svg data-plot=name>`.
  static func plot(_ c: Collector, _ name: String) -> [(name: String, attributes: [String: String])] {
    guard let start = c.elements.firstIndex(where: { $0.name == "svg" && $0.attributes["data-plot"] == name })
    else { return [] }
    let depth = c.elements[start].path.count
    var out: [(String, [String: String])] = []
    for e in c.elements[(start + 1)...] {
      if e.path.count <= depth { break }
      out.append((e.name, e.attributes))
    }
    return out
  }

  static func binaryData(_ n: Int, seed: UInt64) -> (Tensor, Tensor) {
    var g = SplitMix64(seed: seed)
    let t = (0..<n).map { _ in Float(Int.random(in: 0...1, using: &g)) }
    let p = t.map { min(1, max(0, 0.35 * $0 + Float.random(in: 0..<0.65, using: &g))) }
    return (Tensor(t), Tensor(p))
  }

  @Test func escapingCoversMarkupAndControls() {
    #expect(
      escapeMarkup("<script>\"x\" & 'y'</script>") == "&lt;script&gt;&quot;x&quot; &amp; &#39;y&#39;&lt;/script&gt;")
    #expect(escapeMarkup("a\u{01}b\u{7F}c\té") == "a\u{FFFD}b\u{FFFD}c\té")
  }

  @Test func binaryPageHasEveryPlotWithAxes() throws {
    let (t, p) = Self.binaryData(1_500, seed: 3)
    var exact = ExactAUC()
    try exact.update(yTrue: t, yPred: p)
    var acc = BinaryAccuracy()
    try acc.update(yTrue: t, yPred: p)
    let html = try ReportPage(title: "A & B", metrics: [("binary_accuracy", acc), ("exact_auc", exact)]).html()
    let c = try Self.parse(html)
    for name in ["roc", "pr", "confusion", "calibration", "histogram"] {
      let elements = Self.plot(c, name)
      #expect(!elements.isEmpty, "no plot \(name)")
      // A frame, tick labels and at least one mark.
      #expect(elements.contains { $0.name == "rect" && $0.attributes["class"] == "frame" }, "\(name) has no frame")
      #expect(elements.filter { $0.attributes["class"] == "tick" }.count >= 2, "\(name) has no ticks")
      #expect(elements.contains { ($0.attributes["class"] ?? "").hasPrefix("mark") }, "\(name) has no marks")
    }
    // The ROC curve: every distinct score (fewer than 2,000 here) plus the
    // origin, and the chance line's two points.
    let lines = Self.plot(c, "roc").filter { $0.name == "polyline" }
    let counts = lines.compactMap { $0.attributes["data-points"].flatMap { Int($0) } }
    #expect(counts.contains(2))
    #expect(counts.contains(exact.state.count + 1))
    // The confusion matrix: four cells at threshold 0.5 whose counts add to
    // the rows.
    #expect(
      Self.plot(c, "confusion").filter { $0.name == "rect" && ($0.attributes["class"] ?? "").contains("cell") }.count
        == 4)
    #expect(html.contains("<title>A &amp; B</title>"))
    // No script, no link to anything outside the page.
    #expect(!html.contains("<script"))
    #expect(
      !html.contains("http://")
        || !html.replacingOccurrences(of: "http://www.w3.org/2000/svg", with: "").contains("http://"))
    #expect(!html.contains("https://"))
  }

  @Test func thinnedCurveKeepsItsArea() throws {
    let (t, p) = Self.binaryData(200_000, seed: 9)
    var exact = ExactAUC()
    try exact.update(yTrue: t, yPred: p)
    let roc = exact.rocCurve()
    let points = Array(zip(roc.falsePositiveRates, roc.truePositiveRates))
    #expect(points.count > 10_000)
    let drawn = thinned(points)
    #expect(drawn.count <= 2_000)
    #expect(drawn.first! == points.first! && drawn.last! == points.last!)
    func area(_ q: [(Double, Double)]) -> Double {
      zip(q, q.dropFirst()).reduce(0) { $0 + ($1.1.0 - $1.0.0) * ($1.1.1 + $1.0.1) / 2 }
    }
    #expect(abs(area(drawn) - exact.result().scalar!) < 1e-3)
    // The page draws the thinned curve and prints the exact area.
    let html = try ReportPage(title: "t", metrics: [("exact_auc", exact)]).html()
    #expect(html.contains("area \(ReportPage.format(exact.result().scalar!))"))
    #expect(html.utf8.count < 2_000_000)
  }

  /// The page's two passes over the distinct scores give what the whole
  /// curves give: the same thinned vertices, the counts above each
  /// threshold by binary search, and the F1-optimal cut; unweighted
  /// (counts) and weighted (compensated sums), with ties.
  @Test(arguments: [false, true]) func sweepEqualsTheWholeCurves(weighted: Bool) throws {
    let (t, p) = Self.binaryData(60_000, seed: 21)
    // Scores rounded to 4 decimals: ties, and more than 2,000 vertices.
    let rounded = Tensor(p.doubles().map { Float(($0 * 10_000).rounded() / 10_000) })
    var g = SplitMix64(seed: 3)
    let w = weighted ? Tensor((0..<60_000).map { _ in Float.random(in: 0.1..<3, using: &g) }) : nil
    var exact = ExactAUC()
    try exact.update(yTrue: t, yPred: rounded, sampleWeight: w)
    let h = exact.state
    let thresholds = ReportPage.fixedThresholds + [0.37, 2, -1]
    let sweep = ReportPage.Sweep(h, thresholds: thresholds)
    let roc = exact.rocCurve()
    let pr = exact.precisionRecallCurve()
    func same(_ a: [(Double, Double)], _ b: [(Double, Double)]) -> Bool {
      a.count == b.count && zip(a, b).allSatisfy { $0.0 == $1.0 && $0.1 == $1.1 }
    }
    #expect(roc.thresholds.count > 2_000)
    #expect(sweep.roc.count <= 2_000 && sweep.roc.count > 1_000)
    #expect(same(sweep.roc, thinned(Array(zip(roc.falsePositiveRates, roc.truePositiveRates)))))
    // The precision-recall curve is thinned from its top end, (0, 1).
    let prPoints = Array(zip(pr.recalls, pr.precisions))
    #expect(same(sweep.pr, thinned(prPoints.reversed()).reversed()))
    #expect(sweep.pr.count <= 2_000 && sweep.pr.first! == prPoints.first! && sweep.pr.last! == prPoints.last!)
    let c = h.cumulativeFromTop()
    #expect(sweep.positives == c.tp.last! && sweep.negatives == c.fp.last!)
    for threshold in thresholds {
      let k = c.scores.filter { $0 > threshold }.count
      let expected = k == 0 ? (0.0, 0.0) : (c.tp[k - 1], c.fp[k - 1])
      let got = try #require(sweep.above[threshold])
      #expect(got.tp == expected.0 && got.fp == expected.1, "threshold \(threshold)")
    }
    let f1 = c.scores.indices.map { 2 * c.tp[$0] / (2 * c.tp[$0] + c.fp[$0] + (c.tp.last! - c.tp[$0])) }
    let best = f1.indices.max { f1[$0] < f1[$1] || (f1[$0] == f1[$1] && $0 > $1) }!
    let got = try #require(sweep.best)
    #expect(got.score == c.scores[best] && got.tp == c.tp[best] && got.fp == c.fp[best])
  }

  @Test func userTextIsEscapedEverywhere() throws {
    var sliced = Sliced(BinaryAccuracy())
    let (t, p) = Self.binaryData(400, seed: 5)
    let keys = SliceColumn(strings: (0..<400).map { $0 % 2 == 0 ? "<script>alert(1)</script>" : "a\"b&c" })
    try sliced.update(yTrue: t, yPred: p, sampleWeight: nil, slices: try SliceBatch([keys]))
    let page = ReportPage(
      title: "<img src=x onerror=alert(1)>", notes: ["</p><script>"], metrics: [("acc<script>", sliced)])
    let html = try page.html()
    #expect(!html.contains("<script"))
    #expect(!html.contains("<img"))
    #expect(html.contains("&lt;script&gt;alert(1)&lt;/script&gt;"))
    let c = try Self.parse(html)
    // The parsed text holds the names as they were given.
    let text = c.texts.joined()
    #expect(text.contains("<script>alert(1)</script>"))
    #expect(text.contains("a\"b&c"))
    // One dot per slice.
    #expect(Self.plot(c, "slices-0").filter { $0.name == "circle" }.count == 2)
  }

  @Test func classPageHasTheMatrixAndPerClassRows() throws {
    var kappa = try CohenKappa(numClasses: 3, sparseLabels: true)
    try kappa.update(
      yTrue: [0, 1, 2, 2, 1, 0],
      yPred: [
        [0.8, 0.1, 0.1], [0.2, 0.7, 0.1], [0.1, 0.2, 0.7], [0.6, 0.2, 0.2], [0.3, 0.4, 0.3], [0.5, 0.4, 0.1],
      ])
    let html = try ReportPage(title: "c", metrics: [("kappa", kappa)], classNames: ["cat", "dog", "<b>"]).html()
    let c = try Self.parse(html)
    let cells = Self.plot(c, "confusion").filter {
      $0.name == "rect" && ($0.attributes["class"] ?? "").contains("cell")
    }
    #expect(cells.count == 9)
    #expect(html.contains("&lt;b&gt;"))
    // Class 2 ("<b>"): one of two right, precision 1.
    #expect(html.contains("<td>&lt;b&gt;</td><td class=\"num\">1.0000</td><td class=\"num\">0.5000</td>"))
  }

  @Test func regressionSampleIsIndependentOfBatchingAndMergeOrder() throws {
    var g = SplitMix64(seed: 11)
    let n = 5_000
    let t = (0..<n).map { _ in Double.random(in: -5...5, using: &g) }
    let p = t.map { $0 + Double.random(in: -1...1, using: &g) }
    var whole = RegressionSample(capacity: 300)
    try whole.update(yTrue: Tensor(t), yPred: Tensor(p), sampleWeight: nil)
    #expect(whole.state.labels.count == 300)
    #expect(whole.state.rows == Int64(n))
    // Three shards with their global rows, merged in another order.
    var parts: [RegressionSample] = []
    for range in [0..<1_234, 1_234..<4_000, 4_000..<n] {
      var m = RegressionSample(capacity: 300)
      try m.update(
        yTrue: Tensor(Array(t[range])), yPred: Tensor(Array(p[range])), sampleWeight: nil,
        rows: .contiguous(first: Int64(range.lowerBound), count: range.count))
      parts.append(m)
    }
    var merged = parts[2]
    try merged.merge(parts[0])
    try merged.merge(parts[1])
    #expect(merged.state == whole.state)
    // A bad value leaves the state as it was.
    var m = whole
    #expect(throws: MetricError.self) {
      try m.update(yTrue: Tensor([1.0, .nan]), yPred: Tensor([1.0, 2]), sampleWeight: nil)
    }
    #expect(m.state == whole.state)
    let html = try ReportPage(title: "r", metrics: [("sample", whole)]).html()
    let c = try Self.parse(html)
    #expect(!Self.plot(c, "scatter").isEmpty && !Self.plot(c, "residuals").isEmpty)
    #expect(html.contains("a uniform sample of 300 of 5000 rows"))
  }

  @Test func badSettingsAreRefused() {
    #expect(throws: MetricError.self) { _ = try ReportPage(title: "x", metrics: [], confidence: 1).html() }
    #expect(throws: MetricError.self) { _ = try ReportPage(title: "x", metrics: [], threshold: .nan).html() }
  }

  @Test func niceTicksAreRound() {
    let unit = niceTicks(0, 1)
    #expect(unit.count == 6)
    #expect(zip(unit, [0, 0.2, 0.4, 0.6, 0.8, 1]).allSatisfy { abs($0 - $1) < 1e-12 })
    #expect(niceTicks(-3.2, 17.9).allSatisfy { $0.truncatingRemainder(dividingBy: 5) == 0 })
    #expect(niceTicks(1, 1).count == 1)
  }
}
