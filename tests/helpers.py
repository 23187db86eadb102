"""Shared helpers for the Python tests (run with Debian's python3 or a venv on it)."""
import os
import sqlite3

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
EXT = os.path.join(ROOT, "dist", "otelcat")
FIXTURES = os.path.join(ROOT, "tests", "fixtures")
SHARED = os.path.join(os.path.dirname(ROOT), "shared")


def connect(path=":memory:", **kw):
    """A connection with otelcat loaded, autocommit unless isolation_level is given."""
    kw.setdefault("isolation_level", None)
    db = sqlite3.connect(path, **kw)
    db.enable_load_extension(True)
    db.load_extension(EXT)
    db.enable_load_extension(False)
    return db


def series(n):
    """SQL for a table expression s(v) of 1..n that works in every host."""
    return f"WITH RECURSIVE s(v) AS (SELECT 1 UNION ALL SELECT v + 1 FROM s WHERE v < {int(n)})"


def err(db, sql, params=()):
    """The text of the SQL error `sql` raises (fails the test when none)."""
    try:
        db.execute(sql, params).fetchall()
    except sqlite3.Error as e:
        return str(e)
    raise AssertionError(f"no error from {sql!r}")
