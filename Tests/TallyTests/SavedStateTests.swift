// Saved state files (SavedState.swift): corrupt and foreign files, states of another metric, bit-for-bit round trips.

import Foundation
import Tally
import Testing

/// A state file that is corrupt, foreign, of a newer version or of another
/// metric is refused with a typed error and the state unchanged; a good one
/// round-trips bit for bit.
@Suite struct SavedStateTests: BadInputChecks {
  static let corruptFiles: [(String, String)] = [
    ("random bytes", "\u{7}\u{1}garbage\u{0}\u{ff}"),
    ("not an object", "[1, 2, 3]"),
    ("truncated", #"{"format": "tally.metric-state", "version": 1, "metric": {"class_name": "Mean", "con"#),
    ("foreign JSON", #"{"weights": [1, 2, 3]}"#),
    (
      "newer version",
      #"{"format": "tally.metric-state", "version": 99, "metric": {"class_name": "Mean", "config": {}}, "state": {}}"#
    ),
    (
      "missing state",
      #"{"format": "tally.metric-state", "version": 1, "metric": {"class_name": "Mean", "config": {"name": "mean", "dtype": "float32"}}}"#
    ),
    (
      "wrong state type",
      #"{"format": "tally.metric-state", "version": 1, "metric": {"class_name": "Mean", "config": {"name": "mean", "dtype": "float32"}}, "state": {"total": "x", "count": 1, "weight_total": {"head": 0, "tail": 0}}}"#
    ),
  ]

  @Test(arguments: corruptFiles)
  func corruptOrForeignStateFiles(_ file: (String, String)) throws {
    let expectedFragment: String =
      switch file.0 {
      case "random bytes", "not an object", "truncated": "not a Tally state file"
      case "foreign JSON": "no format tag"
      case "newer version": "version 99"
      default: "corrupt state file"
      }
    Self.expectRejected(try Self.primedMean(), MetricError.invalidState, mentioning: expectedFragment) {
      m throws(MetricError) in
      try m.load(savedState: Data(file.1.utf8))
    }
    #expect(throws: MetricError.self) { try Mean(savedState: Data(file.1.utf8)) }
  }

  @Test func stateOfAnotherMetricOrConfiguration() throws {
    var sum = Sum()
    try sum.update([1.0, 2])
    Self.expectRejected(try Self.primedMean(), MetricError.invalidState, mentioning: "Sum") { m throws(MetricError) in
      try m.load(savedState: sum.savedState())
    }
    var mae = MeanMetricWrapper(fn: .meanAbsoluteError)
    try mae.update(yTrue: [[1.0]], yPred: [[0.0]])
    Self.expectRejected(try Self.primedWrapper(), MetricError.invalidState, mentioning: "mean_absolute_error") {
      m throws(MetricError) in
      try m.load(savedState: mae.savedState())
    }
  }

  @Test func stateRoundTripsBitForBit() throws {
    var m = try Self.primedMean()
    try m.update([Double.pi, 1e-300, 1e300, -1e300])
    let loaded = try Mean(savedState: m.savedState())
    #expect(loaded.state == m.state)
    var nanMean = Mean()
    try nanMean.update([Double.nan, 1])
    let text = String(decoding: nanMean.savedState(), as: UTF8.self)
    #expect(text.contains("\"nan\""))
    #expect(try Mean(savedState: nanMean.savedState()).result().scalar!.isNaN)
  }
}

/// State files whose arrays were cut, emptied or lengthened (as a file from
/// another build or a hand edit might be): loading throws or gives a metric
/// whose `result()` and `merge` work; nothing traps.
@Suite struct TamperedStateFileTests {
  /// Metrics whose state holds arrays, each updated on a small batch.
  static func samples() throws -> [(String, any PredictionMetric)] {
    let t = try Tensor([0.0, 1, 1, 0, 1, 0], shape: [3, 2])
    let p = try Tensor([0.2, 0.8, 0.6, 0.4, 0.3, 0.7], shape: [3, 2])
    let ids = Tensor([1.0, 0, 1])
    var out: [(String, any PredictionMetric)] = []
    func add<M: PredictionMetric>(_ m: M, _ yTrue: Tensor, _ yPred: Tensor) throws {
      var m = m
      try m.update(yTrue: yTrue, yPred: yPred)
      out.append((M.className, m))
    }
    try add(try AUC(), t, p)
    try add(try AUC(multiLabel: true), t, p)
    try add(try Precision(thresholds: [0.3, 0.6]), t, p)
    try add(try TruePositives(), t, p)
    try add(try PrecisionAtRecall(recall: 0.5), t, p)
    try add(try FBetaScore(), t, p)
    try add(try F1Score(average: .micro), t, p)
    try add(ExactAUC(), t, p)
    try add(try R2Score(), t, p)
    try add(PearsonCorrelation(), t, p)
    try add(try ExpectedCalibrationError(numBins: 4), t, p)
    try add(try MeanIoU(numClasses: 2), ids, ids)
    try add(try CohenKappa(numClasses: 2), ids, ids)
    return out
  }

  /// Every variant of `json` with one array emptied, cut by one element or
  /// lengthened by repeating its first element.
  static func variants(_ json: Any) -> [Any] {
    switch json {
    case let a as [Any]:
      var out: [Any] = [[Any](), Array(a.dropLast()), a.isEmpty ? a : [a[0]] + a]
      for (i, x) in a.enumerated() {
        for v in variants(x) {
          var b = a
          b[i] = v
          out.append(b)
        }
      }
      return out
    case let o as [String: Any]:
      var out: [Any] = []
      for (k, x) in o {
        for v in variants(x) {
          var p = o
          p[k] = v
          out.append(p)
        }
      }
      return out
    default:
      return []
    }
  }

  @Test func cutOrLengthenedArraysNeverTrap() throws {
    var tried = 0
    for (name, metric) in try Self.samples() {
      func open<M: PredictionMetric & KerasSerializable>(_ m: M) throws {
        let file = try #require(try JSONSerialization.jsonObject(with: m.savedState()) as? [String: Any])
        for state in Self.variants(file["state"] as Any).prefix(300) {
          var f = file
          f["state"] = state
          let data = try JSONSerialization.data(withJSONObject: f)
          tried += 1
          guard var loaded = try? M(savedState: data) else { continue }
          _ = loaded.result()
          try? loaded.merge(m)
          _ = loaded.result()
          loaded.reset()
          _ = loaded.result()
        }
      }
      guard let serializable = metric as? any (PredictionMetric & KerasSerializable) else {
        Issue.record("\(name) cannot be saved")
        continue
      }
      try open(serializable)
    }
    #expect(tried > 100)
  }
}
