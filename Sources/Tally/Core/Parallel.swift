//===--- Parallel.swift ---------------------------------------------------===//
//
// The kernels' threads: a fork-join map over contiguous ranges of a batch,
// split across cores, and the buffer views its workers share.
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

/// Work below this many elements stays on one core.
let parallelThreshold = 1 << 17

/// Splits `0..<n` into at most `parts` contiguous ranges.
func chunks(_ n: Int, parts: Int) -> [Range<Int>] {
  let p = max(1, min(parts, n / max(1, parallelThreshold / 2)))
  return (0..<p).map { k in (n * k / p)..<(n * (k + 1) / p) }
}

/// The number of cores to use.
let activeCores = max(1, min(ProcessInfoCores.count, 64))

/// The operating system's count of online cores.
enum ProcessInfoCores {
  /// Online cores (`sysconf(_SC_NPROCESSORS_ONLN)`), or 1 where unknown.
  static var count: Int {
    #if canImport(Glibc) || canImport(Darwin) || canImport(Musl)
      return Int(sysconf(Int32(_SC_NPROCESSORS_ONLN)))
    #else
      return 1
    #endif
  }
}

/// Runs `body` on each range of `0..<n`, in parallel for large `n`, and
/// returns the results in range order.
func parallelMap<R: Sendable>(_ n: Int, _ body: @Sendable (Range<Int>) -> R) -> [R] {
  let ranges = chunks(n, parts: activeCores)
  if ranges.count == 1 { return [body(ranges[0])] }
  let results = UnsafeMutableBufferPointer<R?>.allocate(capacity: ranges.count)
  results.initialize(repeating: nil)
  defer { results.deallocate() }
  let box = UnsafeSendableBox(results)
  DispatchQueue.concurrentPerform(iterations: ranges.count) { k in
    box.value[k] = body(ranges[k])
  }
  return results.map { $0! }
}

/// Shares a buffer whose disjoint elements are written by different
/// threads.
struct UnsafeSendableBox<T>: @unchecked Sendable {
  let value: UnsafeMutableBufferPointer<T>
  init(_ value: UnsafeMutableBufferPointer<T>) { self.value = value }
}

/// A typed read-only view shared across threads for the lifetime of a call.
struct SharedBuffer<T>: @unchecked Sendable {
  let base: UnsafeBufferPointer<T>
}
