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
import sys

from ._version import __version__

__all__ = ["__version__", "loadable_path", "load", "ExtensionLoadError"]

_HERE = os.path.dirname(os.path.abspath(__file__))


class ExtensionLoadError(RuntimeError):
    """The Python interpreter's sqlite3 module cannot load extensions, or the
    bundled extension is missing."""


def loadable_path():
    """The extension's path without suffix (SQLite adds .so/.dylib/.dll).

    The environment variable OTELCAT_LOADABLE_PATH overrides it (for
    development against a freshly built dist/otelcat)."""
    override = os.environ.get("OTELCAT_LOADABLE_PATH")
    if override:
        return override
    return os.path.join(_HERE, "otelcat")


def _cannot_load_message():
    """Why this interpreter cannot load extensions, and which one can."""
    msg = (f"this Python ({sys.executable}) has a sqlite3 module built without extension loading "
           "(SQLITE_OMIT_LOAD_EXTENSION, as pyenv and some other builds are by default); "
           "use an interpreter whose sqlite3 can load extensions")
    if sys.executable != "/usr/bin/python3" and os.path.exists("/usr/bin/python3"):
        msg += ", such as this machine's /usr/bin/python3 (or a venv made from it: /usr/bin/python3 -m venv .venv)"
    else:
        msg += ", such as Debian's or Ubuntu's /usr/bin/python3 or python.org's builds"
    return msg + ("; with pyenv, rebuild with PYTHON_CONFIGURE_OPTS=--enable-loadable-sqlite-extensions "
                  "pyenv install VERSION")


def load(conn):
    """Loads otelcat into the connection `conn` (a sqlite3.Connection, or an
    object with enable_load_extension and load_extension)."""
    if not hasattr(conn, "enable_load_extension"):
        raise ExtensionLoadError(_cannot_load_message())
    path = loadable_path()
    if not os.environ.get("OTELCAT_LOADABLE_PATH") and not os.path.exists(path + ".so"):
        raise ExtensionLoadError(f"the bundled extension {path}.so is missing: reinstall otelcat")
    conn.enable_load_extension(True)
    try:
        conn.load_extension(path)
    finally:
        conn.enable_load_extension(False)
