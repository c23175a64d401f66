import Foundation
import Tally
import TallyFixtures
import Testing

//===--- Fixture files ----------------------------------------------------===//
//
// Replays the Keras fixtures in Fixtures/*.json (written by
// Scripts/generate_fixtures.py from real Keras runs) against every metric
// class Tally implements. Python is never needed here.
//
//===----------------------------------------------------------------------===//

extension FixtureCase: CustomTestStringConvertible {
  public var testDescription: String { id }
}

//===--- Replay -----------------------------------------------------------===//

@Suite struct FixtureTests {
  @Test func fixturesArePresent() {
    #expect(Fixtures.files.contains { $0.family == "reduction" })
    #expect(Fixtures.implemented.count >= 100)
    // Every class with fixtures is implemented: nothing is silently skipped.
    let missing = Set(Fixtures.all.map(\.metric.className)).subtracting(MetricRegistry.classes.keys)
    #expect(missing.isEmpty, "fixtures for unimplemented classes: \(missing.sorted())")
  }

  @Test(arguments: Fixtures.implemented)
  func replay(_ c: FixtureCase) throws {
    var metric: any KerasSerializable
    do {
      metric = try MetricRegistry.deserialize(c.metric)
    } catch {
      // Keras rejects this configuration too, or Tally deliberately does.
      #expect(
        (c.error != nil && c.error_at == "construction") || c.tally_rejects_construction == true,
        "Tally rejected the config: \(error)")
      return
    }
    #expect(c.tally_rejects_construction != true, "Tally should reject this config: \(c.deviation ?? "")")
    if c.tally_accepts_construction == true { return }
    #expect(c.error_at != "construction", "Keras rejected the config (\(c.error ?? "")); Tally built it")
    if c.error_at == "result" && c.tally_expected == nil {
      // Keras raises when a lazily built metric is read before any update;
      // Tally's result() never throws: it is the empty value (documented).
      #expect(c.updates.isEmpty)
      // (NaN where the value is undefined, as R² of nothing.)
      #expect(metric.result().values.allSatisfy { $0 == 0 || $0.isNaN }, "\(metric.result())")
      return
    }
    // The configuration round-trips to what Keras serialized.
    #expect(metric.config.className == c.metric.className)
    #expect(metric.config.config == c.metric.config, "config \(metric.config.json)")

    var thrown: MetricError? = nil
    for (i, u) in c.updates.enumerated() {
      let before = metric
      let w = try u.sample_weight.map { try $0.tensor() }
      let values = try u.values?.tensor()
      let yTrue = try u.y_true?.tensor()
      let yPred = try u.y_pred?.tensor()
      do throws(MetricError) {
        switch (c.call, metric) {
        case ("values", var m as any ValueMetric):
          try m.update(values!, sampleWeight: w)
          metric = m as! any KerasSerializable
        case ("labels", var m as any PredictionMetric):
          try m.update(yTrue: yTrue!, yPred: yPred!, sampleWeight: w)
          metric = m as! any KerasSerializable
        default:
          Issue.record("\(c.metric.className) does not take call \"\(c.call)\"")
          return
        }
        if c.tally_rejects?.contains(i) == true {
          Issue.record("update \(i) should have been rejected (\(c.deviation ?? ""))")
        }
      } catch {
        // A rejected update leaves the state exactly as it was.
        #expect(metric.savedState() == before.savedState())
        if c.tally_rejects?.contains(i) == true { continue }
        thrown = error
        break
      }
    }

    if let kerasError = c.error, c.tally_expected == nil {
      #expect(thrown != nil, "Keras raised \(kerasError); Tally did not")
      return
    }
    if let thrown {
      Issue.record("Tally threw \(thrown); Keras returned \(String(describing: c.expected?.data.map(\.value)))")
      return
    }
    let expected = try #require(c.tally_expected ?? c.expected)
    let result = metric.result()
    #expect(result.shape == expected.shape, "result shape")
    let got = result.values
    let want = expected.data.map(\.value)
    #expect(got.count == want.count)
    for (g, w) in zip(got, want) {
      #expect(isClose(g, w, rtol: c.rtol), "\(c.id): Tally \(g), expected \(w)")
    }
  }
}
