/// The error every Tally operation throws for bad input or configuration.
///
/// Tally throws where Keras raises `ValueError`, and, like Keras, the message
/// names what was received: `"sample_weight of shape [3] cannot be broadcast to
/// values of shape [4]"`. A metric whose `update`, `merge` or `restore` throws
/// keeps exactly the state it had before the call.
///
/// `precondition` is reserved for Tally's own invariants; nothing a caller
/// passes in (data, weights, configuration, a state file) traps.
public enum MetricError: Error, Equatable, Sendable, CustomStringConvertible {
  /// A shape is invalid on its own: a negative dimension, or an element count
  /// that does not match the shape.
  case invalidShape(_ message: String)
  /// Two shapes that must agree (or broadcast) do not.
  case shapeMismatch(_ message: String)
  /// `sample_weight` cannot be used: it does not broadcast, or holds NaN or
  /// an infinity.
  case invalidWeights(_ message: String)
  /// A batch with no elements was passed to `update`.
  case emptyBatch(_ message: String)
  /// A value is outside the domain the metric accepts (a label outside
  /// {0, 1}, a class id out of range, a negative value under a log).
  case invalidValue(_ message: String)
  /// A configuration argument is invalid or unknown.
  case invalidConfiguration(_ message: String)
  /// Two metric states cannot be merged: different classes or configurations.
  case incompatibleMerge(_ message: String)
  /// A saved state cannot be read: corrupt, truncated, from another metric,
  /// or from an unsupported format version.
  case invalidState(_ message: String)

  /// The category and the message.
  public var description: String {
    switch self {
    case .invalidShape(let m): "Invalid shape: \(m)"
    case .shapeMismatch(let m): "Shape mismatch: \(m)"
    case .invalidWeights(let m): "Invalid sample_weight: \(m)"
    case .emptyBatch(let m): "Empty batch: \(m)"
    case .invalidValue(let m): "Invalid value: \(m)"
    case .invalidConfiguration(let m): "Invalid configuration: \(m)"
    case .incompatibleMerge(let m): "Cannot merge: \(m)"
    case .invalidState(let m): "Invalid state: \(m)"
    }
  }

  /// The message without its category prefix.
  public var message: String {
    switch self {
    case .invalidShape(let m), .shapeMismatch(let m), .invalidWeights(let m),
      .emptyBatch(let m), .invalidValue(let m), .invalidConfiguration(let m),
      .incompatibleMerge(let m), .invalidState(let m):
      m
    }
  }
}

/// Formats a shape the way Keras prints one in its messages: `[4, 1]`.
@usableFromInline
func describe(_ shape: [Int]) -> String {
  "[" + shape.map(String.init).joined(separator: ", ") + "]"
}
