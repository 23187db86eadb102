"""A CI gate on a catalog built from your tests' telemetry: exits 1 and lists
the offending keys when an attribute key's estimated cardinality exceeds
--max-cardinality, or, with --allow FILE, when a key's name matches no line
of FILE (one key name or SQLite GLOB pattern per line, such as http.* ;
blank lines and lines starting with # are ignored).

--semconv also checks the catalog against the OpenTelemetry semantic
conventions the extension embeds (the semconv_* views, docs/catalog.md):
it fails on deprecated keys in use, values of another type than their
key's (by the key's value_types; judged from sample values where those are
unknown), and required attributes missing on convention spans, metrics and span
events; it reports as warnings (without failing) values outside an enum,
metrics whose unit or instrument disagrees or whose name is deprecated,
unknown keys in convention namespaces, spellings of one key, and missing
recommended attributes. --semconv-allow FILE exempts keys (names or GLOB
patterns, one a line, matched against the deprecated, mistyped or missing
key) from both.

Exits 0 when all is well, 2 on a usage or input error (a missing file, a
file that is not a catalog, a bad option value).
"""
import argparse
import json
import os

from ._common import UsageError, dumps, ensure_views, open_catalog, render_table


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
    p.add_argument("--semconv", action="store_true",
                   help="also check the OpenTelemetry semantic conventions (deprecated keys, mistyped values, "
                        "missing required attributes)")
    p.add_argument("--semconv-allow", metavar="FILE",
                   help="keys (names or GLOB patterns, one a line) the semantic-convention checks accept")
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

# Semantic-convention findings: (problem, signal, entity, scope, key, detail,
# services, fails). `fails` findings make the check exit 1; the others are
# warnings. Every view is in sql/views.sql. {counted}: see semconv_query.
SEMCONV_SQL = """
WITH allowed(p) AS (SELECT value FROM json_each(:allow)),
f(problem, signal, entity, scope, key, detail, services, fails) AS (
  SELECT 'deprecated key', signal, entity, key_scope || iif(event_name <> '', '@' || event_name, ''), key_name,
         coalesce('use ' || replacement, reason || coalesce(': ' || note, '')), services, 1
  FROM semconv_deprecated_keys
  UNION ALL
  SELECT iif(problem = 'type', 'type mismatch', 'value not in enum'), signal, entity,
         key_scope || iif(event_name <> '', '@' || event_name, ''), key_name,
         iif(problem = 'type', 'expected ' || expected_type || ', got ' || observed_types || {counted} || ': ', 'values ')
           || samples,
         services, problem = 'type'
  FROM semconv_type_mismatches
  UNION ALL
  SELECT 'missing ' || requirement_level || ' attribute', signal, entity,
         CASE WHEN event_name <> '' THEN 'event@' || event_name WHEN signal = 'metrics' THEN 'label' ELSE 'attribute' END,
         attribute, convention || coalesce(' (sent as ' || sent_as || ')', ''), services, requirement_level = 'required'
  FROM semconv_missing_attributes
  UNION ALL
  SELECT 'metric ' || problem, 'metrics', metric_name, '', metric_name,
         iif(problem = 'deprecated', 'use ', 'expected ') || coalesce(expected, '') || iif(problem = 'deprecated', '', ', got ' || coalesce(observed, '')),
         services, 0
  FROM semconv_metric_mismatches
  UNION ALL
  SELECT 'unknown key', signals, '', namespace || '.*', key_name, 'nearest ' || nearest, NULL, 0 FROM semconv_unknown_keys
  UNION ALL
  SELECT 'spelling of ' || form, '', '', '', key_name, iif(convention, 'the convention''s spelling', coalesce('use ' || convention_key, 'several spellings')),
         NULL, 0
  FROM semconv_similar_keys WHERE NOT convention)
SELECT problem, signal, entity, scope, key, detail, services, fails FROM f
WHERE NOT EXISTS (SELECT 1 FROM allowed WHERE key GLOB p)
ORDER BY fails DESC, problem, key, signal, entity, scope"""

SEMCONV_VIEWS = ("semconv_deprecated_keys", "semconv_type_mismatches", "semconv_missing_attributes",
                 "semconv_metric_mismatches", "semconv_unknown_keys", "semconv_similar_keys")
FINDING_KEYS = ("problem", "signal", "entity", "scope", "key", "detail", "services")


# The records of the other types, from semconv_type_mismatches.type_counts:
# " (3 of 10 records)". A catalog that keeps the view of an earlier version
# (say 0.2.0's, opened read-only) has no such column: nothing is added.
COUNTED = "coalesce(' (' || (SELECT sum(value) FROM json_each(type_counts)) || ' of ' || key_count || ' records)', '')"


def semconv_query(db):
    """SEMCONV_SQL for the semconv_type_mismatches view `db` has."""
    columns = {r[1] for r in db.execute("PRAGMA table_info(semconv_type_mismatches)")}
    return SEMCONV_SQL.replace("{counted}", COUNTED if "type_counts" in columns else "''")


def semconv_findings(db, allow):
    """(semconv version, failing findings, warnings), each a list of dicts."""
    ensure_views(db, SEMCONV_VIEWS)
    version = db.execute("SELECT semconv_version FROM semconv_attributes LIMIT 1").fetchone()[0]
    rows = db.execute(semconv_query(db), {"allow": json.dumps(allow)}).fetchall()
    fails = [dict(zip(FINDING_KEYS, r[:7])) for r in rows if r[7]]
    warnings = [dict(zip(FINDING_KEYS, r[:7])) for r in rows if not r[7]]
    return version, fails, warnings


def warning_counts(warnings):
    counts = {}
    for w in warnings:
        kind = "spelling of a key" if w["problem"].startswith("spelling of ") else w["problem"]
        counts[kind] = counts.get(kind, 0) + 1
    return counts


def run(args):
    patterns = read_allow(args.allow) if args.allow else []
    if args.semconv_allow and not args.semconv:
        raise UsageError("--semconv-allow needs --semconv")
    semconv_allow = read_allow(args.semconv_allow) if args.semconv_allow else []
    db = open_catalog(args.db, readonly=True, extension=args.semconv)
    rows = db.execute(SQL, {"patterns": json.dumps(patterns), "max": args.max_cardinality,
                            "check_allow": 1 if args.allow else 0}).fetchall()
    version, fails, warnings = semconv_findings(db, semconv_allow) if args.semconv else (None, [], [])
    ok = not rows and not fails
    if args.format == "json":
        report = {"catalog": args.db, "max_cardinality": args.max_cardinality, "allow": args.allow, "ok": ok,
                  "offenders": [dict(zip(("problem", "signal", "entity", "scope", "key", "estimated_cardinality"), r))
                                for r in rows]}
        if args.semconv:
            report["semconv"] = {"version": version, "allow": args.semconv_allow, "ok": not fails,
                                 "findings": fails, "warnings": warnings,
                                 "warning_counts": warning_counts(warnings)}
        print(dumps(report))
        return 0 if ok else 1
    if rows:
        print(f"otelcat check: {len(rows)} offending key(s) in {args.db}:")
        print(render_table(rows, ["problem", "signal", "entity", "scope", "key", "~distinct"], indent=""))
    if fails:
        if rows:
            print()
        print(f"otelcat check: {len(fails)} semantic-convention violation(s) in {args.db} "
              f"(OpenTelemetry semantic conventions {version}):")
        print(render_table([[f[k] for k in FINDING_KEYS] for f in fails], list(FINDING_KEYS), indent=""))
    if ok:
        print(f"otelcat check: ok ({args.db}: no key above cardinality {args.max_cardinality}"
              f"{', every key allowed by ' + args.allow if args.allow else ''}"
              f"{', no semantic-convention violation (' + version + ')' if args.semconv else ''})")
    if args.semconv and warnings:
        summary = ", ".join(f"{n} {kind}" for kind, n in sorted(warning_counts(warnings).items()))
        print(f"semantic-convention warnings (not failing; --format json lists them): {summary}")
    return 0 if ok else 1
