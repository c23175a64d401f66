//===--- MappedNPY.swift --------------------------------------------------===//
//
// A `.npy` file mapped into memory, whose rows are tensors over the mapped
// bytes: no copy, the kernel pages the file in as metrics read it.
//
//===----------------------------------------------------------------------===//

/// A `.npy` file mapped into memory: ``rows(_:)`` returns tensors that
/// borrow the mapped bytes, so reading a chunk costs no copy (the kernel
/// pages the file in as the metrics read it).
///
/// Every such tensor (and every copy or view of it) holds the mapping, so
/// it stays valid for as long as it is used, even after this object is
/// gone; the file is unmapped when the last of them goes.
public final class MappedNPY: @unchecked Sendable {
  /// The reader whose header describes the mapped array.
  public let reader: NPYReader
  /// The whole file (header and data), mapped.
  let mapping: FileMapping

  init(_ reader: NPYReader) throws(FileInputError) {
    self.reader = reader
    mapping = try FileMapping(
      reader.file, length: reader.dataOffset + reader.elementCount * reader.itemSize)
  }

  /// Rows `range` (along the first axis) as a tensor of shape
  /// `[range.count] + rowShape` that borrows the mapping (no copy) and keeps
  /// it alive.
  ///
  /// - Throws: ``FileInputError/rowsOutOfRange(path:requested:rows:)`` if
  ///   `range` is not within `0..<rows`.
  public func rows(_ range: Range<Int>) throws(FileInputError) -> Tensor {
    let r = reader
    guard range.lowerBound >= 0, range.upperBound <= r.rows else {
      throw .rowsOutOfRange(path: r.path, requested: range, rows: r.rows)
    }
    let perRow = r.elementsPerRow
    let shape = r.shape.isEmpty ? [] : [range.count] + r.rowShape
    let start = r.dataOffset + range.lowerBound * perRow * r.itemSize
    let count = range.count * perRow
    func view<T: TensorScalar>(_: T.Type) throws(FileInputError) -> Tensor {
      let p = mapping.base.map { ($0 + start).assumingMemoryBound(to: T.self) }
      do throws(MetricError) {
        return try Tensor(
          borrowing: UnsafeBufferPointer(start: count == 0 ? nil : p, count: count), shape: shape,
          owner: mapping)
      } catch {
        throw .malformedNPY(path: r.path, reason: error.message)
      }
    }
    switch r.kind {
    case .float32: return try view(Float.self)
    case .float64: return try view(Double.self)
    case .int32: return try view(Int32.self)
    case .int64: return try view(Int64.self)
    default: return try view(UInt8.self)
    }
  }
}

extension NPYReader {
  /// The array mapped into memory, for rows that borrow the file's bytes
  /// instead of copying them, or `nil` when the elements need decoding
  /// (Fortran order with more than one element per row, a byte order other
  /// than the host's, float16 or bool) or the data is not aligned for its
  /// type; ``readRows(_:)`` reads those.
  ///
  /// The mapping is read-only and private. If another program truncates
  /// the file while it is mapped, reading the lost pages ends the process
  /// (SIGBUS): map only files that stay as they are while you read them.
  ///
  /// - Throws: ``FileInputError/unreadable(path:reason:)`` if `mmap` fails.
  public func mapped() throws(FileInputError) -> MappedNPY? {
    guard bytesAreElements, dataOffset % kind.itemSize == 0 else { return nil }
    return try MappedNPY(self)
  }
}
