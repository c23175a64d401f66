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
      let scores = try a.decode([Double].self, forKey: .scores)
      let positives = try a.decode([CompensatedSum].self, forKey: .positives)
      let negatives = try a.decode([CompensatedSum].self, forKey: .negatives)
      guard positives.count == scores.count, negatives.count == scores.count else {
        throw DecodingError.dataCorruptedError(
          forKey: .positives, in: a,
          debugDescription: "a score histogram needs one positive and one negative sum per score")
      }
      self.init(scores: scores, positives: positives, negatives: negatives)
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
    switch storage {
    case .counts(let c): Self.binary(c)
    case .sums(let s): Self.binary(s)
    }
  }

  /// Counts: float32 scores and varint counts (the layout that sums of
  /// the same counts would take).
  private static func binary(_ c: CountColumns) -> Data {
    let layout: Layout = [.float32Scores, .varintSums]
    // At most: the flags, 4 bytes a score, and 5 bytes a 32-bit varint.
    let out = [UInt8](unsafeUninitializedCapacity: 1 + 14 * c.count) { buffer, initialized in
      var writer = ByteWriter(UnsafeMutableRawBufferPointer(buffer))
      writer.byte(layout.rawValue)
      for k in c.keys { writer.littleEndian(k.float.bitPattern) }
      for counts in [c.positives, c.negatives] {
        for n in counts { writer.varint(UInt64(n)) }
      }
      initialized = writer.offset
    }
    return Data(out)
  }

  private static func binary(_ s: SumColumns) -> Data {
    var layout: Layout = []
    if s.scores.allSatisfy({ Double(Float($0)) == $0 }) { layout.insert(.float32Scores) }
    let whole = { (h: Double) in h >= 0 && h < 0x1p53 && h.rounded() == h }
    if s.holdsCounts || (s.tails == nil && s.positiveHeads.allSatisfy(whole) && s.negativeHeads.allSatisfy(whole)) {
      layout.insert(.varintSums)
    } else if s.tails != nil {
      layout.insert(.tails)
    }
    let n = s.count
    // At most: the flags, 8 bytes a score, and 8 bytes a sum (a varint
    // below 2⁵³ takes at most 8).
    let most = 1 + 8 * n + 16 * n + (layout.contains(.tails) ? 16 * n : 0)
    let out = [UInt8](unsafeUninitializedCapacity: most) { buffer, initialized in
      var writer = ByteWriter(UnsafeMutableRawBufferPointer(buffer))
      writer.byte(layout.rawValue)
      if layout.contains(.float32Scores) {
        for x in s.scores { writer.littleEndian(Float(x).bitPattern) }
      } else {
        for x in s.scores { writer.littleEndian(x.bitPattern) }
      }
      for heads in [s.positiveHeads, s.negativeHeads] {
        if layout.contains(.varintSums) {
          for h in heads { writer.varint(UInt64(h)) }
        } else {
          for h in heads { writer.littleEndian(h.bitPattern) }
        }
      }
      if let tails = s.tails, layout.contains(.tails) {
        for column in [tails.positives, tails.negatives] {
          for t in column { writer.littleEndian(t.bitPattern) }
        }
      }
      initialized = writer.offset
    }
    return Data(out)
  }

  /// The histogram of `count` scores in `bytes`, or `nil` when the bytes
  /// do not hold exactly that (checked by ``validate()`` afterwards).
  init?(binary bytes: Data, count: Int) {
    // Each score takes at least 4 bytes: a count beyond that is refused
    // before anything is allocated for it.
    guard count >= 0, count <= bytes.count / 4 else { return nil }
    if let counts = bytes.withUnsafeBytes({ Self.counts(ByteReader($0), count: count) }) {
      self.init(counts)
      return
    }
    guard let sums = bytes.withUnsafeBytes({ Self.sums(ByteReader($0), count: count) }) else { return nil }
    self.init(sums)
  }

  /// The counts in float32-and-varint bytes, or `nil` if the bytes are of
  /// another layout, or hold a NaN or −0 score or a count past 32 bits (or
  /// do not hold `count` scores).
  private static func counts(_ reader: ByteReader, count: Int) -> CountColumns? {
    var reader = reader
    guard let flags = reader.byte(), Layout(rawValue: flags) == [.float32Scores, .varintSums] else { return nil }
    var c = CountColumns()
    var representable = true
    c.keys = [Float32Key](unsafeUninitializedCapacity: count) { keys, initialized in
      for i in 0..<count {
        guard let b = reader.littleEndian(UInt32.self) else {
          representable = false
          break
        }
        let x = Float(bitPattern: b)
        guard !x.isNaN && !(x == 0 && x.sign == .minus) else {
          representable = false
          break
        }
        keys.initializeElement(at: i, to: Float32Key(x))
        initialized = i + 1
      }
    }
    guard representable else { return nil }
    func column() -> [UInt32]? {
      var column = [UInt32]()
      column.reserveCapacity(count)
      for _ in 0..<count {
        guard let v = reader.varint(), v <= UInt64(UInt32.max) else { return nil }
        column.append(UInt32(v))
      }
      return column
    }
    guard let p = column(), let n = column(), reader.isAtEnd else { return nil }
    (c.positives, c.negatives) = (p, n)
    return c
  }

  /// The sums in bytes of any layout, or `nil` if they do not hold `count`
  /// scores in the declared layout.
  private static func sums(_ reader: ByteReader, count: Int) -> SumColumns? {
    var reader = reader
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
    func column(varint: Bool) -> [Double]? {
      var column = [Double]()
      column.reserveCapacity(count)
      for _ in 0..<count {
        if varint {
          guard let v = reader.varint(), v < 1 << 53 else { return nil }
          column.append(Double(v))
        } else {
          guard let b = reader.littleEndian(UInt64.self) else { return nil }
          column.append(Double(bitPattern: b))
        }
      }
      return column
    }
    let varint = layout.contains(.varintSums)
    guard let positiveHeads = column(varint: varint), let negativeHeads = column(varint: varint) else { return nil }
    var positiveTails: [Double]? = nil
    var negativeTails: [Double]? = nil
    if layout.contains(.tails) {
      guard let p = column(varint: false), let n = column(varint: false) else { return nil }
      (positiveTails, negativeTails) = (p, n)
    }
    guard reader.isAtEnd else { return nil }
    return SumColumns(
      scores: scores, positiveHeads: positiveHeads, negativeHeads: negativeHeads, positiveTails: positiveTails,
      negativeTails: negativeTails)
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

/// Writes a byte buffer front to back; the caller sizes the buffer for
/// every write (checked in debug builds).
private struct ByteWriter {
  let raw: UnsafeMutableRawBufferPointer
  var offset = 0

  init(_ raw: UnsafeMutableRawBufferPointer) { self.raw = raw }

  mutating func byte(_ b: UInt8) {
    raw[offset] = b
    offset += 1
  }

  /// `value`'s bytes, least significant first.
  mutating func littleEndian<T: FixedWidthInteger>(_ value: T) {
    assert(raw.count - offset >= MemoryLayout<T>.size, "ByteWriter: \(T.self) at \(offset) of \(raw.count)")
    raw.storeBytes(of: value.littleEndian, toByteOffset: offset, as: T.self)
    offset += MemoryLayout<T>.size
  }

  /// An unsigned LEB128 number.
  mutating func varint(_ value: UInt64) {
    var v = value
    while v >= 0x80 {
      byte(UInt8(v & 0x7F) | 0x80)
      v >>= 7
    }
    byte(UInt8(v))
  }
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
