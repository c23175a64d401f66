//===--- NPYWriter.swift --------------------------------------------------===//
//
// Writing NumPy `.npy` files (format 1.0, little-endian, C order), for tests
// and tools.
//
//===----------------------------------------------------------------------===//

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
    var header = Array(
      "{'descr': '\(NPYKind.descr(for: T.dtype))', 'fortran_order': False, 'shape': \(shapeText), }".utf8)
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
      case .float32:
        appendLittleEndian(unsafeBitCast(values, to: [Float].self)[start..<end].lazy.map(\.bitPattern), to: &chunk)
      case .float64:
        appendLittleEndian(unsafeBitCast(values, to: [Double].self)[start..<end].lazy.map(\.bitPattern), to: &chunk)
      case .int:
        appendLittleEndian(unsafeBitCast(values, to: [Int].self)[start..<end].lazy.map { Int64($0) }, to: &chunk)
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
