import Foundation
import Testing

@testable import Tally

/// A unique temporary file path, removed by `cleanup`.
fileprivate func npyTempPath(_ tag: String = "t") -> String {
  FileManager.default.temporaryDirectory
    .appendingPathComponent("tally-npy-\(tag)-\(UUID().uuidString).npy").path
}

fileprivate func removeNPY(_ path: String) {
  try? FileManager.default.removeItem(atPath: path)
}

fileprivate func writeBytes(_ bytes: [UInt8], to path: String) {
  _ = FileManager.default.createFile(atPath: path, contents: Data(bytes))
}

/// A `.npy` file's bytes with the given version, header text and data; the
/// header is padded with spaces and a newline to a multiple of 64 bytes unless
/// `pad` is false.
fileprivate func npyFile(
  version: UInt8 = 1, header: String, data: [UInt8], pad: Bool = true,
  headerLength: Int? = nil
) -> [UInt8] {
  var h = Array(header.utf8)
  let pre = version == 1 ? 10 : 12
  if pad {
    while (pre + h.count + 1) % 64 != 0 { h.append(0x20) }
    h.append(0x0A)
  }
  var out: [UInt8] = [0x93, 0x4E, 0x55, 0x4D, 0x50, 0x59, version, 0]
  let n = headerLength ?? h.count
  if version == 1 {
    out += [UInt8(n & 0xFF), UInt8((n >> 8) & 0xFF)]
  } else {
    out += (0..<4).map { UInt8((n >> (8 * $0)) & 0xFF) }
  }
  return out + h + data
}

fileprivate func headerText(_ descr: String, fortran: Bool = false, shape: String) -> String {
  "{'descr': '\(descr)', 'fortran_order': \(fortran ? "True" : "False"), 'shape': \(shape), }"
}

fileprivate func le<T: FixedWidthInteger>(_ values: [T]) -> [UInt8] {
  values.flatMap { v in withUnsafeBytes(of: v.littleEndian) { Array($0) } }
}

fileprivate func be<T: FixedWidthInteger>(_ values: [T]) -> [UInt8] {
  values.flatMap { v in withUnsafeBytes(of: v.bigEndian) { Array($0) } }
}

/// Opens `bytes` as a `.npy` file and returns the error it throws, or nil.
fileprivate func openError(_ bytes: [UInt8]) -> FileInputError? {
  let path = npyTempPath("err")
  defer { removeNPY(path) }
  writeBytes(bytes, to: path)
  do {
    _ = try NPYReader(path: path)
    return nil
  } catch {
    #expect(!error.description.contains("\n"))
    #expect(error.description.contains(path))
    return error
  }
}

@Suite struct NPYReaderTests {
  // MARK: - Round trips (NPYWriter, NPYReader)

  func roundTrip<T: TensorScalar>(_ values: [T], shape: [Int], expect dtype: DType) throws {
    let path = npyTempPath("rt")
    defer { removeNPY(path) }
    try NPYReader.write(values, shape: shape, to: path)
    let r = try NPYReader(path: path)
    #expect(r.shape == shape)
    #expect(r.dtype == dtype)
    #expect(r.formatVersion == 1)
    #expect(!r.fortranOrder)
    let all = try r.readAll()
    #expect(all.shape == shape)
    #expect(all.dtype == dtype)
    #expect(all.doubles().map(\.bitPattern) == values.map(\.doubleValue.bitPattern))
    let rowsTensor = try r.readRows(0..<r.rows)
    #expect(rowsTensor.shape == [r.rows] + r.rowShape)
    #expect(rowsTensor.doubles().map(\.bitPattern) == values.map(\.doubleValue.bitPattern))
    // The file size is exactly header + data, and the header is 64-aligned.
    let size = try FileManager.default.attributesOfItem(atPath: path)[.size] as! Int
    #expect((size - values.count * r.itemSize) % 64 == 0)
  }

  @Test func roundTripEveryDTypeAndRank() throws {
    let shapes: [[Int]] = [[], [5], [4, 3], [2, 3, 4], [0], [3, 0, 2]]
    for shape in shapes {
      let n = shape.reduce(1, *)
      let ints = (0..<n).map { $0 * 7 - 20 }
      try roundTrip(ints.map { Float($0) / 4 }, shape: shape, expect: .float32)
      try roundTrip(ints.map { Double($0) / 3 }, shape: shape, expect: .float64)
      try roundTrip(ints.map { Int($0) * 1_000_000_007 }, shape: shape, expect: .int64)
      try roundTrip(ints.map { Int32($0) * 1_000_003 }, shape: shape, expect: .int32)
      try roundTrip(ints.map { Int64($0) << 40 }, shape: shape, expect: .int64)
      try roundTrip(ints.map { UInt8(truncatingIfNeeded: $0) }, shape: shape, expect: .uint8)
      try roundTrip(ints.map { $0 % 3 == 0 }, shape: shape, expect: .bool)
    }
    // Special float values survive.
    try roundTrip([Float.nan, .infinity, -.infinity, -0.0, .leastNonzeroMagnitude], shape: [5], expect: .float32)
    try roundTrip([Double.greatestFiniteMagnitude, -.infinity, .leastNonzeroMagnitude], shape: [3], expect: .float64)
  }

  @Test func zeroDimensionalArrayReadsAsOneRow() throws {
    let path = npyTempPath()
    defer { removeNPY(path) }
    try NPYReader.write([2.5], shape: [], to: path)
    let r = try NPYReader(path: path)
    #expect(r.shape == [])
    #expect(r.rows == 1)
    #expect(r.rowShape == [])
    #expect(try r.readAll().shape == [])
    let one = try r.readRows(0..<1)
    #expect(one.shape == [1])
    #expect(one.doubles() == [2.5])
    #expect(try r.readRows(1..<1).shape == [0])
  }

  @Test func readingRowRanges() throws {
    let path = npyTempPath()
    defer { removeNPY(path) }
    let values = (0..<30).map { Double($0) }
    try NPYReader.write(values, shape: [10, 3], to: path)
    let r = try NPYReader(path: path)
    #expect(r.rows == 10 && r.rowShape == [3] && r.elementsPerRow == 3 && r.elementCount == 30)
    for range in [0..<1, 4..<7, 9..<10, 5..<5, 0..<10, 10..<10, 0..<0] {
      let t = try r.readRows(range)
      #expect(t.shape == [range.count, 3])
      #expect(t.dtype == .float64)
      #expect(t.doubles() == Array(values[(range.lowerBound * 3)..<(range.upperBound * 3)]))
    }
    for bad in [0..<11, 10..<11, -1..<2, 11..<12] {
      #expect(throws: FileInputError.rowsOutOfRange(path: path, requested: bad, rows: 10)) {
        try r.readRows(bad)
      }
    }
    // Copies share the file safely; reads are independent.
    let copy = r
    #expect(try copy.readRows(2..<3).doubles() == [6, 7, 8])
  }

  @Test func writeRejectsAMismatchedShape() {
    let path = npyTempPath()
    defer { removeNPY(path) }
    #expect(throws: FileInputError.self) { try NPYReader.write([1.0, 2, 3], shape: [2, 2], to: path) }
    #expect(throws: FileInputError.self) { try NPYReader.write([1.0], shape: [-1], to: path) }
    #expect(throws: FileInputError.self) {
      try NPYReader.write([1.0], shape: [1], to: "/nonexistent-dir-\(UUID().uuidString)/x.npy")
    }
  }

  // MARK: - Mapping (MappedNPY)

  /// A mapped file gives the same rows as reading, borrowing the mapping
  /// (no copy); layouts that need decoding are not mapped.
  @Test func mappedRowsEqualReadRows() throws {
    let shapes: [[Int]] = [[7], [6, 3], [2, 3, 4], [0], [4, 0]]
    for shape in shapes {
      let n = shape.reduce(1, *)
      let ints = (0..<n).map { $0 * 7 - 20 }
      func check<T: TensorScalar>(_ values: [T]) throws {
        let path = npyTempPath("map")
        defer { removeNPY(path) }
        try NPYReader.write(values, shape: shape, to: path)
        let r = try NPYReader(path: path)
        let m = try #require(try r.mapped())
        for range in [0..<r.rows, 0..<min(1, r.rows), (r.rows / 2)..<r.rows, r.rows..<r.rows] {
          let a = try m.rows(range)
          let b = try r.readRows(range)
          #expect(a.shape == b.shape && a.dtype == b.dtype)
          #expect(a.doubles() == b.doubles(), "shape \(shape), rows \(range)")
        }
        #expect(throws: FileInputError.rowsOutOfRange(path: path, requested: 0..<(r.rows + 1), rows: r.rows)) {
          try m.rows(0..<(r.rows + 1))
        }
      }
      try check(ints.map { Float($0) / 4 })
      try check(ints.map { Double($0) / 3 })
      try check(ints.map { Int32($0) })
      try check(ints.map { Int64($0) << 40 })
      try check(ints.map { UInt8(truncatingIfNeeded: $0) })
    }
    // Bool and big-endian files are decoded, not mapped.
    let path = npyTempPath("map")
    defer { removeNPY(path) }
    try NPYReader.write([true, false], shape: [2], to: path)
    #expect(try NPYReader(path: path).mapped() == nil)
    let (fPath, cPath) = try fortranAndCFiles((0..<6).map(Double.init), shape: [3, 2])
    defer {
      removeNPY(fPath)
      removeNPY(cPath)
    }
    #expect(try NPYReader(path: fPath).mapped() == nil)
    #expect(try NPYReader(path: cPath).mapped() != nil)
  }

  /// Mapped rows are read in place (the tensor's elements are the mapped
  /// bytes), and each tensor keeps the mapping alive: it stays valid after
  /// the `MappedNPY` is gone, and the file is unmapped with the last tensor.
  @Test func mappedRowsReadTheMappingInPlaceAndKeepItAlive() throws {
    let path = npyTempPath("map")
    defer { removeNPY(path) }
    let values = (0..<12).map { Double($0) / 8 }
    try NPYReader.write(values, shape: [4, 3], to: path)
    let r = try NPYReader(path: path)
    weak var mapping: FileMapping?
    var rows: Tensor? = try {
      let m = try #require(try r.mapped())
      mapping = m.mapping
      let t = try m.rows(1..<3)
      let first = try #require(m.mapping.base) + r.dataOffset + 3 * 8
      #expect(t.withDoubles { UnsafeRawPointer($0.baseAddress) } == first)
      return t
    }()
    #expect(mapping != nil)  // held by the tensor alone
    #expect(rows?.shape == [2, 3])
    #expect(rows?.doubles() == Array(values[3..<9]))
    rows = nil
    #expect(mapping == nil)  // unmapped with the last tensor
  }

  // MARK: - Pieces (withRows)

  /// Rows read a piece at a time into one reused buffer equal `readRows`,
  /// for every type read in place and for files that are decoded instead;
  /// a tensor kept past the closure keeps its values when the buffer is
  /// read into again.
  @Test func piecesIntoAReusedBufferEqualReadRows() throws {
    var kept: [(Tensor, [Double])] = []
    func check<T: TensorScalar>(_ values: [T], shape: [Int], inPlace: Bool) throws {
      let path = npyTempPath("piece")
      defer { removeNPY(path) }
      try NPYReader.write(values, shape: shape, to: path)
      let r = try NPYReader(path: path)
      #expect(r.readsInPlace == inPlace, "\(T.self) \(shape)")
      let buffer = NPYReadBuffer()
      for size in [1, 3, max(1, r.rows)] {
        for start in stride(from: 0, to: r.rows, by: size) {
          let range = start..<min(start + size, r.rows)
          let expected = try r.readRows(range)
          try r.withRows(range, reusing: buffer) { t in
            #expect(t.shape == expected.shape && t.dtype == expected.dtype)
            #expect(t.doubles() == expected.doubles(), "\(T.self) \(shape), rows \(range)")
            if start == 0 { kept.append((t, expected.doubles())) }
          }
        }
      }
      #expect(throws: FileInputError.rowsOutOfRange(path: path, requested: 0..<(r.rows + 1), rows: r.rows)) {
        try r.withRows(0..<(r.rows + 1), reusing: buffer) { _ in Issue.record("read past the end") }
      }
    }
    for shape in [[7], [6, 3], [2, 3, 4], [4, 0]] {
      let ints = (0..<shape.reduce(1, *)).map { $0 * 7 - 20 }
      try check(ints.map { Float($0) / 4 }, shape: shape, inPlace: true)
      try check(ints.map { Double($0) / 3 }, shape: shape, inPlace: true)
      try check(ints.map { Int32($0) }, shape: shape, inPlace: true)
      try check(ints.map { Int64($0) << 40 }, shape: shape, inPlace: true)
      try check(ints.map { UInt8(truncatingIfNeeded: $0) }, shape: shape, inPlace: true)
      try check(ints.map { $0 % 3 == 0 }, shape: shape, inPlace: false)
    }
    for (t, values) in kept { #expect(t.doubles() == values) }
    // A Fortran-ordered file is decoded; its C-ordered twin is read in place.
    let (fPath, cPath) = try fortranAndCFiles((0..<6).map(Double.init), shape: [3, 2])
    defer {
      removeNPY(fPath)
      removeNPY(cPath)
    }
    let (f, c) = (try NPYReader(path: fPath), try NPYReader(path: cPath))
    #expect(!f.readsInPlace && c.readsInPlace)
    let buffer = NPYReadBuffer()
    let fortranRows = try f.withRows(1..<3, reusing: buffer) { $0.doubles() }
    #expect(try c.withRows(1..<3, reusing: buffer) { $0.doubles() } == fortranRows)
    #expect(fortranRows == [2, 3, 4, 5])
  }

  // MARK: - Hand-built files (NPYHeader, PythonLiteral, decoding)

  @Test func versionTwoAndThreeHeaders() throws {
    for version: UInt8 in [2, 3] {
      let path = npyTempPath("v\(version)")
      defer { removeNPY(path) }
      let data = le([Int32(1), -2, 3, -4, 5, -6])
      writeBytes(npyFile(version: version, header: headerText("<i4", shape: "(3, 2)"), data: data), to: path)
      let r = try NPYReader(path: path)
      #expect(r.formatVersion == Int(version))
      #expect(r.descr == "<i4")
      #expect(r.dtype == .int32)
      let t = try r.readRows(1..<3)
      #expect(t.shape == [2, 2])
      #expect(t.scalars(as: Int32.self) == [3, -4, 5, -6])
    }
  }

  @Test func headerVariantsNumPyMayWrite() throws {
    // Python 2 long suffixes, double quotes, key order, no trailing comma,
    // no padding, u'' strings.
    let headers = [
      "{'descr': '<f8', 'fortran_order': False, 'shape': (2L, 2L), }",
      "{\"shape\": (2, 2), \"descr\": \"<f8\", \"fortran_order\": False}",
      "{'fortran_order':False,'shape':(2,2),'descr':u'<f8'}\n",
    ]
    for (i, h) in headers.enumerated() {
      let path = npyTempPath()
      defer { removeNPY(path) }
      let data = le([1.0, 2, 3, 4].map { ($0 as Double).bitPattern })
      writeBytes(npyFile(header: h, data: data, pad: i != 2), to: path)
      let r = try NPYReader(path: path)
      #expect(r.shape == [2, 2])
      #expect(try r.readAll().doubles() == [1, 2, 3, 4])
    }
  }

  @Test func bigEndianAndOtherIntegerTypes() throws {
    func check(_ descr: String, _ data: [UInt8], _ dtype: DType, _ expected: [Double]) throws {
      let path = npyTempPath()
      defer { removeNPY(path) }
      writeBytes(npyFile(header: headerText(descr, shape: "(\(expected.count),)"), data: data), to: path)
      let r = try NPYReader(path: path)
      let t = try r.readAll()
      #expect(t.dtype == dtype, "\(descr)")
      #expect(t.doubles() == expected, "\(descr)")
      // A row range from the middle, too.
      #expect(try r.readRows(1..<2).doubles() == [expected[1]], "\(descr)")
    }
    try check(">f8", be([1.5, -2.25, 1e300].map { ($0 as Double).bitPattern }), .float64, [1.5, -2.25, 1e300])
    try check(">f4", be([Float(1.5), -2.25].map(\.bitPattern)), .float32, [1.5, -2.25])
    try check(">i4", be([Int32(1), -2, .max, .min]), .int32, [1, -2, 2_147_483_647, -2_147_483_648])
    try check("<i4", le([Int32(1), -2, .max]), .int32, [1, -2, 2_147_483_647])
    try check(">i8", be([Int64(-5), .max]), .int64, [-5, Double(Int64.max)])
    try check("<i8", le([Int64(-5), 1 << 40]), .int64, [-5, 1_099_511_627_776])
    try check("<i2", le([Int16(-300), 300, .min]), .int32, [-300, 300, -32768])
    try check(">i2", be([Int16(-300), 300]), .int32, [-300, 300])
    try check("<u2", le([UInt16(65535), 1]), .int32, [65535, 1])
    try check(">u4", be([UInt32.max, 7]), .int64, [4_294_967_295, 7])
    try check("|i1", [0xFF, 0x7F, 0x80], .int32, [-1, 127, -128])
    try check("|u1", [0xFF, 0x00, 0x2A], .uint8, [255, 0, 42])
    try check(">u1", [0xFF, 0x01], .uint8, [255, 1])
    try check("|b1", [1, 0, 7], .bool, [1, 0, 1])
    try check(">f2", be([UInt16(0x3C00), 0xC100]), .float32, [1, -2.5])
  }

  @Test func float16KnownValues() throws {
    let bits: [UInt16] = [
      0x3C00, 0xC100, 0x7BFF, 0x0001, 0x03FF, 0x0400, 0x8000, 0x0000, 0x7C00, 0xFC00, 0x7E00, 0x3555,
    ]
    let path = npyTempPath()
    defer { removeNPY(path) }
    writeBytes(npyFile(header: headerText("<f2", shape: "(\(bits.count),)"), data: le(bits)), to: path)
    let r = try NPYReader(path: path)
    let t = try r.readAll()
    #expect(t.dtype == .float32)
    let v = try #require(t.scalars(as: Float.self))
    #expect(v[0] == 1)
    #expect(v[1] == -2.5)
    #expect(v[2] == 65504)
    #expect(v[3] == 0x1p-24)  // smallest subnormal
    #expect(v[4] == 1023 * 0x1p-24)  // largest subnormal
    #expect(v[5] == 0x1p-14)  // smallest normal
    #expect(v[6] == 0 && v[6].sign == .minus)
    #expect(v[7] == 0 && v[7].sign == .plus)
    #expect(v[8] == .infinity)
    #expect(v[9] == -.infinity)
    #expect(v[10].isNaN)
    #expect(v[11] == Float(0.333251953125))
  }

  #if !((os(macOS) || targetEnvironment(macCatalyst)) && arch(x86_64))
    @Test func float16ConversionMatchesTheStandardLibraryForEveryBitPattern() {
      for h in 0...UInt16.max {
        let mine = floatFromHalf(h)
        let reference = Float(Float16(bitPattern: h))
        if reference.isNaN {
          #expect(mine.isNaN)
        } else if mine.bitPattern != reference.bitPattern {
          Issue.record("0x\(String(h, radix: 16)): \(mine) != \(reference)")
        }
      }
    }
  #endif

  /// A Fortran-ordered file of the logical C-order array `values` (shape
  /// `shape`), and the same array in C order.
  func fortranAndCFiles(_ values: [Double], shape: [Int]) throws -> (fortran: String, c: String) {
    let n = values.count
    // Fortran position of C index: reverse the strides.
    var fortran = [Double](repeating: 0, count: n)
    var cStrides = [Int](repeating: 1, count: shape.count)
    var fStrides = [Int](repeating: 1, count: shape.count)
    for i in stride(from: shape.count - 2, through: 0, by: -1) { cStrides[i] = cStrides[i + 1] * shape[i + 1] }
    for i in 1..<max(1, shape.count) { fStrides[i] = fStrides[i - 1] * shape[i - 1] }
    for c in 0..<n {
      var rest = c
      var f = 0
      for axis in shape.indices {
        let j = rest / cStrides[axis]
        rest %= cStrides[axis]
        f += j * fStrides[axis]
      }
      fortran[f] = values[c]
    }
    let shapeText = shape.count == 1 ? "(\(shape[0]),)" : "(" + shape.map(String.init).joined(separator: ", ") + ")"
    let fPath = npyTempPath("fortran")
    writeBytes(
      npyFile(header: headerText("<f8", fortran: true, shape: shapeText), data: le(fortran.map(\.bitPattern))),
      to: fPath)
    let cPath = npyTempPath("c")
    try NPYReader.write(values, shape: shape, to: cPath)
    return (fPath, cPath)
  }

  func checkFortran(shape: [Int], ranges: [Range<Int>]) throws {
    let n = shape.reduce(1, *)
    let values = (0..<n).map { Double($0) * 0.5 - 3 }
    let (fPath, cPath) = try fortranAndCFiles(values, shape: shape)
    defer {
      removeNPY(fPath)
      removeNPY(cPath)
    }
    let f = try NPYReader(path: fPath)
    let c = try NPYReader(path: cPath)
    #expect(f.fortranOrder)
    #expect(f.shape == shape)
    #expect(try f.readAll().doubles() == values)
    for range in ranges {
      let a = try f.readRows(range)
      let b = try c.readRows(range)
      #expect(a.shape == b.shape)
      #expect(a.doubles() == b.doubles(), "shape \(shape), rows \(range)")
    }
  }

  @Test func fortranOrder() throws {
    try checkFortran(shape: [7, 3], ranges: [0..<7, 0..<1, 2..<5, 6..<7, 3..<3])
    try checkFortran(shape: [5, 3, 4], ranges: [0..<5, 1..<2, 1..<4, 4..<5, 0..<0])
    try checkFortran(shape: [4, 2, 3, 2], ranges: [0..<4, 1..<3])
    try checkFortran(shape: [6], ranges: [0..<6, 2..<4])
    try checkFortran(shape: [3, 0, 2], ranges: [0..<3, 1..<2])
    try checkFortran(shape: [5, 1, 1], ranges: [0..<5, 1..<3])
    // Segments too far apart to read together.
    try checkFortran(shape: [20_000, 2], ranges: [0..<10, 19_990..<20_000, 0..<20_000])
  }

  @Test func fortranReadsInSmallBlocks() throws {
    let shape = [50, 7, 3]
    let values = (0..<(50 * 21)).map { Double($0) }
    let (fPath, cPath) = try fortranAndCFiles(values, shape: shape)
    defer {
      removeNPY(fPath)
      removeNPY(cPath)
    }
    let f = try NPYReader(path: fPath)
    let c = try NPYReader(path: cPath)
    for blockBytes in [1, 8, 100, 401, 1_000, 4 << 20] {
      for range in [0..<50, 3..<9, 49..<50] {
        let raw = try f.readFortranRows(range, blockBytes: blockBytes)
        let t = try raw.withFileInputBytes { (p) throws(FileInputError) in
          try f.decode(p, count: range.count * 21, shape: [range.count, 7, 3])
        }
        #expect(t.doubles() == (try c.readRows(range)).doubles(), "block \(blockBytes), rows \(range)")
      }
    }
  }

  @Test func fortranOrderInOtherTypes() throws {
    // (3, 2) int32 big-endian, Fortran: columns [1, 2, 3] and [4, 5, 6].
    let path = npyTempPath()
    defer { removeNPY(path) }
    writeBytes(
      npyFile(header: headerText(">i4", fortran: true, shape: "(3, 2)"), data: be([Int32(1), 2, 3, 4, 5, 6])),
      to: path)
    let r = try NPYReader(path: path)
    #expect(try r.readAll().scalars(as: Int32.self) == [1, 4, 2, 5, 3, 6])
    #expect(try r.readRows(1..<3).scalars(as: Int32.self) == [2, 5, 3, 6])
  }

  // MARK: - Errors

  @Test func badMagicAndVersion() {
    let good = npyFile(header: headerText("<f8", shape: "(1,)"), data: le([UInt64(0)]))
    var bad = good
    bad[5] = UInt8(ascii: "X")
    guard case .malformedNPY(_, let reason)? = openError(bad) else {
      Issue.record("bad magic")
      return
    }
    #expect(reason.contains("magic"))
    guard case .malformedNPY? = openError(Array("a,b\n1,2\n".utf8)) else {
      Issue.record("CSV as npy")
      return
    }
    guard case .malformedNPY? = openError([0x93, 0x4F]) else {
      Issue.record("short bad magic")
      return
    }
    // A file that is a prefix of the magic string is truncated.
    guard case .truncated? = openError([0x93, 0x4E]) else {
      Issue.record("short good magic")
      return
    }
    guard case .truncated? = openError([]) else {
      Issue.record("empty file")
      return
    }
    guard case .truncated? = openError(Array(good[0..<9])) else {
      Issue.record("cut in the length")
      return
    }
    for (major, minor) in [(4, 0), (0, 0), (1, 1), (255, 255)] {
      var v = good
      v[6] = UInt8(major)
      v[7] = UInt8(minor)
      guard case .malformedNPY(_, let reason)? = openError(v) else {
        Issue.record("version \(major).\(minor)")
        continue
      }
      #expect(reason.contains("version \(major).\(minor)"))
    }
  }

  @Test func headerLengthBeyondTheFile() {
    let data = le([UInt64(0)])
    let bytes = npyFile(header: headerText("<f8", shape: "(1,)"), data: data, headerLength: 5000)
    #expect(openError(bytes) != nil)
    if case .truncated(_, let expected, let actual)? = openError(bytes) {
      #expect(expected == 10 + 5000)
      #expect(actual == bytes.count)
    } else {
      Issue.record("expected truncated")
    }
    // v2 with a 4 GB header length: refused, not allocated.
    let huge = npyFile(version: 2, header: headerText("<f8", shape: "(1,)"), data: data, headerLength: 0xFFFF_FFF0)
    guard case .malformedNPY? = openError(huge) else {
      Issue.record("huge header")
      return
    }
  }

  @Test func malformedHeaders() {
    let data = le([UInt64(0), 0])
    let headers = [
      "{'descr': '<f8', 'fortran_order': False}",  // missing shape
      "{'descr': '<f8', 'shape': (2,)}",  // missing fortran_order
      "{'fortran_order': False, 'shape': (2,)}",  // missing descr
      "{'descr': '<f8', 'fortran_order': False, 'shape': (2,), 'extra': 1}",
      "{'descr': '<f8', 'descr': '<f8', 'fortran_order': False, 'shape': (2,)}",
      "hello",
      "",
      "{'descr': '<f8', 'fortran_order': False, 'shape': (2,)",  // unterminated
      "{'descr': '<f8, 'fortran_order': False, 'shape': (2,)}",  // bad quote
      "[1, 2]",
      "{'descr': '<f8', 'fortran_order': False, 'shape': [2]}",
      "{'descr': '<f8', 'fortran_order': False, 'shape': 2}",
      "{'descr': '<f8', 'fortran_order': False, 'shape': (2)}",
      "{'descr': '<f8', 'fortran_order': False, 'shape': (2.0,)}",
      "{'descr': '<f8', 'fortran_order': False, 'shape': ('2',)}",
      "{'descr': '<f8', 'fortran_order': 'no', 'shape': (2,)}",
      "{'descr': '<f8', 'fortran_order': 0, 'shape': (2,)}",
      "{'descr': '<f8', 'fortran_order': False, 'shape': (2,)} junk",
      "{1: '<f8', 'fortran_order': False, 'shape': (2,)}",
      "{'descr': '<f8' 'fortran_order': False, 'shape': (2,)}",
      "{'descr': '<f8', 'fortran_order': False, 'shape': (99999999999999999999999,)}",
      "{'descr': '<f8', 'fortran_order': False, 'shape': (-2,)}",
      "{'descr': '<f8', 'fortran_order': False, 'shape': (4611686018427387904, 4)}",
      "{'descr': '<f8', 'fortran_order': False, 'shape': (1152921504606846976,)}",
      "{'descr': '<f8', 'fortran_order': False, 'shape': " + String(repeating: "(", count: 10_000) + "}",
      "{'descr': '<f8', 'fortran_order': False, 'shape': (2,), }\u{0}",
    ]
    for h in headers {
      let e = openError(npyFile(header: h, data: data))
      guard case .malformedNPY? = e else {
        Issue.record("\(h.prefix(80)): \(String(describing: e))")
        continue
      }
    }
    if case .malformedNPY(_, let reason)? = openError(
      npyFile(header: "{'descr': '<f8', 'fortran_order': False, 'shape': (-2,)}", data: data))
    {
      #expect(reason.contains("negative"))
    }
  }

  @Test func unsupportedDTypes() {
    for descr in ["<c16", "<U3", "|O", "<u8", "|f4", "<M8[ns]", "|S5", "<f16", "<V8", "i3"] {
      let e = openError(npyFile(header: headerText(descr, shape: "(1,)"), data: [UInt8](repeating: 0, count: 16)))
      #expect(e == .unsupportedDType(path: e.map(pathOf) ?? "", descr: descr), "\(descr)")
    }
    // A structured dtype.
    let structured = "{'descr': [('a', '<f4'), ('b', '<i4')], 'fortran_order': False, 'shape': (1,), }"
    guard
      case .unsupportedDType(_, let descr)? = openError(
        npyFile(header: structured, data: [UInt8](repeating: 0, count: 8)))
    else {
      Issue.record("structured")
      return
    }
    #expect(descr == "[('a', '<f4'), ('b', '<i4')]")
  }

  func pathOf(_ e: FileInputError) -> String {
    switch e {
    case .unreadable(let p, _), .unwritable(let p, _), .malformedNPY(let p, _), .truncated(let p, _, _),
      .unsupportedDType(let p, _), .rowsOutOfRange(let p, _, _), .badCSVCell(let p, _, _, _),
      .raggedCSVRow(let p, _, _, _), .csv(let p, _):
      p
    }
  }

  @Test func truncatedAndOverlongData() {
    let h = headerText("<f4", shape: "(4, 2)")
    let full = npyFile(header: h, data: [UInt8](repeating: 0, count: 32))
    let headerBytes = full.count - 32
    for cut in [1, 4, 31] {
      #expect(
        openError(Array(full.dropLast(cut))).map { e in
          if case .truncated(_, let expected, let actual) = e {
            return expected == full.count && actual == full.count - cut
          }
          return false
        } == true)
    }
    // Cut inside the header.
    guard case .truncated? = openError(Array(full[0..<(headerBytes - 3)])) else {
      Issue.record("cut in header")
      return
    }
    guard case .malformedNPY(_, let reason)? = openError(full + [0, 0, 0]) else {
      Issue.record("extra bytes")
      return
    }
    #expect(reason.contains("3 unexpected bytes"))
  }

  @Test func unreadablePaths() {
    let missing = npyTempPath("missing")
    #expect {
      try NPYReader(path: missing)
    } throws: { e in
      guard case .unreadable(let p, _) = e as? FileInputError else { return false }
      return p == missing
    }
    let dir = FileManager.default.temporaryDirectory.path
    #expect {
      try NPYReader(path: dir)
    } throws: { e in
      guard case .unreadable = e as? FileInputError else { return false }
      return true
    }
  }

  @Test func descriptionsAreOneLine() {
    let errors: [FileInputError] = [
      .unreadable(path: "a.npy", reason: "No such file or directory"),
      .unwritable(path: "a.npy", reason: "Permission denied"),
      .malformedNPY(path: "a.npy", reason: "bad magic"),
      .truncated(path: "a.npy", expectedBytes: 100, actualBytes: 50),
      .unsupportedDType(path: "a.npy", descr: "<c16"),
      .rowsOutOfRange(path: "a.npy", requested: 3..<9, rows: 5),
      .badCSVCell(path: "a.csv", line: 3, column: 2, text: "x\ny"),
      .raggedCSVRow(path: "a.csv", line: 3, found: 1, expected: 2),
      .csv(path: "a.csv", reason: "empty"),
    ]
    for e in errors {
      #expect(!e.description.contains("\n"))
      #expect(e.description.contains("a.npy") || e.description.contains("a.csv"))
    }
    #expect(FileInputError.truncated(path: "a.npy", expectedBytes: 100, actualBytes: 50).description.contains("100"))
  }

  // MARK: - Fuzz

  @Test func fuzzedFilesNeverCrash() throws {
    var g = SplitMix64(seed: 0x5EED_4E50)
    let bases: [[UInt8]] = [
      npyFile(header: headerText("<f4", shape: "(4, 3)"), data: le((0..<12).map { Float($0).bitPattern })),
      npyFile(
        version: 2, header: headerText(">i4", fortran: true, shape: "(3, 2, 2)"), data: be((0..<12).map { Int32($0) })),
      npyFile(header: headerText("<f2", shape: "(5,)"), data: le([UInt16](repeating: 0x3C00, count: 5))),
      npyFile(version: 3, header: headerText("|b1", shape: "()"), data: [1]),
    ]
    let interesting = Array("(),:'\"{}[]-0123456789 \nTrueFalseL<>|fiub".utf8)
    let path = npyTempPath("fuzz")
    defer { removeNPY(path) }
    var opened = 0
    for _ in 0..<500 {
      var bytes = bases[Int.random(in: 0..<bases.count, using: &g)]
      for _ in 0..<Int.random(in: 1...3, using: &g) {
        guard !bytes.isEmpty else { break }
        // Mostly the header (the first 64/128 bytes), sometimes anywhere.
        let limit = Bool.random(using: &g) ? min(bytes.count, 70) : bytes.count
        let i = Int.random(in: 0..<limit, using: &g)
        switch Int.random(in: 0..<6, using: &g) {
        case 0: bytes.removeLast(Int.random(in: 0...bytes.count, using: &g))
        case 1: bytes[i] ^= UInt8(1 << Int.random(in: 0..<8, using: &g))
        case 2: bytes.insert(UInt8.random(in: 0...255, using: &g), at: i)
        case 3: bytes[i] = interesting[Int.random(in: 0..<interesting.count, using: &g)]
        case 4: bytes.remove(at: i)
        default: bytes[i] = UInt8.random(in: 0...255, using: &g)
        }
      }
      writeBytes(bytes, to: path)
      do {
        let r = try NPYReader(path: path)
        let all = try r.readAll()
        #expect(all.shape == r.shape)
        #expect(all.count == r.elementCount)
        let rows = try r.readRows(0..<r.rows)
        #expect(rows.shape == [r.rows] + r.rowShape)
        opened += 1
      } catch {
        #expect(!error.description.isEmpty)
      }
    }
    #expect(opened > 0)
  }
}
