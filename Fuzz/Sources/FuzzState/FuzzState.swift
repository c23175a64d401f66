//===--- FuzzState.swift --------------------------------------------------===//
//
// libFuzzer harness: the input is a state file. Either a metric's saved
// state (`{"format": "tally.metric-state", ...}`, read with the class its
// `metric` names, as `init(savedState:)`), or a `tally evaluate
// --save-state` file (`{"format": "tally.evaluation-state", "metrics":
// [...]}`), whose entries are found as the CLI finds them (`JSONSpans`,
// whose bounds are fuzzed on every input) and read with the library calls
// the CLI makes (its loader lives in the executable target and cannot be
// imported). Loading must return or throw a
// `MetricError`; a loaded metric is driven through results, reload, merges
// and updates (see `exercise`), none of which may trap.
//
//===----------------------------------------------------------------------===//

import Foundation
import FuzzSupport
@_spi(Internals) import Tally

/// The part of a metric state file that names its metric.
struct Envelope: Decodable {
  var metric: KerasConfig?
}

@_cdecl("LLVMFuzzerTestOneInput")
public func fuzz(_ data: UnsafePointer<UInt8>, _ size: Int) -> CInt {
  let bytes = Data(bytes: data, count: size)
  // tally.evaluation-state: the entries found as the CLI finds them
  // (JSONSpans, on every input), each entry's state handed over as its
  // bytes in the file.
  let spans = JSONSpans(bytes)
  let top: [(key: String, value: Range<Int>)]
  do {
    top = try spans.members()
  } catch {
    note("not an object: \(error)")
    return 0
  }
  if let metrics = top.first(where: { $0.key == "metrics" }) {
    guard let entries = try? spans.elements(of: metrics.value) else { return 0 }
    for entry in entries.prefix(16) {
      guard let members = try? spans.members(of: entry), let state = members.first(where: { $0.key == "state" }),
        let inner = try? spans.members(of: state.value), let metric = inner.first(where: { $0.key == "metric" }),
        let config = try? JSONDecoder().decode(KerasConfig.self, from: spans.data(metric.value))
      else { continue }
      load(spans.data(state.value), config)
    }
  } else if let config = (try? JSONDecoder().decode(Envelope.self, from: bytes))?.metric {
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
