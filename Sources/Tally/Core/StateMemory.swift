//===--- StateMemory.swift ------------------------------------------------===//
//
// The limit on one metric's state, checked before anything is allocated:
// sizes that come from a configuration or a state file (thresholds, labels,
// classes, bins, replicates) are trusted only up to it.
//
//===----------------------------------------------------------------------===//

import Dispatch

#if canImport(Glibc)
  import Glibc
#elseif canImport(Musl)
  import Musl
#elseif canImport(Darwin)
  import Darwin
#endif

/// The most memory one metric's state may take. A configuration whose
/// sizes need more (`AUC(num_thresholds: 1_000_000_000)`, `MeanIoU` of
/// 100,000 classes, a bootstrap of a large state) is refused with
/// ``MetricError/invalidConfiguration(_:)`` naming the value and the limit,
/// before anything is allocated.
///
/// The default is a quarter of physical memory; raise it on purpose with
/// ``limit`` (`tally --max-state-memory`), or for one task with
/// ``withLimit(_:_:)``.
///
/// ```swift
/// StateMemory.limit > 0                                   // true
/// (try? AUC(numThresholds: 1 << 40)) == nil               // true: far beyond the limit
/// ```
public enum StateMemory {
  private static let storage = LockedValue(StateMemory.defaultLimit)

  @TaskLocal private static var scoped: Int?

  /// The limit in bytes: the process's, or the one ``withLimit(_:_:)``
  /// sets for the calling task.
  public static var limit: Int {
    get { scoped ?? storage.value }
    set { storage.value = max(0, newValue) }
  }

  /// Runs `body` with `bytes` as the limit for the calling task only (the
  /// process's limit, and other tasks', unchanged).
  public static func withLimit<R>(_ bytes: Int, _ body: () throws -> R) rethrows -> R {
    try $scoped.withValue(max(0, bytes), operation: body)
  }

  /// A quarter of physical memory (1 GiB where it is unknown).
  public static var defaultLimit: Int {
    #if canImport(Glibc) || canImport(Musl) || canImport(Darwin)
      let pages = sysconf(Int32(_SC_PHYS_PAGES))
      let size = sysconf(Int32(_SC_PAGESIZE))
      if pages > 0, size > 0 {
        let (bytes, overflow) = Int(pages).multipliedReportingOverflow(by: Int(size))
        return overflow ? Int.max / 4 : bytes / 4
      }
    #endif
    return 1 << 30
  }

  /// Checks that `count` items of `bytesPerItem` bytes (counts multiplied
  /// with overflow checks) fit the limit.
  ///
  /// - Throws: ``MetricError/invalidConfiguration(_:)`` naming `what`.
  static func check(_ counts: [Int], bytesPerItem: Int, _ what: @autoclosure () -> String) throws(MetricError) {
    var total = bytesPerItem
    var overflow = false
    for c in counts {
      let (p, o) = total.multipliedReportingOverflow(by: max(c, 0))
      (total, overflow) = (p, overflow || o)
    }
    let limit = Self.limit
    guard !overflow, total <= limit else {
      throw .invalidConfiguration(
        "\(what()) needs \(overflow ? "more than \(describeBytes(Int.max))" : describeBytes(total)) of state; the limit is \(describeBytes(limit)) (raise it with --max-state-memory, or StateMemory.limit in code, if this is meant)"
      )
    }
  }
}

/// Bytes in the largest binary unit that keeps a number ≥ 1 (`1.5 GiB`).
func describeBytes(_ n: Int) -> String {
  let units = ["bytes", "KiB", "MiB", "GiB", "TiB", "PiB", "EiB"]
  var value = Double(n)
  var unit = 0
  while value >= 1024, unit < units.count - 1 {
    value /= 1024
    unit += 1
  }
  if unit == 0 { return "\(n) bytes" }
  let rounded = (value * 10).rounded() / 10
  return rounded == rounded.rounded() ? "\(Int(rounded)) \(units[unit])" : "\(rounded) \(units[unit])"
}

/// A value read and written under a lock.
final class LockedValue<T: Sendable>: @unchecked Sendable {
  private var stored: T
  private let lock = DispatchSemaphore(value: 1)

  init(_ value: T) { stored = value }

  var value: T {
    get {
      lock.wait()
      defer { lock.signal() }
      return stored
    }
    set {
      lock.wait()
      defer { lock.signal() }
      stored = newValue
    }
  }
}

/// A metric whose state's size follows from its configuration (thresholds,
/// labels, classes): what a wrapper holding many of its states (a
/// bootstrap's replicates) checks against ``StateMemory/limit``.
protocol StateSizeEstimating {
  /// The bytes of a state after updates (its arrays built).
  var estimatedStateBytes: Int { get }
}

/// The bytes of `metric`'s state after updates: its own estimate, or the
/// state's inline size for states without arrays that grow with the
/// configuration.
func estimatedStateBytes<M: Metric>(_ metric: M) -> Int {
  (metric as? any StateSizeEstimating)?.estimatedStateBytes ?? MemoryLayout<M.State>.stride
}

/// `a · b · c`, or `Int.max` when it overflows.
func saturatingProduct(_ factors: Int...) -> Int {
  var total = 1
  for f in factors {
    let (p, o) = total.multipliedReportingOverflow(by: max(f, 0))
    if o { return .max }
    total = p
  }
  return total
}

extension AUC: StateSizeEstimating {
  /// Four compensated sums per threshold and label.
  var estimatedStateBytes: Int {
    saturatingProduct(numThresholds, max(numLabels ?? 1, 1), 4 * MemoryLayout<CompensatedSum>.stride)
  }
}

extension IntersectionOverUnion: StateSizeEstimating {
  /// A compensated sum per pair of classes.
  var estimatedStateBytes: Int {
    saturatingProduct(core.numClasses, core.numClasses, MemoryLayout<CompensatedSum>.stride)
  }
}

extension Bootstrapped: StateSizeEstimating {
  /// The point's state and every replicate's.
  var estimatedStateBytes: Int { saturatingProduct(replicas.count + 1, Tally.estimatedStateBytes(point)) }
}

extension OperatingPoint: StateSizeEstimating {
  /// Four compensated sums per threshold.
  var estimatedStateBytes: Int { saturatingProduct(numThresholds, 4 * MemoryLayout<CompensatedSum>.stride) }
}
