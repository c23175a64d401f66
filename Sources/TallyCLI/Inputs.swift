import Foundation
import Tally

/// A stream of rows from an input file: a `.npy` array (rows are the first
/// axis) or selected columns of a CSV file.
protocol RowSource {
  /// The path, for messages.
  var path: String { get }
  /// The number of rows, when known before reading (`.npy`).
  var knownRows: Int? { get }
  /// The rank of the whole array (CSV: 1 for one column, else 2).
  var rank: Int { get }
  /// The next `n` rows (fewer at the end), or `nil` when exhausted.
  mutating func next(_ n: Int) throws(FileInputError) -> Tensor?
}

/// Rows of a `.npy` file: borrowed from a memory mapping when the layout
/// allows (no copy), else read on demand.
struct NPYSource: RowSource {
  let reader: NPYReader
  let mapping: MappedNPY?
  var position = 0
  var path: String { reader.path }
  var knownRows: Int? { reader.rows }
  var rank: Int { reader.shape.count }

  init(path: String, map: Bool) throws(FileInputError) {
    reader = try NPYReader(path: path)
    // A file that cannot be mapped is read instead (errors, if any, come
    // from the reads).
    mapping = map ? (try? reader.mapped()) ?? nil : nil
  }

  mutating func next(_ n: Int) throws(FileInputError) -> Tensor? {
    // A 0-d array is one row holding one value.
    if reader.shape.isEmpty {
      guard position == 0 else { return nil }
      position = 1
      return try reader.readAll()
    }
    guard position < reader.rows else { return nil }
    let end = min(reader.rows, position + n)
    let t: Tensor
    if let mapping {
      t = try mapping.rows(position..<end)
    } else {
      t = try reader.readRows(position..<end)
    }
    position = end
    return t
  }
}

/// Selected columns of a CSV file: one column gives a rank-1 array, several
/// a `(rows, columns)` array (one-hot labels, class scores).
struct CSVSource: RowSource {
  var reader: CSVReader
  let columns: [Int]
  var path: String { reader.path }
  var knownRows: Int? { nil }
  var rank: Int { columns.count == 1 ? 1 : 2 }

  /// Opens `path` and resolves `spec`: comma-separated column indices
  /// (0-based) or header names, or `nil` for the `defaultColumn`.
  init(path: String, columns spec: String?, defaultColumns: [Int], separator: Character, header: Bool?)
    throws(FileInputError)
  {
    reader = try CSVReader(path: path, separator: separator, hasHeader: header)
    guard let spec else {
      columns = defaultColumns
      return
    }
    let parts = spec.split(separator: ",", omittingEmptySubsequences: false).map {
      $0.trimmingCharacters(in: .whitespaces)
    }
    guard !parts.allSatisfy(\.isEmpty) else {
      throw .csv(path: path, reason: "the column list is empty; name columns by 0-based index or header name")
    }
    if parts.contains(where: \.isEmpty) {
      throw .csv(path: path, reason: "the column list \"\(spec)\" has an empty entry")
    }
    var resolved: [Int] = []
    for part in parts {
      if let i = Int(part) {
        resolved.append(i)
      } else if let i = reader.columnIndex(named: part) {
        resolved.append(i)
      } else {
        throw .csv(
          path: path,
          reason: "no column \"\(part)\""
            + (reader.header.map { "; the header has \($0.joined(separator: ", "))" } ?? " (the file has no header)"))
      }
    }
    columns = resolved
  }

  mutating func next(_ n: Int) throws(FileInputError) -> Tensor? {
    guard let rows = try reader.nextRows(n, columns: columns), !rows.isEmpty else { return nil }
    let flat = rows.flatMap { $0 }
    do {
      return try Tensor(flat, shape: columns.count == 1 ? [rows.count] : [rows.count, columns.count])
    } catch {
      throw .csv(path: path, reason: "\(error)")
    }
  }
}

/// Whether the file at `path` starts with the `.npy` magic bytes
/// (`\x93NUMPY`), read without consuming a pipe (`false` for anything
/// that is not a regular file or cannot be read).
func startsWithNPYMagic(_ path: String) -> Bool {
  var info = stat()
  guard stat(path, &info) == 0, (info.st_mode & S_IFMT) == S_IFREG,
    let handle = FileHandle(forReadingAtPath: path)
  else { return false }
  defer { try? handle.close() }
  let head = (try? handle.read(upToCount: 6)) ?? Data()
  return head == Data([0x93, 0x4E, 0x55, 0x4D, 0x50, 0x59])
}

/// Opens an input: `.npy` by its extension or its magic bytes, else CSV.
/// Column options name CSV columns; with a `.npy` file they are refused,
/// not ignored.
func openSource(
  _ path: String, columns: String?, defaultColumns: [Int], separator: Character, header: Bool?, map: Bool = true
) throws(FileInputError) -> any RowSource {
  if path.lowercased().hasSuffix(".npy") || startsWithNPYMagic(path) {
    if let columns {
      throw .csv(
        path: path,
        reason: "is a .npy file; the column option (\"\(columns)\") applies to CSV inputs only")
    }
    return try NPYSource(path: path, map: map)
  }
  return try CSVSource(
    path: path, columns: columns, defaultColumns: defaultColumns, separator: separator, header: header)
}

/// An error the command reports in one line and exits non-zero for.
struct CommandError: Error, CustomStringConvertible {
  let description: String
  init(_ description: String) { self.description = description }
}

/// Writes to standard error.
func printError(_ s: String) {
  FileHandle.standardError.write(Data((s + "\n").utf8))
}

/// Whether standard error is a terminal.
var stderrIsTerminal: Bool { isatty(2) != 0 }

/// The batches of `--input npy-stream` on standard input: per batch the
/// `.npy` arrays y_true, y_pred, then the weight and the slice keys when
/// the flags declare them, all with the same number of rows.
final class StreamBatches {
  let stream: NPYStream
  /// Arrays per batch.
  let width: Int
  private(set) var batch: [NPYStreamArray] = []
  private(set) var ended = false
  private(set) var batches = 0

  init(fileDescriptor: Int32, width: Int) {
    stream = NPYStream(fileDescriptor: fileDescriptor, name: "standard input")
    self.width = width
  }

  /// Array `k` of the current batch; `k == 0` reads the next batch first.
  /// `nil` once the stream has ended (at a batch boundary).
  func array(_ k: Int) throws(FileInputError) -> NPYStreamArray? {
    if k == 0 && !ended {
      guard let first = try stream.next() else {
        ended = true
        batch = []
        return nil
      }
      var arrays = [first]
      for i in 1..<width {
        guard let a = try stream.next() else {
          throw .malformedNPY(
            path: "standard input",
            reason: "the stream ends inside batch \(batches + 1): it holds \(i) of its \(width) arrays")
        }
        arrays.append(a)
      }
      if let odd = arrays.firstIndex(where: { $0.rows != first.rows }) {
        throw .malformedNPY(
          path: "standard input",
          reason:
            "batch \(batches + 1): array \(odd + 1) has \(arrays[odd].rows) rows; array 1 has \(first.rows)")
      }
      batch = arrays
      batches += 1
    }
    return ended ? nil : batch[k]
  }
}

/// One of a stream batch's numeric arrays (y_true, y_pred or the weight).
struct StreamSource: RowSource {
  let batches: StreamBatches
  let index: Int
  let name: String
  var path: String { "standard input (\(name))" }
  var knownRows: Int? { nil }
  var rank: Int {
    if case .tensor(let t)? = batches.batch.indices.contains(index) ? batches.batch[index] : nil { return t.rank }
    return 1
  }

  mutating func next(_ n: Int) throws(FileInputError) -> Tensor? {
    switch try batches.array(index) {
    case nil: return nil
    case .tensor(let t)?: return t
    case .strings?:
      throw .malformedNPY(path: path, reason: "\(name) must be numbers; batch \(batches.batches) holds strings")
    }
  }
}
