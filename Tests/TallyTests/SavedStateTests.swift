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
