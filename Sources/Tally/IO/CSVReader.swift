//===--- CSVReader.swift --------------------------------------------------===//
//
// Streaming a CSV file of numbers a batch of rows at a time, in bounded
// memory, whatever the file's size.
//
//===----------------------------------------------------------------------===//

/// A CSV file of numbers, read a batch of rows at a time.
///
/// The file is read incrementally through a fixed buffer (1 MiB), so a file
/// of any size streams in bounded memory:
///
/// ```swift
/// let path = FileManager.default.temporaryDirectory.appendingPathComponent("predictions.csv").path
/// try "label,score\n1,0.9\n0,0.2\n1,0.4\n".write(toFile: path, atomically: true, encoding: .utf8)
/// var csv = try CSVReader(path: path)
/// var accuracy = BinaryAccuracy()
/// if let yTrue = csv.columnIndex(named: "label"), let yPred = csv.columnIndex(named: "score") {
///   while let rows = try csv.nextRows(65_536, columns: [yTrue, yPred]) {
///     // rows: up to 65,536 arrays [label, score]
///     try accuracy.update(yTrue: Tensor(rows.map { $0[0] }), yPred: Tensor(rows.map { $0[1] }))
///   }
/// }
/// accuracy.result()   // 0.6666666666666666
/// ```
///
/// The format is RFC 4180's, leniently:
///
/// - Cells are separated by `separator` (a comma by default; any single
///   ASCII character other than a quote, CR or LF).
/// - A cell may be quoted (`"1.5"`, `"name, with comma"`); `""` inside a
///   quoted cell is one quote; a quoted cell may span lines.
/// - Lines end with LF, CRLF or CR. Blank lines are skipped; the last line
///   needs no line ending. A UTF-8 byte-order mark at the start is skipped.
/// - Every row must have as many cells as the first row (or the header).
/// - A cell read as a number may have spaces or tabs around it. Besides
///   decimal and exponent notation, `nan`, `inf`, `-inf`, `infinity`,
///   `true` (1) and `false` (0) are accepted, ignoring case.
/// - Only the cells of the selected columns are read as numbers; other
///   columns may hold any text (ids, names).
///
/// The first row is a header if `hasHeader` is `true`, or, by default, if it
/// has a cell that is not a number (so a header whose names are all numbers
/// must be declared with `hasHeader: true`).
///
/// Copies of a reader share the open file but read independently (each
/// keeps its own position), except for a pipe or device, which copies
/// consume together.
public struct CSVReader: Sendable {
  /// The path the reader was opened with.
  public let path: String
  /// The cell separator.
  public let separator: Character
  /// The column names, without quotes and surrounding spaces, if the file
  /// has a header row; `nil` otherwise.
  public private(set) var header: [String]?
  /// The number of cells in every row: those of the header, or of the first
  /// row; 0 for a file with no rows at all.
  public private(set) var columnCount: Int

  /// How many bytes of the file have been consumed so far (for progress
  /// reporting).
  public var bytesRead: Int { fileOffset - (bufferEnd - bufferPosition) }

  /// The size of the file in bytes, if it is a regular file.
  public var fileSize: Int? { file.size }

  static let defaultBufferSize = 1 << 20
  /// The longest cell read: a longer one is reported (usually an unbalanced
  /// quote that swallowed the rest of the file).
  static let maxCellBytes = 1 << 20
  /// The most cells the first row (or header) may have.
  static let maxColumns = 1 << 20

  let file: ReadOnlyFile
  let separatorByte: UInt8

  // Buffered input.
  var buffer: CSVInputBuffer
  var bufferPosition = 0
  var bufferEnd = 0
  var fileOffset = 0
  var sawFirstBytes = false
  /// The 1-based line of the next byte.
  var line = 1
  /// A CR ended the last line: skip an LF that follows it.
  var skipLineFeed = false

  // The record being scanned.
  /// Capture every cell (the first row) into `captured`.
  var captureAll = false
  var captured: [[UInt8]] = []
  var capturedBytes = 0
  var captureCell: [UInt8] = []
  /// Where the current cell goes: a slot index, `-1` (dropped) or `-2`
  /// (captured).
  var target = -1
  var cellCount = 0
  var cellLength = 0
  var cellLine = 1
  var scanState = ScanState.recordStart
  var recordLine = 1
  /// In a quoted cell, the last byte was a CR (so an LF after it does not
  /// start another line).
  var quotedLastWasCR = false

  // The selected columns.
  /// The columns the slots were built for.
  var selectedColumns: [Int] = []
  /// For each column, its slot, or -1 if not selected.
  var slotOfColumn: [Int] = []
  /// The distinct selected columns in ascending order, one per slot.
  var slotColumns: [Int] = []
  var slotBytes: [[UInt8]] = []
  var slotLines: [Int] = []

  // The fast path's statistics: the mean length of a row.
  var bytesInRows = 0
  var rowsScanned = 0
  var averageRowBytes = 0.0

  /// The first row, when it is data rather than a header.
  var pending: PendingRow?
  /// The error that stopped reading; thrown again by every later call.
  var failure: FileInputError?

  struct PendingRow: Sendable {
    var cells: [[UInt8]]
    var line: Int
  }

  /// Opens `path` and reads its first row (the header, or the first data
  /// row, which ``nextRows(_:columns:)`` returns first).
  ///
  /// - Parameters:
  ///   - path: The file to read.
  ///   - separator: The cell separator: a single ASCII character other than
  ///     `"`, CR or LF. A comma by default.
  ///   - hasHeader: Whether the first row is a header; `nil` (the default)
  ///     decides from the first row: it is a header if one of its cells is
  ///     not a number. An empty file (or one of blank lines) has no header
  ///     and no columns, whatever `hasHeader` says.
  /// - Throws: ``FileInputError/unreadable(path:reason:)`` if the file cannot
  ///   be opened; ``FileInputError/csv(path:reason:)`` for an invalid
  ///   separator or an unreadable first row.
  public init(path: String, separator: Character = ",", hasHeader: Bool? = nil)
    throws(FileInputError)
  {
    try self.init(
      path: path, separator: separator, hasHeader: hasHeader, bufferSize: Self.defaultBufferSize)
  }

  /// ``init(path:separator:hasHeader:)`` with a given buffer size (at least
  /// 4 bytes), so that tests can cross buffer boundaries often.
  init(path: String, separator: Character, hasHeader: Bool?, bufferSize: Int)
    throws(FileInputError)
  {
    guard let ascii = separator.asciiValue, separator.unicodeScalars.count == 1,
      ascii != UInt8(ascii: "\""), ascii != 0x0A, ascii != 0x0D
    else {
      throw .csv(
        path: path,
        reason: "the separator must be one ASCII character other than a quote, CR or LF; "
          + "received \(String(separator).debugDescription)")
    }
    self.path = path
    self.separator = separator
    self.separatorByte = ascii
    self.file = try ReadOnlyFile(path: path, requireRegularFile: false)
    self.buffer = CSVInputBuffer(capacity: max(bufferSize, 4))
    self.columnCount = 0
    self.header = nil

    captureAll = true
    let first = try scanRecord()
    captureAll = false
    guard let first else { return }
    let cells = captured
    captured = []
    // A .npy file through a pipe or under another name: say so, rather
    // than reading its header as column names.
    if let cell = cells.first, cell.starts(with: [0x93, 0x4E, 0x55, 0x4D, 0x50, 0x59]) {
      throw .csv(
        path: path,
        reason: "starts with the .npy magic bytes: a .npy file read as CSV (give .npy inputs as files named *.npy)")
    }
    columnCount = cells.count
    let isHeader = hasHeader ?? cells.contains { CSVReader.number(from: $0[...]) == nil }
    if isHeader {
      header = cells.map { CSVReader.trimmedText($0[...]) }
    } else {
      pending = PendingRow(cells: cells, line: first.line)
    }
  }

  /// The index of the first column whose header name is `name` (compared
  /// after removing surrounding spaces); `nil` if there is no such column or
  /// no header.
  public func columnIndex(named name: String) -> Int? {
    guard let header else { return nil }
    if let i = header.firstIndex(of: name) { return i }
    let trimmed = CSVReader.trimmedText(Array(name.utf8)[...])
    return header.firstIndex(of: trimmed)
  }

  /// Reads up to `count` rows and returns, for each, the values of
  /// `columns` (in the order given; a column may appear twice); `nil` once
  /// the file has no more rows.
  ///
  /// Fewer than `count` rows are returned only at the end of the file.
  /// Passing no columns still reads and validates rows, returning empty
  /// arrays. ``nextColumns(_:columns:)`` reads the same rows column by
  /// column, without an array per row.
  ///
  /// - Throws: ``FileInputError/badCSVCell(path:line:column:text:)`` for a
  ///   selected cell that is not a number;
  ///   ``FileInputError/raggedCSVRow(path:line:found:expected:)`` for a row
  ///   with the wrong number of cells; ``FileInputError/csv(path:reason:)``
  ///   for a column index out of range, a `count` below 1, an unterminated
  ///   quoted cell or an over-long cell; ``FileInputError/unreadable(path:reason:)``
  ///   for an I/O error. Rows already read in the failing call are
  ///   discarded, and every later call throws the same error.
  public mutating func nextRows(_ count: Int, columns: [Int]) throws(FileInputError)
    -> [[Double]]?
  {
    guard let (rows, values) = try nextSlots(count, columns: columns) else { return nil }
    let slotOf = slotOfColumn
    return (0..<rows).map { r in columns.map { values[slotOf[$0]][r] } }
  }

  /// Reads up to `count` rows and returns the values of `columns`, one
  /// array per column (in the order given; a column may appear twice);
  /// `nil` once the file has no more rows.
  ///
  /// The rows are those of ``nextRows(_:columns:)``, and so are the errors;
  /// this form is the fast one: plain rows (no quotes) are scanned in bulk,
  /// their numbers parsed in place, and a long run of them split across
  /// cores at line boundaries. Fewer than `count` rows are returned only at
  /// the end of the file. With no columns, rows are read and validated and
  /// the result is `[]` until the end of the file.
  ///
  /// ```swift
  /// let path = FileManager.default.temporaryDirectory.appendingPathComponent("scores.csv").path
  /// try "label,score\n1,0.9\n0,0.2\n1,0.4\n".write(toFile: path, atomically: true, encoding: .utf8)
  /// var csv = try CSVReader(path: path)
  /// let columns = try csv.nextColumns(65_536, columns: [1, 0]) ?? []
  /// columns[0]   // [0.9, 0.2, 0.4]
  /// columns[1]   // [1.0, 0.0, 1.0]
  /// ```
  ///
  /// - Throws: as ``nextRows(_:columns:)``.
  public mutating func nextColumns(_ count: Int, columns: [Int]) throws(FileInputError) -> [[Double]]? {
    guard let (_, values) = try nextSlots(count, columns: columns) else { return nil }
    let slotOf = slotOfColumn
    return columns.map { values[slotOf[$0]] }
  }

  /// Reads up to `count` rows: their number and one array of values per
  /// slot (``slotColumns``); `nil` at the end of the file.
  mutating func nextSlots(_ count: Int, columns: [Int]) throws(FileInputError) -> (Int, [[Double]])? {
    if let failure { throw failure }
    guard count >= 1 else {
      throw .csv(path: path, reason: "the number of rows to read must be at least 1; received \(count)")
    }
    if columnCount == 0 { return nil }
    if let bad = columns.first(where: { !(0..<columnCount).contains($0) }) {
      throw .csv(
        path: path,
        reason: "column index \(bad) is out of range; the file has \(columnCount) "
          + (columnCount == 1 ? "column" : "columns"))
    }
    // Copies of a reader share the buffer until one of them reads.
    if !isKnownUniquelyReferenced(&buffer) { buffer = buffer.copy() }
    do throws(FileInputError) {
      if columns != selectedColumns || slotOfColumn.count != columnCount {
        select(columns)
      }
      var values = [[Double]](repeating: [], count: slotColumns.count)
      let rows = try readSlots(count, into: &values)
      return rows == 0 ? nil : (rows, values)
    } catch {
      failure = error
      throw error
    }
  }

  /// The text of one column (decoded as UTF-8, quotes removed) in the
  /// next `count` rows, for keys that need not be numbers; `nil` once the
  /// file has no more rows. Errors as ``nextRows(_:columns:)``.
  public mutating func nextTexts(_ count: Int, column: Int) throws(FileInputError) -> [String]? {
    if let failure { throw failure }
    guard count >= 1 else {
      throw .csv(path: path, reason: "the number of rows to read must be at least 1; received \(count)")
    }
    if columnCount == 0 { return nil }
    if !isKnownUniquelyReferenced(&buffer) { buffer = buffer.copy() }
    guard (0..<columnCount).contains(column) else {
      throw .csv(path: path, reason: "column index \(column) is out of range; the file has \(columnCount) columns")
    }
    do throws(FileInputError) {
      if [column] != selectedColumns || slotOfColumn.count != columnCount { select([column]) }
      var texts: [String] = []
      if let first = pending {
        pending = nil
        texts.append(String(decoding: first.cells[column], as: UTF8.self))
      }
      while texts.count < count {
        guard let record = try scanRecord() else { break }
        guard record.cells == columnCount else {
          throw .raggedCSVRow(path: path, line: record.line, found: record.cells, expected: columnCount)
        }
        texts.append(String(decoding: slotBytes[0], as: UTF8.self))
      }
      return texts.isEmpty ? nil : texts
    } catch {
      failure = error
      throw error
    }
  }

  mutating func select(_ columns: [Int]) {
    selectedColumns = columns
    slotColumns = Array(Set(columns)).sorted()
    slotOfColumn = [Int](repeating: -1, count: columnCount)
    for (slot, column) in slotColumns.enumerated() { slotOfColumn[column] = slot }
    slotBytes = [[UInt8]](repeating: [], count: slotColumns.count)
    slotLines = [Int](repeating: 0, count: slotColumns.count)
  }

  /// The number in a cell of 0-based `column`, or a ``FileInputError/badCSVCell(path:line:column:text:)``.
  static func number(_ cell: ArraySlice<UInt8>, path: String, line: Int, column: Int)
    throws(FileInputError) -> Double
  {
    guard let value = CSVReader.number(from: cell) else {
      throw .badCSVCell(
        path: path, line: line, column: column + 1,
        text: String(String(decoding: cell, as: UTF8.self).prefix(200)))
    }
    return value
  }
}
