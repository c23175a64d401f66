//===--- CSVBulk.swift ----------------------------------------------------===//
//
// The CSV reader's fast path: plain rows (no quotes, every cell where it
// belongs, every selected cell a number) scanned in bulk straight from the
// input buffer, numbers parsed in place (no string per cell), and a large
// run of rows split at line boundaries across cores. Anything else (a
// quote, a row cut by the end of the buffer, a ragged row, a cell that is
// not a number, an over-long cell) stops the fast path at the start of its
// row, and the tokenizer (CSVTokenizer.swift) reads that one row, so rows,
// values and errors (with their lines and columns) are the tokenizer's.
//
//===----------------------------------------------------------------------===//

#if canImport(Glibc)
  import Glibc
#elseif canImport(Musl)
  import Musl
#elseif canImport(Darwin)
  import Darwin
#elseif canImport(Android)
  import Android
#endif

/// Scans plain CSV rows in a byte range of the reader's buffer.
struct CSVBulkScanner: @unchecked Sendable {
  /// The buffer (read only while the scanner is used).
  let base: UnsafePointer<UInt8>
  let separator: UInt8
  let columnCount: Int
  /// For each column, its slot, or -1 if it is not read.
  let slotOfColumn: [Int]
  let slots: Int

  /// Why a scan stopped.
  enum Stop {
    /// It consumed the whole range.
    case end
    /// It read as many rows as asked.
    case count
    /// The row at `stop` is not plain (or not complete within the range):
    /// the tokenizer reads it.
    case tokenizer
  }

  /// What a scan of a range found.
  struct Piece {
    /// The values of the rows read, row after row, slot after slot.
    var values: [Double] = []
    var rows = 0
    /// The line endings consumed (blank lines included).
    var lines = 0
    /// Where the scan stopped: the start of the next row.
    var stop: Int
    var reason = Stop.end
    /// The range ended just after a CR, so an LF after the range belongs
    /// to it.
    var endsWithCR = false
  }

  /// Reads the plain rows of `start..<end` (which starts at the beginning
  /// of a line), at most `limit` of them.
  func scan(_ start: Int, _ end: Int, limit: Int, expectedRows: Int) -> Piece {
    let lf: UInt8 = 0x0A
    let cr: UInt8 = 0x0D
    let quote = UInt8(ascii: "\"")
    let sep = separator
    let maxCell = CSVReader.maxCellBytes
    let lastColumn = columnCount - 1
    var piece = Piece(stop: start)
    piece.values.reserveCapacity(min(limit, expectedRows) * slots)
    var rows = 0
    var lines = 0
    var i = start
    rowLoop: while i < end {
      if rows == limit {
        piece.reason = .count
        break rowLoop
      }
      let first = base[i]
      if first == lf || first == cr {  // a blank line
        lines += 1
        i += 1
        if first == cr {
          if i < end {
            if base[i] == lf { i += 1 }
          } else {
            piece.endsWithCR = true
          }
        }
        continue
      }
      let rowStart = i
      let mark = piece.values.count
      var column = 0
      var p = i
      while true {
        // The cell at `p`: find its end `q` (a separator or line ending).
        var q = p
        let slot = slotOfColumn[column]
        var parsed = false
        if slot >= 0 {
          var stop = p
          if let v = CSVReader.commonDecimalPrefix(base, p, end, stop: &stop), stop < end,
            base[stop] == sep || base[stop] == lf || base[stop] == cr, stop - p <= maxCell
          {
            piece.values.append(v)
            q = stop
            parsed = true
          }
        }
        if !parsed {
          while q < end {
            let b = base[q]
            if b == sep || b == lf || b == cr || b == quote { break }
            q += 1
          }
          if q == end || base[q] == quote {
            piece.values.removeSubrange(mark...)
            i = rowStart
            piece.reason = .tokenizer
            break rowLoop
          }
          if slot >= 0 {
            // Spaces, nan, inf, true, …: the general reading.
            let cell = UnsafeBufferPointer(start: base + p, count: q - p)
            guard q - p <= maxCell, let v = CSVReader.number(from: Array(cell)[...]) else {
              piece.values.removeSubrange(mark...)
              i = rowStart
              piece.reason = .tokenizer
              break rowLoop
            }
            piece.values.append(v)
          }
        }
        let t = base[q]
        if t == sep {
          guard column < lastColumn else { break }  // too many cells
          column += 1
          p = q + 1
          continue
        }
        guard column == lastColumn else { break }  // too few cells
        rows += 1
        lines += 1
        i = q + 1
        if t == cr {
          if i < end {
            if base[i] == lf { i += 1 }
          } else {
            piece.endsWithCR = true
          }
        }
        continue rowLoop
      }
      // A ragged row.
      piece.values.removeSubrange(mark...)
      i = rowStart
      piece.reason = .tokenizer
      break rowLoop
    }
    piece.rows = rows
    piece.lines = lines
    piece.stop = i
    return piece
  }

  /// The first line start at or after `i` in `i..<end` (after an LF, a CR,
  /// or a CR LF), or `end`.
  func lineStart(after i: Int, end: Int) -> Int {
    var j = i
    while j < end {
      let b = base[j]
      j += 1
      if b == 0x0A { return j }
      if b == 0x0D {
        if j == end { return end }
        return base[j] == 0x0A ? j + 1 : j
      }
    }
    return end
  }

  /// Whether `start..<end` holds a quote.
  func hasQuote(_ start: Int, _ end: Int) -> Bool {
    guard end > start else { return false }
    return memchr(base + start, Int32(UInt8(ascii: "\"")), end - start) != nil
  }
}

extension CSVReader {
  /// The least bytes for which a run of rows is split across cores.
  static let parallelBytesPerCore = 64 << 10

  /// Reads up to `count` rows of the slots' columns into `values` (one
  /// array per slot), through the fast path where rows are plain and the
  /// tokenizer elsewhere; returns the number of rows read.
  mutating func readSlots(_ count: Int, into values: inout [[Double]]) throws(FileInputError) -> Int {
    var got = 0
    if let first = pending {
      pending = nil
      for (slot, column) in slotColumns.enumerated() {
        values[slot].append(
          try CSVReader.number(first.cells[column][...], path: path, line: first.line, column: column))
      }
      got = 1
    }
    while got < count {
      if bufferPosition < bufferEnd {
        got += fastRows(count - got, into: &values)
        if got == count { break }
      }
      // The tokenizer reads one row: one that is not plain, or one cut by
      // the end of the buffer (it refills the buffer).
      guard let record = try scanRecord() else { break }
      guard record.cells == columnCount else {
        throw .raggedCSVRow(path: path, line: record.line, found: record.cells, expected: columnCount)
      }
      for slot in slotColumns.indices {
        values[slot].append(
          try CSVReader.number(
            slotBytes[slot][...], path: path, line: slotLines[slot], column: slotColumns[slot]))
      }
      got += 1
    }
    return got
  }

  /// Reads up to `count` plain rows from the buffer, on several cores when
  /// there are many; stops at the first row that is not plain, or at the
  /// end of the buffer.
  mutating func fastRows(_ count: Int, into values: inout [[Double]]) -> Int {
    if skipLineFeed {
      guard bufferPosition < bufferEnd else { return 0 }
      skipLineFeed = false
      if buffer.base.load(fromByteOffset: bufferPosition, as: UInt8.self) == 0x0A { bufferPosition += 1 }
    }
    let scanner = CSVBulkScanner(
      base: UnsafePointer(buffer.base.assumingMemoryBound(to: UInt8.self)), separator: separatorByte,
      columnCount: columnCount, slotOfColumn: slotOfColumn, slots: slotColumns.count)
    var got = 0
    while got < count, bufferPosition < bufferEnd {
      let start = bufferPosition
      let left = count - got
      // Split across cores a run of rows that surely lies in the buffer
      // and holds fewer than `left` rows (by the mean row length so far).
      var pieces: [Range<Int>] = []
      if activeCores > 1, averageRowBytes > 0 {
        let guess = Int(Double(left) * averageRowBytes * 0.97)
        let end = scanner.lineStart(after: min(bufferEnd, start + guess), end: bufferEnd)
        let cores = min(activeCores, (end - start) / CSVReader.parallelBytesPerCore)
        if cores > 1, !scanner.hasQuote(start, end) {
          var bounds = [start]
          for k in 1..<cores {
            bounds.append(max(bounds[k - 1], scanner.lineStart(after: start + (end - start) * k / cores, end: end)))
          }
          bounds.append(end)
          pieces = zip(bounds, bounds.dropFirst()).map { $0..<$1 }
        }
      }
      let results: [CSVBulkScanner.Piece]
      if pieces.count > 1 {
        let expected = Int(Double(pieces[0].count) / averageRowBytes) + 16
        results = parallelMap(ranges: pieces) { r in
          scanner.scan(r.lowerBound, r.upperBound, limit: left, expectedRows: expected)
        }
      } else {
        let expected = averageRowBytes > 0 ? min(left, Int(Double(bufferEnd - start) / averageRowBytes) + 16) : 1024
        results = [
          scanner.scan(start, bufferEnd, limit: min(left, averageRowBytes > 0 ? left : 1024), expectedRows: expected)
        ]
      }
      var stopped = false
      for piece in results {
        // More rows than asked: read them again, one core.
        guard got + piece.rows <= count else { break }
        if piece.rows > 0 { CSVReader.appendColumns(piece.values, slots: slotColumns.count, to: &values) }
        got += piece.rows
        line += piece.lines
        let consumed = piece.stop - bufferPosition
        if piece.rows > 0 {
          bytesInRows += consumed
          rowsScanned += piece.rows
          averageRowBytes = Double(bytesInRows) / Double(rowsScanned)
        }
        bufferPosition = piece.stop
        if piece.reason != .end {
          stopped = true
          break
        }
        if piece.endsWithCR, piece.stop == bufferEnd { skipLineFeed = true }
      }
      if stopped { break }
    }
    return got
  }

  /// Appends row-major `rows` of `slots` values to one array per slot.
  static func appendColumns(_ rows: [Double], slots: Int, to values: inout [[Double]]) {
    if slots == 1 {
      values[0].append(contentsOf: rows)
      return
    }
    let n = rows.count / max(slots, 1)
    rows.withUnsafeBufferPointer { v in
      for s in 0..<slots {
        let old = values[s].count
        values[s].append(contentsOf: repeatElement(0, count: n))
        values[s].withUnsafeMutableBufferPointer { out in
          var k = s
          for r in old..<(old + n) {
            out[r] = v[k]
            k &+= slots
          }
        }
      }
    }
  }
}
