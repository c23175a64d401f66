#!/usr/bin/env python3
"""Renders `tally report` pages in headless Chromium and fails when they are broken.

Usage (after Scripts/browser-env.sh, which installs Debian's chromium and the
.venv-browser/ venv with playwright and Pillow; run by another python, the
script hands itself over to .venv-browser/bin/python):

    .venv-browser/bin/python Scripts/check-report.py [--screenshots DIR]
        [--expect-plots roc,pr,...] [--allow-no-plots] [--allow-data-urls] PAGE.html...
    .venv-browser/bin/python Scripts/check-report.py --self-test [--screenshots DIR]

The page contract checked here:
  * every plot is an inline <svg data-plot="NAME">; a page has at least one
    (unless --allow-no-plots), and every name of --expect-plots;
  * loading the page logs no console message of level error and throws no
    uncaught error (console warnings are printed, they do not fail);
  * the page makes no request but for its own file:// URL: http(s), other
    files (even ones that exist) and data: URLs that Chromium's loader fetches
    (fonts, style sheets, scripts; --allow-data-urls accepts these) all fail.
    Every such request is blocked, so nothing leaves the machine;
  * every plot has a non-zero size, lies within the page, and is not blank.
Before any page, a probe checks that Chromium draws text at all: with no font
installed it draws none (plots would still pass on their lines), exit status 2.

Each page is rendered three times, 1280 CSS px wide at 1 device px per CSS px:
  light  prefers-color-scheme: light, screen media
  dark   prefers-color-scheme: dark, screen media
  print  print media with prefers-color-scheme: dark (the worst case: a dark-mode
         reader printing) and JavaScript off. The plots must still be there and
         not blank (so they need no JavaScript), and the printed page's
         background must be light: browsers print without background colours
         by default, so a page whose dark-mode CSS also applies to print would
         come out as light text on white paper. Scope dark CSS to
         `@media screen and (prefers-color-scheme: dark)`.

Blank plots. A plot's pixels are cropped from a full-page screenshot; its
background is its most common colour, and a pixel counts as non-background
("ink") when one of its R, G, B channels differs from the background's by more
than INK_DELTA = 48 (of 255): anti-aliased edges of thin lines count, faint grid
lines (#eee on white, say) and colours that nearly vanish against the
background (black on #111 in dark mode) do not. A W x H plot fails as blank
when its ink is less than the smaller of
  * MIN_INK_PERCENT = 1 % of its W*H pixels (what binds for small plots), and
  * W + H pixels, the ink of one full-width and one full-height 1-px line, i.e.
    bare axes (what binds above about 200x200: thin lines and text grow with a
    plot's sides, not its area, so a fixed percentage would call a large,
    sparse but fine plot blank).
For scale, the self-test's 400x300 ROC plot (threshold 700 px = 0.58 %) has
about 4,200 ink pixels (3.5 %): its axes with tick labels alone about 2,600
(2.2 %), its curve alone about 1,400 (1.2 %); the same drawing left at that
size in a 1000x750 plot 4,200 (0.56 %, threshold 1,750); an empty <svg> 0.

Output: one line per plot and rendering,
    PAGE SCHEME NAME WxH non-background=N (x.xx%) ok|BLANK
then each failure and warning, and a verdict per page and overall. Exit status
0 when every page passes, 1 when one fails, 2 on a usage or setup error.
--screenshots DIR keeps DIR/<page-stem>-light.png, -dark.png and -print.png.
"""

from __future__ import annotations

import argparse
import io
import os
import pathlib
import shutil
import sys
import tempfile
import time
from dataclasses import dataclass, field

INK_DELTA = 48
MIN_INK_PERCENT = 1.0
VIEWPORT = {"width": 1280, "height": 800}
# Renderings: (label, prefers-color-scheme, media, JavaScript on).
RENDERINGS = (("light", "light", "screen", True), ("dark", "dark", "screen", True),
              ("print", "dark", "print", False))
LOAD_TIMEOUT_MS = 30_000

# Geometry of every plot in page coordinates, and the document's size.
GEOMETRY_JS = """() => {
  const doc = document.documentElement;
  const plots = [...document.querySelectorAll('svg[data-plot]')].map(svg => {
    const r = svg.getBoundingClientRect();
    return {name: svg.getAttribute('data-plot'), x: r.left + window.scrollX,
            y: r.top + window.scrollY, width: r.width, height: r.height};
  });
  return {plots,
          width: Math.max(doc.scrollWidth, document.body ? document.body.scrollWidth : 0),
          height: Math.max(doc.scrollHeight, document.body ? document.body.scrollHeight : 0)};
}"""

EMULATION_JS = """() => ({
  media: matchMedia('print').matches ? 'print' : 'screen',
  scheme: matchMedia('(prefers-color-scheme: dark)').matches ? 'dark' : 'light'})"""


class SetupError(Exception):
    """The check itself cannot run as intended (exit status 2)."""


@dataclass
class Failure:
    kind: str  # load, console, pageerror, network, data-url, no-plots, missing-plot,
    #            zero-size, off-page, blank, print-dark
    rendering: str
    detail: str

    def __str__(self) -> str:
        return f"{self.rendering}: {self.kind}: {self.detail}"


@dataclass
class PageResult:
    page: str
    failures: list[Failure] = field(default_factory=list)
    warnings: list[str] = field(default_factory=list)
    lines: list[str] = field(default_factory=list)
    seconds: float = 0.0

    @property
    def ok(self) -> bool:
        return not self.failures


def find_chromium() -> str | None:
    for candidate in (os.environ.get("CHROMIUM"), "chromium", "chromium-browser",
                      "google-chrome"):
        if candidate:
            found = shutil.which(candidate)
            if found:
                return found
    return None


def launch(playwright):
    chromium = find_chromium()
    if chromium is None:
        raise SetupError("no chromium on PATH: run Scripts/browser-env.sh "
                         "(or set CHROMIUM to a Chromium binary)")
    args = []
    if hasattr(os, "geteuid") and os.geteuid() == 0:
        args.append("--no-sandbox")  # Chromium refuses to start as root with its sandbox
    return playwright.chromium.launch(executable_path=chromium, args=args, headless=True)


def check_fonts(browser) -> None:
    """Without any font Chromium draws no text at all (and the plots still pass
    the blank check on their lines alone), so make sure text gets glyphs."""
    from PIL import Image

    context = browser.new_context(viewport={"width": 400, "height": 100}, device_scale_factor=1)
    page = context.new_page()
    page.set_content('<body style="margin:0;background:#fff;color:#000">'
                     '<p style="font:40px sans-serif;margin:20px">Tally 0.25</p>')
    image = Image.open(io.BytesIO(page.screenshot())).convert("RGB")
    context.close()
    count, _, _ = ink(image, (0, 0, image.width, image.height))
    if count < 100:
        raise SetupError("Chromium draws no text (no fonts?): apt-get install fonts-dejavu-core "
                         "(Scripts/browser-env.sh does)")


def ink(image, box) -> tuple[int, int, tuple[int, int, int]]:
    """(ink pixels, all pixels, background colour) of `box` in `image`."""
    from PIL import Image, ImageChops

    crop = image.crop(box)
    total = crop.width * crop.height
    colours = crop.getcolors(maxcolors=total)
    background = max(colours)[1]
    diff = ImageChops.difference(crop, Image.new("RGB", crop.size, background))
    r, g, b = diff.split()
    largest = ImageChops.lighter(ImageChops.lighter(r, g), b)
    histogram = largest.histogram()
    return sum(histogram[INK_DELTA + 1:]), total, background


def strip_fragment(url: str) -> str:
    return url.split("#", 1)[0]


@dataclass
class Events:
    """What one rendering of a page did; its methods are Playwright's handlers."""
    url: str
    blocked: list[str] = field(default_factory=list)
    console: list = field(default_factory=list)
    errors: list = field(default_factory=list)
    data_urls: list[str] = field(default_factory=list)

    def on_route(self, route) -> None:
        if strip_fragment(route.request.url) == self.url:
            route.continue_()
        else:
            self.blocked.append(route.request.url)
            route.abort()

    def on_console(self, message) -> None:
        self.console.append(message)

    def on_page_error(self, error) -> None:
        self.errors.append(error)

    def on_cdp_request(self, event) -> None:
        if event["request"]["url"].startswith("data:"):
            self.data_urls.append(event["request"]["url"])


def check_page(browser, path: pathlib.Path, options, shots_dir: pathlib.Path | None
               ) -> PageResult:
    from PIL import Image

    start = time.monotonic()
    result = PageResult(page=str(path))
    url = path.resolve().as_uri()
    for label, scheme, media, javascript in RENDERINGS:
        fail = lambda kind, detail, label=label: result.failures.append(  # noqa: E731
            Failure(kind, label, detail))
        context = browser.new_context(color_scheme=scheme, viewport=VIEWPORT,
                                      device_scale_factor=1, java_script_enabled=javascript,
                                      reduced_motion="reduce")
        events = Events(url)
        context.route("**/*", events.on_route)
        page = context.new_page()
        page.on("console", events.on_console)
        page.on("pageerror", events.on_page_error)
        # Chromium's loader also fetches data: URLs (fonts, style sheets...) that
        # Playwright neither reports nor routes; the DevTools protocol shows them.
        # (A CDP session undoes page.emulate_media, so the media is set through it.)
        cdp = context.new_cdp_session(page)
        cdp.on("Network.requestWillBeSent", events.on_cdp_request)
        cdp.send("Network.enable")
        cdp.send("Emulation.setEmulatedMedia", {
            "media": media, "features": [{"name": "prefers-color-scheme", "value": scheme}]})
        try:
            page.goto(url, wait_until="load", timeout=LOAD_TIMEOUT_MS)
            page.evaluate("() => document.fonts.ready.then(() => true)")
            geometry = page.evaluate(GEOMETRY_JS)
            png = page.screenshot(full_page=True, animations="disabled")
            emulated = page.evaluate(EMULATION_JS)
        except Exception as error:  # noqa: BLE001 - any Playwright error is a failed load
            fail("load", f"{url}: {str(error).splitlines()[0]}")
            context.close()
            continue
        if emulated != {"media": media, "scheme": scheme}:
            raise SetupError(f"asked Chromium for {media} media and a {scheme} "
                             f"colour scheme, the page saw {emulated}")
        blocked, console, errors, data_urls = (events.blocked, events.console, events.errors,
                                               events.data_urls)

        for request_url in blocked:
            fail("network", f"request for {request_url[:200]} (blocked)")
        for data_url in data_urls:
            if options.allow_data_urls:
                result.warnings.append(f"{label}: data: URL {data_url[:60]}...")
            else:
                fail("data-url", f"data: URL fetched: {data_url[:60]}... "
                     "(inline the content, or pass --allow-data-urls)")
        for message in console:
            text = f"{message.text} ({message.location.get('url', '')}:" \
                   f"{message.location.get('lineNumber', 0) + 1})"
            # "Failed to load resource" for a request blocked above is that failure again.
            if message.type == "error" and message.text.startswith("Failed to load resource") \
                    and message.location.get("url") in blocked:
                continue
            if message.type == "error":
                fail("console", f"console error: {text}")
            elif message.type == "warning":
                result.warnings.append(f"{label}: console warning: {text}")
        for error in errors:
            fail("pageerror", f"uncaught error: {str(error).splitlines()[0]}")

        image = Image.open(io.BytesIO(png)).convert("RGB")
        if shots_dir is not None:
            image.save(shots_dir / f"{path.stem}-{label}.png")
        page_width, page_height = geometry["width"], geometry["height"]
        if label != "print" and page_width > VIEWPORT["width"] + 1:
            result.warnings.append(f"{label}: page is {page_width} px wide, wider than "
                                   f"the {VIEWPORT['width']} px window (scrolls sideways)")
        names = [plot["name"] for plot in geometry["plots"]]
        if not names and not options.allow_no_plots:
            fail("no-plots", 'no <svg data-plot="..."> on the page')
        for expected in options.expect_plots:
            if expected not in names:
                fail("missing-plot", f'no <svg data-plot="{expected}">')

        seen: dict[str, int] = {}
        for plot in geometry["plots"]:
            name = plot["name"] or "(unnamed)"
            seen[name] = seen.get(name, 0) + 1
            if seen[name] > 1:
                name = f"{name}#{seen[name]}"
            x, y, w, h = plot["x"], plot["y"], plot["width"], plot["height"]
            size = f"{w:g}x{h:g}"
            prefix = f"{path.name} {label} {name} {size}"
            if w < 1 or h < 1:
                result.lines.append(f"{prefix} ZERO-SIZE")
                fail("zero-size", f"plot {name} is {size} px")
                continue
            if x < -1 or y < -1 or x + w > page_width + 1 or y + h > page_height + 1:
                result.lines.append(f"{prefix} OFF-PAGE at ({x:g}, {y:g})")
                fail("off-page", f"plot {name} at ({x:g}, {y:g}) {size} is not wholly "
                     f"within the {page_width}x{page_height} page")
                continue
            box = (max(0, int(x)), max(0, int(y)), min(image.width, int(x + w + 0.999)),
                   min(image.height, int(y + h + 0.999)))
            if box[2] <= box[0] or box[3] <= box[1]:
                result.lines.append(f"{prefix} OUTSIDE SCREENSHOT")
                fail("off-page", f"plot {name} lies outside the {image.width}x"
                     f"{image.height} screenshot")
                continue
            count, total, background = ink(image, box)
            percent = 100.0 * count / total
            needed = min(MIN_INK_PERCENT / 100 * total, w + h)
            blank = count < needed
            result.lines.append(f"{prefix} non-background={count} ({percent:.2f}%) "
                                f"{'BLANK' if blank else 'ok'}")
            if blank:
                fail("blank", f"plot {name}: {count} pixels ({percent:.2f}%) differ from its "
                     f"background #{bytes(background).hex()}; needs {needed:.0f} (the smaller "
                     f"of {MIN_INK_PERCENT:g}% of its pixels and its width + height)")

        if label == "print":
            page_background = max(image.getcolors(maxcolors=image.width * image.height))[1]
            luminance = (0.2126 * page_background[0] + 0.7152 * page_background[1]
                         + 0.0722 * page_background[2]) / 255
            if luminance < 0.5:
                fail("print-dark", f"printed page background is #{bytes(page_background).hex()}"
                     " (dark-mode styles apply to print: scope dark CSS to `@media screen and "
                     "(prefers-color-scheme: dark)`; with `color-scheme: light dark` (CSS or "
                     "<meta>) also add `@media print { :root { color-scheme: light } }`)")
        context.close()
    result.seconds = time.monotonic() - start
    return result


def report(result: PageResult) -> None:
    for line in result.lines:
        print(line)
    for warning in result.warnings:
        print(f"{result.page}: warning: {warning}")
    for failure in result.failures:
        print(f"{result.page}: FAIL {failure}")
    count = len(result.failures)
    verdict = "ok" if result.ok else f"FAILED ({count} problem{'s' if count > 1 else ''})"
    print(f"{result.page}: {verdict} in {result.seconds:.1f} s")


# ---------------------------------------------------------------------------
# Self-test: known good and bad pages, each must pass or fail for its reason.

GOOD_STYLE = """
  body { font-family: sans-serif; margin: 2rem; background: #fff; color: #1a1a1a; }
  svg text { font-size: 12px; fill: currentColor; }
  .curve { stroke: #1f77b4; }
  @media screen and (prefers-color-scheme: dark) {
    body { background: #121212; color: #e6e6e6; }
    .curve { stroke: #6cb6ff; }
  }
"""

ROC_SVG = """<svg data-plot="roc" width="400" height="300" viewBox="0 0 400 300"
     role="img" aria-label="ROC curve">
  <title>ROC curve</title>
  <g stroke="currentColor" stroke-width="1" fill="none">
    <line x1="50" y1="260" x2="380" y2="260"/><line x1="50" y1="260" x2="50" y2="20"/>
    <line x1="50" y1="260" x2="50" y2="265"/><line x1="132" y1="260" x2="132" y2="265"/>
    <line x1="215" y1="260" x2="215" y2="265"/><line x1="297" y1="260" x2="297" y2="265"/>
    <line x1="380" y1="260" x2="380" y2="265"/>
    <line x1="45" y1="260" x2="50" y2="260"/><line x1="45" y1="200" x2="50" y2="200"/>
    <line x1="45" y1="140" x2="50" y2="140"/><line x1="45" y1="80" x2="50" y2="80"/>
    <line x1="45" y1="20" x2="50" y2="20"/>
    <line x1="50" y1="260" x2="380" y2="20" stroke-dasharray="4 4" opacity="0.6"/>
  </g>
  <polyline class="curve" fill="none" stroke-width="2.5"
    points="50,260 60,180 75,130 100,95 140,70 200,50 270,35 330,25 380,20"/>
  <g text-anchor="middle">
    <text x="50" y="280">0</text><text x="132" y="280">0.25</text>
    <text x="215" y="280">0.5</text><text x="297" y="280">0.75</text>
    <text x="380" y="280">1</text><text x="215" y="297">False positive rate</text>
  </g>
  <g text-anchor="end">
    <text x="40" y="264">0</text><text x="40" y="204">0.25</text><text x="40" y="144">0.5</text>
    <text x="40" y="84">0.75</text><text x="40" y="24">1</text>
  </g>
  <text x="12" y="140" transform="rotate(-90 12 140)" text-anchor="middle">True positive rate</text>
</svg>"""

TABLE = """<table><tr><th>metric</th><th>value</th></tr>
<tr><td>AUC</td><td>0.912</td></tr></table>"""


def html(body: str, style: str = GOOD_STYLE, head: str = "") -> str:
    return f"""<!doctype html>
<html lang="en"><head><meta charset="utf-8"><title>Tally report (self-test)</title>
<meta name="color-scheme" content="light dark">
<style>{style}</style>{head}</head>
<body><h1>Evaluation report</h1>
{body}
</body></html>
"""


def self_test_pages() -> list[tuple[str, str, dict, set[tuple[str, str]]]]:
    """(file name, HTML, option overrides, expected {(failure kind, rendering)})."""
    every = ("light", "dark", "print")
    screen = ("light", "dark")
    good = html(ROC_SVG + TABLE)
    # Dark-mode CSS that forgets the plot: black strokes and text on #111.
    invisible_style = """body { font-family: sans-serif; margin: 2rem; background: #fff; }
      @media screen and (prefers-color-scheme: dark) { body { background: #111; color: #eee; } }"""
    invisible_style += " svg text { fill: #000; }"
    invisible_svg = ROC_SVG.replace('stroke="currentColor"', 'stroke="#000"') \
        .replace('class="curve"', 'stroke="#000"')
    unscoped_style = GOOD_STYLE.replace("@media screen and (prefers-color-scheme: dark)",
                                        "@media (prefers-color-scheme: dark)")
    js_built = html('<div id="plot"></div><script>document.getElementById("plot").innerHTML = '
                    + repr(ROC_SVG.replace("\n", " ")) + ";</script>")
    return [
        ("good.html", good, {"expect_plots": ["roc"]}, set()),
        # The ROC drawing left at its size in a 1000x750 plot: sparse (0.56 %) but fine.
        ("large-sparse.html", html(ROC_SVG.replace(
            'width="400" height="300" viewBox="0 0 400 300"',
            'width="1000" height="750" viewBox="0 0 1000 750"')),
         {}, set()),
        ("console-warning.html", html(ROC_SVG + '<script>console.warn("w")</script>'), {}, set()),
        ("blank.html", html('<svg data-plot="roc" width="400" height="300"></svg>'), {},
         {("blank", r) for r in every}),
        ("label-only.html", html('<svg data-plot="roc" width="400" height="300">'
                                 '<text x="180" y="150" fill="currentColor">No data</text></svg>'),
         {}, {("blank", r) for r in every}),
        ("console-error.html", html(ROC_SVG + '<script>console.error("x")</script>'), {},
         {("console", r) for r in screen}),
        ("network.html", html(ROC_SVG + '<img src="https://example.com/x.png" alt="">'), {},
         {("network", r) for r in every}),
        ("page-error.html", html(ROC_SVG + '<script>throw new Error("y")</script>'), {},
         {("pageerror", r) for r in screen}),
        ("other-file.html", html(ROC_SVG, head='<link rel="stylesheet" href="other-file.css">'),
         {}, {("network", r) for r in every}),
        ("data-font.html", html(ROC_SVG, style=GOOD_STYLE + "@font-face { font-family: F; "
                                "src: url(data:font/woff2;base64,AAAA); } h1 { font-family: F; }"),
         {}, {("data-url", r) for r in every}),
        ("no-plots.html", html(TABLE), {}, {("no-plots", r) for r in every}),
        ("missing-plot.html", good, {"expect_plots": ["roc", "pr"]},
         {("missing-plot", r) for r in every}),
        ("zero-size.html",
         html(ROC_SVG.replace('width="400" height="300"', 'width="0" height="0"')),
         {}, {("zero-size", r) for r in every}),
        ("off-page.html",
         html(ROC_SVG.replace("<svg ", '<svg style="position:absolute; left:-600px" ')),
         {}, {("off-page", r) for r in every}),
        ("dark-invisible.html", html(invisible_svg, style=invisible_style), {},
         {("blank", "dark")}),
        ("print-dark.html", html(ROC_SVG, style=unscoped_style), {}, {("print-dark", "print")}),
        ("js-built.html", js_built, {}, {("no-plots", "print")}),
    ]


def self_test(browser, shots_dir: pathlib.Path | None, base_options) -> tuple[int, int]:
    """(pages that behaved, pages that did not)."""
    passed = failed = 0
    with tempfile.TemporaryDirectory(prefix="check-report-") as work:
        work_dir = pathlib.Path(work)
        (work_dir / "other-file.css").write_text("h1 { color: teal; }\n")
        for name, text, overrides, expected in self_test_pages():
            page_path = work_dir / name
            page_path.write_text(text)
            options = argparse.Namespace(**{**vars(base_options), "expect_plots": [],
                                            **overrides})
            result = check_page(browser, page_path, options, shots_dir)
            got = {(failure.kind, failure.rendering) for failure in result.failures}
            right = got == expected
            passed += right
            failed += not right
            reasons = ", ".join(sorted(f"{k}@{r}" for k, r in got)) or "none"
            print(f"self-test {name}: {'pass' if right else 'WRONG'}: failures {reasons}"
                  f" ({result.seconds:.1f} s)")
            if not right:
                wanted = ", ".join(sorted(f"{k}@{r}" for k, r in expected)) or "none"
                print(f"  expected {wanted}; the check said:")
                for line in result.lines:
                    print(f"    {line}")
                for failure in result.failures:
                    print(f"    FAIL {failure}")
            elif name in ("good.html", "large-sparse.html", "blank.html", "label-only.html",
                          "dark-invisible.html"):
                for line in result.lines:
                    print(f"    {line}")
    return passed, failed


def main(argv: list[str]) -> int:
    parser = argparse.ArgumentParser(
        description="Render tally report pages in headless Chromium and fail when broken.")
    parser.add_argument("pages", nargs="*", type=pathlib.Path, metavar="PAGE.html")
    parser.add_argument("--screenshots", type=pathlib.Path, metavar="DIR",
                        help="keep full-page screenshots DIR/<stem>-{light,dark,print}.png")
    parser.add_argument("--expect-plots", default="", metavar="NAMES",
                        help="comma list of data-plot names every page must have")
    parser.add_argument("--allow-no-plots", action="store_true",
                        help="accept a page without any svg[data-plot]")
    parser.add_argument("--allow-data-urls", action="store_true",
                        help="accept data: URLs fetched by the page (reported as warnings)")
    parser.add_argument("--self-test", action="store_true",
                        help="check known good and bad pages and exit")
    options = parser.parse_args(argv)
    options.expect_plots = [n.strip() for n in options.expect_plots.split(",") if n.strip()]
    if not options.pages and not options.self_test:
        parser.error("give PAGE.html files, or --self-test")
    for page in options.pages:
        if not page.is_file():
            parser.error(f"no such file: {page}")
    if options.screenshots is not None:
        options.screenshots.mkdir(parents=True, exist_ok=True)

    try:
        from playwright.sync_api import sync_playwright
        import PIL  # noqa: F401
    except ImportError as error:
        # Run by another python: hand over to the venv's, where there is one.
        venv_python = pathlib.Path(__file__).resolve().parent.parent / ".venv-browser/bin/python"
        venv = venv_python.parent.parent
        if venv_python.is_file() and pathlib.Path(sys.prefix).resolve() != venv.resolve():
            os.execv(venv_python, [str(venv_python), __file__, *argv])
        print(f"check-report: {error}: run Scripts/browser-env.sh, then use "
              ".venv-browser/bin/python", file=sys.stderr)
        return 2

    start = time.monotonic()
    try:
        with sync_playwright() as playwright:
            browser = launch(playwright)
            print(f"Chromium {browser.version} ({find_chromium()})")
            try:
                check_fonts(browser)
                if options.self_test:
                    passed, failed = self_test(browser, options.screenshots, options)
                    print(f"self-test {'passed' if not failed else 'FAILED'} in "
                          f"{time.monotonic() - start:.1f} s")
                    print(f"self-test: {passed} passed, {failed} failed")
                    return 0 if not failed else 1
                results = []
                for page in options.pages:
                    result = check_page(browser, page, options, options.screenshots)
                    report(result)
                    results.append(result)
            finally:
                browser.close()
    except SetupError as error:
        print(f"check-report: {error}", file=sys.stderr)
        return 2
    failed = [r.page for r in results if not r.ok]
    if failed:
        print(f"FAILED: {len(failed)} of {len(results)} pages: {' '.join(failed)}")
        return 1
    print(f"ok: {len(results)} pages pass ({time.monotonic() - start:.1f} s)")
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
