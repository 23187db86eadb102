"""Merges other catalog files into one (examples/merge.sql): counts add up,
sketches merge with hll_merge (cardinalities of the union of the values),
sample lists with json_samples_merge, times take the earliest first_seen and
the latest last_seen; log templates and span-name patterns merge by text.

All or nothing: every source is merged in one transaction, and a statement
that fails rolls the whole merge back (exit 2, nothing written). The target
is created (with the catalog schema) when it does not exist. At most 9
sources per run (SQLite attaches at most 10 databases).
"""
import os
import re
import sqlite3

from ._common import UsageError, check_catalog, data_path, has_catalog_tables, open_catalog

MAX_SOURCES = 9


def add_arguments(p):
    p.add_argument("--db", required=True, metavar="TARGET", help="the catalog to merge into (created when missing)")
    p.add_argument("sources", nargs="+", metavar="SOURCE", help="catalog files to merge into TARGET")


def statements(sql):
    """The statements of a script, in order (comments, the sqlite3 shell's
    dot-commands such as .bail on, and BEGIN/COMMIT dropped)."""
    out, buf = [], ""
    for line in sql.splitlines(keepends=True):
        if not buf and (not line.strip() or line.lstrip().startswith(("--", "."))):
            continue
        buf += line
        if sqlite3.complete_statement(buf):
            stmt = buf.strip()
            if stmt.rstrip(";").strip().upper() not in ("BEGIN", "COMMIT"):
                out.append(stmt)
            buf = ""
    if buf.strip():
        raise ValueError(f"incomplete statement at the end of the script: {buf.strip()[:60]}")
    return out


# Views of the target over the table that stores their rows.
STORED_AS = {"metric_keys": "metric_key_rows", "span_keys": "span_key_rows", "log_keys": "log_key_rows",
             "log_body_templates": "log_body_template_rows"}


def widened(db, schema, table):
    """What the merge reads for `schema`.`table`: the table itself, or, when
    it lacks columns the target's table has (a catalog of an older version),
    a temporary view adding them with their default values."""
    quote = lambda name: '"' + name.replace('"', '""') + '"'
    cols = [r[1] for r in db.execute(f"SELECT * FROM pragma_table_info(?, ?)", (table, schema))]
    target = db.execute("SELECT name, dflt_value FROM pragma_table_info(?, 'main')", (table,)).fetchall()
    # A view of the target (metric_keys over metric_key_rows, schema version
    # 3) has no defaults: its table's are the ones the merge writes.
    stored = STORED_AS.get(table)
    if stored:
        defaults = dict(db.execute("SELECT name, dflt_value FROM pragma_table_info(?, 'main')", (stored,)).fetchall())
        target = [(c, defaults.get(c, d)) for c, d in target]
    missing = [(c, d) for c, d in target if c not in cols]
    if not missing or not cols:
        return f"{schema}.{quote(table)}"
    view = quote(f"{schema}_{table}")
    extra = ", ".join(f"{d if d is not None else 'NULL'} AS {quote(c)}" for c, d in missing)
    db.execute(f"DROP VIEW IF EXISTS temp.{view}")
    db.execute(f"CREATE TEMP VIEW {view} AS SELECT *, {extra} FROM {schema}.{quote(table)}")
    return f"temp.{view}"


def create_schema(db):
    """The catalog schema, as otlp_ingest creates it on first use."""
    db.execute("BEGIN IMMEDIATE")
    db.execute("""INSERT INTO otlp_ingest(payload) VALUES ('{"resourceSpans": []}')""")
    db.execute("COMMIT")


def run(args):
    if len(args.sources) > MAX_SOURCES:
        raise UsageError(f"at most {MAX_SOURCES} sources per merge (SQLite attaches at most 10 databases); "
                         "merge in several runs")
    target = os.path.abspath(args.db)
    for s in args.sources:
        if not os.path.isfile(s):
            raise UsageError(f"no such catalog: {s}")
        if os.path.abspath(s) == target:
            raise UsageError(f"{s} is the target itself")
    with open(data_path("merge.sql"), encoding="utf-8") as f:
        script = statements(f.read())
    existed = os.path.isfile(args.db)
    db = open_catalog(args.db, readonly=False, must_exist=False)
    if existed and not has_catalog_tables(db):
        check_catalog(db, args.db)          # raises: an existing file must be a catalog already
    for i, s in enumerate(args.sources):
        db.execute(f"ATTACH DATABASE ? AS src{i}", (f"file:{os.path.abspath(s)}?mode=ro",))
        check_catalog(db, s, schema=f"src{i}")
    # Creates the target's catalog, or upgrades one written by an older version.
    try:
        create_schema(db)
    except sqlite3.Error as e:
        raise UsageError(f"{args.db}: {e}") from None
    db.execute("BEGIN IMMEDIATE")
    try:
        for i, s in enumerate(args.sources):
            # A source written by an older version lacks the tables added
            # since: there is nothing of theirs to merge.
            has = {r[0] for r in db.execute(f"SELECT name FROM src{i}.sqlite_master WHERE type IN ('table', 'view')")}
            # ... and the columns added since (the shape of metrics, bytes of
            # keys, ...): read as their defaults (NULL: unknown; 0; '{}').
            tables = {t: widened(db, f"src{i}", t) for t in has}
            for n, stmt in enumerate(script, 1):
                if any(t not in has for t in re.findall(r"\bother\.(\w+)", stmt)):
                    continue
                try:
                    db.execute(re.sub(r"\bother\.(\w+)", lambda m: tables[m.group(1)], stmt))
                except sqlite3.Error as e:
                    first = " ".join(stmt.split())[:70]
                    raise UsageError(f"merging {s} failed at statement {n} of merge.sql ({first}…): "
                                     f"{' '.join(str(e).split())}; nothing was written") from None
        db.execute("COMMIT")
    except BaseException:
        if db.in_transaction:
            db.execute("ROLLBACK")
        if not existed:
            db.close()
            for suffix in ("", "-wal", "-shm", "-journal"):
                if os.path.exists(args.db + suffix):
                    os.remove(args.db + suffix)
        raise
    q = lambda sql: db.execute(sql).fetchone()[0]
    print(f"otelcat merge: {len(args.sources)} catalog(s) merged into {args.db}: "
          f"{q('SELECT count(*) FROM metrics'):,} metrics, {q('SELECT count(*) FROM spans'):,} span names, "
          f"{q('SELECT count(*) FROM logs'):,} log severities")
    return 0
