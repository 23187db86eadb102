"""The `otelcat` command: one subcommand per module, imported only when that
subcommand runs (so `otelcat --help` lists every command, and a command whose
module is absent fails alone, with a one-line reason).

Each subcommand module defines `add_arguments(parser)` and `run(args) -> int`
(exit codes: 0 ok, 1 findings, 2 usage or input error). Its docstring is the
subcommand's --help description.
"""
import argparse
import importlib
import sqlite3
import sys

from . import ExtensionLoadError, __version__
from ._common import UsageError

# subcommand -> (module, one-line help), in the order --help lists them
COMMANDS = {
    "ingest": ("otelcat.ingest", "add OTLP files (JSON, JSON Lines, protobuf, gzip) to a catalog"),
    "report": ("otelcat.report", "what a catalog holds: cardinalities, series, noisy services, templates"),
    "serve": ("otelcat.serve", "receive OTLP over HTTP and gRPC into a catalog"),
    "check": ("otelcat.check", "CI gate: fail when a key's cardinality or name is out of bounds"),
    "merge": ("otelcat.merge", "merge other catalog files into one (all or nothing)"),
    "diff": ("otelcat.diff", "what changed between two catalog files"),
    "snapshot": ("otelcat.snapshot", "write a compact copy of a catalog (VACUUM INTO)"),
    "export": ("otelcat.export", "write a catalog's tables as JSON Lines with a manifest, for Spark and other engines"),
}

EPILOG = "Exit codes: 0 ok, 1 findings (check, diff), 2 usage or input error. `otelcat COMMAND --help` for each."


def _chosen(argv):
    """The subcommand named on the command line (the first non-option word)."""
    for a in argv:
        if not a.startswith("-"):
            return a
    return None


def main(argv=None):
    argv = list(sys.argv[1:] if argv is None else argv)
    ap = argparse.ArgumentParser(prog="otelcat", description="OpenTelemetry metadata catalogs in SQLite.",
                                 epilog=EPILOG)
    ap.add_argument("--version", action="version", version=f"otelcat {__version__}")
    sub = ap.add_subparsers(dest="command", metavar="COMMAND")
    parsers = {name: sub.add_parser(name, help=help_text, description=help_text, epilog=EPILOG,
                                    formatter_class=argparse.RawDescriptionHelpFormatter)
               for name, (_, help_text) in COMMANDS.items()}
    name = _chosen(argv)
    mod = None
    if name in COMMANDS:
        module = COMMANDS[name][0]
        try:
            mod = importlib.import_module(module)
        except ModuleNotFoundError as e:
            if e.name != module:
                raise
            print(f"otelcat {name}: this installation has no {module} module "
                  f"(the {name} command is not part of this build)", file=sys.stderr)
            return 2
        if mod.__doc__:
            parsers[name].description = mod.__doc__.strip()
        mod.add_arguments(parsers[name])
    args = ap.parse_args(argv)
    if args.command is None:
        ap.print_help(sys.stderr)
        return 2
    try:
        return mod.run(args)
    except UsageError as e:
        print(f"otelcat {name}: {e}", file=sys.stderr)
        return 2
    except ExtensionLoadError as e:
        print(f"otelcat {name}: {e}", file=sys.stderr)
        return 2
    except sqlite3.Error as e:
        print(f"otelcat {name}: {' '.join(str(e).split())}", file=sys.stderr)
        return 2
    except KeyboardInterrupt:
        print(f"otelcat {name}: interrupted", file=sys.stderr)
        return 130
    except BrokenPipeError:
        # The reader went away (otelcat report | head): stop quietly.
        import os
        os.dup2(os.open(os.devnull, os.O_WRONLY), sys.stdout.fileno())
        return 0
