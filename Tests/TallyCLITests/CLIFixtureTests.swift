import Foundation
import Tally
import TallyFixtures
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

  /// The cases with a result (no expected error), with the updates Tally
  /// accepts.
  static let cases: [Case] = {
    var out: [Case] = []
    for file in Fixtures.files where ["agreement", "calibration"].contains(file.family) {
      for c in file.cases {
        guard c.error == nil, let expected = c.tally_expected ?? c.expected, expected.data.count == 1,
          !c.updates.isEmpty
        else { continue }
        let rejects = Set(c.tally_rejects ?? [])
        let kept = c.updates.enumerated().filter { !rejects.contains($0.offset) }.map(\.element)
        func rows(_ t: FixtureTensor) -> (data: [Double], shape: [Int]) { (t.data.map(\.value), t.shape) }
        out.append(
          Case(
            file: file.family, id: c.id, config: c.metric.json, className: c.metric.className,
            yTrue: kept.compactMap { $0.y_true.map(rows) }, yPred: kept.compactMap { $0.y_pred.map(rows) },
            weights: kept.map { $0.sample_weight.map(rows) }, expected: expected.data[0].value, rtol: c.rtol))
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
