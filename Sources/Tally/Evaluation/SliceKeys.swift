//===--- SliceKeys.swift --------------------------------------------------===//
//
// Slice keys: a value per row of one or more slicing columns (integers or
// strings; several columns cross), and a batch's rows grouped by key.
//
//===----------------------------------------------------------------------===//

import CTallyKernels

/// One column's value of a slice key: an integer or a string.
public enum SliceValue: Hashable, Comparable, Sendable, Codable, CustomStringConvertible {
  /// An integer key (a `.npy` of integers, a CSV column of integers).
  case int(Int64)
  /// A string key (a CSV column of text).
  case string(String)

  /// The integer in decimal, or the string.
  public var description: String {
    switch self {
    case .int(let i): "\(i)"
    case .string(let s): s
    }
  }

  /// Integers before strings; integers by value, strings by Unicode order.
  public static func < (a: SliceValue, b: SliceValue) -> Bool {
    switch (a, b) {
    case (.int(let x), .int(let y)): x < y
    case (.string(let x), .string(let y)): x < y
    case (.int, .string): true
    case (.string, .int): false
    }
  }

  public init(from decoder: any Decoder) throws {
    let c = try decoder.singleValueContainer()
    if let i = try? c.decode(Int64.self) {
      self = .int(i)
    } else {
      self = .string(try c.decode(String.self))
    }
  }

  public func encode(to encoder: any Encoder) throws {
    var c = encoder.singleValueContainer()
    switch self {
    case .int(let i): try c.encode(i)
    case .string(let s): try c.encode(s)
    }
  }
}

/// A slice's key: one value per slicing column (several for crossed
/// slices, such as country × device).
///
/// Written as its values joined by `|` (`"US|mobile"`; a single integer key
/// is its decimal value), and in JSON as the list of values.
///
/// ```swift
/// let k = SliceKey([.string("US"), .int(3)])
/// k.description   // "US|3"
/// ```
public struct SliceKey: Hashable, Comparable, Sendable, Codable, CustomStringConvertible {
  /// The values, one per slicing column.
  public var values: [SliceValue]

  /// A key of the given values.
  public init(_ values: [SliceValue]) { self.values = values }

  /// The values joined by `|`.
  public var description: String { values.map(\.description).joined(separator: "|") }

  /// Column by column.
  public static func < (a: SliceKey, b: SliceKey) -> Bool {
    a.values.lexicographicallyPrecedes(b.values)
  }

  /// `keys` in order (by their integers when every key is one integer, as
  /// from a `.npy` column: the same order, without comparing arrays).
  public static func sorted(_ keys: some Collection<SliceKey>) -> [SliceKey] {
    var integers: [(Int64, SliceKey)] = []
    integers.reserveCapacity(keys.count)
    for k in keys {
      guard k.values.count == 1, case .int(let i) = k.values[0] else { return keys.sorted() }
      integers.append((i, k))
    }
    integers.sort { $0.0 < $1.0 }
    return integers.map(\.1)
  }

  public init(from decoder: any Decoder) throws {
    values = try decoder.singleValueContainer().decode([SliceValue].self)
  }

  public func encode(to encoder: any Encoder) throws {
    var c = encoder.singleValueContainer()
    try c.encode(values)
  }
}

/// The integer types whose keys a column reads in place: every value of
/// each is an `Int64`.
protocol SliceKeyInteger: FixedWidthInteger {
  /// `out[i] = table[keys[i] − lo]` for the leading keys of `keys[..<n]`
  /// in the table (`keys[i] − lo` in `0..<width`) with a slot (an entry
  /// ≥ 0); how many. (C loops, with AVX-512 gathers where the CPU has
  /// them: 0.50 ns a key in W1's sliced pass, against 0.71–0.75 ns for the
  /// Swift loop, the scalar C loop and an AVX2 gather alike.)
  static func tableSlots(
    _ keys: UnsafePointer<Self>, _ n: Int, lo: Int64, table: UnsafePointer<Int32>, width: Int,
    into out: UnsafeMutablePointer<Int32>
  ) -> Int
  /// Counts the leading rows of `keys[..<n]` whose keys have slots in the
  /// table (as ``tableSlots(_:_:lo:table:width:into:)``): one to
  /// `counters[slot·stride + cells[i]]` and, with `second` ≥ 0, to
  /// `counters[slot·stride + second + cells2[i]]`; how many (C loops).
  static func countKnown(
    _ keys: UnsafePointer<Self>, _ n: Int, lo: Int64, table: UnsafePointer<Int32>, width: Int,
    counters: UnsafeMutablePointer<UInt16>, stride: Int, cells: UnsafePointer<Int32>, _ cells2: UnsafePointer<Int32>,
    second: Int
  ) -> Int
}
extension Int64: SliceKeyInteger {
  static func countKnown(
    _ keys: UnsafePointer<Int64>, _ n: Int, lo: Int64, table: UnsafePointer<Int32>, width: Int,
    counters: UnsafeMutablePointer<UInt16>, stride: Int, cells: UnsafePointer<Int32>, _ cells2: UnsafePointer<Int32>,
    second: Int
  ) -> Int { tally_count_known_i64(keys, n, lo, table, width, counters, stride, cells, cells2, second) }
  static func tableSlots(
    _ keys: UnsafePointer<Int64>, _ n: Int, lo: Int64, table: UnsafePointer<Int32>, width: Int,
    into out: UnsafeMutablePointer<Int32>
  ) -> Int { tally_table_slots_i64(keys, n, lo, table, width, out) }
}
extension Int32: SliceKeyInteger {
  static func countKnown(
    _ keys: UnsafePointer<Int32>, _ n: Int, lo: Int64, table: UnsafePointer<Int32>, width: Int,
    counters: UnsafeMutablePointer<UInt16>, stride: Int, cells: UnsafePointer<Int32>, _ cells2: UnsafePointer<Int32>,
    second: Int
  ) -> Int { tally_count_known_i32(keys, n, lo, table, width, counters, stride, cells, cells2, second) }
  static func tableSlots(
    _ keys: UnsafePointer<Int32>, _ n: Int, lo: Int64, table: UnsafePointer<Int32>, width: Int,
    into out: UnsafeMutablePointer<Int32>
  ) -> Int { tally_table_slots_i32(keys, n, lo, table, width, out) }
}
extension UInt8: SliceKeyInteger {
  static func countKnown(
    _ keys: UnsafePointer<UInt8>, _ n: Int, lo: Int64, table: UnsafePointer<Int32>, width: Int,
    counters: UnsafeMutablePointer<UInt16>, stride: Int, cells: UnsafePointer<Int32>, _ cells2: UnsafePointer<Int32>,
    second: Int
  ) -> Int { tally_count_known_u8(keys, n, lo, table, width, counters, stride, cells, cells2, second) }
  static func tableSlots(
    _ keys: UnsafePointer<UInt8>, _ n: Int, lo: Int64, table: UnsafePointer<Int32>, width: Int,
    into out: UnsafeMutablePointer<Int32>
  ) -> Int { tally_table_slots_u8(keys, n, lo, table, width, out) }
}

/// One slicing column of a batch: an integer or string key per row.
public struct SliceColumn: Sendable {
  enum Values: Sendable {
    case integers([Int64])
    /// An int64, int32 or uint8 tensor's elements, read in place (a mapped
    /// `.npy`).
    case int64s(TensorBuffer<Int64>)
    case int32s(TensorBuffer<Int32>)
    case uint8s(TensorBuffer<UInt8>)
    case strings([String])
    case mixed([SliceValue])
  }
  let values: Values

  /// The number of rows.
  public var count: Int {
    switch values {
    case .integers(let v): v.count
    case .int64s(let v): v.count
    case .int32s(let v): v.count
    case .uint8s(let v): v.count
    case .strings(let v): v.count
    case .mixed(let v): v.count
    }
  }

  /// Integer keys from a tensor of integers or booleans, of shape `(rows,)`
  /// or `(rows, 1)`.
  ///
  /// - Throws: ``MetricError/invalidValue(_:)`` for floating-point keys (a
  ///   float column is almost always a mistake: every distinct value would
  ///   become a slice), ``MetricError/invalidShape(_:)`` for other shapes.
  public init(_ keys: Tensor) throws(MetricError) {
    guard keys.rank == 1 || (keys.rank == 2 && keys.shape[1] == 1) else {
      throw .invalidShape("slice keys must have shape (rows,) or (rows, 1); received shape \(describe(keys.shape))")
    }
    guard !keys.dtype.isFloatingPoint else {
      throw .invalidValue("slice keys must be integers or strings; received \(keys.dtype.numpyName) values")
    }
    if case .int64(let b) = keys.storage {
      values = .int64s(b)
    } else if case .int32(let b) = keys.storage {
      values = .int32s(b)
    } else if case .uint8(let b) = keys.storage {
      values = .uint8s(b)
    } else if case .int(let b) = keys.storage {
      // (Exactly: through Double, integers beyond 2⁵³ would round.)
      values = .integers(b.withUnsafeBufferPointer { $0.map { Int64($0) } })
    } else {
      values = .integers(keys.scalars(as: Int64.self) ?? keys.doubles().map { Int64($0) })
    }
  }

  /// Integer keys.
  public init(_ keys: [Int64]) { values = .integers(keys) }

  /// String keys.
  public init(strings keys: [String]) { values = .strings(keys) }

  /// Keys read as text (a CSV column): a decimal integer in canonical form
  /// (`-12`, `0`, `7`; not `007` or `+7`) is an integer key, anything else
  /// a string key.
  public init(texts: [String]) {
    values = .mixed(
      texts.map { t in
        if let i = Int64(t), String(i) == t { return .int(i) }
        return .string(t)
      })
  }

  /// The column's value at `row`.
  func value(_ row: Int) -> SliceValue {
    switch values {
    case .integers(let v): .int(v[row])
    case .int64s(let v): .int(v.withUnsafeBufferPointer { $0[row] })
    case .int32s(let v): .int(Int64(v.withUnsafeBufferPointer { $0[row] }))
    case .uint8s(let v): .int(Int64(v.withUnsafeBufferPointer { $0[row] }))
    case .strings(let v): .string(v[row])
    case .mixed(let v): v[row]
    }
  }

  /// Each row's ordinal among the column's distinct values (in order of
  /// first appearance), and the first row of each distinct value.
  func ordinals() -> (ordinals: [Int32], firstRows: [Int]) {
    switch values {
    case .integers(let v): v.withUnsafeBufferPointer { Self.ordinals(ofIntegers: $0) }
    case .int64s(let v): v.withUnsafeBufferPointer { Self.ordinals(ofIntegers: $0) }
    case .int32s(let v): v.withUnsafeBufferPointer { Self.ordinals(ofIntegers: $0) }
    case .uint8s(let v): v.withUnsafeBufferPointer { Self.ordinals(ofIntegers: $0) }
    case .strings(let v): Self.ordinals(of: v)
    case .mixed(let v): Self.ordinals(of: v)
    }
  }

  /// Through a dense table when the keys' range is small; a dictionary
  /// otherwise.
  ///
  /// One pass: the table covers the keys seen so far and grows (twice as
  /// wide, at least) when a key falls outside; past the limits below the
  /// keys go through the dictionary.
  static func ordinals<T: SliceKeyInteger>(ofIntegers v: UnsafeBufferPointer<T>) -> (
    [Int32], [Int]
  ) {
    guard let first = v.first else { return ([], []) }
    // The widest table: 2²⁰ slots, and not much wider than the rows.
    let limit = min(Int64(1) << 20, 4 * Int64(v.count) + 1_024)
    // The table covers lo ..< lo + table.count, inside Int64's range (so
    // the one unsigned comparison below tells whether a key is in it).
    var lo = Swift.min(Int64(first), Int64.max - 63)
    var table = [Int32](repeating: -1, count: 64)
    var firstRows: [Int] = []
    var complete = true
    let out = [Int32](unsafeUninitializedCapacity: v.count) { o, initialized in
      var i = 0
      while i < v.count {
        // Rows whose keys lie in the table, until one does not.
        table.withUnsafeMutableBufferPointer { t in
          let width = UInt64(t.count)
          while i < v.count {
            let slot = UInt64(bitPattern: Int64(v[i]) &- lo)
            guard slot < width else { break }
            var g = t[Int(slot)]
            if g < 0 {
              g = Int32(firstRows.count)
              t[Int(slot)] = g
              firstRows.append(i)
            }
            o[i] = g
            i &+= 1
          }
        }
        guard i < v.count else { break }
        // Widen the table to take v[i], or leave the keys to the dictionary
        // when they span too much.
        let x = Int64(v[i])
        let (newLo, newHi) = (Swift.min(lo, x), Swift.max(lo &+ Int64(table.count) &- 1, x))
        let (span, overflow) = newHi.subtractingReportingOverflow(newLo)
        guard !overflow, span < limit else {
          complete = false
          break
        }
        let width = Swift.min(limit, Swift.max(span &+ 1, 2 &* Int64(table.count)))
        // The spare slots go below when widened downward, above otherwise,
        // as far as Int64's ends allow (together they allow far more).
        let room = UInt64(width &- 1 &- span)
        let toMin = UInt64(bitPattern: newLo) &- UInt64(bitPattern: Int64.min)
        let toMax = UInt64(bitPattern: Int64.max) &- UInt64(bitPattern: newHi)
        var below = x < lo ? Swift.min(room, toMin) : 0
        if room &- below > toMax { below = room &- toMax }
        let base = newLo &- Int64(below)
        var wider = [Int32](repeating: -1, count: Int(width))
        for (k, g) in table.enumerated() where g >= 0 { wider[Int(lo &- base) &+ k] = g }
        (table, lo) = (wider, base)
      }
      initialized = v.count
    }
    return complete ? (out, firstRows) : ordinals(of: Array(v))
  }

  static func ordinals<T: Hashable>(of v: [T]) -> ([Int32], [Int]) {
    var seen: [T: Int32] = [:]
    var firstRows: [Int] = []
    let out = v.enumerated().map { (i, x) -> Int32 in
      if let o = seen[x] { return o }
      let o = Int32(seen.count)
      seen[x] = o
      firstRows.append(i)
      return o
    }
    return (out, firstRows)
  }
}

/// A batch's rows grouped by slice key.
///
/// ```swift
/// let batch = try SliceBatch([SliceColumn(strings: ["US", "FR", "US"]), SliceColumn([1, 1, 2])])
/// batch.keys.map(\.description)   // ["US|1", "FR|1", "US|2"]
/// ```
public struct SliceBatch: Sendable {
  /// The distinct keys, in order of first appearance.
  public let keys: [SliceKey]
  /// Each row's index into ``keys``.
  let group: [Int32]

  /// The number of rows.
  public var rows: Int { group.count }

  /// The rows grouped by the keys of `columns` (crossed when several).
  ///
  /// - Throws: ``MetricError/shapeMismatch(_:)`` when the columns have
  ///   different numbers of rows or there is no column.
  public init(_ columns: [SliceColumn]) throws(MetricError) {
    guard let first = columns.first else { throw .shapeMismatch("slicing needs at least one key column") }
    let n = first.count
    if let other = columns.first(where: { $0.count != n }) {
      throw .shapeMismatch("slice key columns have different numbers of rows: \(n) and \(other.count)")
    }
    // Combine the columns' ordinals into one code per row.
    var codes = [Int64](repeating: 0, count: columns.count > 1 ? n : 0)
    var product: Int64 = 1
    var overflowed = false
    guard n < Int(Int32.max) else {
      throw .shapeMismatch("a sliced batch holds at most \(Int32.max - 1) rows; received \(n)")
    }
    var ordinalColumns: [[Int32]] = []
    var firstRows: [Int] = []
    for column in columns {
      let (o, first) = column.ordinals()
      let distinct = first.count
      firstRows = first
      ordinalColumns.append(o)
      let (p, overflow) = product.multipliedReportingOverflow(by: Int64(max(distinct, 1)))
      if overflow { overflowed = true }
      if !overflowed && columns.count > 1 {
        for i in 0..<n { codes[i] = codes[i] &* Int64(max(distinct, 1)) &+ Int64(o[i]) }
        product = p
      }
    }
    let group: [Int32]
    if overflowed {
      (group, firstRows) = SliceColumn.ordinals(of: (0..<n).map { i in ordinalColumns.map { $0[i] } })
    } else if columns.count == 1 {
      group = ordinalColumns[0]
    } else {
      (group, firstRows) = SliceColumn.ordinals(of: codes)
    }
    keys = firstRows.map { i in SliceKey(columns.map { $0.value(i) }) }
    self.group = group
  }

  /// The rows grouped by key (a stable counting sort): group `g`'s rows
  /// are `order[offsets[g]..<offsets[g + 1]]`.
  func grouping() -> (order: [Int32], offsets: [Int]) {
    var offsets = [Int](repeating: 0, count: keys.count + 1)
    for g in group { offsets[Int(g) + 1] += 1 }
    for g in 0..<keys.count { offsets[g + 1] += offsets[g] }
    var fill = offsets
    var order = [Int32](repeating: 0, count: group.count)
    for (i, g) in group.enumerated() {
      order[fill[Int(g)]] = Int32(i)
      fill[Int(g)] += 1
    }
    return (order, offsets)
  }
}
