import ArgumentParser
import Dispatch
import Foundation
@_spi(Internals) import Tally

/// Where `tally evaluate` reads rows from.
enum InputKind: String, ExpressibleByArgument, CaseIterable {
  /// `--y-true`, `--y-pred` and the other file options.
  case files
  /// Standard input: batches of `.npy` arrays back to back.
  case npyStream = "npy-stream"
}

/// Output formats.
enum OutputFormat: String, ExpressibleByArgument, CaseIterable {
  case table, json
}

/// How a metric reads a rank-1 file, from its declaration: an element-wise
/// mean streams rows as `(rows, 1)` (for a rank-1 file Keras reduces the
/// whole array to one sample, which equals the mean over its elements); a
/// class axis needs `y_pred` of rank 2.
func declaredInput(_ className: String) -> MetricInput {
  MetricRegistry.declaration(for: className)?.input ?? .samples
}

/// Merges two metrics of one type held as existentials.
func mergeAny(_ a: any Metric, _ b: any Metric) throws -> any Metric {
  func open<M: Metric>(_ a: M) throws -> any Metric {
    guard let b = b as? M else { throw CommandError("cannot merge \(M.className) with \(type(of: b).className)") }
    var m = a
    try m.merge(b)
    return m
  }
  return try open(a)
}

/// Unique result names, Keras-style: the second `mse` is `mse_1`. Names as
/// given are taken first, so a repeat never takes a name that another
/// metric has (`auc`, `auc` and a metric named `auc_1` are `auc`, `auc_2`
/// and `auc_1`).
func uniqueNames(_ names: [String]) -> [String] {
  var taken = Set<String>()
  var out = [String?](repeating: nil, count: names.count)
  // First occurrences keep their names.
  for (i, n) in names.enumerated() where !taken.contains(n) {
    taken.insert(n)
    out[i] = n
  }
  var next: [String: Int] = [:]
  for (i, n) in names.enumerated() where out[i] == nil {
    var k = next[n] ?? 1
    while taken.contains("\(n)_\(k)") { k += 1 }
    taken.insert("\(n)_\(k)")
    next[n] = k + 1
    out[i] = "\(n)_\(k)"
  }
  return out.map { $0! }
}

extension TallyCommand {
  struct Evaluate: ParsableCommand {
    static let configuration = CommandConfiguration(
      commandName: "evaluate",
      abstract: "Evaluate metrics on prediction files (.npy or CSV), streaming, on all cores.",
      discussion: """
        The result is what Keras returns for one update_state(y_true, y_pred, sample_weight) \
        over the whole arrays, however the files are chunked and threaded. The first axis of a \
        .npy file is the sample axis. A CSV column is a rank-1 array; several columns are a \
        (rows, columns) array (one-hot labels, class scores).

        Examples:
          tally evaluate --metric auc --metric binary_accuracy --y-true y.npy --y-pred p.npy
          tally evaluate --metric '{"class_name": "AUC", "config": {"num_thresholds": 500}}' \\
                         --y-true data.csv --y-true-columns label --y-pred data.csv --y-pred-columns score
        """
    )

    @Option(
      name: .customLong("metric"),
      help: "A Keras metric identifier (auc, mse, ...) or serialized config JSON. Repeatable.")
    var metrics: [String] = []

    @Option(name: .customLong("y-true"), help: "Labels: a .npy file, or CSV.")
    var yTrueOption: String?

    @Option(name: .customLong("y-pred"), help: "Predictions: a .npy file, or CSV.")
    var yPredOption: String?

    /// The labels' path (checked present by ``checkInputs()``).
    var yTrue: String { yTrueOption ?? "" }
    /// The predictions' path (checked present by ``checkInputs()``).
    var yPred: String { yPredOption ?? "" }

    @Option(
      help: ArgumentHelp(
        "Where rows come from: files (--y-true, --y-pred, ...) or npy-stream.",
        discussion:
          "npy-stream reads standard input: batches of .npy arrays back to back (as np.save writes them), each batch y_true, y_pred, then the weight (--stream-weight) and N slice-key arrays (--stream-slice-keys N; integers or strings), all of the same number of rows. An empty stream gives the empty state. One process per partition of an engine; see python/README.md."
      ))
    var input: InputKind = .files

    @Flag(name: .customLong("stream-weight"), help: "npy-stream: each batch has a sample-weight array after y_pred.")
    var streamWeight = false

    @Option(
      name: .customLong("stream-slice-keys"),
      help: "npy-stream: each batch ends with this many slice-key arrays (crossed when several).")
    var streamSliceKeys = 0

    /// Both inputs given (optional to the parser because `tally report`
    /// can draw from state files instead).
    func checkInputs() throws {
      if input == .npyStream {
        guard yTrueOption == nil, yPredOption == nil, sampleWeight == nil, sliceBy.isEmpty, sliceByColumn.isEmpty
        else {
          throw CommandError(
            "--input npy-stream reads every array from standard input; give no --y-true, --y-pred, --sample-weight or --slice-by"
          )
        }
        guard (0...64).contains(streamSliceKeys) else {
          throw CommandError("--stream-slice-keys must be in 0...64; received \(streamSliceKeys)")
        }
        return
      }
      guard streamSliceKeys == 0, !streamWeight else {
        throw CommandError("--stream-weight and --stream-slice-keys go with --input npy-stream")
      }
      guard yTrueOption != nil, yPredOption != nil else {
        throw CommandError("give --y-true and --y-pred (the labels and the predictions)")
      }
    }

    @Option(name: .customLong("sample-weight"), help: "Per-sample weights: a .npy file, or CSV.")
    var sampleWeight: String?

    @Option(
      name: .customLong("batch-size"),
      help:
        "Rows per chunk (default 65,536; 1,048,576 with slices or a bootstrap, whose per-slice and per-replicate work is per chunk, and for .npy files the workers read in pieces)."
    )
    var batchSize: Int?

    /// The chunk size: as given, or the default for the run (large when
    /// the workers read the rows in pieces: a chunk is then only a range).
    func rowsPerChunk(pieces: Bool) -> Int {
      batchSize ?? (sliceBy.isEmpty && sliceByColumn.isEmpty && bootstrap == nil && !pieces ? 65_536 : 1 << 20)
    }

    /// The chunk size for `rows` rows on `workers` workers: as given, or the
    /// default made a little smaller, when the rows are known, so that the
    /// last round of chunks keeps every worker busy (10,000,000 rows on 2
    /// workers: ten chunks of 1,000,000, not nine of 1,048,576 and one of
    /// 562,816 that one worker reads while the other waits).
    func evenChunk(rows: Int?, workers: Int, pieces: Bool) -> Int {
      let size = rowsPerChunk(pieces: pieces)
      guard batchSize == nil, let rows, rows > 0 else { return size }
      let (round, overflow) = size.multipliedReportingOverflow(by: workers)
      guard !overflow else { return size }
      let rounds = (rows - 1) / round + 1
      return (rows - 1) / (rounds * workers) + 1
    }

    @Option(help: "Worker threads (the default is the number of cores).")
    var threads: Int = ProcessInfo.processInfo.activeProcessorCount

    @Option(help: "Output format: table or json.")
    var format: OutputFormat = .table

    @Option(name: .customLong("save-state"), help: "Write the metrics' state here, for `tally merge`.")
    var saveState: String?

    @Option(
      name: .customLong("y-true-columns"),
      help: "CSV: label columns (0-based indices or header names, comma-separated). Default: column 0.")
    var yTrueColumns: String?

    @Option(
      name: .customLong("y-pred-columns"),
      help: "CSV: prediction columns. Default: column 1 if y-true and y-pred are the same file, else column 0.")
    var yPredColumns: String?

    @Option(
      name: .customLong("sample-weight-columns"),
      help: "CSV: the weight column. Default: column 2 if all inputs are one file, else column 0.")
    var sampleWeightColumns: String?

    @Option(help: "CSV: the field separator.")
    var separator: String = ","

    @Flag(inversion: .prefixedNo, help: "CSV: whether the first row is a header (default: detected).")
    var header: Bool? = nil

    @Flag(help: "No progress display.")
    var quiet = false

    @Flag(
      inversion: .prefixedNo,
      help:
        "npy: map files into memory (default), or read every file with pread(2). Files whose rows are narrow (all the inputs within 512 bytes a row) are read by the workers in pieces either way; wider ones are read in place from the mapping. Map only files that no other program changes while tally reads them."
    )
    var map: Bool = true

    @Option(
      name: .customLong("slice-by"),
      help:
        "Slice keys: a .npy of integer keys (one per row), or a CSV file (with --slice-by-column). Repeatable: several cross (country × device)."
    )
    var sliceBy: [String] = []

    @Option(
      name: .customLong("slice-by-column"),
      help:
        "CSV: the key column (name or 0-based index) of the matching --slice-by file, or of --y-true without --slice-by. Repeatable."
    )
    var sliceByColumn: [String] = []

    @Option(name: .customLong("min-slice-weight"), help: "Slices of less weight are reported without values.")
    var minSliceWeight: Double = 0

    @Option(name: .customLong("max-slices"), help: "The most distinct slice keys accepted.")
    var maxSlices: Int = 10_000

    @Option(help: "Poisson-bootstrap replicates for confidence intervals (200 is a good value; default: none).")
    var bootstrap: Int?

    @OptionGroup var limits: StateMemoryOption

    @Option(help: "The confidence level of the intervals, in (0, 1).")
    var confidence: Double = 0.95

    @Option(help: "The bootstrap's seed.")
    var seed: Int64 = 0

    @Option(
      name: .customLong("row-offset"),
      help: "The global index of the first row (for shards of one dataset: the rows before this shard).")
    var rowOffset: Int64 = 0

    /// The most worker threads (each holds a chunk and a copy of the
    /// metrics' states).
    static let maximumThreads = 1_024
    /// The most rows per chunk (a sliced batch indexes rows with 32 bits).
    static let maximumBatchSize = Int(Int32.max) - 1

    func validate() throws {
      if let batchSize, batchSize < 1 || batchSize > Self.maximumBatchSize {
        throw ValidationError("--batch-size must be in 1...\(Self.maximumBatchSize); received \(batchSize)")
      }
      guard threads >= 1, threads <= Self.maximumThreads else {
        throw ValidationError("--threads must be in 1...\(Self.maximumThreads); received \(threads)")
      }
      guard separator.count == 1 else {
        throw ValidationError("--separator must be one character; received \"\(separator)\"")
      }
    }

    /// The checks of the slicing and bootstrap options (one-line errors).
    func plan() throws -> EvaluationPlan {
      var plan = EvaluationPlan()
      if let bootstrap {
        guard bootstrap >= 1 else { throw CommandError("--bootstrap must be at least 1; received \(bootstrap)") }
        plan.bootstrap = try PoissonBootstrap(replicates: bootstrap, seed: seed)
      }
      try checkConfidence(confidence)
      guard rowOffset >= 0 else { throw CommandError("--row-offset must be ≥ 0; received \(rowOffset)") }
      guard maxSlices >= 1 else { throw CommandError("--max-slices must be at least 1; received \(maxSlices)") }
      guard minSliceWeight.isFinite else {
        throw CommandError("--min-slice-weight must be a finite number; received \(minSliceWeight)")
      }
      if !sliceBy.isEmpty || !sliceByColumn.isEmpty || (input == .npyStream && streamSliceKeys > 0) {
        plan.slicing = (minSliceWeight, maxSlices)
      }
      return plan
    }

    func run() throws {
      keepFreedMemory()
      do {
        guard !metrics.isEmpty else { throw CommandError("give at least one --metric") }
        try limits.apply()
        try evaluate()
      } catch let e as ValidationError {
        throw e
      } catch {
        printError("tally: error: \(error)")
        throw ExitCode.failure
      }
    }

    /// The `--metric` values as specs.
    func specs() throws -> [MetricSpec] {
      try metrics.map { s in
        let trimmed = s.trimmingCharacters(in: .whitespaces)
        if trimmed.hasPrefix("{") { return .config(try KerasConfig(json: trimmed)) }
        return .identifier(trimmed)
      }
    }

    func open(_ path: String, _ columns: String?, default d: Int, shared: SharedCSVFiles? = nil) throws
      -> any RowSource
    {
      try openSource(
        path, columns: columns, defaultColumns: [d], separator: separator.first!, header: header, map: map,
        shared: shared)
    }

    func evaluate() throws {
      let specs = try specs()
      let result = try pass(specs: { _, _ in specs }, extras: { _, _ in [] })
      let report = try EvaluationReport(
        names: result.names, metrics: result.metrics, samples: result.rows, confidence: confidence)
      if let saveState {
        try StateFiles.write(
          saveState, samples: result.rows, rowOffset: rowOffset, metrics: Array(zip(result.names, result.metrics)))
      }
      // With the state on standard output, nothing else goes there.
      if saveState != "-" { print(format == .json ? report.json : report.table) }
    }

    /// What one pass over the inputs gives: the named metrics (wrapped in
    /// slices and bootstraps as asked), the extra metrics beside them, and
    /// the number of rows.
    /// (A sliced metric may hold its slices' counts back: every read adds
    /// them; ``SlicedMetric/settle()`` pays that once before many reads.)
    struct Pass {
      var names: [String]
      var metrics: [any Metric]
      var extras: [any Metric]
      var rows: Int
    }

    /// Reads the inputs once, on `threads` workers, updating the metrics of
    /// `specs` (chosen from the first chunk's labels and predictions) and,
    /// unwrapped, those of `extras` (the report's curves and samples).
    func pass(
      specs specsFor: (Tensor, Tensor) throws -> [MetricSpec],
      extras extrasFor: (Tensor, Tensor) throws -> [any Metric]
    ) throws -> Pass {
      try checkInputs()
      let plan = try plan()
      var specCount = 0
      let sameFile = yTrue == yPred
      let allSame = sameFile && (sampleWeight == nil || sampleWeight == yTrue)
      var t: any RowSource
      var p: any RowSource
      var w: (any RowSource)?
      var keys: [SliceSource]
      if input == .npyStream {
        let batches = StreamBatches(fileDescriptor: 0, width: 2 + (streamWeight ? 1 : 0) + streamSliceKeys)
        t = StreamSource(batches: batches, index: 0, name: "y_true")
        p = StreamSource(batches: batches, index: 1, name: "y_pred")
        w = streamWeight ? StreamSource(batches: batches, index: 2, name: "sample weight") : nil
        let first = streamWeight ? 3 : 2
        keys = (0..<streamSliceKeys).map { .stream(batches, index: first + $0) }
      } else {
        // Inputs from one CSV file read it once.
        let shared = SharedCSVFiles()
        t = try open(yTrue, yTrueColumns, default: 0, shared: shared)
        p = try open(yPred, yPredColumns, default: sameFile ? 1 : 0, shared: shared)
        w = try sampleWeight.map { try open($0, sampleWeightColumns, default: allSame ? 2 : 0, shared: shared) }
        keys = try SliceSource.open(
          files: sliceBy, columns: sliceByColumn, yTrue: yTrue, separator: separator.first!, header: header, map: map)
      }
      for (path, other) in [(yPred, p.knownRows), (sampleWeight ?? "", w?.knownRows)]
        + keys.map({ ($0.path, $0.knownRows) })
      {
        if let a = t.knownRows, let b = other, a != b {
          throw CommandError("the inputs have different numbers of rows: \(yTrue) has \(a), \(path) has \(b)")
        }
      }
      let totalRows = t.knownRows
      var progress = RowProgress(total: totalRows, enabled: !quiet && stderrIsTerminal)
      let workerCount = max(1, threads)
      // Narrow `.npy` inputs are read by the workers, a piece at a time
      // (PieceReading): the main thread hands out row ranges. Not with a
      // bootstrap, whose work per replicate is per batch (W1 with 200
      // replicates took 20 % longer in pieces).
      let pieces =
        input == .npyStream || bootstrap != nil ? nil : PieceReading(yTrue: t, yPred: p, weight: w, keys: keys)
      let rowsPerChunk = evenChunk(rows: totalRows, workers: workerCount, pieces: pieces != nil)

      // Read chunks in order; process them on `threads` workers, each with
      // its own metrics, merged at the end in worker order.
      var workers: [[any Metric]] = []
      var names: [String] = []
      var reshape: [Bool] = []
      var rows = 0
      var pending: [Chunk] = []

      // With one column of slice keys, each worker's slices of metrics
      // that count cells go through a counter of its own, kept across its
      // chunks (SliceCounter); after the last chunk the counters are added
      // together and handed to the first worker's metrics.
      let counters = keys.count == 1 ? (0..<workerCount).map { _ in SliceCounter() } : []

      // Or, when the workers read the rows themselves, the row ranges and
      // their first global indices, and each worker's buffers.
      var pendingFiles: [(Range<Int>, Int64)] = []
      let buffers = pieces.map { r in (0..<workerCount).map { _ in r.buffers() } } ?? []

      /// The global index of the next chunk's first row.
      func firstIndex() throws -> Int64 {
        let (first, overflow) = rowOffset.addingReportingOverflow(Int64(rows))
        guard !overflow else { throw CommandError("--row-offset \(rowOffset) plus \(rows) rows overflows") }
        return first
      }

      // Whether every chunk so far went wholly into the slice counters:
      // the metrics then hold nothing until the counts are handed over,
      // and the counts are integers, the same whichever worker counted
      // which rows. The workers then take a round's pieces as they finish
      // the last (the two cores of a VM are often unequal for a while: a
      // round of fixed halves waited 2-6 ms in all for the slower one on
      // W1 with 1,000 slices).
      var allCounted = true
      var rounds = 0

      func flush() throws {
        guard !pending.isEmpty || !pendingFiles.isEmpty else { return }
        let (jobs, files) = (pending, pendingFiles)
        pending.removeAll(keepingCapacity: true)
        pendingFiles.removeAll(keepingCapacity: true)
        let start = workers
        let flags = reshape
        // (One dispenser of the round's pieces for every worker, or each
        // worker its own chunk's.)
        let shared =
          pieces != nil && rounds > 0 && allCounted && !counters.isEmpty && !files.isEmpty
          ? PieceDispenser(files, pieceRows: pieces!.pieceRows) : nil
        rounds += 1
        let updated = try concurrentJobs(shared == nil ? max(jobs.count, files.count) : workers.count) { k in
          var ms = start[k]
          var counted = true
          let counter = counters.isEmpty ? nil : counters[k]
          if let pieces, shared != nil || k < files.count {
            let dispenser = shared ?? PieceDispenser([files[k]], pieceRows: pieces.pieceRows)
            try pieces.read(dispenser, buffers: buffers[k]) { counted = try update(&ms, $0, flags, counter) && counted }
          } else {
            counted = try update(&ms, jobs[k], flags, counter)
          }
          return (ms, counted)
        }
        for (k, (ms, counted)) in updated.enumerated() {
          workers[k] = ms
          allCounted = allCounted && counted
        }
      }

      /// Updates a worker's metrics with a chunk (`flags[i]`: metric `i`
      /// reads rank-1 arrays as `(rows, 1)`), the slices its `counter`
      /// takes through it; whether the counter took the whole chunk (no
      /// metric updated).
      @Sendable func update(_ ms: inout [any Metric], _ job: Chunk, _ flags: [Bool], _ counter: SliceCounter?) throws
        -> Bool
      {
        // The slices' keys grouped once, when a metric needs them.
        var grouped: SliceBatch?? = nil
        func slices() throws -> SliceBatch? {
          if let grouped { return grouped }
          let batch = try job.keys.map { try SliceBatch($0) }
          grouped = .some(batch)
          return batch
        }
        // The metrics that read the arrays as they are, together (their
        // slices and bootstraps share one pass); then each that reads
        // rank-1 arrays as (rows, 1).
        let together = ms.indices.filter { !flags[$0] }
        var group = together.map { ms[$0] }
        var counted: [Int] = []
        if let counter, let columns = job.keys, columns.count == 1 {
          switch try counter.count(
            &group, yTrue: job.yTrue, yPred: job.yPred, sampleWeight: job.weight, keys: columns[0], rows: job.rows)
          {
          case .counted(let c): counted = c
          case .notTaken: break
          case .invalidRows:
            // The usual update throws the row's error.
            try updateTogether(
              &group, yTrue: job.yTrue, yPred: job.yPred, sampleWeight: job.weight, slices: try slices(),
              rows: job.rows)
            throw CommandError("a chunk the slice counter found invalid updated without an error (rows \(job.rows))")
          }
        }
        let rest = group.indices.filter { !counted.contains($0) }
        if !rest.isEmpty {
          var others = rest.map { group[$0] }
          try updateTogether(
            &others, yTrue: job.yTrue, yPred: job.yPred, sampleWeight: job.weight, slices: try slices(),
            rows: job.rows)
          for (k, i) in rest.enumerated() { group[i] = others[k] }
        }
        for (k, i) in together.enumerated() { ms[i] = group[k] }
        for i in ms.indices where flags[i] {
          let (yt, yp) = (
            try job.yTrue.reshaped([job.yTrue.count, 1]), try job.yPred.reshaped([job.yPred.count, 1])
          )
          var one = [ms[i]]
          try updateTogether(&one, yTrue: yt, yPred: yp, sampleWeight: job.weight, slices: try slices(), rows: job.rows)
          ms[i] = one[0]
        }
        return rest.isEmpty && !flags.contains(true)
      }

      // Builds the metrics from the first chunk's shapes, as compile() does.
      func build(_ yt: Tensor, _ yp: Tensor, emptyStream: Bool = false) throws {
        var built: [any Metric] = []
        let specs = try specsFor(yt, yp)
        guard !specs.isEmpty else { throw CommandError("no metric to evaluate") }
        specCount = specs.count
        for spec in specs {
          let m = try CompileMetrics.resolve(spec, yTrue: yt, yPred: yp)
          let className = type(of: m).className
          // (An empty stream has no shapes to check: its empty state merges
          // with the other partitions'.)
          if p.rank == 1 && declaredInput(className) == .classAxis && !emptyStream {
            throw CommandError(
              "\(className) reduces the last axis of y_pred as classes; \(input == .npyStream ? "the streamed y_pred" : "'\(yPred)'") is rank 1, which Keras reads as one sample of \(yp.count)+ classes. Give y_pred of shape (rows, classes)."
            )
          }
          built.append(try plan.wrap(m))
          reshape.append(p.rank == 1 && t.rank == 1 && declaredInput(className) == .elementwise)
        }
        names = uniqueNames(built.map(\.name))
        for extra in try extrasFor(yt, yp) {
          built.append(extra)
          reshape.append(false)
        }
        workers = Array(repeating: built, count: workerCount)
      }
      while let pieces {
        // The workers read the rows themselves (PieceReading). With slice
        // counters, the first round is a piece per worker: it tells
        // whether the counters take whole chunks (`allCounted`), before
        // the workers take pieces as they go.
        guard rows < pieces.rows else { break }
        let n = min(counters.isEmpty || rounds > 0 ? rowsPerChunk : pieces.pieceRows, pieces.rows - rows)
        if workers.isEmpty {
          // (The metrics chosen from a whole chunk's labels and scores.)
          let (yt, yp) = try pieces.firstChunk(rows..<min(pieces.rows, rows + rowsPerChunk))
          try build(yt, yp)
        }
        pendingFiles.append((rows..<(rows + n), try firstIndex()))
        rows += n
        if pendingFiles.count == workerCount { try flush() }
        progress.update(rows)
      }
      while pieces == nil {
        let yt = try t.next(rowsPerChunk)
        let yp = try p.next(rowsPerChunk)
        let yw = try w?.next(rowsPerChunk)
        var columns: [SliceColumn] = []
        for k in keys.indices { if let c = try keys[k].next(rowsPerChunk) { columns.append(c) } }
        if yt == nil && yp == nil && (w == nil || yw == nil) && columns.isEmpty { break }
        guard let yt, let yp, w == nil || yw != nil, columns.count == keys.count else {
          throw CommandError(
            "the inputs have different numbers of rows (\(([yTrue, yPred] + [sampleWeight].compactMap { $0 } + keys.map(\.path)).joined(separator: ", ")))"
          )
        }
        let n = yt.shape.first ?? 1
        guard yp.shape.first ?? 1 == n, yw == nil || yw!.shape.first == n, columns.allSatisfy({ $0.count == n })
        else {
          throw CommandError("the inputs have different numbers of rows at row \(rows)")
        }
        if workers.isEmpty { try build(yt, yp) }
        pending.append(
          Chunk(
            yTrue: yt, yPred: yp, weight: yw, keys: keys.isEmpty ? nil : columns,
            rows: .contiguous(first: try firstIndex(), count: n)))
        rows += n
        if pending.count == workerCount { try flush() }
        progress.update(rows)
      }
      try flush()
      // The workers' slice counts into the first counter (integers: the
      // same as handing each over), so the slices' states are made once,
      // and the workers' metrics merge without them.
      for counter in counters.prefix(workers.count).dropFirst() { _ = counters.first?.add(counter) }
      for (k, counter) in counters.enumerated() where k < workers.count {
        let together = workers[k].indices.filter { !reshape[$0] }
        var group = together.map { workers[k][$0] }
        try counter.flush(into: &group)
        for (j, i) in together.enumerated() { workers[k][i] = group[j] }
      }
      if workers.isEmpty && input == .npyStream {
        // An empty stream (an engine's empty partition): the empty state,
        // with metrics resolved as for rank-1 inputs.
        try build(Tensor([Float]()), Tensor([Float]()), emptyStream: true)
      }
      guard !workers.isEmpty else { throw CommandError("the inputs hold no rows") }
      var merged: [any Metric] = workers[0]
      for k in 1..<workers.count {
        for i in merged.indices { merged[i] = try mergeAny(merged[i], workers[k][i]) }
      }
      progress.finish(rows)
      return Pass(
        names: names, metrics: Array(merged[..<specCount]), extras: Array(merged[specCount...]), rows: rows)
    }
  }

  struct Merge: ParsableCommand {
    static let configuration = CommandConfiguration(
      commandName: "merge",
      abstract: "Merge state files written by `tally evaluate --save-state` and print the results.",
      discussion:
        "The result equals one `tally evaluate` over all the shards' data (slices and bootstrap intervals included, when each bootstrapped shard had its --row-offset)."
    )

    @Argument(help: "State files, one per shard.")
    var states: [String]

    @Option(help: "Output format: table or json.")
    var format: OutputFormat = .table

    @OptionGroup var limits: StateMemoryOption

    @Option(help: "The confidence level of bootstrap intervals, in (0, 1).")
    var confidence: Double = 0.95

    func validate() throws {
      guard !states.isEmpty else { throw ValidationError("give at least one state file") }
    }

    func run() throws {
      do {
        try limits.apply()
        try checkConfidence(confidence)
        let (merged, samples) = try mergeStates(states)
        let report = try EvaluationReport(
          names: merged.map(\.0), metrics: merged.map(\.1), samples: samples, confidence: confidence)
        print(format == .json ? report.json : report.table)
      } catch {
        printError("tally: error: \(error)")
        throw ExitCode.failure
      }
    }
  }
}

/// One chunk of rows for a worker: the inputs, the slice keys and the
/// rows' global indices.
struct Chunk {
  var yTrue: Tensor
  var yPred: Tensor
  var weight: Tensor?
  var keys: [SliceColumn]?
  var rows: RowIndices
}

/// Throws unless `c` is in (0, 1).
func checkConfidence(_ c: Double) throws {
  guard c > 0, c < 1 else { throw CommandError("--confidence must lie in (0, 1); received \(c)") }
}

/// A progress line on standard error: rows done, a bar, rows/s and ETA.
/// Drawn only when enabled (standard error is a terminal and not `--quiet`).
struct RowProgress {
  let total: Int?
  let enabled: Bool
  let start = Date()
  var lastDraw = Date.distantPast

  func line(_ rows: Int) -> String {
    let elapsed = max(Date().timeIntervalSince(start), 1e-9)
    let rate = Double(rows) / elapsed
    var s = "\(rows)"
    if let total, total > 0 {
      let done = min(20, rows * 20 / total)
      s += "/\(total) rows " + String(repeating: "━", count: done) + String(repeating: "─", count: 20 - done)
      let eta = rate > 0 ? Double(total - rows) / rate : 0
      s += " \(formatRate(rate)) rows/s ETA \(Int(eta.rounded()))s"
    } else {
      s += " rows \(formatRate(rate)) rows/s"
    }
    return s
  }

  func formatRate(_ r: Double) -> String {
    r >= 1e6
      ? String(format: "%.1fM", r / 1e6) : r >= 1e3 ? String(format: "%.1fk", r / 1e3) : String(format: "%.0f", r)
  }

  mutating func update(_ rows: Int) {
    guard enabled, Date().timeIntervalSince(lastDraw) > 0.1 else { return }
    lastDraw = Date()
    FileHandle.standardError.write(Data(("\r" + line(rows) + "   ").utf8))
  }

  func finish(_ rows: Int) {
    guard enabled else { return }
    FileHandle.standardError.write(Data(("\r" + line(rows) + "   \n").utf8))
  }
}

/// Keeps freed memory in the process for reuse. glibc hands blocks above
/// its thresholds back to the system when they are freed and maps new ones
/// zeroed, page by page: every chunk's cells and histograms (megabytes with
/// slices) paid those page faults again.
func keepFreedMemory() {
  #if canImport(Glibc)
    // mallopt is in <malloc.h>, which the Glibc module leaves out.
    typealias Mallopt = @convention(c) (Int32, Int32) -> Int32
    guard let symbol = dlsym(UnsafeMutableRawPointer(bitPattern: 0), "mallopt") else { return }
    let mallopt = unsafeBitCast(symbol, to: Mallopt.self)
    _ = mallopt(-3, 32 << 20)  // M_MMAP_THRESHOLD: glibc's largest
    _ = mallopt(-1, 1 << 30)  // M_TRIM_THRESHOLD
  #endif
}

/// `--max-state-memory`, shared by `tally evaluate` and `tally merge`.
struct StateMemoryOption: ParsableArguments {
  @Option(
    name: .customLong("max-state-memory"),
    help:
      "The most memory one metric's state may need, as 4GB, 512MiB or bytes (default: a quarter of physical memory).")
  var maxStateMemory: String?

  /// Sets ``StateMemory/limit`` from the option, if given.
  func apply() throws {
    guard let text = maxStateMemory else { return }
    guard let bytes = parseByteSize(text) else {
      throw CommandError(
        "--max-state-memory takes a size such as 4GB, 512MiB or 1000000 (bytes); received \"\(text)\"")
    }
    StateMemory.limit = bytes
  }
}

/// A byte size: a non-negative number and an optional unit, B, kB/KB, MB,
/// GB, TB (powers of 1000) or KiB, MiB, GiB, TiB (powers of 1024), in any
/// case; `nil` for anything else or more than `Int.max` bytes.
func parseByteSize(_ text: String) -> Int? {
  let trimmed = text.trimmingCharacters(in: .whitespaces)
  let digits = trimmed.prefix { $0.isNumber || $0 == "." }
  let unit = trimmed.dropFirst(digits.count).trimmingCharacters(in: .whitespaces).lowercased()
  let scales: [String: Double] = [
    "": 1, "b": 1, "kb": 1e3, "mb": 1e6, "gb": 1e9, "tb": 1e12,
    "kib": 1024, "mib": 1_048_576, "gib": 1_073_741_824, "tib": 1_099_511_627_776,
  ]
  guard let value = Double(digits), value.isFinite, let scale = scales[unit] else { return nil }
  let bytes = (value * scale).rounded(.down)
  guard bytes >= 0, bytes < 9.2e18 else { return nil }
  return Int(bytes)
}
