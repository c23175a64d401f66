//===--- FuzzCSV.swift ----------------------------------------------------===//
//
// libFuzzer harness: the input is a CSV file. Opening and reading it (rows
// of numbers, a column of texts) must return or throw a `FileInputError`,
// and give the same rows and errors whether the reader's buffer is 1 MiB or
// a few bytes (so that every cell, quote and line ending crosses a buffer
// boundary somewhere). The fast path for plain decimals must agree with the
// standard library's parser.
//
//===----------------------------------------------------------------------===//

import FuzzSupport

@testable import Tally

let input = ScratchFile("input.csv")

@_cdecl("LLVMFuzzerTestOneInput")
public func fuzz(_ data: UnsafePointer<UInt8>, _ size: Int) -> CInt {
  input.write(data, size)
  let bytes = UnsafeBufferPointer(start: data, count: size)
  var separators: [Character] = [","]
  if bytes.contains(UInt8(ascii: ";")) { separators.append(";") }
  if bytes.contains(UInt8(ascii: "\t")) { separators.append("\t") }
  let hasHeader: Bool? = [nil, true, false][size % 3]
  let small = 4 + size % 7
  for separator in separators {
    // A buffer larger than any input (-max_len) reads as the default 1 MiB
    // buffer does, without allocating and copying a megabyte per reader.
    let a = transcript(separator: separator, hasHeader: hasHeader, bufferSize: max(size + 1, 1 << 12))
    let b = transcript(separator: separator, hasHeader: hasHeader, bufferSize: small)
    invariant(a == b, "a \(small)-byte buffer reads differently:\n\(a)\n\(b)")
  }
  checkNumbers(bytes)
  return 0
}

/// Everything a reader returns for the file, as text (numbers as bit
/// patterns), errors included.
func transcript(separator: Character, hasHeader: Bool?, bufferSize: Int) -> String {
  var out = ""
  let opened: CSVReader
  do {
    opened = try CSVReader(path: input.path, separator: separator, hasHeader: hasHeader, bufferSize: bufferSize)
  } catch {
    return "open: \(error)"
  }
  out += "header \(opened.header ?? []) columns \(opened.columnCount)\n"
  if let name = opened.header?.last { out += "index \(opened.columnIndex(named: name) ?? -1)\n" }

  // Rows of numbers: the first few columns and one twice.
  var numbers = opened
  let columns = Array(0..<min(opened.columnCount, 6)) + (opened.columnCount > 0 ? [0] : [])
  do {
    while let rows = try numbers.nextRows(3, columns: columns) {
      invariant(rows.count <= 3, "nextRows(3) returned \(rows.count) rows")
      for row in rows {
        invariant(row.count == columns.count, "a row of \(row.count) values for \(columns.count) columns")
        out += "\(bits(row))\n"
      }
    }
    invariant(
      numbers.bytesRead <= (numbers.fileSize ?? Int.max), "read \(numbers.bytesRead) bytes of \(numbers.fileSize ?? -1)"
    )
  } catch {
    out += "rows: \(error)\n"
    // Every later call throws the same error.
    do {
      _ = try numbers.nextRows(1, columns: columns)
      invariant(false, "a failed reader read again")
    } catch let again {
      invariant(again == error, "a failed reader threw \(again) after \(error)")
    }
  }

  // Every row checked, no column read.
  var plain = opened
  do {
    while try plain.nextRows(5, columns: []) != nil {}
  } catch {
    out += "validate: \(error)\n"
  }

  // The last column as text.
  if opened.columnCount > 0 {
    var texts = opened
    do {
      while let column = try texts.nextTexts(2, column: opened.columnCount - 1) {
        out += "\(column)\n"
      }
    } catch {
      out += "texts: \(error)\n"
    }
  }
  return out
}

/// The fast decimal path agrees with `Double(String)` on every token of the
/// input that it accepts.
func checkNumbers(_ bytes: UnsafeBufferPointer<UInt8>) {
  let stops: Set<UInt8> = [0x0A, 0x0D, UInt8(ascii: ","), UInt8(ascii: ";"), UInt8(ascii: "\""), 0x09, 0x20]
  var start = 0
  for i in 0...bytes.count {
    if i == bytes.count || stops.contains(bytes[i]) {
      if i > start {
        let token = Array(bytes[start..<i])[...]
        if let fast = CSVReader.fastDecimal(token) {
          let slow = Double(String(decoding: token, as: UTF8.self))
          invariant(
            slow?.bitPattern == fast.bitPattern,
            "fastDecimal(\(String(decoding: token, as: UTF8.self))) = \(fast); Double() gives \(slow.map { "\($0)" } ?? "nil")"
          )
        }
        _ = CSVReader.number(from: token)
      }
      start = i + 1
    }
  }
}
