import Foundation
@_spi(Internals) import Tally

/// The file format of `--save-state` and `tally merge`: one JSON object,
/// `{"format": "tally.evaluation-state", "metrics": [{"name": ..., "state":
/// <the metric's saved state>}, ...], "row_offset": N, "samples": N,
/// "version": 1}` (`row_offset` only when not 0; absent in files of earlier
/// versions of Tally, where it is 0).
enum EvaluationState {
  static let formatTag = "tally.evaluation-state"
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
  /// The fields of a state file beside its metrics.
  private struct Header: Decodable {
    var format: String
    var version: Int
    var samples: Int
    var rowOffset: Int64?

    enum CodingKeys: String, CodingKey {
      case format, version, samples
      case rowOffset = "row_offset"
    }
  }

  /// Reads a state file. Each metric's state is handed to its class as the
  /// bytes it has in the file (found by ``JSONSpans``, not decoded as a
  /// JSON tree and encoded again), so a state of millions of distinct
  /// scores loads at the speed of its own decoder.
  static func load(_ path: String) throws -> LoadedState {
    guard let data = FileManager.default.contents(atPath: path) else {
      throw CommandError("cannot read state file '\(path)'")
    }
    let notStateFile = CommandError("'\(path)' is not a tally state file (written by `tally evaluate --save-state`)")
    let spans = JSONSpans(data)
    let header: Header
    var entries: [(name: String, state: Range<Int>)] = []
    do {
      let top = try spans.members()
      guard Set(top.map(\.key)).count == top.count, let metrics = top.first(where: { $0.key == "metrics" })
      else { throw notStateFile }
      // The other fields, decoded (and so type-checked) as one object.
      var rest = Data("{".utf8)
      for (k, m) in top.filter({ $0.key != "metrics" }).enumerated() {
        if k > 0 { rest.append(UInt8(ascii: ",")) }
        rest.append(try JSONEncoder().encode(m.key))
        rest.append(UInt8(ascii: ":"))
        rest.append(spans.data(m.value))
      }
      rest.append(UInt8(ascii: "}"))
      header = try JSONDecoder().decode(Header.self, from: rest)
      for element in try spans.elements(of: metrics.value) {
        let members = try spans.members(of: element)
        guard Set(members.map(\.key)).count == members.count,
          let name = members.first(where: { $0.key == "name" }),
          let state = members.first(where: { $0.key == "state" })
        else { throw notStateFile }
        entries.append((try JSONDecoder().decode(String.self, from: spans.data(name.value)), state.value))
      }
    } catch {
      throw notStateFile
    }
    guard header.format == EvaluationState.formatTag else {
      throw CommandError("'\(path)' is not a tally state file: format \"\(header.format)\"")
    }
    guard header.version == 1 else {
      throw CommandError("'\(path)' has state format version \(header.version); this tally reads version 1")
    }
    guard header.samples >= 0, (header.rowOffset ?? 0) >= 0 else {
      throw CommandError("'\(path)': negative row counts")
    }
    guard !(header.rowOffset ?? 0).addingReportingOverflow(Int64(header.samples)).overflow else {
      throw CommandError(
        "'\(path)': row offset \(header.rowOffset ?? 0) plus \(header.samples) samples is beyond the largest row index")
    }
    guard !entries.isEmpty else { throw CommandError("'\(path)' holds no metrics") }
    if let twice = Dictionary(grouping: entries.map(\.name), by: { $0 }).first(where: { $0.value.count > 1 }) {
      throw CommandError("'\(path)' holds two metrics named \"\(twice.key)\"")
    }
    var out: [(String, any KerasSerializable)] = []
    for e in entries {
      guard let members = try? spans.members(of: e.state), let metric = members.first(where: { $0.key == "metric" })
      else {
        throw CommandError("'\(path)': metric \(e.name) has no class")
      }
      do {
        let config = try JSONDecoder().decode(KerasConfig.self, from: spans.data(metric.value))
        let type = try MetricRegistry.serializableType(for: config)
        out.append((e.name, try type.init(savedState: spans.data(e.state))))
      } catch {
        throw CommandError("'\(path)': metric \(e.name): \(error)")
      }
    }
    return LoadedState(path: path, samples: header.samples, rowOffset: header.rowOffset ?? 0, metrics: out)
  }

  /// Writes a state file: each metric's ``Metric/savedState()`` bytes as
  /// they are, inside the file's object (keys in sorted order, as before).
  static func write(_ path: String, samples: Int, rowOffset: Int64, metrics: [(String, any Metric)]) throws {
    let encoder = JSONEncoder()
    encoder.outputFormatting = [.withoutEscapingSlashes]
    var data = Data(#"{"format":"\#(EvaluationState.formatTag)","metrics":["#.utf8)
    for (k, (name, m)) in metrics.enumerated() {
      if k > 0 { data.append(UInt8(ascii: ",")) }
      data.append(contentsOf: #"{"name":"#.utf8)
      data.append(try encoder.encode(name))
      data.append(contentsOf: #","state":"#.utf8)
      data.append(m.savedState())
      data.append(UInt8(ascii: "}"))
    }
    data.append(contentsOf: "],".utf8)
    if rowOffset != 0 { data.append(contentsOf: #""row_offset":\#(rowOffset),"#.utf8) }
    data.append(contentsOf: #""samples":\#(samples),"version":1}"#.utf8)
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
