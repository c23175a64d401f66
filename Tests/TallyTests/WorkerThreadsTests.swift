// The fork-join rounds' worker marker: a thread that is one of several
// working at once (a part of parallelMap, or a caller's own worker through
// asWorkerThread) does not split its work across cores again, and what it
// computes is the same either way.

import Foundation
import Testing

@_spi(Internals) @testable import Tally

@Suite struct WorkerThreadsTests {
  /// The rows' parts: the machine's cores outside a round, one inside, and
  /// the marker put back as it was when the round ends (nested or not).
  @Test func workersDoNotSplitAgain() {
    #expect(!WorkerThreads.isWorker)
    #expect(activeCores == machineCores)
    let n = 1 << 20
    let outside = parallelMap(n) { $0 }
    #expect(outside.count == machineCores)
    let inside = asWorkerThread { () -> ([Range<Int>], Int) in
      let parts = parallelMap(n) { $0 }
      let nested = asWorkerThread { activeCores }
      #expect(WorkerThreads.isWorker)  // still marked after the nested round
      return (parts, nested)
    }
    #expect(inside.0 == [0..<n])
    #expect(inside.1 == 1)
    #expect(!WorkerThreads.isWorker)
    // Explicit ranges on a worker: in order, on the worker's own thread.
    let me = pthread_self()
    let threads = asWorkerThread {
      parallelMap(ranges: [0..<1, 1..<2, 2..<3]) { _ in pthread_equal(pthread_self(), me) != 0 }
    }
    #expect(threads == [true, true, true])
    // A part of parallelMap is a worker; on a machine of one core there is
    // no round, and the caller's thread stays unmarked.
    let marked = parallelMap(n) { _ in (WorkerThreads.isWorker, activeCores) }
    for (isWorker, cores) in marked {
      #expect(isWorker == (machineCores > 1))
      #expect(cores == (machineCores > 1 ? 1 : machineCores))
    }
  }

  /// Slices and bootstraps counted on a worker (one part) equal the same
  /// counted across cores, state for state, bit for bit.
  @Test func aWorkersCountsAreTheSplitCounts() throws {
    var g = SplitMix64(seed: 41)
    let n = 400_000
    let (y, p) = binormalScores(n, positiveRate: 0.3, shift: 1.0, using: &g)
    let keys = try SliceBatch([SliceColumn((0..<n).map { _ in Int64.random(in: 0..<300, using: &g) })])
    let (yt, yp) = (Tensor(y.map(Float.init)), Tensor(p.map(Float.init)))
    let b = try PoissonBootstrap(replicates: 16, seed: 5)
    func metrics() throws -> [any Metric] {
      [
        Sliced(try AUC()), Sliced(BinaryAccuracy()), Bootstrapped(try AUC(numThresholds: 50), bootstrap: b),
        Sliced(MeanSquaredError()),
      ]
    }
    var split = try metrics()
    var alone = try metrics()
    let rows = RowIndices.contiguous(first: 0, count: n)
    try updateTogether(&split, yTrue: yt, yPred: yp, sampleWeight: nil, slices: keys, rows: rows)
    try asWorkerThread { () throws(MetricError) in
      try updateTogether(&alone, yTrue: yt, yPred: yp, sampleWeight: nil, slices: keys, rows: rows)
    }
    let e = JSONEncoder()
    e.outputFormatting = .sortedKeys
    for (a, b) in zip(split, alone) {
      func state(_ m: any Metric) throws -> Data {
        func open<M: Metric>(_ m: M) throws -> Data { try e.encode(m.state) }
        return try open(m)
      }
      #expect(try state(a) == state(b), "\(a.name)")
    }
  }

  /// The pool's rounds (TallyPool.h): every part runs once, as a worker,
  /// in rounds back to back (the threads then take the next round while
  /// spinning) and after a pause (asleep), with more parts than threads,
  /// and while other threads start rounds at the same time (one holds the
  /// pool, the others run on Dispatch's threads).
  @Test func poolRoundsRunEveryPartOnce() {
    /// Runs `rounds` rounds of 1 to 9 parts; whether each part of each
    /// round ran exactly once, as a worker.
    @Sendable func rounds(_ rounds: Int, seed: Int) -> Bool {
      var ok = true
      for r in 0..<rounds {
        let parts = (r + seed) % 9 + 1
        let runs = UnsafeMutableBufferPointer<Int>.allocate(capacity: parts)
        runs.initialize(repeating: 0)
        let box = UnsafeSendableBox(runs)
        runParts(parts) { k in box[k] += WorkerThreads.isWorker ? 1 : 1_000 }
        ok = ok && runs.allSatisfy { $0 == 1 }
        runs.deallocate()
      }
      return ok
    }
    #expect(rounds(3_000, seed: 0))
    usleep(2_000)  // past the threads' spin: they sleep, and are woken
    #expect(rounds(10, seed: 1))
    let together = UnsafeMutableBufferPointer<Bool>.allocate(capacity: 4)
    defer { together.deallocate() }
    let box = UnsafeSendableBox(together)
    DispatchQueue.concurrentPerform(iterations: 4) { k in box[k] = rounds(1_000, seed: k) }
    #expect(together.allSatisfy { $0 })
    #expect(!WorkerThreads.isWorker)
  }

  /// `concurrentJobs` (the command-line tool's rounds): every job once, the
  /// results in order, each job of several on a worker thread, one job on
  /// the caller as it is; the first error in order, after every job ran.
  @Test func concurrentJobsRunEachJobOnceInOrder() throws {
    startWorkerThreads()
    struct JobError: Error, Equatable { let job: Int }
    for n in [0, 1, 2, 3, 17] {
      let ran = UnsafeMutableBufferPointer<Int>.allocate(capacity: max(n, 1))
      defer { ran.deallocate() }
      ran.initialize(repeating: 0)
      let box = UnsafeSendableBox(ran)
      let results = concurrentJobs(n) { k in
        box[k] += 1
        return (k, WorkerThreads.isWorker)
      }
      #expect(results.map(\.0) == Array(0..<n))
      #expect(results.allSatisfy { $0.1 == (n > 1) }, "n = \(n)")
      #expect(ran[..<n].allSatisfy { $0 == 1 })
      // Jobs 2 and 5 fail: job 2's error, once every job has run.
      ran.update(repeating: 0)
      var thrown: JobError?
      do throws(JobError) {
        let values = try concurrentJobs(n) { (k: Int) throws(JobError) -> Int in
          box[k] += 1
          if k == 2 || k == 5 { throw JobError(job: k) }
          return k
        }
        #expect(values == Array(0..<n))
      } catch {
        thrown = error
      }
      #expect(thrown == (n > 2 ? JobError(job: 2) : nil))
      #expect(ran[..<n].allSatisfy { $0 == 1 })
    }
    #expect(!WorkerThreads.isWorker)
  }
}
