// swift-tools-version: 6.1
// The benchmark executable, kept out of the library's dependencies and out of
// `swift test`. Run from the repository root:
//   swift run -c release --package-path Benchmarks tally-bench
import PackageDescription

let package = Package(
  name: "TallyBenchmarks",
  dependencies: [.package(name: "Tally", path: "..")],
  targets: [
    .executableTarget(
      name: "tally-bench",
      dependencies: [.product(name: "Tally", package: "Tally")],
      path: "Sources/TallyBench"
    )
  ],
  swiftLanguageModes: [.v6]
)
