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

/// Half of the mutations keep the document JSON and change one value (see
/// `mutateJSON`); the others are libFuzzer's own, on the bytes.
@_cdecl("LLVMFuzzerCustomMutator")
public func customMutator(_ data: UnsafeMutablePointer<UInt8>, _ size: Int, _ maxSize: Int, _ seed: UInt32) -> Int {
  var random = MutationRandom(seed)
  if random.below(2) == 0, let n = mutateJSON(data, size, maxSize, &random, classNames: classNames) { return n }
  return libFuzzerMutate(data, size, maxSize)
}

/// The class names a string may be replaced with.
let classNames =
  MetricRegistry.classes.keys.sorted() + ["Sliced", "Bootstrapped"] + MetricRegistry.functions.keys.sorted()
