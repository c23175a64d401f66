//===--- Parallel.swift ---------------------------------------------------===//
//
// The kernels' threads and unsafe memory, in one place: a fork-join map over
// contiguous ranges of a batch, split across cores (its rounds on the
// spinning threads of CTallyKernels' TallyPool.h, or Dispatch's when another
// round holds them; `tally evaluate`'s per-core jobs on the same threads),
// and the buffer views its workers share. Every access to a caller's buffer,
// and every unaligned vector load or store, is a method here that asserts
// its indices are in range (checked in debug builds, free in release), in
// the spirit of swift-collections' `_UnsafeHandle`: kernels do no pointer
// arithmetic. (The count arrays a kernel owns it indexes as typed buffers,
// whose subscripts the standard library checks in debug builds as well.)
// Last, the 4-lane steps that the accuracy and confusion-matrix kernels
// share.
//
//===----------------------------------------------------------------------===//

import CTallyKernels
import Dispatch

#if canImport(Glibc)
  import Glibc
#elseif canImport(Musl)
  import Musl
#elseif canImport(Darwin)
  import Darwin
#endif

//===--- Threads ----------------------------------------------------------===//

/// Work below this many elements stays on one core.
let parallelThreshold = 1 << 17

/// Splits `0..<n` into at most `parts` contiguous ranges of at least half
/// `parallelThreshold` elements each, an item being `itemSize` elements (a
/// row of `C` class scores is `C`).
func chunks(_ n: Int, parts: Int, itemSize: Int = 1) -> [Range<Int>] {
  let (product, overflow) = n.multipliedReportingOverflow(by: max(1, itemSize))
  let elements = overflow ? Int.max : product
  let p = max(1, min(parts, n, elements / max(1, parallelThreshold / 2)))
  return (0..<p).map { k in (n * k / p)..<(n * (k + 1) / p) }
}

/// The number of cores to use: the machine's, or 1 on a thread that is
/// already one of several working at once (see ``WorkerThreads``).
var activeCores: Int { WorkerThreads.isWorker ? 1 : machineCores }

/// The machine's online cores, at most 64.
let machineCores = max(1, min(ProcessInfoCores.count, 64))

/// Marks the threads of a fork-join round, so that work they start stays on
/// them: `tally evaluate` gives each core a chunk, and a kernel that split
/// its chunk again would only make more partial results (a histogram, a set
/// of replicate counters) to zero and add up, since the cores are busy.
/// The parts a kernel makes can change with this, as they change with the
/// number of cores: counts and exact states not at all, compensated sums
/// (MSE, MAE, ...) by at most 1 ulp, as across any other split of the rows.
enum WorkerThreads {
  private static let key: pthread_key_t = {
    var k = pthread_key_t()
    let status = pthread_key_create(&k, nil)
    precondition(status == 0, "pthread_key_create failed: \(status)")
    return k
  }()

  /// Whether this thread runs inside a fork-join round.
  static var isWorker: Bool { pthread_getspecific(key) != nil }

  /// `body` with this thread marked as a worker.
  static func run<R, E: Error>(_ body: () throws(E) -> R) throws(E) -> R {
    let previous = pthread_getspecific(key)
    pthread_setspecific(key, UnsafeRawPointer(bitPattern: 1))
    defer { pthread_setspecific(key, previous) }
    return try body()
  }
}

/// Runs `body` as one of several threads working at once: the library's
/// kernels it calls do not split their work across cores again (for a
/// caller that gives each core its own batch, as `tally evaluate` does).
@_spi(Internals) public func asWorkerThread<R, E: Error>(_ body: () throws(E) -> R) throws(E) -> R {
  try WorkerThreads.run(body)
}

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

/// Runs `body` on each range of `0..<n`, in parallel when the items hold
/// enough elements (`itemSize` each), and returns the results in range
/// order.
func parallelMap<R: Sendable>(_ n: Int, itemSize: Int = 1, _ body: @Sendable (Range<Int>) -> R) -> [R] {
  let ranges = chunks(n, parts: activeCores, itemSize: itemSize)
  assert(isPartition(ranges, of: n), "parallelMap: \(ranges) do not partition 0..<\(n)")
  return parallelMap(ranges: ranges, body)
}

/// Runs `body` on each of `ranges`, one task per range, in parallel, and
/// returns the results in range order.
func parallelMap<R: Sendable>(ranges: [Range<Int>], _ body: @Sendable (Range<Int>) -> R) -> [R] {
  if ranges.count <= 1 || WorkerThreads.isWorker { return ranges.map(body) }
  let results = UnsafeMutableBufferPointer<R?>.allocate(capacity: ranges.count)
  results.initialize(repeating: nil)
  defer {
    // The results hold arrays: deinitialize them, or they leak.
    results.deinitialize()
    results.deallocate()
  }
  let box = UnsafeSendableBox(results)
  runParts(ranges.count) { k in box[k] = body(ranges[k]) }
  return results.map { $0! }
}

/// Runs `body(k)` for each k in `0..<n` across the cores, each on a thread
/// marked as a worker (``asWorkerThread(_:)``), and returns the results in
/// order, or the first error in order (one job runs on the caller, as it
/// is, its kernels free to split it): the rounds of a caller that gives
/// each core its own job, such as `tally evaluate`'s chunks, on the same
/// threads as the kernels' rounds.
@_spi(Internals) public func concurrentJobs<T: Sendable, E: Error>(_ n: Int, _ body: @Sendable (Int) throws(E) -> T)
  throws(E) -> [T]
{
  guard n > 1 else { return try (0..<n).map(body) }
  let results = parallelMap(ranges: (0..<n).map { $0..<($0 + 1) }) { r in
    Result { () throws(E) -> T in try body(r.lowerBound) }
  }
  return try results.map { r throws(E) -> T in try r.get() }
}

/// Starts the threads of the cores' rounds now, instead of at the first
/// round: a thread started when a round begins took 2–3 ms to get a core
/// of its own here, while the caller ran the round's other parts (a
/// program that will use them, such as `tally`, starts them first thing).
@_spi(Internals) public func startWorkerThreads() { _ = tally_pool_start(machineCores) }

/// Runs `part(k)` for each k in `0..<parts` at once across the cores, each
/// as a worker (``WorkerThreads``), and returns when all are done: on the
/// pool of TallyPool.h, whose threads wait for the next round spinning
/// (a round of a 1 M-row batch takes about as long as waking a sleeping
/// thread), or on Dispatch's threads when another round holds the pool.
func runParts(_ parts: Int, _ part: @Sendable (Int) -> Void) {
  withoutActuallyEscaping(part) { part in
    let marked: @Sendable (Int) -> Void = { k in WorkerThreads.run { part(k) } }
    var context = marked
    let pooled = withUnsafeMutablePointer(to: &context) { context in
      tally_pool_run(
        { context, k in context!.assumingMemoryBound(to: (@Sendable (Int) -> Void).self).pointee(k) }, context,
        parts, machineCores)
    }
    if pooled == 0 { DispatchQueue.concurrentPerform(iterations: parts, execute: marked) }
  }
}

/// Whether `ranges` are contiguous, in order, and cover exactly `0..<n`.
func isPartition(_ ranges: [Range<Int>], of n: Int) -> Bool {
  guard let first = ranges.first, let last = ranges.last else { return false }
  return first.lowerBound == 0 && last.upperBound == n
    && zip(ranges, ranges.dropFirst()).allSatisfy { $0.upperBound == $1.lowerBound }
}

/// A value for tasks on other cores whose type the compiler cannot see to
/// be `Sendable` (such as a closure over values only); whoever wraps it
/// vouches that it is safe to share.
struct UncheckedSendable<T>: @unchecked Sendable {
  let value: T
  init(_ value: T) { self.value = value }
}

//===--- Shared buffers ---------------------------------------------------===//

/// A mutable buffer whose disjoint elements are written by different
/// threads (or by one kernel), read and written only through asserted
/// element and vector access.
struct UnsafeSendableBox<T>: @unchecked Sendable {
  private let value: UnsafeMutableBufferPointer<T>

  /// A view of `value`, which must outlive every use of the view.
  init(_ value: UnsafeMutableBufferPointer<T>) { self.value = value }

  /// The element at `i`, which must lie in the buffer.
  @inline(__always)
  subscript(i: Int) -> T {
    get {
      assert(i >= 0 && i < value.count, "index \(i) outside 0..<\(value.count)")
      return value[i]
    }
    nonmutating set {
      assert(i >= 0 && i < value.count, "index \(i) outside 0..<\(value.count)")
      value[i] = newValue
    }
  }

  /// Elements `i..<i + V.scalarCount` as the lanes of one vector (an
  /// unaligned load); they must lie in the buffer.
  @inline(__always)
  func load<V: SIMD>(_: V.Type, at i: Int) -> V where V.Scalar == T {
    assert(i >= 0 && i <= value.count - V.scalarCount, "\(V.self) at \(i) outside 0..<\(value.count)")
    return UnsafeRawPointer(value.baseAddress.unsafelyUnwrapped)
      .loadUnaligned(fromByteOffset: i &* MemoryLayout<T>.stride, as: V.self)
  }

  /// The address of element `i` (which must lie in the buffer), for a C
  /// kernel that writes there.
  @inline(__always)
  func address(_ i: Int) -> UnsafeMutablePointer<T> {
    assert(i >= 0 && i < value.count, "index \(i) outside 0..<\(value.count)")
    return value.baseAddress.unsafelyUnwrapped + i
  }

  /// Stores the lanes of `v` at elements `i..<i + v.scalarCount`, which
  /// must lie in the buffer.
  @inline(__always)
  func store<V: SIMD>(_ v: V, at i: Int) where V.Scalar == T {
    assert(i >= 0 && i <= value.count - V.scalarCount, "\(V.self) at \(i) outside 0..<\(value.count)")
    UnsafeMutableRawPointer(value.baseAddress.unsafelyUnwrapped)
      .storeBytes(of: v, toByteOffset: i &* MemoryLayout<T>.stride, as: V.self)
  }
}

/// A typed read-only view shared across threads for the lifetime of a
/// call, read only through asserted element, vector and slice access.
struct SharedBuffer<T>: @unchecked Sendable {
  private let base: UnsafeBufferPointer<T>

  /// A view of `base`, which must outlive every use of the view.
  init(base: UnsafeBufferPointer<T>) { self.base = base }

  /// The number of elements.
  var count: Int { base.count }

  /// The element at `i`, which must lie in the buffer.
  @inline(__always)
  subscript(i: Int) -> T {
    assert(i >= 0 && i < base.count, "index \(i) outside 0..<\(base.count)")
    return base[i]
  }

  /// The elements in `range`, which must lie in the buffer, as a buffer of
  /// their own (indexed from 0).
  @inline(__always)
  subscript(range: Range<Int>) -> SharedBuffer<T> {
    assert(range.lowerBound >= 0 && range.upperBound <= base.count, "\(range) outside 0..<\(base.count)")
    let start = base.baseAddress.unsafelyUnwrapped + range.lowerBound
    return SharedBuffer(base: UnsafeBufferPointer(start: start, count: range.count))
  }

  /// The address of element `i` (which must lie in the buffer), for a C
  /// kernel that reads from it.
  @inline(__always)
  func address(_ i: Int) -> UnsafePointer<T> {
    assert(i >= 0 && i < base.count, "index \(i) outside 0..<\(base.count)")
    return base.baseAddress.unsafelyUnwrapped + i
  }

  /// Elements `i..<i + V.scalarCount` as the lanes of one vector (an
  /// unaligned load); they must lie in the buffer.
  @inline(__always)
  func load<V: SIMD>(_: V.Type, at i: Int) -> V where V.Scalar == T {
    assert(i >= 0 && i <= base.count - V.scalarCount, "\(V.self) at \(i) outside 0..<\(base.count)")
    return UnsafeRawPointer(base.baseAddress.unsafelyUnwrapped)
      .loadUnaligned(fromByteOffset: i &* MemoryLayout<T>.stride, as: V.self)
  }
}

/// Code run on a tensor's elements in their own type: how a generic kernel
/// is reached from a tensor's storage without a switch over the seven
/// element types in every caller.
protocol ElementVisitor {
  /// What the visit returns.
  associatedtype Result
  /// Runs on the elements, typed.
  func visit<T: TensorScalar>(_ elements: SharedBuffer<T>) -> Result
}

extension Tensor {
  /// `visitor` run on the elements, in place, in their own type.
  func visitElements<V: ElementVisitor>(_ visitor: V) -> V.Result {
    switch storage {
    case .float32(let b): b.withUnsafeBufferPointer { visitor.visit(SharedBuffer(base: $0)) }
    case .float64(let b): b.withUnsafeBufferPointer { visitor.visit(SharedBuffer(base: $0)) }
    case .int(let b): b.withUnsafeBufferPointer { visitor.visit(SharedBuffer(base: $0)) }
    case .int32(let b): b.withUnsafeBufferPointer { visitor.visit(SharedBuffer(base: $0)) }
    case .int64(let b): b.withUnsafeBufferPointer { visitor.visit(SharedBuffer(base: $0)) }
    case .uint8(let b): b.withUnsafeBufferPointer { visitor.visit(SharedBuffer(base: $0)) }
    case .bool(let b): b.withUnsafeBufferPointer { visitor.visit(SharedBuffer(base: $0)) }
    }
  }
}

//===--- SIMD lanes -------------------------------------------------------===//

extension SIMD where Scalar: Numeric {
  /// 1 in the lanes where `mask` holds, 0 elsewhere: a lane comparison as
  /// counts to add, or as a 0/1 prediction.
  @inline(__always)
  init(onesWhere mask: SIMDMask<MaskStorage>) {
    self = Self(repeating: 0).replacing(with: 1, where: mask)
  }
}

/// Four float32 scores and their labels from element `i` of two buffers,
/// and which scores lie above `threshold` (never a NaN): the first step of
/// the binary-accuracy and single-threshold kernels.
@inline(__always)
func thresholdStep(_ p: SharedBuffer<Float>, _ t: SharedBuffer<Float>, at i: Int, _ threshold: SIMD4<Float>)
  -> (scores: SIMD4<Float>, labels: SIMD4<Float>, above: SIMDMask<SIMD4<Int32>>)
{
  let scores = p.load(SIMD4<Float>.self, at: i)
  return (scores, t.load(SIMD4<Float>.self, at: i), scores .> threshold)
}
