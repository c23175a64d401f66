//===--- NPYStream.swift --------------------------------------------------===//
//
// Complete `.npy` files back to back on a byte stream (a pipe from an
// engine's worker): each is cut at the end its header declares, then read
// by NPYReader's own validated code from an in-memory file.
//
//===----------------------------------------------------------------------===//

#if canImport(Glibc)
  import Glibc
#elseif canImport(Musl)
  import Musl
#elseif canImport(Darwin)
  import Darwin
#endif

/// One array read from a stream: numbers as a tensor, or strings (NumPy's
/// `<U` arrays, slice keys by name).
public enum NPYStreamArray: Sendable {
  /// A numeric array, as ``NPYReader`` reads it.
  case tensor(Tensor)
  /// A `<U` array's strings, in C order, with its shape.
  case strings([String], shape: [Int])

  /// The number of rows (the first axis; 1 for a 0-d array).
  public var rows: Int {
    switch self {
    case .tensor(let t): t.shape.first ?? 1
    case .strings(_, let shape): shape.first ?? 1
    }
  }
}

/// Reads `.npy` arrays written one after another to a file descriptor, as
/// `np.save(stream, array)` writes them in a loop: the wire between an
/// engine's worker and `tally evaluate --input npy-stream`.
///
/// Numeric arrays are read by ``NPYReader`` (every dtype, byte order and
/// Fortran order it reads, with its checks); `<U`/`>U` arrays (UTF-32
/// strings, as `np.array(["US", "FR"])` makes) decode to strings. Memory
/// holds one array at a time: `while let a = try stream.next() { ... }`.
public final class NPYStream {
  let fd: Int32
  let name: String
  private var buffer: [UInt8] = []
  private var start = 0
  private var end = 0
  private var atEOF = false
  /// The arrays read so far (for messages).
  public private(set) var count = 0

  /// A stream over `fileDescriptor` (not closed by the stream); `name`
  /// appears in errors.
  public init(fileDescriptor: Int32, name: String) {
    (fd, self.name) = (fileDescriptor, name)
    buffer = [UInt8](repeating: 0, count: 1 << 20)
  }

  /// Fills the buffer until it holds `n` bytes after `start`, or the stream
  /// ends; returns how many it holds.
  private func fill(_ n: Int) throws(FileInputError) -> Int {
    if end - start >= n || atEOF { return end - start }
    if start > 0 {
      let held = end - start
      if held > 0 {
        buffer.withUnsafeMutableBytes { b in
          _ = memmove(b.baseAddress!, b.baseAddress! + start, held)
        }
      }
      (start, end) = (0, held)
    }
    if buffer.count < n { buffer += [UInt8](repeating: 0, count: n - buffer.count) }
    while end < n {
      let got = buffer.withUnsafeMutableBytes { b in read(fd, b.baseAddress! + end, b.count - end) }
      if got < 0 {
        if errno == EINTR { continue }
        throw .unreadable(path: name, reason: systemErrorMessage())
      }
      if got == 0 {
        atEOF = true
        break
      }
      end += got
    }
    return end - start
  }

  /// Takes `n` bytes that ``fill(_:)`` made available.
  private func take(_ n: Int) -> ArraySlice<UInt8> {
    defer { start += n }
    return buffer[start..<(start + n)]
  }

  private func malformed(_ reason: String) -> FileInputError {
    .malformedNPY(path: "\(name) (array \(count + 1))", reason: reason)
  }

  /// The next array, or `nil` when the stream ends cleanly (before an
  /// array's first byte).
  ///
  /// - Throws: ``FileInputError/truncated(path:expectedBytes:actualBytes:)``
  ///   when the stream ends inside an array; what ``NPYReader`` throws for a
  ///   bad header, dtype or shape; ``FileInputError/unsupportedDType(path:descr:)``
  ///   for other dtypes.
  public func next() throws(FileInputError) -> NPYStreamArray? {
    let have = try fill(12)
    if have == 0 { return nil }
    let label = "\(name) (array \(count + 1))"
    guard have >= 10 else { throw .truncated(path: label, expectedBytes: 10, actualBytes: have) }
    let magic: [UInt8] = [0x93, 0x4E, 0x55, 0x4D, 0x50, 0x59]
    guard Array(buffer[start..<(start + 6)]) == magic else {
      throw malformed("it does not start with the magic string \\x93NUMPY")
    }
    let major = Int(buffer[start + 6])
    guard (1...3).contains(major), buffer[start + 7] == 0 else {
      throw malformed("unsupported format version \(major).\(buffer[start + 7]) (Tally reads 1.0, 2.0 and 3.0)")
    }
    let lengthBytes = major == 1 ? 2 : 4
    guard have >= 8 + lengthBytes else {
      throw .truncated(path: label, expectedBytes: 8 + lengthBytes, actualBytes: have)
    }
    var headerLength = 0
    for i in 0..<lengthBytes { headerLength |= Int(buffer[start + 8 + i]) << (8 * i) }
    guard headerLength <= 1 << 20 else {
      throw malformed("the header is \(headerLength) bytes long; Tally accepts at most \(1 << 20)")
    }
    let prefix = 8 + lengthBytes + headerLength
    let withHeader = try fill(prefix)
    guard withHeader >= prefix else { throw .truncated(path: label, expectedBytes: prefix, actualBytes: withHeader) }
    // The header's descr and shape, for the data's size.
    var parser = PythonLiteralParser(
      bytes: Array(buffer[(start + 8 + lengthBytes)..<(start + prefix)]), utf8: major == 3)
    let entries: [String: PythonLiteral]
    do throws(PythonLiteralParser.Failure) {
      entries = Dictionary(try parser.parseHeaderDictionary().map { ($0.key, $0.value) }) { a, _ in a }
    } catch {
      throw malformed("the header is not a valid dictionary literal: \(error.message)")
    }
    guard case .string(let descr)? = entries["descr"], case .tuple(let dims)? = entries["shape"],
      case .bool(let fortran)? = entries["fortran_order"]
    else {
      throw malformed("the header needs 'descr', 'fortran_order' and 'shape'")
    }
    var shape: [Int] = []
    var elements = 1
    for d in dims {
      guard case .int(let n) = d, n >= 0 else { throw malformed("'shape' must hold integers ≥ 0") }
      let (p, o) = elements.multipliedReportingOverflow(by: n)
      guard !o else { throw malformed("'shape' has too many elements") }
      (elements, shape) = (p, shape + [n])
    }
    let strings = Self.unicodeWidth(descr)
    let itemSize: Int
    if let width = strings {
      itemSize = 4 * width.chars
    } else if let (kind, _) = NPYKind.parse(descr) {
      itemSize = kind.itemSize
    } else {
      throw .unsupportedDType(path: label, descr: descr)
    }
    let (dataBytes, o1) = elements.multipliedReportingOverflow(by: itemSize)
    let (total, o2) = prefix.addingReportingOverflow(dataBytes)
    guard !o1, !o2, total <= StateMemory.limit else {
      throw malformed("an array of shape \(shape) and dtype \(descr) is larger than the memory limit")
    }
    let available = try fill(total)
    guard available >= total else { throw .truncated(path: label, expectedBytes: total, actualBytes: available) }
    let bytes = take(total)
    count += 1
    if let width = strings {
      guard !fortran || shape.count <= 1 else { throw malformed("string arrays must be in C order") }
      return .strings(
        Self.decodeUTF32(bytes.dropFirst(prefix), chars: width.chars, bigEndian: width.bigEndian), shape: shape)
    }
    return .tensor(try Self.readNumeric(bytes, label: label))
  }

  /// The characters per element of a `<U`/`>U`/`=U` descr, or `nil`.
  static func unicodeWidth(_ descr: String) -> (chars: Int, bigEndian: Bool)? {
    var s = Substring(descr)
    var big = false
    if let f = s.first, "<>|=".contains(f) {
      big = f == ">"
      s = s.dropFirst()
    }
    guard s.first == "U", let n = Int(s.dropFirst()), n >= 0 else { return nil }
    return (n, big)
  }

  /// UTF-32 elements of `chars` code units each, NUL-padded.
  static func decodeUTF32(_ data: ArraySlice<UInt8>, chars: Int, bigEndian: Bool) -> [String] {
    guard chars > 0 else { return [String](repeating: "", count: 0) }
    var out: [String] = []
    let bytes = Array(data)
    let count = bytes.count / (4 * chars)
    out.reserveCapacity(count)
    for e in 0..<count {
      var s = String.UnicodeScalarView()
      for c in 0..<chars {
        let o = (e * chars + c) * 4
        let v =
          bigEndian
          ? UInt32(bytes[o]) << 24 | UInt32(bytes[o + 1]) << 16 | UInt32(bytes[o + 2]) << 8 | UInt32(bytes[o + 3])
          : UInt32(bytes[o + 3]) << 24 | UInt32(bytes[o + 2]) << 16 | UInt32(bytes[o + 1]) << 8 | UInt32(bytes[o])
        if v == 0 { break }
        s.append(Unicode.Scalar(v) ?? "\u{FFFD}")
      }
      out.append(String(s))
    }
    return out
  }

  /// A complete `.npy` in memory read by ``NPYReader`` through an
  /// anonymous in-memory file.
  static func readNumeric(_ bytes: ArraySlice<UInt8>, label: String) throws(FileInputError) -> Tensor {
    let fd = anonymousFile()
    guard fd >= 0 else { throw .unreadable(path: label, reason: "no temporary file: \(systemErrorMessage())") }
    defer { close(fd) }
    var written = 0
    let ok = bytes.withUnsafeBytes { b -> Bool in
      while written < b.count {
        let n = pwrite(fd, b.baseAddress! + written, b.count - written, off_t(written))
        if n < 0 {
          if errno == EINTR { continue }
          return false
        }
        written += n
      }
      return true
    }
    guard ok else { throw .unreadable(path: label, reason: "cannot buffer the array: \(systemErrorMessage())") }
    do {
      return try NPYReader(path: "/proc/self/fd/\(fd)").readAll()
    } catch {
      throw error.renamed(label)
    }
  }

  /// A file descriptor of an unnamed file in memory (`memfd_create`), or of
  /// an unlinked temporary file where that is missing.
  static func anonymousFile() -> Int32 {
    typealias MemfdCreate = @convention(c) (UnsafePointer<CChar>, UInt32) -> Int32
    if let process = dlopen(nil, RTLD_NOW), let symbol = dlsym(process, "memfd_create") {
      let create = unsafeBitCast(symbol, to: MemfdCreate.self)
      let fd = create("tally-npy-stream", 1)  // MFD_CLOEXEC
      if fd >= 0 { return fd }
    }
    var template = Array("/tmp/tally-npy-stream.XXXXXX".utf8CString)
    let fd = template.withUnsafeMutableBufferPointer { mkstemp($0.baseAddress!) }
    if fd >= 0 { template.withUnsafeBufferPointer { _ = unlink($0.baseAddress!) } }
    return fd
  }
}

extension FileInputError {
  /// The same error naming `path` instead.
  func renamed(_ path: String) -> FileInputError {
    switch self {
    case .unreadable(_, let r): .unreadable(path: path, reason: r)
    case .unwritable(_, let r): .unwritable(path: path, reason: r)
    case .malformedNPY(_, let r): .malformedNPY(path: path, reason: r)
    case .truncated(_, let e, let a): .truncated(path: path, expectedBytes: e, actualBytes: a)
    case .unsupportedDType(_, let d): .unsupportedDType(path: path, descr: d)
    case .rowsOutOfRange(_, let q, let r): .rowsOutOfRange(path: path, requested: q, rows: r)
    case .badCSVCell(_, let l, let c, let t): .badCSVCell(path: path, line: l, column: c, text: t)
    case .raggedCSVRow(_, let l, let f, let e): .raggedCSVRow(path: path, line: l, found: f, expected: e)
    case .csv(_, let r): .csv(path: path, reason: r)
    }
  }
}
