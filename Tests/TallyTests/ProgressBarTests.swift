// The progress bar (ProgressBar.swift): in-place redraws, log lines and number formats.

import Tally
import Testing

@Suite struct ProgressBarTests {
  @Test func terminalRedrawsInPlace() {
    var out: [String] = []
    var bar = ProgressBar(target: 4, interactive: true) { out.append($0) }
    bar.update(1, values: [("loss", 2.5), ("accuracy", 0.25)])
    bar.update(2, values: [("loss", 2.0), ("accuracy", 0.5)])
    bar.finish(values: [("loss", 1.23456), ("accuracy", 0.75)])
    #expect(out.count == 3)
    #expect(out.allSatisfy { $0.hasPrefix("\r") })
    #expect(out[0].contains("1/4 ━━━━━─────────────── "))
    #expect(out[1].contains(" - accuracy: 0.5000 - loss: 2.0000"))
    // A line shorter than the one before it is padded with spaces to clear
    // the rest (the time per step varies in length from run to run).
    #expect(out[2].hasSuffix("\n"))
    let final = out[2].dropLast().reversed().drop { $0 == " " }.reversed()
    #expect(String(final).hasSuffix("- accuracy: 0.7500 - loss: 1.2346"))
    #expect(out[2].contains("4/4 ━━━━━━━━━━━━━━━━━━━━ "))
  }

  @Test func logsGetOneLinePerEpoch() {
    var out: [String] = []
    var bar = ProgressBar(target: 3, interactive: false) { out.append($0) }
    bar.update(1, values: [("loss", 1)])
    bar.update(2, values: [("loss", 1)])
    bar.finish(values: [("loss", 0.5)])
    #expect(out.count == 1)
    #expect(!out[0].contains("\r"))
    #expect(out[0].hasPrefix("3/3 ━━━━━━━━━━━━━━━━━━━━ "))
    #expect(out[0].hasSuffix("/step - loss: 0.5000\n"))
  }

  @Test func numberFormats() {
    let bar = ProgressBar(target: 10, interactive: false) { _ in }
    let line = bar.line(5, values: [("auc", 0.00012), ("big", 1.5e7), ("nan", .nan)], elapsed: .milliseconds(20))
    #expect(line.hasPrefix("5/10 ━━━━━━━━━━────────── 0s 4ms/step"))
    #expect(line.contains("auc: 1.2000e-04"))
    #expect(line.contains("big: 1.5000e+07"))
    #expect(line.contains("nan: nan"))
  }
}
