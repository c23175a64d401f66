//===--- NPYReader.swift --------------------------------------------------===//
//
// Reading NumPy `.npy` files a range of rows at a time, so that prediction
// files of any size stream through metrics in bounded memory.
//
// Files are read with POSIX `pread` (positionless, so one open file is safely
// shared by copies of a reader and by concurrent readers).
//
//===----------------------------------------------------------------------===//

/// A NumPy `.npy` file, read a range of rows at a time.
///
/// Opening a file reads and validates its header only; ``readRows(_:)``
/// then reads just the requested rows from disk, so a file of any size is
/// processed in bounded memory:
///
/// ```swift
/// let path = FileManager.default.temporaryDirectory.appendingPathComponent("values.npy").path
/// try NPYReader.write([Float](repeating: 0.5, count: 100_000), shape: [50_000, 2], to: path)
/// let file = try NPYReader(path: path)               // shape [50_000, 2], float32
/// var mean = Mean()
/// var start = 0
/// while start < file.rows {
///   let end = min(start + 16_384, file.rows)
///   let batch = try file.readRows(start..<end)       // shape [end - start, 2]
///   try mean.update(batch)
///   start = end
/// }
/// mean.result()   // 0.5
/// ```
///
/// Format versions 1.0, 2.0 and 3.0 are read, in C or Fortran order, of any
/// rank, little- or big-endian. The first axis is the row axis. Elements are
/// converted to the natural ``Tensor`` element type (see ``dtype``):
///
/// | descr                  | Tensor element |
/// |------------------------|----------------|
/// | `f2`, `f4`             | `Float`        |
/// | `f8`                   | `Double`       |
/// | `i1`, `i2`, `u2`, `i4` | `Int32`        |
/// | `u4`, `i8`             | `Int64`        |
/// | `u1`                   | `UInt8`        |
/// | `b1`                   | `Bool`         |
///
/// Everything in the file is validated on opening: the magic string, the
/// version, the header dictionary, the dtype, the shape, and that the file
/// holds exactly the bytes the header declares. A malformed file throws a
/// ``FileInputError``; nothing in a file traps.
public struct NPYReader: Sendable {
  /// The path the reader was opened with.
  public let path: String
  /// The array's shape, as declared in the header (`[]` for a 0-d array).
  public let shape: [Int]
  /// The dtype as written in the header, e.g. `"<f4"`.
  public let descr: String
  /// Whether the data is stored in Fortran (column-major) order.
  public let fortranOrder: Bool
  /// The major format version: 1, 2 or 3.
  public let formatVersion: Int
  /// The element type of the tensors ``readRows(_:)`` returns.
  public let dtype: DType

  let file: ReadOnlyFile
  let kind: NPYKind
  let bigEndian: Bool
  /// The byte offset of the first element.
  let dataOffset: Int

  /// The shape of one row: ``shape`` without its first axis (`[]` for rank
  /// 0 and 1).
  public var rowShape: [Int] { shape.isEmpty ? [] : Array(shape.dropFirst()) }

  /// The number of rows: the first dimension; 1 for a 0-d array, which reads
  /// as one row holding its single element.
  public var rows: Int { shape.first ?? 1 }

  /// The number of elements in one row (the product of ``rowShape``).
  public var elementsPerRow: Int { rowShape.reduce(1, *) }

  /// The number of elements in the file (the product of ``shape``).
  public var elementCount: Int { shape.reduce(1, *) }

  /// The size in bytes of one element in the file.
  public var itemSize: Int { kind.itemSize }

  /// Opens `path` and validates its header and size.
  ///
  /// - Throws: ``FileInputError/unreadable(path:reason:)`` if the file cannot
  ///   be opened; ``FileInputError/malformedNPY(path:reason:)`` for a bad
  ///   magic string, version, header or shape;
  ///   ``FileInputError/unsupportedDType(path:descr:)`` for a dtype Tally
  ///   cannot read; ``FileInputError/truncated(path:expectedBytes:actualBytes:)``
  ///   if the file is shorter than its header declares.
  public init(path: String) throws(FileInputError) {
    let file = try ReadOnlyFile(path: path, requireRegularFile: true)
    let header = try NPYHeader(reading: file)
    self.path = path
    self.shape = header.shape
    self.descr = header.descr
    self.fortranOrder = header.fortranOrder
    self.formatVersion = header.formatVersion
    self.dtype = header.kind.dtype
    self.file = file
    self.kind = header.kind
    self.bigEndian = header.bigEndian
    self.dataOffset = header.dataOffset
  }

  /// Reads rows `range` from disk (and nothing else) as a tensor of shape
  /// `[range.count] + rowShape`, with element type ``dtype``.
  ///
  /// A 0-d array reads as one row: `readRows(0..<1)` has shape `[1]`.
  /// An empty range returns an empty tensor of shape `[0] + rowShape`.
  ///
  /// - Throws: ``FileInputError/rowsOutOfRange(path:requested:rows:)`` if
  ///   `range` is not within `0..<rows`; ``FileInputError/truncated(path:expectedBytes:actualBytes:)``
  ///   or ``FileInputError/unreadable(path:reason:)`` if the file shrank or
  ///   cannot be read.
  public func readRows(_ range: Range<Int>) throws(FileInputError) -> Tensor {
    guard range.lowerBound >= 0, range.upperBound <= rows else {
      throw .rowsOutOfRange(path: path, requested: range, rows: rows)
    }
    return try read(range, shape: [range.count] + rowShape)
  }

  /// Reads the whole array, with its declared ``shape`` (a 0-d array gives a
  /// rank-0 tensor). Meant for small files: it holds every element in memory.
  public func readAll() throws(FileInputError) -> Tensor {
    try read(0..<rows, shape: shape)
  }

  /// Whether the bytes on disk are the elements in row order: C order (or
  /// at most one element per row), the host's byte order, and an element
  /// type that is its tensor's (`f4`, `f8`, `i4`, `i8`, `u1`). Such rows
  /// are read into place, mapped, or read in pieces; others are decoded.
  var bytesAreElements: Bool {
    let storedRowMajor = !fortranOrder || shape.count <= 1 || elementsPerRow <= 1
    guard storedRowMajor, bigEndian == (1.bigEndian == 1) else { return false }
    switch kind {
    case .float32, .float64, .int32, .int64, .uint8: return true
    default: return false
    }
  }

  func read(_ range: Range<Int>, shape outShape: [Int]) throws(FileInputError) -> Tensor {
    let perRow = elementsPerRow
    let n = range.count * perRow
    let isz = kind.itemSize
    // A Fortran-ordered array with at most one element per row is laid
    // out as in C order.
    let storedRowMajor = !fortranOrder || shape.count <= 1 || range.count == 0 || perRow <= 1
    let offset = dataOffset + range.lowerBound * perRow * isz

    if bytesAreElements {
      // Read them into place.
      switch kind {
      case .float32: return try tensor(readInPlace(Float.self, count: n, at: offset), outShape)
      case .float64: return try tensor(readInPlace(Double.self, count: n, at: offset), outShape)
      case .int32: return try tensor(readInPlace(Int32.self, count: n, at: offset), outShape)
      case .int64: return try tensor(readInPlace(Int64.self, count: n, at: offset), outShape)
      case .uint8: return try tensor(readInPlace(UInt8.self, count: n, at: offset), outShape)
      default: break
      }
    }
    var raw: [UInt8]
    if storedRowMajor {
      raw = [UInt8](repeating: 0, count: n * isz)
      try raw.withFileInputBytes { (p) throws(FileInputError) in
        try file.readExactly(into: p, at: offset)
      }
    } else {
      raw = try readFortranRows(range)
    }
    return try raw.withFileInputBytes { (p) throws(FileInputError) -> Tensor in
      try decode(p, count: n, shape: outShape)
    }
  }

  func tensor<T: TensorScalar>(_ values: [T], _ shape: [Int]) throws(FileInputError) -> Tensor {
    do throws(MetricError) {
      return try Tensor(values, shape: shape)
    } catch {
      throw .malformedNPY(path: path, reason: error.message)
    }
  }

  /// `count` elements read straight from the file into an array of `T`.
  func readInPlace<T: TensorScalar>(_: T.Type, count: Int, at offset: Int) throws(FileInputError)
    -> [T]
  {
    var failure: FileInputError?
    let values = [T](unsafeUninitializedCapacity: count) { buffer, initialized in
      do throws(FileInputError) {
        try file.readExactly(into: UnsafeMutableRawBufferPointer(buffer), at: offset)
        initialized = count
      } catch {
        failure = error
        initialized = 0
      }
    }
    if let failure { throw failure }
    return values
  }

  /// The raw bytes of rows `range` of a Fortran-ordered array, rearranged
  /// into C order.
  ///
  /// Element `(i, j)` (with `j` the row-element multi-index, first index
  /// fastest) is at element offset `i + rows * r(j)`, so the rows of one
  /// row-element form one contiguous segment; neighbouring segments are
  /// read together, in blocks of about `blockBytes`, when the gap between
  /// them is small.
  func readFortranRows(_ range: Range<Int>, blockBytes: Int = 4 << 20) throws(FileInputError)
    -> [UInt8]
  {
    let isz = kind.itemSize
    let k = range.count
    let perRow = elementsPerRow
    var out = [UInt8](repeating: 0, count: k * perRow * isz)
    guard k > 0, perRow > 0 else { return out }

    // cIndex[r]: the C-order position within a row of Fortran row-element r.
    let dims = rowShape
    var cStrides = [Int](repeating: 1, count: dims.count)
    for i in stride(from: dims.count - 2, through: 0, by: -1) {
      cStrides[i] = cStrides[i + 1] * dims[i + 1]
    }
    var cIndex = [Int](repeating: 0, count: perRow)
    var odometer = [Int](repeating: 0, count: dims.count)
    var c = 0
    for r in 0..<perRow {
      cIndex[r] = c
      var axis = 0
      while axis < dims.count {
        odometer[axis] += 1
        c += cStrides[axis]
        if odometer[axis] < dims[axis] { break }
        c -= odometer[axis] * cStrides[axis]
        odometer[axis] = 0
        axis += 1
      }
    }

    let segmentBytes = k * isz
    let strideBytes = rows * isz
    let gapBytes = strideBytes - segmentBytes
    let blockLimit = max(blockBytes, segmentBytes)
    let segmentsPerBlock =
      gapBytes <= max(segmentBytes, 64 << 10)
      ? max(1, min(perRow, (blockLimit - segmentBytes) / strideBytes + 1)) : 1
    var scratch = [UInt8](repeating: 0, count: (segmentsPerBlock - 1) * strideBytes + segmentBytes)

    var r = 0
    while r < perRow {
      let m = min(segmentsPerBlock, perRow - r)
      let blockBytes = (m - 1) * strideBytes + segmentBytes
      let offset = dataOffset + (r * rows + range.lowerBound) * isz
      try scratch.withFileInputBytes { (p) throws(FileInputError) in
        try file.readExactly(into: UnsafeMutableRawBufferPointer(rebasing: p[0..<blockBytes]), at: offset)
      }
      scratch.withUnsafeBytes { src in
        out.withUnsafeMutableBytes { dst in
          for s in 0..<m {
            let cPos = cIndex[r + s]
            for t in 0..<k {
              let from = s * strideBytes + t * isz
              let to = (t * perRow + cPos) * isz
              switch isz {
              case 1: dst[to] = src[from]
              case 2:
                dst.storeBytes(
                  of: src.loadUnaligned(fromByteOffset: from, as: UInt16.self), toByteOffset: to, as: UInt16.self)
              case 4:
                dst.storeBytes(
                  of: src.loadUnaligned(fromByteOffset: from, as: UInt32.self), toByteOffset: to, as: UInt32.self)
              default:
                dst.storeBytes(
                  of: src.loadUnaligned(fromByteOffset: from, as: UInt64.self), toByteOffset: to, as: UInt64.self)
              }
            }
          }
        }
      }
      r += m
    }
    return out
  }

  /// Converts `count` raw elements, in C order, to a tensor.
  func decode(_ raw: UnsafeRawBufferPointer, count n: Int, shape: [Int]) throws(FileInputError)
    -> Tensor
  {
    let big = bigEndian
    @inline(__always) func u16(_ i: Int) -> UInt16 {
      let v = raw.loadUnaligned(fromByteOffset: i &* 2, as: UInt16.self)
      return big ? UInt16(bigEndian: v) : UInt16(littleEndian: v)
    }
    @inline(__always) func u32(_ i: Int) -> UInt32 {
      let v = raw.loadUnaligned(fromByteOffset: i &* 4, as: UInt32.self)
      return big ? UInt32(bigEndian: v) : UInt32(littleEndian: v)
    }
    @inline(__always) func u64(_ i: Int) -> UInt64 {
      let v = raw.loadUnaligned(fromByteOffset: i &* 8, as: UInt64.self)
      return big ? UInt64(bigEndian: v) : UInt64(littleEndian: v)
    }
    switch kind {
    case .float16: return try tensor((0..<n).map { floatFromHalf(u16($0)) }, shape)
    case .float32: return try tensor((0..<n).map { Float(bitPattern: u32($0)) }, shape)
    case .float64: return try tensor((0..<n).map { Double(bitPattern: u64($0)) }, shape)
    case .int8: return try tensor((0..<n).map { Int32(Int8(bitPattern: raw[$0])) }, shape)
    case .int16: return try tensor((0..<n).map { Int32(Int16(bitPattern: u16($0))) }, shape)
    case .uint16: return try tensor((0..<n).map { Int32(u16($0)) }, shape)
    case .int32: return try tensor((0..<n).map { Int32(bitPattern: u32($0)) }, shape)
    case .uint32: return try tensor((0..<n).map { Int64(u32($0)) }, shape)
    case .int64: return try tensor((0..<n).map { Int64(bitPattern: u64($0)) }, shape)
    case .uint8: return try tensor(Array(raw[0..<n]), shape)
    case .bool: return try tensor((0..<n).map { raw[$0] != 0 }, shape)
    }
  }
}

/// IEEE 754 binary16 bits to `Float` (exact), by bit manipulation, so that it
/// works where `Float16` is unavailable (Intel macOS).
@inline(__always)
func floatFromHalf(_ h: UInt16) -> Float {
  let sign = UInt32(h >> 15) << 31
  let exponent = UInt32((h >> 10) & 0x1F)
  let mantissa = UInt32(h & 0x3FF)
  if exponent == 0x1F {  // infinity or NaN (payload kept)
    return Float(bitPattern: sign | 0x7F80_0000 | (mantissa << 13))
  }
  if exponent == 0 {  // zero or subnormal: mantissa × 2^-24
    let magnitude = Float(mantissa) * 0x1p-24
    return sign != 0 ? -magnitude : magnitude
  }
  return Float(bitPattern: sign | ((exponent + 112) << 23) | (mantissa << 13))
}
