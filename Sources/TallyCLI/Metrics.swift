import ArgumentParser
import Tally

extension TallyCommand {
  /// `tally metrics`: the catalog, read from the metrics' declarations.
  struct Metrics: ParsableCommand {
    static let configuration = CommandConfiguration(
      commandName: "metrics",
      abstract: "List the metrics --metric accepts: identifiers, arguments and defaults, by family.",
      discussion: """
        Every line is read from a metric's declaration, the same table the library's registry \
        uses. Give a metric by identifier (--metric auc) or as a JSON config with any of its \
        arguments (--metric '{"class_name": "AUC", "config": {"num_thresholds": 500}}').
        """
    )

    @Option(help: "Output format: table or json.")
    var format: OutputFormat = .table

    func run() throws {
      print(format == .json ? Self.json() : Self.table())
    }

    static func describe(_ a: MetricArgument) -> String {
      a.required ? "\(a.key) (required)" : "\(a.key)=\(a.defaultValue)"
    }

    static func table() -> String {
      var lines: [String] = []
      for family in MetricRegistry.families {
        lines.append(family.title)
        for d in family.metrics {
          let ids = ([MetricRegistry.snakeCase(d.className)] + d.aliases).joined(separator: ", ")
          let args = d.arguments.map(describe).joined(separator: ", ")
          lines.append("  \(d.className) [\(ids)]" + (args.isEmpty ? "" : "  \(args)"))
        }
      }
      return lines.joined(separator: "\n")
    }

    static func json() -> String {
      let entries = MetricRegistry.declarations.map { d -> JSONValue in
        .object([
          "class_name": .string(d.className), "default_name": .string(d.defaultName),
          "identifiers": .array(d.identifiers.map(JSONValue.string)), "input": .string(d.input.rawValue),
          "origin": .string(d.origin.rawValue),
          "arguments": .object(
            Dictionary(uniqueKeysWithValues: d.arguments.map { ($0.key, $0.required ? .null : $0.defaultValue) })),
          "required": .array(d.arguments.filter(\.required).map { .string($0.key) }),
        ])
      }
      return JSONValue.array(entries).description
    }
  }
}
