import Foundation
import Tally

/// `tally evaluate`'s inputs when every one is a `.npy` file with narrow
/// rows whose bytes are its elements (labels, one score, a weight, integer
/// slice keys): the main thread hands out row ranges, and each worker reads
/// its own a piece at a time (2 MB of all the inputs at most)
/// with `pread(2)` into buffers it reuses.
///
/// Against mapping the files: one copy out of the page cache into memory
/// that stays in the cache for the metrics, instead of page faults, pages
/// read from main memory, and page tables to tear down when the process
/// ends. On W1 (10 M rows) a plain pass went from 26.3 to 22.2 ms and one
/// with 1,000 slices (an 80 MB key file) from 46.2 to 39.8 ms (with 1 M-row
/// chunks, which are only ranges here). Wider rows (many classes) are
/// mapped or read as before: a piece of them would not stay in the cache.
struct PieceReading: Sendable {
  let yTrue: NPYReader
  let yPred: NPYReader
  let weight: NPYReader?
  let keys: [NPYReader]
  /// The sources of y_true and y_pred, for the first chunk's tensors that
  /// choose the metrics (over the mappings when the files are mapped).
  let sources: (yTrue: NPYSource, yPred: NPYSource)
  /// Rows per piece.
  let pieceRows: Int
  /// The number of rows (every input has as many: checked when opened).
  var rows: Int { yTrue.rows }

  /// The bytes of all the inputs a piece holds, at most. (W1, alternating
  /// runs, the mean of each's faster half: 2 MB against 512 KB, 15.2–15.5
  /// against 15.7–15.8 ms plain, 27.0–27.3 against 28.0 ms with 1,000
  /// slices; 1 MB between them, 4 MB slower.)
  static let pieceBytes = 2 << 20
  /// The widest row of all the inputs read in pieces (a piece then holds
  /// 4,096 rows at least).
  static let widestRow = 512

  /// The inputs as pieces, or `nil` when one is not a `.npy` file read in
  /// place, its rows are too wide, or a key file is not a column of
  /// integers (those go the usual way, which reports the error).
  init?(yTrue t: any RowSource, yPred p: any RowSource, weight w: (any RowSource)?, keys: [SliceSource]) {
    guard let t = t as? NPYSource, let p = p as? NPYSource else { return nil }
    var weight: NPYReader?
    if let w {
      guard let w = w as? NPYSource else { return nil }
      weight = w.reader
    }
    var keyReaders: [NPYReader] = []
    for source in keys {
      guard case .npy(let s) = source, [.int64, .int32, .uint8].contains(s.reader.dtype),
        s.reader.shape.count == 1 || (s.reader.shape.count == 2 && s.reader.shape[1] == 1)
      else { return nil }
      keyReaders.append(s.reader)
    }
    let all = [t.reader, p.reader] + (weight.map { [$0] } ?? []) + keyReaders
    guard all.allSatisfy(\.readsInPlace) else { return nil }
    let rowBytes = all.reduce(0) { $0 + $1.elementsPerRow * $1.itemSize }
    guard rowBytes > 0, rowBytes <= Self.widestRow else { return nil }
    (yTrue, yPred, self.weight, self.keys) = (t.reader, p.reader, weight, keyReaders)
    sources = (t, p)
    pieceRows = Self.pieceBytes / rowBytes
  }

  /// Buffers for one worker: one per input.
  func buffers() -> [NPYReadBuffer] {
    (0..<(2 + (weight == nil ? 0 : 1) + keys.count)).map { _ in NPYReadBuffer() }
  }

  /// The first chunk's labels and predictions, for choosing the metrics.
  func firstChunk(_ range: Range<Int>) throws(FileInputError) -> (Tensor, Tensor) {
    (try sources.yTrue.rows(range), try sources.yPred.rows(range))
  }

  /// Reads the pieces `dispenser` hands out, each into `buffers` (from
  /// ``buffers()``), and calls `body` with each, in the order taken.
  func read(_ dispenser: PieceDispenser, buffers: [NPYReadBuffer], _ body: (Chunk) throws -> Void) throws {
    let readers = [yTrue, yPred] + (weight.map { [$0] } ?? []) + keys
    while let (piece, first) = try dispenser.take() {
      try lend(readers[...], buffers[...], piece, opened: []) { t in
        let keyTensors = t.dropFirst(weight == nil ? 2 : 3)
        var columns: [SliceColumn] = []
        for (reader, k) in zip(keys, keyTensors) {
          do {
            columns.append(try SliceColumn(k))
          } catch {
            throw CommandError("slice keys in '\(reader.path)': \(error)")
          }
        }
        try body(
          Chunk(
            yTrue: t[0], yPred: t[1], weight: weight == nil ? nil : t[2], keys: keys.isEmpty ? nil : columns,
            rows: .contiguous(first: first, count: piece.count)))
      }
    }
  }

  /// Calls `body` with rows `piece` of each of `readers`, read into its
  /// buffer.
  private func lend(
    _ readers: ArraySlice<NPYReader>, _ buffers: ArraySlice<NPYReadBuffer>, _ piece: Range<Int>, opened: [Tensor],
    _ body: ([Tensor]) throws -> Void
  ) throws {
    guard let reader = readers.first, let buffer = buffers.first else { return try body(opened) }
    try reader.withRows(piece, reusing: buffer) { t in
      try lend(readers.dropFirst(), buffers.dropFirst(), piece, opened: opened + [t], body)
    }
  }
}

/// Pieces of row ranges, handed out one at a time as they are asked for
/// (in row order): a worker's own chunk, or a whole round's chunks to
/// workers that take them as they finish.
final class PieceDispenser: @unchecked Sendable {
  private let lock = NSLock()
  private let ranges: [(Range<Int>, Int64)]
  private let pieceRows: Int
  private var range = 0
  private var next: Int

  /// `ranges`: consecutive row ranges, each with the global index of its
  /// first row.
  init(_ ranges: [(Range<Int>, Int64)], pieceRows: Int) {
    (self.ranges, self.pieceRows) = (ranges, max(1, pieceRows))
    next = ranges.first?.0.lowerBound ?? 0
  }

  /// The next piece and the global index of its first row, or `nil` when
  /// every piece is taken.
  ///
  /// - Throws: when that index overflows `Int64` (a `--row-offset` too
  ///   large).
  func take() throws -> (Range<Int>, Int64)? {
    lock.lock()
    defer { lock.unlock() }
    while range < ranges.count {
      let (rows, first) = ranges[range]
      if next < rows.upperBound {
        let piece = next..<min(rows.upperBound, next + pieceRows)
        next = piece.upperBound
        let (pieceFirst, overflow) = first.addingReportingOverflow(Int64(piece.lowerBound - rows.lowerBound))
        guard !overflow else {
          throw CommandError("the global index of row \(piece.lowerBound) overflows Int64 (--row-offset too large)")
        }
        return (piece, pieceFirst)
      }
      range += 1
      if range < ranges.count { next = ranges[range].0.lowerBound }
    }
    return nil
  }
}
