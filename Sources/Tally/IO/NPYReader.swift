//===--- NPYReader.swift --------------------------------------------------===//
//
// Reading NumPy `.npy` files a range of rows at a time, so that prediction
// files of any size stream through metrics in bounded memory; and writing
// small ones for tests and tools.
//
// Files are read with POSIX `pread` (positionless, so one open file is safely
// shared by copies of a reader and by concurrent readers).
//
//===----------------------------------------------------------------------===//

//===--- NPYReader --------------------------------------------------------===//

/// A NumPy `.npy` file, read a range of rows at a time.
///
/// Opening a file reads and validates its header only; ``readRows(_:)``
/// then reads just the requested rows from disk, so a file of any size is
/// processed in bounded memory:
///
/// ```swift
/// let preds = try NPYReader(path: "y_pred.npy")   // shape [10_000_000, 5]
/// var start = 0
/// while start < preds.rows {
///   let end = min(start + 65_536, preds.rows)
///   let batch = try preds.readRows(start..<end)    // shape [end - start, 5]
///   try metric.update(yTrue: ..., yPred: batch)
///   start = end
/// }
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
    let fileSize = file.size ?? 0
    func malformed(_ reason: String) -> FileInputError { .malformedNPY(path: path, reason: reason) }

    // Preamble: magic, version, header length.
    var preamble = [UInt8](repeating: 0, count: 12)
    let preambleRead = try preamble.withFileInputBytes { (p) throws(FileInputError) in
      try file.readAvailable(into: p, at: 0)
    }
    let magic: [UInt8] = [0x93, 0x4E, 0x55, 0x4D, 0x50, 0x59]  // "\x93NUMPY"
    let magicPresent = min(preambleRead, 6)
    guard Array(preamble[0..<magicPresent]) == Array(magic[0..<magicPresent]) else {
      throw malformed("it does not start with the magic string \\x93NUMPY")
    }
    guard preambleRead >= 8 else {
      throw .truncated(path: path, expectedBytes: 10, actualBytes: fileSize)
    }
    let major = Int(preamble[6])
    let minor = Int(preamble[7])
    guard (1...3).contains(major), minor == 0 else {
      throw malformed("unsupported format version \(major).\(minor) (Tally reads 1.0, 2.0 and 3.0)")
    }
    let lengthBytes = major == 1 ? 2 : 4
    guard preambleRead >= 8 + lengthBytes else {
      throw .truncated(path: path, expectedBytes: 8 + lengthBytes, actualBytes: fileSize)
    }
    var headerLength = 0
    for i in 0..<lengthBytes { headerLength |= Int(preamble[8 + i]) << (8 * i) }
    let maxHeader = 1 << 20
    guard headerLength <= maxHeader else {
      throw malformed("the header is \(headerLength) bytes long; Tally accepts at most \(maxHeader)")
    }
    let dataOffset = 8 + lengthBytes + headerLength
    guard dataOffset <= fileSize else {
      throw .truncated(path: path, expectedBytes: dataOffset, actualBytes: fileSize)
    }

    // Header: a Python dict literal.
    var header = [UInt8](repeating: 0, count: headerLength)
    try header.withFileInputBytes { (p) throws(FileInputError) in
      try file.readExactly(into: p, at: 8 + lengthBytes)
    }
    var parser = PythonLiteralParser(bytes: header, utf8: major == 3)
    let dict: [(key: String, value: PythonLiteral)]
    do throws(PythonLiteralParser.Failure) {
      dict = try parser.parseHeaderDictionary()
    } catch {
      throw malformed("the header is not a valid dictionary literal: \(error.message)")
    }
    var entries: [String: PythonLiteral] = [:]
    for (key, value) in dict {
      guard entries.updateValue(value, forKey: key) == nil else {
        throw malformed("the header has the key '\(key)' twice")
      }
    }
    let expectedKeys = ["descr", "fortran_order", "shape"]
    guard entries.keys.sorted() == expectedKeys else {
      let found = entries.keys.sorted().map { "'\($0)'" }.joined(separator: ", ")
      throw malformed("the header must have exactly the keys 'descr', 'fortran_order' and 'shape'; found [\(found)]")
    }

    // descr
    guard case .string(let descr) = entries["descr"]! else {
      throw .unsupportedDType(path: path, descr: entries["descr"]!.rendered)
    }
    guard let (kind, bigEndian) = NPYKind.parse(descr) else {
      throw .unsupportedDType(path: path, descr: descr)
    }

    // fortran_order
    guard case .bool(let fortranOrder) = entries["fortran_order"]! else {
      throw malformed("'fortran_order' must be True or False; found \(entries["fortran_order"]!.rendered)")
    }

    // shape
    guard case .tuple(let dims) = entries["shape"]! else {
      throw malformed("'shape' must be a tuple of integers; found \(entries["shape"]!.rendered)")
    }
    var shape: [Int] = []
    var count = 1
    for d in dims {
      guard case .int(let n) = d else {
        throw malformed("'shape' must be a tuple of integers; found \(entries["shape"]!.rendered)")
      }
      guard n >= 0 else {
        throw malformed("'shape' has a negative dimension: \(entries["shape"]!.rendered)")
      }
      let (p, overflow) = count.multipliedReportingOverflow(by: n)
      guard !overflow else {
        throw malformed("'shape' \(entries["shape"]!.rendered) has too many elements")
      }
      count = p
      shape.append(n)
    }
    let (dataBytes, o1) = count.multipliedReportingOverflow(by: kind.itemSize)
    let (total, o2) = dataOffset.addingReportingOverflow(dataBytes)
    guard !o1, !o2 else {
      throw malformed("'shape' \(entries["shape"]!.rendered) has too many elements")
    }
    guard fileSize >= total else {
      throw .truncated(path: path, expectedBytes: total, actualBytes: fileSize)
    }
    guard fileSize == total else {
      throw malformed("\(fileSize - total) unexpected bytes follow the \(dataBytes) bytes of data")
    }

    self.path = path
    self.shape = shape
    self.descr = descr
    self.fortranOrder = fortranOrder
    self.formatVersion = major
    self.dtype = kind.dtype
    self.file = file
    self.kind = kind
    self.bigEndian = bigEndian
    self.dataOffset = dataOffset
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

  func read(_ range: Range<Int>, shape outShape: [Int]) throws(FileInputError) -> Tensor {
    let perRow = elementsPerRow
    let n = range.count * perRow
    let isz = kind.itemSize
    let hostIsBigEndian = 1.bigEndian == 1
    // A Fortran-ordered array with at most one element per row is laid
    // out as in C order.
    let storedRowMajor = !fortranOrder || shape.count <= 1 || range.count == 0 || perRow <= 1
    let offset = dataOffset + range.lowerBound * perRow * isz

    if storedRowMajor, bigEndian == hostIsBigEndian {
      // The bytes on disk are the elements: read them into place.
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
    let hostIsBigEndian = 1.bigEndian == 1
    let storedRowMajor = !fortranOrder || shape.count <= 1 || elementsPerRow <= 1
    guard storedRowMajor, bigEndian == hostIsBigEndian, dataOffset % kind.itemSize == 0 else { return nil }
    switch kind {
    case .float32, .float64, .int32, .int64, .uint8: break
    default: return nil
    }
    return try MappedNPY(self)
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
              case 2: dst.storeBytes(of: src.loadUnaligned(fromByteOffset: from, as: UInt16.self), toByteOffset: to, as: UInt16.self)
              case 4: dst.storeBytes(of: src.loadUnaligned(fromByteOffset: from, as: UInt32.self), toByteOffset: to, as: UInt32.self)
              default: dst.storeBytes(of: src.loadUnaligned(fromByteOffset: from, as: UInt64.self), toByteOffset: to, as: UInt64.self)
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

//===--- Element kinds ----------------------------------------------------===//

/// The element types Tally reads from `.npy` files.
enum NPYKind: Sendable {
  case float16, float32, float64
  case int8, int16, int32, int64
  case uint8, uint16, uint32
  case bool

  var itemSize: Int {
    switch self {
    case .int8, .uint8, .bool: 1
    case .float16, .int16, .uint16: 2
    case .float32, .int32, .uint32: 4
    case .float64, .int64: 8
    }
  }

  /// The element type of the tensors made from this kind.
  var dtype: DType {
    switch self {
    case .float16, .float32: .float32
    case .float64: .float64
    case .int8, .int16, .uint16, .int32: .int32
    case .uint32, .int64: .int64
    case .uint8: .uint8
    case .bool: .bool
    }
  }

  /// The kind and byte order of a descr such as `"<f4"`, `">i8"`, `"|b1"`;
  /// `nil` if Tally does not read it.
  static func parse(_ descr: String) -> (NPYKind, bigEndian: Bool)? {
    var s = Substring(descr)
    var order: Character = "="
    if let first = s.first, "<>|=".contains(first) {
      order = first
      s = s.dropFirst()
    }
    let kind: NPYKind
    switch s {
    case "f2", "e": kind = .float16
    case "f4", "f": kind = .float32
    case "f8", "d": kind = .float64
    case "i1", "b": kind = .int8
    case "i2", "h": kind = .int16
    case "i4", "i": kind = .int32
    case "i8", "q": kind = .int64
    case "u1", "B": kind = .uint8
    case "u2", "H": kind = .uint16
    case "u4", "I": kind = .uint32
    case "b1", "?": kind = .bool
    default: return nil
    }
    switch order {
    case "|": return kind.itemSize == 1 ? (kind, false) : nil
    case ">": return (kind, true)
    case "<": return (kind, false)
    default: return (kind, 1.bigEndian == 1)  // "=": native
    }
  }

  /// The descr Tally writes for a Swift element type.
  static func descr(for dtype: DType) -> String {
    switch dtype {
    case .float32: "<f4"
    case .float64: "<f8"
    case .int, .int64: "<i8"
    case .int32: "<i4"
    case .uint8: "|u1"
    case .bool: "|b1"
    }
  }
}

//===--- Header parsing ---------------------------------------------------===//

/// A Python literal, as found in a `.npy` header.
indirect enum PythonLiteral: Sendable {
  case string(String)
  case int(Int)
  case bool(Bool)
  case none
  case tuple([PythonLiteral])
  case list([PythonLiteral])
  case dict([(key: PythonLiteral, value: PythonLiteral)])

  /// The literal in Python syntax, for messages.
  var rendered: String {
    switch self {
    case .string(let s): "'\(s)'"
    case .int(let n): "\(n)"
    case .bool(let b): b ? "True" : "False"
    case .none: "None"
    case .tuple(let items):
      items.count == 1
        ? "(\(items[0].rendered),)" : "(" + items.map(\.rendered).joined(separator: ", ") + ")"
    case .list(let items): "[" + items.map(\.rendered).joined(separator: ", ") + "]"
    case .dict(let pairs):
      "{" + pairs.map { "\($0.key.rendered): \($0.value.rendered)" }.joined(separator: ", ") + "}"
    }
  }
}

/// A recursive-descent parser for the subset of Python literal syntax that
/// `.npy` headers use: dicts, tuples, lists, strings, integers, `True`,
/// `False`, `None`. Nesting is limited, so hostile input cannot exhaust the
/// stack.
struct PythonLiteralParser {
  struct Failure: Error { var message: String }

  let bytes: [UInt8]
  /// Version 3.0 headers are UTF-8; earlier ones are Latin-1.
  let utf8: Bool
  var position = 0
  var depth = 0
  static let maxDepth = 32

  init(bytes: [UInt8], utf8: Bool) {
    self.bytes = bytes
    self.utf8 = utf8
  }

  /// Parses the whole header as a dict with string keys.
  mutating func parseHeaderDictionary() throws(Failure) -> [(key: String, value: PythonLiteral)] {
    let value = try parseValue()
    skipWhitespace()
    guard position == bytes.count else { throw fail("unexpected text after the dictionary") }
    guard case .dict(let pairs) = value else { throw Failure(message: "the header is not a dict") }
    var result: [(key: String, value: PythonLiteral)] = []
    for (key, value) in pairs {
      guard case .string(let name) = key else {
        throw Failure(message: "a key is not a string: \(key.rendered)")
      }
      result.append((name, value))
    }
    return result
  }

  func fail(_ message: String) -> Failure {
    Failure(message: "\(message) at byte \(position)")
  }

  mutating func skipWhitespace() {
    while position < bytes.count {
      switch bytes[position] {
      case 0x20, 0x09, 0x0A, 0x0D, 0x0C, 0x0B: position += 1
      default: return
      }
    }
  }

  mutating func parseValue() throws(Failure) -> PythonLiteral {
    skipWhitespace()
    guard position < bytes.count else { throw fail("unexpected end of the header") }
    depth += 1
    defer { depth -= 1 }
    guard depth <= Self.maxDepth else { throw fail("nesting too deep") }
    let b = bytes[position]
    switch b {
    case UInt8(ascii: "{"):
      position += 1
      var pairs: [(key: PythonLiteral, value: PythonLiteral)] = []
      while true {
        skipWhitespace()
        if position < bytes.count, bytes[position] == UInt8(ascii: "}") {
          position += 1
          return .dict(pairs)
        }
        let key = try parseValue()
        skipWhitespace()
        guard position < bytes.count, bytes[position] == UInt8(ascii: ":") else {
          throw fail("expected ':'")
        }
        position += 1
        let value = try parseValue()
        pairs.append((key, value))
        skipWhitespace()
        guard position < bytes.count else { throw fail("unterminated dict") }
        if bytes[position] == UInt8(ascii: ",") {
          position += 1
        } else if bytes[position] != UInt8(ascii: "}") {
          throw fail("expected ',' or '}'")
        }
      }
    case UInt8(ascii: "("), UInt8(ascii: "["):
      let isTuple = b == UInt8(ascii: "(")
      let close = isTuple ? UInt8(ascii: ")") : UInt8(ascii: "]")
      position += 1
      var items: [PythonLiteral] = []
      var sawComma = false
      while true {
        skipWhitespace()
        if position < bytes.count, bytes[position] == close {
          position += 1
          // `(x)` is x parenthesized, not a tuple.
          if isTuple, items.count == 1, !sawComma { return items[0] }
          return isTuple ? .tuple(items) : .list(items)
        }
        items.append(try parseValue())
        skipWhitespace()
        guard position < bytes.count else { throw fail("unterminated \(isTuple ? "tuple" : "list")") }
        if bytes[position] == UInt8(ascii: ",") {
          sawComma = true
          position += 1
        } else if bytes[position] != close {
          throw fail("expected ',' or '\(Character(Unicode.Scalar(close)))'")
        }
      }
    case UInt8(ascii: "'"), UInt8(ascii: "\""):
      return .string(try parseString())
    case UInt8(ascii: "-"), UInt8(ascii: "+"), UInt8(ascii: "0")...UInt8(ascii: "9"):
      return .int(try parseInt())
    default:
      var end = position
      while end < bytes.count, isIdentifierByte(bytes[end]) { end += 1 }
      let word = String(decoding: bytes[position..<end], as: UTF8.self)
      switch word {
      case "True": position = end; return .bool(true)
      case "False": position = end; return .bool(false)
      case "None": position = end; return .none
      case "u", "b", "U", "B":
        // u'...' / b'...' string prefixes (Python 2 headers).
        if end < bytes.count, bytes[end] == UInt8(ascii: "'") || bytes[end] == UInt8(ascii: "\"") {
          position = end
          return .string(try parseString())
        }
        throw fail("unexpected '\(word)'")
      default:
        throw fail(word.isEmpty ? "unexpected character" : "unexpected '\(word.prefix(40))'")
      }
    }
  }

  func isIdentifierByte(_ b: UInt8) -> Bool {
    (b >= UInt8(ascii: "a") && b <= UInt8(ascii: "z")) || (b >= UInt8(ascii: "A") && b <= UInt8(ascii: "Z"))
      || (b >= UInt8(ascii: "0") && b <= UInt8(ascii: "9")) || b == UInt8(ascii: "_")
  }

  mutating func parseInt() throws(Failure) -> Int {
    var negative = false
    if bytes[position] == UInt8(ascii: "-") || bytes[position] == UInt8(ascii: "+") {
      negative = bytes[position] == UInt8(ascii: "-")
      position += 1
    }
    var value = 0
    var digits = 0
    while position < bytes.count, bytes[position] >= UInt8(ascii: "0"), bytes[position] <= UInt8(ascii: "9") {
      let (m, o1) = value.multipliedReportingOverflow(by: 10)
      let (s, o2) = m.addingReportingOverflow(Int(bytes[position] - UInt8(ascii: "0")))
      guard !o1, !o2 else { throw fail("integer too large") }
      value = s
      digits += 1
      position += 1
    }
    guard digits > 0 else { throw fail("expected digits") }
    // Python 2 long suffix: `3L`.
    if position < bytes.count, bytes[position] == UInt8(ascii: "L") || bytes[position] == UInt8(ascii: "l") {
      position += 1
    }
    if position < bytes.count, isIdentifierByte(bytes[position]) || bytes[position] == UInt8(ascii: ".") {
      throw fail("not an integer")
    }
    return negative ? -value : value
  }

  mutating func parseString() throws(Failure) -> String {
    let quote = bytes[position]
    let start = position
    position += 1
    var content: [UInt8] = []
    while true {
      guard position < bytes.count else {
        position = start
        throw fail("unterminated string")
      }
      let b = bytes[position]
      position += 1
      if b == quote { break }
      if b == 0x0A { throw fail("newline in a string") }
      if b == UInt8(ascii: "\\") {
        guard position < bytes.count else { continue }
        let e = bytes[position]
        position += 1
        switch e {
        case UInt8(ascii: "n"): content.append(0x0A)
        case UInt8(ascii: "t"): content.append(0x09)
        case UInt8(ascii: "r"): content.append(0x0D)
        case UInt8(ascii: "0"): content.append(0)
        default: content.append(e)
        }
      } else {
        content.append(b)
      }
    }
    if utf8 { return String(decoding: content, as: UTF8.self) }
    return String(String.UnicodeScalarView(content.map { Unicode.Scalar($0) }))
  }
}

//===--- Writing ----------------------------------------------------------===//

extension NPYReader {
  /// Writes `values`, of the given `shape`, to a `.npy` file at `path`
  /// (format 1.0, little-endian, C order), replacing any file there.
  ///
  /// The descr is `<f4` for `Float`, `<f8` for `Double`, `<i8` for `Int`
  /// and `Int64`, `<i4` for `Int32`, `|u1` for `UInt8` and `|b1` for `Bool`.
  /// Reading the file back gives the same values; `Int` reads back as
  /// `Int64`.
  ///
  /// - Throws: ``FileInputError/unwritable(path:reason:)`` if the shape does
  ///   not match `values.count` or the file cannot be written.
  public static func write<T: TensorScalar>(_ values: [T], shape: [Int], to path: String)
    throws(FileInputError)
  {
    var product = 1
    for d in shape {
      let (p, overflow) = product.multipliedReportingOverflow(by: d)
      guard d >= 0, !overflow else {
        throw .unwritable(path: path, reason: "invalid shape \(describe(shape))")
      }
      product = p
    }
    guard product == values.count else {
      throw .unwritable(
        path: path,
        reason: "shape \(describe(shape)) holds \(product) elements; received \(values.count)")
    }
    let shapeText =
      shape.count == 1 ? "(\(shape[0]),)" : "(" + shape.map(String.init).joined(separator: ", ") + ")"
    var header = Array("{'descr': '\(NPYKind.descr(for: T.dtype))', 'fortran_order': False, 'shape': \(shapeText), }".utf8)
    // Version 1.0 stores the padded header length in 16 bits.
    let v1 = header.count + 64 <= 65535
    let preambleLength = v1 ? 10 : 12
    while (preambleLength + header.count + 1) % 64 != 0 { header.append(0x20) }
    header.append(0x0A)
    var bytes: [UInt8] = [0x93, 0x4E, 0x55, 0x4D, 0x50, 0x59, v1 ? 1 : 2, 0]
    let n = header.count
    bytes += v1 ? [UInt8(n & 0xFF), UInt8(n >> 8)] : (0..<4).map { UInt8((n >> (8 * $0)) & 0xFF) }
    bytes += header

    let file = try WriteOnlyFile(creating: path)
    try file.writeAll(bytes)

    // The data, encoded in chunks of at most 1 MiB.
    let itemSize = NPYKind.parse(NPYKind.descr(for: T.dtype))!.0.itemSize
    let perChunk = max(1, (1 << 20) / itemSize)
    var start = 0
    var chunk: [UInt8] = []
    chunk.reserveCapacity(perChunk * itemSize)
    while start < values.count {
      let end = min(values.count, start + perChunk)
      chunk.removeAll(keepingCapacity: true)
      // `T.dtype` identifies `T` exactly, so each bit cast is between a type
      // and itself.
      switch T.dtype {
      case .float32: appendLittleEndian(unsafeBitCast(values, to: [Float].self)[start..<end].lazy.map(\.bitPattern), to: &chunk)
      case .float64: appendLittleEndian(unsafeBitCast(values, to: [Double].self)[start..<end].lazy.map(\.bitPattern), to: &chunk)
      case .int: appendLittleEndian(unsafeBitCast(values, to: [Int].self)[start..<end].lazy.map { Int64($0) }, to: &chunk)
      case .int32: appendLittleEndian(unsafeBitCast(values, to: [Int32].self)[start..<end], to: &chunk)
      case .int64: appendLittleEndian(unsafeBitCast(values, to: [Int64].self)[start..<end], to: &chunk)
      case .uint8: chunk.append(contentsOf: unsafeBitCast(values, to: [UInt8].self)[start..<end])
      case .bool: chunk.append(contentsOf: unsafeBitCast(values, to: [Bool].self)[start..<end].lazy.map { $0 ? 1 : 0 })
      }
      try file.writeAll(chunk)
      start = end
    }
  }
}

/// Appends the little-endian bytes of each integer.
private func appendLittleEndian<S: Sequence>(_ values: S, to bytes: inout [UInt8])
where S.Element: FixedWidthInteger {
  for v in values {
    var le = v.littleEndian
    withUnsafeBytes(of: &le) { bytes.append(contentsOf: $0) }
  }
}

/// A `.npy` file mapped into memory: ``rows(_:)`` returns tensors that
/// borrow the mapped bytes, so reading a chunk costs no copy (the kernel
/// pages the file in as the metrics read it). The tensors are valid while
/// this object lives; metrics never keep them after `update`.
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
  /// `[range.count] + rowShape` that borrows the mapping.
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
        return try Tensor(borrowing: UnsafeBufferPointer(start: count == 0 ? nil : p, count: count), shape: shape)
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
