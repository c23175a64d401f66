// swift-tools-version: 6.1
// Fuzzing harnesses for Tally's loaders (see README.md). Built with libFuzzer:
//   swift build --package-path Fuzz --scratch-path .build-fuzz -c release \
//     --disable-dead-strip --sanitize=fuzzer -Xswiftc -sanitize=fuzzer,address -Xswiftc -enable-testing
// or simply `Fuzz/run.sh`.
import PackageDescription

// Each harness is an executable without a `main`: libFuzzer supplies one and
// calls the harness's `LLVMFuzzerTestOneInput`.
let harnesses = ["FuzzNPY", "FuzzCSV", "FuzzState", "FuzzConfig"]

let package = Package(
  name: "TallyFuzz",
  dependencies: [
    .package(name: "Tally", path: "..")
  ],
  targets: [
    // What the harnesses share: temporary files, bitwise comparisons, and
    // driving any metric through update, result, save, load and merge.
    .target(
      name: "FuzzSupport",
      dependencies: [.product(name: "Tally", package: "Tally")]
    )
  ]
    + harnesses.map { name in
      .executableTarget(
        name: name,
        dependencies: ["FuzzSupport", .product(name: "Tally", package: "Tally")],
        swiftSettings: [.unsafeFlags(["-parse-as-library"])]
      )
    },
  swiftLanguageModes: [.v6]
)
