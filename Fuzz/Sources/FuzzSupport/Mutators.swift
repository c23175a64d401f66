//===--- Mutators.swift ---------------------------------------------------===//
//
// Structure-aware mutations, so that mutated inputs get past the first check
// more often: a `.npy` file keeps a header length and a data size that fit
// its header; a JSON document stays JSON, with one value changed to one that
// tends to find bugs (0, -1, the ends of Int64, huge and tiny doubles, "nan",
// another class name, an element removed or repeated).
//
// Each harness's `LLVMFuzzerCustomMutator` calls these for part of its
// mutations and libFuzzer's own (`LLVMFuzzerMutate`, which also uses the
// dictionary) for the rest.
//
//===----------------------------------------------------------------------===//

import Foundation
import Tally

/// libFuzzer's built-in mutation of `data[0..<size]` in place; returns the
/// new size (at most `maxSize`).
@_silgen_name("LLVMFuzzerMutate")
public func libFuzzerMutate(_ data: UnsafeMutablePointer<UInt8>, _ size: Int, _ maxSize: Int) -> Int

/// A small deterministic generator (Tally's SplitMix64), seeded by
/// libFuzzer.
public struct MutationRandom {
  var generator: SplitMix64

  public init(_ seed: UInt32) { generator = SplitMix64(seed: UInt64(seed) &* 0x9E37_79B9_7F4A_7C15) }

  public mutating func next() -> UInt64 { generator.next() }

  public mutating func below(_ n: Int) -> Int { n <= 1 ? 0 : Int(next() % UInt64(n)) }
}

// MARK: - .npy

/// Makes a mutated `.npy` file consistent again where that is easy: the
/// header length in the preamble is set to end at the header's first
/// newline, and, when the shape and dtype can be read off the header text,
/// the data is cut or extended to the size they declare. Returns the new
/// size.
public func repairNPY(_ data: UnsafeMutablePointer<UInt8>, _ size: Int, _ maxSize: Int, _ random: inout MutationRandom)
  -> Int
{
  guard size >= 12, data[0] == 0x93 else { return size }
  let major = data[6]
  let lengthBytes = major == 1 ? 2 : 4
  let start = 8 + lengthBytes
  var newline = start
  while newline < size, data[newline] != 0x0A { newline += 1 }
  guard newline < size else { return size }
  let headerLength = newline + 1 - start
  guard lengthBytes == 4 || headerLength <= 0xFFFF else { return size }
  for i in 0..<lengthBytes { data[8 + i] = UInt8(truncatingIfNeeded: headerLength >> (8 * i)) }
  let dataOffset = newline + 1

  // The declared data size, when the header reads simply.
  let header = Array(UnsafeBufferPointer(start: data + start, count: headerLength))
  guard let itemSize = npyItemSize(header), let count = npyElementCount(header) else { return size }
  let (bytes, o1) = count.multipliedReportingOverflow(by: itemSize)
  let (want, o2) = dataOffset.addingReportingOverflow(bytes)
  guard !o1, !o2, want <= maxSize else { return size }
  for i in size..<max(size, want) { data[i] = UInt8(truncatingIfNeeded: random.next()) }
  return want
}

/// The item size named by the header's `descr` (its last digit, or a
/// one-letter code), or `nil`.
func npyItemSize(_ header: [UInt8]) -> Int? {
  guard let key = find(Array("descr".utf8), in: header) else { return nil }
  var i = key + 5
  while i < header.count, header[i] != UInt8(ascii: ":") { i += 1 }
  i += 1
  while i < header.count, header[i] == 0x20 { i += 1 }
  guard i < header.count else { return nil }
  let quote = header[i]
  guard quote == UInt8(ascii: "'") || quote == UInt8(ascii: "\"") else { return nil }
  var j = i + 1
  while j < header.count, header[j] != quote { j += 1 }
  guard j < header.count, j > i + 1 else { return nil }
  let last = header[j - 1]
  switch last {
  case UInt8(ascii: "1"), UInt8(ascii: "b"), UInt8(ascii: "B"), UInt8(ascii: "?"): return 1
  case UInt8(ascii: "2"), UInt8(ascii: "e"), UInt8(ascii: "h"), UInt8(ascii: "H"): return 2
  case UInt8(ascii: "4"), UInt8(ascii: "f"), UInt8(ascii: "i"), UInt8(ascii: "I"): return 4
  case UInt8(ascii: "8"), UInt8(ascii: "d"), UInt8(ascii: "q"): return 8
  default: return nil
  }
}

/// The product of the header's `shape` tuple of plain decimal integers, or
/// `nil`.
func npyElementCount(_ header: [UInt8]) -> Int? {
  guard let key = find(Array("shape".utf8), in: header) else { return nil }
  var i = key + 5
  while i < header.count, header[i] != UInt8(ascii: "(") { i += 1 }
  i += 1
  var product = 1
  var current: Int? = nil
  while i < header.count {
    let c = header[i]
    if c >= UInt8(ascii: "0"), c <= UInt8(ascii: "9") {
      let (m, o1) = (current ?? 0).multipliedReportingOverflow(by: 10)
      let (a, o2) = m.addingReportingOverflow(Int(c - UInt8(ascii: "0")))
      guard !o1, !o2 else { return nil }
      current = a
    } else if c == UInt8(ascii: ",") || c == UInt8(ascii: ")") || c == 0x20 {
      if let n = current, c != 0x20 {
        let (p, o) = product.multipliedReportingOverflow(by: n)
        guard !o else { return nil }
        product = p
        current = nil
      }
      if c == UInt8(ascii: ")") { return product }
    } else {
      return nil
    }
    i += 1
  }
  return nil
}

func find(_ needle: [UInt8], in haystack: [UInt8]) -> Int? {
  guard haystack.count >= needle.count else { return nil }
  for i in 0...(haystack.count - needle.count) where haystack[i..<(i + needle.count)].elementsEqual(needle) {
    return i
  }
  return nil
}

// MARK: - JSON

/// Replaces `data[0..<size]`, if it is JSON, with the same document with one
/// value changed; returns the new size, or `nil` if the input is not JSON or
/// the result would not fit.
public func mutateJSON(
  _ data: UnsafeMutablePointer<UInt8>, _ size: Int, _ maxSize: Int, _ random: inout MutationRandom,
  classNames: [String]
) -> Int? {
  let input = Data(bytes: data, count: size)
  guard let document = try? JSONSerialization.jsonObject(with: input, options: [.fragmentsAllowed]) else {
    return nil
  }
  var nodes = 0
  count(document, &nodes)
  var target = random.below(nodes)
  let mutated = replace(document, &target, &random, classNames)
  guard let out = try? JSONSerialization.data(withJSONObject: mutated, options: [.fragmentsAllowed]),
    out.count <= maxSize
  else { return nil }
  out.copyBytes(to: data, count: out.count)
  return out.count
}

func count(_ node: Any, _ n: inout Int) {
  n += 1
  if let a = node as? [Any] {
    for x in a { count(x, &n) }
  } else if let o = node as? [String: Any] {
    for (_, x) in o { count(x, &n) }
  }
}

/// The document with its `target`-th node (in the order `count` visits
/// them) mutated.
func replace(_ node: Any, _ target: inout Int, _ random: inout MutationRandom, _ classNames: [String]) -> Any {
  if target == 0 {
    target = -1
    return mutate(node, &random, classNames)
  }
  target -= 1
  if var a = node as? [Any] {
    for i in a.indices where target >= 0 { a[i] = replace(a[i], &target, &random, classNames) }
    return a
  }
  if var o = node as? [String: Any] {
    for k in o.keys.sorted() where target >= 0 { o[k] = replace(o[k]!, &target, &random, classNames) }
    return o
  }
  return node
}

nonisolated(unsafe) let interestingNumbers: [Any] = [
  0, 1, -1, 2, 3, 7, 255, 256, 65536, Int(Int32.max), 1 << 31, 1 << 53, (1 << 53) + 1, Int64.max, Int64.min,
  Int64.max - 1, 0.5, -0.0, 1e-300, Double.leastNonzeroMagnitude, 1e15, 1e16, 1e300, 1.7976931348623157e308, -1e308,
  0.1, 2.5, 1e6,
]
let interestingStrings: [String] = ["nan", "inf", "-inf", "", "0", "x", "ROC", "PR", "majoring", "float64", "int32"]

func mutate(_ node: Any, _ random: inout MutationRandom, _ classNames: [String]) -> Any {
  if var a = node as? [Any] {
    switch random.below(5) {
    case 0: return []
    case 1 where !a.isEmpty:
      a.remove(at: random.below(a.count))
      return a
    case 2 where !a.isEmpty:
      a.insert(a[random.below(a.count)], at: random.below(a.count + 1))
      return a
    case 3 where !a.isEmpty:
      a.swapAt(random.below(a.count), random.below(a.count))
      return a
    default:
      return a + a
    }
  }
  if var o = node as? [String: Any] {
    let keys = o.keys.sorted()
    switch random.below(4) {
    case 0 where !keys.isEmpty:
      o[keys[random.below(keys.count)]] = nil
      return o
    case 1 where !keys.isEmpty:
      o[keys[random.below(keys.count)]] = NSNull()
      return o
    case 2 where keys.count >= 2:
      o[keys[random.below(keys.count)]] = o[keys[random.below(keys.count)]]
      return o
    default:
      o["extra"] = 1
      return o
    }
  }
  if node is String {
    if random.below(2) == 0, !classNames.isEmpty { return classNames[random.below(classNames.count)] }
    return interestingStrings[random.below(interestingStrings.count)]
  }
  // (JSON booleans are NSNumbers of Objective-C type "c".)
  if let n = node as? NSNumber, String(cString: n.objCType) != "c" {
    switch random.below(4) {
    case 0: return NSNumber(value: n.doubleValue + 1)
    case 1: return NSNumber(value: -n.doubleValue)
    case 2: return n.int64Value.multipliedReportingOverflow(by: 2).partialValue
    default: return interestingNumbers[random.below(interestingNumbers.count)]
    }
  }
  // true, false, null.
  return [true, false, NSNull(), 0, "nan", [Any]()][random.below(6)]
}

/// The mutation of the JSON harnesses (configurations, state files): half
/// keep the document JSON and change one value (``mutateJSON``), the others
/// are libFuzzer's own, on the bytes.
public func mutateJSONDocument(_ data: UnsafeMutablePointer<UInt8>, _ size: Int, _ maxSize: Int, _ seed: UInt32) -> Int
{
  var random = MutationRandom(seed)
  if random.below(2) == 0, let n = mutateJSON(data, size, maxSize, &random, classNames: metricClassNames) { return n }
  return libFuzzerMutate(data, size, maxSize)
}

/// The class names a string may be replaced with.
let metricClassNames =
  MetricRegistry.classes.keys.sorted() + ["Sliced", "Bootstrapped"] + MetricRegistry.functions.keys.sorted()
