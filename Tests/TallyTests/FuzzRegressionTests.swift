// Inputs the fuzzing harnesses (Fuzz/README.md) found to trap, allocate
// without limit or break a documented promise, kept as tests: each loader
// must throw its typed error or return, never trap. The inputs are copied
// here (JSON as raw strings, binary files as base64) from
// Fuzz/Crashes/<Harness>/, so the tests need no files. A test of a bug not
// yet fixed is disabled: a trap would end the whole test process.

import Foundation
import Tally
import Testing

@Suite struct FuzzRegressionTests {
  /// The bytes written to a fresh temporary file, whose path `body` gets.
  func withFile<R>(_ base64: String, suffix: String, _ body: (String) throws -> R) throws -> R {
    let bytes = try #require(Data(base64Encoded: base64))
    let url = FileManager.default.temporaryDirectory
      .appendingPathComponent("tally-fuzz-regression-\(UUID().uuidString)\(suffix)")
    try bytes.write(to: url)
    defer { try? FileManager.default.removeItem(at: url) }
    return try body(url.path)
  }

  /// Opens a `.npy` file and reads it every way the library offers; any
  /// `FileInputError` is an acceptable answer.
  func readEveryWay(_ path: String) {
    do throws(FileInputError) {
      let reader = try NPYReader(path: path)
      _ = (reader.rows, reader.elementsPerRow, reader.elementCount, reader.rowShape)
      _ = try reader.readAll()
      _ = try reader.readRows(0..<reader.rows)
      _ = try reader.mapped()?.rows(0..<reader.rows)
    } catch {
      // Refused with a typed error: fine.
    }
  }

  /// FuzzNPY: a shape whose first dimension is 0 passes the header's
  /// element-count check (0 × anything is 0), but the product of the other
  /// dimensions overflows `Int` in `NPYReader.elementsPerRow`
  /// (`rowShape.reduce(1, *)`), which `readAll`, `readRows` and `mapped`
  /// call. Files: Fuzz/Crashes/FuzzNPY/zero-rows-*.npy.
  @Test(
    arguments: [
      // shape (0, 4611686018427387904, 4611686018427387904), '<f4', C order
      "k05VTVBZAQB2AHsnZGVzY3InOiAnPGY0JywgJ2ZvcnRyYW5fb3JkZXInOiBGYWxzZSwgJ3NoYXBlJzogKDAsIDQ2MTE2ODYwMTg0"
        + "MjczODc5MDQsIDQ2MTE2ODYwMTg0MjczODc5MDQpfSAgICAgICAgICAgICAgICAgICAgIAo=",
      // shape (0, 4611686018427387904, 4), '<f4', Fortran order
      "k05VTVBZAQB2AHsnZGVzY3InOiAnPGY0JywgJ2ZvcnRyYW5fb3JkZXInOiBUcnVlLCAnc2hhcGUnOiAoMCwgNDYxMTY4NjAxODQy"
        + "NzM4NzkwNCwgNCl9ICAgICAgICAgICAgICAgICAgICAgICAgICAgICAgICAgICAgICAgIAo=",
      // shape (0, 4611686000929368155), '<f2': the row fits as `<f2` but
      // not as the `Float` it is read into, so it was read and could not be
      // written back (found by the fixed-run CI fuzzing of stop 20).
      "k05VTVBZAQB2AHsnZGVzY3InOiAnPGYyJywgJ2ZvcnRyYW5fb3JkZXInOiBGYWxzZSwgJ3NoYXBlJzogKDAsIDQ2MTE2ODYwMDA5"
        + "MjkzNjgxNTUpfSAgICAgICAgICAgICAgICAgICAgICAgICAgICAgICAgICAgICAgICAgIAo=",
    ])
  func npyZeroRowsWithHugeRows(base64: String) throws {
    try withFile(base64, suffix: ".npy") { path in
      // Refused when the header is read (the row size is checked too).
      #expect(throws: FileInputError.self) { _ = try NPYReader(path: path) }
      readEveryWay(path)
    }
  }

  /// FuzzConfig, FuzzState: `MeanIoU` and `OneHotMeanIoU` build their
  /// target classes as `Array(0..<num_classes)` before `IoUCore` checks the
  /// state memory, so a large `num_classes` allocates first: 10¹² asks for
  /// 8 TB and traps (`tally evaluate` aborts), 2³¹ − 1 allocates and fills
  /// 17 GB. The same configuration inside a state file does the same in
  /// `init(savedState:)`. Files: Fuzz/Crashes/FuzzConfig/*meaniou-*.json,
  /// Fuzz/Crashes/FuzzState/onehotmeaniou-num-classes-2-pow-31.json.
  @Test(
    arguments: [
      #"{"class_name":"MeanIoU","config":{"num_classes":1000000000000}}"#,
      #"{"class_name":"OneHotMeanIoU","config":{"num_classes":2147483647}}"#,
    ])
  func iouWithHugeNumClassesIsRefused(json: String) throws {
    let config = try KerasConfig(json: json)
    let error = #expect(throws: MetricError.self) { _ = try MetricRegistry.deserialize(config) }
    #expect(error?.message.contains("num_classes") == true, "\(String(describing: error))")
  }

  @Test func iouStateWithHugeNumClassesIsRefused() throws {
    // Fuzz/Crashes/FuzzState/onehotmeaniou-num-classes-2-pow-31.json, as found.
    let file = #"""
      {"format":"tally.metric-state","metric":{"config":{"dtype":"float05","sparse_y_pred":false,"name":"PR","axis":1,\#
      "num_classes":2147483648},"class_name":"OneHotMeanIoU","module":"Mean","registered_name":null},"state":{"classes":-3,\#
      "counts":[{"head":0,"tail":0},{"head":9007199254740993,"tail":0},{"head":0,"tail":0},{"tail":0,"head":0},\#
      {"head":0,"tail":0},{"tail":0,"head":3},{"head":2,"tail":0},{"head":0,"tail":9223372036854775806,"extra":1},\#
      {"tail":0,"head":4}],"extra":9223372036854775807},"version":1}
      """#
    #expect(throws: MetricError.self) { _ = try OneHotMeanIoU(savedState: Data(file.utf8)) }
  }

  /// FuzzConfig (found by the CI run of stop 19): the four operating-point
  /// metrics built their `num_thresholds` grid without checking the state
  /// memory, so `PrecisionAtRecall(num_thresholds=2³¹ − 1)` asked for 17 GB
  /// (libFuzzer's out-of-memory). File:
  /// Fuzz/Crashes/FuzzConfig/precisionatrecall-num-thresholds-2-pow-31.json.
  @Test(arguments: [
    "PrecisionAtRecall", "RecallAtPrecision", "SensitivityAtSpecificity", "SpecificityAtSensitivity",
  ])
  func operatingPointWithHugeNumThresholdsIsRefused(className: String) throws {
    let target = [
      "PrecisionAtRecall": "recall", "RecallAtPrecision": "precision",
      "SensitivityAtSpecificity": "specificity", "SpecificityAtSensitivity": "sensitivity",
    ][className]!
    let json = #"{"class_name":"\#(className)","config":{"\#(target)":0.5,"num_thresholds":2147483647}}"#
    let config = try KerasConfig(json: json)
    let error = #expect(throws: MetricError.self) { _ = try MetricRegistry.deserialize(config) }
    #expect(error?.message.contains("num_thresholds = 2147483647") == true, "\(String(describing: error))")
  }

  /// FuzzConfig: a configuration whose `name` or `dtype` is the string
  /// `"nan"`, `"inf"` or `"-inf"` is accepted, but the state file it saves
  /// cannot be read back: the state decoder reads non-finite numbers from
  /// those strings (`SavedState.decoder`, `.convertFromString`) and
  /// `JSONValue` tries `Double` before `String`, so the string becomes a
  /// number and `init(config:)` refuses it ("argument `name` must be a
  /// string; received nan"). `tally evaluate --metric
  /// '{"class_name": "AUC", "config": {"name": "inf"}}' --save-state s.json`
  /// then `tally merge s.json` fails so. Files:
  /// Fuzz/Crashes/FuzzConfig/state-reload-*.json.
  @Test(
    arguments: [
      #"{"class_name":"Mean","config":{"name":"nan"}}"#,
      #"{"module":"inf","config":{"k":2,"name":"top_k_categorical_accuracy","dtype":"inf"},"class_name":"TopKCategoricalAccuracy","registered_name":null}"#,
      #"{"class_name":"AUC","config":{"name":"-inf","num_thresholds":5}}"#,
    ])
  func savedStateOfNonFiniteNamedStringsReadsBack(json: String) throws {
    let metric = try MetricRegistry.deserialize(try KerasConfig(json: json))
    let back = try type(of: metric).init(savedState: metric.savedState())
    #expect(back.config == metric.config)
  }
}
