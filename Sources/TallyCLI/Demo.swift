import ArgumentParser
import Tally

extension TallyCommand {
  struct Demo: ParsableCommand {
    static let configuration = CommandConfiguration(
      abstract: "Show Tally at work: standalone metrics, and two shards merged."
    )

    func run() throws {
      print("Tally demo")
      print("==========\n")

      // Standalone use, as in the Keras docs: several updates, then result().
      var mean = Mean()
      try mean.update([1, 3, 5, 7])
      print("Mean of [1, 3, 5, 7]:                         \(mean.result())")
      mean.reset()
      try mean.update([1, 3, 5, 7], sampleWeight: [1, 1, 0, 0])
      print("Mean with sample_weight [1, 1, 0, 0]:         \(mean.result())")

      var mse = MeanMetricWrapper(fn: .meanSquaredError, name: "mse")
      try mse.update(yTrue: [[0, 1], [0, 0]], yPred: [[1, 1], [0, 0]])
      try mse.update(yTrue: [[1, 1]], yPred: [[0.5, 1]])
      print("MeanMetricWrapper(mean_squared_error), 2 batches: \(mse.result())")

      // Distributed evaluation: two instances on two halves, merged.
      var generator = SplitMix64(seed: 42)
      let values = (0..<10_000).map { _ in Double(generator.next() % 1_000_000) / 1_000 }
      var whole = Mean(), left = Mean(), right = Mean()
      try whole.update(Tensor(values))
      try left.update(Tensor(Array(values[..<5_000])))
      try right.update(Tensor(Array(values[5_000...])))
      let saved = right.savedState()   // what one machine sends another
      var received = Mean()
      try received.load(savedState: saved)
      try left.merge(received)
      print("\nMean over 10,000 values, one instance:       \(whole.result())")
      print("Two halves, the second saved, loaded, merged: \(left.result())")
      print("Equal: \(whole.result() == left.result())")

      // Beyond Keras: counts past 2^24.
      var sum = Sum()
      try sum.update(Float(16_777_216))
      try sum.update(Float(1))
      print("\nSum of 2^24 then 1 (Keras float32 gives 16777216): \(sum.result())")
    }
  }
}
