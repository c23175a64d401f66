//===--- Rows.swift -------------------------------------------------------===//
//
// Which rows of a dataset a batch holds: the global row indices that make a
// bootstrap replicate's weights independent of batching and sharding, and
// gathering a batch's rows (a slice's share of a batch).
//
//===----------------------------------------------------------------------===//

/// The global indices (positions in the whole dataset) of a batch's rows.
///
/// A bootstrap replicate's weight for a row is a function of the row's
/// global index, so a batch must say which rows it holds: consecutive rows
/// from a first index (the usual case, and what `tally evaluate
/// --row-offset` gives), or listed rows (a slice's share of a batch).
///
/// ```swift
/// let rows = RowIndices.contiguous(first: 1_000, count: 3)
/// rows.count   // 3
/// rows[2]      // 1002
/// ```
public enum RowIndices: Sendable, Equatable {
  /// `count` consecutive rows, the first at global index `first`.
  case contiguous(first: Int64, count: Int)
  /// The listed rows, in batch order.
  case listed([Int64])

  /// The number of rows.
  public var count: Int {
    switch self {
    case .contiguous(_, let n): n
    case .listed(let rows): rows.count
    }
  }

  /// The global index of the batch's `i`-th row.
  public subscript(i: Int) -> Int64 {
    switch self {
    case .contiguous(let first, _): first &+ Int64(i)
    case .listed(let rows): rows[i]
    }
  }

  /// One past the largest index (0 for no rows).
  var end: Int64 {
    switch self {
    case .contiguous(let first, let n): n == 0 ? 0 : first &+ Int64(n)
    case .listed(let rows): (rows.max() ?? -1) &+ 1
    }
  }

  /// The rows at the given batch positions.
  func picking(_ positions: ArraySlice<Int32>) -> RowIndices {
    .listed(positions.map { self[Int($0)] })
  }

  /// Checks that the indices are non-negative and that `first + count`
  /// does not overflow.
  func validated(batchRows n: Int, metric: String) throws(MetricError) -> RowIndices {
    guard count == n else {
      throw .shapeMismatch("\(metric): the batch has \(n) rows; received \(count) row indices")
    }
    switch self {
    case .contiguous(let first, let k):
      guard first >= 0, Int64.max - first >= Int64(k) else {
        throw .invalidValue("\(metric): row indices must lie in 0...\(Int64.max); received first row \(first)")
      }
    case .listed(let rows):
      if let bad = rows.first(where: { $0 < 0 }) {
        throw .invalidValue("\(metric): row indices must be non-negative; received \(bad)")
      }
    }
    return self
  }
}

/// The number of rows (first-axis entries) of a batch: 1 for a scalar.
func batchRows(_ t: Tensor) -> Int { t.shape.first ?? 1 }

/// Rank-1 labels and predictions of a metric that averages an element-wise
/// error over the last axis (`mse`, `mae`, ...), read as `(rows, 1)`: Keras
/// reads a rank-1 array as one sample of that many elements, which has the
/// same value, but a bootstrap or a slice needs the rows as samples (as
/// `tally evaluate` reads rank-1 files).
func rowsAsSamples<M: Metric>(_ yTrue: Tensor, _ yPred: Tensor, of metric: M) -> (Tensor, Tensor) {
  guard yTrue.rank == 1, yPred.rank == 1, yTrue.count == yPred.count,
    MetricRegistry.declaration(for: M.className)?.input == .elementwise,
    let t = try? yTrue.reshaped([yTrue.count, 1]), let p = try? yPred.reshaped([yPred.count, 1])
  else { return (yTrue, yPred) }
  return (t, p)
}

extension Tensor {
  /// The rows (first-axis entries) at `positions`, in that order, copied.
  /// A rank-0 tensor is one row.
  func gatheringRows(_ positions: ArraySlice<Int32>) -> Tensor {
    let rowLength = rank == 0 ? 1 : (shape[0] == 0 ? 0 : count / shape[0])
    let newShape = rank == 0 ? [positions.count] : [positions.count] + shape.dropFirst()
    func gather<T: TensorScalar>(_ b: TensorBuffer<T>) -> TensorStorage {
      b.withUnsafeBufferPointer { src in
        var out: [T] = []
        out.reserveCapacity(positions.count * rowLength)
        if rowLength == 1 {
          for p in positions { out.append(src[Int(p)]) }
        } else {
          for p in positions {
            let start = Int(p) * rowLength
            out.append(contentsOf: src[start..<start + rowLength])
          }
        }
        return .wrap(TensorBuffer.owned(out))
      }
    }
    let s: TensorStorage =
      switch storage {
      case .float32(let b): gather(b)
      case .float64(let b): gather(b)
      case .int(let b): gather(b)
      case .int32(let b): gather(b)
      case .int64(let b): gather(b)
      case .uint8(let b): gather(b)
      case .bool(let b): gather(b)
      }
    return Tensor(uncheckedShape: newShape, storage: s)
  }
}

/// A sample weight read row by row: one entry (or one block of entries) per
/// row along the first axis, or a scalar for every row. Slices and bootstrap
/// replicates weight rows, so they accept no other broadcast.
struct RowWeights {
  /// The weights, `perRow` per row (a scalar repeated once per row).
  let values: [Double]
  /// The weight's shape (`[rows]` for a scalar).
  let shape: [Int]
  let perRow: Int

  /// `nil` without a weight.
  ///
  /// - Throws: ``MetricError/invalidWeights(_:)`` for a non-finite weight or
  ///   another shape, naming `use` (`"slicing"`, `"a bootstrap"`).
  init?(_ w: Tensor?, rows n: Int, metric: String, use: String) throws(MetricError) {
    guard let w else { return nil }
    let values = try SampleWeights.checked(w)
    if w.rank == 0 {
      (self.values, shape, perRow) = ([Double](repeating: values[0], count: n), [n], 1)
      return
    }
    guard w.shape[0] == n, n > 0 else {
      throw .invalidWeights(
        "\(metric): \(use) needs sample_weight with one entry per row (first axis \(n)) or a scalar; received shape \(describe(w.shape))"
      )
    }
    (self.values, shape, perRow) = (values, w.shape, values.count / n)
  }

  /// Each row's total weight.
  var sums: [Double] {
    perRow == 1
      ? values : (0..<(values.count / perRow)).map { i in values[(i * perRow)..<((i + 1) * perRow)].reduce(0, +) }
  }
}
