//===--- FuzzSupport.swift ------------------------------------------------===//
//
// What the harnesses share: a scratch file per process (the readers take
// paths), bitwise comparison of results, and the failure that marks a broken
// invariant (as opposed to a trap inside Tally).
//
//===----------------------------------------------------------------------===//

import Foundation
import Tally

/// A file in `$TMPDIR` (private to the harness), or in /tmp named with the
/// process ID, rewritten for every input.
public struct ScratchFile: Sendable {
  public let path: String

  public init(_ suffix: String) {
    // Fuzz/run.sh gives each harness a private TMPDIR, and a name free of
    // the process ID keeps runs with a fixed seed alike (libFuzzer takes
    // the bytes of compared strings, paths included, into its mutations).
    if let dir = ProcessInfo.processInfo.environment["TMPDIR"] {
      path = "\(dir)/tally-fuzz-\(suffix)"
    } else {
      path = "/tmp/tally-fuzz-\(getpid())-\(suffix)"
    }
  }

  /// Replaces the file's contents with `size` bytes at `data`.
  public func write(_ data: UnsafePointer<UInt8>, _ size: Int) {
    let fd = open(path, O_WRONLY | O_CREAT | O_TRUNC, 0o600)
    guard fd >= 0 else { fatalError("fuzz harness: cannot create \(path): errno \(errno)") }
    var done = 0
    while done < size {
      let n = Foundation.write(fd, data + done, size - done)
      guard n > 0 else { fatalError("fuzz harness: cannot write \(path): errno \(errno)") }
      done += n
    }
    close(fd)
  }

  /// Removes the file.
  public func remove() { unlink(path) }
}

/// Stops the run with a message that names a broken invariant: the input
/// did not trap, but Tally answered inconsistently (two readings of the
/// same file disagree, a state Tally wrote cannot be read back, ...).
public func invariant(_ condition: @autoclosure () -> Bool, _ message: @autoclosure () -> String) {
  if !condition() { fatalError("INVARIANT: \(message())") }
}

/// The bit patterns of `values`, so that NaNs compare equal to themselves
/// and -0 differs from 0.
public func bits(_ values: [Double]) -> [UInt64] { values.map(\.bitPattern) }

/// A metric value compared bit for bit.
public func bits(_ value: MetricValue) -> [UInt64] { bits(value.values) }

/// The elements of a tensor as bit patterns of `Double`s, with its dtype and shape.
public func fingerprint(_ t: Tensor) -> String {
  "\(t.dtype) \(t.shape) \(bits(t.doubles()))"
}

/// Whether `TALLY_FUZZ_VERBOSE` is set: the harnesses then say on stderr why
/// an input was refused (to check that a seed corpus is valid).
public let verbose = getenv("TALLY_FUZZ_VERBOSE") != nil

/// Prints `message` on stderr when ``verbose``.
public func note(_ message: @autoclosure () -> String) {
  if verbose { FileHandle.standardError.write(Data((message() + "\n").utf8)) }
}
