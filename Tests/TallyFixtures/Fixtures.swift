//===--- Fixtures.swift ---------------------------------------------------===//
//
// The fixture files of Tests/TallyTests/Fixtures (written by
// Scripts/generate_fixtures.py from Keras, scikit-learn and TorchMetrics),
// decoded for every test target that replays them.
//
//===----------------------------------------------------------------------===//

import Foundation
import Tally

/// A number in a fixture: a JSON number, a boolean, or "nan"/"inf"/"-inf".
public struct FixtureNumber: Decodable, Sendable {
  public var value: Double
  public init(from decoder: any Decoder) throws {
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

public struct FixtureTensor: Decodable, Sendable {
  public var dtype: String
  public var shape: [Int]
  public var data: [FixtureNumber]

  /// The tensor with the fixture's element type.
  public func tensor() throws -> Tensor {
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

public struct FixtureUpdate: Decodable, Sendable {
  public var values: FixtureTensor?
  public var y_true: FixtureTensor?
  public var y_pred: FixtureTensor?
  public var sample_weight: FixtureTensor?
}

public struct FixtureCase: Decodable, Sendable {
  public var id: String
  public var metric: KerasConfig
  public var call: String
  public var updates: [FixtureUpdate]
  public var expected: FixtureTensor?
  public var error: String?
  public var rtol: Double
  public var deviation: String?
  public var tally_expected: FixtureTensor?
  public var tally_rejects: [Int]?
  public var error_at: String?
  public var tally_rejects_construction: Bool?
  public var tally_accepts_construction: Bool?
}

public struct FixtureFile: Decodable, Sendable {
  public var family: String
  public var keras_version: String
  public var cases: [FixtureCase]
}

public enum Fixtures {
  /// `Tests/TallyTests/Fixtures`.
  public static let directory = URL(fileURLWithPath: #filePath).deletingLastPathComponent()
    .deletingLastPathComponent().appendingPathComponent("TallyTests/Fixtures")

  public static let files: [FixtureFile] = {
    let names = (try? FileManager.default.contentsOfDirectory(atPath: directory.path)) ?? []
    return names.filter { $0.hasSuffix(".json") }.sorted().map { name in
      let data = try! Data(contentsOf: directory.appendingPathComponent(name))
      return try! JSONDecoder().decode(FixtureFile.self, from: data)
    }
  }()

  public static let all: [FixtureCase] = files.flatMap(\.cases)

  /// The cases whose metric class Tally implements.
  public static let implemented: [FixtureCase] = all.filter {
    MetricRegistry.classes[$0.metric.className] != nil
  }
}
