"""Shared helpers for the Python tests (run with Debian's python3 or a venv on it)."""
import os
import sqlite3

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
# The extension the tests load; OTELCAT_TEST_EXT names another build (the
# child processes of the panic tests load the one with the test hooks).
EXT = os.environ.get("OTELCAT_TEST_EXT") or os.path.join(ROOT, "dist", "otelcat")
# The build with the panic hooks (cargo feature test-hooks), made by `make`.
HOOKS_EXT = os.path.join(ROOT, "dist", "test-hooks", "otelcat")
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


def hooks_env():
    """The environment of a child process that loads the build with the test
    hooks. Fails (never skips) when that build is missing."""
    if not os.path.exists(HOOKS_EXT + ".so"):
        raise AssertionError(f"{HOOKS_EXT}.so is missing: build it with `make {os.path.relpath(HOOKS_EXT, ROOT)}.so`")
    return dict(os.environ, OTELCAT_TEST_EXT=HOOKS_EXT)


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
