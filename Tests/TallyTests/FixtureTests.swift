import Foundation
import Tally
import Testing

//===--- Fixture files ----------------------------------------------------===//
//
// Replays the Keras fixtures in Fixtures/*.json (written by
// Scripts/generate_fixtures.py from real Keras runs) against every metric
// class Tally implements. Python is never needed here.
//
//===----------------------------------------------------------------------===//

/// A number in a fixture: a JSON number, a boolean, or "nan"/"inf"/"-inf".
struct FixtureNumber: Decodable, Sendable {
  var value: Double
  init(from decoder: any Decoder) throws {
    let c = try decoder.singleValueContainer()
    if let d = try? c.decode(Double.self) {
      value = d
    } else if let b = try? c.decode(Bool.self) {
      value = b ? 1 : 0
    } else {
      switch try c.decode(String.self) {
      case "nan": value = .nan
      case "inf": value = .infinity
      case "-inf": value = -.infinity
      case let s: throw DecodingError.dataCorruptedError(in: c, debugDescription: "bad number \(s)")
      }
    }
  }
}

struct FixtureTensor: Decodable, Sendable {
  var dtype: String
  var shape: [Int]
  var data: [FixtureNumber]

  /// The tensor with the fixture's element type.
  func tensor() throws -> Tensor {
    let d = data.map(\.value)
    switch dtype {
    case "float32": return try Tensor(d.map { Float($0) }, shape: shape)
    case "float64": return try Tensor(d, shape: shape)
    case "int32": return try Tensor(d.map { Int32($0) }, shape: shape)
    case "int64": return try Tensor(d.map { Int64($0) }, shape: shape)
    case "uint8": return try Tensor(d.map { UInt8($0) }, shape: shape)
    case "bool": return try Tensor(d.map { $0 != 0 }, shape: shape)
    default: throw MetricError.invalidValue("fixture dtype \(dtype)")
    }
  }
}

struct FixtureUpdate: Decodable, Sendable {
  var values: FixtureTensor?
  var y_true: FixtureTensor?
  var y_pred: FixtureTensor?
  var sample_weight: FixtureTensor?
}

struct FixtureCase: Decodable, Sendable, CustomTestStringConvertible {
  var id: String
  var metric: KerasConfig
  var call: String
  var updates: [FixtureUpdate]
  var expected: FixtureTensor?
  var error: String?
  var rtol: Double
  var deviation: String?
  var tally_expected: FixtureTensor?
  var tally_rejects: [Int]?
  var error_at: String?
  var tally_rejects_construction: Bool?
  var tally_accepts_construction: Bool?

  var testDescription: String { id }
}

struct FixtureFile: Decodable {
  var family: String
  var keras_version: String
  var cases: [FixtureCase]
}

enum Fixtures {
  static let directory = URL(fileURLWithPath: #filePath).deletingLastPathComponent()
    .appendingPathComponent("Fixtures")

  static let files: [FixtureFile] = {
    let names = (try? FileManager.default.contentsOfDirectory(atPath: directory.path)) ?? []
    return names.filter { $0.hasSuffix(".json") }.sorted().map { name in
      let data = try! Data(contentsOf: directory.appendingPathComponent(name))
      return try! JSONDecoder().decode(FixtureFile.self, from: data)
    }
  }()

  static let all: [FixtureCase] = files.flatMap(\.cases)

  /// The cases whose metric class Tally implements.
  static let implemented: [FixtureCase] = all.filter {
    MetricRegistry.classes[$0.metric.className] != nil
  }
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
