//===--- SampleMeanMetric.swift -------------------------------------------===//
//
// The shape of most of Keras's catalog: a weighted mean of a per-sample
// function (Keras's `MeanMetricWrapper` subclasses), and axis helpers the
// per-sample functions share.
//
//===----------------------------------------------------------------------===//

/// A metric that is the weighted mean of a per-sample function, as Keras's
/// `MeanMetricWrapper` subclasses (`MeanSquaredError`, `Hinge`,
/// `BinaryCrossentropy`, ...).
///
/// A conformance supplies ``values(yTrue:yPred:)``; `update`, `result` and
/// `restore` come from the protocol: values are accumulated with ``Mean``'s
/// rules (per-sample means, `sampleWeight` rank-aligned and broadcast, counts
/// per sample) into a ``MeanState``, any value of which is valid.
public protocol SampleMeanMetric: PredictionMetric, KerasSerializable where State == MeanState {
  /// The accumulated weighted mean.
  var state: MeanState { get set }
  /// The Keras dtype name; an integer dtype truncates the values, as Keras.
  var dtype: String { get }
  /// The per-sample values of one batch.
  func values(yTrue: Tensor, yPred: Tensor) throws(MetricError) -> Tensor
  /// The state of one batch computed without materialising the per-sample
  /// values, or `nil` to take the general path. Defaults to `nil`.
  func batchState(yTrue: Tensor, yPred: Tensor, sampleWeight: Tensor?) throws(MetricError) -> MeanState?
}

extension SampleMeanMetric {
  /// Accumulates the per-sample values of one batch, weighted.
  ///
  /// - Throws: the function's errors, ``MetricError/emptyBatch(_:)``,
  ///   ``MetricError/invalidWeights(_:)``; the state is then unchanged.
  public mutating func update(yTrue: Tensor, yPred: Tensor, sampleWeight: Tensor?) throws(MetricError) {
    if !isIntegerDType(dtype), let batch = try batchState(yTrue: yTrue, yPred: yPred, sampleWeight: sampleWeight) {
      try state.merge(batch)
      return
    }
    try state.add(
      try values(yTrue: yTrue, yPred: yPred), sampleWeight: sampleWeight,
      integerDType: isIntegerDType(dtype))
  }

  /// No fast path.
  public func batchState(yTrue: Tensor, yPred: Tensor, sampleWeight: Tensor?) throws(MetricError) -> MeanState? {
    nil
  }

  /// Assigns `state`, checked (``MeanState/validate()``).
  public mutating func restore(_ state: MeanState) throws(MetricError) {
    try state.validate()
    self.state = state
  }

  /// The weighted mean of the per-sample values, or 0 before any update.
  public func result() -> MetricValue { .scalar(state.mean) }
}

/// What distinguishes one argument-free mean metric from another: its
/// declaration and its per-sample function (and optionally a fast path).
///
/// ```swift
/// public enum MeanAbsoluteErrorDefinition: SampleMeanDefinition {
///   public static let declaration = MetricDeclaration(
///     MeanAbsoluteError.self, className: "MeanAbsoluteError", defaultName: "mean_absolute_error",
///     aliases: ["mae", "MAE"], input: .elementwise,
///     function: FunctionDeclaration("mean_absolute_error", meanAbsoluteError))
/// }
/// public typealias MeanAbsoluteError = SampleMean<MeanAbsoluteErrorDefinition>
/// ```
public protocol SampleMeanDefinition: Sendable {
  /// The metric's declaration; its `function` is the per-sample function.
  static var declaration: MetricDeclaration { get }
  /// The state of one batch without materialising the per-sample values,
  /// or `nil` for the general path. Defaults to `nil`.
  static func batchState(yTrue: Tensor, yPred: Tensor, sampleWeight: Tensor?) throws(MetricError) -> MeanState?
}

extension SampleMeanDefinition {
  /// No fast path.
  public static func batchState(yTrue: Tensor, yPred: Tensor, sampleWeight: Tensor?) throws(MetricError)
    -> MeanState?
  { nil }
}

/// The weighted mean of a per-sample function without arguments: the
/// generic type behind ``MeanSquaredError``, ``MeanAbsoluteError``,
/// ``Hinge`` and the other argument-free wrappers of Keras, which are
/// typealiases of it.
///
/// - Complexity: `update` is the function's cost plus O(*n*).
public struct SampleMean<Definition: SampleMeanDefinition>: SampleMeanMetric, DeclaredMetric {
  /// The name in logs; the declaration's default name unless given.
  public var name: String
  /// The Keras dtype name, kept for the configuration.
  public var dtype: String
  /// The weighted mean's state.
  public var state = MeanState()

  /// The metric named `name` (default: Keras's default name).
  public init(name: String? = nil, dtype: String = "float32") {
    self.name = name ?? Definition.declaration.defaultName
    self.dtype = dtype
  }

  /// The declaration.
  public static var declaration: MetricDeclaration { Definition.declaration }

  /// `{"name", "dtype"}`.
  public init(arguments: MetricArguments) {
    self.init(name: arguments.name, dtype: arguments.dtype)
  }

  /// The per-sample function's values.
  public func values(yTrue: Tensor, yPred: Tensor) throws(MetricError) -> Tensor {
    guard let f = Definition.declaration.function else {
      throw .invalidConfiguration("\(Self.className) declares no per-sample function")
    }
    return try f.make(MetricArguments.none)(yTrue, yPred)
  }

  /// The declaration of an argument-free mean: the class name is the
  /// definition's type name without `Definition`; the per-sample function's
  /// Keras name is `function`, or the default name.
  public static func declare(
    _ defaultName: String, _ input: MetricInput, function: String? = nil, aliases: [String] = [],
    origin: MetricOrigin = .keras, _ body: @escaping @Sendable (Tensor, Tensor) throws(MetricError) -> Tensor
  ) -> MetricDeclaration {
    var className = _typeName(Definition.self, qualified: false)
    if className.hasSuffix("Definition") { className.removeLast("Definition".count) }
    return MetricDeclaration(
      Self.self, className: className, defaultName: defaultName, aliases: aliases, input: input, origin: origin,
      function: FunctionDeclaration(function ?? defaultName, body))
  }

  /// The definition's fast path.
  public func batchState(yTrue: Tensor, yPred: Tensor, sampleWeight: Tensor?) throws(MetricError) -> MeanState? {
    try Definition.batchState(yTrue: yTrue, yPred: yPred, sampleWeight: sampleWeight)
  }
}

/// A row-major layout seen along one axis: `outer × length × inner`.
struct AxisLayout {
  let outer: Int
  let length: Int
  let inner: Int
  /// The shape without the axis.
  let reducedShape: [Int]
  /// The axis, made non-negative.
  let axis: Int

  /// The layout of `shape` along `axis` (negative counts from the end).
  init(_ shape: [Int], axis: Int, _ function: String) throws(MetricError) {
    let a = axis < 0 ? shape.count + axis : axis
    guard a >= 0, a < shape.count else {
      throw .invalidShape("\(function): axis \(axis) is out of range for shape \(describe(shape))")
    }
    self.axis = a
    outer = shape[..<a].reduce(1, *)
    length = shape[a]
    inner = shape[(a + 1)...].reduce(1, *)
    var r = shape
    r.remove(at: a)
    reducedShape = r
  }

  /// Calls `body(group, indices)` for each position of the reduced shape,
  /// with the flat indices of the elements along the axis.
  func forEachLine(_ body: (Int, StrideTo<Int>) -> Void) {
    for o in 0..<outer {
      for i in 0..<inner {
        let start = o * length * inner + i
        body(o * inner + i, stride(from: start, to: start + length * inner, by: inner))
      }
    }
  }

  /// Reduces `values` along the axis with `f(indices) -> value`.
  func reduce(_ f: (StrideTo<Int>) -> Double) -> [Double] {
    var out = [Double](repeating: 0, count: outer * inner)
    forEachLine { g, idx in out[g] = f(idx) }
    return out
  }
}

/// Casts `yTrue` to `yPred`'s dtype and broadcasts both to one shape, after
/// rank alignment (`squeeze_or_expand_to_same_rank`) unless `alignRanks` is
/// false: the common start of Keras's element-wise losses.
func alignedPair(_ yTrue: Tensor, _ yPred: Tensor, _ function: String, alignRanks: Bool = true)
  throws(MetricError) -> (t: [Double], p: [Double], shape: [Int])
{
  let (t, p) = alignRanks ? Tensor.squeezeOrExpandToSameRank(yTrue, yPred) : (yTrue, yPred)
  let tv = cast(t.doubles(), to: yPred.dtype)
  let pv = p.doubles()
  if t.shape == p.shape { return (tv, pv, p.shape) }
  guard let shape = ShapeRules.broadcastShape(t.shape, p.shape) else {
    throw .shapeMismatch(
      "\(function): y_true and y_pred cannot be broadcast together; received shapes \(describe(yTrue.shape)) and \(describe(yPred.shape))"
    )
  }
  return (
    Elementwise.broadcast(tv, shape: t.shape, to: shape),
    Elementwise.broadcast(pv, shape: p.shape, to: shape), shape
  )
}

/// The mean over the last axis of `f(t, p)` on an aligned pair.
func meanLastAxis(
  _ t: [Double], _ p: [Double], shape: [Int], _ function: String, _ f: (Double, Double) -> Double
) throws(MetricError) -> Tensor {
  guard !shape.isEmpty else {
    throw .invalidShape("\(function) reduces the last axis and needs rank ≥ 1; received scalars")
  }
  guard shape.last! > 0 else {
    throw .emptyBatch("\(function): the last axis is empty; received shape \(describe(shape))")
  }
  let values = zip(t, p).map(f)
  let (r, s) = Elementwise.reduceTrailing(values, shape: shape, fromAxis: shape.count - 1, .mean)
  return .float64(r, shape: s)
}

/// Keras's `epsilon()`, 1e-7.
let kerasEpsilon = 1e-7

/// Clips `x` to `[lo, hi]` with the bounds rounded to `dtype`, as Keras's
/// `clip` does in the tensor's dtype (so `1 − 1e-7` is 0.99999988 for
/// float32).
func clip(_ x: Double, _ lo: Double, _ hi: Double, in dtype: DType) -> Double {
  if dtype == .float32 {
    return min(max(x, Double(Float(lo))), Double(Float(hi)))
  }
  return min(max(x, lo), hi)
}
