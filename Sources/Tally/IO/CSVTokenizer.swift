//===--- CSVTokenizer.swift -----------------------------------------------===//
//
// The CSV tokenizer: splitting the bytes of a file, read through a fixed
// buffer, into records and cells (quotes, line endings, blank lines), and
// sending each cell to where the reader wants it.
//
//===----------------------------------------------------------------------===//

extension CSVReader {
  struct ScannedRecord {
    var line: Int
    var cells: Int
  }

  enum ScanState {
    case recordStart, cellStart, unquoted, quoted, quoteInQuoted
  }

  /// Refills the buffer; `false` at the end of the file.
  mutating func refill() throws(FileInputError) -> Bool {
    bufferPosition = 0
    bufferEnd = 0
    let offset = fileOffset
    let base = buffer.base
    let capacity = buffer.capacity
    var got = 0
    // At the start, read at least 3 bytes (if there are) to see a BOM.
    let wanted = sawFirstBytes ? 1 : 3
    while got < wanted {
      let n = try file.read(
        into: UnsafeMutableRawBufferPointer(start: base + got, count: capacity - got), at: offset + got)
      if n == 0 { break }
      got += n
    }
    fileOffset += got
    bufferEnd = got
    if !sawFirstBytes {
      sawFirstBytes = true
      if got >= 3, base.load(as: (UInt8, UInt8, UInt8).self) == (0xEF, 0xBB, 0xBF) { bufferPosition = 3 }
    }
    return bufferPosition < bufferEnd
  }

  /// Scans the next record (skipping blank lines), sending its cells to
  /// their slots (or to `captured`); `nil` at the end of the file.
  mutating func scanRecord() throws(FileInputError) -> ScannedRecord? {
    scanState = .recordStart
    cellCount = 0
    while true {
      if bufferPosition == bufferEnd {
        guard try refill() else {
          switch scanState {
          case .recordStart:
            return nil
          case .quoted:
            throw .csv(
              path: path,
              reason: "line \(cellLine), column \(cellCount + 1): a quoted cell is never closed")
          case .cellStart:  // after a final separator: one more, empty, cell
            beginCell()
            try endCell()
          case .unquoted, .quoteInQuoted:
            try endCell()
          }
          return ScannedRecord(line: recordLine, cells: cellCount)
        }
      }
      let raw = UnsafeRawBufferPointer(start: buffer.base, count: bufferEnd)
      if try scanBuffered(raw) { return ScannedRecord(line: recordLine, cells: cellCount) }
    }
  }

  /// Scans `raw[bufferPosition..<bufferEnd]`; `true` when a record ended
  /// (with `bufferPosition` after its line ending), `false` when the buffer
  /// ran out first.
  mutating func scanBuffered(_ raw: UnsafeRawBufferPointer) throws(FileInputError) -> Bool {
    let lf: UInt8 = 0x0A
    let cr: UInt8 = 0x0D
    let quote = UInt8(ascii: "\"")
    let sep = separatorByte
    var i = bufferPosition
    let end = bufferEnd
    defer { bufferPosition = i }
    while i < end {
      let b = raw[i]
      if skipLineFeed {
        skipLineFeed = false
        if b == lf {
          i += 1
          continue
        }
      }
      switch scanState {
      case .recordStart:
        if b == lf || b == cr {  // a blank line
          line += 1
          skipLineFeed = b == cr
          i += 1
          continue
        }
        recordLine = line
        scanState = .cellStart
      case .cellStart:
        beginCell()
        if b == quote {
          scanState = .quoted
          quotedLastWasCR = false
          i += 1
        } else {
          scanState = .unquoted
        }
      case .unquoted:
        let start = i
        i = CSVReader.firstIndex(in: raw, from: i, to: end, ofAny: sep, lf, cr)
        if i > start { try append(raw, start..<i) }
        if i == end { return false }
        let c = raw[i]
        i += 1
        try endCell()
        if c == sep {
          scanState = .cellStart
        } else {
          line += 1
          skipLineFeed = c == cr
          scanState = .recordStart
          return true
        }
      case .quoted:
        let start = i
        i = CSVReader.firstIndex(in: raw, from: i, to: end, ofAny: quote, lf, cr)
        if i > start {
          try append(raw, start..<i)
          quotedLastWasCR = false
        }
        if i == end { return false }
        let c = raw[i]
        if c == quote {
          scanState = .quoteInQuoted
        } else {
          if c == cr || !quotedLastWasCR { line += 1 }
          quotedLastWasCR = c == cr
          try append(raw, i..<(i + 1))
        }
        i += 1
      case .quoteInQuoted:
        if b == quote {  // "" is one quote
          try append(raw, i..<(i + 1))
          scanState = .quoted
          quotedLastWasCR = false
          i += 1
        } else if b == sep {
          try endCell()
          scanState = .cellStart
          i += 1
        } else if b == lf || b == cr {
          try endCell()
          line += 1
          skipLineFeed = b == cr
          scanState = .recordStart
          i += 1
          return true
        } else {  // text after a closing quote: kept, as Python's csv does
          scanState = .unquoted
        }
      }
    }
    return false
  }

  /// The index of the first of `a`, `b`, `c` in `raw[start..<end]`, or
  /// `end`.
  @inline(__always)
  static func firstIndex(
    in raw: UnsafeRawBufferPointer, from start: Int, to end: Int, ofAny a: UInt8, _ b: UInt8, _ c: UInt8
  ) -> Int {
    var i = start
    while i < end {
      let x = raw[i]
      if x == a || x == b || x == c { break }
      i += 1
    }
    return i
  }

  mutating func beginCell() {
    cellLine = line
    cellLength = 0
    if captureAll {
      target = -2
      captureCell.removeAll(keepingCapacity: true)
    } else {
      target = cellCount < slotOfColumn.count ? slotOfColumn[cellCount] : -1
      if target >= 0 {
        slotBytes[target].removeAll(keepingCapacity: true)
        slotLines[target] = line
      }
    }
  }

  /// Appends `raw[range]` to the current cell (if it is kept).
  @inline(__always)
  mutating func append(_ raw: UnsafeRawBufferPointer, _ range: Range<Int>) throws(FileInputError) {
    if target == -1 { return }
    cellLength += range.count
    guard cellLength <= CSVReader.maxCellBytes else {
      throw .csv(
        path: path,
        reason: "line \(cellLine), column \(cellCount + 1): a cell is longer than "
          + "\(CSVReader.maxCellBytes) bytes (an unbalanced quote?)")
    }
    let piece = UnsafeRawBufferPointer(rebasing: raw[range])
    if target >= 0 {
      slotBytes[target].append(contentsOf: piece)
    } else {
      captureCell.append(contentsOf: piece)
    }
  }

  mutating func endCell() throws(FileInputError) {
    if target == -2 {
      guard captured.count < CSVReader.maxColumns else {
        throw .csv(path: path, reason: "line \(cellLine) has more than \(CSVReader.maxColumns) cells")
      }
      capturedBytes += captureCell.count
      guard capturedBytes <= 16 << 20 else {
        throw .csv(path: path, reason: "line \(cellLine) is longer than 16 MiB")
      }
      captured.append(captureCell)
    }
    cellCount += 1
  }
}

/// A fixed-size byte buffer (the reader's input buffer), shared by copies of
/// a reader until one of them reads.
final class CSVInputBuffer: @unchecked Sendable {
  let base: UnsafeMutableRawPointer
  let capacity: Int

  init(capacity: Int) {
    self.capacity = capacity
    base = UnsafeMutableRawPointer.allocate(byteCount: capacity, alignment: 16)
    base.initializeMemory(as: UInt8.self, repeating: 0, count: capacity)
  }

  deinit { base.deallocate() }

  func copy() -> CSVInputBuffer {
    let other = CSVInputBuffer(capacity: capacity)
    other.base.copyMemory(from: base, byteCount: capacity)
    return other
  }
}
