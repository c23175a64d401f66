import Foundation
import Tally
import Testing

//===--- Declarations and the registry derived from them ------------------===//
//
// Every metric is declared once (its `static let declaration`); the registry,
// identifiers, the wrapper's function table, the command line's input kinds
// and the documentation's topic list must agree with the declarations.
//
//===----------------------------------------------------------------------===//

@Suite struct DeclarationTests {
  /// Keras's class names, from the committed identifier table
  /// (Scripts/generate_identifier_table.py).
  static let kerasClasses: [String] = Set(
    KerasIdentifierTableTests.table.identifiers.values.compactMap(\.class_name)
  ).sorted()

  @Test(arguments: kerasClasses)
  func everyKerasClassResolvesThroughItsDeclaration(_ className: String) throws {
    if MetricRegistry.abstractKerasClasses.contains(className) {
      #expect(MetricRegistry.declaration(for: className) == nil)
      return
    }
    let d = try #require(MetricRegistry.declaration(for: className), "\(className) has no declaration")
    #expect(d.className == className)
    #expect(d.origin == .keras)
    #expect(d.type.className == className)
    #expect(MetricRegistry.classes[className].map { ObjectIdentifier($0) == ObjectIdentifier(d.type) } == true)
    // Every Keras identifier of the class names this declaration.
    let ids = KerasIdentifierTableTests.table.identifiers.filter { $0.value.class_name == className }.keys
    for id in ids { #expect(MetricRegistry.declaration(for: id)?.className == className, "\(id)") }
  }

  @Test func declarationsAreUnique() {
    let names = MetricRegistry.declarations.map(\.className)
    #expect(Set(names).count == names.count)
    let ids = MetricRegistry.declarations.flatMap(\.identifiers)
    // An identifier may repeat within one declaration (`"Hinge"`, `"hinge"`
    // differ; `"AUC"`'s snake case is `"auc"`), never across two.
    var owner: [String: String] = [:]
    for d in MetricRegistry.declarations {
      for id in d.identifiers {
        #expect(owner[id] == nil || owner[id] == d.className, "\(id) names \(owner[id] ?? "") and \(d.className)")
        owner[id] = d.className
      }
    }
    #expect(!ids.isEmpty)
  }

  /// A configuration with every required argument given a valid value.
  static func minimalConfig(_ d: MetricDeclaration) -> KerasConfig {
    var c: [String: JSONValue] = [:]
    for a in d.arguments where a.required {
      switch (a.key, a.kind) {
      case ("fn", _): c["fn"] = "mean_squared_error"
      case (_, .integers): c[a.key] = [0]
      case (_, .integer): c[a.key] = 3
      case (_, .number): c[a.key] = 0.5
      default: Issue.record("no sample value for required \(d.className).\(a.key)")
      }
    }
    return KerasConfig(className: d.className, config: c)
  }

  static let declared = MetricRegistry.declarations.map(\.className)

  @Test(arguments: declared)
  func defaultConfigurationIsTheDeclaredSchema(_ className: String) throws {
    let d = try #require(MetricRegistry.declaration(for: className))
    let m = try MetricRegistry.deserialize(Self.minimalConfig(d))
    #expect(ObjectIdentifier(type(of: m)) == ObjectIdentifier(d.type))
    #expect(m.name == d.defaultName)
    let config = m.config.config
    var expected = Set(d.arguments.filter { !($0.omittedAtDefault) }.map(\.key))
    expected.insert("name")
    if d.hasDType { expected.insert("dtype") }
    #expect(Set(config.keys) == expected, "\(config.keys.sorted())")
    for a in d.arguments where !a.required && !a.omittedAtDefault {
      #expect(config[a.key] == a.defaultValue, "\(className).\(a.key): \(config[a.key] ?? .null)")
    }
    // The configuration round-trips.
    #expect(try MetricRegistry.deserialize(m.config).config == m.config)
  }

  @Test(arguments: declared)
  func unknownArgumentsAndWrongKindsAreRejected(_ className: String) throws {
    let d = try #require(MetricRegistry.declaration(for: className))
    var bad = Self.minimalConfig(d)
    bad.config["no_such_argument"] = 1
    #expect(throws: MetricError.self) { try MetricRegistry.deserialize(bad) }
    for a in d.arguments {
      var wrong = Self.minimalConfig(d)
      wrong.config[a.key] = a.kind == .string || a.kind == .choice([]) ? 1 : "not a value"
      if case .choice = a.kind { wrong.config[a.key] = "not a choice" }
      #expect(throws: MetricError.self, "\(className).\(a.key)") { try MetricRegistry.deserialize(wrong) }
    }
  }

  @Test func theWrapperFunctionTableIsDerived() throws {
    let declared = Set(MetricRegistry.functions.keys)
    #expect(Set(SampleFunction.registry.keys) == declared)
    #expect(Set(SampleFunction.knownArguments.keys) == declared)
    // Every function a metric declares is in the table, under its name.
    for d in MetricRegistry.declarations {
      if let f = d.function { #expect(MetricRegistry.functions[f.name] != nil, "\(f.name)") }
    }
    // Keras's functions that no class wraps.
    for name in ["huber", "binary_focal_crossentropy", "categorical_focal_crossentropy"] {
      #expect(declared.contains(name))
    }
  }

  @Test func noNameFallsThroughToSomeMetric() {
    // Unknown names are errors everywhere: classes, identifiers, functions.
    #expect(throws: MetricError.self) { try MetricRegistry.get("concordance_correlationx") }
    #expect(throws: MetricError.self) {
      try MetricRegistry.deserialize(KerasConfig(className: "ConcordanceCorrelationX", config: [:]))
    }
    #expect(throws: MetricError.self) { try SampleFunction.named("concordance_correlationx", arguments: [:]) }
    #expect(throws: MetricError.self) { try SampleFunction.named("huber", arguments: ["axis": -1]) }
  }

  /// The command line streams a rank-1 file by the declared input kind;
  /// these are the classes whose per-sample value reads the last axis.
  @Test func inputKindsAreDeclared() {
    let kinds = Dictionary(uniqueKeysWithValues: MetricRegistry.declarations.map { ($0.className, $0.input) })
    for c in ["MeanSquaredError", "MeanAbsoluteError", "BinaryCrossentropy", "Hinge", "Poisson", "MeanMetricWrapper"] {
      #expect(kinds[c] == .elementwise, "\(c)")
    }
    for c in ["CategoricalAccuracy", "SparseCategoricalCrossentropy", "KLDivergence", "CosineSimilarity", "OneHotIoU"] {
      #expect(kinds[c] == .classAxis, "\(c)")
    }
    for c in ["AUC", "BinaryAccuracy", "ExactAUC", "Mean"] { #expect(kinds[c] == .samples, "\(c)") }
  }

  /// The documentation's topic list: each family's section of the catalog
  /// page lists exactly the family's metrics.
  @Test(arguments: MetricRegistry.families.map(\.title))
  func documentationListsEachFamily(_ title: String) throws {
    let family = try #require(MetricRegistry.families.first { $0.title == title })
    let page = URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent()
      .deletingLastPathComponent().appendingPathComponent("Sources/Tally/Documentation.docc/Tally.md")
    let text = try String(contentsOf: page, encoding: .utf8)
    let heading = "### \(title)\n"
    let start = try #require(text.range(of: heading), "no section \"\(title)\" in Tally.md")
    let rest = text[start.upperBound...]
    let section = rest[..<(rest.range(of: "\n### ")?.lowerBound ?? rest.endIndex)]
    let listed = Set(
      section.split(separator: "\n").compactMap { line -> String? in
        guard line.hasPrefix("- ``"), line.hasSuffix("``") else { return nil }
        return String(line.dropFirst(4).dropLast(2))
      })
    let declared = Set(family.metrics.map(\.className))
    let allDeclared = Set(MetricRegistry.declarations.map(\.className))
    #expect(declared.isSubset(of: listed), "missing from Tally.md: \(declared.subtracting(listed).sorted())")
    let strays = listed.intersection(allDeclared).subtracting(declared)
    #expect(strays.isEmpty, "listed under \(title) but declared elsewhere: \(strays.sorted())")
  }

  @Test func unknownConfigurationArguments() {
    #expect(throws: MetricError.invalidConfiguration("Mean got unexpected argument(s): thresholds")) {
      try Mean(config: KerasConfig(json: #"{"class_name": "Mean", "config": {"thresholds": 0.5}}"#))
    }
    #expect(throws: MetricError.self) {
      try Mean(config: KerasConfig(json: #"{"class_name": "Sum", "config": {}}"#))
    }
    #expect(throws: MetricError.self) {
      try Mean(config: KerasConfig(json: #"{"class_name": "Mean", "config": {"name": 3}}"#))
    }
    #expect(throws: MetricError.self) { try KerasConfig(json: "{not json") }
    #expect(throws: MetricError.self) {
      try MetricRegistry.deserialize(KerasConfig(json: #"{"class_name": "Nope", "config": {}}"#))
    }
    #expect(throws: MetricError.self) {
      try MeanMetricWrapper(
        config: KerasConfig(json: #"{"class_name": "MeanMetricWrapper", "config": {"fn": "no_such_fn"}}"#))
    }
  }
}
