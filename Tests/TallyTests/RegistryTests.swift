// The registry (Registry.swift): Keras's identifier table, snake-case names and lookups by name.

import Foundation
import Tally
import TallyFixtures
import Testing

/// The identifier table: what each of Keras's 102 keys resolves to, from
/// Keras (Scripts/generate_identifier_table.py).
@Suite struct KerasIdentifierTableTests {
  struct Entry: Decodable { var class_name: String?; var name: String?; var error: String? }
  struct AccuracyCase: Decodable, Sendable, CustomTestStringConvertible {
    var y_true: [Int]; var y_pred: [Int]; var identifier: String; var class_name: String; var name: String
    var testDescription: String { "\(identifier) \(y_true) \(y_pred)" }
  }
  struct NamingCase: Decodable, Sendable {
    var metrics: [String]; var weighted_metrics: [String]; var keys: [String]; var values: [Double]
  }
  struct Table: Decodable {
    var identifiers: [String: Entry]; var accuracy: [AccuracyCase]; var compile_names: [NamingCase]
  }

  static let table: Table = {
    let url = Fixtures.directory.appendingPathComponent("Tables/identifiers.json")
    return try! JSONDecoder().decode(Table.self, from: Data(contentsOf: url))
  }()

  /// Deliberate deviation: Keras instantiates the abstract `Metric` base
  /// class from `"Metric"`/`"metric"`; such a metric measures nothing, and
  /// Tally refuses it.
  static let abstract: Set<String> = ["Metric", "metric"]

  @Test(arguments: table.identifiers.keys.sorted())
  func identifierResolvesAsInKeras(_ key: String) throws {
    let want = Self.table.identifiers[key]!
    if want.error != nil || Self.abstract.contains(key) {
      #expect(throws: MetricError.self) { try MetricRegistry.get(key) }
      return
    }
    let m = try MetricRegistry.get(key)
    #expect(type(of: m).className == want.class_name)
    #expect(m.name == want.name)
  }

  @Test func everyKerasKeyIsKnown() {
    #expect(Self.table.identifiers.count == 102)
    #expect(Set(Self.table.identifiers.keys).isSubset(of: Set(MetricRegistry.identifiers.keys)))
  }
}

/// Lookups by name: defaults, snake case, close matches for unknown names.
@Suite struct IdentifierTests {
  @Test func thereAre102KerasKeys() {
    let keras = MetricRegistry.identifiers.filter {
      MetricRegistry.declaration(for: $0.key).map { $0.origin == .keras } ?? true
    }
    #expect(keras.count == 102)
  }

  static let snake: [(String, String)] = [
    ("MeanIoU", "mean_io_u"), ("FBetaScore", "f_beta_score"), ("R2Score", "r2_score"),
    ("KLDivergence", "kl_divergence"), ("AUC", "auc"), ("OneHotMeanIoU", "one_hot_mean_io_u"),
    ("TopKCategoricalAccuracy", "top_k_categorical_accuracy"), ("BinaryIoU", "binary_io_u"),
  ]

  @Test(arguments: snake)
  func snakeCase(_ c: (String, String)) {
    #expect(MetricRegistry.snakeCase(c.0) == c.1)
  }

  @Test func getBuildsDefaults() throws {
    #expect(try MetricRegistry.get("mse").name == "mean_squared_error")
    #expect(try MetricRegistry.get("AUC").name == "auc")
    #expect(try MetricRegistry.get("sparse_top_k_categorical_accuracy") is SparseTopKCategoricalAccuracy)
    #expect(throws: MetricError.self) { try MetricRegistry.get("mean_io_u") }
    #expect(throws: MetricError.self) { try MetricRegistry.get("Metric") }
  }

  @Test func unknownNamesListCloseMatches() {
    do {
      _ = try MetricRegistry.get("acuracy")
      Issue.record("expected an error")
    } catch {
      #expect(error.message.contains("\"accuracy\""), "\(error.message)")
    }
  }
}
