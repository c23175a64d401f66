import ArgumentParser
import Tally

@main
struct TallyCommand: ParsableCommand {
  static let configuration = CommandConfiguration(
    commandName: "tally",
    abstract: "Keras-compatible, mergeable evaluation metrics.",
    subcommands: [Demo.self, Evaluate.self, Merge.self, Metrics.self],
    defaultSubcommand: Demo.self
  )
}
