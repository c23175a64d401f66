// Issue 16 through the binary: safe --save-state writes, unique result
// names, refused flags and state files, each a one-line error with nothing
// written.

import Foundation
import Tally
import Testing

@Suite struct ReliabilityCLITests {
  /// Labels and scores in `dir`, and the arguments that evaluate them.
  static func inputs(_ dir: URL, rows: Int = 1_000) throws -> [String] {
    let (t, p, _) = CLITests.data(rows, seed: 8)
    try NPYReader.write(t, shape: [t.count], to: dir.appendingPathComponent("t.npy").path)
    try NPYReader.write(p, shape: [p.count], to: dir.appendingPathComponent("p.npy").path)
    return [
      "--y-true", dir.appendingPathComponent("t.npy").path, "--y-pred", dir.appendingPathComponent("p.npy").path,
    ]
  }

  /// A failed command: a non-zero exit, one line on stderr naming
  /// `needle`, nothing on stdout.
  func expectRefused(_ out: CLI.Output, _ needle: String, sourceLocation: SourceLocation = #_sourceLocation) {
    #expect(out.status != 0, sourceLocation: sourceLocation)
    #expect(out.stdout.isEmpty, "\(out.stdout)", sourceLocation: sourceLocation)
    let lines = out.stderr.split(separator: "\n")
    #expect(lines.count == 1, "\(out.stderr)", sourceLocation: sourceLocation)
    #expect(out.stderr.contains(needle), "\(out.stderr)", sourceLocation: sourceLocation)
  }

  /// Files in `dir` other than the inputs.
  func others(_ dir: URL) throws -> [String] {
    try FileManager.default.contentsOfDirectory(atPath: dir.path).filter { !$0.hasSuffix(".npy") }.sorted()
  }

  @Test func saveStateRefusesWhatIsNotARegularFile() throws {
    let dir = CLI.directory()
    let args = try Self.inputs(dir)
    // A directory and a FIFO at the path: refused, untouched, no temporary file left.
    let sub = dir.appendingPathComponent("dir")
    try FileManager.default.createDirectory(at: sub, withIntermediateDirectories: false)
    expectRefused(
      try CLI.run(["evaluate", "--metric", "auc"] + args + ["--save-state", sub.path]), "is a directory")
    let fifo = dir.appendingPathComponent("fifo").path
    #expect(mkfifo(fifo, 0o644) == 0)
    expectRefused(
      try CLI.run(["evaluate", "--metric", "auc"] + args + ["--save-state", fifo]), "not a regular file")
    var info = stat()
    #expect(lstat(fifo, &info) == 0 && (info.st_mode & S_IFMT) == S_IFIFO)
    // A character device (readable by all, never replaced).
    expectRefused(
      try CLI.run(["evaluate", "--metric", "auc"] + args + ["--save-state", "/dev/null"]), "not a regular file")
    #expect(lstat("/dev/null", &info) == 0 && (info.st_mode & S_IFMT) == S_IFCHR)
    #expect(try others(dir) == ["dir", "fifo"])
  }

  @Test func saveStateWritesThroughALinkAndKeepsTheMode() throws {
    let dir = CLI.directory()
    let args = try Self.inputs(dir)
    let real = dir.appendingPathComponent("real.json").path
    let link = dir.appendingPathComponent("link.json").path
    #expect(FileManager.default.createFile(atPath: real, contents: Data("old".utf8)))
    #expect(chmod(real, 0o600) == 0)
    #expect(symlink("real.json", link) == 0)
    let out = try CLI.run(["evaluate", "--metric", "auc"] + args + ["--save-state", link])
    #expect(out.status == 0, "\(out.stderr)")
    // The link is still a link; its target holds the state, with its mode.
    var info = stat()
    #expect(lstat(link, &info) == 0 && (info.st_mode & S_IFMT) == S_IFLNK)
    #expect(lstat(real, &info) == 0 && (info.st_mode & S_IFMT) == S_IFREG)
    #expect(info.st_mode & 0o777 == 0o600)
    let merged = try CLI.run(["merge", real, "--format", "json"])
    #expect(merged.status == 0, "\(merged.stderr)")
    #expect(try others(dir) == ["link.json", "real.json"])
    // A dangling link: its target is created.
    let dangling = dir.appendingPathComponent("dangling.json").path
    #expect(symlink("new.json", dangling) == 0)
    #expect(try CLI.run(["evaluate", "--metric", "auc"] + args + ["--save-state", dangling]).status == 0)
    #expect(FileManager.default.fileExists(atPath: dir.appendingPathComponent("new.json").path))
    // An unwritable directory: refused, and no temporary file is left.
    let locked = dir.appendingPathComponent("missing/state.json").path
    expectRefused(
      try CLI.run(["evaluate", "--metric", "auc"] + args + ["--save-state", locked]), "cannot write state file")
  }

  /// Names given and names made unique never collide (Keras's `_1`, `_2`,
  /// skipping names already taken).
  @Test func resultNamesAreUnique() throws {
    let dir = CLI.directory()
    let args = try Self.inputs(dir)
    let out = try CLI.run(
      [
        "evaluate", "--metric", "auc", "--metric", "auc", "--metric",
        #"{"class_name": "AUC", "config": {"name": "auc_1"}}"#, "--metric", "auc", "--format", "json",
      ] + args)
    #expect(out.status == 0, "\(out.stderr)")
    let keys = out.stdout.components(separatedBy: "\"auc").count - 1
    let json = try JSONDecoder().decode(JSONResults.self, from: Data(out.stdout.utf8))
    #expect(Set(json.results.keys) == ["auc", "auc_1", "auc_2", "auc_3"])
    #expect(keys == 4)
  }

  @Test func flagsBeyondTheirLimitsAreRefused() throws {
    let dir = CLI.directory()
    let args = try Self.inputs(dir)
    expectRefused(
      try CLI.run(["evaluate", "--metric", "auc", "--threads", "9223372036854775807"] + args),
      "--threads must be in 1...1024")
    expectRefused(
      try CLI.run(["evaluate", "--metric", "auc", "--batch-size", "9223372036854775807"] + args),
      "--batch-size must be in")
    // The state-memory limit: AUC's 200 thresholds need 12.5 KiB.
    expectRefused(
      try CLI.run(["evaluate", "--metric", "auc", "--max-state-memory", "10KiB"] + args),
      "needs 12.5 KiB of state; the limit is 10 KiB")
    #expect(try CLI.run(["evaluate", "--metric", "auc", "--max-state-memory", "13KiB"] + args).status == 0)
    expectRefused(
      try CLI.run(["evaluate", "--metric", "auc", "--max-state-memory", "lots"] + args),
      "--max-state-memory takes a size")
    expectRefused(
      try CLI.run(
        ["evaluate", "--metric", #"{"class_name": "AUC", "config": {"num_thresholds": 1000000000}}"#] + args),
      "num_thresholds = 1000000000 needs 59.6 GiB of state")
  }

  /// State files: one without metrics, one with a name twice, and sample
  /// counts whose sum or row range overflows are refused.
  @Test func mergeRefusesStateFilesThatCannotBeRight() throws {
    let dir = CLI.directory()
    let args = try Self.inputs(dir)
    let good = dir.appendingPathComponent("good.json").path
    #expect(
      try CLI.run(["evaluate", "--metric", "auc", "--metric", "mse"] + args + ["--save-state", good]).status == 0)
    let text = try String(contentsOfFile: good, encoding: .utf8)
    func variant(_ name: String, _ edit: (inout [String: Any]) -> Void) throws -> String {
      var object = try JSONSerialization.jsonObject(with: Data(text.utf8)) as! [String: Any]
      edit(&object)
      let path = dir.appendingPathComponent(name).path
      try JSONSerialization.data(withJSONObject: object).write(to: URL(fileURLWithPath: path))
      return path
    }
    let empty = try variant("empty.state") { $0["metrics"] = [Any]() }
    expectRefused(try CLI.run(["merge", empty, good]), "holds no metrics")
    expectRefused(try CLI.run(["merge", good, empty]), "holds no metrics")
    let twice = try variant("twice.state") { o in
      var ms = o["metrics"] as! [[String: Any]]
      ms[1]["name"] = ms[0]["name"]
      o["metrics"] = ms
    }
    expectRefused(try CLI.run(["merge", twice]), "two metrics named \"auc\"")
    let huge = try variant("huge.state") { $0["samples"] = Int.max }
    expectRefused(try CLI.run(["merge", huge, good]), "overflow")
    let far = try variant("far.state") { $0["row_offset"] = Int64.max - 10 }
    expectRefused(try CLI.run(["merge", far]), "beyond the largest row index")
    // The same metrics in another order are matched by name.
    let reordered = try variant("reordered.state") { o in o["metrics"] = Array((o["metrics"] as! [Any]).reversed()) }
    let same = try CLI.run(["merge", good, good, "--format", "json"])
    let matched = try CLI.run(["merge", good, reordered, "--format", "json"])
    #expect(matched.status == 0, "\(matched.stderr)")
    #expect(matched.stdout == same.stdout)
    let other = try variant("other.state") { o in
      var ms = o["metrics"] as! [[String: Any]]
      ms[1]["name"] = "mae"
      o["metrics"] = ms
    }
    expectRefused(try CLI.run(["merge", good, other]), "the first file holds")
  }

  /// State files are read from their bytes (each metric's state handed
  /// over as it is in the file): files written by other JSON writers
  /// (escaped slashes, pretty-printed, keys in another order) load to the
  /// same result, and a truncated file, trailing bytes, a key given twice
  /// or metrics that are not a list of objects are refused in one line.
  @Test func stateFilesAreReadFromTheirBytes() throws {
    let dir = CLI.directory()
    let args = try Self.inputs(dir)
    let good = dir.appendingPathComponent("good.json").path
    let exact = #"{"class_name": "ExactAUC", "config": {}}"#
    #expect(
      try CLI.run(["evaluate", "--metric", "auc", "--metric", exact] + args + ["--save-state", good]).status == 0)
    let bytes = try Data(contentsOf: URL(fileURLWithPath: good))
    let text = String(decoding: bytes, as: UTF8.self)
    #expect(text.contains(#""data":""#), "the exact state is a binary block")
    let reference = try CLI.run(["merge", good, good, "--format", "json"])
    #expect(reference.status == 0, "\(reference.stderr)")
    func write(_ name: String, _ data: Data) throws -> String {
      let path = dir.appendingPathComponent(name).path
      try data.write(to: URL(fileURLWithPath: path))
      return path
    }
    let object = try JSONSerialization.jsonObject(with: bytes)
    for (name, options) in [
      ("escaped.state", JSONSerialization.WritingOptions()),
      ("pretty.state", [.prettyPrinted]),
    ] {
      let data = try JSONSerialization.data(withJSONObject: object, options: options)
      #expect(String(decoding: data, as: UTF8.self).contains(#"\/"#), "\(name): base64 slashes escaped")
      let other = try write(name, data)
      let merged = try CLI.run(["merge", good, other, "--format", "json"])
      #expect(merged.status == 0, "\(name): \(merged.stderr)")
      #expect(merged.stdout == reference.stdout, "\(name)")
    }
    let refusals: [(String, Data)] = [
      ("truncated.state", bytes.prefix(bytes.count / 2)),
      ("trailing.state", bytes + Data(" x".utf8)),
      ("twice.state", Data(#"{"samples":1,"#.utf8) + bytes.dropFirst()),
      ("list.state", Data(text.replacingOccurrences(of: #""metrics":["#, with: #""metrics":[1,"#).utf8)),
      ("unclosed.state", Data(#"{"format":"tally.evaluation-state","metrics":[{"name":"a","state":"\"}]}"#.utf8)),
      ("empty.state", Data()),
    ]
    for (name, data) in refusals {
      expectRefused(try CLI.run(["merge", good, try write(name, data)]), "is not a tally state file")
    }
  }

  /// Column lists that are empty, column options with a `.npy` input, and
  /// a `.npy` file under a CSV name or through a pipe: each said plainly.
  @Test func inputMistakesAreNamed() throws {
    let dir = CLI.directory()
    let args = try Self.inputs(dir)
    let t = dir.appendingPathComponent("t.npy").path
    let p = dir.appendingPathComponent("p.npy").path
    let csv = dir.appendingPathComponent("c.csv").path
    try "label,score\n1,0.9\n0,0.2\n".write(toFile: csv, atomically: true, encoding: .utf8)
    expectRefused(
      try CLI.run(["evaluate", "--metric", "mse", "--y-true", csv, "--y-true-columns", "", "--y-pred", csv]),
      "the column list is empty")
    expectRefused(
      try CLI.run(["evaluate", "--metric", "mse", "--y-true", csv, "--y-true-columns", "0,,1", "--y-pred", csv]),
      "has an empty entry")
    expectRefused(
      try CLI.run(["evaluate", "--metric", "mse"] + args + ["--y-pred-columns", "1"]),
      "applies to CSV inputs only")
    // Under a .csv name: read as .npy by its magic bytes, the same result.
    let renamed = dir.appendingPathComponent("t-as.csv").path
    try FileManager.default.copyItem(atPath: t, toPath: renamed)
    let plain = try CLI.run(["evaluate", "--metric", "mse", "--format", "json"] + args)
    let sniffed = try CLI.run(["evaluate", "--metric", "mse", "--format", "json", "--y-true", renamed, "--y-pred", p])
    #expect(sniffed.status == 0, "\(sniffed.stderr)")
    #expect(sniffed.stdout == plain.stdout)
    // Through a pipe: the error says what was read.
    let process = Process()
    process.executableURL = CLI.binary
    process.arguments = ["evaluate", "--metric", "mse", "--y-true", "/dev/stdin", "--y-pred", p]
    let input = Pipe()
    let err = Pipe()
    process.standardInput = input
    process.standardOutput = Pipe()
    process.standardError = err
    try process.run()
    try? input.fileHandleForWriting.write(contentsOf: Data(contentsOf: URL(fileURLWithPath: t)))
    try? input.fileHandleForWriting.close()
    let message = String(decoding: err.fileHandleForReading.readDataToEndOfFile(), as: UTF8.self)
    process.waitUntilExit()
    #expect(process.terminationStatus != 0)
    #expect(message.contains("starts with the .npy magic bytes"), "\(message)")
  }

  /// Peak memory does not grow with the number of chunks: 1,000 chunks of
  /// 200 rows take about what 2 chunks of 100,000 take (each worker holds
  /// one state of 1.3 MB; kept per chunk, 1,000 of them would be 1.3 GB).
  @Test func peakMemoryDoesNotGrowWithChunks() throws {
    let dir = CLI.directory()
    let args = try Self.inputs(dir, rows: 200_000)
    let time = "/usr/bin/time"
    try #require(FileManager.default.isExecutableFile(atPath: time), "GNU time (Debian package time) measures the peak")
    func peakKB(batch: Int) throws -> Int {
      let process = Process()
      process.executableURL = URL(fileURLWithPath: time)
      process.arguments =
        [
          "-f", "%M", CLI.binary.path, "evaluate", "--metric",
          #"{"class_name": "AUC", "config": {"num_thresholds": 20000}}"#,
        ]
        + args + ["--threads", "2", "--batch-size", "\(batch)", "--quiet"]
      let err = Pipe()
      process.standardOutput = Pipe()
      process.standardError = err
      try process.run()
      let text = String(decoding: err.fileHandleForReading.readDataToEndOfFile(), as: UTF8.self)
      process.waitUntilExit()
      #expect(process.terminationStatus == 0, "\(text)")
      return Int(text.split(separator: "\n").last.map { $0.trimmingCharacters(in: .whitespaces) } ?? "") ?? -1
    }
    let few = try peakKB(batch: 100_000)
    let many = try peakKB(batch: 200)
    #expect(few > 0 && many > 0)
    #expect(many < few + 60_000, "peak \(many) KB over 1,000 chunks, \(few) KB over 2")
  }
}
