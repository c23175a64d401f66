import Foundation
import Tally

/// One slicing column: integer keys from a `.npy` file, or a CSV column
/// (integers in canonical decimal form are integer keys, other text string
/// keys).
enum SliceSource {
  case npy(NPYSource)
  case csv(CSVReader, column: Int)
  /// Key array `index` of each batch of `--input npy-stream`.
  case stream(StreamBatches, index: Int)

  var path: String {
    switch self {
    case .npy(let s): s.path
    case .csv(let r, _): r.path
    case .stream(_, let index): "standard input (slice keys \(index - 1))"
    }
  }

  var knownRows: Int? {
    switch self {
    case .npy(let s): s.knownRows
    case .csv, .stream: nil
    }
  }

  /// The keys of the next `n` rows, or `nil` at the end.
  mutating func next(_ n: Int) throws -> SliceColumn? {
    switch self {
    case .npy(var s):
      defer { self = .npy(s) }
      guard let t = try s.next(n) else { return nil }
      do {
        return try SliceColumn(t)
      } catch {
        throw CommandError("slice keys in '\(s.path)': \(error)")
      }
    case .csv(var r, let column):
      defer { self = .csv(r, column: column) }
      return try r.nextTexts(n, column: column).map { SliceColumn(texts: $0) }
    case .stream(let batches, let index):
      switch try batches.array(index) {
      case nil: return nil
      case .tensor(let t)?:
        do {
          return try SliceColumn(t)
        } catch {
          throw CommandError("slice keys in \(path), batch \(batches.batches): \(error)")
        }
      case .strings(let keys, let shape)?:
        guard shape.count == 1 || (shape.count == 2 && shape[1] == 1) else {
          throw CommandError("slice keys in \(path) must have shape (rows,); received \(shape)")
        }
        return SliceColumn(strings: keys)
      }
    }
  }

  /// The slicing columns of `--slice-by` and `--slice-by-column`: each
  /// `.npy` file is one column; a CSV file takes the next column name or
  /// index (all of them if it is the only file); with no file, the columns
  /// come from the `--y-true` CSV file.
  static func open(files: [String], columns: [String], yTrue: String, separator: Character, header: Bool?, map: Bool)
    throws -> [SliceSource]
  {
    var files = files
    if files.isEmpty && !columns.isEmpty {
      guard !yTrue.lowercased().hasSuffix(".npy") else {
        throw CommandError("--slice-by-column without --slice-by reads the --y-true CSV file; '\(yTrue)' is .npy")
      }
      files = [yTrue]
    }
    var pending = columns[...]
    var out: [SliceSource] = []
    for file in files {
      if file.lowercased().hasSuffix(".npy") {
        out.append(.npy(try NPYSource(path: file, map: map)))
        continue
      }
      let names = files.count == 1 ? Array(pending) : pending.first.map { [$0] } ?? []
      guard !names.isEmpty else {
        throw CommandError("--slice-by '\(file)' is a CSV file: name its key column with --slice-by-column")
      }
      pending = pending.dropFirst(names.count)
      for name in names {
        // The same column resolution as --y-true-columns (index or header name).
        let source = try CSVSource(
          path: file, columns: name, defaultColumns: [0], separator: separator, header: header)
        guard source.columns.count == 1 else {
          throw CommandError("--slice-by-column takes one column per flag; received \"\(name)\"")
        }
        out.append(.csv(source.reader, column: source.columns[0]))
      }
    }
    guard pending.isEmpty else {
      throw CommandError("--slice-by-column \(pending.joined(separator: ", ")) has no CSV --slice-by file to read from")
    }
    return out
  }
}

/// How `tally evaluate` wraps each metric: in a bootstrap, in slices, or
/// both (slices of a bootstrap, so each slice has its interval).
struct EvaluationPlan {
  var bootstrap: PoissonBootstrap?
  var slicing: (minimumWeight: Double, maximumSlices: Int)?

  func wrap(_ m: any PredictionMetric) throws -> any Metric {
    func open<M: PredictionMetric>(_ m: M) throws -> any Metric {
      if let bootstrap {
        try Bootstrapped.checkStateMemory(m, bootstrap)
        let b = Bootstrapped(m, bootstrap: bootstrap)
        guard let slicing else { return b }
        return Sliced(b, minimumWeight: slicing.minimumWeight, maximumSlices: slicing.maximumSlices)
      }
      guard let slicing else { return m }
      return Sliced(m, minimumWeight: slicing.minimumWeight, maximumSlices: slicing.maximumSlices)
    }
    return try open(m)
  }
}

/// Whether a metric (or its slices) has bootstrap replicates.
func holdsBootstrap(_ m: any Metric) -> Bool {
  if m is any IntervalEstimating { return true }
  return (m as? any SlicedMetric).map { $0.overallMetric is any IntervalEstimating } ?? false
}
