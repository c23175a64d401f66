//===--- SliceKeys.swift --------------------------------------------------===//
//
// Slice keys: a value per row of one or more slicing columns (integers or
// strings; several columns cross), and a batch's rows grouped by key.
//
//===----------------------------------------------------------------------===//

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

/// One slicing column of a batch: an integer or string key per row.
public struct SliceColumn: Sendable {
  enum Values: Sendable {
    case integers([Int64])
    /// An int64 or int32 tensor's elements, read in place (a mapped `.npy`).
    case int64s(TensorBuffer<Int64>)
    case int32s(TensorBuffer<Int32>)
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
    case .strings(let v): Self.ordinals(of: v)
    case .mixed(let v): Self.ordinals(of: v)
    }
  }

  /// Through a dense table when the keys' range is small; a dictionary
  /// otherwise.
  static func ordinals<T: FixedWidthInteger & SignedInteger>(ofIntegers v: UnsafeBufferPointer<T>) -> (
    [Int32], [Int]
  ) {
    guard let first = v.first else { return ([], []) }
    // Four independent minima and maxima.
    var (lo, hi) = (first, first)
    var (lo1, hi1, lo2, hi2, lo3, hi3) = (first, first, first, first, first, first)
    var i = 0
    while i &+ 4 <= v.count {
      (lo, hi) = (Swift.min(lo, v[i]), Swift.max(hi, v[i]))
      (lo1, hi1) = (Swift.min(lo1, v[i &+ 1]), Swift.max(hi1, v[i &+ 1]))
      (lo2, hi2) = (Swift.min(lo2, v[i &+ 2]), Swift.max(hi2, v[i &+ 2]))
      (lo3, hi3) = (Swift.min(lo3, v[i &+ 3]), Swift.max(hi3, v[i &+ 3]))
      i &+= 4
    }
    while i < v.count {
      (lo, hi) = (Swift.min(lo, v[i]), Swift.max(hi, v[i]))
      i &+= 1
    }
    (lo, hi) = (Swift.min(Swift.min(lo, lo1), Swift.min(lo2, lo3)), Swift.max(Swift.max(hi, hi1), Swift.max(hi2, hi3)))
    let (span, overflow) = Int64(hi).subtractingReportingOverflow(Int64(lo))
    guard !overflow, span < 1 << 20, span < 4 * Int64(v.count) + 1024 else { return ordinals(of: Array(v)) }
    var table = [Int32](repeating: -1, count: Int(span) + 1)
    var firstRows: [Int] = []
    let out = [Int32](unsafeUninitializedCapacity: v.count) { o, initialized in
      table.withUnsafeMutableBufferPointer { t in
        for i in 0..<v.count {
          let slot = Int(v[i] &- lo)
          var g = t[slot]
          if g < 0 {
            g = Int32(firstRows.count)
            t[slot] = g
            firstRows.append(i)
          }
          o[i] = g
        }
      }
      initialized = v.count
    }
    return (out, firstRows)
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
