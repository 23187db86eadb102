#!/usr/bin/python3
"""Open an otelcat catalog in Datasette, with the extension loaded, the
catalog's metadata, the cookbook's canned queries and a chart dashboard.

    examples/datasette/explore.py [DB] [--port PORT] [--host HOST]
    make explore [DB=demo.db] [PORT=8001]

DB defaults to demo.db (built by `make demo`). Datasette runs from a
virtualenv on Debian's /usr/bin/python3, whose sqlite3 module can load
extensions: by default the project's .venv (VENV=... to choose); when that
venv lacks the pinned Datasette, this script installs
examples/datasette/requirements.txt into it (--no-install: fail instead).

Datasette runs with otelcat's Datasette plugin from this checkout
(python/otelcat/datasette_plugin.py, the one `pip install otelcat` installs):
it loads dist/otelcat into every connection and gives the catalog the
metadata of examples/datasette/metadata.yml (which names the database
"catalog"; the plugin renames it to the name Datasette gives the file).
"""
import argparse
import os
import re
import signal
import sqlite3
import subprocess
import sys

HERE = os.path.dirname(os.path.abspath(__file__))
ROOT = os.path.dirname(os.path.dirname(HERE))
EXT = os.path.join(ROOT, "dist", "otelcat")
REQUIREMENTS = os.path.join(HERE, "requirements.txt")
REEXEC = "OTELCAT_EXPLORE_IN_VENV"


def fail(msg, code=2):
    print(f"explore: {msg}", file=sys.stderr)
    sys.exit(code)


def pinned_datasette():
    with open(REQUIREMENTS) as f:
        m = re.search(r"^datasette==(\S+)", f.read(), re.M)
    return m.group(1)


def has_datasette(python=None):
    """True when `python` (default: this interpreter) imports the pinned Datasette."""
    want = pinned_datasette()
    if python is None:
        try:
            import datasette.version
        except ImportError:
            return False
        return datasette.version.__version__ == want
    if not os.path.exists(python):
        return False
    probe = "import datasette.version, sys; sys.exit(datasette.version.__version__ != sys.argv[1])"
    return subprocess.run([python, "-c", probe, want], stdout=subprocess.DEVNULL,
                          stderr=subprocess.DEVNULL).returncode == 0


def ensure_venv(venv, install):
    """The venv's python, created on Debian's interpreter and given the pinned
    Datasette when it lacks it."""
    python = os.path.join(venv, "bin", "python")
    if has_datasette(python):
        return python
    if not install:
        fail(f"{venv} has no datasette=={pinned_datasette()}: "
             f"{python} -m pip install -r {os.path.relpath(REQUIREMENTS)}")
    if not os.path.exists(python):
        syspy = os.environ.get("SYSPY", "/usr/bin/python3")
        print(f"explore: creating {venv} on {syspy}", file=sys.stderr)
        subprocess.run([syspy, "-m", "venv", venv], check=True)
    print(f"explore: installing {os.path.relpath(REQUIREMENTS)} into {venv}", file=sys.stderr)
    subprocess.run([python, "-m", "pip", "install", "--quiet", "--disable-pip-version-check",
                    "-r", REQUIREMENTS], check=True)
    return python


def check_host(db_path):
    """This interpreter's sqlite3 loads the extension, and db_path is a catalog."""
    con = sqlite3.connect(":memory:")
    if not hasattr(con, "enable_load_extension"):
        fail(f"{sys.executable}: this Python's sqlite3 cannot load extensions; "
             "use a venv on Debian's /usr/bin/python3 (VENV=...)")
    con.enable_load_extension(True)
    try:
        con.load_extension(EXT)
    except sqlite3.OperationalError as e:
        fail(f"cannot load {EXT}: {e} (run `make` first)")
    con.close()
    uri = "file:" + os.path.abspath(db_path) + "?mode=ro"
    with sqlite3.connect(uri, uri=True) as con:
        tables = {r[0] for r in con.execute("SELECT name FROM sqlite_master WHERE type = 'table'")}
    if "metrics" not in tables:
        print(f"explore: warning: {db_path} has no catalog tables yet "
              "(they appear on the first INSERT INTO otlp_ingest); the canned queries will fail",
              file=sys.stderr)


def register_plugin():
    """otelcat's Datasette plugin (python/otelcat/datasette_plugin.py, what
    `pip install otelcat` installs) from this checkout, on dist/otelcat: it
    loads the extension into every connection and gives the catalog its
    metadata, canned queries and dashboard."""
    from datasette.plugins import pm
    if pm.get_plugin("otelcat") is not None:
        print("explore: using the otelcat package installed in this venv", file=sys.stderr)
        return
    os.environ["OTELCAT_LOADABLE_PATH"] = EXT
    sys.path.insert(0, os.path.join(ROOT, "python"))
    import otelcat.datasette_plugin
    pm.register(otelcat.datasette_plugin, name="otelcat")


def serve(args):
    from pathlib import Path
    from urllib.parse import quote
    from datasette.cli import cli

    db_name = Path(args.db).stem      # how Datasette names a database file
    check_host(args.db)
    register_plugin()
    # After its graceful shutdown uvicorn re-raises SIGTERM to the handler it
    # found: make that an exit.
    signal.signal(signal.SIGTERM, lambda *_: sys.exit(128 + signal.SIGTERM))
    base = f"http://{args.host}:{args.port}"
    print(f"otelcat catalog {args.db} in Datasette (Ctrl-C stops it):")
    print(f"  tables, views, canned queries  {base}/{quote(db_name)}")
    print(f"  charts                         {base}/-/dashboards/otelcat")
    print(f"  semantic conventions           {base}/-/dashboards/semconv", flush=True)
    argv = ["serve", os.path.abspath(args.db),
            "--host", args.host, "--port", str(args.port),
            # Canned queries over every key of a large catalog may take
            # more than Datasette's default second.
            "--setting", "sql_time_limit_ms", str(args.time_limit_ms)]
    cli.main(args=argv, prog_name="datasette")


def main():
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("db", nargs="?", default=os.environ.get("DB") or "demo.db",
                    help="catalog file (default demo.db, or $DB)")
    ap.add_argument("--port", type=int, default=int(os.environ.get("PORT") or 8001),
                    help="port (default 8001, or $PORT)")
    ap.add_argument("--host", default="127.0.0.1", help="address to listen on (default 127.0.0.1)")
    ap.add_argument("--venv", default=os.environ.get("VENV") or os.path.join(ROOT, ".venv"),
                    help="virtualenv to run Datasette from (default .venv, or $VENV)")
    ap.add_argument("--no-install", action="store_true",
                    help="fail instead of installing Datasette into the venv")
    ap.add_argument("--time-limit-ms", type=int, default=5000, help="Datasette's sql_time_limit_ms (default 5000)")
    args = ap.parse_args()

    if not os.path.isfile(args.db):
        fail(f"no catalog at {args.db}: `make demo` builds demo.db, "
             "or choose one with `make explore DB=path/to/catalog.db`")
    if not os.path.exists(EXT + ".so"):
        fail(f"{EXT}.so is missing: run `make` first")

    if not has_datasette():
        # Not in a venv with Datasette: run this script again from one.
        if os.environ.get(REEXEC):
            fail(f"{sys.executable} still has no datasette=={pinned_datasette()}")
        python = ensure_venv(os.path.abspath(args.venv), install=not args.no_install)
        os.environ[REEXEC] = "1"
        os.execv(python, [python, os.path.abspath(__file__), *sys.argv[1:]])
    serve(args)


if __name__ == "__main__":
    try:
        main()
    except KeyboardInterrupt:
        sys.exit(130)
