import Foundation
import Testing
import Tally

/// The identifier table, accuracy auto-selection and compile naming, from
/// Keras (Scripts/generate_identifier_table.py).
@Suite struct KerasIdentifierTableTests {
  struct Entry: Decodable { var class_name: String?; var name: String?; var error: String? }
  struct AccuracyCase: Decodable, Sendable, CustomTestStringConvertible {
    var y_true: [Int]; var y_pred: [Int]; var identifier: String; var class_name: String; var name: String
    var testDescription: String { "\(identifier) \(y_true) \(y_pred)" }
  }
  struct NamingCase: Decodable, Sendable {
    var metrics: [String]; var weighted_metrics: [String]; var keys: [String]; var values: [Double]
  }
  struct Table: Decodable {
    var identifiers: [String: Entry]; var accuracy: [AccuracyCase]; var compile_names: [NamingCase]
  }

  static let table: Table = {
    let url = Fixtures.directory.appendingPathComponent("Tables/identifiers.json")
    return try! JSONDecoder().decode(Table.self, from: Data(contentsOf: url))
  }()

  /// Deliberate deviation: Keras instantiates the abstract `Metric` base
  /// class from `"Metric"`/`"metric"`; such a metric measures nothing, and
  /// Tally refuses it.
  static let abstract: Set<String> = ["Metric", "metric"]

  @Test(arguments: table.identifiers.keys.sorted())
  func identifierResolvesAsInKeras(_ key: String) throws {
    let want = Self.table.identifiers[key]!
    if want.error != nil || Self.abstract.contains(key) {
      #expect(throws: MetricError.self) { try MetricRegistry.get(key) }
      return
    }
    let m = try MetricRegistry.get(key)
    #expect(type(of: m).className == want.class_name)
    #expect(m.name == want.name)
  }

  @Test func everyKerasKeyIsKnown() {
    #expect(Self.table.identifiers.count == 102)
    #expect(Set(Self.table.identifiers.keys).isSubset(of: Set(MetricRegistry.identifiers.keys)))
  }

  @Test(arguments: table.accuracy)
  func accuracyAutoSelection(_ c: AccuracyCase) throws {
    let t = try Tensor([Double](repeating: 0, count: c.y_true.reduce(1, *)), shape: c.y_true)
    var p = [Double](repeating: 0, count: c.y_pred.reduce(1, *))
    for i in stride(from: 0, to: p.count, by: c.y_pred.last!) { p[i] = 1 }
    var metrics = CompileMetrics(metrics: [.identifier(c.identifier)])
    try metrics.update(yTrue: t, yPred: try Tensor(p, shape: c.y_pred))
    #expect(type(of: metrics.metrics[0]).className == c.class_name)
    #expect(metrics.results()[0].name == c.name)
  }

  @Test(arguments: 0..<3)
  func compileNamesAndValues(_ i: Int) throws {
    let c = Self.table.compile_names[i]
    var metrics = CompileMetrics(
      metrics: c.metrics.map(MetricSpec.identifier), weightedMetrics: c.weighted_metrics.map(MetricSpec.identifier))
    try metrics.update(
      yTrue: [[0.0], [1.0], [1.0], [0.0]], yPred: [[0.2], [0.7], [0.4], [0.1]], sampleWeight: [1.0, 0, 1, 1])
    let results = metrics.results()
    #expect(results.map(\.name) == c.keys)
    for (r, v) in zip(results, c.values) {
      #expect(abs(r.value.scalar! - v) <= 1e-6 * max(1, abs(v)), "\(r.name): \(r.value) vs \(v)")
    }
  }
}

@Suite struct CompileMetricsTests {
  @Test func multiOutputNames() throws {
    var m = CompileMetrics(
      metrics: ["a": ["accuracy", .metric(try AUC())], "b": ["accuracy"]], outputNames: ["a", "b"])
    let t = try Tensor([0.0, 1, 1, 0], shape: [4, 1])
    let p = try Tensor([0.1, 0.8, 0.6, 0.3], shape: [4, 1])
    try m.update(yTrue: ["a": t, "b": t], yPred: ["a": p, "b": p])
    #expect(m.results().map(\.name) == ["a_accuracy", "a_auc", "b_accuracy"])
    #expect(m.results(prefix: "val_").map(\.name) == ["val_a_accuracy", "val_a_auc", "val_b_accuracy"])
  }

  @Test func onlyWeightedMetricsSeeWeights() throws {
    var m = CompileMetrics(metrics: ["mae"], weightedMetrics: ["mae"])
    try m.update(yTrue: [[0.0], [1.0]], yPred: [[0.5], [0.0]], sampleWeight: [1.0, 0.0])
    let r = m.results()
    #expect(r[0].name == "mae" && r[0].value == .scalar(0.75))
    #expect(r[1].name == "weighted_mae" && r[1].value == .scalar(0.5))
  }

  @Test func functionsConfigsResetAndMerge() throws {
    let specs: [MetricSpec] = [
      .function(.meanAbsoluteError), .config(try KerasConfig(json: #"{"class_name": "Recall", "config": {}}"#)),
    ]
    var a = CompileMetrics(metrics: specs)
    var b = CompileMetrics(metrics: specs)
    try a.update(yTrue: [[1.0], [0.0]], yPred: [[0.9], [0.2]])
    try b.update(yTrue: [[1.0], [1.0]], yPred: [[0.1], [0.7]])
    var all = CompileMetrics(metrics: specs)
    try all.update(yTrue: [[1.0], [0.0], [1.0], [1.0]], yPred: [[0.9], [0.2], [0.1], [0.7]])
    try a.merge(b)
    #expect(a.results().map(\.name) == ["mean_absolute_error", "recall"])
    for (x, y) in zip(a.results(), all.results()) { #expect(x.value == y.value) }
    a.reset()
    #expect(a.results().allSatisfy { $0.value == .scalar(0) })
  }

  @Test func aFailedUpdateChangesNothing() throws {
    var m = CompileMetrics(metrics: ["mse", "auc"])
    try m.update(yTrue: [[1.0], [0.0]], yPred: [[0.9], [0.2]])
    let before = m.results()
    // Labels of 2 pass MSE but fail AUC (binary labels required).
    #expect(throws: MetricError.self) { try m.update(yTrue: [[2.0]], yPred: [[0.5]]) }
    #expect(m.results().map(\.value) == before.map(\.value))
    var unknown = CompileMetrics(metrics: ["acuracy"])
    #expect(throws: MetricError.self) { try unknown.update(yTrue: [[1.0]], yPred: [[0.5]]) }
    #expect(!unknown.isBuilt)
  }
}

@Suite struct ProgressBarTests {
  @Test func terminalRedrawsInPlace() {
    var out: [String] = []
    var bar = ProgressBar(target: 4, interactive: true) { out.append($0) }
    bar.update(1, values: [("loss", 2.5), ("accuracy", 0.25)])
    bar.update(2, values: [("loss", 2.0), ("accuracy", 0.5)])
    bar.finish(values: [("loss", 1.23456), ("accuracy", 0.75)])
    #expect(out.count == 3)
    #expect(out.allSatisfy { $0.hasPrefix("\r") })
    #expect(out[0].contains("1/4 ━━━━━─────────────── "))
    #expect(out[1].contains(" - accuracy: 0.5000 - loss: 2.0000"))
    // A line shorter than the one before it is padded with spaces to clear
    // the rest (the time per step varies in length from run to run).
    #expect(out[2].hasSuffix("\n"))
    let final = out[2].dropLast().reversed().drop { $0 == " " }.reversed()
    #expect(String(final).hasSuffix("- accuracy: 0.7500 - loss: 1.2346"))
    #expect(out[2].contains("4/4 ━━━━━━━━━━━━━━━━━━━━ "))
  }

  @Test func logsGetOneLinePerEpoch() {
    var out: [String] = []
    var bar = ProgressBar(target: 3, interactive: false) { out.append($0) }
    bar.update(1, values: [("loss", 1)])
    bar.update(2, values: [("loss", 1)])
    bar.finish(values: [("loss", 0.5)])
    #expect(out.count == 1)
    #expect(!out[0].contains("\r"))
    #expect(out[0].hasPrefix("3/3 ━━━━━━━━━━━━━━━━━━━━ "))
    #expect(out[0].hasSuffix("/step - loss: 0.5000\n"))
  }

  @Test func numberFormats() {
    let bar = ProgressBar(target: 10, interactive: false) { _ in }
    let line = bar.line(5, values: [("auc", 0.00012), ("big", 1.5e7), ("nan", .nan)], elapsed: .milliseconds(20))
    #expect(line.hasPrefix("5/10 ━━━━━━━━━━────────── 0s 4ms/step"))
    #expect(line.contains("auc: 1.2000e-04"))
    #expect(line.contains("big: 1.5000e+07"))
    #expect(line.contains("nan: nan"))
  }
}
