import Tally
import TallyExample
import Testing

@Suite struct FitTests {
  /// A learnable variant of Keras's example: targets are a fixed function
  /// of the inputs.
  static func data(rows: Int, seed: UInt64) -> (x: [Double], y: [Double]) {
    var g = SplitMix64(seed: seed)
    let w = (0..<(32 * 10)).map { _ in Double.random(in: -1...1, using: &g) }
    var x: [Double] = []
    var y: [Double] = []
    for _ in 0..<rows {
      let row = (0..<32).map { _ in Double.random(in: 0..<1, using: &g) }
      x += row
      let scores = (0..<10).map { j in (0..<32).reduce(0.0) { $0 + (row[$1] - 0.5) * w[$1 * 10 + j] } }
      let best = scores.indices.max { scores[$0] < scores[$1] }!
      y += (0..<10).map { $0 == best ? 1.0 : 0.0 }
    }
    return (x, y)
  }

  @Test func lossFallsAndAccuracyRises() throws {
    let (x, y) = Self.data(rows: 1000, seed: 7)
    var g = SplitMix64(seed: 3)
    let net = Sequential(
      [
        Dense(inputSize: 32, units: 64, activation: .relu, using: &g),
        Dense(inputSize: 64, units: 64, activation: .relu, using: &g),
        Dense(inputSize: 64, units: 10, activation: .softmax, using: &g),
      ], loss: .categoricalCrossentropy, optimizer: .adam())
    var model = Model(net, metrics: ["accuracy", .metric(try AUC())])
    let history = try model.fit(x: x, y: y, rows: 1000, batchSize: 32, epochs: 10, display: false)
    #expect(history.keys == ["loss", "accuracy", "auc"])
    let loss = history.values["loss"]!
    let accuracy = history.values["accuracy"]!
    #expect(loss.count == 10)
    #expect(loss.last! < 0.7 * loss.first!, "\(loss)")
    #expect(accuracy.last! > 0.5 && accuracy.last! > accuracy.first! + 0.2, "\(accuracy)")
    // "accuracy" on one-hot targets resolves to CategoricalAccuracy.
    #expect(model.metrics.metrics.first is CategoricalAccuracy)
    let logs = try model.evaluate(x: x, y: y, rows: 1000)
    #expect(logs.map(\.name) == ["loss", "accuracy", "auc"])
    #expect(logs[1].value > 0.5)
  }

  @Test func validationLogsArePrefixed() throws {
    let (x, y) = Self.data(rows: 96, seed: 8)
    var g = SplitMix64(seed: 4)
    let net = Sequential(
      [Dense(inputSize: 32, units: 10, activation: .softmax, using: &g)], loss: .categoricalCrossentropy,
      optimizer: .sgd(learningRate: 0.1))
    var model = Model(net, metrics: ["acc"])
    let history = try model.fit(
      x: x, y: y, rows: 96, batchSize: 32, epochs: 2, validation: (x, y, 96), display: false)
    #expect(history.keys == ["loss", "acc", "val_loss", "val_acc"])
    #expect(history.values["val_acc"]!.count == 2)
  }
}
