import Tally
import Testing

@testable import TallyExample

@Suite("MiniNetwork")
struct MiniNetworkTests {

  // MARK: Gradient check

  /// Compares the backward pass with central finite differences of the loss,
  /// for every kernel and bias entry of a tiny network.
  func checkGradients(
    _ specs: [(units: Int, activation: Activation)], inputSize: Int, loss: Loss,
    targets: (inout SplitMix64, Int, Int) -> [Double], seed: UInt64
  ) {
    var g = SplitMix64(seed: seed)
    var layers: [Dense] = []
    var width = inputSize
    for spec in specs {
      var layer = Dense(inputSize: width, units: spec.units, activation: spec.activation, using: &g)
      // Non-zero biases so that every code path (and ReLU sign) is exercised.
      layer.bias = (0..<spec.units).map { _ in Double.random(in: -0.5...0.5, using: &g) }
      layers.append(layer)
      width = spec.units
    }
    let rows = 3
    let x = (0..<rows * inputSize).map { _ in Double.random(in: -1...1, using: &g) }
    let y = targets(&g, rows, width)
    let model = Sequential(layers, loss: loss, optimizer: .sgd(learningRate: 0.1))
    let (value, predictions, analytic) = model.gradients(x: x, y: y, rows: rows)
    #expect(abs(value - model.loss(predictions: model.predict(x, rows: rows), targets: y, rows: rows)) < 1e-12)
    #expect(predictions == model.predict(x, rows: rows))

    let h = 1e-6
    var worst = 0.0
    for l in layers.indices {
      for (p, count) in [(2 * l, layers[l].weights.count), (2 * l + 1, layers[l].bias.count)] {
        for i in 0..<count {
          func lossWith(_ delta: Double) -> Double {
            var m = model
            if p % 2 == 0 { m.layers[l].weights[i] += delta } else { m.layers[l].bias[i] += delta }
            return m.loss(predictions: m.predict(x, rows: rows), targets: y, rows: rows)
          }
          let numeric = (lossWith(h) - lossWith(-h)) / (2 * h)
          let a = analytic[p][i]
          let relative = abs(a - numeric) / max(abs(a) + abs(numeric), 1e-7)
          worst = max(worst, relative)
          #expect(relative < 1e-5, "layer \(l) tensor \(p % 2 == 0 ? "kernel" : "bias") [\(i)]: \(a) vs \(numeric)")
        }
      }
    }
    print(
      "gradient check \(specs.map { "\($0.units)\($0.activation)" }) \(loss.rawValue): worst relative error \(worst)")
  }

  /// One-hot targets, one random class per row.
  static func oneHot(_ g: inout SplitMix64, _ rows: Int, _ width: Int) -> [Double] {
    var y = Array(repeating: 0.0, count: rows * width)
    for r in 0..<rows { y[r * width + Int.random(in: 0..<width, using: &g)] = 1 }
    return y
  }

  @Test func gradientsMatchFiniteDifferencesSoftmaxCrossentropy() {
    checkGradients(
      [(4, .relu), (3, .softmax)], inputSize: 3, loss: .categoricalCrossentropy,
      targets: Self.oneHot, seed: 1)
  }

  @Test func gradientsMatchFiniteDifferencesMeanSquaredError() {
    checkGradients(
      [(5, .relu), (4, .relu), (2, .linear)], inputSize: 3, loss: .meanSquaredError,
      targets: { g, r, w in (0..<r * w).map { _ in Double.random(in: -1...1, using: &g) } },
      seed: 2)
  }

  @Test func gradientsMatchFiniteDifferencesSoftmaxMeanSquaredError() {
    checkGradients(
      [(4, .linear), (3, .softmax)], inputSize: 2, loss: .meanSquaredError,
      targets: Self.oneHot, seed: 3)
  }

  // MARK: Basic behaviour

  @Test func initialisationIsGlorotUniformAndDeterministic() {
    var g1 = SplitMix64(seed: 7), g2 = SplitMix64(seed: 7)
    let a = Dense(inputSize: 32, units: 64, activation: .relu, using: &g1)
    let b = Dense(inputSize: 32, units: 64, activation: .relu, using: &g2)
    let limit = (6.0 / 96).squareRoot()
    #expect(a.weights == b.weights)
    #expect(a.weights.count == 32 * 64 && a.bias == Array(repeating: 0, count: 64))
    #expect(a.weights.allSatisfy { abs($0) <= limit })
    #expect(a.weights.contains { $0 > limit / 2 } && a.weights.contains { $0 < -limit / 2 })
  }

  @Test func softmaxRowsSumToOneAndLossClips() {
    var g = SplitMix64(seed: 3)
    let model = Sequential(
      [Dense(inputSize: 4, units: 5, activation: .softmax, using: &g)],
      loss: .categoricalCrossentropy, optimizer: .adam())
    let p = model.predict((0..<8).map { Double($0) * 100 }, rows: 2)
    for r in 0..<2 { #expect(abs(p[r * 5..<(r + 1) * 5].reduce(0, +) - 1) < 1e-12) }
    // A confident wrong prediction costs −log(1e-7), not infinity.
    let loss = model.loss(predictions: [1, 0, 0, 0, 0], targets: [0, 1, 0, 0, 0], rows: 1)
    #expect(abs(loss - 16.11809565095832) < 1e-9)
  }

  // MARK: Learning

  /// A learnable version of Keras's Sequential example: 1,000 × 32 uniform
  /// inputs, 10 classes given by the argmax of (x − ½) · W for a fixed random W.
  @Test func learnsTheKerasSequentialExample() {
    var g = SplitMix64(seed: 2024)
    let samples = 1000, features = 32, classes = 10, batchSize = 32, epochs = 10
    let teacher = (0..<features * classes).map { _ in Double.random(in: -1...1, using: &g) }
    let x = (0..<samples * features).map { _ in Double.random(in: 0..<1, using: &g) }
    var labels: [Int] = []
    var y = Array(repeating: 0.0, count: samples * classes)
    for s in 0..<samples {
      var scores = Array(repeating: 0.0, count: classes)
      for f in 0..<features {
        for c in 0..<classes { scores[c] += (x[s * features + f] - 0.5) * teacher[f * classes + c] }
      }
      let label = argmax(scores[...])
      labels.append(label)
      y[s * classes + label] = 1
    }

    var model = Sequential(
      [
        Dense(inputSize: features, units: 64, activation: .relu, using: &g),
        Dense(inputSize: 64, units: 64, activation: .relu, using: &g),
        Dense(inputSize: 64, units: classes, activation: .softmax, using: &g),
      ],
      loss: .categoricalCrossentropy, optimizer: .adam())

    var epochLoss: [Double] = [], epochAccuracy: [Double] = []
    let clock = ContinuousClock()
    let start = clock.now
    for _ in 0..<epochs {
      var order = Array(0..<samples)
      order.shuffle(using: &g)  // Keras's fit(shuffle=True)
      var lossSum = 0.0, correct = 0
      for batchStart in stride(from: 0, to: samples, by: batchSize) {
        let batch = order[batchStart..<min(batchStart + batchSize, samples)]
        let bx = batch.flatMap { x[$0 * features..<($0 + 1) * features] }
        let by = batch.flatMap { y[$0 * classes..<($0 + 1) * classes] }
        let (loss, predictions) = model.trainStep(x: bx, y: by, rows: batch.count)
        lossSum += loss * Double(batch.count)
        for (r, s) in batch.enumerated() where argmax(predictions[r * classes..<(r + 1) * classes]) == labels[s] {
          correct += 1
        }
      }
      epochLoss.append(lossSum / Double(samples))
      epochAccuracy.append(Double(correct) / Double(samples))
    }
    let elapsed = clock.now - start
    let final = model.predict(x, rows: samples)
    let finalAccuracy =
      Double(
        (0..<samples).filter {
          argmax(final[$0 * classes..<($0 + 1) * classes]) == labels[$0]
        }.count) / Double(samples)

    for e in 0..<epochs {
      print("epoch \(e + 1): loss \(epochLoss[e]), accuracy \(epochAccuracy[e])")
    }
    print("final training-set accuracy \(finalAccuracy); \(model.iterations) steps in \(elapsed)")

    #expect(model.iterations == epochs * 32)
    #expect(epochLoss[epochs - 1] < 0.7 * epochLoss[0])
    #expect(epochAccuracy[epochs - 1] > 0.5)
    #expect(epochAccuracy[epochs - 1] > epochAccuracy[0] + 0.2)
    #expect(finalAccuracy > 0.5)
  }
}

/// Index of the largest element (first one on ties).
private func argmax(_ v: ArraySlice<Double>) -> Int {
  var best = v.startIndex
  for i in v.indices where v[i] > v[best] { best = i }
  return best - v.startIndex
}
