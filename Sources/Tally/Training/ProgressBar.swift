//===--- ProgressBar.swift ------------------------------------------------===//
//
// A Keras-style progress display for training loops (and any long loop).
//
//===----------------------------------------------------------------------===//

import RealModule

#if canImport(Glibc)
  import Glibc
#elseif canImport(Musl)
  import Musl
#elseif canImport(Darwin)
  import Darwin
#endif

/// A progress display in Keras's style:
///
/// ```
/// 32/32 ━━━━━━━━━━━━━━━━━━━━ 0s 3ms/step - accuracy: 0.1040 - loss: 2.3190
/// ```
///
/// On a terminal the line is redrawn in place at every update; otherwise
/// (logs, CI) nothing is written until the end, which writes the line once,
/// so a log gets one line per epoch. Metric values are shown with four
/// decimals, sorted by name as Keras 3 prints them.
///
/// ```swift
/// var bar = ProgressBar(target: 32)
/// var loss = Mean(name: "loss")
/// for step in 1...32 {
///   try loss.update([1.0 / Double(step)])   // ... train ...
///   bar.update(step, values: [("loss", loss.result().scalar ?? 0)])
/// }
/// bar.finish(values: [("loss", loss.result().scalar ?? 0)])
/// ```
public struct ProgressBar {
  /// The number of steps, if known.
  public let target: Int?
  /// Whether the line is redrawn in place (a terminal).
  public let interactive: Bool
  /// The width of the bar in characters.
  public let width: Int
  /// The unit counted, as in `ms/step`.
  public let unit: String
  private let write: (String) -> Void
  private let clock = ContinuousClock()
  private let start: ContinuousClock.Instant
  private var lastLength = 0

  /// A progress display.
  ///
  /// - Parameters:
  ///   - target: The number of steps, or `nil` if unknown.
  ///   - interactive: Redraw in place; by default, whether standard output
  ///     is a terminal.
  ///   - width: The bar's width.
  ///   - unit: The name of one step.
  ///   - write: Where text goes; by default, standard output.
  public init(
    target: Int?, interactive: Bool? = nil, width: Int = 20, unit: String = "step",
    write: @escaping (String) -> Void = { text in
      print(text, terminator: "")
      fflush(nil)
    }
  ) {
    self.target = target
    self.interactive = interactive ?? (isatty(STDOUT_FILENO) != 0)
    (self.width, self.unit) = (width, unit)
    (self.write, self.start) = (write, clock.now)
  }

  /// The line for `current` steps done after `elapsed`, with `values`.
  public func line(_ current: Int, values: [(String, Double)], elapsed: Duration) -> String {
    var s = target.map { "\(current)/\($0)" } ?? "\(current)"
    if let target, target > 0 {
      let done = min(width, Int((Double(current) / Double(target) * Double(width)).rounded(.down)))
      s += " " + String(repeating: "━", count: done) + String(repeating: "─", count: width - done)
    }
    let seconds = Double(elapsed.components.seconds) + Double(elapsed.components.attoseconds) * 1e-18
    let perStep = current > 0 ? seconds / Double(current) : 0
    let finished = target.map { current >= $0 } ?? false
    if finished || target == nil {
      s += " \(Int(seconds.rounded()))s"
    } else {
      let eta = perStep * Double(target! - current)
      s += " \(Int(eta.rounded()))s"
    }
    s += " " + Self.formatPerStep(perStep, unit: unit)
    for (name, value) in values.sorted(by: { $0.0 < $1.0 }) {
      s += " - \(name): \(Self.format(value))"
    }
    return s
  }

  /// Keras's per-step time: `3ms/step`, `120us/step`, `2s/step`.
  static func formatPerStep(_ seconds: Double, unit: String) -> String {
    if seconds >= 1 { return "\(Int(seconds.rounded()))s/\(unit)" }
    if seconds >= 1e-3 { return "\(Int((seconds * 1e3).rounded()))ms/\(unit)" }
    return "\(Int((seconds * 1e6).rounded()))us/\(unit)"
  }

  /// A value with four decimals (or scientific notation when tiny or huge),
  /// as Keras prints metrics.
  static func format(_ x: Double) -> String {
    if x.isNaN { return "nan" }
    if x.isInfinite { return x > 0 ? "inf" : "-inf" }
    if x != 0 && (abs(x) < 1e-3 || abs(x) >= 1e6) {
      let e = Int((Double.log10(abs(x))).rounded(.down))
      let m = x / Double.pow(10, Double(e))
      return "\(fixed(m, 4))e\(e >= 0 ? "+" : "-")\(abs(e) < 10 ? "0" : "")\(abs(e))"
    }
    return fixed(x, 4)
  }

  static func fixed(_ x: Double, _ digits: Int) -> String {
    let scale = Double.pow(10, Double(digits))
    let r = (abs(x) * scale).rounded()
    let whole = Int(r / scale)
    var frac = String(Int(r.truncatingRemainder(dividingBy: scale)))
    while frac.count < digits { frac = "0" + frac }
    return (x < 0 && r != 0 ? "-" : "") + "\(whole).\(frac)"
  }

  /// Shows progress after `current` steps. Draws only on a terminal.
  public mutating func update(_ current: Int, values: [(String, Double)] = []) {
    guard interactive else { return }
    draw(line(current, values: values, elapsed: clock.now - start), newline: false)
  }

  /// Ends the display with the final values: the last redraw and a newline
  /// on a terminal, the one line otherwise.
  public mutating func finish(values: [(String, Double)] = []) {
    let current = target ?? 0
    draw(line(current, values: values, elapsed: clock.now - start), newline: true)
  }

  private mutating func draw(_ text: String, newline: Bool) {
    if interactive {
      let pad = max(0, lastLength - text.count)
      write("\r" + text + String(repeating: " ", count: pad) + (newline ? "\n" : ""))
      lastLength = text.count
    } else {
      write(text + "\n")
    }
  }
}
