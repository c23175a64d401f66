//===--- Identifiers.swift ------------------------------------------------===//
//
// Metrics by name: Keras's `keras.metrics.get` and its 102 string keys.
//
//===----------------------------------------------------------------------===//

extension MetricRegistry {
  /// Keras's ten short aliases (`keras.metrics.ALL_OBJECTS_DICT`).
  public static let aliases: [String: String] = [
    "bce": "BinaryCrossentropy", "BCE": "BinaryCrossentropy",
    "mse": "MeanSquaredError", "MSE": "MeanSquaredError",
    "mae": "MeanAbsoluteError", "MAE": "MeanAbsoluteError",
    "mape": "MeanAbsolutePercentageError", "MAPE": "MeanAbsolutePercentageError",
    "msle": "MeanSquaredLogarithmicError", "MSLE": "MeanSquaredLogarithmicError",
  ]

  /// Keras's `ALL_OBJECTS`: every class name `keras.metrics.get` knows
  /// (including the abstract `Metric` and `MeanMetricWrapper`, which need
  /// arguments and cannot be built from a name).
  public static let kerasClassNames: [String] = [
    "Metric", "Mean", "Sum", "MeanMetricWrapper", "MeanSquaredError", "RootMeanSquaredError",
    "MeanAbsoluteError", "MeanAbsolutePercentageError", "MeanSquaredLogarithmicError",
    "CosineSimilarity", "LogCoshError", "R2Score", "AUC", "FalseNegatives", "FalsePositives",
    "Precision", "PrecisionAtRecall", "Recall", "RecallAtPrecision", "SensitivityAtSpecificity",
    "SpecificityAtSensitivity", "TrueNegatives", "TruePositives", "ConcordanceCorrelation",
    "PearsonCorrelation", "Hinge", "SquaredHinge", "CategoricalHinge", "KLDivergence", "Poisson",
    "BinaryCrossentropy", "CategoricalCrossentropy", "SparseCategoricalCrossentropy", "Accuracy",
    "BinaryAccuracy", "CategoricalAccuracy", "SparseCategoricalAccuracy", "TopKCategoricalAccuracy",
    "SparseTopKCategoricalAccuracy", "F1Score", "FBetaScore", "IoU", "BinaryIoU", "MeanIoU",
    "OneHotIoU", "OneHotMeanIoU",
  ]

  /// Keras's `to_snake_case`: `MeanIoU` → `mean_io_u`, `AUC` → `auc`,
  /// `R2Score` → `r2_score`.
  public static func snakeCase(_ name: String) -> String {
    // Insert "_" before an upper-case letter that starts a capitalised
    // word, then between a lower-case letter or digit and an upper-case one.
    var s = ""
    let chars = Array(name)
    for (i, c) in chars.enumerated() {
      if i > 0, c.isUppercase, i + 1 < chars.count, chars[i + 1].isLowercase {
        s.append("_")
      }
      s.append(c)
    }
    var out = ""
    let t = Array(s)
    for (i, c) in t.enumerated() {
      if i > 0, c.isUppercase, t[i - 1].isLowercase || t[i - 1].isNumber { out.append("_") }
      out.append(c)
    }
    var lowered = out.lowercased()
    while lowered.hasPrefix("_") { lowered.removeFirst() }
    return lowered.replacingOccurrences(of: "__", with: "_")
  }

  /// Every string identifier `keras.metrics.get` accepts (102 in Keras 3),
  /// mapped to its class name; plus Tally's own classes (`ExactAUC`,
  /// `exact_auc`).
  public static let identifiers: [String: String] = {
    var table: [String: String] = [:]
    for name in kerasClassNames + ["ExactAUC"] {
      table[name] = name
      table[snakeCase(name)] = name
    }
    for (k, v) in aliases { table[k] = v }
    return table
  }()

  /// Keras's `keras.metrics.get` for a string: the metric with its default
  /// arguments and default name (`get("mse").name` is
  /// `"mean_squared_error"`; the compiled-metrics container renames it).
  ///
  /// ```swift
  /// let m = try MetricRegistry.get("sparse_top_k_categorical_accuracy")
  /// m.name   // "sparse_top_k_categorical_accuracy"
  /// ```
  ///
  /// - Throws: ``MetricError/invalidConfiguration(_:)`` for an unknown name
  ///   (listing the closest known ones), or a class that needs arguments
  ///   (`"mean_io_u"` needs `num_classes`, as Keras raises `TypeError`).
  public static func get(_ identifier: String) throws(MetricError) -> any KerasSerializable {
    guard let className = identifiers[identifier] else {
      let close = closeMatches(identifier, in: Array(identifiers.keys))
      throw .invalidConfiguration(
        "Could not interpret metric identifier: \"\(identifier)\"" + (close.isEmpty ? "" : "; did you mean \(close.map { "\"\($0)\"" }.joined(separator: ", "))?")
      )
    }
    guard classes[className] != nil else {
      throw .invalidConfiguration(
        "\"\(identifier)\" names \(className), which cannot be built from a name: it needs arguments")
    }
    do {
      return try deserialize(KerasConfig(className: className, config: [:]))
    } catch {
      throw .invalidConfiguration("\"\(identifier)\" names \(className), which needs arguments: \(error.message)")
    }
  }

  /// The known identifiers nearest to `s` (edit distance ≤ 3, or sharing a
  /// case-insensitive prefix), best first.
  static func closeMatches(_ s: String, in candidates: [String], limit: Int = 3) -> [String] {
    let lower = s.lowercased()
    let scored = candidates.map { c -> (String, Int) in
      (c, editDistance(lower, c.lowercased()))
    }
    return scored.filter { $0.1 <= max(2, lower.count / 3) || $0.0.lowercased().hasPrefix(lower) }
      .sorted { ($0.1, $0.0) < ($1.1, $1.0) }
      .prefix(limit).map(\.0)
  }

  static func editDistance(_ a: String, _ b: String) -> Int {
    let a = Array(a)
    let b = Array(b)
    if a.isEmpty { return b.count }
    var previous = Array(0...b.count)
    for i in 1...a.count {
      var current = [i] + [Int](repeating: 0, count: b.count)
      for j in 1...max(b.count, 1) where j <= b.count {
        current[j] = min(previous[j] + 1, current[j - 1] + 1, previous[j - 1] + (a[i - 1] == b[j - 1] ? 0 : 1))
      }
      previous = current
    }
    return previous[b.count]
  }
}
