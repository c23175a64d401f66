//===--- NPYPieces.swift --------------------------------------------------===//
//
// Reading a `.npy` file a piece at a time into memory that is reused, so
// that the rows stay in the cache between the read and the metrics: one
// copy out of the page cache, and no page tables to build or tear down.
//
//===----------------------------------------------------------------------===//

/// Memory that ``NPYReader/withRows(_:reusing:_:)`` reads rows into and
/// keeps for the next read. One thread at a time.
public final class NPYReadBuffer: @unchecked Sendable {
  private var memory = UnsafeMutableRawBufferPointer(start: nil, count: 0)

  /// An empty buffer; it grows to the largest read.
  public init() {}

  /// At least `bytes` bytes, aligned for any element type.
  func bytes(_ bytes: Int) -> UnsafeMutableRawBufferPointer {
    if memory.count < bytes {
      memory.deallocate()
      memory = .allocate(byteCount: bytes, alignment: 64)
    }
    return UnsafeMutableRawBufferPointer(rebasing: memory[..<bytes])
  }

  deinit { memory.deallocate() }
}

extension NPYReader {
  /// Whether ``withRows(_:reusing:_:)`` reads the rows' bytes straight
  /// into its buffer: C order (or at most one element per row), the host's
  /// byte order, and an element type that is its tensor's (`f4`, `f8`,
  /// `i4`, `i8`, `u1`). Otherwise it reads them as ``readRows(_:)`` does.
  public var readsInPlace: Bool { bytesAreElements && !shape.isEmpty }

  /// Reads rows `range` into `buffer` and calls `body` with them as a
  /// tensor of shape `[range.count] + rowShape` (element type ``dtype``),
  /// lent as `Tensor.withBorrowed(_:shape:_:)` lends memory: a tensor
  /// kept past `body` holds a copy. Reading a large file a piece of a few
  /// hundred kilobytes at a time into one buffer keeps the rows in the
  /// cache for the metrics and maps no memory. When the file's bytes are
  /// not its elements (``readsInPlace`` is false), the rows are read as
  /// ``readRows(_:)`` reads them, into memory of their own.
  ///
  /// ```swift
  /// let path = FileManager.default.temporaryDirectory.appendingPathComponent("pieces.npy").path
  /// try NPYReader.write([Float](repeating: 0.25, count: 100_000), shape: [100_000], to: path)
  /// let file = try NPYReader(path: path)
  /// let buffer = NPYReadBuffer()
  /// var mean = Mean()
  /// for start in stride(from: 0, to: file.rows, by: 32_768) {
  ///   try file.withRows(start..<min(start + 32_768, file.rows), reusing: buffer) { try mean.update($0) }
  /// }
  /// mean.result()   // 0.25
  /// ```
  ///
  /// - Throws: what ``readRows(_:)`` throws (rows out of range, a file that
  ///   shrank or cannot be read; `body` is then not called), and what
  ///   `body` throws.
  public func withRows<R>(_ range: Range<Int>, reusing buffer: NPYReadBuffer, _ body: (Tensor) throws -> R)
    throws -> R
  {
    guard readsInPlace else { return try body(readRows(range)) }
    guard range.lowerBound >= 0, range.upperBound <= rows else {
      throw FileInputError.rowsOutOfRange(path: path, requested: range, rows: rows)
    }
    let perRow = elementsPerRow
    let count = range.count * perRow
    let memory = buffer.bytes(count * kind.itemSize)
    try file.readExactly(into: memory, at: dataOffset + range.lowerBound * perRow * kind.itemSize)
    let shape = [range.count] + rowShape
    func lend<T: TensorScalar>(_: T.Type) throws -> R {
      try Tensor.withBorrowed(UnsafeBufferPointer(memory.bindMemory(to: T.self)), shape: shape, body)
    }
    switch kind {
    case .float32: return try lend(Float.self)
    case .float64: return try lend(Double.self)
    case .int32: return try lend(Int32.self)
    case .int64: return try lend(Int64.self)
    default: return try lend(UInt8.self)
    }
  }
}
