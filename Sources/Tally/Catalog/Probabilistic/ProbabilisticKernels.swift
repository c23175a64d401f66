//===--- ProbabilisticKernels.swift ---------------------------------------===//
//
// The probabilistic family's fast path: sparse categorical cross-entropy
// over rows of float32 probabilities, one pass per row, split across cores.
//
//===----------------------------------------------------------------------===//

import RealModule

/// The sum of a row of floats, vectorised (16 lanes, then the tail).
@inline(__always)
func rowSum(_ row: SharedBuffer<Float>) -> Float {
  let c = row.count
  var j = 0
  var acc = SIMD16<Float>(repeating: 0)
  while j + 16 <= c {
    acc += row.load(SIMD16<Float>.self, at: j)
    j += 16
  }
  var s = acc.sum()
  while j < c {
    s += row[j]
    j += 1
  }
  return s
}

/// The mean state of an unweighted sparse categorical cross-entropy batch
/// of `(N, C)` float32 probabilities (class axis last, no ignored class):
/// `−log(clip(p[y] / Σp))` per row in one pass over the row, or `nil`.
func sparseCrossentropyState(yTrue: Tensor, yPred: Tensor, sampleWeight: Tensor?) throws(MetricError)
  -> MeanState?
{
  guard sampleWeight == nil, yPred.dtype == .float32, let layout = ClassRows(yTrue: yTrue, yPred: yPred) else {
    return nil
  }
  let c = layout.classes
  guard
    let (parts, bad) = layout.map(
      yTrue: yTrue, yPred: yPred, truncatingLabels: true,
      { f, _, ids, r -> CompensatedSum in
        var total = CompensatedSum()
        guard let f else { return total }
        let lo = Double(Float(kerasEpsilon))
        let hi = Double(Float(1 - kerasEpsilon))
        for row in r {
          let p = f[(row * c)..<(row * c + c)]
          let q = Double(p[ids[row]]) / Double(rowSum(p))
          total.add(-Double.log(Swift.min(Swift.max(q, lo), hi)))
        }
        return total
      })
  else { return nil }
  if let bad {
    throw .invalidValue(
      "sparse_categorical_crossentropy: class ids must be in [0, \(c)); received \(yTrue.doubles()[bad]) at flat index \(bad)"
    )
  }
  var s = MeanState()
  for part in parts { s.total.merge(part) }
  s.count = Int64(layout.rows)
  return s
}
