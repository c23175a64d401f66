import Foundation
import Testing

@testable import Tally

/// Writes `text` (or `bytes`) to a unique temporary file and returns its path.
fileprivate func csvFile(_ text: String) -> String {
  csvFile(bytes: Array(text.utf8))
}

fileprivate func csvFile(bytes: [UInt8]) -> String {
  let path = FileManager.default.temporaryDirectory
    .appendingPathComponent("tally-csv-\(UUID().uuidString).csv").path
  _ = FileManager.default.createFile(atPath: path, contents: Data(bytes))
  return path
}

fileprivate func removeCSV(_ path: String) {
  try? FileManager.default.removeItem(atPath: path)
}

/// Every remaining row of `columns`, read `batch` rows at a time.
fileprivate func readAllRows(_ reader: inout CSVReader, columns: [Int], batch: Int = 3) throws
  -> [[Double]]
{
  var out: [[Double]] = []
  while let rows = try reader.nextRows(batch, columns: columns) {
    #expect(rows.count <= batch)
    out += rows
  }
  return out
}

/// The error `body` throws, or nil.
fileprivate func csvError(_ body: () throws -> Void) -> FileInputError? {
  do {
    try body()
    return nil
  } catch let error as FileInputError {
    return error
  } catch {
    Issue.record("unexpected error \(error)")
    return nil
  }
}

@Suite struct CSVReaderTests {
  @Test func headerIsDetected() throws {
    let path = csvFile("y_true,y_pred\n1,0.9\n0,0.2\n1,0.4\n")
    defer { removeCSV(path) }
    var r = try CSVReader(path: path)
    #expect(r.header == ["y_true", "y_pred"])
    #expect(r.columnCount == 2)
    #expect(r.columnIndex(named: "y_pred") == 1)
    #expect(r.columnIndex(named: " y_true ") == 0)
    #expect(r.columnIndex(named: "missing") == nil)
    #expect(try r.nextRows(2, columns: [0, 1]) == [[1, 0.9], [0, 0.2]])
    #expect(try r.nextRows(2, columns: [0, 1]) == [[1, 0.4]])
    #expect(try r.nextRows(2, columns: [0, 1]) == nil)
    #expect(try r.nextRows(2, columns: [0, 1]) == nil)
  }

  @Test func noHeaderIsDetected() throws {
    let path = csvFile("1,2\n3,4")
    defer { removeCSV(path) }
    var r = try CSVReader(path: path)
    #expect(r.header == nil)
    #expect(r.columnCount == 2)
    #expect(r.columnIndex(named: "1") == nil)
    #expect(try readAllRows(&r, columns: [1, 0]) == [[2, 1], [4, 3]])
  }

  @Test func explicitHeader() throws {
    let path = csvFile("0,1\n5,6\n")
    defer { removeCSV(path) }
    var r = try CSVReader(path: path, hasHeader: true)
    #expect(r.header == ["0", "1"])
    #expect(r.columnIndex(named: "1") == 1)
    #expect(try readAllRows(&r, columns: [0, 1]) == [[5, 6]])

    let named = csvFile("a,b\n1,2\n")
    defer { removeCSV(named) }
    var asData = try CSVReader(path: named, hasHeader: false)
    #expect(asData.header == nil)
    #expect(
      csvError { _ = try asData.nextRows(5, columns: [1]) }
        == .badCSVCell(path: named, line: 1, column: 2, text: "b"))
  }

  @Test func quotedFields() throws {
    let text = #"""
      "name, first","say ""hi""","multi
      line"
      "1,5",2,"3"
      "x",  4 ,"-1e3"

      """#
    let path = csvFile(text)
    defer { removeCSV(path) }
    var r = try CSVReader(path: path)
    #expect(r.header == ["name, first", "say \"hi\"", "multi\nline"])
    #expect(r.columnIndex(named: "say \"hi\"") == 1)
    #expect(try r.nextRows(1, columns: [1, 2]) == [[2, 3]])
    #expect(try r.nextRows(1, columns: [2, 1]) == [[-1000, 4]])
    #expect(try r.nextRows(1, columns: [1]) == nil)
    // The quoted comma is one cell (not a number), reported on line 3.
    var again = try CSVReader(path: path)
    #expect(
      csvError { _ = try again.nextRows(1, columns: [0]) }
        == .badCSVCell(path: path, line: 3, column: 1, text: "1,5"))
  }

  @Test func lineEndings() throws {
    for text in [
      "a,b\r\n1,2\r\n3,4\r\n", "a,b\r1,2\r3,4", "a,b\n1,2\n3,4\n\n\n", "a,b\r\n\r\n1,2\r\n\n3,4\r\n\r\n",
      "\u{FEFF}a,b\n1,2\n3,4",
    ] {
      let path = csvFile(text)
      defer { removeCSV(path) }
      var r = try CSVReader(path: path)
      #expect(r.header == ["a", "b"], "\(text.debugDescription)")
      #expect(try readAllRows(&r, columns: [0, 1]) == [[1, 2], [3, 4]], "\(text.debugDescription)")
    }
    // Line numbers count blank lines and every kind of line ending.
    let path = csvFile("a,b\r\n\r\n1,2\r3,4\n\n5,x\n")
    defer { removeCSV(path) }
    var r = try CSVReader(path: path)
    #expect(
      csvError { _ = try readAllRows(&r, columns: [0, 1]) }
        == .badCSVCell(path: path, line: 6, column: 2, text: "x"))
  }

  @Test func selectingColumns() throws {
    let path = csvFile("id,label,score,note\nA7,1,0.25,good\nB8,0,0.75,\"bad, really\"\n")
    defer { removeCSV(path) }
    var r = try CSVReader(path: path)
    let label = try #require(r.columnIndex(named: "label"))
    let score = try #require(r.columnIndex(named: "score"))
    // Text columns that are not selected are not parsed.
    #expect(try r.nextRows(1, columns: [score, label, score]) == [[0.25, 1, 0.25]])
    #expect(try r.nextRows(1, columns: []) == [[]])
    #expect(try r.nextRows(1, columns: [label]) == nil)
    var r2 = try CSVReader(path: path)
    #expect(
      csvError { _ = try r2.nextRows(1, columns: [4]) }
        == .csv(path: path, reason: "column index 4 is out of range; the file has 4 columns"))
    #expect(csvError { _ = try r2.nextRows(1, columns: [-1]) } != nil)
    #expect(csvError { _ = try r2.nextRows(0, columns: [1]) } != nil)
    // Argument errors do not consume anything.
    #expect(try r2.nextRows(5, columns: [1]) == [[1], [0]])
  }

  @Test func otherSeparatorsAndSpecialValues() throws {
    let path = csvFile("a\tb\tc\td\te\tf\nnan\tINF\t-inf\tTrue\t FALSE \t+2.5e-1\n-Infinity\t0x10\t.5\t5.\t-0\t1e400\n")
    defer { removeCSV(path) }
    var r = try CSVReader(path: path, separator: "\t")
    let rows = try readAllRows(&r, columns: Array(0..<6))
    #expect(rows.count == 2)
    #expect(rows[0][0].isNaN)
    #expect(Array(rows[0][1...]) == [.infinity, -.infinity, 1, 0, 0.25])
    #expect(rows[1] == [-.infinity, 16, 0.5, 5, 0, .infinity])

    let semi = csvFile("x;y\n1;2\n")
    defer { removeCSV(semi) }
    var s = try CSVReader(path: semi, separator: ";")
    #expect(try s.nextRows(9, columns: [1, 0]) == [[2, 1]])

    for bad: Character in ["\"", "\n", "\r\n", "é"] {
      #expect(throws: FileInputError.self) { try CSVReader(path: semi, separator: bad) }
    }
  }

  @Test func numbersParseExactlyAsTheStandardLibraryDoes() {
    var g = SplitMix64(seed: 77)
    let digits = Array("0123456789")
    for _ in 0..<20_000 {
      var text = ""
      if Bool.random(using: &g) { text += Bool.random(using: &g) ? "-" : "+" }
      for _ in 0..<Int.random(in: 0...12, using: &g) { text.append(digits[Int.random(in: 0..<10, using: &g)]) }
      if Int.random(in: 0..<3, using: &g) > 0 {
        text += "."
        for _ in 0..<Int.random(in: 0...12, using: &g) { text.append(digits[Int.random(in: 0..<10, using: &g)]) }
      }
      if Int.random(in: 0..<3, using: &g) == 0 {
        text += Bool.random(using: &g) ? "e" : "E"
        if Bool.random(using: &g) { text += Bool.random(using: &g) ? "-" : "+" }
        text += String(Int.random(in: 0...400, using: &g))
      }
      let expected = Double(text)
      let got = CSVReader.number(from: Array(text.utf8)[...])
      #expect(got?.bitPattern == expected?.bitPattern, "\(text)")
    }
    for text in [
      "0", "-0", "007", "0.1", "1e22", "1e23", "123456789012345", "1234567890123456", "9007199254740993",
      "1.7976931348623157e308", "4.9e-324", "2.2250738585072014e-308", "0.30000000000000004",
    ] {
      #expect(CSVReader.number(from: Array(text.utf8)[...])?.bitPattern == Double(text)?.bitPattern, "\(text)")
    }
  }

  /// A million decimals, random and adversarial, read exactly as
  /// `Double(String)` reads them: random digits and exponents (up to 25
  /// digits, so that the fallback runs too), doubles of every magnitude in
  /// their shortest form and with one more digit, exact midpoints between
  /// doubles (ties to even) and their neighbours in the 19th digit, and
  /// the ends of the range (subnormals, the largest double, overflow).
  @Test func millionDecimalsParseAsDoubleStringDoes() {
    var g = SplitMix64(seed: 0xE15E1)
    var texts: [[UInt8]] = []
    texts.reserveCapacity(1_000_000)
    func digit(_ g: inout SplitMix64) -> UInt8 { UInt8(ascii: "0") + UInt8(g.next() % 10) }
    // Random digit strings.
    for _ in 0..<300_000 {
      var t: [UInt8] = g.next() & 1 == 0 ? [UInt8(ascii: "-")] : []
      let n = Int(g.next() % 25) + 1
      let point = Int(g.next() % UInt64(n + 2)) - 1
      for k in 0..<n {
        if k == point { t.append(UInt8(ascii: ".")) }
        t.append(digit(&g))
      }
      if g.next() & 1 == 0 { t += Array("e\(Int(g.next() % 671) - 350)".utf8) }
      texts.append(t)
    }
    // Doubles of every magnitude, printed in their shortest form, and with
    // one more digit (between two doubles, often close to a midpoint).
    for _ in 0..<300_000 {
      let d = Double(bitPattern: g.next() % 0x7FF0_0000_0000_0000)
      let shortest = Array(d.description.utf8)
      texts.append(shortest)
      let e = shortest.firstIndex(of: UInt8(ascii: "e")) ?? shortest.count
      let point: [UInt8] = shortest.contains(UInt8(ascii: ".")) ? [] : [UInt8(ascii: ".")]
      texts.append(shortest[..<e] + point + [digit(&g)] + shortest[e...])
    }
    // Exact midpoints between neighbouring doubles, (2m+1)·2^(k-1) as
    // integers and (2m+1)·5^j · 10^-j, and one unit above and below.
    for _ in 0..<100_000 {
      let m = (1 << 52) + g.next() % (1 << 52)
      let k = g.next() % 10
      texts.append(Array(String((2 * m + 1) << k).utf8))
      let j = Int(g.next() % 4) + 1
      var five: UInt64 = 1
      for _ in 0..<j { five *= 5 }
      texts.append(Array("\((2 * m + 1) * five)e-\(j)".utf8))
      let (near, overflow) = ((2 * m + 1) * five).multipliedReportingOverflow(by: 3)
      if !overflow, near < 10_000_000_000_000_000_000 {
        texts.append(Array("\(near - 1)e-\(j)".utf8))
        texts.append(Array("\(near + 1)e-\(j)".utf8))
      }
    }
    texts += [
      "1.7976931348623157e308", "1.7976931348623158e308", "1.7976931348623159e308", "1e308", "1e309",
      "2.2250738585072011e-308", "2.2250738585072012e-308", "2.2250738585072014e-308", "4.9406564584124654e-324",
      "2.4703282292062327e-324", "2.4703282292062328e-324", "1e-324", "1e-342", "1e-343", "9007199254740993",
      "9007199254740992.5", "18446744073709551615", "9999999999999999999", "0.1", "-0", "0e-400", "1e22", "1e23",
    ].map { Array($0.utf8) }
    #expect(texts.count >= 1_000_000)
    // Checked on every core.
    let parts = 8
    let all = texts
    let results = UnsafeMutableBufferPointer<(mismatches: [String], fast: Int, short: Int)>.allocate(capacity: parts)
    results.initialize(repeating: ([], 0, 0))
    defer {
      results.deinitialize()
      results.deallocate()
    }
    nonisolated(unsafe) let shared = results
    DispatchQueue.concurrentPerform(iterations: parts) { p in
      var result: (mismatches: [String], fast: Int, short: Int) = ([], 0, 0)
      for text in all[(all.count * p / parts)..<(all.count * (p + 1) / parts)] {
        let got = CSVReader.number(from: text[...])
        let string = String(decoding: text, as: UTF8.self)
        if got?.bitPattern != Double(string)?.bitPattern, result.mismatches.count < 10 {
          result.mismatches.append(string)
        }
        // The bulk scanner's reading of the cell followed by a separator:
        // the general reading's value and end, and `Double(String)`'s value.
        var (commonStop, generalStop) = (-1, -1)
        let (common, general) = (text + [UInt8(ascii: ",")]).withUnsafeBufferPointer { b in
          (
            CSVReader.commonDecimalPrefix(b.baseAddress!, 0, b.count, stop: &commonStop),
            CSVReader.decimalPrefix(b.baseAddress!, 0, b.count, stop: &generalStop)
          )
        }
        let commonRight =
          common?.bitPattern == general?.bitPattern && (common == nil || commonStop == generalStop)
          && (common == nil || commonStop != text.count || common?.bitPattern == Double(string)?.bitPattern)
        if !commonRight, result.mismatches.count < 10 { result.mismatches.append("common: " + string) }
        if text.count <= 19 {
          result.short += 1
          if CSVReader.fastDecimal(text[...]) != nil { result.fast += 1 }
        }
      }
      shared[p] = result
    }
    let mismatches = results.flatMap(\.mismatches)
    #expect(mismatches.isEmpty, "\(mismatches)")
    // The fast algorithms, not the fallback, read nearly every decimal of
    // at most 19 characters.
    let fast = results.map(\.fast).reduce(0, +)
    let short = results.map(\.short).reduce(0, +)
    #expect(Double(fast) > 0.99 * Double(short), "\(fast) of \(short)")
  }

  @Test func badCellsReportLineAndColumn() throws {
    let path = csvFile("a,b,c\n1,2,3\n4,x,6\n")
    defer { removeCSV(path) }
    var r = try CSVReader(path: path)
    // Column 1 (b) is not selected: fine.
    #expect(try readAllRows(&r, columns: [0, 2]) == [[1, 3], [4, 6]])
    var r2 = try CSVReader(path: path)
    let e = csvError { _ = try readAllRows(&r2, columns: [2, 1]) }
    #expect(e == .badCSVCell(path: path, line: 3, column: 2, text: "x"))
    #expect(e?.description == "'\(path)', line 3, column 2: expected a number, found \"x\"")
    // The error is sticky.
    #expect(csvError { _ = try r2.nextRows(1, columns: [0]) } == e)

    for (text, line, column, cell) in [
      ("a,b\n1,\n", 2, 2, ""), ("a,b\n1,2\n1, 2x\n", 3, 2, " 2x"), ("a\n1\n\u{0}\n", 3, 1, "\u{0}"),
      ("1,2\n3,1.2.3\n", 2, 2, "1.2.3"), ("1,2\n3,\"\"\n", 2, 2, ""), ("1,nan,x\n", 1, 3, "x"),
    ] {
      let p = csvFile(text)
      defer { removeCSV(p) }
      var reader = try CSVReader(path: p, hasHeader: text.hasPrefix("a"))
      let found = csvError { _ = try readAllRows(&reader, columns: Array(0..<reader.columnCount)) }
      #expect(found == .badCSVCell(path: p, line: line, column: column, text: cell), "\(text.debugDescription)")
    }
  }

  @Test func raggedRows() throws {
    let path = csvFile("a,b,c\n1,2,3\n4,5\n")
    defer { removeCSV(path) }
    var r = try CSVReader(path: path)
    let e = csvError { _ = try readAllRows(&r, columns: [0]) }
    #expect(e == .raggedCSVRow(path: path, line: 3, found: 2, expected: 3))
    #expect(e?.description == "'\(path)', line 3: the row has 2 cells; expected 3")

    let long = csvFile("1,2\n3,4,5\n")
    defer { removeCSV(long) }
    var r2 = try CSVReader(path: long)
    #expect(
      csvError { _ = try readAllRows(&r2, columns: [0, 1]) }
        == .raggedCSVRow(path: long, line: 2, found: 3, expected: 2))
  }

  @Test func emptyAndHeaderOnlyFiles() throws {
    for text in ["", "\n", "\r\n\n\r\n"] {
      let path = csvFile(text)
      defer { removeCSV(path) }
      var r = try CSVReader(path: path)
      #expect(r.header == nil)
      #expect(r.columnCount == 0)
      #expect(try r.nextRows(10, columns: [0]) == nil)
    }
    let path = csvFile("a,b\n")
    defer { removeCSV(path) }
    var r = try CSVReader(path: path)
    #expect(r.header == ["a", "b"])
    #expect(try r.nextRows(10, columns: [0, 1]) == nil)
  }

  @Test func unreadableAndUnterminated() throws {
    let missing = FileManager.default.temporaryDirectory.appendingPathComponent("tally-nope-\(UUID()).csv").path
    #expect {
      try CSVReader(path: missing)
    } throws: { e in
      guard case .unreadable(let p, _) = e as? FileInputError else { return false }
      return p == missing
    }
    let path = csvFile("a,b\n1,\"2\n3,4\n")
    defer { removeCSV(path) }
    var r = try CSVReader(path: path)
    #expect(
      csvError { _ = try readAllRows(&r, columns: [0, 1]) }
        == .csv(path: path, reason: "line 2, column 2: a quoted cell is never closed"))
  }

  @Test func smallBuffersGiveTheSameRows() throws {
    var text = "\u{FEFF}\"id\",value,\"w\"\r\n"
    for i in 0..<300 {
      let sep = i % 3 == 0 ? "\r\n" : (i % 3 == 1 ? "\n" : "\r")
      text += "\"\(i)\",\(Double(i) / 8),\(i % 2 == 0 ? " true" : "\"0\"")\(sep)"
      if i % 50 == 0 { text += "\n" }
    }
    let path = csvFile(text)
    defer { removeCSV(path) }
    var reference = try CSVReader(path: path)
    let expected = try readAllRows(&reference, columns: [2, 0, 1], batch: 64)
    #expect(expected.count == 300)
    #expect(expected[7] == [0, 7, 7.0 / 8])
    for size in [1, 4, 5, 7, 13, 64, 4096] {
      var r = try CSVReader(path: path, separator: ",", hasHeader: nil, bufferSize: size)
      #expect(r.header == ["id", "value", "w"])
      #expect(try readAllRows(&r, columns: [2, 0, 1], batch: 17) == expected, "buffer \(size)")
      #expect(r.bytesRead == text.utf8.count)
    }
  }

  @Test func largeFileStreamsAcrossBufferBoundaries() throws {
    let n = 200_000
    var bytes: [UInt8] = Array("k,v\n".utf8)
    bytes.reserveCapacity(n * 12)
    for i in 0..<n {
      bytes += Array(String(i).utf8)
      bytes += [UInt8(ascii: ","), UInt8(ascii: "0") + UInt8(i % 10), 0x0A]
    }
    #expect(bytes.count > CSVReader.defaultBufferSize)
    let path = csvFile(bytes: bytes)
    defer { removeCSV(path) }
    var r = try CSVReader(path: path)
    var count = 0
    var sumK = 0.0
    var sumV = 0.0
    while let rows = try r.nextRows(10_000, columns: [0, 1]) {
      count += rows.count
      for row in rows {
        sumK += row[0]
        sumV += row[1]
      }
    }
    #expect(count == n)
    #expect(sumK == Double(n * (n - 1) / 2))
    #expect(sumV == Double(n / 10 * 45))
    #expect(r.bytesRead == bytes.count)
    #expect(r.fileSize == bytes.count)
  }

  @Test func fuzzedFilesNeverCrash() throws {
    var g = SplitMix64(seed: 0xC5F_F022)
    let base = Array("\"a\",b,c\r\n1,2.5,\"3\"\n-4,nan,6\r\n\"7\",\"8\",9\n10,11,12\n".utf8)
    let interesting: [UInt8] = [0x22, 0x0A, 0x0D, 0x00, 0x2C, 0x20, 0x31, 0x2E, 0x65, 0x2D, 0xFF]
    var completed = 0
    for _ in 0..<500 {
      var bytes = base
      for _ in 0..<Int.random(in: 1...4, using: &g) {
        guard !bytes.isEmpty else { break }
        let i = Int.random(in: 0..<bytes.count, using: &g)
        switch Int.random(in: 0..<5, using: &g) {
        case 0: bytes.removeLast(Int.random(in: 0...bytes.count, using: &g))
        case 1: bytes.insert(interesting[Int.random(in: 0..<interesting.count, using: &g)], at: i)
        case 2: bytes[i] = interesting[Int.random(in: 0..<interesting.count, using: &g)]
        case 3: bytes.remove(at: i)
        default: bytes[i] = UInt8.random(in: 0...255, using: &g)
        }
      }
      let path = csvFile(bytes: bytes)
      defer { removeCSV(path) }
      // The same outcome with a tiny buffer and the default one.
      func outcome(bufferSize: Int) -> Result<[[Double]], FileInputError> {
        do throws(FileInputError) {
          var r = try CSVReader(path: path, separator: ",", hasHeader: nil, bufferSize: bufferSize)
          let columns = Array(0..<min(r.columnCount, 2))
          var all: [[Double]] = []
          while let rows = try r.nextRows(2, columns: columns) {
            #expect(rows.allSatisfy { $0.count == columns.count })
            all += rows
          }
          return .success(all)
        } catch {
          #expect(!error.description.contains("\n"))
          return .failure(error)
        }
      }
      let small = outcome(bufferSize: Int.random(in: 1...9, using: &g))
      let large = outcome(bufferSize: 4096)  // larger than the file
      switch (small, large) {
      case (.success(let a), .success(let b)):
        #expect(a.count == b.count)
        #expect(zip(a, b).allSatisfy { x, y in zip(x, y).allSatisfy { $0 == $1 || ($0.isNaN && $1.isNaN) } })
        completed += 1
      case (.failure(let a), .failure(let b)):
        #expect(a == b)
      default:
        Issue.record("buffer size changed the outcome for \(bytes)")
      }
    }
    #expect(completed > 0)
  }
}
