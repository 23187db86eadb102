"""otelcat: a SQLite extension that turns a database into a telemetry
metadata catalog for OpenTelemetry data.

    import sqlite3, otelcat
    db = sqlite3.connect("catalog.db")
    otelcat.load(db)

`loadable_path()` is the path of the bundled extension (without its file
suffix, as SQLite's load_extension takes it); `load(conn)` loads it into a
`sqlite3.Connection` (or anything with `enable_load_extension` and
`load_extension`, such as sqlite-utils' `Database.conn`).
"""
import os

from ._version import __version__

__all__ = ["__version__", "loadable_path", "load", "ExtensionLoadError"]

_HERE = os.path.dirname(os.path.abspath(__file__))


class ExtensionLoadError(RuntimeError):
    """The Python interpreter's sqlite3 module cannot load extensions."""


def loadable_path():
    """The extension's path without suffix (SQLite adds .so/.dylib/.dll).

    The environment variable OTELCAT_LOADABLE_PATH overrides it (for
    development against a freshly built dist/otelcat)."""
    override = os.environ.get("OTELCAT_LOADABLE_PATH")
    if override:
        return override
    return os.path.join(_HERE, "otelcat")


def load(conn):
    """Loads otelcat into the connection `conn`."""
    if not hasattr(conn, "enable_load_extension"):
        import sys

        raise ExtensionLoadError(
            f"this Python ({sys.executable}) has a sqlite3 module built without extension loading "
            "(SQLITE_OMIT_LOAD_EXTENSION); use an interpreter that allows it, such as Debian's "
            "/usr/bin/python3 or python.org's builds, or a venv made from one of them"
        )
    conn.enable_load_extension(True)
    try:
        conn.load_extension(loadable_path())
    finally:
        conn.enable_load_extension(False)
