import Foundation
import Tally
import Testing

/// `tally evaluate --slice-by ... --bootstrap ...` and `tally merge` of its
/// states.
@Suite struct SlicingCLITests {
  /// Labels, scores and two key columns (an integer device, a string
  /// country) written as .npy and CSV.
  static func write(_ n: Int, to dir: URL) throws -> (t: [Float], p: [Float], device: [Int64], country: [String]) {
    var g = SplitMix64(seed: 31)
    let t = (0..<n).map { _ in Float(Int.random(in: 0...1, using: &g)) }
    let p = t.map { min(1, max(0, 0.4 * $0 + Float.random(in: 0..<0.6, using: &g))) }
    let device = (0..<n).map { _ in Int64.random(in: 0...3, using: &g) }
    let names = ["US", "FR", "<script>", "a|b"]
    let country = (0..<n).map { _ in names[Int.random(in: 0..<names.count, using: &g)] }
    func path(_ s: String) -> String { dir.appendingPathComponent(s).path }
    try NPYReader.write(t, shape: [n], to: path("t.npy"))
    try NPYReader.write(p, shape: [n], to: path("p.npy"))
    try NPYReader.write(device, shape: [n], to: path("device.npy"))
    try NPYReader.write(device.map(Float.init), shape: [n], to: path("float_keys.npy"))
    var csv = "label,score,country\n"
    for i in 0..<n { csv += "\(Int(t[i])),\(p[i]),\"\(country[i])\"\n" }
    try csv.write(toFile: path("data.csv"), atomically: true, encoding: .utf8)
    return (t, p, device, country)
  }

  /// The JSON output (decoded with `JSONDecoder`, which reads numbers
  /// exactly; `JSONSerialization` can be 1 ulp off).
  struct Output: Decodable {
    var results: [String: Double?]
    var samples: Int
    var intervals: [String: Interval]?
    var slices: [String: Slice]?
  }
  struct Interval: Decodable {
    var ci: [Double]
    var stderr: Double
    var confidence: Double
    var replicates: Int
  }
  struct Slice: Decodable {
    var key: [SliceValue]
    var results: [String: Double?]?
    var samples: Int
    var weight: Double
    var intervals: [String: Interval]?
    var below_minimum_weight: Bool?
  }

  static func decode(_ s: String) throws -> Output { try JSONDecoder().decode(Output.self, from: Data(s.utf8)) }

  /// Slices the workers count (binary accuracy and AUC, unweighted: the
  /// slice counters, keys looked up in the table as rows are counted) give
  /// the output of the same rows with weights of 1 (which no counter
  /// takes: every batch through the metrics' weighted updates), byte for
  /// byte: random data sets of int64, int32 and uint8 keys, dense and
  /// sparse, far apart (the dictionary), at Int64's ends, new keys late in
  /// the file, on 1 to 3 threads (the larger files counted by two or three
  /// workers), in the default chunks or small ones.
  @Test func countedSlicesEqualUnitWeights() throws {
    var g = SplitMix64(seed: 77)
    for trial in 0..<10 {
      let dir = CLI.directory()
      func path(_ s: String) -> String { dir.appendingPathComponent(s).path }
      // (Even trials past a 2 MB piece, so that two workers count and their
      // counters are added.)
      let n = trial % 2 == 0 ? Int.random(in: 150_000...300_000, using: &g) : Int.random(in: 1...60_000, using: &g)
      let kind = trial % 6
      let keys: [Int64] = (0..<n).map { i in
        switch kind {
        case 0: Int64.random(in: 0..<Int64.random(in: 1...3_000, using: &g), using: &g)
        case 1: [Int64.min, -3, 0, 7, 1 << 40, Int64.max][Int.random(in: 0..<6, using: &g)]
        case 2: Int64.random(in: -100..<100, using: &g) &* 10_000_000_007
        case 3: i < n / 2 ? Int64.random(in: 0..<50, using: &g) : Int64.random(in: 0..<900, using: &g)
        case 4: Int64(i * 1_000 / n) - 500
        default: Int64.random(in: 0..<256, using: &g)
        }
      }
      let labels = (0..<n).map { _ in Float(Int.random(in: 0...1, using: &g)) }
      let scores = (0..<n).map { _ in Float(Int.random(in: 0...1_000, using: &g)) / 1_000 }
      try NPYReader.write(labels, shape: [n], to: path("t.npy"))
      try NPYReader.write(scores, shape: [n], to: path("p.npy"))
      try NPYReader.write([Float](repeating: 1, count: n), shape: [n], to: path("w.npy"))
      switch (kind, trial / 6) {
      case (5, _): try NPYReader.write(keys.map { UInt8($0) }, shape: [n], to: path("k.npy"))
      case (0, 1), (3, _), (4, _): try NPYReader.write(keys.map { Int32($0) }, shape: [n], to: path("k.npy"))
      default: try NPYReader.write(keys, shape: [n], to: path("k.npy"))
      }
      var arguments = [
        "evaluate", "--y-true", path("t.npy"), "--y-pred", path("p.npy"), "--metric", "binary_accuracy",
        "--metric", "auc", "--slice-by", path("k.npy"), "--format", "json", "--threads",
        "\(trial % 2 == 0 ? Int.random(in: 2...3, using: &g) : Int.random(in: 1...3, using: &g))",
      ]
      if Bool.random(using: &g) { arguments += ["--batch-size", "\(Int.random(in: 1_000...20_000, using: &g))"] }
      let counted = try CLI.run(arguments)
      let weighted = try CLI.run(arguments + ["--sample-weight", path("w.npy")])
      #expect(counted.status == 0 && weighted.status == 0, "\(counted.stderr) \(weighted.stderr)")
      #expect(counted.stdout == weighted.stdout, "trial \(trial): \(arguments.joined(separator: " "))")
    }
  }

  /// Shards with their row offsets, saved and merged in another order,
  /// print exactly what one run prints; so do other batch sizes and
  /// thread counts.
  @Test func shardedRunEqualsOneRun() throws {
    let dir = CLI.directory()
    func path(_ s: String) -> String { dir.appendingPathComponent(s).path }
    let n = 6_000
    let d = try Self.write(n, to: dir)
    let common = [
      "--metric", "auc", "--metric", "binary_accuracy", "--metric", "mse", "--bootstrap", "25", "--seed", "5",
      "--format", "json",
    ]
    let one = try CLI.run(
      ["evaluate", "--y-true", path("t.npy"), "--y-pred", path("p.npy"), "--slice-by", path("device.npy")] + common)
    #expect(one.status == 0, "\(one.stderr)")
    let other = try CLI.run(
      ["evaluate", "--y-true", path("t.npy"), "--y-pred", path("p.npy"), "--slice-by", path("device.npy")] + common
        + ["--batch-size", "777", "--threads", "3"])
    #expect(other.stdout == one.stdout)
    let cuts = [0, 2_000, 2_001, 6_000]
    for k in 0..<3 {
      let r = cuts[k]..<cuts[k + 1]
      try NPYReader.write(Array(d.t[r]), shape: [r.count], to: path("t\(k).npy"))
      try NPYReader.write(Array(d.p[r]), shape: [r.count], to: path("p\(k).npy"))
      try NPYReader.write(Array(d.device[r]), shape: [r.count], to: path("k\(k).npy"))
      let shard = try CLI.run(
        [
          "evaluate", "--y-true", path("t\(k).npy"), "--y-pred", path("p\(k).npy"), "--slice-by", path("k\(k).npy"),
          "--row-offset", "\(r.lowerBound)", "--save-state", path("s\(k).json"),
        ] + common)
      #expect(shard.status == 0, "\(shard.stderr)")
    }
    let merged = try CLI.run(["merge", path("s2.json"), path("s0.json"), path("s1.json"), "--format", "json"])
    #expect(merged.status == 0, "\(merged.stderr)")
    #expect(merged.stdout == one.stdout)
    // The same shard twice, or shards without their offsets: refused.
    let twice = try CLI.run(["merge", path("s0.json"), path("s0.json")])
    #expect(twice.status != 0 && twice.stderr.contains("disjoint rows"))
  }

  /// The JSON schema: results and samples as without slices, intervals
  /// per metric, slices by key with their own results, rows, weight and
  /// intervals; the values equal the library's.
  @Test func jsonSchemaAndLibraryValues() throws {
    let dir = CLI.directory()
    func path(_ s: String) -> String { dir.appendingPathComponent(s).path }
    let d = try Self.write(5_000, to: dir)
    let out = try CLI.run([
      "evaluate", "--metric", "binary_accuracy", "--y-true", path("t.npy"), "--y-pred", path("p.npy"),
      "--slice-by", path("device.npy"), "--bootstrap", "40", "--seed", "2", "--confidence", "0.9",
      "--format", "json", "--batch-size", "1000",
    ])
    #expect(out.status == 0, "\(out.stderr)")
    let json = try Self.decode(out.stdout)
    let keys = try #require(try JSONSerialization.jsonObject(with: Data(out.stdout.utf8)) as? [String: Any]).keys
    #expect(Set(keys) == ["results", "samples", "intervals", "slices"])
    var lib = Sliced(try Bootstrapped(BinaryAccuracy(), replicates: 40, seed: 2))
    try lib.update(
      yTrue: Tensor(d.t), yPred: Tensor(d.p), sampleWeight: nil, slices: SliceBatch([SliceColumn(d.device)]))
    #expect(json.results["binary_accuracy"] == lib.result().scalar)
    #expect(json.samples == 5_000)
    let interval = try #require(json.intervals?["binary_accuracy"])
    let expected = try lib.overall.interval(confidence: 0.9)
    #expect(interval.ci == [expected.low.scalar!, expected.high.scalar!])
    #expect(interval.stderr == expected.standardError.scalar)
    #expect(interval.confidence == 0.9)
    #expect(interval.replicates == 40)
    let slices = try #require(json.slices)
    #expect(Set(slices.keys) == ["0", "1", "2", "3"])
    for s in lib.sliceResults() {
      let entry = try #require(slices[s.key!.description])
      #expect(entry.key == s.key!.values)
      #expect(entry.results?["binary_accuracy"] == s.value?.scalar)
      #expect(entry.samples == Int(s.samples))
      #expect(entry.weight == s.weight)
      #expect(entry.below_minimum_weight == nil)
      let i = try s.metric.interval(confidence: 0.9)
      #expect(entry.intervals?["binary_accuracy"]?.ci == [i.low.scalar!, i.high.scalar!])
    }
  }

  /// Slice keys with every character JSON escapes (quotes, backslashes,
  /// slashes, each control character) and some it does not (non-ASCII,
  /// U+2028): the JSON output quotes each byte for byte as `JSONEncoder`
  /// does, and reads back as the key.
  @Test func keysAreQuotedAsJSONEncoderQuotesThem() throws {
    let dir = CLI.directory()
    func path(_ s: String) -> String { dir.appendingPathComponent(s).path }
    var keys = (1..<0x20).map { "c\(String(UnicodeScalar(UInt8($0))))d" }
    keys += [#"a"b"#, #"back\slash"#, "</script>", "é😀\u{2028}\u{7F}", "plain"]
    var csv = "label,score,key\n"
    for (i, k) in keys.enumerated() {
      csv += "\(i % 2),0.\(i % 10),\"\(k.replacingOccurrences(of: "\"", with: "\"\""))\"\n"
    }
    try csv.write(toFile: path("keys.csv"), atomically: true, encoding: .utf8)
    let out = try CLI.run([
      "evaluate", "--metric", "binary_accuracy", "--y-true", path("keys.csv"), "--y-pred", path("keys.csv"),
      "--slice-by-column", "key", "--format", "json",
    ])
    #expect(out.status == 0, "\(out.stderr)")
    let slices = try #require(try Self.decode(out.stdout).slices)
    #expect(Set(slices.keys) == Set(keys))
    for k in keys {
      let encoded = String(decoding: try JSONEncoder().encode(k), as: UTF8.self)
      #expect(out.stdout.contains("\(encoded): {\"key\": [\(encoded)]"), "\(encoded)")
    }
  }

  /// Crossed keys from CSV columns (strings, escaped in JSON), from the
  /// y-true file; the table prints one row per slice; a minimum weight.
  @Test func crossedCSVKeysAndTable() throws {
    let dir = CLI.directory()
    func path(_ s: String) -> String { dir.appendingPathComponent(s).path }
    let d = try Self.write(2_000, to: dir)
    let out = try CLI.run([
      "evaluate", "--metric", "binary_accuracy", "--y-true", path("data.csv"), "--y-pred", path("data.csv"),
      "--slice-by", path("data.csv"), "--slice-by-column", "country", "--slice-by", path("device.npy"),
      "--format", "json",
    ])
    #expect(out.status == 0, "\(out.stderr)")
    let slices = try #require(try Self.decode(out.stdout).slices)
    let expected = Set(zip(d.country, d.device).map { "\($0)|\($1)" })
    #expect(Set(slices.keys) == expected)
    #expect(slices["<script>|2"]?.key == [.string("<script>"), .int(2)])
    #expect(out.stdout.contains(#""<script>|2": {"key": ["<script>", 2]"#))
    let table = try CLI.run([
      "evaluate", "--metric", "binary_accuracy", "--y-true", path("data.csv"), "--y-pred", path("data.csv"),
      "--slice-by-column", "country", "--min-slice-weight", "520",
    ])
    #expect(table.status == 0, "\(table.stderr)")
    let lines = table.stdout.split(separator: "\n")
    #expect(lines.first?.hasPrefix("slice") == true)
    #expect(lines.count == 1 + 1 + 4 + 1)
    for name in ["<script>", "FR", "US", "a|b"] {
      let count = d.country.filter { $0 == name }.count
      let line = try #require(lines.first { $0.hasPrefix(name + " ") })
      #expect(line.contains("(below minimum weight)") == (count < 520), "\(line)")
    }
  }

  /// Each bad input: one line on stderr, a non-zero exit, no state file.
  @Test func badInputIsOneLineAndWritesNothing() throws {
    let dir = CLI.directory()
    func path(_ s: String) -> String { dir.appendingPathComponent(s).path }
    _ = try Self.write(3_000, to: dir)
    try NPYReader.write([Int64](repeating: 1, count: 10), shape: [10], to: path("short.npy"))
    let base = ["evaluate", "--metric", "auc", "--y-true", path("t.npy"), "--y-pred", path("p.npy")]
    let cases: [[String]] = [
      ["--bootstrap", "0"], ["--bootstrap=-4"], ["--bootstrap", "1000000"],
      ["--confidence", "0"], ["--confidence", "1"], ["--confidence", "1.5"],
      ["--slice-by", path("float_keys.npy")], ["--slice-by", path("short.npy")],
      ["--slice-by", path("device.npy"), "--max-slices", "3"], ["--slice-by", path("data.csv")],
      ["--slice-by", path("data.csv"), "--slice-by-column", "nope"], ["--slice-by-column", "country"],
      ["--row-offset=-1"],
    ]
    for (k, extra) in cases.enumerated() {
      let state = path("state\(k).json")
      let out = try CLI.run(base + extra + ["--save-state", state])
      #expect(out.status != 0, "\(extra)")
      #expect(out.stdout.isEmpty, "\(extra)")
      #expect(out.stderr.split(separator: "\n").count == 1, "\(extra): \(out.stderr)")
      #expect(!FileManager.default.fileExists(atPath: state), "\(extra)")
    }
  }
}
