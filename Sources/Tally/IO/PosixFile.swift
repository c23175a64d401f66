//===--- PosixFile.swift --------------------------------------------------===//
//
// The POSIX calls of file input and output, in one place: a read-only file
// (open, size, positionless `pread`, close), a read-only memory mapping of
// one, and a file created for writing.
//
//===----------------------------------------------------------------------===//

import Dispatch

#if canImport(Glibc)
  import Glibc
#elseif canImport(Musl)
  import Musl
#elseif canImport(Darwin)
  import Darwin
#elseif canImport(Android)
  import Android
#endif

//===--- Reading ----------------------------------------------------------===//

/// An open, read-only file descriptor, closed when the last reference goes.
///
/// Reads are positionless (`pread`), so sharing one between copies of a
/// reader, or between threads, is safe.
final class ReadOnlyFile: @unchecked Sendable {
  let path: String
  let fd: Int32
  /// The size in bytes for a regular file; `nil` for a pipe or device.
  let size: Int?

  init(path: String, requireRegularFile: Bool) throws(FileInputError) {
    self.path = path
    var fd: Int32
    repeat {
      fd = open(path, O_RDONLY | O_CLOEXEC)
    } while fd < 0 && errno == EINTR
    guard fd >= 0 else { throw .unreadable(path: path, reason: systemErrorMessage()) }
    var info = stat()
    guard fstat(fd, &info) == 0 else {
      let reason = systemErrorMessage()
      close(fd)
      throw .unreadable(path: path, reason: reason)
    }
    let kind = Int(info.st_mode) & 0o170000
    if kind == 0o040000 {
      close(fd)
      throw .unreadable(path: path, reason: "it is a directory")
    }
    if kind == 0o100000 {
      size = Int(info.st_size)
    } else if requireRegularFile {
      close(fd)
      throw .unreadable(path: path, reason: "it is not a regular file")
    } else {
      size = nil
    }
    self.fd = fd
  }

  deinit { close(fd) }

  /// Reads up to `buffer.count` bytes at `offset` (sequentially for a pipe);
  /// returns the count read, 0 at the end of the file.
  func read(into buffer: UnsafeMutableRawBufferPointer, at offset: Int) throws(FileInputError)
    -> Int
  {
    guard let base = buffer.baseAddress, buffer.count > 0 else { return 0 }
    while true {
      var n = pread(fd, base, buffer.count, off_t(offset))
      if n < 0 && errno == ESPIPE {
        n = posixRead(fd, base, buffer.count)
      }
      if n >= 0 { return n }
      if errno == EINTR { continue }
      throw .unreadable(path: path, reason: systemErrorMessage())
    }
  }

  /// Reads from `offset` until `buffer` is full or the file ends; returns
  /// the count read.
  func readAvailable(into buffer: UnsafeMutableRawBufferPointer, at offset: Int)
    throws(FileInputError) -> Int
  {
    var done = 0
    while done < buffer.count {
      let n = try read(
        into: UnsafeMutableRawBufferPointer(rebasing: buffer[done...]), at: offset + done)
      if n == 0 { break }
      done += n
    }
    return done
  }

  /// Fills `buffer` from `offset`, or throws ``FileInputError/truncated``.
  func readExactly(into buffer: UnsafeMutableRawBufferPointer, at offset: Int)
    throws(FileInputError)
  {
    let done = try readAvailable(into: buffer, at: offset)
    guard done == buffer.count else {
      throw .truncated(
        path: path, expectedBytes: offset + buffer.count, actualBytes: offset + done)
    }
  }
}

/// `read(2)`, named so that it is not shadowed by methods called `read`.
@inline(__always)
private func posixRead(_ fd: Int32, _ buffer: UnsafeMutableRawPointer, _ count: Int) -> Int {
  read(fd, buffer, count)
}

//===--- Mapping ----------------------------------------------------------===//

/// A read-only, private memory mapping of the first `length` bytes of a
/// file, unmapped when the last reference goes.
///
/// Whoever reads through ``base`` keeps this object alive for as long as it
/// reads (tensors over a mapping hold a reference to their owner).
///
/// A large mapping is unmapped on a background thread: tearing down the
/// page tables of a file read whole takes milliseconds (7 of them for the
/// 160 MB of a sliced W1 run), which the thread that dropped the last
/// reference, often about to print results, need not wait for. Nothing
/// can read the range once the object is gone.
final class FileMapping: @unchecked Sendable {
  /// The first mapped byte; `nil` when `length` is 0 (nothing is mapped).
  let base: UnsafeRawPointer?
  let length: Int

  /// Maps `file`'s bytes `0..<length`, advising the kernel that they will be
  /// read in order.
  ///
  /// - Throws: ``FileInputError/unreadable(path:reason:)`` if `mmap` fails.
  init(_ file: ReadOnlyFile, length: Int) throws(FileInputError) {
    self.length = length
    guard length > 0 else {
      base = nil
      return
    }
    let p = mmap(nil, length, PROT_READ, MAP_PRIVATE, file.fd, 0)
    guard let p, p != MAP_FAILED else {
      throw .unreadable(path: file.path, reason: "mmap failed: \(systemErrorMessage())")
    }
    madvise(p, length, MADV_SEQUENTIAL)
    base = UnsafeRawPointer(p)
  }

  deinit {
    guard let base else { return }
    let (address, length) = (UInt(bitPattern: base), length)
    let unmap: @Sendable () -> Void = {
      _ = munmap(UnsafeMutableRawPointer(bitPattern: address), length)
    }
    if length >= Self.backgroundUnmapBytes {
      DispatchQueue.global(qos: .utility).async(execute: unmap)
    } else {
      unmap()
    }
  }

  /// Mappings from this size on are unmapped on a background thread.
  static var backgroundUnmapBytes: Int { 16 << 20 }
}

//===--- Writing ----------------------------------------------------------===//

/// A file created (or emptied) for writing, closed when the last reference
/// goes.
final class WriteOnlyFile {
  let path: String
  let fd: Int32

  /// Creates `path` with mode 0644, or empties the file there.
  ///
  /// - Throws: ``FileInputError/unwritable(path:reason:)`` if it cannot be
  ///   opened.
  init(creating path: String) throws(FileInputError) {
    let fd = open(path, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, mode_t(0o644))
    guard fd >= 0 else { throw .unwritable(path: path, reason: systemErrorMessage()) }
    self.path = path
    self.fd = fd
  }

  deinit { close(fd) }

  /// Writes all of `bytes`, or throws ``FileInputError/unwritable(path:reason:)``.
  func writeAll(_ bytes: [UInt8]) throws(FileInputError) {
    try bytes.withFileInputBytes { (p) throws(FileInputError) in
      var done = 0
      while done < p.count {
        let w = posixWrite(fd, p.baseAddress! + done, p.count - done)
        if w < 0 {
          if errno == EINTR { continue }
          throw .unwritable(path: path, reason: systemErrorMessage())
        }
        done += w
      }
    }
  }
}

/// `write(2)`, named so that it is not shadowed by methods called `write`.
@inline(__always)
private func posixWrite(_ fd: Int32, _ buffer: UnsafeRawPointer, _ count: Int) -> Int {
  write(fd, buffer, count)
}

//===--- Helpers ----------------------------------------------------------===//

extension Array {
  /// `withUnsafeMutableBytes`, keeping the closure's typed error.
  mutating func withFileInputBytes<R>(
    _ body: (UnsafeMutableRawBufferPointer) throws(FileInputError) -> R
  ) throws(FileInputError) -> R {
    try withUnsafeMutableBytes { p in Result { () throws(FileInputError) in try body(p) } }.get()
  }

  /// `withUnsafeBytes`, keeping the closure's typed error.
  func withFileInputBytes<R>(
    _ body: (UnsafeRawBufferPointer) throws(FileInputError) -> R
  ) throws(FileInputError) -> R {
    try withUnsafeBytes { p in Result { () throws(FileInputError) in try body(p) } }.get()
  }
}

/// The message for the current `errno`.
func systemErrorMessage() -> String {
  let code = errno
  guard let message = strerror(code) else { return "error \(code)" }
  return String(cString: message)
}
