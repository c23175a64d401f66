//===--- FuzzState.swift --------------------------------------------------===//
//
// libFuzzer harness: the input is a state file. Either a metric's saved
// state (`{"format": "tally.metric-state", ...}`, read with the class its
// `metric` names, as `init(savedState:)`), or a `tally evaluate
// --save-state` file (`{"format": "tally.evaluation-state", "metrics":
// [...]}`), whose entries are read the way the CLI reads them (the CLI's
// own loader lives in the executable target and cannot be imported; this
// repeats its library calls). Loading must return or throw a
// `MetricError`; a loaded metric is driven through results, reload, merges
// and updates (see `exercise`), none of which may trap.
//
//===----------------------------------------------------------------------===//

import Foundation
import FuzzSupport
import Tally

/// The part of a state file that names its metric.
struct Envelope: Decodable {
  var format: String?
  var metric: KerasConfig?
  var metrics: [Entry]?

  struct Entry: Decodable {
    var name: String
    var state: JSONValue
  }
}

@_cdecl("LLVMFuzzerTestOneInput")
public func fuzz(_ data: UnsafePointer<UInt8>, _ size: Int) -> CInt {
  let bytes = Data(bytes: data, count: size)
  let envelope: Envelope
  do {
    envelope = try JSONDecoder().decode(Envelope.self, from: bytes)
  } catch {
    note("not a state file: \(error)")
    return 0
  }
  if let entries = envelope.metrics {
    // tally.evaluation-state: each entry's state is a metric state file.
    for entry in entries.prefix(16) {
      guard case .object(let o) = entry.state, let metric = o["metric"],
        let state = try? JSONEncoder().encode(entry.state),
        let config = try? JSONDecoder().decode(KerasConfig.self, from: JSONEncoder().encode(metric))
      else { continue }
      load(state, config)
    }
  } else if let config = envelope.metric {
    load(bytes, config)
  }
  return 0
}

func load(_ state: Data, _ config: KerasConfig) {
  let metric: any KerasSerializable
  do {
    metric = try MetricRegistry.serializableType(for: config).init(savedState: state)
  } catch {
    note("refused: \(error)")
    return
  }
  note("loaded \(type(of: metric).className) \(metric.result())")
  exercise(metric)
}

/// Half of the mutations keep the document JSON (``mutateJSONDocument``).
@_cdecl("LLVMFuzzerCustomMutator")
public func customMutator(_ data: UnsafeMutablePointer<UInt8>, _ size: Int, _ maxSize: Int, _ seed: UInt32) -> Int {
  mutateJSONDocument(data, size, maxSize, seed)
}
