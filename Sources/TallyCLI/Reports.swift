import Foundation
@_spi(Internals) import Tally

/// One metric's value, and its interval when bootstrapped.
struct MetricReport: Sendable {
  var name: String
  var value: MetricValue? = nil
  var interval: BootstrapInterval? = nil
}

/// One slice's row of the report.
struct SliceReport {
  var key: SliceKey
  var samples: Int64
  var weight: Double
  var belowMinimumWeight: Bool
  var metrics: [MetricReport]
}

/// What `tally evaluate` and `tally merge` print.
struct EvaluationReport {
  var samples: Int
  var overall: [MetricReport]
  var slices: [SliceReport]?
  var bootstrapped: Bool

  /// The report of named metrics (plain, bootstrapped, sliced or both).
  init(names: [String], metrics: [any Metric], samples: Int, confidence: Double) throws {
    self.samples = samples
    @Sendable func report(_ name: String, _ m: any Metric) throws -> MetricReport {
      let interval = try (m as? any IntervalEstimating)?.interval(confidence: confidence)
      return MetricReport(name: name, value: m.result(), interval: interval)
    }
    overall = []
    // Each sliced metric's slices, sorted by key.
    var rows: [[SliceReport]] = []
    bootstrapped = false
    for (name, m) in zip(names, metrics) {
      if let s = m as? any SlicedMetric {
        let whole = s.overallMetric
        overall.append(try report(name, whole))
        if whole is any IntervalEstimating {
          let results = s.erasedSliceResults
          // The slices' intervals across cores (a thousand take a while).
          let reports = try concurrentJobs(results.count) { i in
            let r = results[i]
            return r.belowMinimumWeight ? MetricReport(name: name) : try report(name, r.metric)
          }
          rows.append(
            zip(results, reports).compactMap { r, mr in
              r.key.map {
                SliceReport(
                  key: $0, samples: r.samples, weight: r.weight, belowMinimumWeight: r.belowMinimumWeight, metrics: [mr]
                )
              }
            })
        } else {
          // (Values without a metric per slice, across cores.)
          rows.append(
            s.sliceSummaries().map { r in
              SliceReport(
                key: r.key, samples: r.samples, weight: r.weight, belowMinimumWeight: r.belowMinimumWeight,
                metrics: [MetricReport(name: name, value: r.value)])
            })
        }
      } else {
        overall.append(try report(name, m))
      }
    }
    bootstrapped = overall.contains { $0.interval != nil }
    slices = rows.isEmpty ? nil : Self.joined(rows)
  }

  /// One row per key of any of `lists` (each sorted by key), sorted by key,
  /// with the metrics of every list that has the key, in the lists' order;
  /// a key's rows and weight are those of the first list that has it.
  static func joined(_ lists: [[SliceReport]]) -> [SliceReport] {
    guard var out = lists.first else { return [] }
    // (The same keys in every list, as from one pass: row by row.)
    if lists.dropFirst().allSatisfy({ $0.count == out.count && zip($0, out).allSatisfy { $0.key == $1.key } }) {
      for list in lists.dropFirst() { for i in out.indices { out[i].metrics += list[i].metrics } }
      return out
    }
    var byKey: [SliceKey: SliceReport] = [:]
    for list in lists {
      for r in list {
        if var entry = byKey[r.key] {
          entry.metrics += r.metrics
          byKey[r.key] = entry
        } else {
          byKey[r.key] = r
        }
      }
    }
    return SliceKey.sorted(byKey.keys).map { byKey[$0]! }
  }

  // MARK: JSON

  /// `x` as JSON: a whole number below 10¹⁵ with one decimal (`3.0`, as
  /// `%.1f` prints it), any other finite value as Swift prints it (the
  /// shortest text that reads back as `x`), infinities and NaN as `null`.
  static func number(_ x: Double) -> String {
    guard x.isFinite else { return "null" }
    if x == x.rounded(), abs(x) < 1e15 {
      // (Exact in Int64; the sign of −0 kept.)
      return x == 0 ? (x.sign == .minus ? "-0.0" : "0.0") : "\(Int64(x)).0"
    }
    return "\(x)"
  }

  static let hexDigits = Array("0123456789abcdef".utf8)

  /// `s` as a JSON string, byte for byte as `JSONEncoder` writes it
  /// (`"`, `\\` and `/` escaped, control characters as `\b`, `\t`, `\n`,
  /// `\f`, `\r` or `\u00xx`, everything else as it is), without an
  /// encoder per string: a report of thousands of slices quotes thousands
  /// of keys, and the encoders took longer than the rest of the report.
  static func quoted(_ s: String) -> String {
    var out: [UInt8] = [UInt8(ascii: "\"")]
    out.reserveCapacity(s.utf8.count + 2)
    for b in s.utf8 {
      switch b {
      case UInt8(ascii: "\""), UInt8(ascii: "\\"), UInt8(ascii: "/"): out += [UInt8(ascii: "\\"), b]
      case 0x08: out += Array(#"\b"#.utf8)
      case 0x09: out += Array(#"\t"#.utf8)
      case 0x0A: out += Array(#"\n"#.utf8)
      case 0x0C: out += Array(#"\f"#.utf8)
      case 0x0D: out += Array(#"\r"#.utf8)
      case 0..<0x20: out += Array(#"\u00"#.utf8) + [hexDigits[Int(b >> 4)], hexDigits[Int(b & 15)]]
      default: out.append(b)
      }
    }
    out.append(UInt8(ascii: "\""))
    return String(decoding: out, as: UTF8.self)
  }

  static func value(_ v: MetricValue?) -> String {
    switch v {
    case nil: "null"
    case .scalar(let x)?: number(x)
    case .vector(let xs)?: "[" + xs.map(number).joined(separator: ", ") + "]"
    }
  }

  static func results(_ ms: [MetricReport]) -> String {
    var s = ""
    var names: [String: String] = [:]
    appendResults(ms, to: &s, names: &names)
    return s
  }

  /// ``results(_:)`` appended to `s`, each metric's name quoted once in
  /// `names` (a thousand slices name the same metrics).
  static func appendResults(_ ms: [MetricReport], to s: inout String, names: inout [String: String]) {
    s += "{"
    for (k, m) in ms.enumerated() {
      if k > 0 { s += ", " }
      if let q = names[m.name] {
        s += q
      } else {
        let q = quoted(m.name)
        names[m.name] = q
        s += q
      }
      s += ": "
      s += value(m.value)
    }
    s += "}"
  }

  static func intervals(_ ms: [MetricReport]) -> String {
    let body = ms.compactMap { m -> String? in
      guard let i = m.interval else { return nil }
      return "\(quoted(m.name)): {\"ci\": [\(value(i.low)), \(value(i.high))], \"stderr\": \(value(i.standardError)), "
        + "\"confidence\": \(i.confidence), \"replicates\": \(i.replicates)}"
    }
    return "{" + body.joined(separator: ", ") + "}"
  }

  static func keyJSON(_ k: SliceKey) -> String {
    "["
      + k.values.map {
        switch $0 {
        case .int(let i): "\(i)"
        case .string(let s): quoted(s)
        }
      }.joined(separator: ", ") + "]"
  }

  /// One JSON object: `results` and `samples` as always, then `intervals`
  /// (when bootstrapped) and `slices` (when sliced).
  var json: String {
    var s = "{\"results\": \(Self.results(overall)), \"samples\": \(samples)"
    if bootstrapped { s += ", \"intervals\": \(Self.intervals(overall))" }
    if let slices {
      // Each core's share of the slices as one string, appended to (a
      // thousand slices' pieces joined took longer than writing them).
      let bootstrapped = self.bootstrapped
      let n = min(ProcessInfo.processInfo.activeProcessorCount, slices.count)
      let parts = concurrentJobs(n) { part -> String in
        let range = (slices.count * part / n)..<(slices.count * (part + 1) / n)
        var s = ""
        s.reserveCapacity(200 * range.count)
        var names: [String: String] = [:]
        for k in range {
          let sl = slices[k]
          if k > 0 { s += ", " }
          s += Self.quoted(sl.key.description)
          s += ": {\"key\": "
          s += Self.keyJSON(sl.key)
          s += ", \"results\": "
          if sl.belowMinimumWeight { s += "null" } else { Self.appendResults(sl.metrics, to: &s, names: &names) }
          s += ", \"samples\": \(sl.samples), \"weight\": "
          s += Self.number(sl.weight)
          if sl.belowMinimumWeight { s += ", \"below_minimum_weight\": true" }
          if bootstrapped && !sl.belowMinimumWeight { s += ", \"intervals\": " + Self.intervals(sl.metrics) }
          s += "}"
        }
        return s
      }
      s += ", \"slices\": {"
      for part in parts { s += part }
      s += "}"
    }
    return s + "}"
  }

  // MARK: Table

  static func cell(_ m: MetricReport) -> String {
    guard let v = m.value else { return "-" }
    guard let i = m.interval else { return "\(v)" }
    switch (v, i.low, i.high) {
    case (.scalar(let x), .scalar(let lo), .scalar(let hi)):
      return String(format: "%.6g [%.6g, %.6g]", x, lo, hi)
    default:
      return "\(v) [\(i.low), \(i.high)]"
    }
  }

  /// `s` without its trailing spaces.
  static func trimmingTrailingSpaces(_ s: String) -> String {
    let u = s.utf8
    var end = u.endIndex
    while end > u.startIndex, u[u.index(before: end)] == UInt8(ascii: " ") { end = u.index(before: end) }
    return String(s[..<end])
  }

  static func pad(_ s: String, _ width: Int) -> String {
    s + String(repeating: " ", count: max(0, width - s.count))
  }

  /// An aligned table: one row per metric, or with slices one row per
  /// slice (the overall row first) and one column per metric.
  var table: String {
    let confidence = overall.compactMap(\.interval).first?.confidence
    let ciNote = confidence.map { String(format: " [%g %% interval]", $0 * 100) } ?? ""
    guard let slices else {
      let width = max(6, overall.map(\.name.count).max() ?? 0)
      var lines = [Self.pad("metric", width) + "  value" + ciNote]
      for m in overall { lines.append(Self.pad(m.name, width) + "  " + Self.cell(m)) }
      lines.append("(\(samples) samples)")
      return lines.joined(separator: "\n")
    }
    var rows: [[String]] = [["slice", "samples"] + overall.map(\.name)]
    rows.append(["(all)", "\(samples)"] + overall.map(Self.cell))
    for s in slices {
      let cells = s.belowMinimumWeight ? s.metrics.map { _ in "(below minimum weight)" } : s.metrics.map(Self.cell)
      rows.append([s.key.description, "\(s.samples)"] + cells)
    }
    let widths = (0..<rows[0].count).map { c in rows.map { $0[c].count }.max() ?? 0 }
    var lines = rows.map { r in r.enumerated().map { Self.pad($0.element, widths[$0.offset]) }.joined(separator: "  ") }
    lines = lines.map(Self.trimmingTrailingSpaces)
    if let confidence { lines.append(String(format: "(each cell: value [%g %% interval])", confidence * 100)) }
    lines.append("(\(samples) samples, \(slices.count) slices)")
    return lines.joined(separator: "\n")
  }
}
