// A tiny, dependency-free neural network: just enough machinery to run
// Keras's own `Sequential` example (Dense layers, ReLU/softmax, categorical
// crossentropy or MSE, SGD or Adam) so that Tally's metrics can be shown
// inside a real training loop. It is deliberately small and readable, not fast.
//
// Every matrix is a flat row-major `[Double]`; a batch of `rows` samples with
// `width` features is `rows * width` long, sample `r` occupying
// `r * width ..< (r + 1) * width`.

// `exp`, `log` and `pow` come from the platform's C math library (no Foundation).
#if canImport(Glibc)
  import Glibc
#elseif canImport(Musl)
  import Musl
#elseif canImport(Darwin)
  import Darwin
#elseif canImport(ucrt)
  import ucrt
#endif

// MARK: - Activation

/// The activation a ``Dense`` layer applies to its pre-activations, as in
/// `keras.layers.Dense(units, activation: ...)`.
public enum Activation: String, Sendable {
  /// The identity, `a = z` (Keras's default, `activation=None`).
  case linear
  /// The rectified linear unit, `a = max(0, z)`.
  case relu
  /// Row-wise softmax, `a_i = exp(z_i) / Σ_j exp(z_j)`, computed stably.
  case softmax

  /// Applies the activation to `rows × width` pre-activations `z`.
  func apply(_ z: [Double], rows: Int, width: Int) -> [Double] {
    switch self {
    case .linear:
      return z
    case .relu:
      return z.map { max(0, $0) }
    case .softmax:
      var a = z
      for r in 0..<rows {
        let row = r * width..<(r + 1) * width
        let m = a[row].max() ?? 0
        var sum = 0.0
        for i in row {
          a[i] = exp(a[i] - m)
          sum += a[i]
        }
        for i in row { a[i] /= sum }
      }
      return a
    }
  }

  /// Back-propagates `da = ∂L/∂a` through the activation, returning `∂L/∂z`
  /// (`z` are the pre-activations, `a` the activations of the forward pass).
  func backward(_ da: [Double], z: [Double], a: [Double], rows: Int, width: Int) -> [Double] {
    switch self {
    case .linear:
      return da
    case .relu:
      var dz = da
      for i in dz.indices where z[i] <= 0 { dz[i] = 0 }
      return dz
    case .softmax:
      // Jacobian-vector product: dz_i = a_i (da_i − Σ_j da_j a_j).
      var dz = da
      for r in 0..<rows {
        let row = r * width..<(r + 1) * width
        var dot = 0.0
        for i in row { dot += da[i] * a[i] }
        for i in row { dz[i] = a[i] * (da[i] - dot) }
      }
      return dz
    }
  }
}

// MARK: - Dense layer

/// A fully connected layer, `a = activation(x · W + b)`, like `keras.layers.Dense`.
///
/// The kernel `W` is `inputSize × units` (row-major), Glorot-uniform initialised
/// as in Keras; the bias starts at zero.
public struct Dense: Sendable {
  /// Number of input features per sample.
  public let inputSize: Int
  /// Number of output features (neurons) per sample.
  public let units: Int
  /// Activation applied to the pre-activations.
  public let activation: Activation
  /// The kernel, `inputSize × units`, row-major: `weights[i * units + j]`
  /// connects input `i` to unit `j`.
  public var weights: [Double]
  /// The bias, one entry per unit.
  public var bias: [Double]

  /// A layer whose kernel is drawn from Glorot-uniform,
  /// `U(−√(6 / (inputSize + units)), +√(6 / (inputSize + units)))`, using
  /// `generator` (pass a seeded one such as `SplitMix64` for reproducibility),
  /// and whose bias is zero.
  public init<G: RandomNumberGenerator>(
    inputSize: Int, units: Int, activation: Activation, using generator: inout G
  ) {
    precondition(inputSize > 0 && units > 0, "Dense: sizes must be positive")
    self.inputSize = inputSize
    self.units = units
    self.activation = activation
    let limit = (6.0 / Double(inputSize + units)).squareRoot()
    weights = (0..<inputSize * units).map { _ in
      Double.random(in: -limit...limit, using: &generator)
    }
    bias = Array(repeating: 0, count: units)
  }

  /// Total number of trainable scalars (kernel plus bias).
  public var parameterCount: Int { weights.count + bias.count }

  /// The pre-activations `x · W + b` of a `rows × inputSize` batch.
  func preActivations(_ x: [Double], rows: Int) -> [Double] {
    var z = matmul(x, weights, m: rows, k: inputSize, n: units)
    for r in 0..<rows {
      for j in 0..<units { z[r * units + j] += bias[j] }
    }
    return z
  }
}

// MARK: - Loss

/// The training loss, named as in `model.compile(loss: ...)`. Both reduce as
/// Keras does by default: the per-sample loss is averaged over the batch.
public enum Loss: String, Sendable {
  /// `−Σ_i y_i log p_i` per sample, with predictions renormalised to sum to one
  /// and clipped to `[1e-7, 1 − 1e-7]` (Keras's `epsilon()`), as
  /// `keras.losses.categorical_crossentropy(from_logits=False)` does.
  case categoricalCrossentropy = "categorical_crossentropy"
  /// `mean_i (p_i − y_i)²` per sample.
  case meanSquaredError = "mean_squared_error"

  /// Keras's fuzz factor, `keras.config.epsilon()`.
  static let epsilon = 1e-7

  /// Mean over the `rows` samples of the per-sample loss.
  func value(predictions p: [Double], targets y: [Double], rows: Int, width: Int) -> Double {
    var total = 0.0
    for r in 0..<rows {
      let row = r * width..<(r + 1) * width
      switch self {
      case .categoricalCrossentropy:
        let sum = p[row].reduce(0, +)
        for i in row {
          let q = min(max(p[i] / sum, Loss.epsilon), 1 - Loss.epsilon)
          total -= y[i] * log(q)
        }
      case .meanSquaredError:
        var s = 0.0
        for i in row { s += (p[i] - y[i]) * (p[i] - y[i]) }
        total += s / Double(width)
      }
    }
    return total / Double(rows)
  }

  /// `∂(mean loss)/∂p`, the exact gradient of ``value(predictions:targets:rows:width:)``
  /// (clipped probabilities contribute zero, as in TensorFlow's clip).
  func gradient(predictions p: [Double], targets y: [Double], rows: Int, width: Int) -> [Double] {
    var g = Array(repeating: 0.0, count: p.count)
    let n = Double(rows)
    for r in 0..<rows {
      let row = r * width..<(r + 1) * width
      switch self {
      case .categoricalCrossentropy:
        // L = −Σ y_k log clip(q_k) with q = p / S, S = Σ p.
        // ∂L/∂p_i = (∂L/∂q_i − Σ_k ∂L/∂q_k q_k) / S.
        let sum = p[row].reduce(0, +)
        var dot = 0.0
        for i in row {
          let q = p[i] / sum
          let inside = q > Loss.epsilon && q < 1 - Loss.epsilon
          g[i] = inside ? -y[i] / q : 0
          dot += g[i] * q
        }
        for i in row { g[i] = (g[i] - dot) / (sum * n) }
      case .meanSquaredError:
        for i in row { g[i] = 2 * (p[i] - y[i]) / (Double(width) * n) }
      }
    }
    return g
  }
}

// MARK: - Optimizer

/// The optimiser, as in `model.compile(optimizer: ...)`.
public enum Optimizer: Sendable {
  /// Plain stochastic gradient descent, `w ← w − learningRate · g`.
  case sgd(learningRate: Double)
  /// Adam with Keras's defaults and update rule:
  /// `m ← β₁m + (1−β₁)g`, `v ← β₂v + (1−β₂)g²`,
  /// `w ← w − lr·√(1−β₂ᵗ)/(1−β₁ᵗ) · m / (√v + ε)`.
  case adam(
    learningRate: Double = 0.001, beta1: Double = 0.9, beta2: Double = 0.999,
    epsilon: Double = 1e-7)
}

// MARK: - Sequential model

/// A stack of ``Dense`` layers trained with a ``Loss`` and an ``Optimizer``,
/// like a compiled `keras.Sequential`. Value type: copying a model copies its
/// weights and optimiser state; training is deterministic.
public struct Sequential: Sendable {
  /// The layers, input first. Each layer's `inputSize` must equal the previous
  /// layer's `units`.
  public var layers: [Dense]
  /// The loss minimised by ``trainStep(x:y:rows:)``.
  public let lossFunction: Loss
  /// The optimiser applied by ``trainStep(x:y:rows:)``.
  public let optimizer: Optimizer
  /// Number of training steps taken so far (Keras's `optimizer.iterations`).
  public private(set) var iterations = 0
  /// Adam's first and second moments, one array per parameter tensor in the
  /// order kernel₀, bias₀, kernel₁, bias₁, …
  private var firstMoments: [[Double]] = []
  private var secondMoments: [[Double]] = []

  /// A model made of `layers`, compiled with `loss` and `optimizer`.
  public init(_ layers: [Dense], loss: Loss, optimizer: Optimizer) {
    precondition(!layers.isEmpty, "Sequential: needs at least one layer")
    for (previous, next) in zip(layers, layers.dropFirst()) {
      precondition(previous.units == next.inputSize, "Sequential: layer sizes do not chain")
    }
    self.layers = layers
    self.lossFunction = loss
    self.optimizer = optimizer
  }

  /// Number of input features per sample (the first layer's `inputSize`).
  public var inputSize: Int { layers[0].inputSize }
  /// Number of outputs per sample (the last layer's `units`).
  public var outputSize: Int { layers[layers.count - 1].units }

  /// Forward pass on a batch: x is rows × inputSize (row-major); returns rows × lastUnits predictions.
  public func predict(_ x: [Double], rows: Int) -> [Double] {
    precondition(x.count == rows * inputSize, "predict: x must be rows × inputSize")
    var a = x
    for layer in layers {
      a = layer.activation.apply(layer.preActivations(a, rows: rows), rows: rows, width: layer.units)
    }
    return a
  }

  /// Mean loss of predictions against targets (rows × units).
  public func loss(predictions: [Double], targets: [Double], rows: Int) -> Double {
    precondition(
      predictions.count == rows * outputSize && targets.count == predictions.count,
      "loss: predictions and targets must be rows × outputSize")
    return lossFunction.value(predictions: predictions, targets: targets, rows: rows, width: outputSize)
  }

  /// One training step on a batch (forward, loss, backward, optimizer update). Returns the batch's mean loss (Keras's reduction: mean over samples) and the predictions made by the forward pass before the update.
  public mutating func trainStep(x: [Double], y: [Double], rows: Int) -> (loss: Double, predictions: [Double]) {
    let (loss, predictions, grads) = gradients(x: x, y: y, rows: rows)
    applyGradients(grads)
    return (loss, predictions)
  }

  /// Forward and backward pass: the mean loss, the predictions, and the
  /// gradient of the loss for every parameter tensor (kernel₀, bias₀, kernel₁, …).
  func gradients(x: [Double], y: [Double], rows: Int) -> (loss: Double, predictions: [Double], gradients: [[Double]]) {
    precondition(x.count == rows * inputSize, "trainStep: x must be rows × inputSize")
    precondition(y.count == rows * outputSize, "trainStep: y must be rows × outputSize")
    // Forward, remembering each layer's input, pre-activation and output.
    var inputs: [[Double]] = [], pre: [[Double]] = [], outputs: [[Double]] = []
    var a = x
    for layer in layers {
      let z = layer.preActivations(a, rows: rows)
      inputs.append(a)
      pre.append(z)
      a = layer.activation.apply(z, rows: rows, width: layer.units)
      outputs.append(a)
    }
    let loss = lossFunction.value(predictions: a, targets: y, rows: rows, width: outputSize)

    // Backward. The last layer's ∂L/∂z uses the fused softmax + crossentropy
    // gradient (p − y) / rows when it applies, the chain rule otherwise.
    var grads = Array(repeating: [Double](), count: 2 * layers.count)
    let last = layers.count - 1
    var dz: [Double]
    if layers[last].activation == .softmax && lossFunction == .categoricalCrossentropy {
      dz = zip(a, y).map { ($0 - $1) / Double(rows) }
    } else {
      let da = lossFunction.gradient(predictions: a, targets: y, rows: rows, width: outputSize)
      dz = layers[last].activation.backward(da, z: pre[last], a: a, rows: rows, width: outputSize)
    }
    for l in stride(from: last, through: 0, by: -1) {
      let layer = layers[l]
      grads[2 * l] = matmulTransposedA(inputs[l], dz, k: rows, m: layer.inputSize, n: layer.units)
      var db = Array(repeating: 0.0, count: layer.units)
      for r in 0..<rows {
        for j in 0..<layer.units { db[j] += dz[r * layer.units + j] }
      }
      grads[2 * l + 1] = db
      if l > 0 {
        let da = matmulTransposedB(dz, layer.weights, m: rows, n: layer.units, k: layer.inputSize)
        let below = layers[l - 1]
        dz = below.activation.backward(da, z: pre[l - 1], a: outputs[l - 1], rows: rows, width: below.units)
      }
    }
    return (loss, a, grads)
  }

  /// Applies one optimiser update with `grads` (ordered as in ``gradients(x:y:rows:)``).
  mutating func applyGradients(_ grads: [[Double]]) {
    iterations += 1
    switch optimizer {
    case .sgd(let lr):
      for l in layers.indices {
        for i in layers[l].weights.indices { layers[l].weights[i] -= lr * grads[2 * l][i] }
        for j in layers[l].bias.indices { layers[l].bias[j] -= lr * grads[2 * l + 1][j] }
      }
    case .adam(let lr, let beta1, let beta2, let epsilon):
      if firstMoments.map(\.count) != grads.map(\.count) {  // first step, or layers replaced
        firstMoments = grads.map { Array(repeating: 0, count: $0.count) }
        secondMoments = firstMoments
      }
      let t = Double(iterations)
      let alpha = lr * (1 - pow(beta2, t)).squareRoot() / (1 - pow(beta1, t))
      for p in grads.indices {
        var delta = Array(repeating: 0.0, count: grads[p].count)
        for i in grads[p].indices {
          let g = grads[p][i]
          firstMoments[p][i] = beta1 * firstMoments[p][i] + (1 - beta1) * g
          secondMoments[p][i] = beta2 * secondMoments[p][i] + (1 - beta2) * g * g
          delta[i] = alpha * firstMoments[p][i] / (secondMoments[p][i].squareRoot() + epsilon)
        }
        let l = p / 2
        if p % 2 == 0 {
          for i in delta.indices { layers[l].weights[i] -= delta[i] }
        } else {
          for i in delta.indices { layers[l].bias[i] -= delta[i] }
        }
      }
    }
  }
}

// MARK: - Matrix kernels (unsafe buffers keep debug builds usably fast)

/// `A · B` (`m × n`, row-major) where `A(i, p) = a[i·a.row + p·a.column]`
/// and `B(p, j) = b[p·b.row + j·b.column]`, summing over `p` in order; zero
/// entries of `A` are skipped when `skipZeros` (ReLU outputs are often
/// exactly zero).
func product(
  _ a: [Double], _ sa: (row: Int, column: Int), _ b: [Double], _ sb: (row: Int, column: Int),
  m: Int, k: Int, n: Int, skipZeros: Bool = true
) -> [Double] {
  var c = Array(repeating: 0.0, count: m * n)
  a.withUnsafeBufferPointer { a in
    b.withUnsafeBufferPointer { b in
      c.withUnsafeMutableBufferPointer { c in
        for i in 0..<m {
          for p in 0..<k {
            let aip = a[i * sa.row + p * sa.column]
            if skipZeros && aip == 0 { continue }
            for j in 0..<n { c[i * n + j] += aip * b[p * sb.row + j * sb.column] }
          }
        }
      }
    }
  }
  return c
}

/// `a · b` for `a: m × k`, `b: k × n`.
func matmul(_ a: [Double], _ b: [Double], m: Int, k: Int, n: Int) -> [Double] {
  product(a, (k, 1), b, (n, 1), m: m, k: k, n: n)
}

/// `aᵀ · b` for `a: k × m`, `b: k × n` (result `m × n`).
func matmulTransposedA(_ a: [Double], _ b: [Double], k: Int, m: Int, n: Int) -> [Double] {
  product(a, (1, m), b, (n, 1), m: m, k: k, n: n)
}

/// `a · bᵀ` for `a: m × n`, `b: k × n` (result `m × k`).
func matmulTransposedB(_ a: [Double], _ b: [Double], m: Int, n: Int, k: Int) -> [Double] {
  product(a, (n, 1), b, (1, n), m: m, k: n, n: k, skipZeros: false)
}
