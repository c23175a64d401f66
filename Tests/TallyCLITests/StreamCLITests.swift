import Foundation
import Tally
import Testing

/// `tally evaluate --input npy-stream`: batches of `.npy` arrays on standard
/// input, as an engine's worker sends them.
@Suite struct StreamCLITests {
  /// Runs `tally` with `input` on standard input.
  static func run(_ arguments: [String], input: Data) throws -> CLI.Output {
    let process = Process()
    process.executableURL = CLI.binary
    process.arguments = arguments
    let (stdin, out, err) = (Pipe(), Pipe(), Pipe())
    process.standardInput = stdin
    process.standardOutput = out
    process.standardError = err
    try process.run()
    // Write from another thread: the pipe holds 64 KB.
    let writer = Thread {
      stdin.fileHandleForWriting.write(input)
      try? stdin.fileHandleForWriting.close()
    }
    writer.start()
    let o = out.fileHandleForReading.readDataToEndOfFile()
    let e = err.fileHandleForReading.readDataToEndOfFile()
    process.waitUntilExit()
    return CLI.Output(
      status: process.terminationStatus, stdout: String(decoding: o, as: UTF8.self),
      stderr: String(decoding: e, as: UTF8.self))
  }

  /// The bytes `np.save` writes for `values`.
  static func npy<T: TensorScalar>(_ values: [T], in dir: URL) throws -> Data {
    let path = dir.appendingPathComponent("a-\(UUID().uuidString).npy").path
    try NPYReader.write(values, shape: [values.count], to: path)
    return try Data(contentsOf: URL(fileURLWithPath: path))
  }

  /// A `<U{width}` array, as `np.save(np.array(strings))` writes it.
  static func npyStrings(_ strings: [String]) -> Data {
    let width = max(1, strings.map { $0.unicodeScalars.count }.max() ?? 1)
    var header = "{'descr': '<U\(width)', 'fortran_order': False, 'shape': (\(strings.count),), }"
    while (10 + header.utf8.count + 1) % 64 != 0 { header += " " }
    header += "\n"
    var data = Data([0x93, 0x4E, 0x55, 0x4D, 0x50, 0x59, 1, 0])
    let length = UInt16(header.utf8.count)
    data.append(contentsOf: [UInt8(length & 0xFF), UInt8(length >> 8)])
    data.append(contentsOf: Array(header.utf8))
    for s in strings {
      let scalars = Array(s.unicodeScalars)
      for i in 0..<width {
        let v = i < scalars.count ? scalars[i].value : 0
        data.append(contentsOf: [UInt8(v & 0xFF), UInt8((v >> 8) & 0xFF), UInt8((v >> 16) & 0xFF), UInt8(v >> 24)])
      }
    }
    return data
  }

  @Test func streamEqualsTheFilesItCameFrom() throws {
    let dir = CLI.directory()
    func path(_ s: String) -> String { dir.appendingPathComponent(s).path }
    let (t, p, w) = CLITests.data(7_000, seed: 12)
    let keys = (0..<t.count).map { ["US", "FR", "日本"][$0 % 3] }
    try NPYReader.write(t, shape: [t.count], to: path("t.npy"))
    try NPYReader.write(p, shape: [p.count], to: path("p.npy"))
    try NPYReader.write(w, shape: [w.count], to: path("w.npy"))
    try (keys.joined(separator: "\n") + "\n").write(toFile: path("k.csv"), atomically: true, encoding: .utf8)
    var stream = Data()
    for start in stride(from: 0, to: t.count, by: 2_500) {
      let r = start..<min(t.count, start + 2_500)
      stream += try Self.npy(Array(t[r]), in: dir) + Self.npy(Array(p[r]), in: dir) + Self.npy(Array(w[r]), in: dir)
      stream += Self.npyStrings(Array(keys[r]))
    }
    let metrics = ["--metric", "auc", "--metric", "mse", "--format", "json", "--quiet"]
    let streamed = try Self.run(
      ["evaluate", "--input", "npy-stream", "--stream-weight", "--stream-slice-keys", "1"] + metrics, input: stream)
    #expect(streamed.status == 0, "\(streamed.stderr)")
    let files = try CLI.run(
      [
        "evaluate", "--y-true", path("t.npy"), "--y-pred", path("p.npy"), "--sample-weight", path("w.npy"),
        "--slice-by", path("k.csv"), "--slice-by-column", "0", "--no-header",
      ] + metrics)
    #expect(files.status == 0, "\(files.stderr)")
    #expect(streamed.stdout == files.stdout)
    #expect(streamed.stdout.contains("\"日本\""))
  }

  @Test func stateOnStandardOutputAndTheEmptyStream() throws {
    let dir = CLI.directory()
    func path(_ s: String) -> String { dir.appendingPathComponent(s).path }
    let (t, p, _) = CLITests.data(3_000, seed: 2)
    let stream = try Self.npy(t, in: dir) + Self.npy(p, in: dir)
    let args = [
      "evaluate", "--input", "npy-stream", "--metric", "binary_accuracy", "--metric", "auc", "--save-state", "-",
    ]
    let full = try Self.run(args + ["--quiet"], input: stream)
    #expect(full.status == 0, "\(full.stderr)")
    let empty = try Self.run(args + ["--quiet"], input: Data())
    #expect(empty.status == 0, "\(empty.stderr)")
    // Only the state on standard output: it loads and merges.
    try Data(full.stdout.utf8).write(to: URL(fileURLWithPath: path("full.json")))
    try Data(empty.stdout.utf8).write(to: URL(fileURLWithPath: path("empty.json")))
    let alone = try CLI.run(["merge", path("full.json"), "--format", "json"])
    let merged = try CLI.run(["merge", path("empty.json"), path("full.json"), "--format", "json"])
    #expect(alone.status == 0 && merged.status == 0, "\(merged.stderr)")
    #expect(alone.stdout == merged.stdout)
    #expect(alone.stdout.contains("\"samples\": 3000"))
    // A metric over classes: its empty state too (no shapes to check).
    let classes = try Self.run(
      ["evaluate", "--input", "npy-stream", "--metric", "categorical_accuracy", "--save-state", "-", "--quiet"],
      input: Data())
    #expect(classes.status == 0, "\(classes.stderr)")
    #expect(classes.stdout.contains("\"samples\":0"))
  }

  @Test func badStreamsAreOneLineErrors() throws {
    let dir = CLI.directory()
    let (t, p, _) = CLITests.data(1_000, seed: 3)
    let good = try Self.npy(t, in: dir) + Self.npy(p, in: dir)
    let short = try Self.npy(Array(p[..<999]), in: dir)
    let cases: [(Data, [String], String)] = [
      (good.prefix(good.count - 10), [], "truncated"),
      (try Self.npy(t, in: dir), [], "ends inside batch 1"),
      (try Self.npy(t, in: dir) + short, [], "array 2 has 999 rows"),
      (Data("not npy at all".utf8), [], "magic string"),
      (good, ["--y-true", "x.npy"], "give no --y-true"),
      (good + Self.npyStrings(Array(repeating: "a", count: 1_000)), ["--stream-weight"], "must be numbers"),
    ]
    for (input, extra, message) in cases {
      let out = try Self.run(["evaluate", "--input", "npy-stream", "--metric", "auc", "--quiet"] + extra, input: input)
      #expect(out.status != 0)
      #expect(out.stderr.contains(message), "\(message): \(out.stderr)")
      #expect(out.stderr.split(separator: "\n").count == 1, "\(out.stderr)")
      #expect(out.stdout.isEmpty)
    }
  }
}
