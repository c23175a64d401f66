//===--- MetricDriver.swift -----------------------------------------------===//
//
// Drives any metric, however it was made (a fuzzed configuration or a
// fuzzed state file), through everything a user can do with it: read its
// result, intervals and slices, save and reload its state, merge, update
// with small batches. Every call must return or throw a `MetricError`;
// the invariants below are the library's documented promises.
//
//===----------------------------------------------------------------------===//

import Foundation
import Tally

/// Small batches of labels, predictions and weights, in the shapes the
/// metric families take (binary scores, one-hot rows, class ids, a column).
let predictionBatches: [(yTrue: Tensor, yPred: Tensor, weight: Tensor?)] = {
  do {
    let scores = Tensor([Float(0.1), 0.9, 0.6, 0.4])
    let rows = try Tensor([[Float(0.2), 0.8], [0.7, 0.3]])
    return [
      (Tensor([Float(0), 1, 1, 0]), scores, nil),
      (Tensor([Float(0), 1, 1, 0]), scores, Tensor([Float(1), 0.5, 0, 2])),
      (try Tensor([[Float(0), 1], [1, 0]]), rows, nil),
      (Tensor([Int32(1), 0]), rows, Tensor([2.0, 1.0])),
      (try Tensor([[Float(1)], [0], [1]]), try Tensor([[Float(0.7)], [0.2], [0.4]]), nil),
    ]
  } catch {
    fatalError("fuzz harness: bad fixed batch: \(error)")
  }
}()

/// Values (and weights) for metrics of values (`Mean`, `Sum`).
let valueBatches: [(values: Tensor, weight: Tensor?)] = {
  do {
    return [
      (Tensor([1.0, 3, 5]), nil),
      (Tensor([1.0, 3, 5]), Tensor([1.0, 0, 2])),
      (try Tensor([[Float(1), 2], [3, 4]]), nil),
    ]
  } catch {
    fatalError("fuzz harness: bad fixed batch: \(error)")
  }
}()

/// Everything that reads a metric without changing it.
func read(_ metric: any Metric) {
  _ = metric.result()
  _ = metric.config.json
  if let m = metric as? any IntervalEstimating {
    for confidence in [0.95, 0.5, 0, 1, .nan] { _ = try? m.interval(confidence: confidence) }
  }
  if let m = metric as? any SlicedMetric {
    _ = m.overallMetric.result()
    for slice in m.erasedSliceResults {
      _ = slice.value
      if let inner = slice.metric as? any IntervalEstimating { _ = try? inner.interval(confidence: 0.9) }
    }
  }
}

/// Drives `metric` through results, save and reload, merges and updates.
///
/// `metric` is what a loader returned: a metric whose state passed
/// `restore`, so (the library promises) nothing done with it may trap.
public func exercise<M: KerasSerializable>(_ metric: M) {
  read(metric)

  // A state Tally wrote reads back to the same state.
  let saved = metric.savedState()
  do {
    let back = try M(savedState: saved)
    invariant(
      back.savedState() == saved,
      "\(M.className): the saved state changed on reloading:\n\(text(saved))\n\(text(back.savedState()))")
    invariant(bits(back.result()) == bits(metric.result()), "\(M.className): the result changed on reloading")
  } catch {
    invariant(false, "\(M.className) cannot read the state it wrote (\(error)):\n\(text(saved))")
  }

  // Its configuration reads back to the same configuration.
  do {
    let again = try MetricRegistry.deserialize(metric.config)
    invariant(
      again.config == metric.config,
      "\(M.className): configuration \(metric.config.json) reads back as \(again.config.json)")
  } catch {
    invariant(false, "\(M.className) cannot read the configuration it wrote (\(error)): \(metric.config.json)")
  }

  // Merging: into an empty copy (the identity), and with itself.
  var empty = metric
  empty.reset()
  read(empty)
  do {
    try empty.merge(metric)
    read(empty)
  } catch {
    // Merging into the empty state may only fail on a limit (it cannot
    // overflow a count): report anything else.
    invariant(false, "\(M.className): merging into an empty copy failed: \(error)")
  }
  var twice = metric
  if (try? twice.merge(metric)) != nil { read(twice) }

  // Updates, each either applied or refused with the state unchanged.
  var updated = metric
  update(&updated)
  read(updated)
  var merged = metric
  if (try? merged.merge(updated)) != nil { read(merged) }
  _ = updated.savedState()
}

/// Applies every small batch to `metric` in turn.
func update<M: Metric>(_ metric: inout M) {
  if var m = metric as? any SlicedMetric {
    updateSlices(&m)
    if let back = m as? M { metric = back }
  }
  if var m = metric as? any PredictionMetric {
    updatePredictions(&m)
    if let back = m as? M { metric = back }
  }
  if var m = metric as? any ValueMetric {
    updateValues(&m)
    if let back = m as? M { metric = back }
  }
}

func updateSlices<M: SlicedMetric>(_ m: inout M) {
  for (i, b) in predictionBatches.enumerated() {
    let n = b.yTrue.shape.first ?? 1
    let keys = SliceColumn((0..<n).map { Int64($0 % 2) })
    guard let slices = try? SliceBatch([keys]) else { continue }
    refused(&m) { (m) throws(MetricError) in
      try m.update(
        yTrue: b.yTrue, yPred: b.yPred, sampleWeight: b.weight, slices: slices,
        rows: .contiguous(first: Int64(i * 8), count: n))
    }
  }
}

func updatePredictions<M: PredictionMetric>(_ m: inout M) {
  for (i, b) in predictionBatches.enumerated() {
    let n = b.yTrue.shape.first ?? 1
    refused(&m) { (m) throws(MetricError) in
      try m.update(
        yTrue: b.yTrue, yPred: b.yPred, sampleWeight: b.weight, rows: .contiguous(first: Int64(100 + i * 8), count: n))
    }
  }
  // Row indices near the end of Int64.
  refused(&m) { (m) throws(MetricError) in
    try m.update(
      yTrue: predictionBatches[0].yTrue, yPred: predictionBatches[0].yPred, sampleWeight: nil,
      rows: .contiguous(first: Int64.max - 2, count: 4))
  }
}

func updateValues<M: ValueMetric>(_ m: inout M) {
  for b in valueBatches {
    refused(&m) { (m) throws(MetricError) in try m.update(b.values, sampleWeight: b.weight) }
  }
}

/// Applies `body`; if it throws, the state must be what it was (compared
/// with `==`, or as saved JSON when the state holds a NaN).
func refused<M: Metric>(_ m: inout M, _ body: (inout M) throws(MetricError) -> Void) {
  let before = m.state
  do {
    try body(&m)
  } catch {
    let same =
      before == before ? m.state == before : SavedState(metric: m.config, state: before).encoded() == m.savedState()
    invariant(same, "\(M.className): a refused update changed the state (\(error))")
  }
}

func text(_ data: Data) -> String { String(decoding: data.prefix(2000), as: UTF8.self) }
