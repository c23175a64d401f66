// swift-tools-version: 6.1
import PackageDescription

let package = Package(
  name: "Tally",
  products: [
    .library(name: "Tally", targets: ["Tally"]),
    .executable(name: "tally", targets: ["TallyCLI"]),
  ],
  dependencies: [
    .package(url: "https://github.com/apple/swift-numerics", from: "1.1.1"),
    .package(url: "https://github.com/apple/swift-argument-parser", from: "1.8.2"),
  ],
  targets: [
    // MARK: - Public API
    .target(
      name: "Tally",
      dependencies: [.product(name: "RealModule", package: "swift-numerics")]
    ),
    // The runnable training example: a tiny pure-Swift network, just enough
    // to run Keras's compile()/fit() example with Tally's metrics.
    .target(
      name: "TallyExample",
      dependencies: ["Tally"]
    ),
    .executableTarget(
      name: "TallyCLI",
      dependencies: [
        "Tally",
        "TallyExample",
        .product(name: "ArgumentParser", package: "swift-argument-parser"),
      ]
    ),
    // MARK: - Tests
    .testTarget(
      name: "TallyTests",
      dependencies: [
        "Tally",
        .product(name: "RealModule", package: "swift-numerics"),
      ],
      exclude: ["Fixtures"]
    ),
    .testTarget(
      name: "TallyExampleTests",
      dependencies: ["TallyExample", "Tally"]
    ),
    .testTarget(
      name: "TallyCLITests",
      dependencies: ["TallyCLI", "Tally"]
    ),
  ],
  swiftLanguageModes: [.v6]
)
