"""The `otelcat` command: one subcommand per module, loaded on demand.

Each subcommand module defines `add_arguments(parser)` and `run(args) -> int`
(exit codes: 0 ok, 1 findings, 2 usage or input error).
"""
import argparse
import importlib
import sys

from . import __version__

# subcommand -> (module, one-line help)
COMMANDS = {
    "serve": ("otelcat.serve", "receive OTLP over HTTP and gRPC into a catalog"),
}


def main(argv=None):
    ap = argparse.ArgumentParser(prog="otelcat", description="OpenTelemetry metadata catalogs in SQLite.")
    ap.add_argument("--version", action="version", version=f"otelcat {__version__}")
    sub = ap.add_subparsers(dest="command", metavar="COMMAND")
    modules = {}
    for name, (module, help_text) in COMMANDS.items():
        mod = importlib.import_module(module)
        p = sub.add_parser(name, help=help_text, description=(mod.__doc__ or help_text).strip())
        mod.add_arguments(p)
        modules[name] = mod
    args = ap.parse_args(argv)
    if args.command is None:
        ap.print_help(sys.stderr)
        return 2
    return modules[args.command].run(args)
