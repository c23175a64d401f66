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
/// never copied) or memory the caller lends for the lifetime of the tensor.
@usableFromInline
enum TensorBuffer<Scalar: TensorScalar>: @unchecked Sendable {
  case owned([Scalar])
  case borrowed(UnsafeBufferPointer<Scalar>)

  @inlinable
  var count: Int {
    switch self {
    case .owned(let a): a.count
    case .borrowed(let b): b.count
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
    case .borrowed(let b):
      return try body(b)
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
/// let yPred = try Tensor([[0.1, 0.9], [0.8, 0.2]])   // shape [2, 2], float64
/// ```
///
/// or from contiguous memory and a shape, **without copying**: an `Array` is
/// shared copy-on-write, and an `UnsafeBufferPointer` is borrowed (the caller
/// keeps the memory alive while the tensor is in use):
///
/// ```swift
/// let big = [Float](repeating: 0.5, count: 25_000_000)   // 100 MB
/// let t = try Tensor(big, shape: [5_000_000, 5])          // no copy
/// ```
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

  /// A tensor of the given shape over memory the caller owns (no copy).
  ///
  /// The tensor reads `buffer` whenever it is used: the memory must stay
  /// valid and unchanged for as long as the tensor (or a copy of it, or a
  /// view made by ``reshaped(_:)``) is in use. Metrics never keep a tensor
  /// after `update` returns, so lending a buffer for one update is safe.
  ///
  /// - Throws: ``MetricError/invalidShape(_:)`` if the shape does not match
  ///   the buffer's element count.
  public init<T: TensorScalar>(
    borrowing buffer: UnsafeBufferPointer<T>, shape: [Int]
  ) throws(MetricError) {
    try Tensor.validate(shape: shape, count: buffer.count)
    self.init(uncheckedShape: shape, storage: .wrap(TensorBuffer.borrowed(buffer)))
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
