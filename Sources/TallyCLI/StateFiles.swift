import Foundation
import Tally

/// The file format of `--save-state` and `tally merge`.
struct EvaluationState: Codable {
  static let formatTag = "tally.evaluation-state"
  var format = EvaluationState.formatTag
  var version = 1
  /// The rows read.
  var samples: Int
  /// The global index of the first row (`--row-offset`); absent in files
  /// of earlier versions of Tally, where it is 0.
  var rowOffset: Int64?
  var metrics: [Entry]

  struct Entry: Codable {
    var name: String
    var state: JSONValue
  }

  enum CodingKeys: String, CodingKey {
    case format, version, samples, metrics
    case rowOffset = "row_offset"
  }
}

/// A loaded state file.
struct LoadedState {
  var path: String
  var samples: Int
  var rowOffset: Int64
  var metrics: [(String, any KerasSerializable)]
}

/// Reads and writes Tally state files.
enum StateFiles {
  static func load(_ path: String) throws -> LoadedState {
    guard let data = FileManager.default.contents(atPath: path) else {
      throw CommandError("cannot read state file '\(path)'")
    }
    let file: EvaluationState
    do {
      file = try JSONDecoder().decode(EvaluationState.self, from: data)
    } catch {
      throw CommandError("'\(path)' is not a tally state file (written by `tally evaluate --save-state`)")
    }
    guard file.format == EvaluationState.formatTag else {
      throw CommandError("'\(path)' is not a tally state file: format \"\(file.format)\"")
    }
    guard file.version == 1 else {
      throw CommandError("'\(path)' has state format version \(file.version); this tally reads version 1")
    }
    guard file.samples >= 0, (file.rowOffset ?? 0) >= 0 else {
      throw CommandError("'\(path)': negative row counts")
    }
    guard !(file.rowOffset ?? 0).addingReportingOverflow(Int64(file.samples)).overflow else {
      throw CommandError(
        "'\(path)': row offset \(file.rowOffset ?? 0) plus \(file.samples) samples is beyond the largest row index")
    }
    guard !file.metrics.isEmpty else { throw CommandError("'\(path)' holds no metrics") }
    if let twice = Dictionary(grouping: file.metrics.map(\.name), by: { $0 }).first(where: { $0.value.count > 1 }) {
      throw CommandError("'\(path)' holds two metrics named \"\(twice.key)\"")
    }
    var out: [(String, any KerasSerializable)] = []
    for e in file.metrics {
      let bytes = try JSONEncoder().encode(e.state)
      guard case .object(let o) = e.state, let metric = o["metric"] else {
        throw CommandError("'\(path)': metric \(e.name) has no class")
      }
      do {
        let config = try JSONDecoder().decode(KerasConfig.self, from: JSONEncoder().encode(metric))
        let type = try MetricRegistry.serializableType(for: config)
        out.append((e.name, try type.init(savedState: bytes)))
      } catch {
        throw CommandError("'\(path)': metric \(e.name): \(error)")
      }
    }
    return LoadedState(path: path, samples: file.samples, rowOffset: file.rowOffset ?? 0, metrics: out)
  }

  static func write(_ path: String, samples: Int, rowOffset: Int64, metrics: [(String, any Metric)]) throws {
    var entries: [EvaluationState.Entry] = []
    for (name, m) in metrics {
      let json = try JSONDecoder().decode(JSONValue.self, from: m.savedState())
      entries.append(.init(name: name, state: json))
    }
    let encoder = JSONEncoder()
    encoder.outputFormatting = [.sortedKeys]
    let data = try encoder.encode(
      EvaluationState(samples: samples, rowOffset: rowOffset == 0 ? nil : rowOffset, metrics: entries))
    if path == "-" {
      // Standard output: an engine's worker reads the state from the pipe.
      FileHandle.standardOutput.write(data + Data("\n".utf8))
      return
    }
    try writeFileSafely(path, data)
  }

  /// Refuses bootstrapped shards whose rows overlap: their replicate weights
  /// would be drawn twice for the same global rows.
  static func checkDisjointRows(_ files: [LoadedState]) throws {
    let ranges = files.filter { f in f.samples > 0 && f.metrics.contains { holdsBootstrap($0.1) } }
      .map { (path: $0.path, lo: $0.rowOffset, hi: $0.rowOffset + Int64($0.samples)) }
      .sorted { $0.lo < $1.lo }
    for (a, b) in zip(ranges, ranges.dropFirst()) where b.lo < a.hi {
      throw CommandError(
        "'\(a.path)' holds rows \(a.lo)..<\(a.hi) and '\(b.path)' rows \(b.lo)..<\(b.hi): bootstrapped shards must cover disjoint rows (give each shard its --row-offset)"
      )
    }
  }
}
