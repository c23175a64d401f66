// The standard workloads W1–W10 (../shared/bench/WORKLOADS.md), in-process.
//
//   tally-bench [--data DIR] [WORKLOAD]
//
// With `--data DIR` the inputs are the files `python3 peers.py write-data DIR`
// writes (w1_y_true.npy, w1_y_pred.npy, w3_labels.npy, w3_logits.npy,
// w4_y_true.npy, w4_y_pred.npy, w5_y_true.npy, w5_y_pred.npy, w6_probs.npy,
// w10.csv), read with Tally's own readers, so that Tally and the peers measure
// the very same bytes. Without it (a fallback, for a quick run) the data are
// generated here with a seeded generator and the same distributions, so the
// results agree with the peers' only to the sampling noise.
//
// One line per workload, as peers.py:
//   tally WORKLOAD seconds Mrows/s result peak_rss_MB
import Foundation
import Tally

@inline(never) func opaque<T>(_ x: T) -> T { x }

/// Peak resident memory since the last reset (Linux: /proc), in MB.
func peakRSSMB() -> Double {
  guard let s = try? String(contentsOfFile: "/proc/self/status", encoding: .utf8) else { return .nan }
  for line in s.split(separator: "\n") where line.hasPrefix("VmHWM:") {
    let kb = Double(line.split(separator: " ").dropFirst().first ?? "") ?? .nan
    return kb / 1024
  }
  return .nan
}

func resetPeakRSS() {
  try? "5".write(toFile: "/proc/self/clear_refs", atomically: false, encoding: .utf8)
}

/// Timed passes per workload after the warm-up: the best is reported, as
/// floor.c reports the best of its 9 (peers.py takes the best of 3).
let passes = 9

func run(_ name: String, rows: Int, passes: Int = passes, _ body: () throws -> Double) rethrows {
  _ = try body()  // warm-up
  var best = Double.infinity
  var result = 0.0
  resetPeakRSS()
  for _ in 0..<passes {
    let t = Date()
    result = try body()
    best = min(best, Date().timeIntervalSince(t))
  }
  // The result with 12 significant digits, so that a comparison can check it
  // beyond float32 rounding (W9 against scikit-learn to 1e-9).
  let line = String(
    format: "tally %@ %.4f %.1f %.12g %.0f", name, best, Double(rows) / best / 1e6, result, peakRSSMB())
  print(line)
  fflush(nil)
}

var g = SplitMix64(seed: 7)
@MainActor func uniform() -> Float { Float(g.next() >> 40) / Float(1 << 24) }
@MainActor func normal() -> Float {
  let u1 = max(Double(g.next() >> 11) / Double(1 << 53), 1e-300)
  let u2 = Double(g.next() >> 11) / Double(1 << 53)
  return Float((-2 * log(u1)).squareRoot() * cos(2 * Double.pi * u2))
}

func fail(_ message: String) -> Never {
  FileHandle.standardError.write(Data(("tally-bench: " + message + "\n").utf8))
  exit(2)
}

/// The arguments: `--data DIR` and an optional workload filter, in any order.
func parseArguments() -> (dataDir: String?, only: String?) {
  var dataDir: String?
  var only: String?
  var args = CommandLine.arguments.dropFirst()[...]
  while let a = args.popFirst() {
    if a == "--data" {
      guard let d = args.popFirst() else { fail("--data needs a directory") }
      dataDir = d
    } else if a.hasPrefix("--data=") {
      dataDir = String(a.dropFirst("--data=".count))
    } else if a == "-h" || a == "--help" {
      print("usage: tally-bench [--data DIR] [WORKLOAD]   (DIR: written by `peers.py write-data DIR`)")
      exit(0)
    } else if only == nil, !a.hasPrefix("-") {
      only = a
    } else {
      fail("unexpected argument \(a)")
    }
  }
  return (dataDir, only)
}
let (dataDir, only) = parseArguments()

/// Whether the filter (a workload's name or a prefix of it: `W2`,
/// `W2_auc_roc_10000`) selects workload `w` or a group it belongs to.
/// A number is not cut: `W1` does not select `W10`, nor `W10` `W1`.
func wants(_ w: String) -> Bool {
  func starts(_ s: String, with p: String) -> Bool {
    guard s.hasPrefix(p) else { return false }
    let next = s.dropFirst(p.count).first
    return !(p.last?.isNumber == true && next?.isNumber == true)
  }
  return only.map { starts(w, with: $0) || starts($0, with: w) } ?? true
}

/// The elements of `DIR/name.npy` (read with Tally's `NPYReader`), which
/// must hold `T` and have `shape`.
func load<T: TensorScalar>(_ name: String, as _: T.Type, shape: [Int]) -> [T] {
  let path = (dataDir! as NSString).appendingPathComponent(name + ".npy")
  do {
    let file = try NPYReader(path: path)
    guard file.shape == shape else { fail("\(path): shape \(file.shape), expected \(shape)") }
    guard let values = try file.readAll().scalars(as: T.self) else {
      fail("\(path): dtype \(file.descr), expected \(T.self)")
    }
    return values
  } catch {
    fail("\(path): \(error)")
  }
}

let N = 10_000_000
let B = 1_000_000
var yt: [Float]
var yp: [Float]
if dataDir != nil {
  yt = load("w1_y_true", as: Float.self, shape: [N])
  yp = load("w1_y_pred", as: Float.self, shape: [N])
} else {
  yt = [Float](repeating: 0, count: N)
  yp = [Float](repeating: 0, count: N)
  for i in 0..<N {
    yt[i] = uniform() < 0.3 ? 1 : 0
    yp[i] = uniform() * 0.6 + yt[i] * 0.4
  }
}

func stream<M: PredictionMetric>(_ make: () throws -> M, _ t: [Float], _ p: [Float], batch: Int, row: Int = 1)
  throws -> Double
{
  var m = try make()
  let t = opaque(t)
  let p = opaque(p)
  try t.withUnsafeBufferPointer { tb in
    try p.withUnsafeBufferPointer { pb in
      let rows = tb.count / row
      for start in stride(from: 0, to: rows, by: batch) {
        let n = min(batch, rows - start)
        let shape = row == 1 ? [n] : [n, row]
        try Tensor.withBorrowed(UnsafeBufferPointer(rebasing: tb[(start * row)..<((start + n) * row)]), shape: shape) {
          yT in
          try Tensor.withBorrowed(UnsafeBufferPointer(rebasing: pb[(start * row)..<((start + n) * row)]), shape: shape)
          { yP in
            try m.update(yTrue: yT, yPred: yP, sampleWeight: nil)
          }
        }
      }
    }
  }
  return m.result().values.first ?? .nan
}

if wants("W1") { try run("W1_binary_accuracy", rows: N) { try stream({ BinaryAccuracy() }, yt, yp, batch: B) } }
if wants("W2_auc_roc_200") {
  try run("W2_auc_roc_200", rows: N) { try stream({ try AUC(numThresholds: 200) }, yt, yp, batch: B) }
}
if wants("W2_auc_roc_10000") {
  try run("W2_auc_roc_10000", rows: N) { try stream({ try AUC(numThresholds: 10_000) }, yt, yp, batch: B) }
}
if wants("W7") {
  try run("W7_precision_0.5", rows: N) { try stream({ try Precision(thresholds: [0.5]) }, yt, yp, batch: B) }
}
if wants("W9") {
  // Fewer passes: one pass sorts ten million scores.
  try run("W9_exact_auc", rows: N, passes: 3) { try stream({ ExactAUC() }, yt, yp, batch: B) }
}

// Not standard workloads: W1's data through binary accuracy and AUC together
// (the plain pass), with a 200-replicate Poisson bootstrap, and with 1,000
// slices (a key per row, uniform in 0..<1000), in 10 batches as W1.
if wants("E") {
  var keyGenerator = SplitMix64(seed: 99)
  let keys = (0..<N).map { _ in Int64(keyGenerator.next() % 1000) }
  func evaluate<M: Metric>(_ make: () throws -> M, _ visit: (inout M, Tensor, Tensor, Range<Int>) throws -> Void)
    throws -> Double
  {
    var m = try make()
    let t = opaque(yt)
    let p = opaque(yp)
    for start in stride(from: 0, to: N, by: B) {
      let r = start..<min(N, start + B)
      try visit(&m, Tensor(Array(t[r])), Tensor(Array(p[r])), r)
    }
    return m.result().values.first ?? .nan
  }
  func plain<M: PredictionMetric>(_ make: () throws -> M) throws -> Double {
    try evaluate(make) { m, t, p, _ in try m.update(yTrue: t, yPred: p, sampleWeight: nil) }
  }
  /// Both metrics updated together (as `tally evaluate` updates them): the
  /// sum of their results.
  func together(_ make: () throws -> [any Metric], sliced: Bool) throws -> Double {
    var ms = try make()
    let t = opaque(yt)
    let p = opaque(yp)
    for start in stride(from: 0, to: N, by: B) {
      let r = start..<min(N, start + B)
      try updateTogether(
        &ms, yTrue: Tensor(Array(t[r])), yPred: Tensor(Array(p[r])), sampleWeight: nil,
        slices: sliced ? SliceBatch([SliceColumn(Array(keys[r]))]) : nil,
        rows: .contiguous(first: Int64(start), count: r.count))
    }
    return ms.reduce(0) { $0 + ($1.result().values.first ?? .nan) }
  }
  if wants("E1") {
    try run("E1_plain_accuracy_auc", rows: N) { try plain({ BinaryAccuracy() }) + plain({ try AUC() }) }
  }
  if wants("E2") {
    try run("E2_bootstrap200_accuracy_auc", rows: N, passes: 1) {
      let b = try PoissonBootstrap(replicates: 200, seed: 1)
      return try together(
        { [Bootstrapped(BinaryAccuracy(), bootstrap: b), Bootstrapped(try AUC(), bootstrap: b)] }, sliced: false)
    }
  }
  if wants("E3") {
    try run("E3_slices1000_accuracy_auc", rows: N, passes: 3) {
      try together({ [Sliced(BinaryAccuracy()), Sliced(try AUC())] }, sliced: true)
    }
  }
}

if wants("W5") {
  var rt: [Float]
  var rp: [Float]
  if dataDir != nil {
    rt = load("w5_y_true", as: Float.self, shape: [N])
    rp = load("w5_y_pred", as: Float.self, shape: [N])
  } else {
    rt = [Float](repeating: 0, count: N)
    rp = [Float](repeating: 0, count: N)
    for i in 0..<N {
      rt[i] = normal()
      rp[i] = rt[i] + normal() * 0.1
    }
  }
  try run("W5_mse", rows: N) { try stream({ MeanSquaredError() }, rt, rp, batch: B) }
}

if wants("W4") {
  let pixels = 8 * 512 * 512
  var st: [Int64]
  var sp: [Int64]
  if dataDir != nil {
    st = load("w4_y_true", as: Int64.self, shape: [8, 512, 512])
    sp = load("w4_y_pred", as: Int64.self, shape: [8, 512, 512])
  } else {
    st = [Int64](repeating: 0, count: pixels)
    sp = [Int64](repeating: 0, count: pixels)
    for i in 0..<pixels {
      st[i] = Int64(g.next() % 21)
      sp[i] = uniform() < 0.7 ? st[i] : Int64(g.next() % 21)
    }
  }
  try run("W4_mean_iou_21", rows: pixels) {
    var m = try MeanIoU(numClasses: 21)
    let st = opaque(st)
    let sp = opaque(sp)
    try st.withUnsafeBufferPointer { tb in
      try sp.withUnsafeBufferPointer { pb in
        for k in 0..<8 {
          let r = (k * 512 * 512)..<((k + 1) * 512 * 512)
          try Tensor.withBorrowed(UnsafeBufferPointer(rebasing: tb[r]), shape: [1, 512, 512]) { yT in
            try Tensor.withBorrowed(UnsafeBufferPointer(rebasing: pb[r]), shape: [1, 512, 512]) { yP in
              try m.update(yTrue: yT, yPred: yP, sampleWeight: nil)
            }
          }
        }
      }
    }
    return m.result().scalar!
  }
}

if wants("W3") || wants("W6") || wants("W8") {
  let NC = 200_000
  let C = 1000
  let BC = 20_000
  /// The index of the first maximum of row `r` of `scores`.
  func argmax(_ scores: [Float], row r: Int) -> Int {
    var best = 0
    for j in 1..<C where scores[r * C + j] > scores[r * C + best] { best = j }
    return best
  }
  var logits: [Float]
  let labels: [Int64]
  if dataDir != nil {
    logits = load("w3_logits", as: Float.self, shape: [NC, C])
    labels = load("w3_labels", as: Int64.self, shape: [NC])
  } else {
    logits = [Float](repeating: 0, count: NC * C)
    for i in logits.indices { logits[i] = normal() }
    // A realistic classifier, as peers.py: the label is the row's argmax for
    // 80 % of rows and a random class otherwise.
    labels = (0..<NC).map { r in uniform() < 0.8 ? Int64(argmax(logits, row: r)) : Int64(g.next() % UInt64(C)) }
  }
  func classes<M: PredictionMetric>(_ make: () throws -> M, _ scores: [Float], labels: [Int64] = labels) throws
    -> Double
  {
    var m = try make()
    let scores = opaque(scores)
    let labels = opaque(labels)
    try scores.withUnsafeBufferPointer { sb in
      try labels.withUnsafeBufferPointer { lb in
        for start in stride(from: 0, to: NC, by: BC) {
          try Tensor.withBorrowed(UnsafeBufferPointer(rebasing: lb[start..<(start + BC)]), shape: [BC]) { yT in
            try Tensor.withBorrowed(
              UnsafeBufferPointer(rebasing: sb[(start * C)..<((start + BC) * C)]), shape: [BC, C]
            ) { yP in
              try m.update(yTrue: yT, yPred: yP, sampleWeight: nil)
            }
          }
        }
      }
    }
    return m.result().scalar!
  }
  if wants("W3") {
    try run("W3_sparse_categorical_accuracy", rows: NC) { try classes({ SparseCategoricalAccuracy() }, logits) }
  }
  if wants("W8") {
    try run("W8_top5_accuracy", rows: NC) { try classes({ try SparseTopKCategoricalAccuracy(k: 5) }, logits) }
  }
  // Not standard workloads: W3 and W8 with every label at its row's argmax.
  // The accuracy checks read every row whole, right or wrong, so these take
  // as long as the realistic rows (they were the slow case when a wrong
  // prediction stopped the scan at the first score beating the label's).
  if wants("W3") || wants("W8") {
    let argmaxLabels = (0..<NC).map { r in Int64(argmax(logits, row: r)) }
    if wants("W3") {
      try run("W3_sparse_categorical_accuracy_all_right", rows: NC) {
        try classes({ SparseCategoricalAccuracy() }, logits, labels: argmaxLabels)
      }
    }
    if wants("W8") {
      try run("W8_top5_accuracy_all_right", rows: NC) {
        try classes({ try SparseTopKCategoricalAccuracy(k: 5) }, logits, labels: argmaxLabels)
      }
    }
  }
  if wants("W6") {
    var probs = dataDir != nil ? load("w6_probs", as: Float.self, shape: [NC, C]) : logits
    if dataDir == nil {
      for r in 0..<NC {
        var m: Float = -.infinity
        for j in 0..<C { m = max(m, probs[r * C + j]) }
        var s: Float = 0
        for j in 0..<C {
          probs[r * C + j] = Foundation.exp(probs[r * C + j] - m)
          s += probs[r * C + j]
        }
        for j in 0..<C { probs[r * C + j] /= s }
      }
    }
    try run("W6_sparse_categorical_crossentropy", rows: NC) { try classes({ SparseCategoricalCrossentropy() }, probs) }
  }
}

// W10: binary accuracy on the first 2,000,000 rows of W1's data as
// `label,score` text (DIR/w10.csv; without --data, a file written here the
// way peers.py writes it), read with Tally's CSVReader (`nextColumns`, the
// batch size `tally evaluate` uses) in-process. The end-to-end figure of
// `tally evaluate` on the same file is measured by compare-benchmarks.py.
if wants("W10") {
  let csvRows = 2_000_000
  let path: String
  if let dataDir {
    path = (dataDir as NSString).appendingPathComponent("w10.csv")
  } else {
    path = NSTemporaryDirectory() + "tally-bench-w10-\(getpid()).csv"
    var text = "label,score\n"
    text.reserveCapacity(csvRows * 12)
    for i in 0..<csvRows { text += String(format: "%d,%.7g\n", Int(yt[i]), Double(yp[i])) }
    do { try text.write(toFile: path, atomically: false, encoding: .utf8) } catch { fail("\(path): \(error)") }
  }
  defer { if dataDir == nil { unlink(path) } }
  try run("W10_csv_binary_accuracy", rows: csvRows, passes: 5) {
    var csv = try CSVReader(path: path)
    guard let label = csv.columnIndex(named: "label"), let score = csv.columnIndex(named: "score") else {
      fail("\(path): no label and score columns")
    }
    var m = BinaryAccuracy()
    var rows = 0
    while let columns = try csv.nextColumns(65_536, columns: [label, score]) {
      try m.update(yTrue: Tensor(columns[0]), yPred: Tensor(columns[1]), sampleWeight: nil)
      rows += columns[0].count
    }
    guard rows == csvRows else { fail("\(path): \(rows) rows, expected \(csvRows)") }
    return m.result().values.first ?? .nan
  }
}
