import ArgumentParser
@_spi(Internals) import Tally

@main
struct TallyCommand: ParsableCommand {
  static let configuration = CommandConfiguration(
    commandName: "tally",
    abstract: "Keras-compatible, mergeable evaluation metrics.",
    subcommands: [Demo.self, Evaluate.self, Merge.self, Report.self, Metrics.self],
    defaultSubcommand: Demo.self
  )

  /// Parses and runs the command; an error is one line on stderr
  /// (`tally: error: ...`) and a non-zero exit. Help and version requests
  /// print as ArgumentParser prints them.
  static func main() {
    // (The cores' threads get a core of their own while the arguments are
    // read, not when the first chunk is waiting for them.)
    startWorkerThreads()
    do {
      var command = try parseAsRoot()
      try command.run()
    } catch let code as ExitCode {
      // The command printed its own error.
      exit(withError: code)
    } catch {
      let code = exitCode(for: error)
      guard code != .success else { exit(withError: error) }
      let text = message(for: error).split(separator: "\n").first.map(String.init) ?? "\(error)"
      printError("tally: error: \(text)")
      exit(withError: ExitCode(code.rawValue))
    }
  }
}
