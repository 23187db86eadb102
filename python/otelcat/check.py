"""A CI gate on a catalog built from your tests' telemetry: exits 1 and lists
the offending keys when an attribute key's estimated cardinality exceeds
--max-cardinality, or, with --allow FILE, when a key's name matches no line
of FILE (one key name or SQLite GLOB pattern per line, such as http.* ;
blank lines and lines starting with # are ignored). Exits 0 when all is
well, 2 on a usage or input error (a missing file, a file that is not a
catalog, a bad option value).
"""
import argparse
import os

from ._common import UsageError, dumps, open_catalog, render_table


def cardinality(text):
    try:
        n = int(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"needs a whole number, got {text!r}") from None
    if n < 0:
        raise argparse.ArgumentTypeError(f"needs a number >= 0, got {n}")
    return n


def add_arguments(p):
    p.add_argument("--db", required=True, metavar="CATALOG", help="the catalog file (opened read-only)")
    p.add_argument("--max-cardinality", type=cardinality, default=1000, metavar="N",
                   help="largest estimated cardinality a key may have (default 1000)")
    p.add_argument("--allow", metavar="FILE", help="allow-list: key names or GLOB patterns, one a line")
    p.add_argument("--format", choices=("text", "json"), default="text", help="output format (default text)")


def read_allow(path):
    if not os.path.isfile(path):
        raise UsageError(f"no such allow-list: {path}")
    try:
        with open(path, encoding="utf-8") as f:
            lines = [line.strip() for line in f]
    except UnicodeDecodeError as e:
        raise UsageError(f"{path} is not UTF-8 text ({e.reason} at byte {e.start})") from None
    return [line for line in lines if line and not line.startswith("#")]


SQL = """
WITH keys(signal, entity, scope, key_name, card) AS (
  SELECT 'metrics', metric_name, key_scope, key_name, estimated_cardinality FROM metric_keys
  UNION ALL SELECT 'spans', span_name, key_scope || iif(event_name <> '', '@' || event_name, ''), key_name,
                   estimated_cardinality FROM span_keys
  UNION ALL SELECT 'logs', severity, key_scope, key_name, estimated_cardinality FROM log_keys),
allowed(p) AS (SELECT value FROM json_each(:patterns))
SELECT 'cardinality ' || card || ' > ' || :max AS problem, signal, entity, scope, key_name, card FROM keys WHERE card > :max
UNION ALL
SELECT 'not in allow-list', signal, entity, scope, key_name, card FROM keys
  WHERE :check_allow AND NOT EXISTS (SELECT 1 FROM allowed WHERE key_name GLOB p)
ORDER BY 1, 2, 3, 4, 5"""


def run(args):
    import json
    patterns = read_allow(args.allow) if args.allow else []
    db = open_catalog(args.db, readonly=True, extension=False)
    rows = db.execute(SQL, {"patterns": json.dumps(patterns), "max": args.max_cardinality,
                            "check_allow": 1 if args.allow else 0}).fetchall()
    if args.format == "json":
        print(dumps({"catalog": args.db, "max_cardinality": args.max_cardinality, "allow": args.allow, "ok": not rows,
                     "offenders": [dict(zip(("problem", "signal", "entity", "scope", "key", "estimated_cardinality"), r))
                                   for r in rows]}))
    elif rows:
        print(f"otelcat check: {len(rows)} offending key(s) in {args.db}:")
        print(render_table(rows, ["problem", "signal", "entity", "scope", "key", "~distinct"], indent=""))
    else:
        print(f"otelcat check: ok ({args.db}: no key above cardinality {args.max_cardinality}"
              f"{', every key allowed by ' + args.allow if args.allow else ''})")
    return 1 if rows else 0
