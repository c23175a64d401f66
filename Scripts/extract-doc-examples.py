#!/usr/bin/env python3
"""Turn every Swift example of Tally's documentation into a test.

Usage (from the repository root):

    python3 Scripts/extract-doc-examples.py                     # all sources
    python3 Scripts/extract-doc-examples.py --only readme,docc  # some sources
    python3 Scripts/extract-doc-examples.py --output PATH       # write elsewhere

Reads the ```swift blocks of

* readme:   README.md
* docc:     Sources/Tally/Documentation.docc/*.md
* comments: the `///` doc comments of Sources/Tally/**/*.swift

and writes Tests/DocumentationTests/DocumentationExamples.swift: one Swift
Testing `@Test` per example, named after its place (source file stem, then the
Markdown heading above it or the documented symbol, `_2`, `_3`... for a second
example at the same place), whose body is the example.

Extraction (the same rule as `extractExamples` in
Tests/DocumentationTests/DocumentationSupport.swift, which re-reads the sources
at test time and fails when the generated file is out of date):

* In a .swift file only `///` lines count, read without the leading
  whitespace, the `///` and one space; any other line ends an open block
  (the block is dropped).
* A block opens at a line that is ```swift (surrounding spaces ignored) and
  closes at the next ``` line. Its text is the lines between.
* A block whose opening line directly follows a line starting with
  `<!-- not compiled` is skipped (the opt-out marker; say why after the colon:
  `<!-- not compiled: a fragment of Package.swift -->`).

Turning an example into a test:

* `import` lines are dropped (the test file imports Foundation, Testing, Tally).
* A type declaration at the example's top level (struct, class, enum, actor,
  protocol, extension, typealias) moves out of the function into an enum named
  after the example, which also holds the @Test function (a function cannot
  hold extensions).
* A value comment is checked: a statement followed by `// 0.25`,
  `// [0.5, 0.0]`, `// [[0], [1]]`, `// .scalar(4.0)` or `// .vector([1, 2])`
  (optionally followed by an explanation that starts with `(` or `:`), or
  followed on the next line by a comment holding only such a value, becomes
  `expectDoc(expression, "value")` (for `let x = ...`, `expectDoc(x, ...)`;
  `expectDoc` is in Tests/DocumentationTests/DocumentationSupport.swift and
  takes a MetricValue, a Tensor, a Double, a [Double] or an [Int]).
  Each number is compared to the digits written: within half a unit of its
  last digit (`0.25` within 0.005, `3.2058e-05` within 5e-10), a whole unit
  when it ends in `…` (`0.6666666…`, truncated), exactly for an integer.
  A value after a statement that is neither an expression nor a `let`/`var`
  becomes a failing `Issue.record`, so that no written number goes unchecked.
  Other comments (prose, strings, tuples) stay comments.

The script uses the Python standard library only and writes the same file
for the same sources.
"""
import argparse
import glob
import os
import re

ROOT = os.path.normpath(os.path.join(os.path.dirname(os.path.abspath(__file__)), ".."))
OUT = os.path.join("Tests", "DocumentationTests", "DocumentationExamples.swift")
KINDS = ("readme", "docc", "comments")
MARKER = "<!-- not compiled"


# MARK: - Extraction (keep identical to extractExamples in DocumentationSupport.swift)


def source_files(kind):
    """Repository-relative paths of the files of one source kind, sorted."""
    if kind == "readme":
        return ["README.md"]
    if kind == "docc":
        pattern = os.path.join(ROOT, "Sources", "Tally", "Documentation.docc", "*.md")
    else:
        pattern = os.path.join(ROOT, "Sources", "Tally", "**", "*.swift")
    paths = [os.path.relpath(p, ROOT).replace(os.sep, "/") for p in glob.glob(pattern, recursive=True)]
    return sorted(paths)


def text_lines(path, content):
    """The lines the block rule reads: all lines of Markdown; the doc text of
    `///` lines of Swift, None for every other line."""
    lines = content.split("\n")
    if not path.endswith(".swift"):
        return lines
    out = []
    for line in lines:
        t = line.lstrip(" \t")
        if t.startswith("///"):
            t = t[3:]
            out.append(t[1:] if t.startswith(" ") else t)
        else:
            out.append(None)
    return out


def extract(path, content):
    """[(index of the opening line, text of the block)] of the compiled blocks."""
    lines = text_lines(path, content)
    blocks = []
    i = 0
    while i < len(lines):
        line = lines[i]
        if line is not None and line.strip() == "```swift":
            skipped = i > 0 and lines[i - 1] is not None and lines[i - 1].strip().startswith(MARKER)
            j = i + 1
            while j < len(lines) and lines[j] is not None and lines[j].strip() != "```":
                j += 1
            if j < len(lines) and lines[j] is not None and not skipped:
                blocks.append((i, "\n".join(lines[i + 1:j])))
            i = j
        i += 1
    return blocks


# MARK: - Places


def slug(text):
    return re.sub(r"[^A-Za-z0-9]+", "_", text).strip("_")


DECL = re.compile(
    r"^\s*(?:@\w+(?:\([^)]*\))?\s+)*(?:(?:public|internal|fileprivate|private|package|open|final|"
    r"static|class|mutating|nonmutating|override|convenience|required|indirect|nonisolated)\s+)*"
    r"(struct|class|enum|protocol|actor|extension|func|var|let|init|subscript|case|typealias)\b\s*([\w.]*)"
)
TYPE_KEYWORDS = ("struct", "class", "enum", "protocol", "actor", "extension")


def markdown_places(content, starts):
    """The heading above each block start (outside code fences)."""
    places = {}
    heading = ""
    in_fence = False
    for n, line in enumerate(content.split("\n")):
        if n in starts:
            places[n] = heading
        if line.strip().startswith("```"):
            in_fence = not in_fence
        elif not in_fence and line.startswith("#"):
            heading = line.lstrip("#").replace("`", "").strip()
    return places


def symbol_places(content, starts):
    """The documented symbol of each block start, qualified with its enclosing types."""
    lines = content.split("\n")
    places = {}
    stack = []  # (indent, name) of enclosing type declarations
    pending = []  # block starts whose doc comment has not reached its declaration yet
    for n, line in enumerate(lines):
        stripped = line.strip()
        if n in starts:
            pending.append(n)
        if not stripped or stripped.startswith("//") or stripped.startswith("@"):
            continue
        m = DECL.match(line)
        if not m:
            continue
        indent = len(line) - len(line.lstrip())
        while stack and stack[-1][0] >= indent:
            stack.pop()
        keyword, name = m.group(1), m.group(2) or m.group(1)
        if keyword == "init":
            name = "init"
        for start in pending:
            places[start] = "_".join([s for _, s in stack] + [name.replace(".", "_")])
        pending = []
        if keyword in TYPE_KEYWORDS and stripped.endswith("{"):
            stack.append((indent, name.replace(".", "_")))
    for start in pending:
        places[start] = "end"
    return places


# MARK: - Value comments

NUMBER = re.compile(r"-?\d+(?:\.\d+)?(?:[eE][-+]?\d+)?…?")


def parse_list(text, i):
    """The end of the bracketed list of numbers starting at text[i], or None."""
    if not text.startswith("[", i):
        return None
    i += 1
    while True:
        i = len(text) - len(text[i:].lstrip())
        if text.startswith("]", i):
            return i + 1
        number = NUMBER.match(text, i)
        i = number.end() if number else parse_list(text, i)
        if i is None:
            return None
        i = len(text) - len(text[i:].lstrip())
        if text.startswith(",", i):
            i += 1
        elif not text.startswith("]", i):
            return None


STRINGS = re.compile(r'"[^"\\]*"|\[(?:"[^"\\]*"(?:, "[^"\\]*")*)?\]')


def value_of(comment):
    """The value written at the start of a `//` comment (a number, a bracketed
    list of numbers, `.scalar(number)` or `.vector(list)`, a string literal or
    a list of string literals, `true` or `false`, then nothing or an explanation starting with `(`
    or `:`), or None for any other comment."""
    text = comment.strip()
    boolean = re.match(r"(?:true|false)\b", text)
    if boolean:
        rest = text[boolean.end():]
        if not rest.strip() or rest.lstrip()[0] in "(:":
            return text[:boolean.end()]
        return None
    strings = STRINGS.match(text)
    if strings:
        rest = text[strings.end():]
        if not rest.strip() or (rest[0] in " (:" and rest.lstrip()[0] in "(:"):
            return text[:strings.end()]
        return None
    for prefix, suffix in ((".scalar(", ")"), (".vector(", ")"), ("", "")):
        if not text.startswith(prefix):
            continue
        i = len(prefix)
        number = NUMBER.match(text, i)
        end = number.end() if number and prefix != ".vector(" else None
        if end is None and prefix != ".scalar(":
            end = parse_list(text, i)
        if end is None or not text.startswith(suffix, end):
            return None
        end += len(suffix)
        rest = text[end:]
        if rest.strip() and not (rest[0] in " (:" and rest.lstrip()[0] in "(:"):
            return None
        return text[:end]
    return None


def code_positions(line):
    """The indices of `line` outside string literals (escapes skipped)."""
    in_string = False
    i = 0
    while i < len(line):
        c = line[i]
        if c == "\\" and in_string:
            i += 2
            continue
        if c == '"':
            in_string = not in_string
        elif not in_string:
            yield i
        i += 1


def split_comment(line):
    """(code, comment) with the first `//` outside a string literal."""
    for i in code_positions(line):
        if line.startswith("//", i):
            return line[:i].rstrip(), line[i + 2:]
    return line.rstrip(), None


def brackets(code, stack):
    """`stack` of open brackets after the line of code `code` (strings skipped)."""
    stack = list(stack)
    for i in code_positions(code):
        if code[i] in "([{":
            stack.append(code[i])
        elif code[i] in ")]}" and stack:
            stack.pop()
    return stack


NOT_EXPRESSION = re.compile(
    r"^(?:let|var|if|for|while|guard|switch|return|throw|func|struct|class|enum|import|else|case|"
    r"default|defer|do|repeat|catch|break|continue)\b|^[}{.]|(?<![=!<>])=(?!=)"
)
BINDING = re.compile(r"^(?:let|var)\s+(\w+)\s*(?::[^=]+)?=(?!=)")


def swift_string(text):
    """`text` as a Swift string literal."""
    out = text.replace("\\", "\\\\").replace('"', '\\"').replace("\n", "\\n").replace("\t", "\\t")
    return '"' + out + '"'


def check(expression, value):
    if expression.startswith("try ") and not expression.startswith(("try?", "try!")):
        return "try expectDoc(%s, %s)" % (expression[4:].strip(), swift_string(value))
    return "expectDoc(%s, %s)" % (expression, swift_string(value))


def body_lines(lines):
    """The statements of an example with value comments turned into checks.

    A statement starts on a line at the top level or directly inside braces
    (not inside parentheses or brackets, not a line starting with `}`), and
    ends on the line that closes every bracket it opened."""
    out = []
    stack = []  # open brackets
    starts = []  # (index in out of its first line, len(stack) there) of unfinished statements
    last = None  # (index in out, code, first line or None) of the statement that ended on the previous line
    for line in lines:
        code, comment = split_comment(line)
        value = value_of(comment) if comment is not None else None
        comment = "// " + comment.strip() if comment is not None else None
        if not code.strip():
            if value is not None and last is not None:
                out[last[0]] = checked(*last[1:], value, comment)
            else:
                out.append(unchecked(line, comment) if value is not None else line)
            last = None
            continue
        if (not stack or stack[-1] == "{") and not code.strip().startswith("}"):
            starts.append((len(out), len(stack)))
        stack = brackets(code, stack)
        out.append(line)
        last = None
        if starts and starts[-1][1] == len(stack) and (not stack or stack[-1] == "{"):
            start, _ = starts.pop()
            last = (len(out) - 1, code, out[start] if start != len(out) - 1 else None)
        while starts and starts[-1][1] > len(stack):
            starts.pop()
        if value is not None:
            out[-1] = checked(*last[1:], value, comment) if last else unchecked(code + "   " + comment, comment)
            last = None
    return out


def checked(code, first, value, comment):
    """The replacement of the line `code` that ends a statement (whose first
    line is `first`, or None for a one-line statement) to check `value`."""
    first_line = code if first is None else first
    indent = first_line[: len(first_line) - len(first_line.lstrip())]
    binding = BINDING.match(first_line.strip())
    if binding:
        return "%s   %s\n%s%s" % (code, comment, indent, check(binding.group(1), value))
    if first is None and not NOT_EXPRESSION.search(code.strip()):
        return "%s%s   %s" % (indent, check(code.strip(), value), comment)
    return unchecked(code + "   " + comment, comment, indent)


def unchecked(line, comment, indent=None):
    """`line` and a failing test for the value comment that it cannot check."""
    if indent is None:
        indent = line[: len(line) - len(line.lstrip())]
    message = "the value in `%s` is not checked: write it after a complete expression or `let`" % comment
    return "%s\n%sIssue.record(%s)" % (line, indent, swift_string(message))


TOP_DECL = re.compile(
    r"^(?:@\w+(?:\([^)]*\))?\s+)*(?:(?:public|internal|fileprivate|private|final|indirect)\s+)*"
    r"(struct|class|enum|actor|protocol|extension|typealias)\s+(\w+)"
)


def dedent(lines):
    indents = [len(l) - len(l.lstrip()) for l in lines if l.strip()]
    cut = min(indents) if indents else 0
    return [l[cut:] for l in lines]


def split_example(text):
    """(hoisted declarations, statements) of an example."""
    lines = dedent(text.split("\n"))
    decls, body = [], []
    i = 0
    while i < len(lines):
        line = lines[i]
        if re.match(r"^import\s+\w+\s*$", line):
            i += 1
            continue
        m = TOP_DECL.match(line)
        if m:
            stack = brackets(split_comment(line)[0], [])
            block = [line]
            i += 1
            while stack and i < len(lines):
                stack = brackets(split_comment(lines[i])[0], stack)
                block.append(lines[i])
                i += 1
            decls.append((m.group(1), m.group(2), block))
            continue
        body.append(line)
        i += 1
    while body and not body[0].strip():
        body.pop(0)
    while body and not body[-1].strip():
        body.pop()
    return decls, body


# MARK: - Output


def raw_literal(text):
    hashes = "#" * (1 + max([len(run) for run in re.findall(r"#+", text)] + [0]))
    return '%s"""\n%s\n"""%s' % (hashes, text, hashes)


def indent_lines(lines, prefix):
    return [(prefix + l if l.strip() else "") for l in "\n".join(lines).split("\n")]


def render(examples, kinds):
    header = [
        "// Generated by Scripts/extract-doc-examples.py%s: do not edit." % (
            "" if kinds == list(KINDS) else " --only " + ",".join(kinds)),
        "// Every Swift example of the documentation, compiled and run as a test.",
        "// After editing an example, run `python3 Scripts/extract-doc-examples.py`.",
        "// swift-format-ignore-file",
        "",
        "import Foundation",
        "import Tally",
        "import Testing",
        "",
    ]
    out = list(header)
    for ex in examples:
        out.append("// %s, %s" % (ex["file"], ex["where"]))
        decls, body = ex["decls"], body_lines(ex["body"])
        if decls:
            declared = {name for keyword, name, _ in decls if keyword != "extension"}
            extensions = [d for d in decls if d[0] == "extension"]
            nested = [d for d in decls if d[0] != "extension"]
            out.append("enum %s {" % ex["name"])
            for _, _, block in nested:
                out += indent_lines(block, "  ")
                out.append("")
            out.append("  @Test static func example() throws {")
            out += indent_lines(body, "    ")
            out.append("  }")
            out.append("}")
            for _, name, block in extensions:
                first = block[0].replace(
                    "extension " + name, "extension %s.%s" % (ex["name"], name) if name in declared else "extension " + name, 1)
                out += [first] + block[1:]
        else:
            out.append("@Test func %s() throws {" % ex["name"])
            out += indent_lines(body, "  ")
            out.append("}")
        out.append("")
    out.append("/// The sources read (`readme`, `docc`, `comments`).")
    out.append("let documentationExampleKinds: Set<String> = [%s]" % ", ".join('"%s"' % k for k in kinds))
    out.append("")
    out.append("/// Every example above as written (file, text): `DocumentationFreshnessTests`")
    out.append("/// compares it with the sources and fails when this file is out of date.")
    out.append("let documentationExampleTable: [(file: String, text: String)] = [")
    for ex in examples:
        out.append('  ("%s", %s),' % (ex["file"], raw_literal(ex["text"])))
    out.append("]")
    return "\n".join(out) + "\n"


def collect(kinds):
    examples = []
    names = {}
    for kind in kinds:
        for path in source_files(kind):
            with open(os.path.join(ROOT, path), encoding="utf-8") as f:
                content = f.read()
            blocks = extract(path, content)
            if not blocks:
                continue
            starts = {start for start, _ in blocks}
            places = symbol_places(content, starts) if path.endswith(".swift") else markdown_places(content, starts)
            stem = slug(os.path.splitext(os.path.basename(path))[0])
            for start, text in blocks:
                where = places[start]
                name = stem + ("_" + slug(where) if slug(where) else "")
                names[name] = names.get(name, 0) + 1
                if names[name] > 1:
                    name += "_%d" % names[name]
                decls, body = split_example(text)
                examples.append({
                    "file": path, "where": ('"%s"' % where) if not path.endswith(".swift") else where,
                    "name": name, "text": text, "decls": decls, "body": body,
                })
    return examples


def main():
    parser = argparse.ArgumentParser(
        description="Write %s: every ```swift example of the README, the DocC articles and the "
        "`///` doc comments of Sources/Tally as a Swift Testing test (see the module docstring)." % OUT)
    parser.add_argument(
        "--only", metavar="KINDS", default=",".join(KINDS),
        help="comma-separated sources to read, of readme (README.md), docc (the .docc articles) and "
        "comments (the /// doc comments of Sources/Tally); default: all. The generated file records "
        "the choice, and DocumentationFreshnessTests reports the sources left out as a known issue.")
    parser.add_argument("--output", default=OUT, help="the file to write (default: %(default)s)")
    args = parser.parse_args()
    kinds = [k.strip() for k in args.only.split(",") if k.strip()]
    unknown = [k for k in kinds if k not in KINDS]
    if unknown or not kinds:
        parser.error("--only takes a comma-separated list of %s" % ", ".join(KINDS))
    kinds = [k for k in KINDS if k in kinds]
    examples = collect(kinds)
    text = render(examples, kinds)
    path = os.path.join(ROOT, args.output)
    os.makedirs(os.path.dirname(path), exist_ok=True)
    with open(path, "w", encoding="utf-8") as f:
        f.write(text)
    counts = {k: 0 for k in kinds}
    for ex in examples:
        kind = "readme" if ex["file"] == "README.md" else "docc" if ex["file"].endswith(".md") else "comments"
        counts[kind] += 1
    print("%s: %d examples (%s)" % (args.output, len(examples), ", ".join("%s %d" % kv for kv in counts.items())))


if __name__ == "__main__":
    main()
