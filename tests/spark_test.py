"""make test-spark: examples/spark/ in Apache Spark (local mode) against
otelcat itself.

- fleet_merge.py on 3 catalogs equals examples/merge.sql (`otelcat merge`)
  on the same 3: every count, time, sample list, percentage, template and
  cluster id; every sketch holds the same registers (coupons), byte for byte
  where one catalog held the key; every estimate where both hold the same
  image; Spark's estimate of every otelcat image is hll_count's.
- etl.py on Collector JSON Lines equals otlp_ingest of the same file on
  every count, time, sample list, (string-valued) estimate, metric shape and
  span status count, and its sketches merge with otelcat's (hll_merge).

Run with a Python that has pyspark and can load extensions (make test-spark
makes .venv-spark for it), from tests/, with PYTHONPATH=../python and
OTELCAT_LOADABLE_PATH=../dist/otelcat (the Makefile sets them).
"""
import json
import os
import shutil
import sqlite3
import struct
import subprocess
import sys
import tempfile
import unittest

from helpers import EXT, ROOT, connect
from otlp_payloads import gauge, span, traces
from test_catalog_files import ingest_batches
from test_etl import T0, Generated

sys.path.insert(0, os.path.join(ROOT, "examples", "spark"))
import etl  # noqa: E402
import fleet_merge  # noqa: E402
import otelcat_spark  # noqa: E402
from otelcat.export import TABLES  # noqa: E402

SKETCH_COLS = {(t, c) for t, s in TABLES.items() for c, r in s["roles"].items() if r == "sketch"}
ESTIMATE_COLS = {(t, c): r[1] for t, s in TABLES.items() for c, r in s["roles"].items() if isinstance(r, tuple)}


def registers(img):
    """What an HLL image holds, whatever its target type and serialization:
    ('coupons', frozenset) in LIST/SET mode, ('hll', lg_k, tuple of register
    values) in HLL mode (docs/FORMAT.md, section 2)."""
    if img is None:
        return None
    pre, lg_k, flags, mode = img[0], img[3], img[5], img[7]
    cur, tgt, k = mode & 3, mode >> 2, 1 << lg_k
    compact = bool(flags & 0x08)
    if cur == 0:
        n = img[6] if compact else 8
        return ("coupons", lg_k, frozenset(c for c in struct.unpack_from(f"<{n}I", img, 8) if c))
    if cur == 1:
        count = struct.unpack_from("<I", img, 8)[0]
        n = count if compact else 1 << img[4]
        return ("coupons", lg_k, frozenset(c for c in struct.unpack_from(f"<{n}I", img, 12) if c))
    assert pre == 10
    if tgt == 2:
        return ("hll", lg_k, tuple(img[40:40 + k]))
    if tgt == 1:
        bits = int.from_bytes(img[40:40 + 3 * k // 4 + 1], "little")
        return ("hll", lg_k, tuple((bits >> (6 * i)) & 63 for i in range(k)))
    cur_min, n_aux = img[6], struct.unpack_from("<I", img, 36)[0]
    regs = [0] * k
    for i in range(k):
        regs[i] = (img[40 + i // 2] >> (4 * (i % 2))) & 15
    aux = {}
    for j in range(n_aux):
        c = struct.unpack_from("<I", img, 40 + k // 2 + 4 * j)[0]
        if c:
            aux[c & (k - 1)] = c >> 26
    return ("hll", lg_k, tuple(aux[i] if r == 15 else r + cur_min for i, r in enumerate(regs)))


def tearDownModule():
    print(f"\nspark_test: {otelcat_spark.cpu_seconds():.1f} s CPU (this process and the Spark driver JVM)")


def rows(db, table, schema="main"):
    key = TABLES[table]["key"]
    cols = [r[1] for r in db.execute(f"PRAGMA {schema}.table_info({table})")]
    return cols, {tuple(r[c] for c in key): dict(r) for r in map(
        lambda t: dict(zip(cols, t)), db.execute(f"SELECT {', '.join(cols)} FROM {schema}.{table}"))}


# The key columns of schema version 3 that examples/spark/etl.py does not
# compute (its header says so); the fleet merge merges them all.
NOT_BY_ETL = {(t, c) for t in ("metric_keys", "span_keys", "log_keys", "log_event_key_rows")
              for c in ("bytes", "value_types", "top_sketch", "top_values")}
# Records' bytes (etl.py's header says why): 0 from etl.py.
NOT_BY_ETL |= {(t, "bytes") for t in ("metrics", "metric_services", "spans", "span_services", "logs", "log_services",
                                       "metric_scopes", "span_scopes", "log_scopes",
                                       "log_events", "log_event_services",
                                       "entity_history", "service_history", "key_history_rows")}

class Spark(unittest.TestCase):
    @classmethod
    def setUpClass(cls):
        cls.dir = tempfile.mkdtemp(prefix="otelcat-spark-")
        cls.spark = otelcat_spark.session("otelcat-test")

    @classmethod
    def tearDownClass(cls):
        shutil.rmtree(cls.dir, ignore_errors=True)

    @classmethod
    def p(cls, name):
        return os.path.join(cls.dir, name)

    @classmethod
    def otelcat(cls, *args):
        env = dict(os.environ, PYTHONPATH=os.path.join(ROOT, "python"), OTELCAT_LOADABLE_PATH=EXT)
        r = subprocess.run([sys.executable, "-m", "otelcat", *args], capture_output=True, text=True, env=env, timeout=300)
        assert r.returncode == 0, r.stdout + r.stderr
        return r.stdout


class TestFleetMerge(Spark):
    @classmethod
    def setUpClass(cls):
        super().setUpClass()
        # Three nodes of the same services, seeing overlapping values; a
        # metric whose unit and description only the second and third know.
        cls.nodes = []
        for i, (unit, desc) in enumerate([("", ""), ("By", "bytes read"), ("KiB", "")]):
            path = cls.p(f"node{i}.db")
            doc = json.loads(gauge("disk.read", [({"dev": f"sd{i}"}, 1)], unit=unit, service=f"node{i}"))
            doc["resourceMetrics"][0]["scopeMetrics"][0]["metrics"][0]["description"] = desc
            extra = [json.dumps(doc)]
            # A key of 20 000 values a node: merged, every register of the
            # union is 1 or more (Spark then writes cur_min 1).
            big = [traces([span("GET /big", attrs={"req": f"n{i}-{j}-{k}"}) for k in range(1000)], service="big")
                   for j in range(20)]
            # More key names than key_name_bound (1 000), some shared between
            # nodes: a key-name pattern merged across them.
            many = [traces([span("GET /many", attrs={f"item.{i * 500 + k}.qty": k for k in range(1200)})], service="big")]
            ingest_batches(path, Generated(seed=20 + i, batches=2).payloads + [extra, big, many]).close()
            cls.nodes.append(path)
        cls.otelcat("merge", "--db", cls.p("reference.db"), *cls.nodes)
        fleet_merge.main(["--out", cls.p("fleet.db"), *cls.nodes])
        cls.ref = connect(cls.p("reference.db"))
        cls.ref.execute("ATTACH ? AS fleet", (cls.p("fleet.db"),))

    def test_every_count_time_sample_list_and_template_is_merge_sqls(self):
        merged_rows = 0
        for table in TABLES:
            with self.subTest(table=table):
                cols, ref = rows(self.ref, table)
                fcols, got = rows(self.ref, table, "fleet")
                self.assertEqual(fcols, cols)
                self.assertGreater(len(ref), 0)
                self.assertEqual(sorted(got), sorted(ref))
                for k, r in ref.items():
                    for c in cols:
                        if (table, c) in SKETCH_COLS or (table, c) in ESTIMATE_COLS:
                            continue
                        self.assertEqual(got[k][c], r[c], f"{table} {k} {c}")
                if "value_samples" in cols:
                    merged_rows += sum(len(json.loads(r["value_samples"])) == 10 for r in ref.values())
        self.assertGreater(merged_rows, 0)
        unit = self.ref.execute("SELECT unit, description FROM fleet.metrics WHERE name = 'disk.read'").fetchone()
        self.assertEqual(tuple(unit), ("By", "bytes read"))
        ids = [r[0] for r in self.ref.execute("SELECT cluster_id FROM fleet.log_body_templates ORDER BY cluster_id DESC")]
        self.assertEqual(ids, list(range(-1, -len(ids) - 1, -1)))

    def test_every_sketch_holds_merge_sqls_registers(self):
        same = union = 0
        for table, col in sorted(SKETCH_COLS):
            with self.subTest(table=table, column=col):
                _, ref = rows(self.ref, table)
                _, got = rows(self.ref, table, "fleet")
                for k, r in ref.items():
                    a, b = r[col], got[k][col]
                    self.assertEqual(registers(b), registers(a), f"{table} {k} {col}")
                    same += a == b
                    union += a != b
        # Both kinds occur: keys one node held (the image copied, byte for
        # byte) and keys merged from several (Spark's HLL_8 union).
        self.assertGreater(same, 100)
        self.assertGreater(union, 100)
        # Including a union with no register at 0 (written back with
        # cur_min 0, as otelcat's checks require; the registers unchanged).
        big = self.ref.execute("SELECT hll_sketch FROM fleet.span_keys WHERE span_name = 'GET /big' AND key_name = 'req'").fetchone()[0]
        mode, _, regs = registers(big)
        self.assertEqual((mode, min(regs), big[6]), ("hll", 1, 0))

    def test_estimates(self):
        # Where both catalogs hold the same image, the same estimate.
        compared = 0
        for (table, col), sketch in sorted(ESTIMATE_COLS.items()):
            _, ref = rows(self.ref, table)
            _, got = rows(self.ref, table, "fleet")
            for k, r in ref.items():
                if r[sketch] == got[k][sketch]:
                    self.assertEqual(got[k][col], r[col], f"{table} {k} {col}")
                    compared += 1
                # The catalog's estimate is hll_count of its image, at most
                # the count it estimates over (no impossible estimates).
                limit = got[k][otelcat_spark.ESTIMATE_LIMIT[table]]
                self.assertEqual(got[k][col], self.ref.execute("SELECT min(hll_count(?), ?)",
                                                               (got[k][sketch], limit)).fetchone()[0])
        self.assertGreater(compared, 100)
        # Spark reads every image of merge.sql's fleet catalog (otelcat's
        # HLL_4, compact) and estimates what hll_count does.
        imgs = [(r[0], r[1]) for r in self.ref.execute(
            "SELECT hll_sketch, estimated_cardinality FROM span_keys UNION ALL "
            "SELECT series_sketch, estimated_active_series FROM metrics UNION ALL "
            "SELECT names_sketch, estimated_names FROM span_name_patterns")]
        df = self.spark.createDataFrame([(bytearray(a), n) for a, n in imgs], "img BINARY, n BIGINT")
        bad = df.selectExpr("n", "hll_sketch_estimate(img) AS spark").where("n <> spark").collect()
        self.assertEqual(bad, [])
        self.assertGreater(len(imgs), 1000)

    def test_a_damaged_sketch_fails_the_merge_and_writes_nothing(self):
        import base64
        from otelcat._common import open_catalog
        from otelcat.export import export
        good, bad = self.p("export-good"), self.p("export-bad")
        for d in (good, bad):
            os.mkdir(d)
            db = open_catalog(self.nodes[0], readonly=True, extension=False)
            export(db, d, "node0.db")
            db.close()
        path = os.path.join(bad, "span_keys.jsonl")
        with open(path, encoding="utf-8") as f:
            rows_ = [json.loads(line) for line in f]
        junk = base64.b64encode(b"not an HLL sketch").decode()
        for r in rows_:
            if r["key_name"] == "user.id":
                r["hll_sketch"] = junk      # Spark's hll_union_agg refuses it
        with open(path, "w", encoding="utf-8") as f:
            f.writelines(json.dumps(r) + "\n" for r in rows_)
        out = self.p("damaged-fleet.db")
        with self.assertRaises(SystemExit) as e:
            otelcat_spark.run_main("fleet_merge", lambda: fleet_merge.main(["--out", out, good, bad]))
        self.assertRegex(str(e.exception), r"^fleet_merge: Spark failed: \[HLL_INVALID_INPUT_SKETCH_BUFFER\] Invalid call "
                                           r"to `hll_union_agg`; only valid HLL sketch buffers are supported")
        self.assertFalse(os.path.exists(out))

    def test_the_fleet_catalog_is_a_catalog(self):
        fleet = connect(self.p("fleet.db"))
        before = fleet.execute("SELECT total_sample_count, estimated_active_series FROM metrics WHERE name = 'disk.read'").fetchone()
        fleet.execute("INSERT INTO otlp_ingest(payload) VALUES (?)", (gauge("disk.read", [({"dev": "sd9"}, 1)], unit="By"),))
        after = fleet.execute("SELECT total_sample_count, estimated_active_series FROM metrics WHERE name = 'disk.read'").fetchone()
        self.assertEqual((after[0], after[1]), (before[0] + 1, before[1] + 1))
        self.assertEqual(fleet.execute("PRAGMA integrity_check").fetchone()[0], "ok")
        out = self.otelcat("report", "--db", self.p("fleet.db"))
        n = fleet.execute("SELECT count(*) FROM metrics").fetchone()[0]
        self.assertIn(f"{n} metrics", out)
        self.assertIn("== Metrics by estimated active series", out)


def _metric(name, kind, points, **data):
    """A metric of `kind` with `points` (dicts of point fields), at a fixed time."""
    return {"name": name, "unit": "1", kind: dict(data, dataPoints=[
        dict(p, timeUnixNano="1700000000000000000", attributes=[{"key": "n", "value": {"intValue": str(i)}}])
        for i, p in enumerate(points)])}


def _block(service, metrics):
    return {"resource": {"attributes": [{"key": "service.name", "value": {"stringValue": service}}]},
            "scopeMetrics": [{"scope": {"name": "s"}, "metrics": metrics}]}


# Metric shapes beyond Generated's (which has every kind, delta and
# cumulative, monotonic and not, a metric typed differently by two
# services): temporality as a name with and without its prefix and as a
# numeric string, isMonotonic as a string, fields that a kind does not
# have (a gauge's temporality, a histogram's monotonicity: ignored), scales
# as strings and integral numbers, a metric sent again without points
# after its points (its shape is the last sent), and one sent as a Sum by
# one service and a Histogram by another in the same request.
SHAPES = {"resourceMetrics": [
    _block("shapes", [
        _metric("shape.sum", "sum", [{"asInt": "1"}], aggregationTemporality="AGGREGATION_TEMPORALITY_DELTA",
                isMonotonic="true"),
        _metric("shape.gauge", "gauge", [{"asDouble": 1}], aggregationTemporality=2, isMonotonic=True),
        _metric("shape.hist", "histogram", [{"explicitBounds": [1, 2, 5], "bucketCounts": ["1", "0", "0", "0"]},
                                            {"explicitBounds": [], "bucketCounts": ["1"]}],
                aggregationTemporality="CUMULATIVE", isMonotonic=True),
        _metric("shape.exp", "exponentialHistogram", [
            {"scale": "-3", "positive": {"offset": 0, "bucketCounts": ["1", "2"]}},
            {"scale": 5.0, "negative": {"bucketCounts": ["1"]}, "positive": {"bucketCounts": ["1", "1", "1"]}},
            {"zeroCount": "1"}], aggregationTemporality="1"),
        _metric("shape.summary", "summary", [{"quantileValues": [{"quantile": 0.5, "value": 1}, {"quantile": 1, "value": 2}]}]),
        {"name": "shape.sum", "sum": {"aggregationTemporality": 2, "isMonotonic": False}},
    ]),
    _block("shapes2", [_metric("shape.sum", "histogram", [{"explicitBounds": [1], "bucketCounts": ["1", "1"]}],
                               aggregationTemporality=1)]),
]}


class TestEtl(Spark):
    """etl.py on a Collector JSON Lines file against `otelcat ingest` of it."""

    TABLES = ("metrics", "metric_services", "metric_keys", "spans", "span_services", "span_events", "span_keys",
              "logs", "log_services", "log_keys", "metric_scopes", "span_scopes", "log_scopes",
              "log_events", "log_event_services", "log_event_key_rows",
              "entity_history", "service_history", "key_history_rows")

    @classmethod
    def setUpClass(cls):
        super().setUpClass()
        cls.jsonl = cls.p("collector.jsonl")
        with open(cls.jsonl, "w", encoding="utf-8") as f:
            for txn in Generated(seed=5, batches=2).payloads:
                for payload in txn:
                    f.write(json.dumps(json.loads(payload)) + "\n")
            # Values of every type, in arrays and maps too.
            f.write(traces([span("GET /types", attrs={
                "s": "é \"q\"", "i": -7, "b": True, "d": 0.5, "whole": 3.0, "big": 1e22, "neg0": -0.0,
                "arr": ["a", 1, 2.5, False], "map": {"k": "v", "n": 2}})], service="types") + "\n")
            # Span status in every spelling otlp_ingest reads (Generated
            # has numbers and names): numeric strings, unset by name, codes
            # outside the enum, an unknown name, an empty status.
            f.write(traces([dict(span("GET /status"), **({"status": st} if st is not None else {}))
                            for st in ({"code": "2"}, {"code": "1"}, {"code": "STATUS_CODE_UNSET"}, {"code": "-1"},
                                       {"code": "bogus"}, {"code": 3}, {}, None, {"code": "STATUS_CODE_ERROR"})],
                           service="status") + "\n")
            f.write(json.dumps(SHAPES) + "\n")
            # History: a span three days after the generated hours rolls
            # them up into days; the fixed-time payloads above (2023) are
            # past the retention.
            f.write(traces([span("GET /late", attrs={"k": "v"}, t=(T0 + 3 * 86400) * 10**9)], service="late") + "\n")
        cls.otelcat("ingest", "--db", cls.p("ingested.db"), cls.jsonl)
        db = otelcat_spark.write_catalog(cls.p("etl.db"), etl.catalog(cls.spark, [cls.jsonl]))
        db.close()
        cls.db = connect(cls.p("ingested.db"))
        cls.db.execute("ATTACH ? AS etl", (cls.p("etl.db"),))

    def test_every_count_time_sample_list_and_percentage_is_ingests(self):
        for table in self.TABLES:
            with self.subTest(table=table):
                cols, ref = rows(self.db, table)
                _, got = rows(self.db, table, "etl")
                self.assertGreater(len(ref), 0)
                self.assertEqual(sorted(got), sorted(ref))
                for k, r in ref.items():
                    for c in cols:
                        if (table, c) not in SKETCH_COLS and (table, c) not in NOT_BY_ETL:
                            self.assertEqual(got[k][c], r[c], f"{table} {k} {c}")
        samples = dict(self.db.execute("SELECT key_name, value_samples FROM etl.span_keys WHERE span_name = 'GET /types'"))
        self.assertEqual(samples["arr"], json.dumps(['["a",1,2.5,false]']))
        self.assertEqual(samples["map"], json.dumps(['{"k":"v","n":2}']))
        self.assertEqual(samples["big"], '["1e22"]')

    def test_the_history_rolls_up_and_drops(self):
        # What the comparison above covers: day rows (the generated hours,
        # three days before the newest bucket) and no row of 2023 (past the
        # retention), in every history table etl.py writes.
        for table in ("entity_history", "service_history", "key_history_rows"):
            with self.subTest(table=table):
                days, old = self.db.execute(f"SELECT count(*) FILTER (WHERE resolution = 'day'), "
                                            f"count(*) FILTER (WHERE bucket_start < '2026') FROM {table}").fetchone()
                self.assertGreater(days, 0)
                self.assertEqual(old, 0)

    def test_the_data_has_every_shape_and_status(self):
        # What the comparison above covers (otlp_ingest's values, not etl's).
        q = lambda sql: self.db.execute(sql).fetchone()
        self.assertEqual(q("SELECT count(DISTINCT type), count(DISTINCT temporality), count(DISTINCT is_monotonic), "
                           "count(histogram_buckets), count(DISTINCT exp_histogram_min_scale), count(summary_quantiles) "
                           "FROM metrics"), (5, 3, 2, 3, 2, 2))
        self.assertEqual(tuple(q("SELECT type, temporality, is_monotonic, histogram_buckets, estimated_prometheus_series "
                                 "FROM metrics WHERE name = 'shape.sum'")), ("Histogram", "Delta", 0, 2, 8))
        self.assertEqual(tuple(q("SELECT exp_histogram_buckets, exp_histogram_min_scale, exp_histogram_max_scale "
                                 "FROM metrics WHERE name = 'shape.exp'")), (4, -3, 5))
        self.assertEqual([tuple(r) for r in self.db.execute(
            "SELECT service_name, type, temporality, is_monotonic FROM metric_services WHERE metric_name = 'shape.sum' "
            "ORDER BY service_name")], [("shapes", "Sum", "Cumulative", 0), ("shapes2", "Histogram", "Delta", 0)])
        self.assertGreater(q("SELECT count(*) FROM metric_shape_conflicts")[0], 0)
        self.assertEqual(tuple(q("SELECT status_unset_count, status_ok_count, status_error_count FROM spans "
                                 "WHERE name = 'GET /status'")), (6, 1, 2))
        self.assertTrue(all(q("SELECT min(status_unset_count), min(status_ok_count), min(status_error_count) "
                              "FROM span_services WHERE span_name = 'db.query'")))

    def test_sketches_are_otlp_ingests_and_merge_with_them(self):
        n = 0
        for table, col in sorted(SKETCH_COLS):
            if table not in self.TABLES:
                continue
            _, ref = rows(self.db, table)
            _, got = rows(self.db, table, "etl")
            for k, r in ref.items():
                a, b = r[col], got[k][col]
                self.assertEqual(registers(b), registers(a), f"{table} {k} {col}")
                # Spark's image (HLL_8) merges with otelcat's: the union of
                # the same values holds the same registers.
                merged = self.db.execute("SELECT hll_merge(?, ?)", (a, b)).fetchone()[0]
                self.assertEqual(registers(merged), registers(a))
                n += 1
        self.assertGreater(n, 1000)


if __name__ == "__main__":
    unittest.main()
