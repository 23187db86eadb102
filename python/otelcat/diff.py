"""What changed between two catalog files (examples/diff.sql): new and
vanished metrics, span names, log severities, keys and log templates, and
keys whose estimated cardinality grew by more than --factor. Exits 1 when
anything changed (like diff), 0 when nothing did, 2 on an input error. Both
files are opened read-only.
"""
from ._common import UsageError, check_catalog, data_path, dumps, open_catalog, render_table
from .merge import statements

HEADERS = ["change", "signal", "entity", "item", "old", "new"]


def add_arguments(p):
    p.add_argument("old", metavar="OLD", help="the earlier catalog")
    p.add_argument("new", metavar="NEW", help="the later catalog")
    p.add_argument("--factor", type=float, default=2.0,
                   help="report keys whose estimated cardinality grew more than this many times (default 2)")
    p.add_argument("--format", choices=("text", "json"), default="text", help="output format (default text)")


# Columns diff.sql reads that catalogs of older schema versions lack, with
# what they read as there (nothing to compare), per table.
ADDED = {"bytes": "0", "value_types": "'{}'"}
SERVICE_ADDED = {"bytes": "0"}
WIDENED = {"metric_keys": ADDED, "span_keys": ADDED, "log_keys": ADDED, "metric_services": SERVICE_ADDED,
           "span_services": SERVICE_ADDED, "log_services": SERVICE_ADDED}


def widen_old_keys(db, sql):
    """diff.sql with the key and service tables of a file that lacks the
    columns of WIDENED read through a temporary view that adds them."""
    for schema in ("main", "old"):
        for table, added in WIDENED.items():
            cols = {r[1] for r in db.execute("SELECT * FROM pragma_table_info(?, ?)", (table, schema))}
            missing = [c for c in added if c not in cols]
            if cols and missing:
                view = f"diff_{schema}_{table}"
                extra = ", ".join(f"{added[c]} AS {c}" for c in missing)
                db.execute(f"CREATE TEMP VIEW IF NOT EXISTS {view} AS SELECT *, {extra} FROM {schema}.{table}")
                sql = sql.replace(f"{schema}.{table}", f"temp.{view}")
    return sql


def run(args):
    import os
    if args.factor <= 0:
        raise UsageError("--factor must be greater than 0")
    if not os.path.isfile(args.old):
        raise UsageError(f"no such catalog: {args.old}")
    db = open_catalog(args.new, readonly=True, extension=False)
    db.execute("ATTACH DATABASE ? AS old", (f"file:{os.path.abspath(args.old)}?mode=ro",))
    check_catalog(db, args.old, schema="old")
    with open(data_path("diff.sql"), encoding="utf-8") as f:
        (sql,) = statements(f.read())
    sql = widen_old_keys(db, sql)
    rows = db.execute(sql, {"factor": args.factor}).fetchall()
    if args.format == "json":
        print(dumps({"old": args.old, "new": args.new, "factor": args.factor,
                     "changes": [dict(zip(HEADERS, r)) for r in rows]}))
    elif rows:
        print(f"otelcat diff: {len(rows)} change(s) from {args.old} to {args.new}:")
        print(render_table(rows, HEADERS, indent=""))
    else:
        print(f"otelcat diff: no changes from {args.old} to {args.new}")
    return 1 if rows else 0
