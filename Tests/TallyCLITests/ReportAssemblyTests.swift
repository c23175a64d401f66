// The report's slice rows joined from each sliced metric's rows.

import Tally
import Testing

@testable import TallyCLI

@Suite struct ReportAssemblyTests {
  func row(_ key: Int64, _ metric: String, _ value: Double, samples: Int64 = 1) -> SliceReport {
    SliceReport(
      key: SliceKey([.int(key)]), samples: samples, weight: Double(samples), belowMinimumWeight: false,
      metrics: [MetricReport(name: metric, value: .scalar(value))])
  }

  func shape(_ rows: [SliceReport]) -> [String] {
    rows.map { r in "\(r.key) \(r.samples): " + r.metrics.map { "\($0.name)=\($0.value!)" }.joined(separator: " ") }
  }

  /// The same keys in every list (one pass's metrics): row by row; other
  /// keys: every key once, sorted by key (as integers), with the metrics
  /// of the lists that have it in their order, the rows of the first.
  @Test func rowsJoinedByKey() {
    let a = [row(-3, "a", 1, samples: 5), row(2, "a", 2), row(10, "a", 3)]
    let b = [row(-3, "b", 4, samples: 9), row(2, "b", 5), row(10, "b", 6)]
    #expect(
      shape(EvaluationReport.joined([a, b])) == ["-3 5: a=1.0 b=4.0", "2 1: a=2.0 b=5.0", "10 1: a=3.0 b=6.0"])
    let c = [row(2, "c", 7), row(11, "c", 8)]
    #expect(
      shape(EvaluationReport.joined([a, c, b]))
        == ["-3 5: a=1.0 b=4.0", "2 1: a=2.0 c=7.0 b=5.0", "10 1: a=3.0 b=6.0", "11 1: c=8.0"])
    #expect(
      shape(EvaluationReport.joined([c, a])) == ["-3 5: a=1.0", "2 1: c=7.0 a=2.0", "10 1: a=3.0", "11 1: c=8.0"])
    #expect(EvaluationReport.joined([]).isEmpty)
  }
}
