import ArgumentParser
import Foundation
import Tally

/// What the report's inputs hold, from the first chunk.
enum ReportTask: String, ExpressibleByArgument, CaseIterable {
  case auto, binary, multiclass, regression

  /// Multi-class when `y_pred` has several columns; binary when the labels
  /// are 0 and 1 and the scores in [0, 1]; regression otherwise.
  static func detect(_ yTrue: Tensor, _ yPred: Tensor) -> ReportTask {
    if yPred.rank == 2, yPred.shape[1] > 1 { return .multiclass }
    let t = yTrue.doubles()
    let p = yPred.doubles()
    if t.allSatisfy({ $0 == 0 || $0 == 1 }), p.allSatisfy({ $0 >= 0 && $0 <= 1 }) { return .binary }
    return .regression
  }
}

extension TallyCommand {
  struct Report: ParsableCommand {
    static let configuration = CommandConfiguration(
      commandName: "report",
      abstract: "Write the evaluation as one self-contained HTML page (curves, confusion, calibration, slices).",
      discussion: """
        Takes the inputs and flags of `tally evaluate` and prints the same results, then writes \
        the page; or draws it from state files (--state), as `tally merge` merges them. With no \
        --metric, the metrics follow the data: binary (labels 0/1, scores in [0, 1]), multi-class \
        (y_pred with several columns) or regression. The page needs no network and no script.

        Examples:
          tally report --y-true y.npy --y-pred p.npy --output report.html
          tally report --y-true y.npy --y-pred p.npy --slice-by country.npy --bootstrap 200 -o report.html
          tally report --state shard-0.json --state shard-1.json --output report.html
        """
    )

    @OptionGroup var evaluation: Evaluate

    @Option(name: [.customShort("o"), .customLong("output")], help: "The HTML file to write.")
    var output: String = "report.html"

    @Option(
      name: .customLong("state"),
      help: "Draw from state files (tally evaluate --save-state) instead of data. Repeatable.")
    var states: [String] = []

    @Option(help: "The page's title (default: the inputs' names).")
    var title: String?

    @Option(help: "The decision threshold of the binary confusion matrix and the marked operating point.")
    var threshold: Double = 0.5

    @Option(help: "What the data are: auto, binary, multiclass or regression.")
    var task: ReportTask = .auto

    @Option(name: .customLong("class-names"), help: "Class names for the confusion matrix, comma-separated.")
    var classNames: String?

    @Flag(name: .customLong("normalize-rows"), help: "Show the class confusion matrix as fractions of each true class.")
    var normalizeRows = false

    func run() throws {
      keepFreedMemory()
      do {
        try evaluation.limits.apply()
        guard threshold.isFinite else {
          throw CommandError("--threshold must be a finite number; received \(threshold)")
        }
        try checkConfidence(evaluation.confidence)
        let page: ReportPage
        let printed: EvaluationReport
        if !states.isEmpty {
          guard evaluation.yTrueOption == nil, evaluation.yPredOption == nil, evaluation.metrics.isEmpty else {
            throw CommandError("--state draws from saved states; give it without --y-true, --y-pred and --metric")
          }
          let merged = try mergeStates(states)
          printed = try EvaluationReport(
            names: merged.metrics.map(\.0), metrics: merged.metrics.map(\.1), samples: merged.samples,
            confidence: evaluation.confidence)
          page = makePage(
            title: title
              ?? "Evaluation of \(states.map { ($0 as NSString).lastPathComponent }.joined(separator: ", "))",
            notes: ["\(merged.samples) rows, merged from \(states.count) state file\(states.count == 1 ? "" : "s")."],
            metrics: merged.metrics.map { (name: $0.0, metric: $0.1) })
        } else {
          let specs = try evaluation.specs()
          let chosen = task
          var detected = ReportTask.auto
          var pass = try evaluation.pass(
            specs: { yt, yp in
              detected = chosen == .auto ? ReportTask.detect(yt, yp) : chosen
              return specs.isEmpty ? try Self.defaultSpecs(detected, yt, yp) : specs
            },
            extras: { yt, yp in try Self.extras(detected, yt, yp, chosen: specs) })
          // The page reads each slice's metric: the held-back counts added
          // once.
          for i in pass.metrics.indices {
            if var s = pass.metrics[i] as? any SlicedMetric {
              try s.settle()
              pass.metrics[i] = s
            }
          }
          printed = try EvaluationReport(
            names: pass.names, metrics: pass.metrics, samples: pass.rows, confidence: evaluation.confidence)
          if let saveState = evaluation.saveState {
            try StateFiles.write(
              saveState, samples: pass.rows, rowOffset: evaluation.rowOffset,
              metrics: Array(zip(pass.names, pass.metrics)))
          }
          var named = zip(pass.names, pass.metrics).map { (name: $0.0, metric: $0.1) }
          let taken = Set(pass.names)
          for extra in pass.extras {
            var name = extra.name
            var k = 1
            while taken.contains(name) {
              name = "\(extra.name)_\(k)"
              k += 1
            }
            named.append((name: name, metric: extra))
          }
          var notes = [
            "\(pass.rows) rows. Labels: \(evaluation.yTrue); predictions: \(evaluation.yPred)"
              + (evaluation.sampleWeight.map { "; weights: \($0)" } ?? "") + ". Read as \(detected.rawValue)."
          ]
          if let r = evaluation.bootstrap {
            notes.append(
              "Intervals: Poisson bootstrap, \(r) replicates, seed \(evaluation.seed), \(EvaluationReport.number(evaluation.confidence * 100).replacingOccurrences(of: ".0", with: "")) % percentile intervals."
            )
          }
          if !evaluation.sliceBy.isEmpty || !evaluation.sliceByColumn.isEmpty {
            notes.append("Slices by \((evaluation.sliceBy + evaluation.sliceByColumn).joined(separator: " × ")).")
          }
          page = makePage(
            title: title ?? "Evaluation of \((evaluation.yPred as NSString).lastPathComponent)", notes: notes,
            metrics: named)
        }
        let html = try page.html()
        try writeFileSafely(output, Data(html.utf8))
        print(evaluation.format == .json ? printed.json : printed.table)
        if !evaluation.quiet { printError("tally: wrote \(output) (\(html.utf8.count) bytes)") }
      } catch let e as ValidationError {
        throw e
      } catch {
        printError("tally: error: \(error)")
        throw ExitCode.failure
      }
    }

    func makePage(title: String, notes: [String], metrics: [(name: String, metric: any Metric)]) -> ReportPage {
      ReportPage(
        title: title, notes: notes, metrics: metrics, threshold: threshold, confidence: evaluation.confidence,
        classNames: classNames.map { $0.split(separator: ",").map { $0.trimmingCharacters(in: .whitespaces) } },
        normalizeRows: normalizeRows)
    }

    /// The metrics of each kind of data when none is given.
    static func defaultSpecs(_ task: ReportTask, _ yTrue: Tensor, _ yPred: Tensor) throws -> [MetricSpec] {
      switch task {
      case .auto, .binary:
        return [
          .identifier("binary_accuracy"), .identifier("precision"), .identifier("recall"), .identifier("auc"),
          .config(try KerasConfig(json: #"{"class_name": "AUC", "config": {"curve": "PR", "name": "pr_auc"}}"#)),
          .identifier("binary_crossentropy"),
        ]
      case .multiclass:
        let sparse = yTrue.rank == 1 || (yTrue.rank == 2 && yTrue.shape[1] == 1)
        let k = yPred.shape.last ?? 1
        var ids =
          sparse
          ? ["sparse_categorical_accuracy", "sparse_categorical_crossentropy"]
          : ["categorical_accuracy", "categorical_crossentropy"]
        if k > 5 { ids.append(sparse ? "sparse_top_k_categorical_accuracy" : "top_k_categorical_accuracy") }
        return ids.map { .identifier($0) }
      case .regression:
        // Keras's R2Score takes (rows, outputs) only.
        let r2 = yPred.rank == 2 && yTrue.rank == 2 ? ["r2_score"] : []
        return (["mean_squared_error", "root_mean_squared_error", "mean_absolute_error"] + r2).map {
          .identifier($0)
        }
      }
    }

    /// The metrics that draw the page's plots, beside the named ones: exact
    /// curves for binary scores (unless an `exact_auc` is named), the class
    /// confusion matrix, a sample of regression rows.
    static func extras(_ task: ReportTask, _ yTrue: Tensor, _ yPred: Tensor, chosen: [MetricSpec]) throws
      -> [any Metric]
    {
      switch task {
      case .auto, .binary:
        let named = chosen.contains {
          switch $0 {
          case .identifier(let id): id.lowercased() == "exact_auc"
          case .config(let c): c.className == "ExactAUC"
          default: false
          }
        }
        return named ? [] : [ExactAUC(name: "exact_roc_auc")]
      case .multiclass:
        let sparse = yTrue.rank == 1 || (yTrue.rank == 2 && yTrue.shape[1] == 1)
        return [try CohenKappa(numClasses: yPred.shape.last ?? 2, sparseLabels: sparse)]
      case .regression:
        return [RegressionSample()]
      }
    }
  }
}

/// The states of `paths` merged as `tally merge` merges them.
func mergeStates(_ paths: [String]) throws -> (metrics: [(String, any Metric)], samples: Int) {
  var samples = 0
  var merged: [(String, any Metric)] = []
  var files: [LoadedState] = []
  for path in paths {
    let file = try StateFiles.load(path)
    files.append(file)
    if files.count == 1 {
      merged = file.metrics.map { ($0.0, $0.1 as any Metric) }
    } else {
      // Matched by name (the files' order may differ; each name is unique
      // in a file).
      let byName = Dictionary(uniqueKeysWithValues: file.metrics.map { ($0.0, $0.1) })
      guard Set(byName.keys) == Set(merged.map(\.0)) else {
        throw CommandError("'\(path)' holds metrics \(file.metrics.map(\.0)); the first file holds \(merged.map(\.0))")
      }
      for i in merged.indices {
        do {
          merged[i].1 = try mergeAny(merged[i].1, byName[merged[i].0]!)
        } catch {
          throw CommandError("'\(path)': metric \(merged[i].0) cannot be merged: \(error)")
        }
      }
    }
    let (total, overflow) = samples.addingReportingOverflow(file.samples)
    guard !overflow else {
      throw CommandError("'\(path)': \(file.samples) more samples overflow the total of \(samples)")
    }
    samples = total
  }
  try StateFiles.checkDisjointRows(files)
  return (merged, samples)
}
