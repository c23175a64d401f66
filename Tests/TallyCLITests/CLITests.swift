import Foundation
import Tally
import Testing

/// Runs the built `tally` binary on files the tests write.
enum CLI {
  /// The `tally` executable next to the test bundle.
  static let binary: URL = {
    let candidates = [
      Bundle.main.bundleURL.appendingPathComponent("tally"),
      Bundle.main.bundleURL.deletingLastPathComponent().appendingPathComponent("tally"),
      URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent()
        .deletingLastPathComponent().appendingPathComponent(".build/debug/tally"),
    ]
    return candidates.first { FileManager.default.isExecutableFile(atPath: $0.path) } ?? candidates[0]
  }()

  struct Output {
    var status: Int32
    var stdout: String
    var stderr: String
  }

  static func run(_ arguments: [String]) throws -> Output {
    let process = Process()
    process.executableURL = binary
    process.arguments = arguments
    let out = Pipe()
    let err = Pipe()
    process.standardOutput = out
    process.standardError = err
    try process.run()
    let o = out.fileHandleForReading.readDataToEndOfFile()
    let e = err.fileHandleForReading.readDataToEndOfFile()
    process.waitUntilExit()
    return Output(
      status: process.terminationStatus, stdout: String(decoding: o, as: UTF8.self),
      stderr: String(decoding: e, as: UTF8.self))
  }

  /// One directory for this test process's files, removed when the process
  /// exits (the tests' directories used to stay in /tmp: thousands after a
  /// few hundred runs).
  static let root: URL = {
    let url = FileManager.default.temporaryDirectory
      .appendingPathComponent("tally-cli-tests-\(getpid())-\(UUID().uuidString)")
    try! FileManager.default.createDirectory(at: url, withIntermediateDirectories: true)
    atexit { try? FileManager.default.removeItem(at: CLI.root) }
    return url
  }()

  /// A fresh directory under `root`.
  static func directory() -> URL {
    let url = root.appendingPathComponent(UUID().uuidString)
    try! FileManager.default.createDirectory(at: url, withIntermediateDirectories: true)
    return url
  }
}

struct JSONResults: Decodable {
  var results: [String: Double?]
  var samples: Int
}

@Suite struct CLITests {
  static func data(_ n: Int, seed: UInt64) -> (t: [Float], p: [Float], w: [Float]) {
    var g = SplitMix64(seed: seed)
    let t = (0..<n).map { _ in Float(Int.random(in: 0...1, using: &g)) }
    let p = t.map { min(1, max(0, 0.4 * $0 + Float.random(in: 0..<0.6, using: &g))) }
    let w = (0..<n).map { _ in Float.random(in: 0..<2, using: &g) }
    return (t, p, w)
  }

  @Test func evaluateNPYMatchesTheLibrary() throws {
    let dir = CLI.directory()
    let (t, p, w) = Self.data(50_000, seed: 1)
    try NPYReader.write(t, shape: [t.count], to: dir.appendingPathComponent("t.npy").path)
    try NPYReader.write(p, shape: [p.count], to: dir.appendingPathComponent("p.npy").path)
    try NPYReader.write(w, shape: [w.count], to: dir.appendingPathComponent("w.npy").path)
    let out = try CLI.run([
      "evaluate", "--metric", "auc", "--metric", "binary_accuracy", "--metric", "mse",
      "--metric",
      #"{"module": "keras.metrics", "class_name": "Precision", "config": {"thresholds": 0.7}, "registered_name": null}"#,
      "--y-true", dir.appendingPathComponent("t.npy").path, "--y-pred", dir.appendingPathComponent("p.npy").path,
      "--sample-weight", dir.appendingPathComponent("w.npy").path,
      "--batch-size", "3000", "--threads", "3", "--format", "json",
    ])
    #expect(out.status == 0, "\(out.stderr)")
    let json = try JSONDecoder().decode(JSONResults.self, from: Data(out.stdout.utf8))
    #expect(json.samples == 50_000)
    // The library on the whole arrays, one update.
    let tt = Tensor(t), pp = Tensor(p), ww = Tensor(w)
    var auc = try AUC()
    try auc.update(yTrue: tt, yPred: pp, sampleWeight: ww)
    var acc = BinaryAccuracy()
    try acc.update(yTrue: tt, yPred: pp, sampleWeight: ww)
    var prec = try Precision(thresholds: [0.7])
    try prec.update(yTrue: tt, yPred: pp, sampleWeight: ww)
    #expect(json.results["auc"]! == auc.result().scalar!)
    #expect(json.results["binary_accuracy"]! == acc.result().scalar!)
    #expect(json.results["precision"]! == prec.result().scalar!)
    #expect(json.results["mse"] != nil)
  }

  /// Mapped npy files (the default) and `--no-map` reads give the same
  /// output, for float64 scores with int32 labels and for class scores
  /// (narrow rows, which the workers read in pieces either way, and 200
  /// classes, which are mapped or read); a Fortran-ordered file is read,
  /// not mapped.
  @Test func mappedAndReadInputsAgree() throws {
    let dir = CLI.directory()
    func path(_ s: String) -> String { dir.appendingPathComponent(s).path }
    let (t, p, _) = Self.data(20_000, seed: 3)
    try NPYReader.write(t.map { Int32($0) }, shape: [t.count], to: path("t.npy"))
    try NPYReader.write(p.map(Double.init), shape: [p.count], to: path("p.npy"))
    var g = SplitMix64(seed: 4)
    let scores = (0..<(5_000 * 7)).map { _ in Float.random(in: 0..<1, using: &g) }
    let labels = (0..<5_000).map { _ in UInt8.random(in: 0..<7, using: &g) }
    try NPYReader.write(scores, shape: [5_000, 7], to: path("s.npy"))
    try NPYReader.write(labels, shape: [5_000], to: path("l.npy"))
    let wide = (0..<(5_000 * 200)).map { _ in Float.random(in: 0..<1, using: &g) }
    let wideLabels = (0..<5_000).map { _ in Int32.random(in: 0..<200, using: &g) }
    try NPYReader.write(wide, shape: [5_000, 200], to: path("w.npy"))
    try NPYReader.write(wideLabels, shape: [5_000], to: path("wl.npy"))
    // The class scores again, Fortran-ordered: the same rows, another layout.
    let bytes = [UInt8](try Data(contentsOf: URL(fileURLWithPath: path("s.npy"))))
    let headerEnd = bytes.firstIndex(of: 0x0A)! + 1
    var header = Array(bytes[0..<headerEnd])
    let from = Array("'fortran_order': False".utf8)
    let to = Array("'fortran_order': True ".utf8)  // same length: the data stays aligned
    let at = try #require((0...(header.count - from.count)).first { Array(header[$0..<($0 + from.count)]) == from })
    header.replaceSubrange(at..<(at + from.count), with: to)
    var body = [Float](repeating: 0, count: scores.count)
    for r in 0..<5_000 { for c in 0..<7 { body[c * 5_000 + r] = scores[r * 7 + c] } }
    let fortran = header + body.withUnsafeBytes { Array($0) }
    try Data(fortran).write(to: URL(fileURLWithPath: path("f.npy")))
    #expect(try NPYReader(path: path("f.npy")).fortranOrder)
    let runs: [(String, String, [String])] = [
      ("t.npy", "p.npy", ["auc", "binary_accuracy", "mse"]),
      ("l.npy", "s.npy", ["sparse_categorical_accuracy", "sparse_top_k_categorical_accuracy"]),
      ("l.npy", "f.npy", ["sparse_categorical_accuracy", "sparse_top_k_categorical_accuracy"]),
      ("wl.npy", "w.npy", ["sparse_categorical_accuracy", "sparse_top_k_categorical_accuracy"]),
    ]
    var outputs: [String] = []
    for (yt, yp, metrics) in runs {
      let common =
        ["evaluate", "--y-true", path(yt), "--y-pred", path(yp), "--format", "json", "--batch-size", "999"]
        + metrics.flatMap { ["--metric", $0] }
      let mapped = try CLI.run(common)
      let read = try CLI.run(common + ["--no-map"])
      #expect(mapped.status == 0 && read.status == 0, "\(mapped.stderr) \(read.stderr)")
      #expect(mapped.stdout == read.stdout)
      outputs.append(mapped.stdout)
    }
    #expect(outputs[1] == outputs[2])
  }

  /// Inputs the workers read in pieces (every file narrow and read in
  /// place) give the output of the same rows read another way (scores as
  /// float16: the same values, decoded on reading, so no file is read in
  /// pieces): with weights, and with int64 slice keys (also as the state
  /// file, which holds the next row's global index), over chunks and pieces
  /// that end mid-way, with metrics the slice counters take whole (pieces
  /// handed to the workers as they go) and not. (A bootstrap reads chunks,
  /// not pieces.)
  @Test func piecesEqualTheOtherReadings() throws {
    let dir = CLI.directory()
    func path(_ s: String) -> String { dir.appendingPathComponent(s).path }
    // (Rows enough for chunks of several 2 MB pieces, the last chunk of
    // the pieces handed out included: the state file's next row index
    // tells whether its second piece kept its own first index.)
    let n = 1_000_001
    var g = SplitMix64(seed: 12)
    // Scores that float16 holds exactly (k / 1024 for k in 0..<1024), and
    // their float16 bits.
    let ks = (0..<n).map { _ in Int.random(in: 0..<1024, using: &g) }
    let scores = ks.map { Float($0) / 1024 }
    let halves = ks.map { k -> UInt16 in
      guard k > 0 else { return 0 }
      let e = Int.bitWidth - 1 - k.leadingZeroBitCount
      return UInt16((e + 5) << 10 | (k - 1 << e) << (10 - e))
    }
    let labels = (0..<n).map { _ in Float(Int.random(in: 0...1, using: &g)) }
    let weights = (0..<n).map { _ in Float.random(in: 0..<2, using: &g) }
    let keys = (0..<n).map { _ in Int64.random(in: -5..<15, using: &g) }
    try NPYReader.write(labels, shape: [n], to: path("t.npy"))
    try NPYReader.write(scores, shape: [n], to: path("p.npy"))
    try NPYReader.write(weights, shape: [n], to: path("w.npy"))
    try NPYReader.write(keys, shape: [n], to: path("k.npy"))
    // The same scores as a float16 file (descr '<f2').
    var half = Data(try Data(contentsOf: URL(fileURLWithPath: path("p.npy"))).prefix(128))
    let descr = try #require(half.range(of: Data("<f4".utf8)))
    half.replaceSubrange(descr, with: Data("<f2".utf8))
    half.append(halves.withUnsafeBytes { Data($0) })
    try half.write(to: URL(fileURLWithPath: path("p16.npy")))
    #expect(try NPYReader(path: path("p16.npy")).dtype == .float32)
    #expect(try !NPYReader(path: path("p16.npy")).readsInPlace && NPYReader(path: path("p.npy")).readsInPlace)
    let all = ["auc", "binary_accuracy", "mse"].flatMap { ["--metric", $0] }
    // (With only metrics that count cells, the slice counters take every
    // chunk, and after the first round the workers take pieces as they go.)
    let counted = ["auc", "binary_accuracy"].flatMap { ["--metric", $0] }
    for (metrics, extra) in [
      (all, ["--sample-weight", path("w.npy")]), (all, ["--slice-by", path("k.npy")]),
      (counted, ["--slice-by", path("k.npy")]),
      (counted, ["--slice-by", path("k.npy"), "--row-offset", "11", "--save-state", "-"]),
    ] {
      var outputs: [String] = []
      for (scoreFile, more) in [
        ("p.npy", []), ("p.npy", ["--threads", "3", "--batch-size", "7001"]), ("p16.npy", []),
        ("p16.npy", ["--threads", "3", "--batch-size", "7001"]),
      ] {
        let r = try CLI.run(
          ["evaluate", "--y-true", path("t.npy"), "--y-pred", path(scoreFile)] + metrics + extra + more
            + ["--format", "json"])
        #expect(r.status == 0, "\(r.stderr)")
        outputs.append(r.stdout)
      }
      #expect(Set(outputs).count == 1, "\(extra)")
      #expect(outputs[0].contains(extra.contains("--save-state") ? "\"AUC\"" : "\"auc\""), "\(outputs[0].prefix(300))")
    }
  }

  @Test func shardedMergeEqualsOneRun() throws {
    let dir = CLI.directory()
    let (t, p, _) = Self.data(30_000, seed: 2)
    func path(_ s: String) -> String { dir.appendingPathComponent(s).path }
    try NPYReader.write(t, shape: [t.count, 1], to: path("t.npy"))
    try NPYReader.write(p, shape: [p.count, 1], to: path("p.npy"))
    for (k, r) in [0..<10_000, 10_000..<25_000, 25_000..<30_000].enumerated() {
      try NPYReader.write(Array(t[r]), shape: [r.count, 1], to: path("t\(k).npy"))
      try NPYReader.write(Array(p[r]), shape: [r.count, 1], to: path("p\(k).npy"))
      let o = try CLI.run([
        "evaluate", "--metric", "auc", "--metric", "mae", "--metric", "acc", "--y-true", path("t\(k).npy"),
        "--y-pred", path("p\(k).npy"), "--save-state", path("s\(k).json"), "--quiet",
      ])
      #expect(o.status == 0, "\(o.stderr)")
    }
    let merged = try CLI.run(["merge", path("s0.json"), path("s1.json"), path("s2.json"), "--format", "json"])
    let one = try CLI.run([
      "evaluate", "--metric", "auc", "--metric", "mae", "--metric", "acc", "--y-true", path("t.npy"),
      "--y-pred", path("p.npy"), "--format", "json",
    ])
    #expect(merged.status == 0 && one.status == 0, "\(merged.stderr) \(one.stderr)")
    #expect(merged.stdout == one.stdout)
    #expect(one.stdout.contains("\"samples\": 30000"))
  }

  @Test func evaluateCSV() throws {
    let dir = CLI.directory()
    let file = dir.appendingPathComponent("d.csv").path
    var text = "label,score,weight\n"
    let (t, p, w) = Self.data(2_000, seed: 3)
    for i in t.indices { text += "\(t[i]),\(p[i]),\(w[i])\n" }
    try text.write(toFile: file, atomically: true, encoding: .utf8)
    let out = try CLI.run([
      "evaluate", "--metric", "auc", "--y-true", file, "--y-true-columns", "label", "--y-pred", file,
      "--y-pred-columns", "score", "--sample-weight", file, "--sample-weight-columns", "weight", "--format", "json",
    ])
    #expect(out.status == 0, "\(out.stderr)")
    var auc = try AUC()
    // The library on the numbers as written in the file.
    func parsed(_ xs: [Float]) -> Tensor { Tensor(xs.map { Double("\($0)")! }) }
    try auc.update(yTrue: parsed(t), yPred: parsed(p), sampleWeight: parsed(w))
    let json = try JSONDecoder().decode(JSONResults.self, from: Data(out.stdout.utf8))
    #expect(json.results["auc"]!! == auc.result().scalar!)
  }

  /// Inputs from one CSV file read it once, yet report the errors that a
  /// reader per input reports: the labels' own bad cell (line 6), though
  /// the scores have one earlier (line 3); and a row that breaks every
  /// input first.
  @Test func sharedCSVKeepsEachInputsErrors() throws {
    let dir = CLI.directory()
    let cases: [(String, String)] = [
      ("label,score\n1,0.5\n0,oops\n1,0.25\n0,0.75\nnope,0.5\n", "line 6, column 1: expected a number, found \"nope\""),
      ("label,score\n1,0.5\n0,0.5,7\n1,x\n", "line 3: the row has 3 cells; expected 2"),
      ("label,score\n1,0.5\n0,\"0.5\n", "line 3, column 2: a quoted cell is never closed"),
    ]
    for (k, (text, message)) in cases.enumerated() {
      let file = dir.appendingPathComponent("e\(k).csv").path
      try text.write(toFile: file, atomically: true, encoding: .utf8)
      let out = try CLI.run([
        "evaluate", "--metric", "mse", "--y-true", file, "--y-true-columns", "label", "--y-pred", file,
        "--y-pred-columns", "score",
      ])
      #expect(out.status != 0)
      #expect(out.stderr.contains(message), "\(out.stderr)")
    }
  }

  static let badInputs: [(String, [String], String)] = [
    (
      "missing file",
      ["evaluate", "--metric", "auc", "--y-true", "/nonexistent/t.npy", "--y-pred", "/nonexistent/p.npy"],
      "/nonexistent/t.npy"
    ),
    (
      "unknown metric", ["evaluate", "--metric", "acuracy", "--y-true", "T", "--y-pred", "P"],
      "Could not interpret metric identifier"
    ),
    (
      "unknown argument",
      ["evaluate", "--metric", #"{"class_name": "AUC", "config": {"bogus": 1}}"#, "--y-true", "T", "--y-pred", "P"],
      "unexpected argument"
    ),
    ("row counts", ["evaluate", "--metric", "auc", "--y-true", "T", "--y-pred", "SHORT"], "different numbers of rows"),
    ("truncated npy", ["evaluate", "--metric", "auc", "--y-true", "TRUNC", "--y-pred", "P"], "truncated"),
    (
      "bad csv cell",
      [
        "evaluate", "--metric", "auc", "--y-true", "BADCSV", "--y-true-columns", "0", "--y-pred", "BADCSV",
        "--y-pred-columns", "1",
      ], "line 3, column 2"
    ),
    ("labels out of range", ["evaluate", "--metric", "auc", "--y-true", "P", "--y-pred", "P"], "binary labels"),
    ("merge different metrics", ["merge", "STATE_AUC", "STATE_MSE"], "holds metrics"),
  ]

  @Test(arguments: badInputs)
  func badInputGivesOneLineAndNonZeroExit(_ c: (String, [String], String)) throws {
    let dir = CLI.directory()
    func path(_ s: String) -> String { dir.appendingPathComponent(s).path }
    let (t, p, _) = Self.data(100, seed: 4)
    try NPYReader.write(t, shape: [100], to: path("t.npy"))
    try NPYReader.write(p.map { $0 * 3 }, shape: [100], to: path("p.npy"))
    try NPYReader.write(Array(p[..<50]), shape: [50], to: path("short.npy"))
    let good = try Data(contentsOf: URL(fileURLWithPath: path("t.npy")))
    try good.prefix(good.count - 7).write(to: URL(fileURLWithPath: path("trunc.npy")))
    try "a,b\n1,0.5\n0,zero\n".write(toFile: path("bad.csv"), atomically: true, encoding: .utf8)
    _ = try CLI.run([
      "evaluate", "--metric", "auc", "--y-true", path("t.npy"), "--y-pred", path("t.npy"), "--save-state",
      path("auc.json"),
    ])
    _ = try CLI.run([
      "evaluate", "--metric", "mse", "--y-true", path("t.npy"), "--y-pred", path("t.npy"), "--save-state",
      path("mse.json"),
    ])
    let substitutions = [
      "T": path("t.npy"), "P": path("p.npy"), "SHORT": path("short.npy"), "TRUNC": path("trunc.npy"),
      "BADCSV": path("bad.csv"), "STATE_AUC": path("auc.json"), "STATE_MSE": path("mse.json"),
    ]
    let args = c.1.map { substitutions[$0] ?? $0 }
    let out = try CLI.run(args)
    #expect(out.status != 0, "\(c.0): exit status \(out.status)")
    #expect(out.stdout.isEmpty, "\(c.0): printed \(out.stdout)")
    let lines = out.stderr.split(separator: "\n")
    #expect(lines.count == 1, "\(c.0): \(out.stderr)")
    #expect(out.stderr.contains(c.2), "\(c.0): \(out.stderr)")
  }

  @Test func helpTexts() throws {
    let evaluate = try CLI.run(["evaluate", "--help"])
    #expect(evaluate.status == 0)
    for option in [
      "--metric", "--y-true", "--y-pred", "--sample-weight", "--batch-size", "--threads", "--format", "--save-state",
    ] {
      #expect(evaluate.stdout.contains(option), "evaluate --help lacks \(option)")
    }
    let merge = try CLI.run(["merge", "--help"])
    #expect(merge.status == 0 && merge.stdout.contains("<states> ..."), "\(merge.stdout)")
    let demo = try CLI.run(["demo", "--help"])
    #expect(demo.status == 0 && demo.stdout.contains("--epochs"))
  }

  /// `tally metrics` lists every declared class with its identifiers and
  /// arguments, read from the declarations.
  @Test func metricsListsTheDeclarations() throws {
    let out = try CLI.run(["metrics"])
    #expect(out.status == 0)
    for d in MetricRegistry.declarations {
      #expect(out.stdout.contains("  \(d.className) ["), "tally metrics lacks \(d.className)")
    }
    #expect(out.stdout.contains("MeanAbsoluteError [mean_absolute_error, mae, MAE]"))
    #expect(out.stdout.contains("ExpectedCalibrationError [expected_calibration_error]  num_bins=15"))
    #expect(out.stdout.contains("CohenKappa [cohen_kappa]  num_classes (required), weightage=null"))
  }
}
