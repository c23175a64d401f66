import Foundation
import Tally
import Testing

/// `tally report` through the binary: pages from data and from merged
/// state files, the results it prints, and bad input.
@Suite struct ReportCLITests {
  @Test func binaryReportPrintsResultsAndWritesThePage() throws {
    let dir = CLI.directory()
    func path(_ s: String) -> String { dir.appendingPathComponent(s).path }
    let (t, p, _) = CLITests.data(3_000, seed: 4)
    try NPYReader.write(t, shape: [t.count], to: path("t.npy"))
    try NPYReader.write(p, shape: [p.count], to: path("p.npy"))
    let out = try CLI.run([
      "report", "--y-true", path("t.npy"), "--y-pred", path("p.npy"), "--output", path("r.html"), "--format", "json",
      "--quiet",
    ])
    #expect(out.status == 0, "\(out.stderr)")
    let json = try JSONDecoder().decode(JSONResults.self, from: Data(out.stdout.utf8))
    // The default binary metrics, as `tally evaluate` computes them.
    #expect(
      Set(json.results.keys) == ["binary_accuracy", "precision", "recall", "auc", "pr_auc", "binary_crossentropy"])
    var acc = BinaryAccuracy()
    try acc.update(yTrue: Tensor(t), yPred: Tensor(p))
    #expect(json.results["binary_accuracy"]! == acc.result().scalar!)
    let html = try String(contentsOfFile: path("r.html"), encoding: .utf8)
    for plot in ["roc", "pr", "confusion", "calibration", "histogram"] {
      #expect(html.contains("data-plot=\"\(plot)\""), "no \(plot)")
    }
    var exact = ExactAUC()
    try exact.update(yTrue: Tensor(t), yPred: Tensor(p))
    #expect(html.contains("area \(String(format: "%.4f", exact.result().scalar!))"))
  }

  @Test func reportFromMergedStatesEqualsOneRun() throws {
    let dir = CLI.directory()
    func path(_ s: String) -> String { dir.appendingPathComponent(s).path }
    let (t, p, _) = CLITests.data(2_000, seed: 8)
    try NPYReader.write(t, shape: [t.count], to: path("t.npy"))
    try NPYReader.write(p, shape: [p.count], to: path("p.npy"))
    try NPYReader.write(Array(t[..<700]), shape: [700], to: path("t0.npy"))
    try NPYReader.write(Array(p[..<700]), shape: [700], to: path("p0.npy"))
    try NPYReader.write(Array(t[700...]), shape: [1_300], to: path("t1.npy"))
    try NPYReader.write(Array(p[700...]), shape: [1_300], to: path("p1.npy"))
    let metrics = ["--metric", "binary_accuracy", "--metric", "exact_auc"]
    for (k, offset) in [(0, "0"), (1, "700")] {
      let out = try CLI.run(
        ["evaluate"] + metrics + [
          "--y-true", path("t\(k).npy"), "--y-pred", path("p\(k).npy"), "--row-offset", offset, "--save-state",
          path("s\(k).json"), "--quiet",
        ])
      #expect(out.status == 0, "\(out.stderr)")
    }
    let merged = try CLI.run([
      "report", "--state", path("s0.json"), "--state", path("s1.json"), "-o", path("m.html"), "--quiet",
    ])
    #expect(merged.status == 0, "\(merged.stderr)")
    let one = try CLI.run(
      ["report"] + metrics + ["--y-true", path("t.npy"), "--y-pred", path("p.npy"), "-o", path("one.html"), "--quiet"])
    #expect(one.status == 0, "\(one.stderr)")
    #expect(merged.stdout == one.stdout)
    // The same plots from the states as from the data (the notes differ).
    func plots(_ file: String) throws -> String {
      let html = try String(contentsOfFile: path(file), encoding: .utf8)
      return String(html[html.range(of: "<section>")!.lowerBound...])
    }
    #expect(try plots("m.html") == plots("one.html"))
  }

  @Test(arguments: [
    (["report", "--y-true", "MISSING.npy", "--y-pred", "MISSING.npy"], "MISSING.npy"),
    (["report", "--metric", "auc"], "give --y-true and --y-pred"),
    (["report", "--state", "S.json", "--y-true", "x.npy"], "without --y-true"),
    (["report", "--y-true", "T", "--y-pred", "P", "--threshold", "nan"], "--threshold"),
  ])
  func badInputIsOneLineAndWritesNothing(arguments: [String], message: String) throws {
    let dir = CLI.directory()
    let resolved = arguments.map { a in
      ["MISSING.npy", "S.json", "x.npy", "T", "P"].contains(a) ? dir.appendingPathComponent(a).path : a
    }
    let out = try CLI.run(resolved + ["-o", dir.appendingPathComponent("r.html").path])
    #expect(out.status != 0)
    #expect(out.stderr.contains(message), "\(out.stderr)")
    #expect(out.stderr.split(separator: "\n").count == 1, "\(out.stderr)")
    #expect(!FileManager.default.fileExists(atPath: dir.appendingPathComponent("r.html").path))
  }
}
