//===--- FuzzConfig.swift -------------------------------------------------===//
//
// libFuzzer harness: the input is a metric configuration, Keras's
// serialized form (`{"class_name": "AUC", "config": {...}}`), or, when it
// does not start with `{`, a string identifier (`"mae"`). Reading it must
// return a metric or throw a `MetricError`; a metric it returns is driven
// through updates, results, save and reload, and merges (see
// `exercise`), none of which may trap.
//
//===----------------------------------------------------------------------===//

import FuzzSupport
import Tally

@_cdecl("LLVMFuzzerTestOneInput")
public func fuzz(_ data: UnsafePointer<UInt8>, _ size: Int) -> CInt {
  let text = String(decoding: UnsafeBufferPointer(start: data, count: size), as: UTF8.self)
  let metric: any KerasSerializable
  do {
    if text.first == "{" {
      metric = try MetricRegistry.deserialize(KerasConfig(json: text))
    } else {
      metric = try MetricRegistry.get(text)
    }
  } catch {
    note("refused: \(error)")
    return 0
  }
  note("loaded \(metric.config.json)")
  exercise(metric)
  return 0
}

/// Half of the mutations keep the document JSON (``mutateJSONDocument``).
@_cdecl("LLVMFuzzerCustomMutator")
public func customMutator(_ data: UnsafeMutablePointer<UInt8>, _ size: Int, _ maxSize: Int, _ seed: UInt32) -> Int {
  mutateJSONDocument(data, size, maxSize, seed)
}
