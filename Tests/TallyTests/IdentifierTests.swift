import Testing
import Tally

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
