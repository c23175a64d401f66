// The hinge family (Catalog/Hinge): Hinge, SquaredHinge and CategoricalHinge.

import Tally
import Testing

/// Spec vectors of the hinge metrics, verified against Keras.
@Suite struct HingeMetricsTests: CatalogVectors {
  @Test func hingeFamily() throws {
    var h = Hinge()
    try h.update(yTrue: Self.y, yPred: Self.p)
    #expect(Self.close(h.result(), 1.3))
    var s = SquaredHinge()
    try s.update(yTrue: Self.y, yPred: Self.p)
    #expect(Self.close(s.result(), 1.86))
    var c = CategoricalHinge()
    try c.update(yTrue: Self.y, yPred: Self.p)
    #expect(Self.close(c.result(), 1.4))
  }
}
