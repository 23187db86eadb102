#!/usr/bin/python3
"""Writes docs/cookbook.md: the questions users ask of a catalog, each
answered by one SQL query against demo.db (made by `make demo`), with the
real output. Run: make cookbook (after make demo)."""
import json
import os
import sqlite3
import sys

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))

QUESTIONS = [
    ("Which label explodes this metric?",
     "A metric's labels by estimated cardinality: the one near the number of data points is the culprit "
     "(a user id on `app.frontend.requests`). Datasette query `metric_label_cardinality`.",
     """SELECT key_scope, key_name, estimated_cardinality, round(key_percentage, 1) AS present_pct, value_samples
FROM metric_keys WHERE metric_name = 'app.frontend.requests'
ORDER BY estimated_cardinality DESC;"""),
    ("Which services send this span?",
     "Uses the `span_services` primary key. Datasette query `services_sending_span`.",
     """SELECT service_name, sample_count, first_seen, last_seen
FROM span_services WHERE span_name = 'oteldemo.ProductCatalogService/GetProduct'
ORDER BY sample_count DESC;"""),
    ("What appeared in the last day of data?",
     "Every entity and key row carries `first_seen` / `last_seen` (the records' own times). `new_keys` lists the keys "
     "first seen in the 24 hours before `history_now` (the end of the catalog's newest hourly bucket, in the records' "
     "time, since the demo data is generated for a fixed day), newest first, read from an index on `first_seen`: here "
     "the cart service still making up key names from item ids (`key_name_explosions` folds them past 1 000 per span "
     "name). Entities, services and templates too: Datasette query `new_since`; two catalog files (before and after "
     "a deploy): `examples/diff.sql`.",
     """SELECT signal, entity, key_scope, key_name, first_seen
FROM new_keys LIMIT 6;"""),
    ("What are the top log templates of a service at a severity?",
     "The `top_log_templates` view uses the `(severity, service_name, count)` index. Datasette query `top_log_templates_for`.",
     """SELECT count, round(percentage, 1) AS pct, template
FROM top_log_templates WHERE severity = 'ERROR' AND service_name = 'checkout' LIMIT 4;"""),
    ("Which field carries the id in this log template?",
     "The attribute keys of a template's records, with the share of its lines that carry them "
     "(`template_keys`, over `log_template_keys`).",
     """SELECT key_name, key_count, round(key_percentage, 1) AS pct
FROM template_keys WHERE severity = 'ERROR' AND service_name = 'checkout' AND template LIKE 'Payment failed%'
ORDER BY key_count DESC, key_name;"""),
    ("Which services are the noisiest?",
     "The noisy-neighbour view. Datasette query `noisiest_services`.",
     """SELECT service_name, spans, data_points, log_records, spans + data_points + log_records AS total, span_names, metrics
FROM service_overview ORDER BY total DESC LIMIT 6;"""),
    ("Which service sends this key?",
     "Keys are counted per service too (`metric_service_keys`, `span_service_keys`, `log_service_keys`): which services "
     "put `user.id` on INFO logs, on what share of their INFO records, and with how many distinct values each "
     "(`key_services`, an index lookup by key name; seven of the twelve services send it). Datasette query "
     "`services_sending_key`.",
     """SELECT service_name, key_count, round(key_percentage, 1) AS pct, estimated_cardinality, value_samples
FROM key_services WHERE key_name = 'user.id' AND signal = 'logs' AND entity = 'INFO'
ORDER BY key_count DESC;"""),
    ("Which keys does a service send?",
     "Every key of one service, every signal (`service_keys`, an index lookup by service), here the ones of most "
     "distinct values. Datasette query `keys_of_service`.",
     """SELECT signal, entity, key_scope, key_name, key_count, estimated_cardinality
FROM service_keys WHERE service_name = 'checkout'
ORDER BY estimated_cardinality DESC, key_count DESC LIMIT 6;"""),
    ("Which event names are logged, by whom, with which keys?",
     "Log records that name an event (`LogRecord.event_name`: `browser.page_view`, `feature_flag.evaluation`, ...) "
     "are counted by that name as well as by severity: `log_events`, `log_event_services` and `log_event_keys` "
     "(whose `key_percentage` is of the event's records). The services sending most of each, and its keys with "
     "their estimated distinct values. `SELECT document FROM log_event_metadata WHERE event_name = ?` gives one "
     "event's whole description.",
     """SELECT e.event_name, e.total_sample_count AS records,
  (SELECT group_concat(service_name || ' ' || sample_count, ', ') FROM (SELECT service_name, sample_count
     FROM log_event_services s WHERE s.event_name = e.event_name ORDER BY sample_count DESC, service_name LIMIT 3)) AS top_services,
  (SELECT group_concat(key_name || ' ~' || estimated_cardinality, ', ') FROM (SELECT key_name, estimated_cardinality
     FROM log_event_keys k WHERE k.event_name = e.event_name ORDER BY key_count DESC, key_name)) AS keys
FROM log_events e ORDER BY records DESC, e.event_name;"""),
    ("Which span names explode?",
     "Span names are templated per service at ingest; a pattern that many distinct names collapse into is a "
     "badly instrumented span name (a user id in the URL). Datasette query `exploding_span_names`.",
     """SELECT service_name, pattern, estimated_names, span_count, example
FROM span_name_explosions LIMIT 5;"""),
    ("Which key names explode?",
     "Past an entity's `key_name_bound` of distinct key names (1 000 by default), new names are counted in key-name "
     "patterns (ids masked: docs/catalog.md, \"Key-name patterns\"): an id in the key name, a row per user or item "
     "otherwise. The `key_name_explosions` view.",
     """SELECT entity_kind, entity_name, key_scope, pattern, estimated_names, key_count
FROM key_name_explosions LIMIT 5;"""),
    ("Which attribute keys are on every signal?",
     "`attribute_catalog` unions every key's sketches with `hll_merge` as an aggregate: the cardinality of all its values "
     "across signals. Datasette query `keys_on_every_signal`.",
     """SELECT key_name, signals, metrics, spans, severities, total_count, estimated_cardinality
FROM attribute_catalog
WHERE signals LIKE '%metrics%' AND signals LIKE '%spans%' AND signals LIKE '%logs%'
ORDER BY estimated_cardinality DESC LIMIT 8;"""),
    ("Which metrics have the most active series?",
     "Estimated from each data point's sorted resource + label set. Datasette query `metrics_by_active_series`.",
     """SELECT name, type, unit, estimated_active_series, total_sample_count
FROM metrics ORDER BY estimated_active_series DESC LIMIT 6;"""),
    ("Which histogram makes the most Prometheus series?",
     "Each active series of a Histogram becomes one `_bucket` series per bucket (explicit bounds + 1, `+Inf` "
     "included) plus `_sum` and `_count` in Prometheus; a Summary's quantiles + 2; others one "
     "(docs/catalog.md, \"Metric shape\"). The `metric_prometheus_series` view.",
     """SELECT name, type, estimated_active_series, series_per_series, estimated_prometheus_series
FROM metric_prometheus_series LIMIT 6;"""),
    ("Which attribute costs the most?",
     "Bytes of each key's pairs in OTLP protobuf, what the bill counts (`key_bytes`; a resource key's pair counts once "
     "per resource block). Datasette query `keys_by_bytes`.",
     """SELECT signal, key_scope, key_name, bytes, bytes_per_record, signal_percentage
FROM key_bytes LIMIT 8;"""),
    ("Which services cost the most bytes?",
     "Bytes of each service's records in OTLP protobuf per signal: spans, log records, Metric messages "
     "(docs/catalog.md, \"Record bytes, dropped counts, trace context\"). The `service_bytes` view; Datasette query "
     "`services_by_bytes`; `log_template_bytes` ranks log templates the same way.",
     """SELECT signal, service_name, records, bytes, bytes_per_record, signal_percentage
FROM service_bytes LIMIT 8;"""),
    ("Which instrumentation libraries (and versions) send spans of a service?",
     "Every record comes in a scope block naming the library that made it and its version; `service_scopes` counts "
     "them per service (an index lookup by service), `scopes` over all services, and `span_scopes` (by its "
     "scope index) says which span names one library sends (docs/catalog.md, \"Instrumentation scopes\"). Datasette "
     "query `scopes_of_service`.",
     """SELECT scope_name, scope_version, entities AS span_names, records, bytes
FROM service_scopes WHERE service_name = 'checkout' AND signal = 'spans'
ORDER BY records DESC;"""),
    ("Which keys come in more than one value type?",
     "Samples and sketches see values as text, where int 200 and \"200\" are one value; `value_types` counts records "
     "per OTLP type. `key_mixed_types` lists every row of a key whose values come in more than one type, so the rows "
     "show where each type comes from (here one span name sends the status code as a string).",
     """SELECT entity, key_name, key_count, value_types
FROM key_mixed_types WHERE signal = 'spans' ORDER BY key_name, entity LIMIT 8;"""),
    ("Which values dominate a key?",
     "`top_values` holds a key's 10 most frequent values from its frequent-items sketch (`top_sketch`); each count is "
     "an upper bound, at most `maximum_error` above the true count (exact while the key has had at most 48 distinct "
     "values). One product of about a thousand takes 8 to 10 % of the lookups here (715 to 884 of 9 041: the count shown, 884, less the maximum error, 169). Datasette query `top_values_of_key`.",
     """SELECT j.value ->> 'value' AS value, j.value ->> 'count' AS count,
       json_extract(topk_info(top_sketch), '$.maximum_error') AS maximum_error, key_count
FROM span_keys, json_each(top_values) j
WHERE span_name = 'oteldemo.ProductCatalogService/GetProduct' AND key_name = 'app.product.id';"""),
    ("Which keys are above a cardinality threshold?",
     "What a cardinality budget would flag (`examples/ci_check.sh` does it in CI). Datasette query `keys_above_cardinality`.",
     """SELECT signal, entity, key_scope, key_name, estimated_cardinality
FROM key_cardinality WHERE estimated_cardinality > 5000
ORDER BY estimated_cardinality DESC LIMIT 8;"""),
    ("Which keys are growing fastest?",
     "`key_growth` compares each key's estimated distinct values (and records) in the last 24 hours of the "
     "catalog's data (`history_now`: the end of its newest hourly bucket, the records' own time) with the 24 hours "
     "before; `WHERE cardinality_growth > 10` is an alert. The demo day is shorter than two windows, so here every "
     "key is \"new\" (previous 0): the order is by growth, then size. `entity_growth` does the same for records "
     "and bytes (docs/catalog.md \"History\").",
     """SELECT signal, entity, key_name, cardinality_previous, cardinality_current, cardinality_growth
FROM key_growth WHERE signal = 'spans' LIMIT 5;"""),
    ("Since when has this key exploded?",
     "A key's estimated distinct values per hour of the records' own times (`key_history`; hourly buckets roll up "
     "into days after 48 hours, the sketches merged exactly). Checkout's `cart.session_token` appears halfway "
     "through the demo day and takes a new value on every span from then on. Datasette query "
     "`key_cardinality_over_time`; the dashboard charts the fastest-growing keys.",
     """SELECT bucket_start, sum(key_count) AS records, sum(estimated_cardinality) AS estimated_distinct
FROM key_history WHERE signal = 'spans' AND key_name = 'cart.session_token' AND resolution = 'bucket'
GROUP BY bucket_start ORDER BY bucket_start LIMIT 6;"""),
    ("Which keys are present on less than 5 % of records?",
     "Rare keys: often conditional attributes, sometimes a typo'd key name. Datasette query `rare_keys`. "
     "`key_cardinality WHERE key_percentage < 5` gives them too, but computes the percentage of every key row. "
     "A key of any entity but the 8 metrics, span names (by spans, links and events) and severities with the most "
     "records on less than 5 % of its records has fewer than 5 % of the 9th most records of its kind: the key "
     "tables' `key_count` indexes give the rows below that, and the 8's rows above it are read entity by entity.",
     """WITH big_metrics(name) AS MATERIALIZED (SELECT name FROM metrics ORDER BY total_sample_count DESC LIMIT 8),
big_spans(name) AS MATERIALIZED (
  SELECT name FROM (SELECT name FROM spans ORDER BY total_sample_count DESC LIMIT 8)
  UNION SELECT name FROM (SELECT name FROM spans ORDER BY link_count DESC LIMIT 8)
  UNION SELECT span_name FROM (SELECT span_name FROM span_events ORDER BY event_count DESC LIMIT 8)),
big_logs(severity) AS MATERIALIZED (SELECT severity FROM logs ORDER BY total_sample_count DESC LIMIT 8),
bound(metrics, spans, logs) AS (SELECT
  coalesce((SELECT total_sample_count FROM metrics ORDER BY total_sample_count DESC LIMIT 1 OFFSET 8), 0) * 0.05 + 1,
  max(coalesce((SELECT total_sample_count FROM spans ORDER BY total_sample_count DESC LIMIT 1 OFFSET 8), 0),
      coalesce((SELECT link_count FROM spans ORDER BY link_count DESC LIMIT 1 OFFSET 8), 0),
      coalesce((SELECT event_count FROM span_events ORDER BY event_count DESC LIMIT 1 OFFSET 8), 0)) * 0.05 + 1,
  coalesce((SELECT total_sample_count FROM logs ORDER BY total_sample_count DESC LIMIT 1 OFFSET 8), 0) * 0.05 + 1)
SELECT signal, entity, key_scope, key_name, key_count, round(key_percentage, 2) AS pct FROM (
  SELECT 'metrics' AS signal, metric_name AS entity, key_scope, key_name, key_count, key_percentage
  FROM metric_keys WHERE key_count <= (SELECT metrics FROM bound)
  UNION ALL SELECT 'metrics', metric_name, key_scope, key_name, key_count, key_percentage
  FROM big_metrics b CROSS JOIN metric_keys k ON k.metric_name = b.name WHERE k.key_count > (SELECT metrics FROM bound)
  UNION ALL SELECT 'spans', span_name, key_scope, key_name, key_count, key_percentage
  FROM span_keys WHERE key_count <= (SELECT spans FROM bound)
  UNION ALL SELECT 'spans', span_name, key_scope, key_name, key_count, key_percentage
  FROM big_spans b CROSS JOIN span_keys k ON k.span_name = b.name WHERE k.key_count > (SELECT spans FROM bound)
  UNION ALL SELECT 'logs', severity, key_scope, key_name, key_count, key_percentage
  FROM log_keys WHERE key_count <= (SELECT logs FROM bound)
  UNION ALL SELECT 'logs', k.severity, key_scope, key_name, key_count, key_percentage
  FROM big_logs b CROSS JOIN log_keys k ON k.severity = b.severity WHERE k.key_count > (SELECT logs FROM bound))
WHERE key_percentage < 5 ORDER BY key_percentage LIMIT 8;"""),
    ("Which keys look like ids?",
     "Nearly one distinct value per record: ids, timestamps or amounts that should not be labels. Datasette query `id_like_keys`. "
     "Such a key has at least 500 distinct values (half of 1 000 records): the key tables' cardinality indexes give "
     "just those, in order (`+key_count`: not the `key_count` index, which holds most keys above 1 000 records).",
     """SELECT signal, entity, key_name, key_count, estimated_cardinality, substr(value_samples, 1, 60) AS samples
FROM key_cardinality
WHERE +key_count >= 1000 AND estimated_cardinality >= 0.5 * key_count AND estimated_cardinality >= 500
ORDER BY estimated_cardinality DESC LIMIT 8;"""),
    ("What is everything known about one metric?",
     "The Get-API document (one JSON document, the shape of OCC's model), one indexed lookup. Datasette query `metric_document`.",
     """SELECT document FROM metric_metadata WHERE name = 'http.server.request.duration';"""),
    ("Which deprecated keys are in use, and who sends them?",
     "Keys the OpenTelemetry semantic conventions deprecate (the release the extension embeds: `otelcat_debug()` names "
     "it), with what replaces them. `services` are the services that send the span name (the catalog counts keys per "
     "entity). `otelcat check --semconv` fails on these; Datasette dashboard `semconv`, query `convention_violations`.",
     """SELECT key_name, replacement, entity, key_count, services
FROM semconv_deprecated_keys WHERE key_name LIKE 'http.%' AND replacement IS NOT NULL
ORDER BY key_name, key_count DESC LIMIT 8;"""),
    ("Which values have the wrong type, or fall outside an enum?",
     "Judged from each key's value types: records of another type than the convention's are a type problem, with "
     "their counts in `type_counts` (`otelcat check --semconv` fails on it); `samples` are the values whose text "
     "cannot be of the type. Key rows whose types were not recorded (from before an upgrade) are judged from their "
     "samples (`judged_from`). A value that is none of an enum's members is listed for review.",
     """SELECT key_name, problem, expected_type, observed_types, type_counts, key_count, samples, entity, services
FROM semconv_type_mismatches ORDER BY key_name, problem, entity LIMIT 5;"""),
    ("Which metrics disagree with the conventions?",
     "Unit, instrument (OTLP type), monotonicity (a counter is a monotonic Sum, an updowncounter a non-monotonic one) and "
     "deprecated names of the metrics the conventions define.",
     """SELECT metric_name, problem, observed, expected, instrument, services
FROM semconv_metric_mismatches ORDER BY metric_name, problem;"""),
    ("Which keys look like typos of convention keys?",
     "Keys in a convention namespace that the conventions do not define, with the nearest convention names; keys "
     "with no near name are home-made keys in a namespace the conventions own (the demo's `app.*`).",
     """SELECT key_name, nearest, signals, total_count
FROM semconv_unknown_keys ORDER BY nearest = '[]', total_count DESC, key_name LIMIT 5;"""),
    ("Which keys are spelled several ways?",
     "Keys that differ only in case or separators (`userId`, `user_id`, `user.id`), with the convention's spelling.",
     """SELECT form, key_name, convention, convention_key, spans, total_count
FROM semconv_similar_keys ORDER BY form, convention DESC, key_name;"""),
    ("How much of what each service sends follows the conventions?",
     "Per service and signal, the share of its keys that the conventions define (deprecated ones counted apart).",
     """SELECT service_name, keys, convention_keys, deprecated_keys, custom_keys, convention_pct
FROM semconv_coverage WHERE signal = 'spans' ORDER BY convention_pct, service_name LIMIT 6;"""),
    ("Which convention spans and metrics lack required attributes?",
     "An HTTP server span without `http.request.method`, a metric without its required labels; `sent_as` names the "
     "deprecated key sent instead. `otelcat check --semconv` fails on required ones.",
     """SELECT signal, entity, convention, attribute, sent_as, services
FROM semconv_missing_attributes WHERE requirement_level = 'required'
ORDER BY signal, entity, attribute LIMIT 10;"""),
]


def value_text(v):
    """A value as the sqlite3 shell prints it (reals always with a decimal
    point), NULL as NULL: what tests/test_docs.py compares the tables with."""
    if v is None:
        return "NULL"
    if isinstance(v, float):
        s = format(v, ".15g")
        return s if any(c in s for c in ".eni") else s + ".0"
    return str(v)


def markdown_table(cols, rows):
    def cell(v):
        return value_text(v).replace("|", "\\|").replace("\n", " ")
    out = ["| " + " | ".join(cols) + " |", "| " + " | ".join("---" for _ in cols) + " |"]
    out += ["| " + " | ".join(cell(v) for v in r) + " |" for r in rows]
    return "\n".join(out)


def main():
    path = sys.argv[1] if len(sys.argv) > 1 else os.path.join(ROOT, "demo.db")
    db = sqlite3.connect(f"file:{path}?mode=ro", uri=True)
    db.enable_load_extension(True)
    db.load_extension(os.path.join(ROOT, "dist", "otelcat"))
    lines = ["# Cookbook", "",
             f"{len(QUESTIONS)} questions users ask of a catalog, each answered by one SQL query against the demo catalog",
             "(`make demo` builds `demo.db`), with its real output. Open it with",
             "`sqlite3 demo.db -cmd '.load dist/otelcat'`, or `make explore` for the same questions as Datasette",
             "canned queries. This page is generated by `make cookbook` (tools/cookbook.py); the tests run every",
             "query again on a fresh demo catalog and compare (docs/README.md).", "",
             "<!-- doctest: database demo -->", ""]
    for i, (q, why, sql) in enumerate(QUESTIONS, 1):
        cur = db.execute(sql)
        cols = [d[0] for d in cur.description]
        rows = cur.fetchall()
        lines += [f"## {i}. {q}", "", why, "", "```sql", sql, "```", ""]
        if cols == ["document"]:
            # One JSON document: shown pretty-printed (the query returns it compact).
            lines += ["```json", json.dumps(json.loads(rows[0][0]), indent=2, ensure_ascii=False), "```", ""]
        else:
            lines += [markdown_table(cols, rows), ""]
    doc = next(i for i, q in enumerate(QUESTIONS, 1) if "everything known" in q[0])
    lines.append(f"The documents of question {doc} are compact JSON; they are shown pretty-printed here. In the sqlite3 "
                 "shell, `.mode json` or `SELECT json(document)`; SQLite 3.46 and newer also have `json_pretty()`.")
    out = os.path.join(ROOT, "docs", "cookbook.md")
    with open(out, "w") as f:
        f.write("\n".join(lines) + "\n")
    print(f"wrote {out}")


if __name__ == "__main__":
    main()
