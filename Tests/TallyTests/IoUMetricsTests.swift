import Foundation
import Tally
import Testing

// The IoU family (Catalog/IoU): IoU, MeanIoU, BinaryIoU and the one-hot forms.

/// Spec vectors verified against Keras, batch-split and merge-order
/// invariance, and bad input: a typed error, the state unchanged.
@Suite struct IoUMetricsTests: CatalogVectors {
  @Test func meanIoUExcludesAbsentClasses() throws {
    var m = try MeanIoU(numClasses: 3)
    try m.update(yTrue: [0, 1, 1, 1], yPred: [0, 1, 0, 1])
    #expect(Self.close(m.result(), 0.583333))
    var ignored = try MeanIoU(numClasses: 2, ignoreClass: 5)
    try ignored.update(yTrue: [0, 1, 5, 5], yPred: [0, 1, 1, 0])
    #expect(Self.close(ignored.result(), 1.0))
  }

  @Test(arguments: 0..<20)
  func iouIsInvariant(seed: Int) throws {
    var g = SplitMix64(seed: UInt64(700 + seed))
    let n = Int.random(in: 2...500, using: &g)
    let t = (0..<n).map { _ in Double(Int.random(in: 0..<4, using: &g)) }
    let p = t.map { Bool.random(using: &g) ? $0 : Double(Int.random(in: 0..<4, using: &g)) }
    let w = Tensor((0..<n).map { _ in Double.random(in: 0...2, using: &g) })
    let d = ClassificationPropertyTests.Data(yTrue: Tensor(t), yPred: Tensor(p), weights: w, n: n)
    let (a, b) = try ClassificationPropertyTests.both({ try MeanIoU(numClasses: 4) }, d, &g)
    ClassificationPropertyTests.expectSame(a, b, exact: false)
  }

  @Test func iouClassIdsOutOfRange() throws {
    var m = try MeanIoU(numClasses: 3)
    try m.update(yTrue: [0, 1], yPred: [0, 2])
    BadInputTests.expectRejected(m, MetricError.invalidValue, mentioning: "received y_true 5.0") {
      m throws(MetricError) in
      try m.update(yTrue: Tensor([0.0, 5]), yPred: Tensor([0.0, 1]), sampleWeight: nil)
    }
    BadInputTests.expectRejected(m, MetricError.invalidValue, mentioning: "y_pred -1.0") { m throws(MetricError) in
      try m.update(yTrue: Tensor([0.0, 1]), yPred: Tensor([0.0, -1]), sampleWeight: nil)
    }
    #expect(throws: MetricError.self) { try IoU(numClasses: 3, targetClassIds: [0, 3]) }
  }
}

/// A state file may claim any number of classes and counts: a matrix that
/// is not `C × C` is refused on load, never read by `result()`.
@Suite struct ConfusionMatrixStateFileTests {
  /// `data` (a saved state) with the state's `counts` replaced by `counts`.
  static func tampered(_ data: Data, counts: [Any]) throws -> Data {
    var json = try #require(try JSONSerialization.jsonObject(with: data) as? [String: Any])
    var state = try #require(json["state"] as? [String: Any])
    state["counts"] = counts
    json["state"] = state
    return try JSONSerialization.data(withJSONObject: json)
  }

  @Test func aMatrixWithoutItsCountsIsRefused() throws {
    var iou = try MeanIoU(numClasses: 3)
    try iou.update(yTrue: [0, 1, 2], yPred: [0, 1, 1])
    var mcc = try MatthewsCorrelationCoefficient(numClasses: 3)
    try mcc.update(yTrue: [0, 1, 2], yPred: [0, 1, 1])
    for counts in [[], [["head": 1, "tail": 0]]] as [[Any]] {
      let badIoU = try Self.tampered(iou.savedState(), counts: counts)
      #expect(throws: MetricError.self) { try MeanIoU(savedState: badIoU) }
      var freshIoU = try MeanIoU(numClasses: 3)
      #expect(throws: MetricError.self) { try freshIoU.load(savedState: badIoU) }
      #expect(freshIoU.result() == .scalar(0))
      let badMCC = try Self.tampered(mcc.savedState(), counts: counts)
      #expect(throws: MetricError.self) { try MatthewsCorrelationCoefficient(savedState: badMCC) }
    }
  }
}
