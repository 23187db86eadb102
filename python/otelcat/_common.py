"""What the subcommands share: opening catalogs, errors that exit 2, tables."""
import json
import os
import re
import sqlite3

from . import load

CATALOG_TABLES = ("metrics", "spans", "logs")


class UsageError(Exception):
    """A usage or input error: the command prints `otelcat CMD: <message>` and exits 2."""


def data_path(name):
    """A file the wheel carries in otelcat/data/ (merge.sql, diff.sql,
    datasette-metadata.yml); from a source checkout, the repository's copy."""
    here = os.path.dirname(os.path.abspath(__file__))
    packaged = os.path.join(here, "data", name)
    if os.path.exists(packaged):
        return packaged
    root = os.path.dirname(os.path.dirname(here))
    source = {"merge.sql": "examples/merge.sql", "diff.sql": "examples/diff.sql",
              "views.sql": "sql/views.sql", "datasette-metadata.yml": "examples/datasette/metadata.yml"}[name]
    return os.path.join(root, source)


def has_catalog_tables(db, schema="main"):
    names = {r[0] for r in db.execute(f"SELECT name FROM {schema}.sqlite_master WHERE type = 'table'")}
    return all(t in names for t in CATALOG_TABLES)


def check_catalog(db, path, schema="main"):
    """UsageError unless the database `schema` of `db` is an otelcat catalog."""
    try:
        ok = has_catalog_tables(db, schema)
    except sqlite3.DatabaseError as e:
        raise UsageError(f"{path} is not an SQLite database ({e})") from None
    if not ok:
        raise UsageError(f"{path} is not an otelcat catalog (no metrics, spans and logs tables): "
                         "`otelcat ingest --db FILE ...` creates one")


def open_catalog(path, readonly=True, extension=True, must_exist=True):
    """A connection (autocommit) to the catalog at `path`, with otelcat loaded.
    Read-only ones can never write the file."""
    if must_exist and not os.path.isfile(path):
        raise UsageError(f"no such catalog: {path}")
    if readonly:
        from urllib.parse import quote
        db = sqlite3.connect(f"file:{quote(os.path.abspath(path))}?mode=ro", uri=True, isolation_level=None)
    else:
        db = sqlite3.connect(path, isolation_level=None)
    db.execute("PRAGMA busy_timeout = 10000")
    if extension:
        load(db)
    if must_exist:
        check_catalog(db, path)
    return db


def view_statements():
    """[(view name, CREATE VIEW statement)] of sql/views.sql, in order."""
    import re
    import sqlite3 as _sqlite3
    with open(data_path("views.sql"), encoding="utf-8") as f:
        lines = f.read().splitlines(keepends=True)
    out, stmt = [], ""
    for line in lines:
        stmt += line
        if _sqlite3.complete_statement(stmt):
            m = re.search(r"^CREATE VIEW IF NOT EXISTS (\w+)", stmt, re.M)
            if m:
                out.append((m.group(1), stmt[m.start():].strip()))
            stmt = ""
    return out


def ensure_views(db, names=None):
    """Makes the views of this version's sql/views.sql (or those in `names`)
    usable on `db` when its catalog lacks them (a catalog written by an
    older version): they become TEMP views of this connection, which works
    on read-only connections too and never changes the file. Views the
    catalog has are left as they are. Returns the names created."""
    have = {r[0] for r in db.execute("SELECT name FROM main.sqlite_master WHERE type IN ('view', 'table')")}
    have |= {r[0] for r in db.execute("SELECT name FROM temp.sqlite_master WHERE type = 'view'")}
    made = []
    for name, sql in view_statements():
        if name in have or (names is not None and name not in names):
            continue
        db.execute(sql.replace("CREATE VIEW IF NOT EXISTS", "CREATE TEMP VIEW IF NOT EXISTS", 1))
        # A view over columns or tables the older catalog lacks (of schema
        # version 3: the metric shape, span status, per-service keys, record
        # bytes, log_body_template_rows) cannot run on it: left out.
        try:
            db.execute(f"SELECT * FROM temp.{name} LIMIT 0")
        except sqlite3.OperationalError as e:
            if "no such column" in str(e) or "no such table" in str(e):
                db.execute(f"DROP VIEW temp.{name}")
                continue
        made.append(name)
    return made


def text(v):
    """A value as one line of text (NULL as empty)."""
    if v is None:
        return ""
    if isinstance(v, bool):
        return str(v).lower()
    if isinstance(v, int):
        return f"{v:,}"
    if isinstance(v, float):
        return f"{v:,.1f}"
    if isinstance(v, bytes):
        return f"<{len(v)} bytes>"
    return " ".join(str(v).split()) if ("\n" in str(v) or "\t" in str(v) or "\r" in str(v)) else str(v)


def is_number(v):
    return isinstance(v, (int, float)) and not isinstance(v, bool)


def render_table(rows, headers, fmt="text", indent="  "):
    """Rows as aligned text columns (numbers right-aligned) or a Markdown
    table; never truncated."""
    cells = [[text(v) for v in r] for r in rows]
    if fmt == "markdown":
        esc = lambda s: s.replace("|", "\\|")
        out = ["| " + " | ".join(headers) + " |",
               "| " + " | ".join("---:" if rows and is_number(rows[0][i]) else "---" for i in range(len(headers))) + " |"]
        out += ["| " + " | ".join(esc(c) for c in r) + " |" for r in cells]
        return "\n".join(out)
    widths = [max([len(h)] + [len(r[i]) for r in cells]) for i, h in enumerate(headers)]
    numeric = [bool(rows) and all(is_number(r[i]) or r[i] is None for r in rows) for i in range(len(headers))]
    line = lambda vals: indent + "  ".join(v.rjust(w) if num else v.ljust(w)
                                          for v, w, num in zip(vals, widths, numeric)).rstrip()
    out = [line(headers), indent + "  ".join("-" * w for w in widths)]
    out += [line(r) for r in cells]
    if not rows:
        out.append(indent + "(none)")
    return "\n".join(out)


def dumps(obj):
    return json.dumps(obj, indent=2, ensure_ascii=False)
