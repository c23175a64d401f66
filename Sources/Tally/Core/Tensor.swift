//===--- Tensor.swift -----------------------------------------------------===//
//
// The shaped, row-major array that carries `y_true`, `y_pred`,
// `sample_weight` and per-sample values into metrics.
//
//===----------------------------------------------------------------------===//

/// The element type of a ``Tensor``, named as NumPy and Keras name it.
public enum DType: String, Sendable, Codable, CaseIterable {
  /// `Float`.
  case float32
  /// `Double`.
  case float64
  /// Swift's `Int` (64-bit on every platform Tally supports).
  case int
  /// `Int32`.
  case int32
  /// `Int64`.
  case int64
  /// `UInt8`.
  case uint8
  /// `Bool`.
  case bool

  /// Whether the type is `float32` or `float64`.
  public var isFloatingPoint: Bool { self == .float32 || self == .float64 }

  /// The NumPy/Keras name of the type (`int` is reported as `int64`).
  public var numpyName: String { self == .int ? "int64" : rawValue }
}

/// A scalar type a ``Tensor`` can hold: `Float`, `Double`, `Int`, `Int32`,
/// `Int64`, `UInt8` or `Bool`.
///
/// Metrics read every element type as `Double` (a `Bool` is 0 or 1), so that a
/// caller hands over its data as it is, without converting it first.
public protocol TensorScalar: Sendable, Equatable, TensorConvertible where Scalar == Self {
  /// The dtype tag of this Swift type.
  static var dtype: DType { get }
  /// The value as a `Double` (`true` is 1, `false` is 0).
  var doubleValue: Double { get }
}

extension Float: TensorScalar {
  public static var dtype: DType { .float32 }
  @inlinable public var doubleValue: Double { Double(self) }
}
extension Double: TensorScalar {
  public static var dtype: DType { .float64 }
  @inlinable public var doubleValue: Double { self }
}
extension Int: TensorScalar {
  public static var dtype: DType { .int }
  @inlinable public var doubleValue: Double { Double(self) }
}
extension Int32: TensorScalar {
  public static var dtype: DType { .int32 }
  @inlinable public var doubleValue: Double { Double(self) }
}
extension Int64: TensorScalar {
  public static var dtype: DType { .int64 }
  @inlinable public var doubleValue: Double { Double(self) }
}
extension UInt8: TensorScalar {
  public static var dtype: DType { .uint8 }
  @inlinable public var doubleValue: Double { Double(self) }
}
extension Bool: TensorScalar {
  public static var dtype: DType { .bool }
  @inlinable public var doubleValue: Double { self ? 1 : 0 }
}

/// Contiguous elements: either an array Tally shares (copy-on-write, so
/// never copied) or memory it borrows.
///
/// Borrowed memory comes with its `owner`, which every copy of the buffer
/// holds: the object that keeps the memory valid (a file mapping, unmapped
/// only when the last tensor over it goes). Memory lent by
/// `Tensor.withBorrowed(_:shape:_:)` is read through ``LentElements``,
/// which moves to a copy if a tensor outlives the closure.
@usableFromInline
enum TensorBuffer<Scalar: TensorScalar>: @unchecked Sendable {
  case owned([Scalar])
  case borrowed(UnsafeBufferPointer<Scalar>, owner: AnyObject)
  case lent(LentElements<Scalar>)

  @inlinable
  var count: Int {
    switch self {
    case .owned(let a): a.count
    case .borrowed(let b, _): b.count
    case .lent(let l): l.elements.count
    }
  }

  @inlinable
  func withUnsafeBufferPointer<R, E: Error>(
    _ body: (UnsafeBufferPointer<Scalar>) throws(E) -> R
  ) throws(E) -> R {
    switch self {
    case .owned(let a):
      // `Array.withUnsafeBufferPointer` rethrows untyped errors; route the
      // typed error through a Result to keep `E`.
      let r: Result<R, E> = a.withUnsafeBufferPointer { p in
        do throws(E) { return .success(try body(p)) } catch { return .failure(error) }
      }
      return try r.get()
    case .borrowed(let b, _):
      return try body(b)
    case .lent(let l):
      return try body(l.elements)
    }
  }
}

/// The elements `Tensor.withBorrowed(_:shape:_:)` lends: the caller's
/// memory while the closure runs; if a tensor over them is still alive when
/// it returns, a copy, so that the tensor never reads memory it does not
/// own.
@usableFromInline
final class LentElements<Scalar: TensorScalar>: @unchecked Sendable {
  /// The elements: the caller's, or this object's copy after ``detach()``.
  @usableFromInline private(set) var elements: UnsafeBufferPointer<Scalar>
  private var copy: UnsafeMutableBufferPointer<Scalar>? = nil

  init(_ elements: UnsafeBufferPointer<Scalar>) { self.elements = elements }

  /// Copies the elements into memory of its own and reads them from there.
  /// Called when the closure returns, while no other code reads them.
  func detach() {
    let own = UnsafeMutableBufferPointer<Scalar>.allocate(capacity: elements.count)
    _ = own.initialize(from: elements)
    copy = own
    elements = UnsafeBufferPointer(own)
  }

  deinit {
    if let copy {
      copy.deinitialize()
      copy.deallocate()
    }
  }
}

/// The storage of a tensor: one case per element type.
@usableFromInline
enum TensorStorage: Sendable {
  case float32(TensorBuffer<Float>)
  case float64(TensorBuffer<Double>)
  case int(TensorBuffer<Int>)
  case int32(TensorBuffer<Int32>)
  case int64(TensorBuffer<Int64>)
  case uint8(TensorBuffer<UInt8>)
  case bool(TensorBuffer<Bool>)

  @inlinable
  var count: Int {
    switch self {
    case .float32(let b): b.count
    case .float64(let b): b.count
    case .int(let b): b.count
    case .int32(let b): b.count
    case .int64(let b): b.count
    case .uint8(let b): b.count
    case .bool(let b): b.count
    }
  }

  @inlinable
  static func wrap<T: TensorScalar>(_ buffer: TensorBuffer<T>) -> TensorStorage {
    // `T.dtype` identifies `T` exactly, so each bit cast is between a type
    // and itself.
    switch T.dtype {
    case .float32: .float32(unsafeBitCast(buffer, to: TensorBuffer<Float>.self))
    case .float64: .float64(unsafeBitCast(buffer, to: TensorBuffer<Double>.self))
    case .int: .int(unsafeBitCast(buffer, to: TensorBuffer<Int>.self))
    case .int32: .int32(unsafeBitCast(buffer, to: TensorBuffer<Int32>.self))
    case .int64: .int64(unsafeBitCast(buffer, to: TensorBuffer<Int64>.self))
    case .uint8: .uint8(unsafeBitCast(buffer, to: TensorBuffer<UInt8>.self))
    case .bool: .bool(unsafeBitCast(buffer, to: TensorBuffer<Bool>.self))
    }
  }
}

/// A shaped, row-major array of `Float`, `Double`, `Int`, `Int32`, `Int64`,
/// `UInt8` or `Bool`: the `y_true`, `y_pred` and `sample_weight` of a metric
/// update.
///
/// A tensor of any rank is built from nested Swift arrays, validating that
/// the nesting is rectangular:
///
/// ```swift
/// let yPred = try Tensor([[0.1, 0.9], [0.8, 0.2]])
/// yPred.shape   // [2, 2]
/// ```
///
/// or from contiguous memory and a shape, **without copying**: an `Array` is
/// shared copy-on-write,
///
/// ```swift
/// let big = [Float](repeating: 0.5, count: 25_000_000)   // 100 MB
/// let t = try Tensor(big, shape: [5_000_000, 5])          // no copy
/// t.shape   // [5000000, 5]
/// ```
///
/// and memory the caller owns is lent for the duration of a closure with
/// `withBorrowed(_:shape:_:)`.
///
/// A tensor's shape is fixed and checked on construction: every dimension is
/// non-negative and the product of the dimensions is the element count.
/// `reshaped(_:)` returns a view with another shape over the same elements.
///
/// Keras: the role of the NumPy arrays and backend tensors that
/// `update_state` receives.
public struct Tensor: Sendable {
  /// The dimensions, outermost first (the first is the sample axis).
  public let shape: [Int]
  @usableFromInline let storage: TensorStorage

  @inlinable
  init(uncheckedShape shape: [Int], storage: TensorStorage) {
    self.shape = shape
    self.storage = storage
  }

  /// The element type.
  public var dtype: DType {
    switch storage {
    case .float32: .float32
    case .float64: .float64
    case .int: .int
    case .int32: .int32
    case .int64: .int64
    case .uint8: .uint8
    case .bool: .bool
    }
  }

  /// The number of dimensions (0 for a scalar).
  @inlinable public var rank: Int { shape.count }

  /// The number of elements (the product of the dimensions; 1 for a scalar).
  @inlinable public var count: Int { storage.count }

  /// A rank-0 tensor holding one value.
  public init<T: TensorScalar>(_ scalar: T) {
    self.init(uncheckedShape: [], storage: .wrap(TensorBuffer.owned([scalar])))
  }

  /// A rank-1 tensor sharing `scalars` (no copy).
  public init<T: TensorScalar>(_ scalars: [T]) {
    self.init(uncheckedShape: [scalars.count], storage: .wrap(TensorBuffer.owned(scalars)))
  }

  /// A tensor of the given shape sharing `scalars` (no copy).
  ///
  /// - Throws: ``MetricError/invalidShape(_:)`` if a dimension is negative or
  ///   the element count is not the product of the dimensions.
  public init<T: TensorScalar>(_ scalars: [T], shape: [Int]) throws(MetricError) {
    try Tensor.validate(shape: shape, count: scalars.count)
    self.init(uncheckedShape: shape, storage: .wrap(TensorBuffer.owned(scalars)))
  }

  /// A tensor of the given shape over memory that `owner` keeps valid (no
  /// copy).
  ///
  /// The tensor, its copies and its views (``reshaped(_:)``) hold `owner`,
  /// so the memory stays valid for as long as any of them can read it. The
  /// memory must stay unchanged while `owner` lives. Internal: the one user
  /// is ``MappedNPY/rows(_:)``, whose owner is the file mapping.
  ///
  /// - Throws: ``MetricError/invalidShape(_:)`` if the shape does not match
  ///   the buffer's element count.
  init<T: TensorScalar>(
    borrowing buffer: UnsafeBufferPointer<T>, shape: [Int], owner: AnyObject
  ) throws(MetricError) {
    try Tensor.validate(shape: shape, count: buffer.count)
    self.init(uncheckedShape: shape, storage: .wrap(TensorBuffer.borrowed(buffer, owner: owner)))
  }

  /// A tensor from nested arrays, of any depth: `[[0.1, 0.9], [0.8, 0.2]]`.
  ///
  /// - Throws: ``MetricError/invalidShape(_:)`` if the nesting is ragged
  ///   (rows of different lengths).
  public init<C: TensorConvertible>(_ nested: C) throws(MetricError) {
    var shape = [Int](repeating: -1, count: C.nestingDepth)
    var scalars: [C.Scalar] = []
    try nested.appendScalars(depth: 0, shape: &shape, into: &scalars)
    // Dimensions under an empty array were never seen: they are 0.
    for i in shape.indices where shape[i] < 0 { shape[i] = 0 }
    self.init(uncheckedShape: shape, storage: .wrap(TensorBuffer.owned(scalars)))
  }

  /// The same elements viewed with another shape (no copy).
  ///
  /// - Throws: ``MetricError/invalidShape(_:)`` if the element counts differ.
  public func reshaped(_ newShape: [Int]) throws(MetricError) -> Tensor {
    try Tensor.validate(shape: newShape, count: count)
    return Tensor(uncheckedShape: newShape, storage: storage)
  }

  @usableFromInline
  static func validate(shape: [Int], count: Int) throws(MetricError) {
    var product = 1
    for d in shape {
      guard d >= 0 else {
        throw .invalidShape("dimensions must be non-negative; received shape \(describe(shape))")
      }
      let (p, overflow) = product.multipliedReportingOverflow(by: d)
      guard !overflow else {
        throw .invalidShape("shape \(describe(shape)) has too many elements")
      }
      product = p
    }
    guard product == count else {
      throw .invalidShape(
        "shape \(describe(shape)) holds \(product) elements; received \(count) elements")
    }
  }
}

//===--- Borrowing memory -------------------------------------------------===//

extension Tensor {
  /// Calls `body` with a tensor of the given shape over `buffer`, without
  /// copying it; the tensor is valid only inside `body`.
  ///
  /// The tensor reads the caller's memory in place, so a batch that already
  /// sits in a buffer (a memory-mapped file, another library's array, a
  /// slice of a larger buffer) goes to metrics with no copy:
  ///
  /// ```swift
  /// var m = Mean()
  /// let values: [Float] = [1, 2, 3, 4, 5, 6]
  /// try values.withUnsafeBufferPointer { p in
  ///   try Tensor.withBorrowed(p, shape: [3, 2]) { t in
  ///     try m.update(t)              // reads `values` in place
  ///   }
  /// }
  /// m.result()                       // .scalar(3.5)
  /// ```
  ///
  /// Neither the tensor nor a copy or view of it (``reshaped(_:)``) may be
  /// used after `body` returns: do not store it, return it, or capture it in
  /// a closure that runs later. Metrics never keep a tensor past `update`
  /// (what they keep, such as ``ExactAUC``'s score histogram, is copied out
  /// of it), so updating metrics inside `body` is safe. To keep the values,
  /// copy them: `try Tensor(t.doubles(), shape: t.shape)`. The tensor is a
  /// view, not a copy: a write to the memory while `body` runs is seen by
  /// the tensor, and must not happen while a metric is reading it.
  ///
  /// Leaving the scope is checked: if a tensor over `buffer` is still alive
  /// when `body` returns (or throws), its elements are copied at that moment
  /// into memory the tensor owns, so it never reads memory that may since
  /// have been freed (it then holds the values `buffer` had when `body`
  /// returned). Escaping is still a mistake: it costs a copy, and a tensor
  /// handed to another thread that reads it while `body` returns races with
  /// that copy.
  ///
  /// There is no escaping form (a `Tensor(borrowing:shape:)` that returns
  /// the tensor), because a tensor cannot know when memory it does not own is
  /// freed: such a tensor could outlive the buffer and read freed memory,
  /// undefined behaviour reachable from the public API. The scope makes the
  /// valid region visible in the source and checkable. Data that must
  /// outlive a scope is shared without a copy by ``init(_:shape:)`` (an
  /// `Array`), and rows of a memory-mapped `.npy` file by
  /// ``MappedNPY/rows(_:)``, whose tensors keep the mapping alive.
  ///
  /// - Parameters:
  ///   - buffer: The elements, row-major.
  ///   - shape: The dimensions; their product must be `buffer.count`.
  ///   - body: The code that uses the tensor. A closure declared
  ///     `{ t throws(MetricError) in … }`, or one that does not throw, uses
  ///     this typed form; any other throwing closure (an unannotated
  ///     `{ t in try … }` too, which Swift reads as throwing `any Error`)
  ///     uses the untyped overload.
  /// - Returns: What `body` returns.
  /// - Throws: ``MetricError/invalidShape(_:)`` if the shape does not match
  ///   the buffer's element count (then `body` is not called); otherwise what
  ///   `body` throws.
  /// - Complexity: O(rank of `shape`) besides `body`: nothing is copied.
  public static func withBorrowed<T: TensorScalar, R>(
    _ buffer: UnsafeBufferPointer<T>, shape: [Int],
    _ body: (Tensor) throws(MetricError) -> R
  ) throws(MetricError) -> R {
    try lend(buffer, shape: shape) { t in Result { () throws(MetricError) in try body(t) } }.get()
  }

  /// `withBorrowed(_:shape:_:)` for a `body` that throws errors other
  /// than ``MetricError``: the same scope and rules, untyped errors.
  ///
  /// - Throws: ``MetricError/invalidShape(_:)`` if the shape does not match
  ///   the buffer's element count (then `body` is not called); otherwise what
  ///   `body` throws.
  public static func withBorrowed<T: TensorScalar, R>(
    _ buffer: UnsafeBufferPointer<T>, shape: [Int],
    _ body: (Tensor) throws -> R
  ) throws -> R {
    try lend(buffer, shape: shape) { t in Result { try body(t) } }.get()
  }

  /// The scope of both forms of `withBorrowed(_:shape:_:)`: `body` gets
  /// the only tensor made over `buffer`, and none may be left on return.
  static func lend<T: TensorScalar, R>(
    _ buffer: UnsafeBufferPointer<T>, shape: [Int], _ body: (Tensor) -> R
  ) throws(MetricError) -> R {
    try Tensor.validate(shape: shape, count: buffer.count)
    // Every tensor over `buffer` (copies, views) holds `lent`: it is
    // uniquely referenced again exactly when none is left.
    var lent = LentElements(buffer)
    let result = body(Tensor(uncheckedShape: shape, storage: .wrap(TensorBuffer.lent(lent))))
    if !isKnownUniquelyReferenced(&lent) { lent.detach() }
    return result
  }
}

//===--- Reading elements -------------------------------------------------===//

extension Tensor {
  /// Calls `body` with the elements as contiguous `Double`s.
  ///
  /// A `float64` tensor is passed as it is; other types are converted into a
  /// temporary buffer first.
  @inlinable
  public func withDoubles<R, E: Error>(
    _ body: (UnsafeBufferPointer<Double>) throws(E) -> R
  ) throws(E) -> R {
    if case .float64(let b) = storage {
      return try b.withUnsafeBufferPointer(body)
    }
    let converted = doubles()
    let r: Result<R, E> = converted.withUnsafeBufferPointer { p in
      do throws(E) { return .success(try body(p)) } catch { return .failure(error) }
    }
    return try r.get()
  }

  /// The elements, row-major, as `Double`s (`true` is 1, `false` is 0).
  @inlinable
  public func doubles() -> [Double] {
    switch storage {
    case .float32(let b): b.withUnsafeBufferPointer { $0.map(Double.init) }
    case .float64(let b):
      // An owned array is shared (copy-on-write), not copied.
      if case .owned(let a) = b { a } else { b.withUnsafeBufferPointer { Array($0) } }
    case .int(let b): b.withUnsafeBufferPointer { $0.map(Double.init) }
    case .int32(let b): b.withUnsafeBufferPointer { $0.map(Double.init) }
    case .int64(let b): b.withUnsafeBufferPointer { $0.map(Double.init) }
    case .uint8(let b): b.withUnsafeBufferPointer { $0.map(Double.init) }
    case .bool(let b): b.withUnsafeBufferPointer { $0.map { $0 ? 1 : 0 } }
    }
  }

  /// The elements if the tensor holds `T`, else `nil`.
  public func scalars<T: TensorScalar>(as type: T.Type) -> [T]? {
    guard T.dtype == dtype else { return nil }
    switch storage {
    case .float32(let b): return b.withUnsafeBufferPointer { Array($0) } as? [T]
    case .float64(let b): return b.withUnsafeBufferPointer { Array($0) } as? [T]
    case .int(let b): return b.withUnsafeBufferPointer { Array($0) } as? [T]
    case .int32(let b): return b.withUnsafeBufferPointer { Array($0) } as? [T]
    case .int64(let b): return b.withUnsafeBufferPointer { Array($0) } as? [T]
    case .uint8(let b): return b.withUnsafeBufferPointer { Array($0) } as? [T]
    case .bool(let b): return b.withUnsafeBufferPointer { Array($0) } as? [T]
    }
  }

  /// A `float64` tensor of the given shape; `values.count` must match.
  @usableFromInline
  static func float64(_ values: [Double], shape: [Int]) -> Tensor {
    precondition(shape.reduce(1, *) == values.count, "internal: shape/count mismatch")
    return Tensor(uncheckedShape: shape, storage: .float64(.owned(values)))
  }
}

extension Tensor: CustomStringConvertible {
  /// The dtype, shape and first elements.
  public var description: String {
    let values = doubles()
    let shown = values.prefix(8).map { dtype.isFloatingPoint ? "\($0)" : "\(Int64($0))" }
    let more = values.count > 8 ? ", …" : ""
    return "Tensor(\(dtype.rawValue), shape: \(describe(shape)), [\(shown.joined(separator: ", "))\(more)])"
  }
}

//===--- Nested arrays ----------------------------------------------------===//

/// A value that converts to a ``Tensor``: a scalar, or an array of arrays of
/// any depth whose innermost elements are ``TensorScalar``s.
///
/// Metrics accept such values directly:
/// `try m.update(yTrue: [[0, 1], [1, 0]], yPred: [[0.1, 0.9], [0.8, 0.2]])`.
public protocol TensorConvertible {
  /// The innermost element type.
  associatedtype Scalar: TensorScalar
  /// The rank of the tensor this value makes (0 for a scalar).
  static var nestingDepth: Int { get }
  /// Appends the elements in row-major order, recording and checking the
  /// dimensions in `shape` (unseen dimensions are -1).
  func appendScalars(depth: Int, shape: inout [Int], into scalars: inout [Scalar])
    throws(MetricError)
}

extension TensorScalar {
  public static var nestingDepth: Int { 0 }
  public func appendScalars(depth: Int, shape: inout [Int], into scalars: inout [Self])
    throws(MetricError)
  {
    scalars.append(self)
  }
}

extension Array: TensorConvertible where Element: TensorConvertible {
  public typealias Scalar = Element.Scalar
  public static var nestingDepth: Int { Element.nestingDepth + 1 }
  public func appendScalars(depth: Int, shape: inout [Int], into scalars: inout [Scalar])
    throws(MetricError)
  {
    if shape[depth] < 0 {
      shape[depth] = count
    } else if shape[depth] != count {
      throw .invalidShape(
        "nested arrays are ragged: dimension \(depth) has length \(shape[depth]) and \(count)")
    }
    for element in self {
      try element.appendScalars(depth: depth + 1, shape: &shape, into: &scalars)
    }
  }
}
