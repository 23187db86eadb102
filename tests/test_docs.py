"""Every example with a shown result in the Markdown docs runs against the
built extension and must give that result; every link between the docs
resolves. The convention the examples follow is in docs/README.md
("Examples in the docs are tested"); in short:

- every ```sql block of a checked file runs, in order, on one connection per
  file (an in-memory database with otelcat loaded, the repository root as
  working directory, readfile() as in the sqlite3 shell, dot-commands such
  as `.load dist/otelcat` skipped);
- the `-- ` comment lines directly under a statement are its expected rows,
  as the sqlite3 shell prints them (columns joined by |, NULL empty, reals
  with a decimal point); `-- error: TEXT` expects the statement to fail with
  TEXT; `-- ...` stands for any number of rows, `…` inside a row for any text;
  a line starting with `--  ` (two spaces) continues the row above;
- a Markdown table (or a ```json block) right after a block is the result of
  the block's last statement;
- `<!-- doctest: database demo -->` runs the file's blocks on the demo
  catalog (tools/demo.py, 150 000 records per signal) instead;
  `<!-- doctest: skip REASON -->` before a block leaves that block out.
"""
import json
import os
import re
import shutil
import sqlite3
import subprocess
import tempfile
import unittest

from helpers import EXT, ROOT

CHECKED = ["README.md", "docs/functions.md", "docs/cookbook.md", "docs/catalog.md"]
GEN = os.path.join(ROOT, "target", "release", "otlp_gen")
SYSPY = os.environ.get("SYSPY") or "/usr/bin/python3"
CI = bool(os.environ.get("CI"))
FENCE = re.compile(r"^```(\w*)\s*$")


# --- reading the Markdown ---------------------------------------------------------

class Block:
    def __init__(self, path, line, lang, lines, directive):
        self.path, self.line, self.lang, self.lines, self.directive = path, line, lang, lines, directive
        self.table = None          # (header, rows) of a Markdown table right after it
        self.json = None           # text of a ```json block right after it


def blocks(path):
    """The fenced blocks of a Markdown file, with what follows each and the
    directive comment before it; and the file's own directives."""
    with open(os.path.join(ROOT, path), encoding="utf-8") as f:
        lines = f.read().split("\n")
    out, file_directives, i, last_directive = [], [], 0, None
    while i < len(lines):
        m = re.match(r"^<!--\s*doctest:\s*(.*?)\s*-->\s*$", lines[i])
        if m:
            if m.group(1).startswith("database"):
                file_directives.append(m.group(1))
            else:
                last_directive = m.group(1)
            i += 1
            continue
        m = FENCE.match(lines[i])
        if not m:
            if lines[i].strip():
                last_directive = None if not lines[i].startswith("<!--") else last_directive
            i += 1
            continue
        start, lang = i, m.group(1)
        j = i + 1
        while j < len(lines) and lines[j].strip() != "```":
            j += 1
        block = Block(path, start + 1, lang, lines[i + 1:j], last_directive)
        last_directive = None
        out.append(block)
        # what follows: a table, or a ```json block
        k = j + 1
        while k < len(lines) and not lines[k].strip():
            k += 1
        if k < len(lines) and lines[k].startswith("|"):
            table = []
            while k < len(lines) and lines[k].startswith("|"):
                table.append(split_row(lines[k]))
                k += 1
            block.table = (table[0], table[2:])
        elif k < len(lines) and lines[k].strip() == "```json" and lang == "sql":
            e = k + 1
            while e < len(lines) and lines[e].strip() != "```":
                e += 1
            block.json = "\n".join(lines[k + 1:e])
        i = j + 1
    return out, file_directives


def split_row(line):
    cells = re.split(r"(?<!\\)\|", line.strip()[1:-1])
    return [c.strip().replace("\\|", "|") for c in cells]


def statements(block):
    """[(line number, sql, expected lines or None)] of a ```sql block."""
    out, buf, start, expected = [], "", None, None
    lines = block.lines
    for n, line in enumerate(lines):
        lineno = block.line + 1 + n
        if expected is not None:
            if line.startswith("--  ") and expected:
                expected[-1] += line[4:]
                continue
            if line.startswith("-- ") or line == "--":
                expected.append(line[3:])
                continue
            expected = None
        if not buf and (line.startswith(".") or not line.strip() or line.startswith("--")):
            continue
        if not buf:
            start = lineno
        buf += line + "\n"
        if sqlite3.complete_statement(buf):
            expected = []
            out.append([start, buf.strip(), expected])
            buf = ""
    if buf.strip():
        raise AssertionError(f"{block.path}:{start}: incomplete statement {buf.strip()[:60]!r}")
    return [(line, sql, exp if exp else None) for line, sql, exp in out]


# --- running ------------------------------------------------------------------------

def value_text(v, null=""):
    """A value as the sqlite3 shell's list mode prints it."""
    if v is None:
        return null
    if isinstance(v, float):
        s = format(v, ".15g")
        return s if any(c in s for c in ".eni") else s + ".0"
    if isinstance(v, bytes):
        return v.decode("utf-8", errors="replace")
    return str(v)


def readfile(path):
    """The sqlite3 shell's readfile(), relative to the repository root."""
    try:
        with open(os.path.join(ROOT, path), "rb") as f:
            return f.read()
    except OSError:
        return None


def connect(path=":memory:"):
    db = sqlite3.connect(path, isolation_level=None)
    db.enable_load_extension(True)
    db.load_extension(EXT)
    db.enable_load_extension(False)
    db.create_function("readfile", 1, readfile)
    return db


def matches(expected, actual):
    """Expected lines (with `...` rows and `…` inside rows) against actual lines."""
    pattern = ""
    for e in expected:
        if e.strip() == "...":
            pattern += r"(?:[^\n]*\n)*?"
        else:
            pattern += re.escape(e.rstrip()).replace("…", r"[^\n]*") + r"\n"
    return re.fullmatch(pattern, "".join(a.rstrip() + "\n" for a in actual)) is not None


class DemoCatalog:
    path = None

    @classmethod
    def get(cls):
        if cls.path is None:
            if not os.path.exists(GEN):
                msg = f"{os.path.relpath(GEN, ROOT)} is not built (make test builds it)"
                if CI:
                    raise AssertionError(msg)
                raise unittest.SkipTest(msg)
            cls.tmp = tempfile.mkdtemp(prefix="otelcat-doctest-")
            cls.path = os.path.join(cls.tmp, "demo.db")
            subprocess.run([SYSPY, os.path.join(ROOT, "tools", "demo.py"), "--db", cls.path], check=True,
                           stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)
        return cls.path


def tearDownModule():
    if DemoCatalog.path:
        shutil.rmtree(DemoCatalog.tmp, ignore_errors=True)


class TestDocExamples(unittest.TestCase):
    def run_file(self, path):
        found, file_directives = blocks(path)
        demo = any(d.split()[1:] == ["demo"] for d in file_directives)
        if demo:
            db = sqlite3.connect(f"file:{DemoCatalog.get()}?mode=ro", uri=True, isolation_level=None)
            db.enable_load_extension(True)
            db.load_extension(EXT)
        else:
            db = connect()
        checked, problems = 0, []
        for block in found:
            if block.lang != "sql" or (block.directive or "").startswith("skip"):
                continue
            stmts = statements(block)
            last_rows, last_cols = None, None
            for line, sql, expected in stmts:
                where = f"{path}:{line}"
                try:
                    cur = db.execute(sql)
                    rows = cur.fetchall()
                    cols = [d[0] for d in cur.description] if cur.description else []
                    got = ["|".join(value_text(v) for v in r) for r in rows]
                except sqlite3.Error as e:
                    got = [f"error: {e}"]
                    rows, cols = None, None
                    if expected is None:
                        problems.append(f"{where}: {sql[:80]!r} failed: {e} (show `-- error: {e}` under it if intended)")
                if expected is not None:
                    checked += 1
                    if not matches(expected, got):
                        problems.append(f"{where}: {sql[:200]!r}\n  the docs show:\n    " + "\n    ".join(expected)
                                        + "\n  the extension gives:\n    " + "\n    ".join(got))
                last_rows, last_cols = rows, cols
            if block.table is not None:
                checked += 1
                header, table = block.table
                where = f"{path}:{block.line}"
                got = [[value_text(v, "NULL") for v in r] for r in (last_rows or [])]
                if header != last_cols or table != got:
                    problems.append(f"{where}: the table under the query differs from its result (make cookbook "
                                    f"rewrites docs/cookbook.md)\n  the docs show:\n    {header}\n    "
                                    + "\n    ".join(map(str, table)) + f"\n  the extension gives:\n    {last_cols}\n    "
                                    + "\n    ".join(map(str, got)))
            if block.json is not None:
                checked += 1
                if not last_rows or json.loads(block.json) != json.loads(last_rows[0][0]):
                    problems.append(f"{path}:{block.line}: the JSON under the query differs from its result")
        db.close()
        self.assertEqual(problems, [], "\n" + "\n\n".join(problems))
        return checked

    def test_readme(self):
        self.assertGreaterEqual(self.run_file("README.md"), 5)

    def test_functions(self):
        self.assertGreaterEqual(self.run_file("docs/functions.md"), 20)

    def test_cookbook(self):
        self.assertEqual(self.run_file("docs/cookbook.md"), 32)

    def test_catalog(self):
        self.run_file("docs/catalog.md")

    def test_every_sql_block_of_the_checked_files_is_run_or_says_why_not(self):
        for path in CHECKED:
            for block in blocks(path)[0]:
                if block.lang == "sql" and block.directive:
                    self.assertRegex(block.directive, r"^skip \S", f"{path}:{block.line}: a skip needs a reason")

    def test_the_convention_catches_a_wrong_result(self):
        """The checker itself: a wrong number, a missing row, an unexpected error fail."""
        db = connect()
        rows = lambda sql: ["|".join(value_text(v) for v in r) for r in db.execute(sql)]
        self.assertTrue(matches(["1|a|"], rows("SELECT 1, 'a', NULL")))
        self.assertFalse(matches(["2|a|"], rows("SELECT 1, 'a', NULL")))
        self.assertTrue(matches(["1", "...", "5"], rows("SELECT value FROM json_each('[1,2,3,4,5]')")))
        self.assertFalse(matches(["1", "...", "4"], rows("SELECT value FROM json_each('[1,2,3,4,5]')")))
        self.assertTrue(matches(["Version: v…"], rows("SELECT 'Version: v0.2.0'")))
        self.assertEqual(value_text(100.0), "100.0")
        self.assertEqual(value_text(1.5e-07), "1.5e-07")
        b = Block("x.md", 1, "sql", ["SELECT 1;", "-- 1", "", "-- prose", "SELECT '{\"a\":1,';", "-- {\"a\":1,",
                                    "--  \"b\":2}", "SELECT 2; -- not a result"], None)
        self.assertEqual(statements(b), [(2, "SELECT 1;", ["1"]), (6, "SELECT '{\"a\":1,';", ['{"a":1,"b":2}']),
                                         (9, "SELECT 2; -- not a result", None)])


# --- links --------------------------------------------------------------------------

def slug(heading):
    """GitHub's anchor for a heading."""
    s = heading.strip().lower()
    s = re.sub(r"[^\w\- ]", "", s)
    return s.replace(" ", "-")


def markdown_files():
    skip = {".git", "node_modules", "target", "build", ".venv", "dist", "vendor", "bench"}
    for dirpath, dirnames, filenames in os.walk(ROOT):
        dirnames[:] = [d for d in dirnames if d not in skip and not d.startswith(".")]
        for name in filenames:
            if name.endswith(".md"):
                yield os.path.relpath(os.path.join(dirpath, name), ROOT)


def anchors(path):
    with open(os.path.join(ROOT, path), encoding="utf-8") as f:
        text = re.sub(r"```.*?```", "", f.read(), flags=re.S)
    seen, out = {}, set()
    for m in re.finditer(r"^#{1,6}\s+(.*?)\s*#*\s*$", text, re.M):
        base = slug(m.group(1))
        n = seen.get(base, 0)
        out.add(base if n == 0 else f"{base}-{n}")
        seen[base] = n + 1
    return out


class TestDocLinks(unittest.TestCase):
    def test_every_link_between_docs_resolves(self):
        bad = []
        for path in sorted(markdown_files()):
            with open(os.path.join(ROOT, path), encoding="utf-8") as f:
                text = re.sub(r"```.*?```", "", f.read(), flags=re.S)
            text = re.sub(r"`[^`\n]*`", "", text)
            for m in re.finditer(r"\]\(([^)\s]+)\)", text):
                target = m.group(1)
                if re.match(r"^[a-z]+:", target):
                    continue
                file_part, _, anchor = target.partition("#")
                full = os.path.normpath(os.path.join(ROOT, os.path.dirname(path), file_part)) if file_part \
                    else os.path.join(ROOT, path)
                if not os.path.exists(full):
                    bad.append(f"{path}: {target} (no such file)")
                elif anchor and full.endswith(".md") and anchor not in anchors(os.path.relpath(full, ROOT)):
                    bad.append(f"{path}: {target} (no such heading)")
        self.assertEqual(bad, [])

    def test_the_checker_sees_a_broken_anchor(self):
        self.assertIn("log-templates-make-bench-drain", anchors("docs/BENCHMARKS.md"))
        self.assertNotIn("no-such-section", anchors("docs/BENCHMARKS.md"))
        self.assertEqual(slug("4. Drain models"), "4-drain-models")
        self.assertEqual(slug("Ingest (`make bench-ingest`)"), "ingest-make-bench-ingest")


if __name__ == "__main__":
    unittest.main()
