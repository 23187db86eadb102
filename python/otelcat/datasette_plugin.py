"""otelcat's Datasette plugin (entry point `datasette: otelcat`).

With the package installed in Datasette's environment, `datasette
catalog.db`:
  - loads the otelcat extension into every connection (hll_count,
    json_samples_merge, drain_match ... work in queries and views);
  - gives every database that is an otelcat catalog the catalog's metadata:
    descriptions of every table, view and column, the cookbook's canned
    queries, and dashboards of charts (datasette-dashboards): the catalog
    at /-/dashboards/otelcat, its semantic conventions at
    /-/dashboards/semconv (with several catalogs, the others at
    /-/dashboards/otelcat-<database> and /-/dashboards/semconv-<database>);
  - gives a catalog written by an older version the views this version
    adds (as TEMP views of each connection: the file is not changed), so
    the dashboards work on it.
Metadata you pass with -m/--metadata takes precedence over the plugin's.
"""
import copy
import os
import sqlite3
import threading

from datasette import hookimpl

from . import load
from ._common import CATALOG_TABLES, data_path, ensure_views, has_catalog_tables

PLACEHOLDER = "catalog"      # the database's name in the metadata file
_lock = threading.Lock()
_cache = {}                  # key -> rendered metadata


@hookimpl
def prepare_connection(conn):
    load(conn)
    try:
        if has_catalog_tables(conn):
            ensure_views(conn)
    except sqlite3.Error:
        pass  # not a catalog we can read: its pages say so


_VIEWS = None


@hookimpl
def render_cell(value, table):
    """A BLOB (a sketch) in a row of one of the catalog's views: its size,
    as Datasette shows a table's BLOBs, without the download link, which
    Datasette builds from the row's rowid and a view's rows have none
    (metric_keys, span_keys, log_keys and the per-service key views carry
    hll_sketch and top_sketch)."""
    global _VIEWS
    if not isinstance(value, bytes) or table is None:
        return None
    if _VIEWS is None:
        from ._common import view_statements
        _VIEWS = {name for name, _ in view_statements()}
    if table not in _VIEWS:
        return None
    import markupsafe
    return markupsafe.Markup("&lt;Binary:&nbsp;{:,}&nbsp;byte{}&gt;").format(len(value), "" if len(value) == 1 else "s")


def _template():
    import yaml
    with open(data_path("datasette-metadata.yml"), encoding="utf-8") as f:
        return yaml.safe_load(f)


_TEMPLATE = None


def template():
    global _TEMPLATE
    if _TEMPLATE is None:
        _TEMPLATE = _template()
    return _TEMPLATE


def is_catalog(path):
    """True when the SQLite file at `path` has the catalog tables."""
    try:
        con = sqlite3.connect(f"file:{os.path.abspath(path)}?mode=ro", uri=True)
        try:
            names = {r[0] for r in con.execute("SELECT name FROM sqlite_master WHERE type = 'table'")}
        finally:
            con.close()
    except sqlite3.Error:
        return False
    return all(t in names for t in CATALOG_TABLES)


def render(template_meta, catalogs):
    """The metadata for the databases named in `catalogs` (in order): the
    template's database entry for each, each of its dashboards for each
    (the first catalog's under the template's names, the others' named
    `<name>-<database>`), the top-level title and description once."""
    meta = copy.deepcopy(template_meta)
    database = meta["databases"].pop(PLACEHOLDER)
    dashboards = meta.get("plugins", {}).get("datasette-dashboards", {})
    meta["databases"] = {}
    new_dashboards = {}
    for i, name in enumerate(catalogs):
        entry = copy.deepcopy(database)
        entry["title"] = f"{database.get('title', 'otelcat catalog')}: {name}"
        meta["databases"][name] = entry
        for dash_name, dashboard in dashboards.items():
            d = copy.deepcopy(dashboard)
            for part in ("charts", "filters"):
                for item in d.get(part, {}).values():
                    if item.get("db") == PLACEHOLDER:
                        item["db"] = name
            if i > 0:
                d["title"] = f"{d.get('title', 'otelcat')}: {name}"
            new_dashboards[dash_name if i == 0 else f"{dash_name}-{name}"] = d
    if dashboards:
        meta["plugins"]["datasette-dashboards"] = new_dashboards
    return meta


def catalog_names(datasette):
    """Names of the databases being served that are otelcat catalogs."""
    names = []
    for name, db in list(datasette.databases.items()):
        path = getattr(db, "path", None)
        if not path or getattr(db, "is_memory", False) or name == "_internal":
            continue
        try:
            mtime = os.stat(path).st_mtime_ns
        except OSError:
            continue
        key = ("catalog?", path, mtime)
        if key not in _cache:
            _cache[key] = is_catalog(path)
        if _cache[key]:
            names.append(name)
    return names


@hookimpl
def get_metadata(datasette, key, database, table):
    names = tuple(catalog_names(datasette))
    if not names:
        return {}
    with _lock:
        if ("meta", names) not in _cache:
            _cache[("meta", names)] = render(template(), names)
        # A copy: Datasette merges other metadata into what hooks return.
        return copy.deepcopy(_cache[("meta", names)])
