//===--- FuzzNPY.swift ----------------------------------------------------===//
//
// libFuzzer harness: the input is a `.npy` file. Opening it (header,
// dictionary literal, dtype, shape, size) must return or throw a
// `FileInputError`; a file that opens must read the same elements whole, in
// chunks of rows, in small Fortran blocks and through the memory map, and
// survive a write and read back.
//
//===----------------------------------------------------------------------===//

import FuzzSupport

@testable import Tally

let input = ScratchFile("input.npy")
let output = ScratchFile("output.npy")

@_cdecl("LLVMFuzzerTestOneInput")
public func fuzz(_ data: UnsafePointer<UInt8>, _ size: Int) -> CInt {
  input.write(data, size)
  let reader: NPYReader
  do {
    reader = try NPYReader(path: input.path)
  } catch {
    note("refused: \(error)")
    return 0
  }
  note("opened \(reader.descr) \(reader.shape) fortran \(reader.fortranOrder)")
  check(reader)
  return 0
}

func check(_ r: NPYReader) {
  _ = (r.shape, r.descr, r.rowShape, r.itemSize, r.dtype, r.formatVersion)
  let rows = r.rows
  let perRow = r.elementsPerRow
  let count = r.elementCount
  invariant(rows >= 0 && perRow >= 0 && count >= 0, "negative sizes for shape \(r.shape)")

  let whole: Tensor
  do {
    whole = try r.readAll()
  } catch {
    // The header was validated: the data is all there.
    invariant(false, "readAll failed after a valid header (\(r.shape), \(r.descr)): \(error)")
    return
  }
  invariant(whole.shape == r.shape, "readAll's shape \(whole.shape) is not the header's \(r.shape)")
  let expected = bits(whole.doubles())
  invariant(expected.count == count, "readAll read \(expected.count) elements; the header declares \(count)")

  // All rows, then in chunks of rows.
  var pieces: [UInt64] = []
  for chunk in [rows, max(1, rows / 3), 1] where chunk > 0 {
    pieces = []
    var start = 0
    while start < rows {
      let end = min(start + chunk, rows)
      do {
        let t = try r.readRows(start..<end)
        invariant(t.shape == [end - start] + r.rowShape, "readRows shape \(t.shape) for rows \(start)..<\(end)")
        pieces += bits(t.doubles())
      } catch {
        invariant(false, "readRows(\(start)..<\(end)) failed: \(error)")
      }
      start = end
    }
    invariant(pieces == expected, "rows read in chunks of \(chunk) differ from readAll")
    if rows > 64 { break }
  }
  invariant((try? r.readRows(0..<(rows + 1))) == nil, "readRows past the end did not throw")
  invariant((try? r.readRows(-1..<0)) == nil || rows < 0, "readRows before the start did not throw")

  // Fortran order, read in blocks smaller than a segment.
  if r.fortranOrder, rows > 0, perRow > 1 {
    for block in [1, 7, 64] {
      guard let small = try? r.readFortranRows(0..<rows, blockBytes: block),
        let large = try? r.readFortranRows(0..<rows)
      else {
        invariant(false, "readFortranRows failed")
        return
      }
      invariant(small == large, "Fortran rows read in blocks of \(block) bytes differ")
    }
  }

  // The memory map, when the elements need no decoding.
  do {
    if let mapped = try r.mapped() {
      let t = try mapped.rows(0..<rows)
      invariant(bits(t.doubles()) == expected, "mapped rows differ from readAll")
      if rows > 1 {
        let tail = try mapped.rows(1..<rows)
        invariant(bits(tail.doubles()) == Array(expected.dropFirst(perRow)), "mapped rows 1... differ")
      }
    }
  } catch {
    invariant(false, "mapping failed: \(error)")
  }

  // Written by Tally and read back.
  guard count <= 1 << 16 else { return }
  do {
    try writeBack(whole)
    let again = try NPYReader(path: output.path).readAll()
    invariant(fingerprint(again) == fingerprint(whole), "written and read back, the array differs")
  } catch {
    invariant(false, "write and read back failed: \(error)")
  }
}

func writeBack(_ t: Tensor) throws(FileInputError) {
  let shape = t.shape
  switch t.dtype {
  case .float32: try NPYReader.write(t.scalars(as: Float.self)!, shape: shape, to: output.path)
  case .float64: try NPYReader.write(t.scalars(as: Double.self)!, shape: shape, to: output.path)
  case .int: try NPYReader.write(t.scalars(as: Int.self)!, shape: shape, to: output.path)
  case .int32: try NPYReader.write(t.scalars(as: Int32.self)!, shape: shape, to: output.path)
  case .int64: try NPYReader.write(t.scalars(as: Int64.self)!, shape: shape, to: output.path)
  case .uint8: try NPYReader.write(t.scalars(as: UInt8.self)!, shape: shape, to: output.path)
  case .bool: try NPYReader.write(t.scalars(as: Bool.self)!, shape: shape, to: output.path)
  }
}

/// libFuzzer's mutations, then, three times in four, the header length and
/// data size made to fit the mutated header again (see `repairNPY`), so
/// that mutations of the header dictionary reach the readers.
@_cdecl("LLVMFuzzerCustomMutator")
public func customMutator(_ data: UnsafeMutablePointer<UInt8>, _ size: Int, _ maxSize: Int, _ seed: UInt32) -> Int {
  var random = MutationRandom(seed)
  let mutated = libFuzzerMutate(data, size, maxSize)
  return random.below(4) == 0 ? mutated : repairNPY(data, mutated, maxSize, &random)
}
