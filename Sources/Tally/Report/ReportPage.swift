//===--- ReportPage.swift -------------------------------------------------===//
//
// The evaluation as one self-contained HTML page: the metric table (with
// intervals and slices), and the plots the metrics' states can draw: exact
// ROC and precision-recall curves, the confusion matrix, calibration and
// score histograms for binary scores; the class confusion matrix and a
// per-class table for classes; predicted against true and residuals for
// regression; each slice against the whole.
//
//===----------------------------------------------------------------------===//

import Foundation

/// An evaluation report: one HTML file with inline SVG, no script, no
/// network, no external font; readable in light and dark mode and printed
/// (what `tally report` writes).
///
/// The page draws what its metrics hold:
///
/// | metric | draws |
/// |---|---|
/// | every metric | a row of the table (value, interval when bootstrapped) |
/// | ``ExactAUC`` | ROC and precision-recall curves, the confusion matrix at ``threshold``, a reliability diagram with the expected calibration error, score histograms, a threshold table |
/// | a metric whose state is a ``ConfusionMatrixState`` (``CohenKappa``, ``MatthewsCorrelationCoefficient``, the IoU family) | the class confusion matrix and a per-class table |
/// | ``RegressionSample`` | predicted against true (a 2-D histogram) and the residuals |
/// | ``Sliced`` | a table row per slice and, per metric, each slice's value and interval against the overall one |
///
/// Curves are drawn with at most 2,000 vertices (a vertex every 1/2,000 of
/// the curve's length, so the line stays within a pixel of the full one);
/// the areas in the legends are computed from every distinct score. Every
/// text that comes from data or names is escaped.
///
/// ```swift
/// var auc = ExactAUC()
/// try auc.update(yTrue: Tensor([Float(0), 0, 1, 1]), yPred: Tensor([Float(0.1), 0.6, 0.4, 0.8]))
/// let page = ReportPage(title: "Model A", metrics: [("exact_auc", auc)])
/// let html = try page.html()
/// html.contains("ROC curve")         // true
/// ```
public struct ReportPage: Sendable {
  /// The page's heading.
  public var title: String
  /// Lines under the heading (inputs, rows, command).
  public var notes: [String]
  /// The named metrics, in table order.
  public var metrics: [(name: String, metric: any Metric)]
  /// The decision threshold of the binary confusion matrix (Keras's rule:
  /// positive when the score is above it).
  public var threshold: Double
  /// The confidence level of bootstrap intervals.
  public var confidence: Double
  /// Class names for the class confusion matrix (default `0`, `1`, …).
  public var classNames: [String]?
  /// Whether the class confusion matrix shows each row as fractions of
  /// the true class (recall on the diagonal) rather than counts.
  public var normalizeRows: Bool

  /// A report of `metrics`.
  public init(
    title: String, notes: [String] = [], metrics: [(name: String, metric: any Metric)], threshold: Double = 0.5,
    confidence: Double = 0.95, classNames: [String]? = nil, normalizeRows: Bool = false
  ) {
    (self.title, self.notes, self.metrics) = (title, notes, metrics)
    (self.threshold, self.confidence, self.classNames, self.normalizeRows) = (
      threshold, confidence, classNames, normalizeRows
    )
  }

  /// The page.
  ///
  /// - Throws: ``MetricError/invalidConfiguration(_:)`` for a confidence
  ///   outside (0, 1) or a threshold that is not finite.
  public func html() throws(MetricError) -> String {
    guard confidence > 0, confidence < 1 else {
      throw .invalidConfiguration("the confidence level must be in (0, 1); received \(confidence)")
    }
    guard threshold.isFinite else { throw .invalidConfiguration("the threshold must be finite; received \(threshold)") }
    var body: [Node] = [.el("h1", text: title)]
    for n in notes { body.append(.el("p", [("class", "note")], text: n)) }
    body.append(try metricTable())
    for (name, m) in metrics {
      if let exact = Self.unwrapped(overall(m)) as? ExactAUC { body.append(contentsOf: binarySection(name, exact)) }
    }
    for (name, m) in metrics {
      if let s = Self.unwrapped(overall(m)).anyState as? ConfusionMatrixState, s.classes > 0 {
        body.append(contentsOf: classSection(name, s))
        break
      }
    }
    for (name, m) in metrics {
      if let r = m as? RegressionSample { body.append(contentsOf: regressionSection(name, r)) }
    }
    body.append(contentsOf: try sliceSections())
    body.append(
      .el("p", [("class", "note footer")], text: "Written by Tally. Colours: Okabe–Ito palette (colour-blind safe)."))
    let page = Node.el(
      "html", [("lang", "en")],
      [
        .el(
          "head", [],
          [
            .el("meta", [("charset", "utf-8")]),
            .el("meta", [("name", "viewport"), ("content", "width=device-width, initial-scale=1")]),
            .el("meta", [("name", "color-scheme"), ("content", "light dark")]),
            .el("title", text: title),
            .el("style", [], [.raw(Self.styleSheet)]),
          ]),
        .el("body", [], [.el("main", [], body)]),
      ])
    return "<!DOCTYPE html>\n" + page.rendered + "\n"
  }

  // MARK: Metrics

  /// The metric a wrapper holds (a bootstrap's point estimate), or the
  /// metric itself.
  static func unwrapped(_ m: any Metric) -> any Metric {
    if let b = m as? any BootstrappedMetric { return b.pointMetric }
    return m
  }

  /// Whether a metric is only a source of plots (not a table row).
  static func plotOnly(_ m: any Metric) -> Bool { m is RegressionSample }

  func interval(_ m: any Metric) throws(MetricError) -> BootstrapInterval? {
    try (m as? any IntervalEstimating)?.interval(confidence: confidence)
  }

  static func format(_ x: Double?) -> String {
    guard let x else { return "—" }
    if x.isNaN { return "NaN" }
    if x.isInfinite { return x > 0 ? "∞" : "−∞" }
    if x != 0, abs(x) < 1e-4 || abs(x) >= 1e7 { return String(format: "%.4g", x) }
    return String(format: "%.4f", x)
  }

  static func format(_ v: MetricValue?) -> String {
    switch v {
    case nil: "—"
    case .scalar(let x)?: format(x)
    case .vector(let xs)?:
      "[" + xs.prefix(12).map { format($0) }.joined(separator: ", ") + (xs.count > 12 ? ", …]" : "]")
    }
  }

  func metricTable() throws(MetricError) -> Node {
    var bootstrapped = false
    for (_, m) in metrics where try interval(overall(m)) != nil { bootstrapped = true }
    var header: [Node] = [.el("th", text: "metric"), .el("th", text: "value")]
    if bootstrapped {
      header += [
        .el("th", text: "\(Self.format(confidence * 100).replacingOccurrences(of: ".0000", with: "")) % interval"),
        .el("th", text: "std. error"),
      ]
    }
    var rows: [Node] = [.el("tr", [], header)]
    for (name, m) in metrics where !Self.plotOnly(m) {
      let o = overall(m)
      var cells: [Node] = [.el("td", text: name), .el("td", [("class", "num")], text: Self.format(o.result()))]
      if bootstrapped {
        if let i = try interval(o) {
          cells.append(.el("td", [("class", "num")], text: "\(Self.format(i.low)) – \(Self.format(i.high))"))
          cells.append(.el("td", [("class", "num")], text: Self.format(i.standardError)))
        } else {
          cells += [.el("td", text: ""), .el("td", text: "")]
        }
      }
      rows.append(.el("tr", [], cells))
    }
    return .el("section", [], [.el("h2", text: "Metrics"), .el("table", [("class", "metrics")], rows)])
  }

  /// A sliced metric's overall metric, or the metric.
  func overall(_ m: any Metric) -> any Metric {
    (m as? any SlicedMetric)?.overallMetric ?? m
  }

  // MARK: Binary scores

  /// What the page shows of binary scores, from two passes over the
  /// distinct scores from the top (no array per score: 10 M distinct
  /// scores cost two passes, not six arrays of 10 M).
  struct Sweep {
    /// Positive and negative weight in all (the running sums' last values).
    var positives = 0.0
    var negatives = 0.0
    /// Positives and negatives scored above each asked threshold.
    var above: [Double: (tp: Double, fp: Double)] = [:]
    /// The F1-optimal cut: positive from `score` down (the highest such
    /// score on ties).
    var best: (score: Double, tp: Double, fp: Double)?
    /// The ROC curve's vertices, thinned, from (0, 0) up.
    var roc: [(Double, Double)] = []
    /// The precision-recall curve's vertices, thinned from (0, 1) down,
    /// then ordered from the lowest threshold to (0, 1) as
    /// ``PrecisionRecallCurve`` orders them.
    var pr: [(Double, Double)] = []

    init(_ h: ScoreHistogram, thresholds: [Double]) {
      // The curves' rates use the totals as ExactAUC's curves do.
      let totals = h.totals
      let (p, n) = (totals.positives.value, totals.negatives.value)
      // Curve 0 is ROC, from (0, 0); curve 1 precision-recall, from (0, 1).
      @Sendable func point(_ curve: Int, _ tp: Double, _ fp: Double) -> (Double, Double) {
        if curve == 0 { return (n == 0 ? .nan : fp / n, p == 0 ? .nan : tp / p) }
        let predicted = tp + fp
        return (p == 0 ? 1 : tp / p, predicted == 0 ? 0 : tp / predicted)
      }
      let starts = [(0.0, 0.0), (0.0, 1.0)]
      // Each pass sweeps the scores once per curve, the two curves on two
      // cores (the same sums in the same order as one sweep for both).
      let curves = [0..<1, 1..<2]
      // Pass 1: the curves' lengths and the running sums' last values.
      let firsts = parallelMap(ranges: curves) { r -> (length: Double, tp: Double, fp: Double) in
        var (length, last, end) = (0.0, starts[r.lowerBound], (0.0, 0.0))
        h.forEachFromTop { _, tp, fp in
          let q = point(r.lowerBound, tp, fp)
          length += CurveThinner.distance(last, q)
          (last, end) = (q, (tp, fp))
        }
        return (length, end.0, end.1)
      }
      (positives, negatives) = (firsts[0].tp, firsts[0].fp)
      // Pass 2: the thinned curves; with ROC, the thresholds and the best F1.
      let vertices = h.count + 1
      let positiveTotal = positives
      let sorted = thresholds.sorted(by: >)
      let seconds = parallelMap(ranges: curves) {
        r -> (kept: [(Double, Double)], above: [Double: (tp: Double, fp: Double)], best: (Double, Double, Double)?) in
        var thinner = CurveThinner(count: vertices, length: firsts[r.lowerBound].length)
        thinner.add(starts[r.lowerBound])
        var above: [Double: (tp: Double, fp: Double)] = [:]
        var best: (Double, Double, Double)?
        guard r.lowerBound == 0 else {
          h.forEachFromTop { _, tp, fp in thinner.add(point(1, tp, fp)) }
          return (thinner.kept, above, best)
        }
        var pending = sorted[...]
        var (tpBefore, fpBefore) = (0.0, 0.0)
        var bestF1 = -1.0
        h.forEachFromTop { score, tp, fp in
          while let t = pending.first, score <= t {
            above[t] = (tpBefore, fpBefore)
            pending.removeFirst()
          }
          let f1 = 2 * tp / (2 * tp + fp + (positiveTotal - tp))
          if f1 > bestF1 { (bestF1, best) = (f1, (score, tp, fp)) }
          thinner.add(point(0, tp, fp))
          (tpBefore, fpBefore) = (tp, fp)
        }
        for t in pending { above[t] = (tpBefore, fpBefore) }
        return (thinner.kept, above, best)
      }
      above = seconds[0].above
      best = seconds[0].best.map { (score: $0.0, tp: $0.1, fp: $0.2) }
      roc = seconds[0].kept
      pr = seconds[1].kept.reversed()
    }
  }

  func binarySection(_ name: String, _ m: ExactAUC) -> [Node] {
    let h = m.state
    guard h.count > 0 else {
      return [.el("section", [], [.el("h2", text: "Binary scores: \(name)"), .el("p", text: "No rows.")])]
    }
    let sweep = Sweep(h, thresholds: Self.fixedThresholds + [threshold])
    var figures: [Node] = []
    // ROC.
    let rocArea = h.rocAUC
    var c = Chart(
      name: "roc", title: "ROC curve", x: "false positive rate", y: "true positive rate", xRange: 0...1, yRange: 0...1)
    c.equalAspect = true
    c.line([(0, 0), (1, 1)], cls: "chance", dashed: true, label: "chance (area 0.5)")
    c.line(
      sweep.roc, cls: "s0",
      label: "\(name): area \(Self.format(rocArea))")
    let (tpAt, fpAt) = sweep.above[threshold] ?? (0, 0)
    let tprAt = sweep.positives > 0 ? tpAt / sweep.positives : 0
    let fprAt = sweep.negatives > 0 ? fpAt / sweep.negatives : 0
    c.point(x: fprAt, y: tprAt, cls: "s1", title: "threshold \(Self.short(threshold))")
    c.legend.append(("threshold \(Self.short(threshold))", "s1"))
    figures.append(figure(c, caption: "Exact ROC curve over \(h.count) distinct scores."))
    // Precision-recall.
    var p = Chart(
      name: "pr", title: "Precision-recall curve", x: "recall", y: "precision", xRange: 0...1, yRange: 0...1)
    p.equalAspect = true
    let base = sweep.positives + sweep.negatives > 0 ? sweep.positives / (sweep.positives + sweep.negatives) : 0
    p.line([(0, base), (1, base)], cls: "chance", dashed: true, label: "chance (precision \(Self.format(base)))")
    p.line(
      sweep.pr, cls: "s0",
      label: "average precision \(Self.format(h.averagePrecision))")
    let precisionAt = tpAt + fpAt > 0 ? tpAt / (tpAt + fpAt) : 1
    p.point(x: tprAt, y: precisionAt, cls: "s1", title: "threshold \(Self.short(threshold))")
    p.legend.append(("threshold \(Self.short(threshold))", "s1"))
    figures.append(figure(p, caption: "Exact precision-recall curve; the area is the average precision."))
    // Confusion matrix at the threshold.
    let counts = [
      [sweep.negatives - fpAt, fpAt],
      [sweep.positives - tpAt, tpAt],
    ]
    figures.append(
      figure(
        confusionChart(
          name: "confusion", title: "Confusion at threshold \(Self.short(threshold))", counts: counts,
          labels: ["negative", "positive"], normalize: true),
        caption: "Rows: true class; columns: predicted (score > \(Self.short(threshold))). Counts and row rates."))
    // Reliability.
    figures.append(reliability(h))
    // Histograms.
    figures.append(scoreHistograms(h))
    return [
      .el(
        "section", [],
        [.el("h2", text: "Binary scores: \(name)"), .el("div", [("class", "figures")], figures), thresholdTable(sweep)])
    ]
  }

  func figure(_ chart: Chart, caption: String) -> Node {
    .el("figure", [], [chart.svg, .el("figcaption", text: caption)])
  }

  /// A heatmap of counts (rows: true, columns: predicted), shaded by row
  /// rate, with the count and rate in each cell.
  func confusionChart(name: String, title: String, counts: [[Double]], labels: [String], normalize: Bool) -> Chart {
    let k = counts.count
    let size = min(560.0, max(300.0, 60 + Double(k) * 34))
    var c = Chart(
      name: name, title: title, x: "predicted", y: "true", xRange: 0...Double(k), yRange: 0...Double(k))
    let longest = labels.map(\.count).max() ?? 1
    let slanted = !labels.allSatisfy { $0.count * 7 < Int(size - 60) / max(k, 1) }
    c.margins = (
      left: 40 + 7 * Double(min(longest, 18)), top: 30, right: 16,
      bottom: slanted ? 30 + 6 * Double(min(longest, 18)) : 60
    )
    c.width = size + c.margins.left - 60
    c.height = size + c.margins.bottom - 40
    c.xCategories = labels
    c.yCategories = labels
    c.yTicks = []
    c.equalAspect = true
    let showText = k <= 20
    for t in 0..<k {
      let rowTotal = counts[t].reduce(0, +)
      for q in 0..<k {
        let v = counts[t][q]
        let rate = rowTotal > 0 ? v / rowTotal : 0
        let y0 = Double(k - 1 - t)
        c.rect(
          x0: Double(q), y0: y0, x1: Double(q + 1), y1: y0 + 1, cls: t == q ? "cell diag" : "cell",
          opacity: 0.08 + 0.92 * rate,
          title:
            "true \(labels[t]), predicted \(labels[q]): \(Self.count(v)) (\(Self.format(rate * 100).prefix(5)) % of the row)"
        )
        if showText {
          let text =
            normalize && k <= 6
            ? "\(Self.count(v)) · \(String(format: "%.1f", rate * 100)) %"
            : (normalizeRows ? String(format: "%.2f", rate) : Self.count(v))
          c.label(text, x: Double(q) + 0.5, y: y0 + 0.5, cls: rate > 0.55 ? "cell-text on-dark" : "cell-text")
        }
      }
    }
    return c
  }

  /// A threshold as typed (`0.5`, `0.125`).
  static func short(_ x: Double) -> String { String(format: "%.6g", x) }

  static func count(_ x: Double) -> String {
    x == x.rounded() && abs(x) < 1e15 ? String(Int64(x)) : format(x)
  }

  /// Reliability: per bin of score, the fraction of positives against the
  /// mean score; the expected calibration error as `ExpectedCalibrationError`
  /// computes it (15 equal bins over [0, 1), scores of exactly 1 apart).
  func reliability(_ h: ScoreHistogram) -> Node {
    let bins = 15
    var weight = [Double](repeating: 0, count: bins + 1)
    var scoreSum = [Double](repeating: 0, count: bins + 1)
    var positive = [Double](repeating: 0, count: bins + 1)
    var outside = 0.0
    h.forEachScore { s, p, n in
      guard s >= 0, s <= 1 else {
        outside += p + n
        return
      }
      let b = s == 1 ? bins : min(bins - 1, Int(s * Double(bins)))
      weight[b] += p + n
      scoreSum[b] += s * (p + n)
      positive[b] += p
    }
    let total = weight.reduce(0, +)
    var ece = 0.0
    var c = Chart(
      name: "calibration", title: "Reliability", x: "mean predicted score", y: "fraction of positives", xRange: 0...1,
      yRange: 0...1)
    c.equalAspect = true
    c.line([(0, 0), (1, 1)], cls: "chance", dashed: true, label: "perfectly calibrated")
    var points: [(Double, Double)] = []
    for b in 0...bins where weight[b] > 0 {
      let conf = scoreSum[b] / weight[b]
      let acc = positive[b] / weight[b]
      ece += weight[b] / total * abs(acc - conf)
      points.append((conf, acc))
    }
    c.legendCorner = .upperLeft
    c.line(points, cls: "s0", label: "ECE \(Self.format(ece))")
    for (x, y) in points { c.point(x: x, y: y, cls: "s0") }
    var caption = "Scores in 15 equal bins; ECE is the weighted mean gap between the two."
    if outside > 0 { caption += " \(Self.count(outside)) rows scored outside [0, 1] are left out." }
    return figure(c, caption: caption)
  }

  /// Score histograms of the positives and the negatives, each as a
  /// fraction of its class (50 bins over the scores' range).
  func scoreHistograms(_ h: ScoreHistogram) -> Node {
    let lo = min(0, h.scoreRange?.lowest ?? 0)
    let hi = max(1, h.scoreRange?.highest ?? 1)
    let bins = 50
    var pos = [Double](repeating: 0, count: bins)
    var neg = [Double](repeating: 0, count: bins)
    h.forEachScore { s, p, n in
      let b = min(bins - 1, max(0, Int((s - lo) / (hi - lo) * Double(bins))))
      pos[b] += p
      neg[b] += n
    }
    let (pt, nt) = (pos.reduce(0, +), neg.reduce(0, +))
    let pf = pos.map { pt > 0 ? $0 / pt : 0 }
    let nf = neg.map { nt > 0 ? $0 / nt : 0 }
    let top = max(pf.max() ?? 0, nf.max() ?? 0, 1e-9) * 1.08
    var c = Chart(
      name: "histogram", title: "Scores by class", x: "score", y: "fraction of the class", xRange: lo...hi,
      yRange: 0...top)
    let w = (hi - lo) / Double(bins)
    for b in 0..<bins {
      let x0 = lo + Double(b) * w
      if nf[b] > 0 { c.rect(x0: x0, y0: 0, x1: x0 + w, y1: nf[b], cls: "bar s1", opacity: 0.55) }
      if pf[b] > 0 { c.rect(x0: x0, y0: 0, x1: x0 + w, y1: pf[b], cls: "bar s0", opacity: 0.55) }
    }
    c.legend = [("positives (\(Self.count(pt)))", "s0"), ("negatives (\(Self.count(nt)))", "s1")]
    c.legendCorner = .upperRight
    return figure(c, caption: "Each class's scores, as fractions of that class, in 50 bins.")
  }

  /// The threshold table's fixed rows (the chosen threshold is added).
  static let fixedThresholds = [0.1, 0.2, 0.3, 0.4, 0.5, 0.6, 0.7, 0.8, 0.9]

  /// Precision, recall, F1 and specificity at fixed thresholds and at the
  /// F1-optimal one.
  func thresholdTable(_ sweep: Sweep) -> Node {
    func row(_ label: String, _ t: Double, tp: Double, fp: Double, note: String = "") -> Node {
      let fn = sweep.positives - tp
      let tn = sweep.negatives - fp
      let precision = tp + fp > 0 ? tp / (tp + fp) : nil
      let recall = sweep.positives > 0 ? tp / sweep.positives : nil
      let f1 = 2 * tp + fp + fn > 0 ? 2 * tp / (2 * tp + fp + fn) : nil
      let specificity = sweep.negatives > 0 ? tn / sweep.negatives : nil
      return .el(
        "tr", note.isEmpty ? [] : [("class", "best")],
        [
          .el("td", text: label), .el("td", [("class", "num")], text: Self.format(precision)),
          .el("td", [("class", "num")], text: Self.format(recall)),
          .el("td", [("class", "num")], text: Self.format(f1)),
          .el("td", [("class", "num")], text: Self.format(specificity)),
          .el("td", [("class", "num")], text: Self.count(tp + fp)), .el("td", text: note),
        ])
    }
    var rows: [Node] = [
      .el(
        "tr", [],
        ["threshold", "precision", "recall", "F1", "specificity", "predicted positive", ""].map { .el("th", text: $0) })
    ]
    var fixed = Self.fixedThresholds
    if !fixed.contains(threshold) { fixed.append(threshold) }
    for t in fixed.sorted() {
      let (tp, fp) = sweep.above[t] ?? (0, 0)
      rows.append(row("> \(Self.short(t))", t, tp: tp, fp: fp, note: t == threshold ? "chosen" : ""))
    }
    // The F1-optimal cut: positive from that distinct score down.
    if let best = sweep.best {
      let label = "≥ \(String(format: "%.6g", best.score))"
      rows.append(row(label, best.score, tp: best.tp, fp: best.fp, note: "best F1"))
    }
    return .el(
      "div", [("class", "wide")],
      [.el("h3", text: "Thresholds"), .el("table", [("class", "thresholds")], rows)])
  }

  // MARK: Classes

  func classSection(_ name: String, _ s: ConfusionMatrixState) -> [Node] {
    let k = s.classes
    let labels = (0..<k).map { i in classNames.flatMap { i < $0.count ? $0[i] : nil } ?? String(i) }
    let counts = (0..<k).map { t in (0..<k).map { p in s[t, p] } }
    var figures: [Node] = []
    figures.append(
      figure(
        confusionChart(
          name: "confusion", title: "Class confusion matrix" + (normalizeRows ? " (row fractions)" : ""),
          counts: counts, labels: labels, normalize: false),
        caption: "Rows: true class; columns: predicted class (argmax). Shading: fraction of the row."))
    var rows: [Node] = [
      .el("tr", [], ["class", "precision", "recall", "F1", "support"].map { .el("th", text: $0) })
    ]
    for c in 0..<k {
      let tp = counts[c][c]
      let support = counts[c].reduce(0, +)
      let predicted = (0..<k).reduce(0.0) { $0 + counts[$1][c] }
      let precision = predicted > 0 ? tp / predicted : nil
      let recall = support > 0 ? tp / support : nil
      let f1 = support + predicted > 0 ? 2 * tp / (support + predicted) : nil
      rows.append(
        .el(
          "tr", [],
          [
            .el("td", text: labels[c]), .el("td", [("class", "num")], text: Self.format(precision)),
            .el("td", [("class", "num")], text: Self.format(recall)),
            .el("td", [("class", "num")], text: Self.format(f1)),
            .el("td", [("class", "num")], text: Self.count(support)),
          ]))
    }
    return [
      .el(
        "section", [],
        [
          .el("h2", text: "Classes (from \(name))"), .el("div", [("class", "figures")], figures),
          .el("div", [("class", "wide")], [.el("h3", text: "Per class"), .el("table", [("class", "classes")], rows)]),
        ])
    ]
  }

  // MARK: Regression

  func regressionSection(_ name: String, _ r: RegressionSample) -> [Node] {
    let s = r.state
    guard !s.labels.isEmpty else { return [] }
    let all = s.labels + s.predictions
    var lo = all.min()!
    var hi = all.max()!
    if hi == lo { (lo, hi) = (lo - 0.5, hi + 0.5) }
    let bins = 40
    var grid = [Double](repeating: 0, count: bins * bins)
    func bin(_ x: Double) -> Int { min(bins - 1, max(0, Int((x - lo) / (hi - lo) * Double(bins)))) }
    for i in s.labels.indices { grid[bin(s.predictions[i]) * bins + bin(s.labels[i])] += 1 }
    let top = grid.max() ?? 1
    var c = Chart(
      name: "scatter", title: "Predicted against true", x: "true", y: "predicted", xRange: lo...hi, yRange: lo...hi)
    c.equalAspect = true
    let w = (hi - lo) / Double(bins)
    for py in 0..<bins {
      for tx in 0..<bins where grid[py * bins + tx] > 0 {
        let v = grid[py * bins + tx]
        c.rect(
          x0: lo + Double(tx) * w, y0: lo + Double(py) * w, x1: lo + Double(tx + 1) * w, y1: lo + Double(py + 1) * w,
          cls: "cell", opacity: 0.15 + 0.85 * log1p(v) / log1p(top), title: "\(Self.count(v)) rows")
      }
    }
    c.line([(lo, lo), (hi, hi)], cls: "chance", dashed: true, label: "predicted = true")
    // Residuals.
    let residuals = s.labels.indices.map { s.predictions[$0] - s.labels[$0] }
    var rlo = residuals.min()!
    var rhi = residuals.max()!
    if rhi == rlo { (rlo, rhi) = (rlo - 0.5, rhi + 0.5) }
    var hist = [Double](repeating: 0, count: bins)
    for x in residuals { hist[min(bins - 1, max(0, Int((x - rlo) / (rhi - rlo) * Double(bins))))] += 1 }
    var h = Chart(
      name: "residuals", title: "Residuals", x: "predicted − true", y: "rows", xRange: rlo...rhi,
      yRange: 0...((hist.max() ?? 1) * 1.08))
    let rw = (rhi - rlo) / Double(bins)
    for b in 0..<bins where hist[b] > 0 {
      h.rect(x0: rlo + Double(b) * rw, y0: 0, x1: rlo + Double(b + 1) * rw, y1: hist[b], cls: "bar s0", opacity: 0.8)
    }
    if rlo < 0, rhi > 0 { h.line([(0, 0), (0, (hist.max() ?? 1) * 1.08)], cls: "chance", dashed: true) }
    let sampled =
      s.rows > Int64(s.labels.count)
      ? "a uniform sample of \(s.labels.count) of \(s.rows) rows" : "all \(s.rows) rows"
    return [
      .el(
        "section", [],
        [
          .el("h2", text: "Regression"),
          .el(
            "div", [("class", "figures")],
            [
              figure(c, caption: "Rows binned 40 × 40 (shading: log count), from \(sampled)."),
              figure(h, caption: "Residuals in 40 bins, from \(sampled)."),
            ]),
        ])
    ]
  }

  // MARK: Slices

  func sliceSections() throws(MetricError) -> [Node] {
    var tables: [Node] = []
    var charts: [Node] = []
    var chartIndex = 0
    for (name, m) in metrics {
      guard let s = m as? any SlicedMetric else { continue }
      let results = s.erasedSliceResults
      let overallValue = s.overallMetric.result().scalar
      let overallInterval = try interval(s.overallMetric)
      // Table.
      let withIntervals = overallInterval != nil
      var rows: [Node] = [
        .el(
          "tr", [],
          (["slice", "samples", name] + (withIntervals ? ["interval"] : [])).map { .el("th", text: $0) })
      ]
      var row: [Node] = [
        .el("td", text: "(all)"), .el("td", [("class", "num")], text: ""),
        .el("td", [("class", "num")], text: Self.format(overallValue)),
      ]
      if let i = overallInterval {
        row.append(.el("td", [("class", "num")], text: "\(Self.format(i.low)) – \(Self.format(i.high))"))
      }
      rows.append(.el("tr", [("class", "best")], row))
      var points: [(key: String, value: Double, low: Double?, high: Double?)] = []
      for r in results {
        let key = r.key?.description ?? "(all)"
        let value = r.belowMinimumWeight ? nil : r.metric.result().scalar
        let i = r.belowMinimumWeight ? nil : try interval(r.metric)
        var cells: [Node] = [
          .el("td", text: key), .el("td", [("class", "num")], text: String(r.samples)),
          .el("td", [("class", "num")], text: r.belowMinimumWeight ? "below minimum weight" : Self.format(value)),
        ]
        if withIntervals {
          cells.append(
            .el("td", [("class", "num")], text: i.map { "\(Self.format($0.low)) – \(Self.format($0.high))" } ?? ""))
        }
        rows.append(.el("tr", [], cells))
        if let value, value.isFinite { points.append((key, value, i?.low.scalar, i?.high.scalar)) }
      }
      tables.append(
        .el(
          "div", [("class", "wide")], [.el("h3", text: "\(name) by slice"), .el("table", [("class", "slices")], rows)]))
      // Chart.
      guard !points.isEmpty, let overallValue, overallValue.isFinite else { continue }
      let labelled = points.count <= 40
      if !labelled { points.sort { $0.value < $1.value } }
      let values = points.flatMap { [$0.value, $0.low ?? $0.value, $0.high ?? $0.value] } + [overallValue]
      var lo = values.min()!
      var hi = values.max()!
      let pad = max((hi - lo) * 0.08, 1e-6)
      (lo, hi) = (lo - pad, hi + pad)
      var c = Chart(
        name: "slices", title: "\(name) by slice", x: labelled ? "slice" : "slices, sorted by value", y: name,
        xRange: 0...Double(points.count), yRange: lo...hi)
      c.width = labelled ? max(400, min(900, 120 + Double(points.count) * 22)) : 640
      c.margins.bottom = labelled ? 80 : 46
      if labelled { c.xCategories = points.map(\.key) } else { c.xTicks = niceTicks(0, Double(points.count)) }
      if let i = overallInterval, let l = i.low.scalar, let h = i.high.scalar {
        c.rect(x0: 0, y0: l, x1: Double(points.count), y1: h, cls: "band", opacity: 0.18)
      }
      c.line(
        [(0, overallValue), (Double(points.count), overallValue)], cls: "s1", dashed: true,
        label: "all rows: \(Self.format(overallValue))")
      for (k, p) in points.enumerated() {
        c.point(
          x: Double(k) + 0.5, y: p.value, low: p.low, high: p.high, cls: "s0",
          title: "\(p.key): \(Self.format(p.value))")
      }
      c.name = "slices-\(chartIndex)"
      chartIndex += 1
      charts.append(
        figure(
          c,
          caption: "Each slice's \(name)" + (withIntervals ? " with its interval" : "")
            + "; the dashed line is the value on all rows."))
    }
    guard !tables.isEmpty else { return [] }
    return [.el("section", [], [.el("h2", text: "Slices"), .el("div", [("class", "figures")], charts)] + tables)]
  }

  // MARK: Style

  /// Light by default; dark on screens that prefer it (never on paper,
  /// where browsers drop backgrounds); black on white when printed.
  /// System fonts only.
  static let styleSheet = """
    :root{--bg:#ffffff;--fg:#1b1b1f;--muted:#5b5d66;--grid:#e3e4e8;--frame:#9a9ca6;--cell:#0072B2;--band:#0072B2;\
    --s0:\(Palette.light[0]);--s1:\(Palette.light[1]);--s2:\(Palette.light[2]);--s3:\(Palette.light[3]);--row:#f5f6f8}
    @media screen and (prefers-color-scheme: dark){:root{--bg:#16171b;--fg:#e8e8ec;--muted:#a4a6b0;--grid:#2e3037;--frame:#6c6e78;\
    --cell:#56B4E9;--band:#56B4E9;--s0:\(Palette.dark[0]);--s1:\(Palette.dark[1]);--s2:\(Palette.dark[2]);\
    --s3:\(Palette.dark[3]);--row:#1f2026}}
    @media print{:root{color-scheme:light;--bg:#ffffff;--fg:#000000;--muted:#333333;--grid:#dddddd;--frame:#777777;--cell:#0072B2;\
    --band:#0072B2;--s0:\(Palette.light[0]);--s1:\(Palette.light[1]);--s2:\(Palette.light[2]);--s3:\(Palette.light[3]);\
    --row:#f2f2f2}figure{break-inside:avoid}}
    html{background:var(--bg);color:var(--fg)}
    body{margin:0;font:14px/1.45 system-ui,-apple-system,"Segoe UI",Roboto,"DejaVu Sans",sans-serif}
    main{max-width:1400px;margin:0 auto;padding:24px}
    h1{font-size:24px;margin:0 0 4px}h2{font-size:19px;margin:28px 0 10px;border-bottom:1px solid var(--grid)}
    h3{font-size:15px;margin:16px 0 6px}.note{color:var(--muted);margin:2px 0}
    table{border-collapse:collapse;margin:6px 0 12px}th,td{padding:4px 10px;text-align:left;border-bottom:1px solid var(--grid)}
    th{font-weight:600}td.num{text-align:right;font-variant-numeric:tabular-nums}tr.best td{background:var(--row);font-weight:600}
    .figures{display:flex;flex-wrap:wrap;gap:12px 14px}figure{margin:0}figcaption{color:var(--muted);font-size:12px;max-width:400px}
    svg{display:block;background:var(--bg);font-size:11px}svg text{fill:var(--fg)}
    .chart-title{font-size:13px;font-weight:600}.tick{fill:var(--muted)}.axis-label{font-size:12px}
    .grid{stroke:var(--grid);stroke-width:1}.frame{fill:none;stroke:var(--frame);stroke-width:1}
    .line{fill:none;stroke-width:2}.line.chance{stroke:var(--muted);stroke-width:1.2}
    .s0{stroke:var(--s0);fill:var(--s0)}.s1{stroke:var(--s1);fill:var(--s1)}.s2{stroke:var(--s2);fill:var(--s2)}
    .line.s0,.line.s1,.line.s2{fill:none}.bar{stroke:none}.whisker{stroke-width:1.5}.dot{stroke:var(--bg);stroke-width:1}
    .cell{fill:var(--cell);stroke:var(--bg);stroke-width:1}.band{fill:var(--band);stroke:none}
    .cell-text{font-size:11px;fill:var(--fg)}.cell-text.on-dark{fill:#ffffff}
    .legend-box{fill:var(--bg);fill-opacity:0.85;stroke:var(--grid)}.legend{fill:var(--fg)}
    .wide{overflow-x:auto}
    """
}

/// A bootstrap of any base (for code that holds metrics as existentials).
protocol BootstrappedMetric: Metric {
  /// The base metric on the data as they are.
  var pointMetric: any Metric { get }
}

extension Bootstrapped: BootstrappedMetric {
  var pointMetric: any Metric { point }
}

extension Metric {
  /// The state as an existential.
  var anyState: any Accumulator { state }
}
