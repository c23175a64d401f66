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
    case strings([String])
    case mixed([SliceValue])
  }
  let values: Values

  /// The number of rows.
  public var count: Int {
    switch values {
    case .integers(let v): v.count
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
    values = .integers(keys.scalars(as: Int64.self) ?? keys.doubles().map { Int64($0) })
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
    case .strings(let v): .string(v[row])
    case .mixed(let v): v[row]
    }
  }

  /// Each row's ordinal among the column's distinct values (in order of
  /// first appearance), and the number of distinct values.
  func ordinals() -> (ordinals: [Int32], distinct: Int) {
    switch values {
    case .integers(let v):
      guard var lo = v.first else { return ([], 0) }
      var hi = lo
      for x in v {
        lo = Swift.min(lo, x)
        hi = Swift.max(hi, x)
      }
      // A dense table when the range is small; a dictionary otherwise.
      let (span, overflow) = hi.subtractingReportingOverflow(lo)
      if !overflow, span < 1 << 20, span < 4 * Int64(v.count) + 1024 {
        var table = [Int32](repeating: -1, count: Int(span) + 1)
        var out = [Int32](repeating: 0, count: v.count)
        var next: Int32 = 0
        table.withUnsafeMutableBufferPointer { t in
          out.withUnsafeMutableBufferPointer { o in
            for (i, x) in v.enumerated() {
              let slot = Int(x &- lo)
              if t[slot] < 0 {
                t[slot] = next
                next += 1
              }
              o[i] = t[slot]
            }
          }
        }
        return (out, Int(next))
      }
      return Self.ordinals(of: v)
    case .strings(let v):
      return Self.ordinals(of: v)
    case .mixed(let v):
      return Self.ordinals(of: v)
    }
  }

  static func ordinals<T: Hashable>(of v: [T]) -> ([Int32], Int) {
    var seen: [T: Int32] = [:]
    let out = v.map { x -> Int32 in
      if let o = seen[x] { return o }
      let o = Int32(seen.count)
      seen[x] = o
      return o
    }
    return (out, seen.count)
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
    var distincts: [Int] = []
    for column in columns {
      let (o, distinct) = column.ordinals()
      ordinalColumns.append(o)
      distincts.append(distinct)
      let (p, overflow) = product.multipliedReportingOverflow(by: Int64(max(distinct, 1)))
      if overflow { overflowed = true }
      if !overflowed && columns.count > 1 {
        for i in 0..<n { codes[i] = codes[i] &* Int64(max(distinct, 1)) &+ Int64(o[i]) }
        product = p
      }
    }
    let group: [Int32]
    let count: Int
    if overflowed {
      (group, count) = SliceColumn.ordinals(of: (0..<n).map { i in ordinalColumns.map { $0[i] } })
    } else if columns.count == 1 {
      (group, count) = (ordinalColumns[0], distincts[0])
    } else {
      (group, count) = SliceColumn.ordinals(of: codes)
    }
    var firstRow = [Int](repeating: -1, count: count)
    for i in 0..<n where firstRow[Int(group[i])] < 0 { firstRow[Int(group[i])] = i }
    keys = firstRow.map { i in SliceKey(columns.map { $0.value(i) }) }
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
