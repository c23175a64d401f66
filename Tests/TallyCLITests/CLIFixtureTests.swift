import Foundation
import Tally
import Testing

/// The fixtures of the metrics Tally adds beyond Keras (agreement.json,
/// calibration.json: scikit-learn and TorchMetrics values), replayed
/// through `tally evaluate`: each case's updates are concatenated into
/// `.npy` files, and the command's JSON result is compared with the
/// expected value.
enum CLIFixtures {
  struct Case: Sendable, CustomTestStringConvertible {
    var file: String
    var id: String
    var config: String
    var className: String
    var yTrue: [(data: [Double], shape: [Int])]
    var yPred: [(data: [Double], shape: [Int])]
    var weights: [(data: [Double], shape: [Int])?]
    var expected: Double
    var rtol: Double
    var testDescription: String { "\(file)/\(id)" }
  }

  static let directory = URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent()
    .appendingPathComponent("TallyTests/Fixtures")

  /// A fixture number: a JSON number, a boolean, or "nan"/"inf"/"-inf"
  /// (decoded by JSONDecoder, which reads doubles exactly).
  struct Number: Decodable {
    var value: Double
    init(from decoder: any Decoder) throws {
      let c = try decoder.singleValueContainer()
      if let d = try? c.decode(Double.self) {
        value = d
      } else if let b = try? c.decode(Bool.self) {
        value = b ? 1 : 0
      } else {
        let s = try c.decode(String.self)
        value = s == "inf" ? .infinity : s == "-inf" ? -.infinity : .nan
      }
    }
  }

  struct Array: Decodable {
    var shape: [Int]
    var data: [Number]
    var tensor: (data: [Double], shape: [Int]) { (data.map(\.value), shape) }
  }

  struct Update: Decodable {
    var y_true: Array?
    var y_pred: Array?
    var sample_weight: Array?
  }

  struct Entry: Decodable {
    var id: String
    var metric: KerasConfig
    var updates: [Update]
    var expected: Array?
    var tally_expected: Array?
    var error: String?
    var tally_rejects: [Int]?
    var rtol: Double
  }

  struct File: Decodable { var cases: [Entry] }

  /// The cases with a result (no expected error), with the updates Tally
  /// accepts.
  static let cases: [Case] = {
    var out: [Case] = []
    for file in ["agreement", "calibration"] {
      guard let data = try? Data(contentsOf: directory.appendingPathComponent("\(file).json")),
        let parsed = try? JSONDecoder().decode(File.self, from: data)
      else { continue }
      for c in parsed.cases {
        guard c.error == nil, let expected = (c.tally_expected ?? c.expected)?.tensor, expected.data.count == 1,
          !c.updates.isEmpty
        else { continue }
        let rejects = Set(c.tally_rejects ?? [])
        let kept = c.updates.enumerated().filter { !rejects.contains($0.offset) }.map(\.element)
        out.append(
          Case(
            file: file, id: c.id, config: c.metric.json, className: c.metric.className,
            yTrue: kept.compactMap { $0.y_true?.tensor }, yPred: kept.compactMap { $0.y_pred?.tensor },
            weights: kept.map { $0.sample_weight?.tensor }, expected: expected.data[0], rtol: c.rtol))
      }
    }
    return out
  }()
}

@Suite struct CLIFixtureTests {
  @Test func theNewFamiliesHaveFixtures() {
    let classes = Set(CLIFixtures.cases.map(\.className))
    #expect(
      classes == ["MatthewsCorrelationCoefficient", "CohenKappa", "BrierScore", "ExpectedCalibrationError"],
      "\(classes.sorted())")
  }

  /// Rows of several updates in one array; `nil` when their trailing shapes
  /// differ (such a case is not one file).
  static func concatenated(_ parts: [(data: [Double], shape: [Int])]) -> (data: [Double], shape: [Int])? {
    guard let first = parts.first, !first.shape.isEmpty else { return nil }
    guard parts.allSatisfy({ $0.shape.dropFirst() == first.shape.dropFirst() }) else { return nil }
    return (parts.flatMap(\.data), [parts.map { $0.shape[0] }.reduce(0, +)] + first.shape.dropFirst())
  }

  @Test(arguments: CLIFixtures.cases)
  func evaluateMatchesTheFixture(_ c: CLIFixtures.Case) throws {
    guard let t = Self.concatenated(c.yTrue), let p = Self.concatenated(c.yPred), t.shape[0] == p.shape[0] else {
      return  // updates of different ranks: covered by the library replay only
    }
    let dir = CLI.directory()
    func path(_ s: String) -> String { dir.appendingPathComponent(s).path }
    try NPYReader.write(t.data, shape: t.shape, to: path("t.npy"))
    try NPYReader.write(p.data, shape: p.shape, to: path("p.npy"))
    var arguments = [
      "evaluate", "--metric", c.config, "--y-true", path("t.npy"), "--y-pred", path("p.npy"), "--format", "json",
      "--batch-size", "7", "--threads", "2",
    ]
    if c.weights.contains(where: { $0 != nil }) {
      let w = zip(c.weights, c.yTrue).flatMap { w, t in
        w.map { w in w.data.count == t.shape[0] ? w.data : [] } ?? [Double](repeating: 1, count: t.shape[0])
      }
      guard w.count == t.shape[0] else { return }  // element weights: the library replay covers them
      try NPYReader.write(w, shape: [w.count], to: path("w.npy"))
      arguments += ["--sample-weight", path("w.npy")]
    }
    let out = try CLI.run(arguments)
    #expect(out.status == 0, "\(out.stderr)")
    let json = try JSONDecoder().decode(JSONResults.self, from: Data(out.stdout.utf8))
    let value = try #require(json.results.values.first ?? nil, "\(out.stdout)")
    #expect(
      abs(value - c.expected) <= c.rtol * abs(c.expected) + 1e-12, "\(c.id): tally \(value), expected \(c.expected)")
  }
}
