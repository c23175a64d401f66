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
    let t = try rows(position..<end)
    position = end
    return t
  }

  /// Rows `range`: over the mapping when there is one, else read.
  func rows(_ range: Range<Int>) throws(FileInputError) -> Tensor {
    if let mapping { return try mapping.rows(range) }
    return try reader.readRows(range)
  }
}

/// Selected columns of a CSV file: one column gives a rank-1 array, several
/// a `(rows, columns)` array (one-hot labels, class scores).
///
/// Inputs that name columns of one regular file (labels and predictions
/// side by side) read it once, through one ``SharedCSV``.
struct CSVSource: RowSource {
  let file: SharedCSV
  let consumer: Int
  let columns: [Int]
  let path: String
  var knownRows: Int? { nil }
  var rank: Int { columns.count == 1 ? 1 : 2 }
  /// The file's reader (a copy, at the row the inputs have read to).
  var reader: CSVReader { file.reader }

  /// Opens `path` (or joins the inputs already reading it, in `shared`)
  /// and resolves `spec`: comma-separated column indices (0-based) or
  /// header names, or `nil` for the `defaultColumn`.
  init(
    path: String, columns spec: String?, defaultColumns: [Int], separator: Character, header: Bool?,
    shared: SharedCSVFiles? = nil
  ) throws(FileInputError) {
    let existing = shared?.files[path]
    let reader: CSVReader
    if let existing {
      reader = existing.reader
    } else {
      reader = try CSVReader(path: path, separator: separator, hasHeader: header)
    }
    self.path = path
    let columns = try CSVSource.resolve(spec, path: path, reader: reader, defaultColumns: defaultColumns)
    self.columns = columns
    // A column out of range is refused when this input reads, as by a
    // reader of its own.
    let inRange = columns.allSatisfy { (0..<reader.columnCount).contains($0) }
    if let existing, inRange {
      file = existing
    } else {
      file = SharedCSV(reader: reader, path: path, separator: separator, header: header)
      if let shared, inRange, reader.fileSize != nil { shared.files[path] = file }
    }
    consumer = file.join(columns)
  }

  static func resolve(_ spec: String?, path: String, reader: CSVReader, defaultColumns: [Int])
    throws(FileInputError) -> [Int]
  {
    guard let spec else { return defaultColumns }
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
    return resolved
  }

  mutating func next(_ n: Int) throws(FileInputError) -> Tensor? {
    guard let values = try file.next(n, consumer: consumer), let rows = values.first?.count, rows > 0 else {
      return nil
    }
    let flat: [Double]
    if values.count == 1 {
      flat = values[0]
    } else {
      var interleaved = [Double](repeating: 0, count: rows * values.count)
      for (c, column) in values.enumerated() {
        for r in 0..<rows { interleaved[r * values.count + c] = column[r] }
      }
      flat = interleaved
    }
    do {
      return try Tensor(flat, shape: columns.count == 1 ? [rows] : [rows, columns.count])
    } catch {
      throw .csv(path: path, reason: "\(error)")
    }
  }
}

/// The CSV files of one run that several inputs read, by path.
final class SharedCSVFiles {
  var files: [String: SharedCSV] = [:]
}

/// One CSV file read once for the inputs that take columns from it: rows
/// are read for all their columns together and handed to each input in
/// turn (inputs that read in step hold one chunk between them).
///
/// Errors are those of a reader per input: when the shared reading fails,
/// every input goes on with a reader of its own, opened again and moved
/// to the row it had reached, so that each meets the error its own columns
/// give, when they give it.
final class SharedCSV {
  var reader: CSVReader
  let path: String
  let separator: Character
  let header: Bool?
  /// Each input's columns.
  var consumers: [[Int]] = []
  /// The next row of each input.
  var cursors: [Int] = []
  /// Every input's columns, once each.
  var union: [Int] = []
  /// Rows `windowStart..<windowStart + windowRows`, one array per column
  /// of `union`.
  var window: [[Double]] = []
  var windowStart = 0
  var windowRows = 0
  var ended = false
  /// After a shared read failed: each input's own reader.
  var own: [CSVReader?]?

  init(reader: CSVReader, path: String, separator: Character, header: Bool?) {
    self.reader = reader
    self.path = path
    self.separator = separator
    self.header = header
  }

  /// Adds an input reading `columns`; returns its number.
  func join(_ columns: [Int]) -> Int {
    consumers.append(columns)
    cursors.append(windowStart)
    for c in columns where !union.contains(c) { union.append(c) }
    window = union.map { _ in [] }
    return consumers.count - 1
  }

  /// The next `n` rows (fewer at the end) of `consumer`'s columns, one
  /// array per column; `nil` at the end.
  func next(_ n: Int, consumer: Int) throws(FileInputError) -> [[Double]]? {
    if own != nil { return try nextOwn(n, consumer: consumer) }
    let start = cursors[consumer]
    let windowEnd = windowStart + windowRows
    if start + n > windowEnd && !ended {
      // Drop the rows every input has taken, then read the missing ones.
      let done = cursors.min() ?? start
      if done >= windowEnd {
        window = union.map { _ in [] }
      } else if done > windowStart {
        window = window.map { Array($0[(done - windowStart)...]) }
      }
      windowRows -= min(done, windowEnd) - windowStart
      windowStart = min(done, windowEnd)
      let missing = start + n - (windowStart + windowRows)
      do throws(FileInputError) {
        if let more = try reader.nextColumns(missing, columns: union) {
          let got = more.first?.count ?? 0
          if windowRows == 0 {
            window = more
          } else {
            for k in window.indices { window[k] += more[k] }
          }
          windowRows += got
          if got < missing { ended = true }
        } else {
          ended = true
        }
      } catch {
        guard consumers.count > 1 else { throw error }
        own = consumers.map { _ in nil }
        return try nextOwn(n, consumer: consumer)
      }
    }
    let end = min(start + n, windowStart + windowRows)
    guard end > start else { return nil }
    cursors[consumer] = end
    return consumers[consumer].map { c in
      let column = window[union.firstIndex(of: c) ?? 0]
      return start == windowStart && end == windowStart + windowRows
        ? column : Array(column[(start - windowStart)..<(end - windowStart)])
    }
  }

  /// `next` through the input's own reader, opened at its row.
  func nextOwn(_ n: Int, consumer: Int) throws(FileInputError) -> [[Double]]? {
    var r: CSVReader
    if let existing = own?[consumer] ?? nil {
      r = existing
    } else {
      r = try CSVReader(path: path, separator: separator, hasHeader: header)
      var skip = cursors[consumer]
      while skip > 0, let rows = try r.nextRows(min(skip, 1 << 16), columns: []) { skip -= rows.count }
    }
    defer { own?[consumer] = r }
    return try r.nextColumns(n, columns: consumers[consumer])
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
  _ path: String, columns: String?, defaultColumns: [Int], separator: Character, header: Bool?, map: Bool = true,
  shared: SharedCSVFiles? = nil
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
    path: path, columns: columns, defaultColumns: defaultColumns, separator: separator, header: header,
    shared: shared)
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
