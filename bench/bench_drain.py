#!/usr/bin/python3
"""make bench-drain: template accuracy on Loghub-2k and speed of drain_template,
with Drain3 run on the same lines in the same run.

Accuracy: for each system, one fresh in-memory database, drain_template over
the file's Content column in order (default partition, default config), then
drain_match for each line; scored by ../shared/tools/loghub_eval.py against
the Loghub-2k truth and the corrected truth of Loghub-2.0 (where present),
and Drain3 the same way.
Speed: the 20k Loghub lines repeated to 1M rows in a table, then
SELECT count(drain_template(body, 'p')) FROM lines, one connection, one core,
CPU time: with masks off ('p') and with the default masks ('m').
Drain3 (installed into a throwaway venv) trains on the same lines in process.
Needs ../shared; prints a note and exits 0 when it is absent.
"""
import csv
import glob
import os
import sqlite3
import subprocess
import sys
import tempfile
import time

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
SHARED = os.path.join(os.path.dirname(ROOT), "shared")
EXT = os.path.join(ROOT, "dist", "otelcat")
VENV = os.path.join(ROOT, "bench", ".venv-drain3")
DRAIN3 = "drain3==0.9.11"


def connect(path=":memory:"):
    db = sqlite3.connect(path, isolation_level=None)
    db.enable_load_extension(True)
    db.load_extension(EXT)
    return db


def load(csv_path):
    with open(csv_path, newline="", encoding="utf-8") as f:
        return [r["Content"] for r in csv.DictReader(f)]


def drain3_python():
    py = os.path.join(VENV, "bin", "python")
    if not os.path.exists(py):
        subprocess.run([sys.executable, "-m", "venv", VENV], check=True)
        subprocess.run([py, "-m", "pip", "install", "--quiet", "--disable-pip-version-check", DRAIN3], check=True)
    return py


# The masking of Drain3's example configuration (examples/drain3.ini), the
# setup behind the reference figure of 0.827 average GA.
DRAIN3_MASKED_INI = r"""
[MASKING]
masking = [
          {"regex_pattern":"((?<=[^A-Za-z0-9])|^)(([0-9a-f]{2,}:){3,}([0-9a-f]{2,}))((?=[^A-Za-z0-9])|$)", "mask_with": "ID"},
          {"regex_pattern":"((?<=[^A-Za-z0-9])|^)(\\d{1,3}\\.\\d{1,3}\\.\\d{1,3}\\.\\d{1,3})((?=[^A-Za-z0-9])|$)", "mask_with": "IP"},
          {"regex_pattern":"((?<=[^A-Za-z0-9])|^)([0-9a-f]{6,} ?){3,}((?=[^A-Za-z0-9])|$)", "mask_with": "SEQ"},
          {"regex_pattern":"((?<=[^A-Za-z0-9])|^)([0-9A-F]{4} ?){4,}((?=[^A-Za-z0-9])|$)", "mask_with": "SEQ"},
          {"regex_pattern":"((?<=[^A-Za-z0-9])|^)(0x[a-f0-9A-F]+)((?=[^A-Za-z0-9])|$)", "mask_with": "HEX"},
          {"regex_pattern":"((?<=[^A-Za-z0-9])|^)([\\-\\+]?\\d+)((?=[^A-Za-z0-9])|$)", "mask_with": "NUM"},
          {"regex_pattern":"(?<=executed cmd )(\".+?\")", "mask_with": "CMD"}
          ]
mask_prefix = <:
mask_suffix = :>

[DRAIN]
sim_th = 0.4
depth = 4
max_children = 100
max_clusters = 1024
extra_delimiters = ["_"]
"""

DRAIN3_SPEED = r"""
import sys, time
from drain3 import TemplateMiner
from drain3.template_miner_config import TemplateMinerConfig
lines = open(sys.argv[1], encoding='utf-8').read().split('\n')
cfg = TemplateMinerConfig()
if len(sys.argv) > 2:
    cfg.load(sys.argv[2])
tm = TemplateMiner(config=cfg)
t = time.process_time()
for l in lines:
    tm.add_log_message(l)
print(len(lines) / (time.process_time() - t))
"""

DRAIN3_ACCURACY = r"""
import sys
from drain3 import TemplateMiner
from drain3.template_miner_config import TemplateMinerConfig
lines = open(sys.argv[1], encoding='utf-8').read().split('\n')
cfg = TemplateMinerConfig()
if len(sys.argv) > 3:
    cfg.load(sys.argv[3])
tm = TemplateMiner(config=cfg)
for l in lines:
    tm.add_log_message(l)
out = []
for l in lines:
    c = tm.match(l, full_search_strategy='fallback')
    out.append(c.get_template() if c else '')
open(sys.argv[2], 'w', encoding='utf-8').write('\n'.join(out))
"""


def score(scorer, truth_csv, pred):
    """(GA, PA) of predictions against a structured CSV, with the shared scorer."""
    _, truth = scorer.load_truth(truth_csv)
    ga, pa = scorer.score(truth, pred)[:2]
    return ga, pa


def main():
    files = sorted(glob.glob(os.path.join(SHARED, "data", "loghub-2k", "*", "*_structured.csv")))
    if not files:
        print("bench-drain: ../shared/data/loghub-2k is not present; nothing to measure")
        return
    sys.path.insert(0, os.path.join(SHARED, "tools"))
    import loghub_eval as scorer
    py3 = drain3_python()
    tmp = tempfile.mkdtemp(prefix="bench-drain-")
    print(f"# bench-drain {time.strftime('%Y-%m-%d')}, SQLite {sqlite3.sqlite_version}\n")
    print("## Accuracy (default configuration, no per-dataset tuning)\n")
    print("GA: grouping accuracy, PA: exact template (../shared/tools/loghub_eval.py), against the")
    print("Loghub-2k ground truth and, marked *, the corrected truth of Loghub-2.0 (nine systems).")
    print("otelcat: drain_template over the file, then drain_match; Drain3 0.9.11: default")
    print("configuration, final cluster templates.\n")
    print("| system | otelcat GA | PA | GA* | PA* | Drain3 GA | PA | GA* | PA* |")
    print("| --- | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: |")
    cols = [[] for _ in range(8)]
    all_lines = []
    for f in files:
        system = os.path.basename(os.path.dirname(f))
        corrected = os.path.join(SHARED, "data", "loghub-2k-corrected", system,
                                 f"{system}_2k.log_structured_corrected.csv")
        lines = load(f)
        all_lines += lines
        db = connect()
        db.execute("CREATE TABLE l(i INTEGER PRIMARY KEY, body TEXT)")
        db.executemany("INSERT INTO l(body) VALUES (?)", [(x,) for x in lines])
        db.execute("SELECT count(drain_template(body)) FROM l").fetchone()
        ours = [r[0] or "" for r in db.execute("SELECT drain_match(body) FROM l ORDER BY i")]
        src = os.path.join(tmp, system + ".lines")
        with open(src, "w", encoding="utf-8") as out:
            out.write("\n".join(lines))
        theirs_pred = os.path.join(tmp, system + ".drain3")
        subprocess.run([py3, "-c", DRAIN3_ACCURACY, src, theirs_pred], check=True, capture_output=True)
        theirs = open(theirs_pred, encoding="utf-8").read().split("\n")
        row = []
        for pred in (ours, theirs):
            row += score(scorer, f, pred)
            row += score(scorer, corrected, pred) if os.path.exists(corrected) else (None, None)
        for c, v in zip(cols, row):
            if v is not None:
                c.append(v)
        print(f"| {system} | " + " | ".join("–" if v is None else f"{v:.3f}" for v in row) + " |")
    avg = [sum(c) / len(c) for c in cols]
    print("| **average** | " + " | ".join(f"**{v:.3f}**" if i in (0, 1) else f"{v:.3f}" for i, v in enumerate(avg)) + " |")
    print(f"\nLowest otelcat GA: {min(cols[0]):.3f}; * averages over the {len(cols[2])} systems with a corrected truth.")

    print("\n## Speed (one core, CPU time)\n")
    reps = 50
    db = connect(os.path.join(tmp, "speed.db"))
    db.execute("PRAGMA journal_mode=WAL")
    db.execute("CREATE TABLE lines(body TEXT)")
    db.execute("BEGIN")
    for _ in range(reps):
        db.executemany("INSERT INTO lines VALUES (?)", [(x,) for x in all_lines])
    db.execute("COMMIT")
    rows = db.execute("SELECT count(*) FROM lines").fetchone()[0]
    db.execute("""SELECT drain_configure('p', '{"masks": []}')""").fetchone()
    db.execute("SELECT drain_configure('m', '{}')").fetchone()

    def timed(sql):
        t = time.process_time()
        db.execute(sql).fetchone()
        return rows / (time.process_time() - t)

    scan = timed("SELECT count(body) FROM lines")
    cold = timed("SELECT count(drain_template(body, 'p')) FROM lines")
    warm = timed("SELECT count(drain_template(body, 'p')) FROM lines")
    match = timed("SELECT count(drain_match(body, 'p')) FROM lines")
    mcold = timed("SELECT count(drain_template(body, 'm')) FROM lines")
    mwarm = timed("SELECT count(drain_template(body, 'm')) FROM lines")
    params = timed("SELECT count(drain_params(body, 'm')) FROM lines")
    src = os.path.join(tmp, "all.lines")
    with open(src, "w", encoding="utf-8") as out:
        out.write("\n".join(all_lines * 5))
    d3 = float(subprocess.run([py3, "-c", DRAIN3_SPEED, src], capture_output=True, text=True, check=True).stdout)
    ini = os.path.join(tmp, "drain3.ini")
    with open(ini, "w") as f:
        f.write(DRAIN3_MASKED_INI)
    d3m = float(subprocess.run([py3, "-c", DRAIN3_SPEED, src, ini], capture_output=True, text=True, check=True).stdout)
    print(f"Workload: the {len(all_lines):,} Loghub-2k lines of all 10 systems repeated {reps}x = {rows:,} rows, one partition.\n")
    print("| measure | lines/s |")
    print("| --- | ---: |")
    print(f"| scan baseline: SELECT count(body) | {scan:,.0f} |")
    print(f"| SELECT count(drain_template(body, 'p')), masks off, first pass (cold model) | {cold:,.0f} |")
    print(f"| same, second pass (warm model) | {warm:,.0f} |")
    print(f"| SELECT count(drain_match(body, 'p')), masks off | {match:,.0f} |")
    print(f"| SELECT count(drain_template(body, 'm')), default masks, cold | {mcold:,.0f} |")
    print(f"| same, warm | {mwarm:,.0f} |")
    print(f"| SELECT count(drain_params(body, 'm')), default masks | {params:,.0f} |")
    print(f"| Drain3 0.9.11 add_log_message, default config, {len(all_lines) * 5:,} lines | {d3:,.0f} |")
    print(f"| Drain3 0.9.11 add_log_message, example masking config, same lines | {d3m:,.0f} |")
    print(f"\nCost of the default masks: {1e9 / mcold - 1e9 / cold:,.0f} ns per line cold, "
          f"{1e9 / mwarm - 1e9 / warm:,.0f} ns warm (CPU time).")
    print(f"Ratio drain_template cold (masks off) / Drain3 default: {cold / d3:.1f}x; "
          f"with default masks / Drain3 with example masking: {mcold / d3m:.1f}x")


if __name__ == "__main__":
    main()
