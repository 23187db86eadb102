"""What examples/spark/fleet_merge.py and etl.py share: a local Spark
session, reading `otelcat export` directories, and writing a Spark result
back as a catalog file otelcat opens.

Needs pyspark >= 3.5 (hll_sketch_agg, hll_union_agg), Java 17, and the
otelcat Python package in the same interpreter (the wheel, or
PYTHONPATH=python with OTELCAT_LOADABLE_PATH=dist/otelcat in a checkout),
on a Python whose sqlite3 can load extensions (Debian's /usr/bin/python3 or
a venv made from it).
"""
import json
import os
import sqlite3
import struct

import otelcat
from otelcat.export import TABLES


def session(app="otelcat", cores=None):
    """A Spark session in local mode: UTC times, few shuffle partitions (a
    catalog is thousands of rows, not billions), no UI."""
    from pyspark.sql import SparkSession
    cores = cores or os.environ.get("OTELCAT_SPARK_CORES", "2")
    spark = (SparkSession.builder.appName(app).master(f"local[{cores}]")
             .config("spark.sql.session.timeZone", "UTC")
             .config("spark.sql.shuffle.partitions", os.environ.get("OTELCAT_SPARK_PARTITIONS", "4"))
             .config("spark.ui.enabled", "false")
             .config("spark.ui.showConsoleProgress", "false")
             .config("spark.driver.memory", os.environ.get("OTELCAT_SPARK_MEMORY", "1g"))
             .getOrCreate())
    spark.sparkContext.setLogLevel("ERROR")
    return spark


def cpu_seconds():
    """CPU seconds (user + system) of this process and its children still
    running (the Spark driver JVM in local mode), for benchmarks: the JVM is
    not waited for before exit, so resource.RUSAGE_CHILDREN misses it."""
    import time
    tick, total = os.sysconf("SC_CLK_TCK"), time.process_time()
    for pid in os.listdir("/proc"):
        if not pid.isdigit():
            continue
        try:
            with open(f"/proc/{pid}/stat") as f:
                fields = f.read().rsplit(")", 1)[1].split()
        except OSError:
            continue
        if int(fields[1]) == os.getpid():
            total += (int(fields[11]) + int(fields[12])) / tick
    return total


def run_main(name, main):
    """Runs a script's main: a Spark or otelcat error ends it with one line
    naming the script (exit status 1), not a Java stack trace."""
    from otelcat._common import UsageError
    try:
        return main()
    except SystemExit as e:
        if isinstance(e.code, str) and not e.code.startswith(f"{name}: "):
            raise SystemExit(f"{name}: {e.code}") from None
        raise
    except UsageError as e:
        raise SystemExit(f"{name}: {e}")
    except Exception as e:
        from pyspark.errors import PySparkException
        if isinstance(e, PySparkException):
            first = str(e).strip().splitlines()[0] if str(e).strip() else type(e).__name__
            raise SystemExit(f"{name}: Spark failed: {first}")
        raise


def read_manifest(export_dir):
    path = os.path.join(export_dir, "manifest.json")
    try:
        with open(path, encoding="utf-8") as f:
            m = json.load(f)
    except (OSError, ValueError) as e:
        raise SystemExit(f"{export_dir}: not an otelcat export ({e}); `otelcat export --db CATALOG DIR` writes one")
    if m.get("format") != "otelcat-export" or m.get("format_version") != 1:
        raise SystemExit(f"{path}: format {m.get('format')!r} version {m.get('format_version')!r}; "
                         "this script reads otelcat-export version 1")
    return m


def read_exports(spark, export_dirs, layout_dir):
    """Registers a temp view <table>_all per catalog table: every export's
    rows plus `node` (the export's position, 0 first), sketches decoded from
    base64 to BINARY. One read per table over all exports: layout_dir (an
    empty directory) gets <table>/node=<i>/ links to the files, which Spark
    reads as one partitioned table."""
    from pyspark.sql import functions as F
    manifests = [read_manifest(d) for d in export_dirs]
    for table in TABLES:
        have = [(i, d, m) for i, (d, m) in enumerate(zip(export_dirs, manifests)) if m["tables"][table]["columns"]]
        if not have:
            raise SystemExit(f"no export has the table {table}")
        first = have[0][2]["tables"][table]
        for i, d, m in have:
            if [c["name"] for c in m["tables"][table]["columns"]] != [c["name"] for c in first["columns"]]:
                raise SystemExit(f"{d}: the columns of {table} differ from those of {have[0][1]}: "
                                 "export every catalog with the same otelcat version")
            part = os.path.join(layout_dir, table, f"node={i}")
            os.makedirs(part)
            os.symlink(os.path.abspath(os.path.join(d, m["tables"][table]["file"])), os.path.join(part, "rows.json"))
        df = (spark.read.schema(first["spark_schema"] + ", `node` INT").option("mode", "FAILFAST")
              .json(os.path.join(layout_dir, table)))
        for c in first["columns"]:
            if c.get("encoding") == "base64":
                df = df.withColumn(c["name"], F.unbase64(F.col(c["name"])))
        df.createOrReplaceTempView(f"{table}_all")
    return manifests


def otelcat_form(img):
    """A sketch image as otelcat's checks accept it. Spark's hll_union_agg
    (DataSketches Java's union) writes an HLL_8 image whose cur_min (byte 6)
    is the smallest register once every register is 1 or more, with bytes
    32-35 counting the registers at it; otelcat 0.2 refuses an HLL_8 image
    whose cur_min is not 0 (docs/FORMAT.md, "Accepted images"). The same
    registers with cur_min 0 and the count of registers at 0 (none) is the
    same sketch to every reader. Other images pass unchanged."""
    if (img is None or len(img) < 40 or img[0] != 10 or img[7] != 0x0A  # HLL mode, target HLL_8
            or img[6] == 0 or len(img) != 40 + (1 << img[3])):
        return img
    out = bytearray(img)
    out[6] = 0
    struct.pack_into("<I", out, 32, out[40:].count(0))
    return bytes(out)


# Views of the catalog over a table that stores all their columns but
# those derived when read (docs/catalog.md "Commit cost"): what the
# write-back inserts into, and the columns it leaves out.
STORED_AS = {"log_body_templates": ("log_body_template_rows", {"percentage"}),
             "metric_keys": ("metric_key_rows", {"key_percentage"}),
             "span_keys": ("span_key_rows", {"key_percentage"}),
             "log_keys": ("log_key_rows", {"key_percentage"})}

# The count an estimate never exceeds, per table.
ESTIMATE_LIMIT = {"metrics": "total_sample_count", "metric_keys": "key_count", "span_keys": "key_count",
                  "log_keys": "key_count", "span_name_patterns": "span_count",
                  "metric_service_key_rows": "key_count", "span_service_key_rows": "key_count",
                  "log_service_key_rows": "key_count", "log_event_key_rows": "key_count",
                  "key_name_patterns": "key_count"}


def fold_topk(db, imgs):
    """The frequent-items images of one key, in catalog order, merged as
    examples/merge.sql merges them: the first as it is, then
    topk_merge(merged, next) (a damaged image fails with topk_merge's
    error)."""
    imgs = [bytes(b) for b in imgs if b is not None]
    if not imgs:
        return None
    acc = imgs[0]
    for b in imgs[1:]:
        try:
            acc = db.execute("SELECT topk_merge(?, ?)", (acc, b)).fetchone()[0]
        except sqlite3.Error as e:
            raise SystemExit(f"merging top_sketch images failed: {e}; nothing was written")
    return acc


# History roll-up and retention (docs/catalog.md "History"), as a commit of
# otlp_ingest applies them and as examples/merge.sql and examples/etl.sql
# write them: `bucket` rows history_bucket_hours or more before the newest
# bucket roll up into `day` rows (counts add, sketches merge), `day` rows
# history_days or more before the newest bucket's day are dropped. The
# newest bucket is read from entity_history, so it is rolled last.
_FINE_UNTIL = ("(SELECT datetime(max(bucket_start), '-' || coalesce((SELECT CAST(value AS INTEGER) FROM otelcat_meta "
               "WHERE key = 'history_bucket_hours'), 48) || ' hours') FROM entity_history WHERE resolution = 'bucket')")
_KEPT_FROM = ("(SELECT date(max(bucket_start), '-' || coalesce((SELECT CAST(value AS INTEGER) FROM otelcat_meta "
              "WHERE key = 'history_days'), 30) || ' days') || ' 00:00:00' FROM entity_history WHERE resolution = 'bucket')")
# table: (its key columns but resolution and bucket_start, columns that add,
# its sketch column or None, whether it takes ON CONFLICT (key_history_rows
# is a view whose INSERT adds to the row of its key and bucket)).
_HISTORY = (("service_history", ("signal", "entity", "service_name"), ("records", "bytes"), None, True),
            ("key_history_rows", ("signal", "entity", "key_scope", "key_name", "event_name"), ("key_count", "bytes"),
             "hll_sketch", False),
            ("template_history_rows", ("severity", "service_name", "cluster_id"), ("count", "bytes"), None, True),
            ("entity_history", ("signal", "entity"), ("records", "bytes"), None, True))


def roll_up_history(db):
    """Applies the history's roll-up and retention to the catalog `db` (in
    the caller's transaction)."""
    for table, keys, sums, sketch, upsert in _HISTORY:
        k = ", ".join(keys)
        cols = [*keys, "resolution", "bucket_start", *sums, *([sketch] if sketch else [])]
        sel = [*keys, "'day'", "date(bucket_start) || ' 00:00:00'", *(f"sum({c})" for c in sums),
               *([f"hll_merge({sketch})"] if sketch else [])]
        sql = (f"INSERT INTO {table}({', '.join(cols)}) SELECT {', '.join(sel)} FROM {table} "
               f"WHERE resolution = 'bucket' AND bucket_start <= {_FINE_UNTIL} GROUP BY {k}, date(bucket_start)")
        if upsert:
            sql += (f" ON CONFLICT({k}, resolution, bucket_start) DO UPDATE SET " + ", ".join(
                f"{c} = otelcat_add({c}, excluded.{c}, '{table}', {k}, bucket_start)" for c in sums))
        db.execute(sql)
        db.execute(f"DELETE FROM {table} WHERE resolution = 'bucket' AND bucket_start <= {_FINE_UNTIL} "
                   f"OR resolution = 'day' AND bucket_start <= {_KEPT_FROM}")


def create_catalog(path):
    """A new catalog file at `path` with this otelcat's schema and views."""
    if os.path.exists(path):
        raise SystemExit(f"{path} already exists: choose a new file name")
    db = sqlite3.connect(path, isolation_level=None)
    otelcat.load(db)
    db.execute("BEGIN IMMEDIATE")
    db.execute("""INSERT INTO otlp_ingest(payload) VALUES ('{"resourceSpans": []}')""")
    db.execute("COMMIT")
    return db


def write_catalog(path, results, respell_samples=True):
    """Writes {table: Spark DataFrame} into a new catalog file at `path`, in
    one transaction (on failure the file is removed). Each DataFrame's
    columns are the table's, plus optionally `nodes`: how many catalogs
    held the row. The estimate columns are then set to hll_count of their
    sketches."""
    db = create_catalog(path)
    try:
        db.execute("BEGIN IMMEDIATE")
        for table, df in results.items():
            # log_body_templates and the entity key views are views over
            # tables that store no percentage (docs/catalog.md "Commit cost").
            into, derived = STORED_AS.get(table, (table, set()))
            cols = [c for c in df.columns if c != "nodes" and c not in derived]
            # Sample lists built by Spark (to_json) are re-spelled by
            # json_samples_merge, so their bytes are otelcat's; a list one
            # catalog held (nodes = 1) is kept as it was.
            respell = respell_samples and "value_samples" in cols
            merged = respell and "nodes" in df.columns
            vals = []
            for i, c in enumerate(cols):
                if respell and c == "value_samples":
                    vals.append(f"iif(?{len(cols) + 1} > 1, json_samples_merge(?{i + 1}, NULL), ?{i + 1})" if merged
                                else f"json_samples_merge(?{i + 1}, NULL)")
                else:
                    vals.append(f"?{i + 1}")
            # value_types as json_counts_merge writes them (types in name order).
            vals = [f"json_counts_merge({v}, NULL)" if c == "value_types" else v for c, v in zip(cols, vals)]
            sql = f"INSERT INTO {into}({', '.join(cols)}) VALUES ({', '.join(vals)})"
            roles = TABLES.get(table, {}).get("roles", {})
            sketches = {i for i, c in enumerate(cols) if roles.get(c) == "sketch"}
            # A frequent-items column comes as the images of the catalogs
            # that hold the key, in catalog order: folded with otelcat's
            # topk_merge, as merge.sql merges them (Spark has no
            # frequent-items functions; docs/interop.md).
            topks = {i for i, c in enumerate(cols) if roles.get(c) == "topk"}
            fold = lambda imgs: fold_topk(db, imgs) if isinstance(imgs, list) else imgs
            params = ([otelcat_form(bytes(v)) if i in sketches and v is not None else
                       fold(v) if i in topks else
                       bytes(v) if isinstance(v, bytearray) else v for i, v in enumerate(r)]
                      for r in df.select(*cols, *(["nodes"] if merged else [])).collect())
            try:
                db.executemany(sql, params)
            except sqlite3.Error as e:
                raise SystemExit(f"writing {table} into {path} failed: {e}; nothing was written")
        # Estimates: hll_count of the stored sketch, at most the count of
        # records it estimates over (docs/catalog.md "No impossible
        # estimates"), as every otelcat write computes them (docs/interop.md:
        # Spark's hll_sketch_estimate can differ for the same registers while
        # hll_count composite-estimates).
        for table, spec in TABLES.items():
            for col, role in spec["roles"].items():
                into = STORED_AS.get(table, (table,))[0]
                if isinstance(role, tuple) and role[0] == "estimate" and table in results:
                    try:
                        db.execute(f"UPDATE {into} SET {col} = min(hll_count({role[1]}), {ESTIMATE_LIMIT[table]})")
                    except sqlite3.Error as e:
                        raise SystemExit(f"writing {table} into {path} failed: {e}; nothing was written")
                if role == "top_values" and table in results:
                    # The top 10 of the merged image, as merge.sql and the flush write them.
                    db.execute(f"""UPDATE {into} SET {col} = CASE WHEN top_sketch IS NULL THEN NULL ELSE
                                   topk_counts(top_sketch, 10) END""")
        if "metrics" in results:
            # Prometheus series of the merged series (examples/merge.sql;
            # docs/catalog.md "Metric shape").
            db.execute("""UPDATE metrics SET estimated_prometheus_series = estimated_active_series * CASE type
                            WHEN 'Histogram' THEN histogram_buckets + 2 WHEN 'Summary' THEN summary_quantiles + 2
                            ELSE 1 END""")
        # The history's roll-up and retention, relative to the newest bucket
        # written (as examples/merge.sql and examples/etl.sql end).
        try:
            roll_up_history(db)
        except sqlite3.Error as e:
            raise SystemExit(f"rolling up the history of {path} failed: {e}; nothing was written")
        # Key and service totals (docs/catalog.md "Key totals", "Service
        # totals"): built from the key and service rows written, as every
        # writer of those rows other than otlp_ingest does.
        try:
            db.execute("SELECT otelcat_refresh_totals()")
        except sqlite3.Error as e:
            raise SystemExit(f"writing key and service totals into {path} failed: {e}; nothing was written")
        db.execute("COMMIT")
    except BaseException:
        if db.in_transaction:
            db.execute("ROLLBACK")
        db.close()
        for suffix in ("", "-wal", "-shm", "-journal"):
            if os.path.exists(path + suffix):
                os.remove(path + suffix)
        raise
    return db
