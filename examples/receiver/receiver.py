#!/usr/bin/python3
"""The OTLP/HTTP receiver of a checkout: `otelcat serve` from python/ of this
repository, with the extension at dist/otelcat, HTTP only unless --grpc is
given (Debian's python3, which loads extensions, has no grpcio).

    /usr/bin/python3 examples/receiver/receiver.py --db catalog.db [--port 4318] [otelcat serve options]

--port N is --http N, --host ADDR is --listen ADDR, --max-body-mib is
--max-request-mib; --ext PATH (or $OTELCAT_EXT, $OTELCAT_LOADABLE_PATH) names
another build of the extension; --busy-timeout-ms is accepted and ignored
(otelcat serve waits for another writer's lock until each request's
--request-timeout). Every other option is otelcat serve's (README.md beside
this file, or --help).
"""
import os
import sys

HERE = os.path.dirname(os.path.abspath(__file__))
ROOT = os.path.dirname(os.path.dirname(HERE))


RENAMED = {"--port": "--http", "--host": "--listen", "--max-body-mib": "--max-request-mib"}


def translate(argv):
    """The receiver's arguments as otelcat serve's, and the extension's path."""
    out, grpc, ext = [], False, None
    it = iter(argv)
    for arg in it:
        name, eq, value = arg.partition("=")
        if name in ("--ext", "--busy-timeout-ms"):
            value = value if eq else next(it, "")
            if name == "--ext":
                ext = value
            continue
        if name in RENAMED:
            out.append(RENAMED[name] + (eq + value if eq else ""))
            continue
        grpc = grpc or name == "--grpc"
        out.append(arg)
    if not grpc:
        out += ["--grpc", "off"]
    if "--port" not in {a.partition("=")[0] for a in argv} and os.environ.get("PORT"):
        out += ["--http", os.environ["PORT"]]
    return out, ext


def main(argv=None):
    args, ext = translate(sys.argv[1:] if argv is None else argv)
    sys.path.insert(0, os.path.join(ROOT, "python"))
    if ext:
        os.environ["OTELCAT_LOADABLE_PATH"] = ext
    os.environ.setdefault("OTELCAT_LOADABLE_PATH", os.environ.get("OTELCAT_EXT") or os.path.join(ROOT, "dist", "otelcat"))
    from otelcat import serve
    return serve.main(args)


if __name__ == "__main__":
    sys.exit(main())
