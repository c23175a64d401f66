//===--- ScoreSorting.swift -----------------------------------------------===//
//
// How an exact AUC sorts its scores: each score becomes an unsigned integer
// that orders as the score does (its IEEE bits, sign-adjusted), and the keys
// are sorted by a least-significant-digit radix sort, 11 bits per pass, on
// every core for large arrays. A float32 score takes a 32-bit key (three
// passes); any other a 64-bit one (up to six, fewer where a digit is the
// same in every key). Unweighted batches keep only keys, split by label,
// in chunks, until enough of them wait to pay for a sort and a merge.
//
//===----------------------------------------------------------------------===//

//===--- Order keys -------------------------------------------------------===//

/// An element that ``RadixSort`` orders by an unsigned key.
protocol RadixSortable: BitwiseCopyable, Sendable {
  /// The key's width in bits.
  static var keyBits: Int { get }
  /// The key: elements sort ascending by it.
  var radixKey: UInt64 { get }
}

/// The key of a score that is not NaN: keys order as their scores do, and
/// −0 has the key of +0 (the two are one score, as `==` has it). No key is
/// `UInt64.max` (a NaN's bits).
protocol ScoreOrderKey: RadixSortable {
  /// The key above every score's (a NaN's bits).
  static var end: Self { get }
  /// The key whose ``RadixSortable/radixKey`` is `radixKey`.
  init(radixKey: UInt64)
  /// The histogram of sorted samples (equal keys counted).
  static func histogram(countingSorted positives: inout [Self], _ negatives: inout [Self]) -> ScoreHistogram
  /// The score, as a `Double` (exactly).
  var score: Double { get }
}

/// The order key of a float32 score.
struct Float32Key: ScoreOrderKey, Equatable {
  /// Positive scores: the bits with the sign bit set; negative: the bits
  /// inverted.
  let bits: UInt32

  @inline(__always)
  init(bits: UInt32) { self.bits = bits }

  /// The key of `x`, which must not be NaN.
  @inline(__always)
  init(_ x: Float) {
    let b = (x + 0).bitPattern  // −0 + 0 is +0
    bits = b >> 31 == 0 ? b | 0x8000_0000 : ~b
  }

  static var end: Float32Key { Float32Key(bits: .max) }
  @inline(__always) init(radixKey: UInt64) { bits = UInt32(truncatingIfNeeded: radixKey) }

  static var keyBits: Int { 32 }
  @inline(__always) var radixKey: UInt64 { UInt64(bits) }
  /// The score.
  @inline(__always) var float: Float { Float(bitPattern: bits >> 31 == 1 ? bits & 0x7FFF_FFFF : ~bits) }
  @inline(__always) var score: Double { Double(float) }

  /// Counts (12 bytes a score), or sums if a count passes 32 bits.
  static func histogram(countingSorted positives: inout [Float32Key], _ negatives: inout [Float32Key])
    -> ScoreHistogram
  {
    if let counts = CountColumns().merging(sortedPositives: &positives, &negatives) { return ScoreHistogram(counts) }
    return ScoreHistogram(storing: SumColumns(countingSorted: &positives, &negatives))
  }
}

/// The order key of a float64 score.
struct Float64Key: ScoreOrderKey, Equatable {
  /// Positive scores: the bits with the sign bit set; negative: the bits
  /// inverted.
  let bits: UInt64

  /// The key of `x`, which must not be NaN.
  @inline(__always)
  init(_ x: Double) {
    let b = (x + 0).bitPattern  // −0 + 0 is +0
    bits = b >> 63 == 0 ? b | 0x8000_0000_0000_0000 : ~b
  }

  @inline(__always)
  init(bits: UInt64) { self.bits = bits }

  static var end: Float64Key { Float64Key(bits: .max) }
  @inline(__always) init(radixKey: UInt64) { bits = radixKey }

  static var keyBits: Int { 64 }
  @inline(__always) var radixKey: UInt64 { bits }
  @inline(__always) var score: Double {
    Double(bitPattern: bits >> 63 == 1 ? bits & 0x7FFF_FFFF_FFFF_FFFF : ~bits)
  }

  /// Sums (24 bytes a score).
  static func histogram(countingSorted positives: inout [Float64Key], _ negatives: inout [Float64Key])
    -> ScoreHistogram
  {
    ScoreHistogram(storing: SumColumns(countingSorted: &positives, &negatives))
  }
}

/// A score's key with the position of its sample in the batch (for
/// weighted batches, whose weights are summed in sample order).
struct KeyedIndex: RadixSortable {
  /// The score's ``Float64Key`` bits.
  var key: UInt64
  /// The sample's flat index.
  var index: Int

  static var keyBits: Int { 64 }
  @inline(__always) var radixKey: UInt64 { key }
}

//===--- Radix sort -------------------------------------------------------===//

/// A stable least-significant-digit radix sort.
enum RadixSort {
  /// Bits per pass: 2,048 buckets, whose counts stay in the L1 cache.
  static let digitBits = 11
  static let buckets = 1 << digitBits

  /// The elements of `sources`, concatenated, sorted ascending by key
  /// (stably), in an array with room for one more element.
  ///
  /// One counting pass finds every digit's histogram; then one scatter
  /// pass per digit (the first reads the sources, the others move between
  /// two arrays of *n* elements), skipping a digit that every key shares:
  /// the low bits of a float32 score held as a float64, the exponent of
  /// scores within one binade.
  ///
  /// - Complexity: O(*n*): at most ⌈bits / 11⌉ + 1 reads of the elements.
  static func sorted<E: RadixSortable>(_ sources: [[E]]) -> [E] {
    let n = sources.reduce(0) { $0 + $1.count }
    if n <= 128 { return insertionSorted(sources, count: n) }
    if n >= parallelMinimum && activeCores > 1 { return parallelSorted(sources, count: n) }
    let passes = (E.keyBits + digitBits - 1) / digitBits
    let mask = UInt64(buckets - 1)
    var counts = [Int](repeating: 0, count: passes * buckets)
    counts.withUnsafeMutableBufferPointer { c in
      for source in sources {
        source.withUnsafeBufferPointer { src in
          for e in src {
            var k = e.radixKey
            for p in 0..<passes {
              c[p &* buckets &+ Int(truncatingIfNeeded: k & mask)] &+= 1
              k >>= UInt64(digitBits)
            }
          }
        }
      }
    }
    // The digits that differ between keys.
    let first = sources.first(where: { !$0.isEmpty })?.first?.radixKey ?? 0
    let digits = (0..<passes).filter { p in
      counts[p * buckets + Int(truncatingIfNeeded: (first >> UInt64(p * digitBits)) & mask)] != n
    }
    var offsets = [Int](repeating: 0, count: buckets)
    func prepare(_ p: Int) {
      var total = 0
      for d in 0..<buckets {
        offsets[d] = total
        total += counts[p * buckets + d]
      }
    }
    guard let firstDigit = digits.first else {
      // Every key equal (or no key): the order is the sources'.
      var out = [E]()
      out.reserveCapacity(n + 1)
      for source in sources { out.append(contentsOf: source) }
      return out
    }
    prepare(firstDigit)
    var a = [E](unsafeUninitializedCapacity: n + 1) { dst, initialized in
      offsets.withUnsafeMutableBufferPointer { o in
        let shift = UInt64(firstDigit * digitBits)
        for source in sources {
          source.withUnsafeBufferPointer { src in
            for e in src {
              let d = Int(truncatingIfNeeded: (e.radixKey >> shift) & mask)
              dst.initializeElement(at: o[d], to: e)
              o[d] &+= 1
            }
          }
        }
      }
      initialized = n
    }
    var b: [E] = []
    for p in digits.dropFirst() {
      prepare(p)
      let shift = UInt64(p * digitBits)
      offsets.withUnsafeMutableBufferPointer { o in
        if b.isEmpty {
          b = [E](unsafeUninitializedCapacity: n + 1) { dst, initialized in
            a.withUnsafeBufferPointer { src in
              for e in src {
                let d = Int(truncatingIfNeeded: (e.radixKey >> shift) & mask)
                dst.initializeElement(at: o[d], to: e)
                o[d] &+= 1
              }
            }
            initialized = n
          }
        } else {
          a.withUnsafeBufferPointer { src in
            b.withUnsafeMutableBufferPointer { dst in
              for e in src {
                let d = Int(truncatingIfNeeded: (e.radixKey >> shift) & mask)
                dst[o[d]] = e
                o[d] &+= 1
              }
            }
          }
        }
      }
      swap(&a, &b)
    }
    return a
  }

  /// Arrays this large are sorted on every core.
  static let parallelMinimum = 1 << 20

  /// `sorted(_:)` on every core: each pass counts the digits of each part
  /// of the elements (`parallelMap`'s parts), then each part moves its
  /// elements to the places that its counts and the earlier parts' leave
  /// it, so that the order stays stable. Parts write to disjoint places.
  private static func parallelSorted<E: RadixSortable>(_ sources: [[E]], count n: Int) -> [E] {
    var a = [E]()
    a.reserveCapacity(n + 1)
    for source in sources { a.append(contentsOf: source) }
    let passes = (E.keyBits + digitBits - 1) / digitBits
    let ranges = chunks(n, parts: activeCores)
    var b: [E] = []
    for p in 0..<passes {
      let shift = UInt64(p * digitBits)
      let offsets: [[Int]]? = a.withUnsafeBufferPointer { src in
        let shared = SharedBuffer(base: src)
        let counts = parallelMap(n) { range in
          var c = [Int](repeating: 0, count: buckets)
          c.withUnsafeMutableBufferPointer { c in
            for i in range { c[digit(shared[i], shift)] &+= 1 }
          }
          return c
        }
        // A digit that every key shares leaves the order as it is.
        let d0 = digit(shared[0], shift)
        guard counts.reduce(0, { $0 + $1[d0] }) != n else { return nil }
        var offsets = [[Int]](repeating: [Int](repeating: 0, count: buckets), count: counts.count)
        var total = 0
        for d in 0..<buckets {
          for r in counts.indices {
            offsets[r][d] = total
            total += counts[r][d]
          }
        }
        return offsets
      }
      guard let offsets else { continue }
      let scatter = { (src: UnsafeBufferPointer<E>, dst: UnsafeMutableBufferPointer<E>) in
        let from = SharedBuffer(base: src)
        let to = UnsafeSendableBox(dst)
        _ = parallelMap(n) { range in
          guard let r = ranges.firstIndex(where: { $0 == range }) else {
            preconditionFailure("internal: parallelMap's part \(range) is not one of \(ranges)")
          }
          var o = offsets[r]
          o.withUnsafeMutableBufferPointer { o in
            for i in range {
              let e = from[i]
              let d = digit(e, shift)
              to[o[d]] = e
              o[d] &+= 1
            }
          }
          return 0
        }
      }
      if b.isEmpty {
        b = [E](unsafeUninitializedCapacity: n + 1) { dst, initialized in
          a.withUnsafeBufferPointer { src in scatter(src, dst) }
          initialized = n
        }
      } else {
        a.withUnsafeBufferPointer { src in b.withUnsafeMutableBufferPointer { dst in scatter(src, dst) } }
      }
      swap(&a, &b)
    }
    return a
  }

  @inline(__always)
  private static func digit<E: RadixSortable>(_ e: E, _ shift: UInt64) -> Int {
    Int(truncatingIfNeeded: (e.radixKey >> shift) & UInt64(buckets - 1))
  }

  /// The few elements of `sources` sorted by insertion (stable), without
  /// the radix sort's 2,048-bucket tables.
  private static func insertionSorted<E: RadixSortable>(_ sources: [[E]], count n: Int) -> [E] {
    var out = [E]()
    out.reserveCapacity(n + 1)
    for source in sources { out.append(contentsOf: source) }
    guard n > 1 else { return out }
    out.withUnsafeMutableBufferPointer { a in
      for i in 1..<n {
        let e = a[i]
        var j = i
        while j > 0 && a[j - 1].radixKey > e.radixKey {
          a[j] = a[j - 1]
          j -= 1
        }
        a[j] = e
      }
    }
    return out
  }
}

//===--- Two tasks -------------------------------------------------------===//

/// `first()` and `second()`, on two cores when there are two: `parallelMap`
/// over `parallelThreshold` elements, which it splits in two at most,
/// runs `first` in the part that holds element 0 and `second` in the part
/// that holds the middle one.
func inParallel<A: Sendable, B: Sendable>(_ first: @Sendable () -> A, _ second: @Sendable () -> B) -> (A, B) {
  let middle = parallelThreshold / 2
  let parts = parallelMap(2 * middle) { range -> (A?, B?) in
    (range.contains(0) ? first() : nil, range.contains(middle) ? second() : nil)
  }
  guard let a = parts.lazy.compactMap(\.0).first, let b = parts.lazy.compactMap(\.1).first else {
    preconditionFailure("internal: parallelMap left out part of 0..<\(2 * middle)")
  }
  return (a, b)
}

//===--- Unweighted batches -----------------------------------------------===//

/// The keys of unweighted samples, split by label: all an unweighted
/// histogram needs, at the size of the key per sample.
struct LabeledKeys<Key: ScoreOrderKey>: Sendable {
  /// Keys of samples labelled 1.
  var positives: [Key] = []
  /// Keys of samples labelled 0.
  var negatives: [Key] = []

  /// The number of samples.
  var count: Int { positives.count + negatives.count }

  /// Adds a batch's samples.
  mutating func append(_ batch: SplitKeys<Key>) {
    positives.append(contentsOf: batch.keys[..<batch.positiveCount])
    negatives.append(contentsOf: batch.keys[batch.positiveCount...])
  }

  /// The histogram of the samples in `chunks`: the keys sorted, then
  /// equal keys counted.
  static func histogram(_ chunks: [LabeledKeys]) -> ScoreHistogram {
    var positives = RadixSort.sorted(chunks.map(\.positives))
    var negatives = RadixSort.sorted(chunks.map(\.negatives))
    return Key.histogram(countingSorted: &positives, &negatives)
  }
}

/// One batch's keys in one array: those of positive samples first.
struct SplitKeys<Key: ScoreOrderKey>: Sendable {
  var keys: [Key]
  var positiveCount: Int
}

/// An unweighted batch's keys: 32-bit when every score is a float32, else
/// 64-bit.
enum BatchKeys: Sendable {
  case float32(SplitKeys<Float32Key>)
  case float64(SplitKeys<Float64Key>)

  /// The keys of an unweighted batch, or `nil` if the batch is not one
  /// that ``ExactAUC`` accepts: shapes that differ, no samples, a NaN
  /// score, or a label outside {0, 1} (the caller then reports the
  /// error). Labels and scores are read in their own element types.
  init?(yTrue: Tensor, yPred: Tensor) {
    let (p, t) = Tensor.squeezeOrExpandToSameRank(yPred, yTrue)
    guard p.shape == t.shape, p.count > 0, let labels = t.visitElements(LabelVisitor()),
      let keys = p.visitElements(SplitKeysVisitor(labels: labels))
    else { return nil }
    self = keys
  }

  /// The number of samples.
  var count: Int {
    switch self {
    case .float32(let k): k.keys.count
    case .float64(let k): k.keys.count
    }
  }
}

/// The labels as bytes (1 for a positive), or `nil` if one is not 0 or 1.
struct LabelVisitor: ElementVisitor {
  func visit<T: TensorScalar>(_ labels: SharedBuffer<T>) -> [UInt8]? {
    let n = labels.count
    var valid = 0
    let out = [UInt8](unsafeUninitializedCapacity: n) { dst, initialized in
      for i in 0..<n {
        // No branch on the label (labels come in random order).
        let y = labels[i].doubleValue
        let one = bit(y == 1)
        valid &+= one | bit(y == 0)
        dst.initializeElement(at: i, to: UInt8(truncatingIfNeeded: one))
      }
      initialized = n
    }
    return valid == n ? out : nil
  }
}

/// The keys of the scores visited, split by `labels`: 32-bit keys if every
/// score is a float32, else 64-bit; `nil` at a NaN.
struct SplitKeysVisitor: ElementVisitor {
  let labels: [UInt8]

  func visit<T: TensorScalar>(_ scores: SharedBuffer<T>) -> BatchKeys? {
    if let keys = split(
      scores, as: Float32Key.self,
      { d in
        let f = Float(d)
        // Fails for NaN, and for a score that is no float32.
        return Double(f) == d ? Float32Key(f) : nil
      })
    {
      return .float32(keys)
    }
    return split(scores, as: Float64Key.self) { d in d.isNaN ? nil : Float64Key(d) }.map { .float64($0) }
  }

  /// Each score's key, positives from the front and negatives from the back
  /// of one array (no branch on the label); `nil` where `key` returns
  /// `nil`.
  @inline(__always)
  private func split<T: TensorScalar, Key: ScoreOrderKey>(
    _ scores: SharedBuffer<T>, as: Key.Type, _ key: (Double) -> Key?
  ) -> SplitKeys<Key>? {
    let n = scores.count
    precondition(n == labels.count, "internal: \(n) scores for \(labels.count) labels")
    var complete = false
    var positives = 0
    let keys = [Key](unsafeUninitializedCapacity: n) { dst, initialized in
      labels.withUnsafeBufferPointer { label in
        var front = 0
        var back = n
        for i in 0..<n {
          guard let k = key(scores[i].doubleValue) else {
            initialized = front
            return
          }
          // Written at both ends; the label (0 or 1) moves one end past
          // it, and the other place is written again later.
          let positive = Int(truncatingIfNeeded: label[i])
          dst.initializeElement(at: front, to: k)
          dst.initializeElement(at: back &- 1, to: k)
          front &+= positive
          back &-= 1 &- positive
        }
        // Every place written: front met back.
        positives = front
        complete = true
        initialized = n
      }
    }
    return complete ? SplitKeys(keys: keys, positiveCount: positives) : nil
  }
}

/// Unweighted samples not yet counted into a histogram: their keys, by
/// label, 4 bytes a sample for float32 scores (8 otherwise).
///
/// The keys are held in chunks of at least ``chunkSize`` samples (but the
/// last): a batch is appended to the last chunk only while that is small,
/// so that adding a batch copies at most its own keys and one small chunk
/// even when the metric's arrays are shared with a copy of it (as
/// `tally evaluate`'s workers hold theirs), never all the keys held.
struct PendingScores: Sendable {
  /// A chunk takes batches until it holds this many samples.
  static let chunkSize = 1 << 14

  private(set) var float32: [LabeledKeys<Float32Key>] = []
  private(set) var float64: [LabeledKeys<Float64Key>] = []
  /// The number of samples held.
  private(set) var count = 0

  var isEmpty: Bool { count == 0 }

  /// Adds a batch's samples.
  mutating func append(_ batch: BatchKeys) {
    switch batch {
    case .float32(let k): Self.append(k, to: &float32)
    case .float64(let k): Self.append(k, to: &float64)
    }
    count += batch.count
  }

  private static func append<Key>(_ batch: SplitKeys<Key>, to chunks: inout [LabeledKeys<Key>]) {
    if let last = chunks.indices.last, chunks[last].count < chunkSize {
      chunks[last].append(batch)
    } else {
      var chunk = LabeledKeys<Key>()
      chunk.append(batch)
      chunks.append(chunk)
    }
  }
}
