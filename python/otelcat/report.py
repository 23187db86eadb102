"""What a catalog holds, as a report: the highest-cardinality attribute keys
per signal, services by bytes, log event names, the instrumentation scopes
that send the most records, metrics by estimated active series, every
service by volume, span names that explode, the top log templates of the
busiest service and severity pairs, and errors by service.

The catalog is opened read-only: the report never changes it. Works on any
otelcat catalog (also ones written by earlier versions). --format json gives
the same sections as arrays of objects, markdown as Markdown tables.
"""
import json

from ._common import UsageError, dumps, open_catalog, render_table

# A span-name pattern is an explosion when at least this many distinct span
# names collapse into it (sql/views.sql, span_name_explosions, says the same).
EXPLOSION_MIN_NAMES = 10


def add_arguments(p):
    p.add_argument("--db", required=True, metavar="CATALOG", help="the catalog file (opened read-only)")
    p.add_argument("--format", choices=("text", "markdown", "json"), default="text", help="output format (default text)")
    p.add_argument("--limit", type=int, default=5, metavar="N",
                   help="rows per ranking: keys per signal, metrics, explosions, templates (default 5)")
    p.add_argument("--pairs", type=int, default=3, metavar="N",
                   help="busiest (service, severity) pairs whose top templates are shown (default 3)")


def samples_text(samples, n=3):
    """A sample list (JSON array) as plain text: the first n values, and how many more."""
    try:
        values = json.loads(samples) if samples else []
    except ValueError:
        return str(samples)
    if not isinstance(values, list):
        return str(samples)
    shown = ", ".join(v if isinstance(v, str) else json.dumps(v) for v in values[:n])
    return shown + (f" (+{len(values) - n} more)" if len(values) > n else "")


def severities_text(obj):
    """{"ERROR": 3, "INFO": 40} (a JSON object) as 'INFO 40, ERROR 3' (largest first)."""
    try:
        counts = json.loads(obj) if obj else {}
    except ValueError:
        return str(obj)
    return ", ".join(f"{k} {v:,}" for k, v in sorted(counts.items(), key=lambda kv: (-kv[1], kv[0])))


def sections(db, limit, pairs):
    """[(title, headers, keys, rows)] of the report, rows as tuples."""
    q = lambda sql, *params: db.execute(sql, params).fetchall()
    out = []
    for signal, entity in (("metrics", "metric"), ("spans", "span"), ("logs", "severity")):
        table = {"metrics": "metric_keys", "spans": "span_keys", "logs": "log_keys"}[signal]
        name = {"metrics": "metric_name", "spans": "span_name", "logs": "severity"}[signal]
        event = "iif(event_name <> '', key_scope || '@' || event_name, key_scope)" if signal == "spans" else "key_scope"
        # Which services send each key, with their cardinality (per-service
        # keys, schema version 3; an older catalog has none: left out).
        svc_table = table.replace("_keys", "_service_key_rows")
        has_svc = bool(q("SELECT 1 FROM sqlite_schema WHERE type = 'table' AND name = ?", svc_table))
        ev = " AND s.event_name = k.event_name" if signal == "spans" else ""
        services = (f"""(SELECT group_concat(service_name || ' ~' || estimated_cardinality, ', ') FROM
                          (SELECT s.service_name, s.estimated_cardinality FROM {svc_table} s
                           WHERE s.key_name = k.key_name AND s.{name} = k.{name} AND s.key_scope = k.key_scope{ev}
                           ORDER BY s.estimated_cardinality DESC, s.service_name LIMIT 3))""" if has_svc else "NULL")
        # The top N from the cardinality index of the stored key rows (schema
        # version 3: *_key_rows; ties in the order the keys were first
        # written, which the index holds), then shown ranked; sorting every
        # key tied on the N-th estimate would read them all (a catalog of
        # constant keys ties at 1 on every row).
        stored = table.replace("_keys", "_key_rows")
        pk = f"{name}, key_scope, key_name" + (", event_name" if signal == "spans" else "")
        top = (f" WHERE ({pk}) IN (SELECT {pk} FROM {stored} ORDER BY estimated_cardinality DESC, rowid LIMIT ?)"
               if q("SELECT 1 FROM sqlite_schema WHERE type = 'table' AND name = ?", stored) else "")
        rows = q(f"""SELECT {name}, {event}, key_name, estimated_cardinality, round(key_percentage, 1), value_samples,
                            {services}
                     FROM {table} k{top} ORDER BY estimated_cardinality DESC, key_count DESC, {name}, key_name LIMIT ?""",
                 *([limit] if top else []), limit)
        rows = [r[:5] + (samples_text(r[5]), r[6] or "") for r in rows]
        out.append((f"Highest-cardinality keys: {signal}",
                    [entity, "scope", "key", "~distinct", "present %", "samples", "services (~distinct)"],
                    [entity, "scope", "key", "estimated_cardinality", "present_pct", "samples", "services"], rows))
    if all("bytes" in {r[1] for r in q(f"PRAGMA table_info({t})")} for t in ("metric_keys", "span_keys", "log_keys")):
        # Catalogs of schema version 3 on: what each key costs on the wire.
        if q("SELECT 1 FROM sqlite_schema WHERE type = 'table' AND name = 'key_totals'"):
            # key_bytes reads the key totals kept at commit (docs/catalog.md "Key totals").
            rows = q("""SELECT signal, key_scope, key_name, bytes, bytes_per_record FROM key_bytes
                        WHERE bytes > 0 LIMIT ?""", limit)
        else:
            rows = q("""WITH k(signal, key_scope, key_name, key_count, bytes) AS (
                          SELECT 'metrics', key_scope, key_name, key_count, bytes FROM metric_keys
                          UNION ALL SELECT 'spans', key_scope, key_name, key_count, bytes FROM span_keys
                          UNION ALL SELECT 'logs', key_scope, key_name, key_count, bytes FROM log_keys)
                        SELECT signal, key_scope, key_name, sum(bytes) AS b, round(1.0 * sum(bytes) / max(sum(key_count), 1), 1)
                        FROM k GROUP BY signal, key_scope, key_name HAVING b > 0
                        ORDER BY b DESC, signal, key_scope, key_name LIMIT ?""", limit)
        out.append(("Attribute keys by bytes (OTLP protobuf)", ["signal", "scope", "key", "bytes", "bytes / record"],
                    ["signal", "scope", "key", "bytes", "bytes_per_record"], rows))
    if all("bytes" in {r[1] for r in q(f"PRAGMA table_info({t})")} for t in ("span_services", "log_services", "metric_services")):
        # Catalogs of schema version 3 on: what each service's records cost.
        rows = q("""SELECT signal, service_name, records, bytes, bytes_per_record FROM service_bytes
                    WHERE bytes > 0 LIMIT ?""", limit)
        out.append(("Services by bytes (OTLP protobuf)", ["signal", "service", "records", "bytes", "bytes / record"],
                    ["signal", "service", "records", "bytes", "bytes_per_record"], rows))
    if q("SELECT 1 FROM sqlite_schema WHERE type = 'table' AND name = 'log_events'"):
        # Log event names (schema version 3): who sends each, with which keys.
        rows = q("""SELECT e.event_name, e.total_sample_count, e.bytes,
                      (SELECT group_concat(service_name || ' ' || sample_count, ', ') FROM
                         (SELECT service_name, sample_count FROM log_event_services s WHERE s.event_name = e.event_name
                          ORDER BY sample_count DESC, service_name LIMIT 3)),
                      (SELECT group_concat(key_name, ', ') FROM
                         (SELECT key_name FROM log_event_key_rows k WHERE k.event_name = e.event_name
                          ORDER BY key_count DESC, key_name LIMIT 5))
                    FROM log_events e ORDER BY e.total_sample_count DESC, e.event_name LIMIT ?""", limit)
        out.append(("Log event names", ["event name", "records", "bytes", "services", "attribute keys"],
                    ["event_name", "records", "bytes", "services", "attribute_keys"],
                    [tuple("" if v is None else v for v in r) for r in rows]))
    if all(q("SELECT 1 FROM sqlite_schema WHERE type = 'table' AND name = ?", t) for t in ("metric_scopes", "span_scopes",
                                                                                      "log_scopes")):
        # Catalogs of schema version 3 on: which instrumentation libraries
        # (scope name and version) send what (docs/catalog.md "Instrumentation scopes").
        rows = q("""WITH c(signal, scope_name, scope_version, service_name, entity, records) AS (
                      SELECT 'metrics', scope_name, scope_version, service_name, metric_name, sample_count FROM metric_scopes
                      UNION ALL SELECT 'spans', scope_name, scope_version, service_name, span_name, sample_count FROM span_scopes
                      UNION ALL SELECT 'logs', scope_name, scope_version, service_name, severity, sample_count FROM log_scopes)
                    SELECT signal, scope_name, scope_version, count(DISTINCT service_name), count(DISTINCT entity),
                           sum(records) AS n
                    FROM c GROUP BY signal, scope_name, scope_version
                    ORDER BY n DESC, signal, scope_name, scope_version LIMIT ?""", limit)
        out.append(("Instrumentation scopes", ["signal", "scope", "version", "services", "entities", "records"],
                    ["signal", "scope", "version", "services", "entities", "records"], rows))
    # The series in Prometheus (docs/catalog.md "Metric shape"); a catalog
    # older than schema version 3 has no such column, and is read as it is.
    has_prom = any(r[1] == "estimated_prometheus_series" for r in q("PRAGMA table_info(metrics)"))
    prom = "estimated_prometheus_series" if has_prom else "NULL"
    rows = q(f"""SELECT name, type, estimated_active_series, {prom}, total_sample_count,
                  (SELECT group_concat(key_name || ' ~' || estimated_cardinality, ', ') FROM
                     (SELECT key_name, estimated_cardinality FROM metric_keys k WHERE k.metric_name = m.name
                      AND key_scope = 'label' ORDER BY estimated_cardinality DESC, key_name LIMIT 3))
                FROM metrics m ORDER BY estimated_active_series DESC, name LIMIT ?""", limit)
    out.append(("Metrics by estimated active series",
                ["metric", "type", "~series", "~Prometheus series", "points", "top labels (~distinct)"],
                ["metric", "type", "estimated_active_series", "estimated_prometheus_series", "data_points", "top_labels"],
                [tuple("" if v is None else v for v in r) for r in rows]))
    if q("SELECT 1 FROM sqlite_schema WHERE type = 'table' AND name = 'service_totals'"):
        # Schema version 3: the service totals (a row per service and signal,
        # kept at commit; docs/catalog.md "Service totals") instead of adding
        # up every service row of the catalog.
        rows = q("""WITH t(s, spans, points, logs, span_names, metrics) AS (
                      SELECT service_name, coalesce(sum(records) FILTER (WHERE signal = 'spans'), 0),
                             coalesce(sum(records) FILTER (WHERE signal = 'metrics'), 0),
                             coalesce(sum(records) FILTER (WHERE signal = 'logs'), 0),
                             coalesce(sum(entities) FILTER (WHERE signal = 'spans'), 0),
                             coalesce(sum(entities) FILTER (WHERE signal = 'metrics'), 0)
                      FROM service_totals GROUP BY service_name)
                    SELECT s, spans, points, logs, span_names, metrics,
                      (SELECT json_group_object(severity, sample_count) FROM log_services WHERE service_name = s)
                    FROM t ORDER BY spans + points + logs DESC, s""")
    else:
        rows = q("""WITH svc(s) AS (SELECT service_name FROM metric_services UNION SELECT service_name FROM span_services
                                     UNION SELECT service_name FROM log_services)
                    SELECT s,
                      (SELECT coalesce(sum(sample_count), 0) FROM span_services WHERE service_name = s) AS spans,
                      (SELECT coalesce(sum(sample_count), 0) FROM metric_services WHERE service_name = s) AS points,
                      (SELECT coalesce(sum(sample_count), 0) FROM log_services WHERE service_name = s) AS logs,
                      (SELECT count(*) FROM span_services WHERE service_name = s),
                      (SELECT count(*) FROM metric_services WHERE service_name = s),
                      (SELECT json_group_object(severity, sample_count) FROM log_services WHERE service_name = s)
                    FROM svc ORDER BY spans + points + logs DESC, s""")
    rows = [(r[0], r[1], r[2], r[3], r[1] + r[2] + r[3], r[4], r[5], severities_text(r[6])) for r in rows]
    out.append(("Services by volume (all)", ["service", "spans", "points", "logs", "total", "span names", "metrics",
                                             "logs by severity"],
                ["service", "spans", "data_points", "log_records", "total", "span_names", "metrics", "logs_by_severity"],
                rows))
    rows = q("""SELECT service_name, pattern, estimated_names, span_count, example FROM span_name_patterns
                WHERE estimated_names >= ? ORDER BY estimated_names DESC, span_count DESC, service_name, pattern LIMIT ?""",
             EXPLOSION_MIN_NAMES, limit)
    out.append((f"Span names that explode (one pattern, at least {EXPLOSION_MIN_NAMES} distinct names)",
                ["service", "pattern", "~names", "spans", "example"],
                ["service", "pattern", "estimated_names", "spans", "example"], rows))
    if q("SELECT 1 FROM sqlite_schema WHERE type = 'view' AND name = 'key_name_explosions'"):
        # Schema version 3: key names past an entity's key_name_bound, by
        # pattern (docs/catalog.md "Key-name patterns").
        rows = q("""SELECT entity_kind, entity_name, iif(event_name <> '', key_scope || '@' || event_name, key_scope),
                      pattern, estimated_names, key_count, sample_names
                    FROM key_name_explosions LIMIT ?""", limit)
        rows = [r[:6] + (samples_text(r[6]),) for r in rows]
        out.append(("Key names that explode (ids in key names, folded into patterns)",
                    ["entity kind", "entity", "scope", "pattern", "~names", "count", "sample names"],
                    ["entity_kind", "entity", "scope", "pattern", "estimated_names", "key_count", "sample_names"], rows))
    for sev, svc, n in q("""SELECT severity, service_name, sample_count FROM log_services
                           ORDER BY sample_count DESC, severity, service_name LIMIT ?""", pairs):
        rows = q("""SELECT count, round(100.0 * count / ?, 1), template FROM log_body_templates
                    WHERE severity = ? AND service_name = ? ORDER BY count DESC, template LIMIT ?""", max(n, 1), sev, svc, limit)
        out.append((f"Top log templates: {svc} / {sev} ({n:,} records)", ["count", "share %", "template"],
                    ["count", "share_pct", "template"], rows))
    rows = q("""SELECT s.service_name, s.severity, s.sample_count,
                  (SELECT template FROM log_body_templates t WHERE t.severity = s.severity AND t.service_name = s.service_name
                   ORDER BY count DESC, template LIMIT 1)
                FROM log_services s WHERE s.severity IN ('ERROR', 'FATAL') OR s.severity GLOB 'ERROR[0-9]*'
                  OR s.severity GLOB 'FATAL*'
                ORDER BY s.sample_count DESC, s.service_name, s.severity""")
    out.append(("Errors by service (all)", ["service", "severity", "records", "most frequent template"],
                ["service", "severity", "records", "top_template"], [tuple("" if v is None else v for v in r) for r in rows]))
    return out


def totals(db):
    q = lambda sql: db.execute(sql).fetchone()[0]
    return {"metrics": q("SELECT count(*) FROM metrics"), "data_points": q("SELECT coalesce(sum(total_sample_count), 0) FROM metrics"),
            "span_names": q("SELECT count(*) FROM spans"), "spans": q("SELECT coalesce(sum(total_sample_count), 0) FROM spans"),
            "severities": q("SELECT count(*) FROM logs"), "log_records": q("SELECT coalesce(sum(total_sample_count), 0) FROM logs"),
            "first_seen": q("""SELECT min(t) FROM (SELECT min(first_seen) t FROM metrics UNION ALL SELECT min(first_seen) FROM spans
                              UNION ALL SELECT min(first_seen) FROM logs)"""),
            "last_seen": q("""SELECT max(t) FROM (SELECT max(last_seen) t FROM metrics UNION ALL SELECT max(last_seen) FROM spans
                             UNION ALL SELECT max(last_seen) FROM logs)""")}


def run(args):
    if args.limit < 1 or args.pairs < 0:
        raise UsageError("--limit must be at least 1 and --pairs at least 0")
    db = open_catalog(args.db, readonly=True)
    t = totals(db)
    secs = sections(db, args.limit, args.pairs)
    if args.format == "json":
        print(dumps({"catalog": args.db, "totals": t,
                     "sections": [{"title": title, "rows": [dict(zip(keys, r)) for r in rows]}
                                  for title, _, keys, rows in secs]}))
        return 0
    md = args.format == "markdown"
    head = (f"{t['metrics']:,} metrics ({t['data_points']:,} data points), {t['span_names']:,} span names "
            f"({t['spans']:,} spans), {t['severities']:,} log severities ({t['log_records']:,} records)")
    span = f", from {t['first_seen']} to {t['last_seen']} UTC" if t["first_seen"] else ""
    print(f"# otelcat report: {args.db}\n\n{head}{span}." if md else f"otelcat report: {args.db}\n{head}{span}.")
    for title, headers, _, rows in secs:
        print(f"\n## {title}\n" if md else f"\n== {title}")
        print(render_table(rows, headers, "markdown" if md else "text"))
    return 0
