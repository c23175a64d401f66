// Training (CompileMetrics.swift): Keras's compile() metrics: names, values, merging, failed updates.

import Foundation
import Tally
import Testing

/// Keras's `"accuracy"` auto-selection and compile naming, from the
/// identifier table (Scripts/generate_identifier_table.py).
@Suite struct KerasCompileTableTests {
  typealias AccuracyCase = KerasIdentifierTableTests.AccuracyCase
  static var table: KerasIdentifierTableTests.Table { KerasIdentifierTableTests.table }

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
