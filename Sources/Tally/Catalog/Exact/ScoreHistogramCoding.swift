//===--- ScoreHistogramCoding.swift ---------------------------------------===//
//
// The saved form of an exact AUC's state: one binary block, base64 in the
// JSON, with a checksum, instead of three JSON arrays (56 bytes of text per
// distinct score, and minutes for ten million of them).
//
//===----------------------------------------------------------------------===//

import Foundation

extension ScoreHistogram {
  /// The saved form: `{"count": n, "encoding": "tally-score-histogram-1",
  /// "data": <base64>, "checksum": <FNV-1a 64 of the bytes, hex>}`.
  ///
  /// The bytes (little-endian): the scores, as float32 when every score is
  /// one (4 bytes each) or else float64; then the positive and negative
  /// sums, as LEB128 varints when every sum is a whole number below 2⁵³
  /// without a compensation term (unweighted counts: 1 byte for counts
  /// below 128), or else float64; then, only when some sum has one, the
  /// compensation terms as float64. Unweighted float32 scores take 6 to 10
  /// bytes per distinct score (8 to 14 in base64); weighted ones 20 (27)
  /// without compensation terms, 36 (48) with.
  ///
  /// A state saved in the earlier form (`"scores"`, `"positives"`,
  /// `"negatives"` arrays) still loads.
  static let encodingTag = "tally-score-histogram-1"

  private enum BinaryKeys: String, CodingKey {
    case count, encoding, data, checksum
  }

  private enum ArrayKeys: String, CodingKey {
    case scores, positives, negatives
  }

  /// Bit 0: float32 scores; bit 1: varint sums; bit 2: compensation terms.
  private struct Layout: OptionSet {
    let rawValue: UInt8
    static let float32Scores = Layout(rawValue: 1)
    static let varintSums = Layout(rawValue: 2)
    static let tails = Layout(rawValue: 4)
  }

  public func encode(to encoder: Encoder) throws {
    var c = encoder.container(keyedBy: BinaryKeys.self)
    let bytes = binary()
    try c.encode(count, forKey: .count)
    try c.encode(Self.encodingTag, forKey: .encoding)
    try c.encode(bytes.base64EncodedString(), forKey: .data)
    try c.encode(Self.checksum(bytes), forKey: .checksum)
  }

  public init(from decoder: Decoder) throws {
    let c = try decoder.container(keyedBy: BinaryKeys.self)
    guard c.contains(.data) else {
      // The earlier form: three arrays.
      let a = try decoder.container(keyedBy: ArrayKeys.self)
      self.init(
        scores: try a.decode([Double].self, forKey: .scores),
        positives: try a.decode([CompensatedSum].self, forKey: .positives),
        negatives: try a.decode([CompensatedSum].self, forKey: .negatives))
      return
    }
    let tag = try c.decode(String.self, forKey: .encoding)
    guard tag == Self.encodingTag else {
      throw DecodingError.dataCorruptedError(
        forKey: .encoding, in: c, debugDescription: "unknown score histogram encoding \"\(tag)\"")
    }
    let count = try c.decode(Int.self, forKey: .count)
    guard let bytes = Data(base64Encoded: try c.decode(String.self, forKey: .data)) else {
      throw DecodingError.dataCorruptedError(forKey: .data, in: c, debugDescription: "the data is not base64")
    }
    guard try c.decode(String.self, forKey: .checksum) == Self.checksum(bytes) else {
      throw DecodingError.dataCorruptedError(
        forKey: .checksum, in: c, debugDescription: "the checksum does not match the data")
    }
    guard let decoded = Self(binary: bytes, count: count) else {
      throw DecodingError.dataCorruptedError(
        forKey: .data, in: c, debugDescription: "the data does not hold \(count) scores in the declared layout")
    }
    self = decoded
  }

  /// The bytes of the saved form.
  func binary() -> Data {
    var layout: Layout = []
    if scores.allSatisfy({ Double(Float($0)) == $0 }) { layout.insert(.float32Scores) }
    let whole = { (s: CompensatedSum) in s.tail == 0 && s.head >= 0 && s.head < 0x1p53 && s.head.rounded() == s.head }
    if positives.allSatisfy(whole) && negatives.allSatisfy(whole) {
      layout.insert(.varintSums)
    } else if positives.contains(where: { $0.tail != 0 }) || negatives.contains(where: { $0.tail != 0 }) {
      layout.insert(.tails)
    }
    var out = [UInt8]()
    out.reserveCapacity(1 + count * (layout.contains(.float32Scores) ? 6 : 10))
    out.append(layout.rawValue)
    if layout.contains(.float32Scores) {
      for s in scores { appendLittleEndian(Float(s).bitPattern, to: &out) }
    } else {
      for s in scores { appendLittleEndian(s.bitPattern, to: &out) }
    }
    for sums in [positives, negatives] {
      if layout.contains(.varintSums) {
        for s in sums {
          var v = UInt64(s.head)
          while v >= 0x80 {
            out.append(UInt8(v & 0x7F) | 0x80)
            v >>= 7
          }
          out.append(UInt8(v))
        }
      } else {
        for s in sums { appendLittleEndian(s.head.bitPattern, to: &out) }
      }
    }
    if layout.contains(.tails) {
      for sums in [positives, negatives] {
        for s in sums { appendLittleEndian(s.tail.bitPattern, to: &out) }
      }
    }
    return Data(out)
  }

  /// The histogram of `count` scores in `bytes`, or `nil` when the bytes
  /// do not hold exactly that (checked by ``validate()`` afterwards).
  init?(binary bytes: Data, count: Int) {
    guard count >= 0, count <= bytes.count else { return nil }
    let decoded: ([Double], [CompensatedSum], [CompensatedSum])? = bytes.withUnsafeBytes { raw in
      var reader = ByteReader(raw)
      guard let flags = reader.byte(), flags & ~7 == 0 else { return nil }
      let layout = Layout(rawValue: flags)
      guard !(layout.contains(.varintSums) && layout.contains(.tails)) else { return nil }
      var scores = [Double]()
      scores.reserveCapacity(count)
      for _ in 0..<count {
        if layout.contains(.float32Scores) {
          guard let b = reader.littleEndian(UInt32.self) else { return nil }
          scores.append(Double(Float(bitPattern: b)))
        } else {
          guard let b = reader.littleEndian(UInt64.self) else { return nil }
          scores.append(Double(bitPattern: b))
        }
      }
      var heads: [[Double]] = []
      for _ in 0..<2 {
        var column = [Double]()
        column.reserveCapacity(count)
        for _ in 0..<count {
          if layout.contains(.varintSums) {
            guard let v = reader.varint(), v < 1 << 53 else { return nil }
            column.append(Double(v))
          } else {
            guard let b = reader.littleEndian(UInt64.self) else { return nil }
            column.append(Double(bitPattern: b))
          }
        }
        heads.append(column)
      }
      var sums: [[CompensatedSum]] = []
      for k in 0..<2 {
        var column = [CompensatedSum]()
        column.reserveCapacity(count)
        for i in 0..<count {
          var tail = 0.0
          if layout.contains(.tails) {
            guard let b = reader.littleEndian(UInt64.self) else { return nil }
            tail = Double(bitPattern: b)
          }
          column.append(CompensatedSum(head: heads[k][i], tail: tail))
        }
        sums.append(column)
      }
      guard reader.isAtEnd else { return nil }
      return (scores, sums[0], sums[1])
    }
    guard let decoded else { return nil }
    self.init(scores: decoded.0, positives: decoded.1, negatives: decoded.2)
  }

  /// FNV-1a 64 of `bytes`, as 16 hex digits.
  static func checksum(_ bytes: Data) -> String {
    var h: UInt64 = 0xCBF2_9CE4_8422_2325
    bytes.withUnsafeBytes { raw in
      for b in raw {
        h ^= UInt64(b)
        h &*= 0x0000_0100_0000_01B3
      }
    }
    let hex = String(h, radix: 16)
    return String(repeating: "0", count: 16 - hex.count) + hex
  }
}

/// Appends `value`'s bytes, least significant first.
private func appendLittleEndian<T: FixedWidthInteger>(_ value: T, to out: inout [UInt8]) {
  var v = value.littleEndian
  withUnsafeBytes(of: &v) { out.append(contentsOf: $0) }
}

/// Reads a byte buffer front to back; every read is bounds-checked.
private struct ByteReader {
  let raw: UnsafeRawBufferPointer
  var offset = 0

  init(_ raw: UnsafeRawBufferPointer) { self.raw = raw }

  var isAtEnd: Bool { offset == raw.count }

  mutating func byte() -> UInt8? {
    guard offset < raw.count else { return nil }
    defer { offset += 1 }
    return raw[offset]
  }

  mutating func littleEndian<T: FixedWidthInteger>(_: T.Type) -> T? {
    let size = MemoryLayout<T>.size
    guard raw.count - offset >= size else { return nil }
    defer { offset += size }
    return T(littleEndian: raw.loadUnaligned(fromByteOffset: offset, as: T.self))
  }

  /// An unsigned LEB128 number of at most 64 bits.
  mutating func varint() -> UInt64? {
    var v: UInt64 = 0
    var shift: UInt64 = 0
    while let b = byte() {
      guard shift < 64 else { return nil }
      v |= UInt64(b & 0x7F) << shift
      if b & 0x80 == 0 { return v }
      shift += 7
    }
    return nil
  }
}
