//===--- IoUKernels.swift -------------------------------------------------===//
//
// The IoU family's fast path: the confusion matrix of an unweighted batch
// of sparse class ids, counted in place across cores.
//
//===----------------------------------------------------------------------===//

/// Counts of `(true, predicted)` pairs of class ids over flat buffers, or the
/// first pair outside `[0, C)` (pairs whose true id is `ignore` are skipped).
func pairCounts<T: TensorScalar, P: TensorScalar>(
  _ t: SharedBuffer<T>, _ p: SharedBuffer<P>, classes c: Int, ignore: Int?
) -> (counts: [Int], bad: Int?) {
  let parts = parallelMap(t.count) { r -> ([Int], Int?) in
    var counts = [Int](repeating: 0, count: c * c)
    let limit = Double(c)
    let ignored = ignore.map(Double.init) ?? .nan
    var bad: Int? = nil
    counts.withUnsafeMutableBufferPointer { counts in
      for i in r {
        let a = t[i].doubleValue.rounded(.towardZero)
        if a == ignored { continue }
        let b = p[i].doubleValue.rounded(.towardZero)
        guard a >= 0, a < limit, b >= 0, b < limit else {
          bad = i
          return
        }
        counts[Int(a) &* c &+ Int(b)] &+= 1
      }
    }
    return (counts, bad)
  }
  var total = [Int](repeating: 0, count: c * c)
  for (counts, bad) in parts {
    if let bad { return (total, bad) }
    for k in total.indices { total[k] &+= counts[k] }
  }
  return (total, nil)
}

extension IoUCore {
  /// An unweighted batch of sparse class ids, counted in place across
  /// cores; `nil` for the general path.
  func fastBatch(yTrue: Tensor, yPred: Tensor, sampleWeight: Tensor?) throws(MetricError) -> ConfusionMatrixState? {
    guard sampleWeight == nil, threshold == nil, sparseYTrue, sparseYPred, yTrue.count == yPred.count,
      yTrue.count > 0
    else { return nil }
    let result = yTrue.visitElements(
      TruthCounts(yPred: yPred, classes: numClasses, ignore: ignoreClass))
    if let i = result.bad {
      throw .invalidValue(
        "\(className): class ids must be in [0, \(numClasses)); received y_true \(yTrue.doubles()[i].rounded(.towardZero)) and y_pred \(yPred.doubles()[i].rounded(.towardZero)) at flat index \(i)"
      )
    }
    var m = ConfusionMatrixState(classes: numClasses)
    for t in 0..<numClasses {
      for p in 0..<numClasses where result.counts[t * numClasses + p] != 0 {
        m.add(true: t, predicted: p, weight: Double(result.counts[t * numClasses + p]))
      }
    }
    return m
  }
}

/// ``pairCounts(_:_:classes:ignore:)`` of true ids of any element type
/// against predicted ids of any element type.
struct TruthCounts: ElementVisitor {
  let yPred: Tensor
  let classes: Int
  let ignore: Int?

  func visit<T: TensorScalar>(_ truth: SharedBuffer<T>) -> (counts: [Int], bad: Int?) {
    yPred.visitElements(PredictionCounts(truth: truth, classes: classes, ignore: ignore))
  }
}

/// ``pairCounts(_:_:classes:ignore:)`` of given true ids against predicted
/// ids of any element type.
struct PredictionCounts<T: TensorScalar>: ElementVisitor {
  let truth: SharedBuffer<T>
  let classes: Int
  let ignore: Int?

  func visit<P: TensorScalar>(_ pred: SharedBuffer<P>) -> (counts: [Int], bad: Int?) {
    pairCounts(truth, pred, classes: classes, ignore: ignore)
  }
}
