"""Writes a compact, consistent copy of a catalog (VACUUM INTO): a full
catalog that can be ingested into, reported on and merged further. The
source is opened read-only; OUT must not exist yet.
"""
import os

from ._common import UsageError, open_catalog


def add_arguments(p):
    p.add_argument("--db", required=True, metavar="CATALOG", help="the catalog to copy (opened read-only)")
    p.add_argument("out", metavar="OUT", help="the file to write (must not exist)")


def run(args):
    if os.path.exists(args.out):
        raise UsageError(f"{args.out} already exists: choose a new file name")
    db = open_catalog(args.db, readonly=True, extension=False)
    db.execute("VACUUM INTO ?", (args.out,))
    print(f"otelcat snapshot: wrote {args.out} ({os.path.getsize(args.out) / 1e6:.1f} MB) from {args.db}")
    return 0
