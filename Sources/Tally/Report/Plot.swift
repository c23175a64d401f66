//===--- Plot.swift -------------------------------------------------------===//
//
// Small, tested SVG charts for the report: a plot area with linear axes,
// ticks, labels and a legend, and the marks the report draws (lines,
// bars, cells, points with intervals). Colours are CSS classes, so the
// page's style sheet gives them for light, dark and print.
//
//===----------------------------------------------------------------------===//

import Foundation

/// The colour-blind-safe palette of Okabe and Ito (2008), as the CSS
/// classes `s0`…`s6` of the report's style sheet: blue, vermillion,
/// bluish green, orange, sky blue, reddish purple, yellow.
enum Palette {
  static let light = ["#0072B2", "#D55E00", "#009E73", "#E69F00", "#56B4E9", "#CC79A7", "#F0E442"]
  /// The same hues, lighter, for dark backgrounds.
  static let dark = ["#56B4E9", "#FF8C42", "#2BD9A5", "#F5C04A", "#8FD3FF", "#E7A3C9", "#F0E442"]
}

/// "Nice" tick values (steps of 1, 2 or 5 × 10ⁿ) covering `lo...hi`,
/// about `count` of them.
func niceTicks(_ lo: Double, _ hi: Double, count: Int = 5) -> [Double] {
  guard lo.isFinite, hi.isFinite, hi > lo, count > 0 else { return lo.isFinite ? [lo] : [] }
  let raw = (hi - lo) / Double(count)
  let power = pow(10, floor(log10(raw)))
  let step = [1.0, 2, 5, 10].map { $0 * power }.first { $0 >= raw } ?? 10 * power
  var ticks: [Double] = []
  var t = ceil(lo / step - 1e-9) * step
  while t <= hi + step * 1e-9, ticks.count < 100 {
    ticks.append(abs(t) < step * 1e-9 ? 0 : t)
    t += step
  }
  return ticks
}

/// A tick label: as few digits as the step needs.
func tickLabel(_ x: Double, step: Double) -> String {
  let decimals = step >= 1 ? 0 : min(6, Int(ceil(-log10(step) - 1e-9)))
  if abs(x) >= 1e6 || (abs(x) < 1e-4 && x != 0) { return String(format: "%.2g", x) }
  return String(format: "%.\(decimals)f", x)
}

/// One chart: a plot area with two linear axes, drawn into an `<svg>`
/// with `data-plot` naming it (the browser check finds plots by it).
struct Chart {
  var name: String
  var title: String
  var xLabel: String
  var yLabel: String
  var xRange: ClosedRange<Double>
  var yRange: ClosedRange<Double>
  var width = 400.0
  var height = 320.0
  /// Left, top, right, bottom margins.
  var margins = (left: 58.0, top: 30.0, right: 16.0, bottom: 46.0)
  /// Square plot area (ROC).
  var equalAspect = false
  var xTicks: [Double]? = nil
  var yTicks: [Double]? = nil
  /// Category labels under the x axis instead of numeric ticks.
  var xCategories: [String]? = nil
  /// Category labels beside the y axis, top to bottom, instead of ticks.
  var yCategories: [String]? = nil
  /// Where the legend goes inside the plot area.
  var legendCorner = LegendCorner.lowerRight
  var marks: [Node] = []
  var legend: [(label: String, cls: String)] = []

  init(
    name: String, title: String, x: String, y: String, xRange: ClosedRange<Double>, yRange: ClosedRange<Double>
  ) {
    (self.name, self.title, xLabel, yLabel) = (name, title, x, y)
    // An empty range would divide by zero: widen it.
    func widened(_ r: ClosedRange<Double>) -> ClosedRange<Double> {
      guard r.lowerBound.isFinite, r.upperBound.isFinite else { return 0...1 }
      if r.upperBound > r.lowerBound { return r }
      let pad = max(abs(r.lowerBound) * 0.05, 0.5)
      return (r.lowerBound - pad)...(r.upperBound + pad)
    }
    (self.xRange, self.yRange) = (widened(xRange), widened(yRange))
  }

  /// The plot area in SVG coordinates.
  var area: (x: Double, y: Double, w: Double, h: Double) {
    var w = width - margins.left - margins.right
    var h = height - margins.top - margins.bottom
    if equalAspect { (w, h) = (min(w, h), min(w, h)) }
    return (margins.left, margins.top, w, h)
  }

  func sx(_ x: Double) -> Double {
    let a = area
    return a.x + (x - xRange.lowerBound) / (xRange.upperBound - xRange.lowerBound) * a.w
  }

  func sy(_ y: Double) -> Double {
    let a = area
    return a.y + a.h - (y - yRange.lowerBound) / (yRange.upperBound - yRange.lowerBound) * a.h
  }

  /// A polyline through `points` (data coordinates).
  mutating func line(_ points: [(Double, Double)], cls: String, dashed: Bool = false, label: String? = nil) {
    guard !points.isEmpty else { return }
    let coords = points.map { "\(svgNumber(sx($0.0))),\(svgNumber(sy($0.1)))" }.joined(separator: " ")
    var attributes = [("class", "mark line \(cls)"), ("points", coords)]
    if dashed { attributes.append(("stroke-dasharray", "5 4")) }
    attributes.append(("data-points", String(points.count)))
    marks.append(.el("polyline", attributes))
    if let label { legend.append((label, cls)) }
  }

  /// A filled rectangle between data corners (bars, cells).
  mutating func rect(
    x0: Double, y0: Double, x1: Double, y1: Double, cls: String, opacity: Double? = nil, title: String? = nil
  ) {
    let (a, b) = (sx(min(x0, x1)), sx(max(x0, x1)))
    let (c, d) = (sy(max(y0, y1)), sy(min(y0, y1)))
    var attributes = [
      ("class", "mark \(cls)"), ("x", svgNumber(a)), ("y", svgNumber(c)), ("width", svgNumber(max(b - a, 0))),
      ("height", svgNumber(max(d - c, 0))),
    ]
    if let opacity { attributes.append(("fill-opacity", svgNumber(max(0, min(1, opacity))))) }
    marks.append(.el("rect", attributes, title.map { [.el("title", text: $0)] } ?? []))
  }

  /// A point with an optional vertical interval.
  mutating func point(x: Double, y: Double, low: Double? = nil, high: Double? = nil, cls: String, title: String? = nil)
  {
    if let low, let high, low.isFinite, high.isFinite {
      marks.append(
        .el(
          "line",
          [
            ("class", "mark whisker \(cls)"), ("x1", svgNumber(sx(x))), ("x2", svgNumber(sx(x))),
            ("y1", svgNumber(sy(low))), ("y2", svgNumber(sy(high))),
          ]))
    }
    marks.append(
      .el(
        "circle", [("class", "mark dot \(cls)"), ("cx", svgNumber(sx(x))), ("cy", svgNumber(sy(y))), ("r", "3.5")],
        title.map { [.el("title", text: $0)] } ?? []))
  }

  /// Text at data coordinates.
  mutating func label(_ s: String, x: Double, y: Double, cls: String = "cell-text", anchor: String = "middle") {
    marks.append(
      .el(
        "text",
        [
          ("class", cls), ("x", svgNumber(sx(x))), ("y", svgNumber(sy(y))), ("text-anchor", anchor),
          ("dominant-baseline", "middle"),
        ], text: s))
  }

  /// The `<svg>`: frame, grid, ticks, labels, marks, legend.
  var svg: Node {
    let a = area
    var parts: [Node] = [.el("title", text: title)]
    parts.append(
      .el(
        "text", [("class", "chart-title"), ("x", svgNumber(a.x)), ("y", "18")], text: title))
    // Grid and ticks.
    let xt = xTicks ?? niceTicks(xRange.lowerBound, xRange.upperBound)
    let yt = yTicks ?? niceTicks(yRange.lowerBound, yRange.upperBound)
    let xStep = xt.count > 1 ? xt[1] - xt[0] : 1
    let yStep = yt.count > 1 ? yt[1] - yt[0] : 1
    var axis: [Node] = []
    if xCategories == nil {
      for t in xt where xRange.contains(t) {
        let x = svgNumber(sx(t))
        axis.append(
          .el("line", [("class", "grid"), ("x1", x), ("x2", x), ("y1", svgNumber(a.y)), ("y2", svgNumber(a.y + a.h))]))
        axis.append(
          .el(
            "text",
            [("class", "tick"), ("x", x), ("y", svgNumber(a.y + a.h + 16)), ("text-anchor", "middle")],
            text: tickLabel(t, step: xStep)))
      }
    }
    for t in yt where yRange.contains(t) {
      let y = svgNumber(sy(t))
      axis.append(
        .el("line", [("class", "grid"), ("x1", svgNumber(a.x)), ("x2", svgNumber(a.x + a.w)), ("y1", y), ("y2", y)]))
      axis.append(
        .el(
          "text",
          [
            ("class", "tick"), ("x", svgNumber(a.x - 6)), ("y", y), ("text-anchor", "end"),
            ("dominant-baseline", "middle"),
          ],
          text: tickLabel(t, step: yStep)))
    }
    if let cats = xCategories {
      let n = Double(cats.count)
      // Short labels upright; longer ones slanted so they do not overlap.
      let upright = cats.allSatisfy { $0.count * 7 < Int(a.w / n) }
      for (i, c) in cats.enumerated() {
        let x = svgNumber(a.x + (Double(i) + 0.5) / n * a.w)
        let y = svgNumber(a.y + a.h + 14)
        var attributes = [("class", "tick"), ("x", x), ("y", y), ("text-anchor", upright ? "middle" : "end")]
        if !upright { attributes.append(("transform", "rotate(-35 \(x) \(y))")) }
        axis.append(.el("text", attributes, text: Self.shortened(c)))
      }
    }
    if let cats = yCategories {
      let n = Double(cats.count)
      for (i, c) in cats.enumerated() {
        axis.append(
          .el(
            "text",
            [
              ("class", "tick"), ("x", svgNumber(a.x - 6)), ("y", svgNumber(a.y + (Double(i) + 0.5) / n * a.h)),
              ("text-anchor", "end"), ("dominant-baseline", "middle"),
            ], text: Self.shortened(c)))
      }
    }
    parts.append(.el("g", [("class", "axes")], axis))
    parts.append(
      .el(
        "rect",
        [
          ("class", "frame"), ("x", svgNumber(a.x)), ("y", svgNumber(a.y)), ("width", svgNumber(a.w)),
          ("height", svgNumber(a.h)),
        ]))
    // Marks, clipped to the plot area.
    let clip = "clip-\(name)"
    parts.append(
      .el(
        "clipPath", [("id", clip)],
        [
          .el(
            "rect",
            [
              ("x", svgNumber(a.x - 4)), ("y", svgNumber(a.y - 4)), ("width", svgNumber(a.w + 8)),
              ("height", svgNumber(a.h + 8)),
            ])
        ]))
    parts.append(.el("g", [("class", "marks"), ("clip-path", "url(#\(clip))")], marks))
    // Axis labels.
    let slanted = xCategories.map { cats in !cats.allSatisfy { $0.count * 7 < Int(a.w / Double(cats.count)) } }
    let bottom = slanted == true ? height - 4 : a.y + a.h + 36
    parts.append(
      .el(
        "text",
        [
          ("class", "axis-label"), ("x", svgNumber(a.x + a.w / 2)), ("y", svgNumber(bottom)), ("text-anchor", "middle"),
        ],
        text: xLabel))
    let ly = a.y + a.h / 2
    parts.append(
      .el(
        "text",
        [
          ("class", "axis-label"), ("x", "14"), ("y", svgNumber(ly)), ("text-anchor", "middle"),
          ("transform", "rotate(-90 14 \(svgNumber(ly)))"),
        ], text: yLabel))
    // Legend, inside the plot area at the lower right.
    if !legend.isEmpty {
      var items: [Node] = []
      let lineHeight = 16.0
      let boxHeight = lineHeight * Double(legend.count)
      let top = legendCorner == .lowerRight ? a.y + a.h - 8 - boxHeight : a.y + 10
      let left = legendCorner == .upperLeft ? a.x + 10 : a.x + a.w - 190
      items.append(
        .el(
          "rect",
          [
            ("class", "legend-box"), ("x", svgNumber(left - 6)), ("y", svgNumber(top - 4)), ("width", "188"),
            ("height", svgNumber(lineHeight * Double(legend.count) + 6)),
          ]))
      for (i, entry) in legend.enumerated() {
        let y = top + lineHeight * Double(i) + 8
        items.append(
          .el(
            "line",
            [
              ("class", "mark line \(entry.cls)"), ("x1", svgNumber(left)), ("x2", svgNumber(left + 18)),
              ("y1", svgNumber(y)), ("y2", svgNumber(y)),
            ]))
        items.append(
          .el(
            "text",
            [("class", "legend"), ("x", svgNumber(left + 24)), ("y", svgNumber(y)), ("dominant-baseline", "middle")],
            text: entry.label))
      }
      parts.append(.el("g", [("class", "legend")], items))
    }
    return .el(
      "svg",
      [
        ("xmlns", "http://www.w3.org/2000/svg"), ("data-plot", name), ("role", "img"),
        ("viewBox", "0 0 \(svgNumber(width)) \(svgNumber(height))"), ("width", svgNumber(width)),
        ("height", svgNumber(height)),
      ], parts)
  }
}

/// A corner of the plot area.
enum LegendCorner { case lowerRight, upperLeft, upperRight }

extension Chart {
  /// A label cut to 18 characters.
  static func shortened(_ s: String) -> String { s.count > 18 ? String(s.prefix(17)) + "…" : s }
}

/// At most `limit` of a monotone curve's vertices (ROC, precision-recall),
/// first and last kept: a vertex is kept when the path since the last kept
/// one is at least 1/(`limit` − 2) of the whole path's length (in the unit
/// square), so the drawn line stays within a fraction of a pixel of the
/// full one. The area in the legend is computed from every vertex.
func thinned(_ points: [(Double, Double)], limit: Int = 2_000) -> [(Double, Double)] {
  var length = 0.0
  for i in points.indices.dropFirst() { length += CurveThinner.distance(points[i - 1], points[i]) }
  var t = CurveThinner(count: points.count, length: length, limit: limit)
  for p in points { t.add(p) }
  return t.kept
}

/// ``thinned(_:limit:)`` one vertex at a time, for curves that are never
/// held whole (a report's curves through 10 M distinct scores): given the
/// number of vertices and the path's length beforehand, it keeps the same
/// vertices.
struct CurveThinner {
  /// The vertices to come, in all.
  let count: Int
  /// The path length between kept vertices; 0 to keep every vertex.
  let step: Double
  /// The vertices kept so far.
  private(set) var kept: [(Double, Double)] = []
  private var index = 0
  private var run = 0.0
  private var previous = (0.0, 0.0)

  init(count: Int, length: Double, limit: Int = 2_000) {
    self.count = count
    step = count > limit && limit >= 2 ? length / Double(max(limit - 2, 1)) : 0
    kept.reserveCapacity(min(count, max(limit, 2)))
  }

  /// The Euclidean distance of two vertices (both in the unit square).
  @inline(__always)
  static func distance(_ a: (Double, Double), _ b: (Double, Double)) -> Double {
    let (dx, dy) = (b.0 - a.0, b.1 - a.1)
    return (dx * dx + dy * dy).squareRoot()
  }

  /// Offers the next vertex.
  @inline(__always)
  mutating func add(_ p: (Double, Double)) {
    defer {
      previous = p
      index += 1
    }
    if step == 0 || index == 0 || index == count - 1 {
      kept.append(p)
      return
    }
    run += Self.distance(previous, p)
    if run >= step {
      kept.append(p)
      run = 0
    }
  }
}
