//===--- SavedState.swift -------------------------------------------------===//
//
// State as data: a versioned, self-describing file format for a metric's
// state, so it can be saved, sent elsewhere, loaded and merged there.
//
//===----------------------------------------------------------------------===//

import Foundation

/// A metric that can be rebuilt from its Keras configuration, as
/// `keras.metrics.deserialize` / `Metric.from_config` do.
public protocol KerasSerializable: Metric {
  /// Builds the metric from a Keras config such as
  /// `{"class_name": "Mean", "config": {"name": "mean", "dtype": "float32"}}`.
  ///
  /// - Throws: ``MetricError/invalidConfiguration(_:)`` for another class, an
  ///   argument of the wrong type, an invalid value, or an argument the
  ///   class does not have.
  init(config: KerasConfig) throws(MetricError)
}

/// The saved form of a metric's state: a format tag and version, the metric's
/// Keras configuration, and the state itself.
///
/// Encoded as JSON:
///
/// ```json
/// {"format": "tally.metric-state", "version": 1,
///  "metric": {"class_name": "Mean", "config": {"name": "mean", "dtype": "float32"}, ...},
///  "state": {"total": {"head": 16, "tail": 0}, "count": 4, "weight_total": {...}}}
/// ```
///
/// Non-finite numbers are written as the strings `"nan"`, `"inf"`, `"-inf"`.
/// Doubles are written with enough digits to read back bit for bit, and
/// counts as integers, so a saved state loads exactly.
public struct SavedState<State: Accumulator>: Codable, Sendable {
  /// The format tag of every Tally state file.
  public static var formatTag: String { "tally.metric-state" }
  /// The version this build of Tally writes and the newest it reads.
  public static var currentVersion: Int { 1 }

  /// The format tag, ``formatTag``.
  public var format: String
  /// The format version the file was written with.
  public var version: Int
  /// The metric's Keras configuration.
  public var metric: KerasConfig
  /// The accumulated state.
  public var state: State

  /// A saved state of the current version.
  public init(metric: KerasConfig, state: State) {
    (self.format, self.version) = (Self.formatTag, Self.currentVersion)
    (self.metric, self.state) = (metric, state)
  }

  /// The JSON encoder for state files.
  public static var encoder: JSONEncoder {
    let e = JSONEncoder()
    e.outputFormatting = [.sortedKeys, .withoutEscapingSlashes]
    e.nonConformingFloatEncodingStrategy = .convertToString(
      positiveInfinity: "inf", negativeInfinity: "-inf", nan: "nan")
    return e
  }

  /// The JSON decoder for state files.
  public static var decoder: JSONDecoder {
    let d = JSONDecoder()
    d.nonConformingFloatDecodingStrategy = .convertFromString(
      positiveInfinity: "inf", negativeInfinity: "-inf", nan: "nan")
    return d
  }

  /// Reads a state file, checking its format tag and version and, when
  /// `className` is given, that it holds that class's state.
  ///
  /// - Throws: ``MetricError/invalidState(_:)`` if the data is not JSON, not
  ///   a Tally state file, from a newer format version, or its state does not
  ///   have the shape of `State`.
  public init(data: Data, expecting className: String? = nil) throws(MetricError) {
    // One decode (one scan of the bytes, which matters for a 64 MB exact
    // state) that checks the envelope first, so that a foreign file gets a
    // clear message, then reads the rest.
    let decoder = Self.decoder
    if let className { decoder.userInfo[CheckedDecode.expectedClass] = className }
    do {
      self = try decoder.decode(CheckedDecode.self, from: data).saved
    } catch let stage as DecodeStage {
      switch stage {
      case .envelope(let error):
        throw .invalidState("not a Tally state file (not a JSON object): \(Self.summary(of: error))")
      case .check(let error): throw error
      case .body(let error): throw .invalidState("corrupt state file: \(Self.summary(of: error))")
      }
    } catch {
      throw .invalidState("not a Tally state file (not a JSON object): \(Self.summary(of: error))")
    }
  }

  /// Where a one-scan decode failed.
  private enum DecodeStage: Error {
    case envelope(any Error)
    case check(MetricError)
    case body(any Error)
  }

  /// The envelope, checked, then the whole file, from one decoder.
  private struct CheckedDecode: Decodable {
    /// The class the file must hold, if one is expected.
    static var expectedClass: CodingUserInfoKey { CodingUserInfoKey(rawValue: "tally.expectedClass")! }

    var saved: SavedState

    init(from decoder: any Decoder) throws {
      let envelope: SavedStateEnvelope
      do {
        envelope = try SavedStateEnvelope(from: decoder)
      } catch {
        throw DecodeStage.envelope(error)
      }
      do {
        try SavedState.check(envelope, expecting: decoder.userInfo[Self.expectedClass] as? String)
      } catch {
        throw DecodeStage.check(error)
      }
      do {
        saved = try SavedState(from: decoder)
      } catch {
        throw DecodeStage.body(error)
      }
    }
  }

  /// The envelope's format tag and version are ones this build reads, and
  /// its class the expected one.
  private static func check(_ envelope: SavedStateEnvelope, expecting className: String?) throws(MetricError) {
    guard envelope.format == Self.formatTag else {
      throw .invalidState(
        "not a Tally state file: expected format \"\(Self.formatTag)\"; received \(envelope.format.map { "\"\($0)\"" } ?? "no format tag")"
      )
    }
    guard let version = envelope.version, version >= 1, version <= Self.currentVersion else {
      throw .invalidState(
        "unsupported state format version \(envelope.version.map(String.init) ?? "(missing)"); this Tally reads versions 1...\(Self.currentVersion)"
      )
    }
    if let className, let found = envelope.metric?.className, found != className {
      throw .invalidState("the file holds the state of a \(found); expected \(className)")
    }
  }

  /// The JSON bytes.
  public func encoded() -> Data {
    // Encoding plain structs of numbers and strings cannot fail.
    (try? Self.encoder.encode(self)) ?? Data()
  }

  private static func summary(of error: any Error) -> String {
    switch error {
    case DecodingError.keyNotFound(let key, let ctx):
      "missing key \"\(key.stringValue)\" at \(path(ctx.codingPath))"
    case DecodingError.typeMismatch(let type, let ctx):
      "expected \(type) at \(path(ctx.codingPath))"
    case DecodingError.valueNotFound(let type, let ctx):
      "missing \(type) at \(path(ctx.codingPath))"
    case DecodingError.dataCorrupted(let ctx):
      "\(ctx.debugDescription) at \(path(ctx.codingPath))"
    default:
      "\(error)"
    }
  }

  private static func path(_ keys: [any CodingKey]) -> String {
    keys.isEmpty ? "top level" : keys.map(\.stringValue).joined(separator: ".")
  }
}

/// The format tag and version of a state file, read before the rest.
struct SavedStateEnvelope: Decodable {
  var format: String?
  var version: Int?
  var metric: KerasConfig?
}

extension Metric {
  /// The metric's state as a saved-state file (JSON bytes).
  ///
  /// ```swift
  /// let url = FileManager.default.temporaryDirectory.appendingPathComponent("mean.json")
  /// var m = Mean()
  /// try m.update([1, 3])
  /// try m.savedState().write(to: url)                         // on one machine
  /// var total = Mean()
  /// try total.update([5])
  /// try total.merge(Mean(savedState: Data(contentsOf: url)))  // on another
  /// total.result()   // 3.0
  /// ```
  public func savedState() -> Data {
    SavedState(metric: config, state: state).encoded()
  }

  /// Replaces this metric's state with the one saved in `data`.
  ///
  /// The file must come from the same metric class with the same
  /// configuration (the name may differ).
  ///
  /// - Throws: ``MetricError/invalidState(_:)`` for a corrupt or foreign
  ///   file, another class, or another configuration; the state is then
  ///   unchanged.
  public mutating func load(savedState data: Data) throws(MetricError) {
    let saved = try SavedState<State>(data: data, expecting: Self.className)
    guard saved.metric.withoutName == config.withoutName else {
      throw .invalidState(
        "the file's configuration \(saved.metric.withoutName.json) differs from this metric's \(config.withoutName.json)"
      )
    }
    try restore(saved.state)
  }
}

extension KerasSerializable {
  /// Rebuilds a metric, configuration and state, from a saved-state file.
  ///
  /// - Throws: ``MetricError/invalidState(_:)`` for a corrupt or foreign
  ///   file, ``MetricError/invalidConfiguration(_:)`` for a configuration
  ///   this class rejects.
  public init(savedState data: Data) throws(MetricError) {
    let saved = try SavedState<State>(data: data, expecting: Self.className)
    var m = try Self(config: saved.metric)
    try m.restore(saved.state)
    self = m
  }
}
