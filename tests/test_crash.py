"""Crashes, a full disk and several writers: what a catalog file goes through.

* Kill loops: a child process ingests (or trains drain_template) in
  transactions into one file and is killed with SIGKILL at a random moment;
  the file must then pass `PRAGMA integrity_check` and hold exactly the
  transactions whose COMMIT returned (plus, at most, the one whose COMMIT was
  under way: it is either all there or not at all), which is checked against
  an in-memory database that ran the same committed transactions: every row
  of every table, sketches by their bytes, drain models included. The next
  child goes on from there. WAL and rollback-journal mode.
* Soak: four writer processes ingest into one file while two reader
  processes read totals; every read must show whole transactions only, and
  the final counts must be exact. WAL, and rollback-journal mode with a busy
  timeout short enough that COMMITs fail with SQLITE_BUSY and are retried.
* Full: a catalog on a small tmpfs (root only), or capped by
  `PRAGMA max_page_count`, is written until it is full; the error is
  SQLITE_FULL, the file holds the last commit, and once there is room the
  same connection goes on and the totals add up.
* drain_template's statement-end write: two known defects kept as expected
  failures (TestDrainStatementEndWrite).

Sizes: TORTURE_N iterations per kill loop and journal mode (default 20; the
full-disk tests do TORTURE_N / 10 rounds, 2 to 25), TORTURE_S seconds of
soak per journal mode (default: 15 transactions per writer), TORTURE_SEED
(default 20261206). `make torture` runs them long; TORTURE_VERBOSE=1 prints
what each test went through (also on whenever TORTURE_N is set).
"""
import json
import os
import random
import shutil
import signal
import sqlite3
import subprocess
import sys
import tempfile
import time
import unittest

import torture
from helpers import connect

HERE = os.path.dirname(os.path.abspath(__file__))
TORTURE = os.path.join(HERE, "torture.py")
N = int(os.environ.get("TORTURE_N", "20"))
SOAK_S = float(os.environ.get("TORTURE_S", "0"))
SEED = int(os.environ.get("TORTURE_SEED", "20261206"))
VERBOSE = os.environ.get("TORTURE_VERBOSE") == "1" or "TORTURE_N" in os.environ
SQLITE_FULL = 13


def note(msg):
    if VERBOSE:
        print(msg, file=sys.stderr, flush=True)


def integrity(db):
    return db.execute("PRAGMA integrity_check").fetchall()


class Tmp(unittest.TestCase):
    def setUp(self):
        self.dir = tempfile.mkdtemp(prefix="otelcat-crash-")
        self.path = os.path.join(self.dir, "c.db")

    def tearDown(self):
        shutil.rmtree(self.dir, ignore_errors=True)

    def keep(self, what):
        """Copies the file (and its journal or WAL) aside for a failure report."""
        keep = tempfile.mkdtemp(prefix=f"otelcat-torture-{what}-")
        for suffix in ("", "-journal", "-wal", "-shm"):
            if os.path.exists(self.path + suffix):
                shutil.copy(self.path + suffix, keep)
        return keep


# ---------------------------------------------------------------------------
# kill -9 loops


class KillLoop:
    """Ingests the workload `kind` of tests/torture.py in a child process,
    kills it with SIGKILL after a seeded random delay, checks the file, and
    resumes, `N` times. Which statement the kill lands in depends on timing
    (the seed fixes the workload and the delays, not the machine's speed),
    so a failure keeps a copy of the file and says how to rerun.

    Most kills come once the child has opened the file (then in a
    transaction, in its COMMIT, or between two); one in four comes at a
    random moment from the start, when the child may still be starting or
    recovering the file. Every fourth file is not checked (nor recovered) by
    the parent: the next child recovers it, and may be killed doing so."""

    kind = None
    # Seconds after the child is ready: 0 to about 4 transactions (a commit
    # takes several fsyncs in rollback-journal mode, one in WAL mode).
    max_delay = {"WAL": 0.06, "DELETE": 0.15}

    def extra_checks(self, db, ref, seed):
        pass

    def loop(self, mode, seed):
        rnd = random.Random(seed)
        txn = torture.ingest_txn if self.kind == "ingest" else torture.drain_txn
        ref = connect()
        torture.prepare(ref, None)
        ref_n = 0     # transactions run on the reference
        floor = -1    # the last transaction known committed (reported, or in the file when a child started)
        db = connect(self.path)
        torture.prepare(db, mode)
        db.close()
        stats = {"iterations": 0, "checked": 0, "commits": 0, "commit_in_flight_landed": 0, "killed_in_txn": 0,
                 "killed_before_ready": 0, "hot_journal": 0}
        began = time.monotonic()
        for it in range(N):
            check = it % 4 != 3 or it == N - 1
            child = subprocess.Popen([sys.executable, TORTURE, self.kind, self.path, mode, str(seed)],
                                     stdout=subprocess.PIPE, stderr=subprocess.PIPE)
            waited = rnd.random() < 0.75
            if waited:
                first = child.stdout.readline()
                if not first.startswith(b"ready "):
                    child.kill()
                    _, err = child.communicate()
                    self.fail(f"child did not start: {first!r} {err.decode()[-2000:]}")
                floor = max(floor, int(first.split()[1]) - 1)
                # Until a first transaction is known committed, wait up to a
                # second (a loaded machine commits slower than max_delay).
                time.sleep(rnd.uniform(0, self.max_delay[mode] if floor > 0 else 1.0))
            else:
                time.sleep(rnd.uniform(0, 0.1))
            child.send_signal(signal.SIGKILL)
            out, err = child.communicate()
            if child.returncode != -signal.SIGKILL:
                self.fail(f"the child ended by itself ({child.returncode}): {err.decode()[-2000:]}")
            lines = out.decode().split("\n")
            if not waited and not any(l.startswith("ready") for l in lines):
                stats["killed_before_ready"] += 1
            for l in lines:
                if l.startswith("ready "):
                    floor = max(floor, int(l.split()[1]) - 1)
            marks = [(l.split()[0], int(l.split()[1])) for l in lines if l[:2] in ("b ", "c ")]
            reported = max([n for m, n in marks if m == "c"], default=None)
            begun = max([n for m, n in marks if m == "b"], default=None)
            if reported is not None:
                stats["commits"] += 1 + reported - min(n for m, n in marks if m == "c")
                floor = max(floor, reported)
            stats["iterations"] += 1
            if not check:
                continue
            if os.path.exists(self.path + "-journal") and os.path.getsize(self.path + "-journal") > 0:
                stats["hot_journal"] += 1
            where = (f"{self.kind} kill loop, journal_mode={mode}, TORTURE_SEED={seed}, iteration {it}: "
                     f"transactions up to {floor} known committed")
            db = connect(self.path)
            try:
                ok = integrity(db)
                if ok != [("ok",)]:
                    self.fail(f"{where}: integrity_check {ok[:5]} (file kept in {self.keep('integrity')})")
                in_file = db.execute("SELECT coalesce(max(n), -1) FROM torture_progress").fetchone()[0]
                # Every commit reported is in the file; at most the one under
                # way when the kill came is there too.
                if not floor <= in_file <= floor + 1:
                    self.fail(f"{where}: the file holds transactions up to {in_file} (file kept in {self.keep('lost')})")
                while ref_n <= in_file:
                    txn(ref, seed, ref_n)
                    ref_n += 1
                got, want = torture.dump(db), torture.dump(ref)
                if got != want:
                    self.fail(f"{where}: the file differs from the committed transactions 0..{in_file}: "
                              f"{torture.first_difference(got, want)} (file kept in {self.keep('differs')})")
                self.assertEqual(db.execute("SELECT * FROM drain_clusters ORDER BY 1, 2").fetchall(),
                                 ref.execute("SELECT * FROM drain_clusters ORDER BY 1, 2").fetchall(), where)
                self.extra_checks(db, ref, seed)
            finally:
                db.close()
            stats["checked"] += 1
            stats["commit_in_flight_landed"] += in_file == floor + 1
            stats["killed_in_txn"] += begun is not None and begun > (reported if reported is not None else -1) \
                and in_file == floor
            floor = in_file
        stats["transactions"] = floor + 1
        stats["seconds"] = round(time.monotonic() - began, 1)
        note(f"\n{self.kind} kill loop, journal_mode={mode}, seed {seed}: {stats}")
        self.assertGreater(floor, 0, "no transaction was ever committed: the kill loop tested nothing")

    def test_wal(self):
        self.loop("WAL", SEED)

    def test_rollback_journal(self):
        self.loop("DELETE", SEED + 1)


class TestKillIngest(KillLoop, Tmp):
    kind = "ingest"

    def extra_checks(self, db, ref, seed):
        # The loaded log-template models match as the reference's do.
        parts = [r[0] for r in ref.execute("SELECT DISTINCT partition FROM drain_clusters WHERE partition LIKE 'otlp.logs/%'")]
        probes = [b.format(*(["7"] * 3)) for b in torture.BODIES] + ["one-off event abcdefgh"]
        q = "SELECT drain_match(?, ?)"
        for p in parts:
            self.assertEqual([db.execute(q, (b, p)).fetchone()[0] for b in probes],
                             [ref.execute(q, (b, p)).fetchone()[0] for b in probes], p)


class TestKillDrain(KillLoop, Tmp):
    kind = "drain"

    def extra_checks(self, db, ref, seed):
        # Models loaded from the file give the templates of a model trained
        # on the committed lines only.
        q = "SELECT drain_match(?, ?)"
        probes = torture.drain_probes(seed)
        self.assertEqual([db.execute(q, (line, part)).fetchone()[0] for part, line in probes],
                         [ref.execute(q, (line, part)).fetchone()[0] for part, line in probes])


# ---------------------------------------------------------------------------
# Writers and readers


class TestWritersAndReaders(Tmp):
    """Four writer processes and two readers on one file. The writers follow
    tests/torture.py write_soak_txn (busy timeout, BEGIN IMMEDIATE, retry on
    SQLITE_BUSY); each transaction of writer w adds 20 spans, 8 INFO and 4
    ERROR log records and 10 metric points of service w, and records its
    number in soak_progress, so every read has exact totals to meet."""

    def soak(self, mode, writer_timeout_ms, reader_hold_ms=0):
        """Returns the writers' statistics."""
        db = connect(self.path)
        db.execute(f"PRAGMA journal_mode = {mode}")
        db.execute(torture.SOAK_PROGRESS)
        db.close()
        stop = os.path.join(self.dir, "stop")
        txns = 0 if SOAK_S else 15
        began = time.monotonic()
        procs = []
        self.addCleanup(lambda: [p.kill() for p in procs if p.poll() is None])
        readers = [subprocess.Popen([sys.executable, TORTURE, "reader", self.path, stop, str(reader_hold_ms)],
                                    stdout=subprocess.PIPE, stderr=subprocess.PIPE) for _ in range(2)]
        procs += readers
        for r in readers:   # each has read the empty catalog: it sees at least two states
            self.assertEqual(r.stdout.readline(), b"ready\n")
        writers = [subprocess.Popen([sys.executable, TORTURE, "writer", self.path, str(w), str(txns), str(SOAK_S),
                                     str(writer_timeout_ms)], stdout=subprocess.PIPE, stderr=subprocess.PIPE)
                   for w in range(4)]
        procs += writers
        try:
            wres = [w.communicate(timeout=300 + SOAK_S * 2) for w in writers]
        finally:
            with open(stop, "w"):
                pass
        rres = [r.communicate(timeout=120) for r in readers]
        for p, (out, err) in zip(writers + readers, wres + rres):
            self.assertEqual(p.returncode, 0, err.decode()[-3000:])
        wstats = [json.loads(out) for out, _ in wres]
        rstats = [json.loads(out) for out, _ in rres]
        note(f"\nsoak journal_mode={mode}, {time.monotonic() - began:.1f} s: writers {wstats}, readers {rstats}")
        for r in rstats:
            self.assertEqual(r["errors"], [])
            self.assertGreaterEqual(r["distinct_totals"], 2, r)
        db = connect(self.path)
        self.assertEqual(integrity(db), [("ok",)])
        progress, errors = torture.soak_read(db)
        self.assertEqual(errors, [])
        self.assertEqual(progress, {w["writer"]: w["txns"] for w in wstats})
        if txns:
            self.assertEqual(progress, {f"w{w}": txns for w in range(4)})
        # The totals, spelled out.
        total = sum(progress.values())
        self.assertEqual(db.execute("SELECT sum(total_sample_count) FROM spans").fetchone()[0], total * torture.SOAK_SPANS)
        self.assertEqual(dict(db.execute("SELECT severity, total_sample_count FROM logs")),
                         {sev: total * c for sev, c in torture.SOAK_LOGS.items()})
        self.assertEqual(db.execute("SELECT total_sample_count FROM metrics").fetchone()[0], total * torture.SOAK_POINTS)
        self.assertEqual(db.execute("SELECT sum(count) FROM log_body_templates").fetchone()[0],
                         total * sum(torture.SOAK_LOGS.values()))
        self.assertEqual(db.execute("SELECT DISTINCT key_count FROM span_keys WHERE key_name = 'writer'").fetchall(),
                         [(total * torture.SOAK_SPANS // 4,)])
        return wstats

    def test_wal(self):
        self.soak("WAL", 10000)

    def test_rollback_journal_with_short_timeout(self):
        """In rollback-journal mode a COMMIT waits for readers to finish;
        with readers holding their reads 10 ms and a 2 ms busy timeout, it
        often fails with SQLITE_BUSY and is retried (otlp_ingest has
        written its rows before: the retry must not write them twice)."""
        wstats = self.soak("DELETE", 2, 10)
        self.assertGreater(sum(w["commit_busy"] for w in wstats), 0, "no COMMIT was ever retried")


# ---------------------------------------------------------------------------
# Disk full


class Recorder:
    """A connection that remembers the statement it ran last."""

    def __init__(self, db):
        self.db, self.last = db, None

    def execute(self, sql, params=()):
        self.last = sql
        return self.db.execute(sql, params)


class FillUp:
    """Transactions into a file that runs out of room (`squeeze` takes it
    away a little more after each commit) until one fails; the error must be
    SQLite's SQLITE_FULL, the file and the connection must then hold exactly
    the committed transactions, and once room is back (`free`) the same
    connection goes on and every total adds up. TORTURE_N / 10 rounds of
    that (at least 2, at most 25)."""

    def squeeze(self, db, step):
        raise NotImplementedError

    def free(self, db):
        """Gives the room back (db None: the test is over); False if there
        was nothing to give back."""
        raise NotImplementedError

    def check(self, db, ref):
        fresh = connect(self.path)
        try:
            for other in (fresh, db):
                self.assertEqual(integrity(other), [("ok",)])
                got, want = torture.dump(other), torture.dump(ref)
                self.assertEqual(got, want, torture.first_difference(got, want))
                self.assertEqual(other.execute("SELECT * FROM drain_clusters ORDER BY 1, 2").fetchall(),
                                 ref.execute("SELECT * FROM drain_clusters ORDER BY 1, 2").fetchall())
        finally:
            fresh.close()

    def run_until_full(self, mode, txn, name):
        for suffix in ("", "-wal", "-shm", "-journal"):
            if os.path.exists(self.path + suffix):
                os.remove(self.path + suffix)
        db = connect(self.path)
        try:
            self.rounds(db, mode, txn, name)
        finally:
            db.close()
            self.free(None)

    def rounds(self, db, mode, txn, name):
        torture.prepare(db, mode)
        rec = Recorder(db)
        ref = connect()
        torture.prepare(ref, None)
        n, errors = 0, []
        for _ in range(min(25, max(2, N // 10))):
            for _ in range(3):
                txn(db, SEED, n)
                txn(ref, SEED, n)
                n += 1
            step = 0
            while True:
                self.squeeze(db, step)
                step += 1
                try:
                    txn(rec, SEED, n)
                except sqlite3.Error as e:
                    error = e
                    break
                txn(ref, SEED, n)
                n += 1
                self.assertLess(step, 200, "never ran out of room")
            errors.append(f"transaction {n}, {rec.last.split('(')[0].strip()}: {error}")
            # SQLite's SQLITE_FULL, with its words; when it comes while
            # otlp_ingest writes its rows (in COMMIT), the message says so.
            self.assertEqual(error.sqlite_errorcode & 0xff, SQLITE_FULL, str(error))
            self.assertTrue(str(error).endswith("database or disk is full"), str(error))
            if name == "otlp_ingest" and str(error) != "database or disk is full":
                self.assertTrue(str(error).startswith("otlp_ingest: writing "), str(error))
            if db.in_transaction:
                db.execute("ROLLBACK")
            # Still full: the file and this connection hold the last commit.
            self.check(db, ref)
            # Room again: the same connection goes on, and the totals add up.
            self.assertTrue(self.free(db), "the file was full before it was squeezed")
            txn(db, SEED, n)
            txn(ref, SEED, n)
            n += 1
            self.check(db, ref)
        note(f"\n{type(self).__name__} {name} journal_mode={mode}: full at " + "; ".join(errors))


class TestDiskFull(FillUp, unittest.TestCase):
    """A catalog on a 16 MB tmpfs (room for a WAL of 1000 pages, at which
    SQLite checkpoints, and for the catalog of 25 rounds), filled by a
    filler file that grows after each commit; room comes back when the
    filler is deleted."""

    def setUp(self):
        if os.geteuid() != 0:
            self.skipTest("mounting a tmpfs to fill needs root")
        self.dir = tempfile.mkdtemp(prefix="otelcat-full-")
        self.addCleanup(shutil.rmtree, self.dir, True)
        r = subprocess.run(["mount", "-t", "tmpfs", "-o", "size=16m", "tmpfs", self.dir], capture_output=True, text=True)
        if r.returncode:
            self.skipTest(f"mount -t tmpfs failed: {r.stderr.strip() or r.returncode}")
        self.addCleanup(subprocess.run, ["umount", "-l", self.dir])
        self.path = os.path.join(self.dir, "c.db")
        self.filler = os.path.join(self.dir, "filler")

    def squeeze(self, db, step):
        """Grows the filler until about 512 kB - 48 kB * step are free."""
        st = os.statvfs(self.dir)
        extra = st.f_bavail * st.f_frsize - max(0, 512 * 1024 - 48 * 1024 * step)
        if extra > 0:
            try:
                with open(self.filler, "ab") as f:
                    f.write(b"\0" * extra)
            except OSError:
                pass   # full already

    def free(self, db):
        if not os.path.exists(self.filler):
            return False
        os.remove(self.filler)
        return True

    def test_otlp_ingest(self):
        for mode in ("WAL", "DELETE"):
            with self.subTest(mode):
                self.run_until_full(mode, torture.ingest_txn, "otlp_ingest")

    def test_drain_template_wal(self):
        # In WAL mode the pages reach the disk at COMMIT, which fails cleanly.
        self.run_until_full("WAL", torture.drain_txn, "drain_template")

    def test_drain_template_rollback_journal(self):
        self.run_until_full("DELETE", torture.drain_txn, "drain_template")


class TestMaxPageCount(FillUp, Tmp):
    """The same without root: `PRAGMA max_page_count` caps the file just
    above its size, a little lower after each commit; SQLite then fails
    writes with SQLITE_FULL as on a full disk."""

    def squeeze(self, db, step):
        pages = db.execute("PRAGMA page_count").fetchone()[0]
        db.execute(f"PRAGMA max_page_count = {pages + max(0, 24 - 4 * step)}").fetchall()

    def free(self, db):
        if db is not None:
            db.execute("PRAGMA max_page_count = 1073741823").fetchall()
        return True

    def test_otlp_ingest(self):
        for mode in ("WAL", "DELETE"):
            with self.subTest(mode):
                self.run_until_full(mode, torture.ingest_txn, "otlp_ingest")


class TestDrainStatementEndWrite(Tmp):
    """drain_template writes what a statement learned when the statement
    ends, from a destructor that cannot return an error (src/drain/mod.rs,
    StmtScope::drop). A write that fails there is retried or reported by
    the next statement, and the models never keep what the file lost."""

    def words(self, rnd, n):
        return " ".join("".join(rnd.choice("abcdefghijklmnopqrstuvwxyz") for _ in range(12)) for _ in range(n))

    def test_a_full_file_fails_the_commit(self):
        """Inside BEGIN … COMMIT the drain functions join the transaction
        and write what they learned when it commits: a full file fails the
        COMMIT with SQLite's error, the transaction rolls back, and nothing
        of it is kept, in the file or in the models."""
        rnd = random.Random(1)
        db = connect(self.path)
        db.execute("CREATE TABLE t(x)")
        db.execute("SELECT drain_template('warm up', 'p')").fetchall()
        pages = db.execute("PRAGMA page_count").fetchone()[0]
        db.execute(f"PRAGMA max_page_count = {pages}").fetchall()
        db.execute("BEGIN")
        db.execute("INSERT INTO t VALUES (1)")
        for i in range(100):
            db.execute("SELECT drain_template(?, 'p')", (self.words(rnd, 20),)).fetchall()
            self.assertTrue(db.in_transaction)
        with self.assertRaises(sqlite3.Error) as e:
            db.execute("COMMIT")
        self.assertEqual(e.exception.sqlite_errorcode & 0xff, 13, str(e.exception))   # SQLITE_FULL
        self.assertIn("database or disk is full", str(e.exception))
        self.assertFalse(db.in_transaction)
        db.execute(f"PRAGMA max_page_count = {pages * 100}").fetchall()
        self.assertEqual(db.execute("SELECT count(*) FROM t").fetchone()[0], 0)
        # The models hold what the file holds: the warm-up line only.
        self.assertEqual(db.execute("SELECT template, size FROM drain_clusters('p')").fetchall(), [("warm up", 1)])
        other = connect(self.path)
        self.assertEqual(other.execute("SELECT template, size FROM drain_clusters('p')").fetchall(), [("warm up", 1)])
        # And learning goes on.
        db.execute("SELECT drain_template('warm up', 'p')").fetchall()
        self.assertEqual(other.execute("SELECT size FROM drain_clusters('p')").fetchall(), [(2,)])

    def test_learning_of_an_autocommit_statement_is_not_lost(self):
        """Rollback-journal mode, another connection reading: the autocommit
        of a drain_template statement's write cannot get the exclusive lock
        (SQLITE_BUSY after the busy timeout) and SQLite rolls it back. The
        statement has returned its template: what it learned stays in the
        models, dirty, and the next statement writes it (three "user ...
        logged in" lines make "user <*> logged in", all counted)."""
        db = connect(self.path)
        db.execute("PRAGMA journal_mode = DELETE")
        db.execute("PRAGMA busy_timeout = 50")
        db.execute("SELECT drain_template('first line here', 'p')").fetchall()
        reader = connect(self.path)
        reader.execute("BEGIN")
        reader.execute("SELECT count(*) FROM otelcat_drain_clusters").fetchall()
        succeeded = 0
        for line in ("user bob logged in", "user ann logged in", "user eve logged in"):
            try:
                db.execute("SELECT drain_template(?, 'p')", (line,)).fetchall()
                succeeded += 1
            except sqlite3.Error:
                pass
        reader.execute("COMMIT")
        db.execute("SELECT drain_template('user joe logged in', 'p')").fetchall()
        stored = connect(self.path).execute(
            "SELECT sum(size) FROM otelcat_drain_clusters WHERE partition = 'p'").fetchone()[0]
        self.assertEqual(stored, 1 + succeeded + 1, "lines counted in the file: the first, those that "
                         "succeeded, and the last")

    def test_wal_busy_write_lock_keeps_the_learning(self):
        """The WAL counterpart holds: the statement-end write cannot get the
        write lock, the clusters stay dirty, the next statement writes them."""
        db = connect(self.path)
        db.execute("PRAGMA journal_mode = WAL")
        db.execute("PRAGMA busy_timeout = 50")
        db.execute("SELECT drain_template('first line here', 'p')").fetchall()
        writer = connect(self.path)
        writer.execute("BEGIN IMMEDIATE")
        for line in ("user bob logged in", "user ann logged in", "user eve logged in"):
            db.execute("SELECT drain_template(?, 'p')", (line,)).fetchall()
        writer.execute("COMMIT")
        self.assertEqual(db.execute("SELECT drain_template('user joe logged in', 'p')").fetchone()[0],
                         "user <*> logged in")
        self.assertEqual(connect(self.path).execute(
            "SELECT template, size FROM otelcat_drain_clusters WHERE partition = 'p' ORDER BY cluster_id").fetchall(),
            [("first line here", 1), ("user <*> logged in", 4)])


if __name__ == "__main__":
    unittest.main()
