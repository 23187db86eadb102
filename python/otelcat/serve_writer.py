"""otelcat serve's writer: one thread, the only connection to the catalog.

Requests arrive as Jobs in a queue, in order. The writer ingests each into
the open batch transaction (one INSERT INTO otlp_ingest a request), commits
the batch, and only then answers its requests 200. When another writer
holds the database's write lock (SQLITE_BUSY), nothing fails: the writer
keeps the waiting requests in their order and tries again with backoff; a
request still waiting at its deadline is answered 503 (retryable) and was
never written. When SQLite rolls a batch back because of a lock, its
requests are ingested again, in the same order, in the next transaction.
"""
import collections
import queue
import random
import sqlite3
import threading
import time
import traceback

from .serve_common import QUEUED, log

STOP = object()
WAKE = object()
INSERT_PROTOBUF = "INSERT INTO otlp_ingest(payload, signal) VALUES (?, ?)"
# JSON goes in as TEXT, which otlp_ingest always reads as OTLP/JSON.
INSERT_JSON = "INSERT INTO otlp_ingest(payload, signal) VALUES (CAST(? AS TEXT), ?)"
# Errors of otlp_ingest that are about the payload (400), after "otlp_ingest: ".
PAYLOAD_ERRORS = ("invalid ", "OTLP payload too large", "the JSON payload holds another signal", "payload ",
                  "a protobuf payload needs", "too many ", "attribute", "nesting")
# Each attempt to take the write lock waits this long inside SQLite (its busy
# handler), then the writer's own backoff takes over, checking deadlines.
BUSY_SLICE_MS = 100
BACKOFF_MIN, BACKOFF_MAX = 0.005, 0.25

_BUSY_CODES = (5, 6)         # SQLITE_BUSY, SQLITE_LOCKED (primary codes)
_RETRYABLE_CODES = (13, 10, 7, 14)  # SQLITE_FULL, SQLITE_IOERR, SQLITE_NOMEM, SQLITE_CANTOPEN


def _primary(e):
    code = getattr(e, "sqlite_errorcode", None)
    if code is not None:
        return code & 0xFF
    msg = str(e)  # Python before 3.11: no error code on the exception
    if "database is locked" in msg or "database table is locked" in msg or "database schema is locked" in msg:
        return 5
    if "disk is full" in msg or "disk I/O error" in msg:
        return 13
    return 1


def is_busy(e):
    return _primary(e) in _BUSY_CODES


def classify(e):
    """HTTP status for an error of one INSERT or COMMIT: the payload's fault
    (400), a transient state of the machine (503: disk full, I/O error,
    lock), or a fault of the catalog or ours (500)."""
    msg = str(e)
    if msg.startswith("otlp_ingest: ") and msg[len("otlp_ingest: "):].startswith(PAYLOAD_ERRORS):
        return 400
    if _primary(e) in _BUSY_CODES + _RETRYABLE_CODES:
        return 503
    return 500


class Writer(threading.Thread):
    def __init__(self, db_path, connect, batch_size=512, batch_ms=100.0, linger_ms=0.0, synchronous="FULL",
                 cache_mb=64, verbose=False):
        super().__init__(name="otelcat-writer", daemon=True)
        self.db_path, self.connect = db_path, connect
        self.batch_size, self.batch_s = batch_size, batch_ms / 1000.0
        self.linger_s = min(linger_ms, batch_ms) / 1000.0
        self.synchronous, self.cache_mb, self.verbose = synchronous, cache_mb, verbose
        self.q = queue.SimpleQueue()
        self.ready = threading.Event()
        self.dead = threading.Event()  # the loop failed: nothing is answered any more
        self.on_death = None
        self.error = None
        self.flush_now = False        # set at shutdown: commit without lingering
        self.give_up_at = None        # set at shutdown: past it, stop retrying locks
        self.busy_since = None        # start of the current wait for another writer's lock
        self.count_lock = threading.Lock()
        self.stats = {"batches": 0, "requests": 0, "failed": 0, "expired": 0, "busy_waits": 0, "busy_s": 0.0,
                      "requeued": 0, "sqlite_s": 0.0, "cpu": 0.0}

    # --- called from other threads

    def submit(self, job):
        self.q.put(job)

    def wake(self):
        self.q.put(WAKE)

    def stop(self):
        self.q.put(STOP)

    # --- the thread

    def open(self):
        db = sqlite3.connect(self.db_path, isolation_level=None, check_same_thread=False, cached_statements=16)
        try:
            self.connect(db)
            db.execute("PRAGMA busy_timeout = 5000")
            mode = db.execute("PRAGMA journal_mode = WAL").fetchone()[0]
            if mode.lower() != "wal" and self.db_path != ":memory:":
                log(f"warning: journal_mode is {mode}, not wal: readers will block the writer")
            db.execute(f"PRAGMA synchronous = {self.synchronous}")
            # A page cache larger than the catalog: a commit rewrites most key
            # rows, and SQLite's default 2 MiB cache would spill and re-read them.
            db.execute(f"PRAGMA cache_size = {-1024 * int(self.cache_mb)}")
            db.execute(f"PRAGMA busy_timeout = {BUSY_SLICE_MS}")
        except BaseException:
            db.close()
            raise
        return db

    def run(self):
        try:
            db = self.open()
        except BaseException as e:  # reported by main, which exits 2
            self.error = e
            self.ready.set()
            return
        self.ready.set()
        self.waiting = collections.deque()  # received, not yet ingested, in order
        self.pending = []                   # ingested in the open transaction, waiting for its commit
        try:
            self.loop(db)
        except BaseException as e:  # a bug: answer everyone, then main exits 1
            self.error = e
            log("writer failed:\n" + traceback.format_exc())
            self.dead.set()
            self.fail(self.pending + list(self.waiting), 503, f"receiver error: {e}")
            while True:
                try:
                    job = self.q.get_nowait()
                except queue.Empty:
                    break
                if hasattr(job, "finish"):
                    job.finish(503, f"receiver error: {e}")
            if self.on_death:
                self.on_death()
        finally:
            self.stats["cpu"] = time.thread_time()
            try:
                if db.in_transaction:
                    db.execute("ROLLBACK")
                db.close()
            except sqlite3.Error as e:
                log(f"closing the database: {e}")

    def _take(self, item):
        if item is STOP:
            self.stopping = True
        elif item is not WAKE and item is not None:
            self.waiting.append(item)

    def _drain(self):
        while True:
            try:
                self._take(self.q.get_nowait())
            except queue.Empty:
                return

    def loop(self, db):
        clock, q, waiting = time.monotonic, self.q, self.waiting
        self.stopping = False
        batch_due = 0.0      # the open batch commits at the latest then
        last = 0.0           # when the last request was ingested
        retry_at = 0.0       # no lock attempt before then (backoff)
        backoff = 0.0
        self.busy_since = None  # start of the current wait for the lock
        must_commit = False  # a COMMIT failed on a lock and is to be retried
        while True:
            # 1. Take what came; wait when there is nothing to do yet.
            self._drain()
            t = clock()
            if t < retry_at and (waiting or must_commit):  # backing off from a lock
                wait = min([retry_at] + [j.deadline for j in waiting]) - t
            elif waiting:
                wait = 0
            elif self.pending or db.in_transaction:
                wait = 0 if (self.flush_now or self.stopping or must_commit) else \
                    min(batch_due, last + self.linger_s) - t
            elif self.stopping:
                return
            else:
                wait = None
            if wait is None or wait > 0:
                try:
                    self._take(q.get(timeout=wait))
                except queue.Empty:
                    pass
                self._drain()

            # 2. Requests whose deadline passed before they could be ingested
            # are answered 503 and never written.
            t = clock()
            if waiting and any(j.deadline <= t or j.state != QUEUED for j in waiting):
                keep = [j for j in waiting if j.deadline > t and j.state == QUEUED]
                gone = [j for j in waiting if j.deadline <= t and j.state == QUEUED]
                waiting.clear()
                waiting.extend(keep)
                self.expire(gone)
            give_up = self.give_up_at is not None and t >= self.give_up_at

            # 3. A commit that failed on a lock is retried first.
            if must_commit:
                if give_up:
                    self.abandon(db, "shutdown timeout: the catalog stayed locked")
                    must_commit = False
                    continue
                if t < retry_at:
                    continue
                ok = self.commit(db)
                if ok is not True and ok is not False:  # locked again (or rolled back and put back in the queue)
                    must_commit = ok == "locked"
                    backoff, retry_at = self.backoff(backoff)
                    continue
                must_commit = False
                backoff = 0.0
                continue

            # 4. Ingest what is waiting, into the open batch or a new one.
            if waiting and t >= retry_at and len(self.pending) < self.batch_size:
                if not db.in_transaction:
                    if give_up:
                        self.fail(list(waiting), 503, "not stored: the receiver is shutting down and the catalog "
                                  "is locked by another writer; retry later")
                        waiting.clear()
                        continue
                    t0 = clock()
                    began = self.begin(db)
                    self.stats["sqlite_s"] += clock() - t0
                    if began is None:
                        continue
                    if not began:
                        if self.busy_since is None:
                            self.busy_since = t
                            log(f"the catalog is locked by another writer: {len(waiting)} request(s) wait, "
                                "retrying with backoff")
                        self.stats["busy_waits"] += 1
                        backoff, retry_at = self.backoff(backoff)
                        continue
                    if self.busy_since is not None:
                        waited = clock() - self.busy_since
                        self.stats["busy_s"] += waited
                        log(f"got the write lock after {waited:.2f} s")
                        self.busy_since = None
                    backoff = 0.0
                    batch_due = clock() + self.batch_s
                # Up to --batch-size requests, and no later than --batch-ms
                # after the batch began (one request at least).
                while waiting and len(self.pending) < self.batch_size and (not self.pending or clock() < batch_due):
                    job = waiting.popleft()
                    if job.deadline <= clock():
                        self.expire([job])
                        continue
                    if not job.take():  # answered already, at its deadline
                        continue
                    state = self.ingest(db, job)
                    if state == "retry":
                        backoff, retry_at = self.backoff(backoff)
                        break
                    last = clock()

            # 5. Commit when the batch is full or due, when no request is
            # waiting (after lingering), or at shutdown.
            if db.in_transaction:
                t = clock()
                if (len(self.pending) >= self.batch_size or t >= batch_due or self.flush_now or self.stopping
                        or (not waiting and t >= last + self.linger_s)):
                    ok = self.commit(db)
                    if ok is not True and ok is not False:
                        must_commit = ok == "locked"
                        backoff, retry_at = self.backoff(backoff)

    def expiry_message(self):
        why = "the catalog stayed locked by another writer" if self.busy_since is not None else \
            "the receiver was busy with earlier requests"
        return f"not stored: {why} until the request's deadline; retry later"

    def expire(self, jobs):
        """Answers 503 the jobs still queued at their deadline (never written)."""
        message = self.expiry_message()
        n = sum(1 for j in jobs if j.expire(message))
        if n:
            self.count_expired(n)
            log(f"{n} request(s): 503 {message}")

    def count_expired(self, n=1):
        with self.count_lock:
            self.stats["expired"] += n

    @staticmethod
    def backoff(prev):
        b = BACKOFF_MIN if prev <= 0 else min(BACKOFF_MAX, prev * 2)
        return b, time.monotonic() + b * random.uniform(0.8, 1.2)

    def begin(self, db):
        """True once a write transaction is open; False while the lock is
        held by another connection; None when another error failed the
        waiting requests."""
        try:
            db.execute("BEGIN IMMEDIATE")
            return True
        except sqlite3.Error as e:
            if is_busy(e):
                return False
            code = classify(e)
            jobs = list(self.waiting)
            self.waiting.clear()
            self.fail(jobs, code, f"not stored: cannot start a transaction: {e}")
            return None

    def ingest(self, db, job):
        """One request, one INSERT in the batch transaction: "ok" (ingested
        or answered with its error), or "retry" (a lock: the request, and the
        batch if SQLite rolled it back, wait at the head of the queue)."""
        t0 = time.monotonic()
        try:
            db.execute(INSERT_JSON if job.is_json else INSERT_PROTOBUF, (job.payload, job.signal))
        except sqlite3.Error as e:
            self.stats["sqlite_s"] += time.monotonic() - t0
            if not db.in_transaction:
                # SQLite rolled the whole transaction back: nothing of the
                # batch is written. On a lock, everything goes again, in order.
                again = self.pending + [job]
                self.pending = []
                if is_busy(e):
                    self.stats["requeued"] += len(again)
                    for j in again:
                        j.requeue()
                    self.waiting.extendleft(reversed(again))
                    log(f"a lock rolled the batch back ({e}): {len(again)} request(s) are ingested again")
                    return "retry"
                self.fail(again, classify(e), f"not stored: the batch transaction was rolled back: {e}")
                return "ok"
            if is_busy(e):
                job.requeue()
                self.waiting.appendleft(job)
                return "retry"
            self.stats["failed"] += 1
            job.finish(classify(e), str(e))
            return "ok"
        dt = time.monotonic() - t0
        self.stats["sqlite_s"] += dt
        if dt > 1.0:
            log(f"slow request: {job.size} bytes of {job.signal} from {job.peer or '?'} took {dt:.2f} s to ingest")
        # The payload stays with the job until the commit: a rollback would
        # ingest it again.
        self.pending.append(job)
        return "ok"

    def commit(self, db):
        """True: committed and answered. "locked": the transaction is still
        open, to be committed again. "requeued": a lock rolled it back and its
        requests are back at the head of the queue. False: failed, its
        requests answered with the error."""
        t0 = time.monotonic()
        pending = self.pending
        try:
            db.execute("COMMIT")
        except sqlite3.Error as e:
            self.stats["sqlite_s"] += time.monotonic() - t0
            if is_busy(e):
                if db.in_transaction:
                    return "locked"
                self.pending = []
                self.stats["requeued"] += len(pending)
                for j in pending:
                    j.requeue()
                self.waiting.extendleft(reversed(pending))
                log(f"a lock rolled the batch back at its commit ({e}): {len(pending)} request(s) are ingested again")
                return "requeued"
            if db.in_transaction:
                try:
                    db.execute("ROLLBACK")
                except sqlite3.Error:
                    pass
            self.pending = []
            self.fail(pending, classify(e), f"not stored: the commit failed: {e}")
            return False
        dt = time.monotonic() - t0
        self.stats["sqlite_s"] += dt
        self.pending = []
        for j in pending:
            j.finish(200)
        if pending:
            self.stats["batches"] += 1
            self.stats["requests"] += len(pending)
        if self.verbose and pending:
            log(f"batch: {len(pending)} request(s) committed in {1000 * dt:.1f} ms")
        return True

    def abandon(self, db, why):
        try:
            db.execute("ROLLBACK")
        except sqlite3.Error:
            pass
        pending, self.pending = self.pending, []
        self.fail(pending, 503, f"not stored: {why}; retry later")

    def fail(self, jobs, code, message, retry_after=1, count=True):
        if not jobs:
            return
        if count:
            self.stats["failed"] += len(jobs)
        log(f"{len(jobs)} request(s): {code} {message}")
        for j in jobs:
            j.finish(code, message, retry_after)
