//===--- NPYHeader.swift --------------------------------------------------===//
//
// The header of a `.npy` file: the preamble (magic string, version, header
// length), the header dictionary (`descr`, `fortran_order`, `shape`) and the
// element kinds its `descr` names, validated against the file's size.
//
//===----------------------------------------------------------------------===//

/// The validated header of a `.npy` file: where its elements are and how to
/// decode them.
struct NPYHeader: Sendable {
  /// The major format version: 1, 2 or 3.
  let formatVersion: Int
  /// The dtype as written in the header, e.g. `"<f4"`.
  let descr: String
  /// The element type `descr` names.
  let kind: NPYKind
  /// Whether the elements are stored big-endian.
  let bigEndian: Bool
  /// Whether the data is stored in Fortran (column-major) order.
  let fortranOrder: Bool
  /// The array's shape (`[]` for a 0-d array).
  let shape: [Int]
  /// The byte offset of the first element.
  let dataOffset: Int

  /// Reads and validates the header of `file`, and checks that the file
  /// holds exactly the bytes of data the header declares.
  ///
  /// - Throws: ``FileInputError/malformedNPY(path:reason:)`` for a bad magic
  ///   string, version, header or shape, or bytes after the data;
  ///   ``FileInputError/unsupportedDType(path:descr:)`` for a dtype Tally
  ///   cannot read; ``FileInputError/truncated(path:expectedBytes:actualBytes:)``
  ///   if the file is shorter than its header declares.
  init(reading file: ReadOnlyFile) throws(FileInputError) {
    let path = file.path
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
    // A zero dimension makes the count 0 whatever the others are; a row
    // (the dimensions after the first) must still have a size, in the
    // widest type Tally converts it to (8 bytes: a `<f2` row that fits as
    // `<f2` but not as `Float` could be read but not written back).
    var rowBytes = max(kind.itemSize, 8)
    for n in shape.dropFirst() {
      let (p, overflow) = rowBytes.multipliedReportingOverflow(by: n)
      guard !overflow else {
        throw malformed("'shape' \(entries["shape"]!.rendered) has too many elements per row")
      }
      rowBytes = p
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

    self.formatVersion = major
    self.descr = descr
    self.kind = kind
    self.bigEndian = bigEndian
    self.fortranOrder = fortranOrder
    self.shape = shape
    self.dataOffset = dataOffset
  }
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
