// The tensor (Tensor.swift): construction, element types, shapes, shared and borrowed storage, map.

import Tally
import Testing

@Suite struct TensorTests {
  @Test func nestedArraysGiveShapeAndDType() throws {
    let t = try Tensor([[0.1, 0.9], [0.8, 0.2], [0.5, 0.5]])
    #expect(t.shape == [3, 2])
    #expect(t.dtype == .float64)
    #expect(t.doubles() == [0.1, 0.9, 0.8, 0.2, 0.5, 0.5])
    let t3 = try Tensor([[[1, 2, 3]], [[4, 5, 6]]])
    #expect(t3.shape == [2, 1, 3])
    #expect(t3.dtype == .int)
    #expect(Tensor(Float(2.5)).shape == [])
  }

  @Test func everyElementType() throws {
    #expect(try Tensor([[Float(1.5)]]).dtype == .float32)
    #expect(Tensor([Int32(3)]).dtype == .int32)
    #expect(Tensor([Int64(-4)]).doubles() == [-4])
    #expect(Tensor([UInt8(255)]).doubles() == [255])
    #expect(try Tensor([[true, false]]).doubles() == [1, 0])
    #expect(Tensor([true]).dtype == .bool)
    #expect(DType.int.numpyName == "int64")
  }

  @Test func raggedNestingThrows() {
    #expect(throws: MetricError.self) { try Tensor([[1.0, 2.0], [3.0]]) }
    do {
      _ = try Tensor([[1.0, 2.0], [3.0]])
    } catch {
      #expect(error.message.contains("ragged"))
    }
  }

  @Test func shapeIsValidatedOnConstruction() {
    #expect(throws: MetricError.invalidShape("shape [2, 3] holds 6 elements; received 5 elements")) {
      try Tensor([1.0, 2, 3, 4, 5], shape: [2, 3])
    }
    #expect(throws: MetricError.self) { try Tensor([1.0], shape: [-1]) }
    #expect(throws: MetricError.self) { try Tensor([1.0, 2], shape: [1]).reshaped([3]) }
  }

  @Test func emptyNestedArrays() throws {
    let t = try Tensor([[Double]]())
    #expect(t.shape == [0, 0])
    #expect(t.count == 0)
  }

  @Test func arraysAreSharedNotCopied() throws {
    let big = [Double](repeating: 0.25, count: 1_000_000)
    let t = try Tensor(big, shape: [250_000, 4])
    let arrayAddress = big.withUnsafeBufferPointer { $0.baseAddress }
    let tensorAddress = t.withDoubles { $0.baseAddress }
    #expect(arrayAddress == tensorAddress)
  }

  @Test func borrowedBuffersAreReadInPlace() throws {
    var storage: [Float] = [1, 2, 3, 4, 5, 6]
    try storage.withUnsafeMutableBufferPointer { p in
      try Tensor.withBorrowed(UnsafeBufferPointer(p), shape: [3, 2]) { t throws(MetricError) in
        #expect(t.shape == [3, 2])
        p[0] = 10  // the tensor sees the caller's memory, not a copy
        #expect(t.doubles().first == 10)
        var m = Mean()
        try m.update(t)
        #expect(m.result() == .scalar((10 + 2 + 3 + 4 + 5 + 6) / 6))
      }
    }
    #expect(throws: MetricError.self) {
      try storage.withUnsafeBufferPointer { try Tensor.withBorrowed($0, shape: [4]) { _ in } }
    }
  }

  /// The doc comment's example.
  @Test func withBorrowedExample() throws {
    var m = Mean()
    let values: [Float] = [1, 2, 3, 4, 5, 6]
    try values.withUnsafeBufferPointer { p in
      try Tensor.withBorrowed(p, shape: [3, 2]) { t in
        try m.update(t)
      }
    }
    #expect(m.result() == .scalar(3.5))
  }

  /// Inside the scope the tensor (and a view of it) reads the caller's
  /// memory itself: the same address, no copy.
  @Test func withBorrowedSharesTheCallersMemory() throws {
    let values: [Double] = [1, 2, 3, 4, 5, 6]
    var m = Mean()
    let calls = try values.withUnsafeBufferPointer { p in
      try Tensor.withBorrowed(p, shape: [3, 2]) { t throws(MetricError) -> Int in
        #expect(t.shape == [3, 2] && t.dtype == .float64)
        #expect(t.withDoubles { $0.baseAddress } == p.baseAddress)
        #expect(try t.reshaped([6]).withDoubles { $0.baseAddress } == p.baseAddress)
        try m.update(t)
        return 1
      }
    }
    #expect(calls == 1)
    #expect(m.result() == .scalar(3.5))
    // A slice of a larger buffer is lent in place as well.
    try values.withUnsafeBufferPointer { p in
      let rows = UnsafeBufferPointer(rebasing: p[2..<6])
      try Tensor.withBorrowed(rows, shape: [2, 2]) { t throws(MetricError) in
        #expect(t.withDoubles { $0.baseAddress } == p.baseAddress! + 2)
        #expect(t.doubles() == [3, 4, 5, 6])
      }
    }
  }

  /// A shape that does not fit is reported before `body` runs; what `body`
  /// throws comes out as it is.
  @Test func withBorrowedErrors() {
    let values: [Int32] = [1, 2, 3]
    var called = false
    #expect(throws: MetricError.invalidShape("shape [2, 2] holds 4 elements; received 3 elements")) {
      try values.withUnsafeBufferPointer { p in
        try Tensor.withBorrowed(p, shape: [2, 2]) { _ in called = true }
      }
    }
    #expect(!called)
    #expect(throws: MetricError.invalidShape("received shapes [3] and [2]")) {
      try values.withUnsafeBufferPointer { p in
        try Tensor.withBorrowed(p, shape: [3]) { _ throws(MetricError) in
          throw .invalidShape("received shapes [3] and [2]")
        }
      }
    }
    // A body with untyped errors uses the untyped form; its error comes out
    // as it is.
    struct Stop: Error, Equatable {}
    #expect(throws: Stop()) {
      try values.withUnsafeBufferPointer { p in
        try Tensor.withBorrowed(p, shape: [3]) { _ in throw Stop() }
      }
    }
    #expect(throws: MetricError.self) {
      try values.withUnsafeBufferPointer { p in
        try Tensor.withBorrowed(p, shape: [4]) { _ in throw Stop() }
      }
    }
  }

  /// A tensor that escapes the scope stops the program instead of reading
  /// memory that may have been freed.
  /// A tensor that escapes `withBorrowed` is moved to a copy when the
  /// closure returns: it keeps the values, and no longer reads the caller's
  /// memory (which the test then overwrites and frees).
  @Test func anEscapedTensorKeepsACopy() throws {
    let p = UnsafeMutableBufferPointer<Double>.allocate(capacity: 3)
    _ = p.initialize(from: [1, 2, 3])
    let escaped = try Tensor.withBorrowed(UnsafeBufferPointer(p), shape: [3]) { t throws(MetricError) in
      try t.reshaped([3, 1])
    }
    p[0] = 99
    p.deallocate()
    #expect(escaped.doubles() == [1, 2, 3])
    #expect(escaped.shape == [3, 1])
    var m = Mean()
    try m.update(escaped)
    #expect(m.result() == .scalar(2))
  }

  @Test func reshapeIsAView() throws {
    let t = try Tensor([1.0, 2, 3, 4, 5, 6], shape: [6]).reshaped([2, 3])
    #expect(t.shape == [2, 3])
    #expect(t.doubles() == [1, 2, 3, 4, 5, 6])
    #expect(t.scalars(as: Double.self) == [1, 2, 3, 4, 5, 6])
    #expect(t.scalars(as: Float.self) == nil)
  }

  @Test func elementwiseMapBroadcasts() throws {
    let t = try Tensor.map([[1.0], [2.0]], [10.0, 20.0, 30.0]) { $0 * $1 }
    #expect(t.shape == [2, 3])
    #expect(t.doubles() == [10, 20, 30, 20, 40, 60])
    #expect(throws: MetricError.self) { try Tensor.map([1.0, 2.0], [1.0, 2.0, 3.0]) { $0 + $1 } }
  }
}
