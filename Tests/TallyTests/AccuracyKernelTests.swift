// The accuracy kernels (AccuracyKernels.swift): the fast paths against full scans and the general path.

import Foundation
import Testing

@testable import Tally

/// The accuracy kernels (AccuracyKernels.swift): the argmax and top-k
/// checks without an argmax count what full scans count.
@Suite struct AccuracyKernelTests {
  /// NumPy's argmax over float32 (first maximum; the first NaN wins).
  static func numpyArgmax(_ row: ArraySlice<Float>) -> Int {
    var best = row.startIndex
    for j in row.indices {
      if row[best].isNaN { break }
      if row[j].isNaN || row[j] > row[best] { best = j }
    }
    return best - row.startIndex
  }

  /// Rows with ties for the maximum, NaN before and after the label, and
  /// widths around the 16-lane blocks: the label's checks count the same
  /// hits as a full argmax and a full count of larger scores.
  @Test(arguments: [1, 2, 15, 16, 17, 31, 33, 100])
  func labelChecksMatchFullScans(classes c: Int) throws {
    var g = SplitMix64(seed: UInt64(c))
    let rows = 400
    var scores = [Float](repeating: 0, count: rows * c)
    var labels = [Int32](repeating: 0, count: rows)
    for r in 0..<rows {
      for j in 0..<c { scores[r * c + j] = Float(Int.random(in: 0...4, using: &g)) }  // many ties
      if Int.random(in: 0..<8, using: &g) == 0 { scores[r * c + Int.random(in: 0..<c, using: &g)] = .nan }
      // Half the labels at the row's argmax, so that right rows are common.
      let row = scores[(r * c)..<((r + 1) * c)]
      labels[r] = Int32(Bool.random(using: &g) ? Self.numpyArgmax(row) : Int.random(in: 0..<c, using: &g))
    }
    var expectedHits = 0
    var expectedTop3 = 0
    for r in 0..<rows {
      let row = scores[(r * c)..<((r + 1) * c)]
      let label = Int(labels[r])
      expectedHits += Self.numpyArgmax(row) == label ? 1 : 0
      // Keras's in_top_k on its NumPy backend: NaN sorts above every
      // number (so a NaN takes a place), and a NaN target is a miss.
      let s = row[r * c + label]
      expectedTop3 += !s.isNaN && row.filter { !($0 <= s) }.count < 3 ? 1 : 0
    }
    let yTrue = try Tensor(labels, shape: [rows])
    let yPred = try Tensor(scores, shape: [rows, c])
    var accuracy = SparseCategoricalAccuracy()
    try accuracy.update(yTrue: yTrue, yPred: yPred, sampleWeight: nil)
    #expect(accuracy.result() == .scalar(Double(expectedHits) / Double(rows)))
    var top3 = try SparseTopKCategoricalAccuracy(k: 3)
    try top3.update(yTrue: yTrue, yPred: yPred, sampleWeight: nil)
    #expect(top3.result() == .scalar(Double(expectedTop3) / Double(rows)))
  }

  /// Rows are split across cores by their elements, not their count: 2,000
  /// rows of 100 scores are 200,000 elements, three halves of the parallel
  /// threshold (W3's batches of 20,000 rows of 1,000 ran on one core when
  /// rows counted as elements).
  @Test func classRowsSplitByElements() throws {
    let (rows, c) = (2_000, 100)
    let yTrue = try Tensor((0..<rows).map { Int32($0 % c) }, shape: [rows])
    let yPred = try Tensor((0..<(rows * c)).map { Float($0 % 7) }, shape: [rows, c])
    let layout = try #require(ClassRows(yTrue: yTrue, yPred: yPred))
    let mapped = try #require(layout.map(yTrue: yTrue, yPred: yPred) { _, _, _, r in r })
    #expect(mapped.results.count == min(machineCores, 3))
    #expect(isPartition(mapped.results, of: rows))
    #expect(chunks(20_000, parts: 2).count == 1)
    #expect(chunks(20_000, parts: 2, itemSize: 1_000) == [0..<10_000, 10_000..<20_000])
    #expect(chunks(1, parts: 2, itemSize: 1 << 20) == [0..<1])  // never more parts than items
    #expect(chunks(0, parts: 2, itemSize: 1_000) == [0..<0])
    #expect(chunks(Int.max / 2, parts: 2, itemSize: 4).count == 2)  // the product saturates
  }
}

/// The vectorised argmax of the sparse accuracy fast path agrees with the
/// general path on ties, NaN, −∞ rows and rows shorter than a vector.
@Suite struct ArgmaxEdgeCaseTests {
  static let rows: [[Float]] = [
    [Float](repeating: -.infinity, count: 40),
    (0..<40).map { $0 == 37 ? 5 : ($0 == 3 ? 5 : 1) },  // tie: lowest index wins
    (0..<40).map { $0 == 20 ? .nan : Float($0) },  // NaN wins, as NumPy
    [1, 3, 3, 2],  // shorter than 16
    (0..<33).map { $0 == 32 ? 9 : 1 },  // maximum in the tail
  ]

  @Test func fastAndGeneralPathsAgree() throws {
    for row in Self.rows {
      let c = row.count
      for label in [0, 3, 20 % c, 32 % c, 37 % c] {
        var fast = SparseCategoricalAccuracy()  // float32 rows: the fast path
        try fast.update(yTrue: Tensor([Int32(label)]), yPred: try Tensor(row, shape: [1, c]))
        let general = try sparseCategoricalAccuracy(
          yTrue: Tensor([Int32(label)]), yPred: try Tensor(row, shape: [1, c]))
        #expect(fast.result() == .scalar(general.doubles()[0]), "row \(row.prefix(4))…, label \(label)")
      }
    }
  }
}
