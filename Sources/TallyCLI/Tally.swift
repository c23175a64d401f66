import ArgumentParser
import Tally

@main
struct TallyCommand: ParsableCommand {
  static let configuration = CommandConfiguration(
    commandName: "tally",
    abstract: "Keras-compatible, mergeable evaluation metrics.",
    subcommands: [Demo.self, Evaluate.self, Merge.self],
    defaultSubcommand: Demo.self
  )
}
