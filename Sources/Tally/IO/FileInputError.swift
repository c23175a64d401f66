//===--- FileInputError.swift ---------------------------------------------===//
//
// The one error type of file input and output: `.npy` reading and writing,
// and CSV reading.
//
//===----------------------------------------------------------------------===//

/// The error thrown when an input file (`.npy` or CSV) cannot be opened,
/// parsed or written.
///
/// Every case names the file, and ``description`` is one line saying what was
/// found, fit to print as it is.
public enum FileInputError: Error, Equatable, Sendable, CustomStringConvertible {
  /// The file cannot be opened or read (missing, a directory, no permission,
  /// an I/O error); `reason` is the system's explanation.
  case unreadable(path: String, reason: String)
  /// The file cannot be created or written.
  case unwritable(path: String, reason: String)
  /// The file is not a valid `.npy` file: bad magic string, unknown format
  /// version, malformed header dictionary, invalid shape, or bytes left over
  /// after the data.
  case malformedNPY(path: String, reason: String)
  /// The file ends before the header or the data it declares does.
  case truncated(path: String, expectedBytes: Int, actualBytes: Int)
  /// The `.npy` file holds a dtype Tally cannot read (complex, string,
  /// object, structured, `uint64`, …); `descr` is the dtype as written in the
  /// header.
  case unsupportedDType(path: String, descr: String)
  /// A requested row range is outside `0..<rows`.
  case rowsOutOfRange(path: String, requested: Range<Int>, rows: Int)
  /// A CSV cell that must be a number is not; `line` and `column` are
  /// 1-based, `text` is the cell's text (at most 200 characters of it).
  case badCSVCell(path: String, line: Int, column: Int, text: String)
  /// A CSV row has a different number of cells than the header (or the first
  /// row): `found` cells on 1-based `line`, `expected` cells.
  case raggedCSVRow(path: String, line: Int, found: Int, expected: Int)
  /// Any other CSV problem: an unterminated quoted field, an over-long field,
  /// an invalid argument (separator, column index, row count).
  case csv(path: String, reason: String)

  /// One line naming the file and what was found.
  public var description: String {
    switch self {
    case .unreadable(let path, let reason):
      "Cannot read '\(path)': \(reason)"
    case .unwritable(let path, let reason):
      "Cannot write '\(path)': \(reason)"
    case .malformedNPY(let path, let reason):
      "'\(path)' is not a valid .npy file: \(reason)"
    case .truncated(let path, let expected, let actual):
      "'\(path)' is truncated: expected \(expected) bytes, found \(actual)"
    case .unsupportedDType(let path, let descr):
      "'\(path)' holds dtype \(descr.debugDescription), which Tally cannot read "
        + "(supported: float16/32/64, int8/16/32/64, uint8/16/32, bool)"
    case .rowsOutOfRange(let path, let requested, let rows):
      "'\(path)': rows \(requested.lowerBound)..<\(requested.upperBound) are out of range; "
        + "the file has \(rows) rows"
    case .badCSVCell(let path, let line, let column, let text):
      "'\(path)', line \(line), column \(column): expected a number, found "
        + (text.isEmpty ? "an empty cell" : text.debugDescription)
    case .raggedCSVRow(let path, let line, let found, let expected):
      "'\(path)', line \(line): the row has \(found) \(found == 1 ? "cell" : "cells"); expected \(expected)"
    case .csv(let path, let reason):
      "'\(path)': \(reason)"
    }
  }
}
