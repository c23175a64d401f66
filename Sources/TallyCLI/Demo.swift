import ArgumentParser
import Foundation
import Tally
import TallyExample

extension TallyCommand {
  struct Demo: ParsableCommand {
    static let configuration = CommandConfiguration(
      commandName: "demo",
      abstract: "Show Tally at work: standalone metrics, a compile()/fit() loop, and shards merged.",
      discussion: "Needs no files and no network."
    )

    @Option(help: "Training epochs for the fit example.")
    var epochs = 10

    @Option(help: "Where to write the report of the fit example's evaluation (an HTML page).")
    var report = "tally-demo-report.html"

    func run() throws {
      try standalone()
      try fitExample()
      try merged()
    }

    /// Standalone use, as in the Keras docs: several updates, then result().
    func standalone() throws {
      print("1. Standalone metrics (as in the Keras docs)\n")
      var mean = Mean()
      try mean.update([1, 3, 5, 7])
      print("   Mean of [1, 3, 5, 7]                       \(mean.result())")
      mean.reset()
      try mean.update([1, 3, 5, 7], sampleWeight: [1, 1, 0, 0])
      print("   ... with sample_weight [1, 1, 0, 0]        \(mean.result())")
      var auc = try AUC()
      try auc.update(yTrue: [0, 0, 1, 1], yPred: [0, 0.5, 0.3, 0.9])
      print("   AUC() on [0, 0, 1, 1] / [0, .5, .3, .9]    \(auc.result())")
      var precision = try Precision()
      try precision.update(yTrue: [0, 1, 1, 1], yPred: [1, 0, 1, 1])
      try precision.update(yTrue: [1, 0], yPred: [1, 1])
      print("   Precision() over two batches               \(precision.result())")
      var sum = Sum()
      try sum.update(Float(16_777_216))
      try sum.update(Float(1))
      print("   Sum of 2^24 then 1 (Keras: 16777216)       \(sum.result())\n")
    }

    /// Keras's Sequential example, compiled with Tally's metrics.
    func fitExample() throws {
      print("2. Keras's example: Dense(64, relu), Dense(64, relu), Dense(10, softmax),")
      print("   compile(optimizer=\"adam\", loss=\"categorical_crossentropy\",")
      print("           metrics=[\"accuracy\", AUC()]), fit(batch_size=32, epochs=\(epochs))")
      print("   on random data: x 1000 × 32, y 1000 × 10 one-hot.\n")
      var g = SplitMix64(seed: 42)
      let rows = 1000
      let x = (0..<(rows * 32)).map { _ in Double.random(in: 0..<1, using: &g) }
      var y = [Double](repeating: 0, count: rows * 10)
      for r in 0..<rows { y[r * 10 + Int.random(in: 0..<10, using: &g)] = 1 }
      let net = Sequential(
        [
          Dense(inputSize: 32, units: 64, activation: .relu, using: &g),
          Dense(inputSize: 64, units: 64, activation: .relu, using: &g),
          Dense(inputSize: 64, units: 10, activation: .softmax, using: &g),
        ], loss: .categoricalCrossentropy, optimizer: .adam())
      var model = Model(net, metrics: ["accuracy", .metric(try AUC())])
      _ = try model.fit(x: x, y: y, rows: rows, batchSize: 32, epochs: epochs)
      let logs = try model.evaluate(x: x, y: y, rows: rows)
      print("\n   evaluate(x, y): " + logs.map { "\($0.name): \(fixed($0.value))" }.joined(separator: " - "))
      print("   (\"accuracy\" resolved to \(type(of: model.metrics.metrics[0]).className) from the shapes.)")
      try writeReport(model, x: x, y: y, rows: rows)
    }

    /// The report of the trained model on its data: the compiled metrics,
    /// and the class confusion matrix of its predictions.
    func writeReport(_ model: Model, x: [Double], y: [Double], rows: Int) throws {
      let predictions = try Tensor(model.network.predict(x, rows: rows), shape: [rows, 10])
      let labels = try Tensor(y, shape: [rows, 10])
      var kappa = try CohenKappa(numClasses: 10)
      try kappa.update(yTrue: labels, yPred: predictions)
      var metrics: [(name: String, metric: any Metric)] = [("loss", model.lossTracker)]
      metrics += model.metrics.metrics.map { (name: $0.name, metric: $0 as any Metric) }
      metrics.append(("cohen_kappa", kappa))
      let page = ReportPage(
        title: "Keras's example, fitted \(epochs) epochs with Tally's metrics",
        notes: [
          "Dense(64, relu), Dense(64, relu), Dense(10, softmax) on random data (x 1000 × 32, y 1000 × 10 one-hot); evaluate(x, y)."
        ], metrics: metrics)
      try writeFileSafely(report, Data(try page.html().utf8))
      print("   Report of evaluate(x, y): \(report)\n")
    }

    /// Two instances on two halves, one saved and loaded, merged.
    func merged() throws {
      print("3. Distributed evaluation: two shards, one state saved and loaded, merged\n")
      var g = SplitMix64(seed: 7)
      let n = 10_000
      let labels = (0..<n).map { _ in Double(Int.random(in: 0...1, using: &g)) }
      let scores = labels.map { min(1, max(0, 0.35 * $0 + Double.random(in: 0..<0.65, using: &g))) }
      var whole = try AUC()
      try whole.update(yTrue: Tensor(labels), yPred: Tensor(scores))
      var left = try AUC()
      var right = try AUC()
      try left.update(yTrue: Tensor(Array(labels[..<(n / 2)])), yPred: Tensor(Array(scores[..<(n / 2)])))
      try right.update(yTrue: Tensor(Array(labels[(n / 2)...])), yPred: Tensor(Array(scores[(n / 2)...])))
      let sent = right.savedState()  // what one machine sends another
      try left.merge(try AUC(savedState: sent))
      var exact = ExactAUC()
      try exact.update(yTrue: Tensor(labels), yPred: Tensor(scores))
      print("   AUC, one instance on all 10,000 rows        \(whole.result())")
      print("   AUC, two halves merged                      \(left.result())")
      print("   equal: \(whole.result() == left.result())  (state file: \(sent.count) bytes)")
      print("   ExactAUC (equals scikit-learn)              \(exact.result())")
    }

    func fixed(_ x: Double) -> String {
      let r = (x * 10_000).rounded() / 10_000
      return "\(r)"
    }
  }
}
