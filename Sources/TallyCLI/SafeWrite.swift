import Foundation

#if canImport(Glibc)
  import Glibc
#elseif canImport(Musl)
  import Musl
#elseif canImport(Darwin)
  import Darwin
#endif

/// Writes `data` to the regular file at `path` atomically: into a new
/// temporary file beside it, flushed to disk, then renamed over it, so a
/// reader (or a crash) sees the old file or the new one, never a mixture.
///
/// - A symbolic link is written through: its target (followed to the end)
///   is the file replaced, and the link stays.
/// - Anything at the path that is not a regular file (a directory, a
///   device, a FIFO, a socket) is refused, untouched.
/// - An existing file keeps its permission bits; a new one gets 0666 less
///   the umask, as `open(2)` would.
/// - On any failure the temporary file is removed.
func writeFileSafely(_ path: String, _ data: Data) throws {
  // Follow symbolic links to the file they name (at most 40, as the kernel).
  var target = path
  for _ in 0..<40 {
    var info = stat()
    guard lstat(target, &info) == 0 else { break }  // a new file
    guard (info.st_mode & S_IFMT) == S_IFLNK else { break }
    var buffer = [CChar](repeating: 0, count: Int(PATH_MAX) + 1)
    let n = readlink(target, &buffer, buffer.count - 1)
    guard n >= 0 else { throw CommandError("cannot read the symbolic link '\(target)'") }
    let link = String(decoding: buffer[..<n].map { UInt8(bitPattern: $0) }, as: UTF8.self)
    target =
      link.hasPrefix("/")
      ? link : ((target as NSString).deletingLastPathComponent as NSString).appendingPathComponent(link)
  }
  var mode: mode_t? = nil
  var info = stat()
  if lstat(target, &info) == 0 {
    switch info.st_mode & S_IFMT {
    case S_IFREG: mode = info.st_mode & 0o7777
    case S_IFLNK: throw CommandError("'\(path)': too many levels of symbolic links")
    case S_IFDIR: throw CommandError("'\(path)' is a directory; --save-state writes a regular file")
    default:
      throw CommandError(
        "'\(path)' is not a regular file (a device, FIFO or socket); --save-state refuses to replace it")
    }
  }
  let directory = (target as NSString).deletingLastPathComponent
  let name = (target as NSString).lastPathComponent
  let temporary = ((directory.isEmpty ? "." : directory) as NSString)
    .appendingPathComponent(".\(name).tally-\(getpid())-\(UInt32.random(in: 0...UInt32.max)).tmp")
  let fd = open(temporary, O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, mode ?? 0o666)
  guard fd >= 0 else {
    throw CommandError("cannot write state file '\(path)': \(String(cString: strerror(errno)))")
  }
  var done = false
  defer {
    if !done { unlink(temporary) }
  }
  func fail(_ what: String) -> CommandError {
    let reason = String(cString: strerror(errno))
    close(fd)
    return CommandError("cannot write state file '\(path)': \(what): \(reason)")
  }
  // The existing file's mode exactly (open's mode is masked by the umask).
  if let mode, fchmod(fd, mode) != 0 { throw fail("setting its mode") }
  let written = data.withUnsafeBytes { raw -> Bool in
    var offset = 0
    while offset < raw.count {
      let n = write(fd, raw.baseAddress! + offset, raw.count - offset)
      if n < 0 {
        if errno == EINTR { continue }
        return false
      }
      offset += n
    }
    return true
  }
  guard written else { throw fail("writing") }
  guard fsync(fd) == 0 else { throw fail("flushing") }
  guard close(fd) == 0 else { throw CommandError("cannot write state file '\(path)': closing") }
  guard rename(temporary, target) == 0 else {
    throw CommandError("cannot write state file '\(path)': \(String(cString: strerror(errno)))")
  }
  done = true
}
