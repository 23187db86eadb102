"""otelcat serve's OTLP/gRPC front: the Export methods of
opentelemetry.proto.collector.{trace,metrics,logs}.v1.{Trace,Metrics,Logs}Service.

grpcio's generic handlers with identity (de)serializers: the request reaches
the writer as the bytes the client sent (gRPC's gzip already undone by
grpcio), never parsed in Python. Failures carry a google.rpc.Status in
grpc-status-details-bin (RetryInfo when retryable, BadRequest for bad data)
and RetryInfo also as google.rpc.retryinfo-bin, which the OpenTelemetry
Python exporter reads.
"""
import collections
import os
from concurrent import futures

# grpcio's C core logs its own errors (a port it cannot bind, ...) to stderr;
# otelcat serve reports them itself, in one line.
os.environ.setdefault("GRPC_VERBOSITY", "NONE")
import grpc  # noqa: E402

from .serve_common import GRPC_CODE, GRPC_METHODS, details_for, retry_info, status_proto

_CODES = {c.value[0]: c for c in grpc.StatusCode}


class _Status(collections.namedtuple("_Status", ("code", "details", "trailing_metadata")), grpc.Status):
    pass


def abort(context, http_code, message, retry_after=1):
    """Ends the call with the gRPC status for an outcome (see serve_common.GRPC_CODE)."""
    code = GRPC_CODE.get(http_code, 13)
    md = [("grpc-status-details-bin", status_proto(code, message, details_for(http_code, message, retry_after)))]
    if http_code == 503:
        md.append(("google.rpc.retryinfo-bin", retry_info(retry_after)))
    context.abort_with_status(_Status(_CODES[code], message, tuple(md)))


class _Service(grpc.GenericRpcHandler):
    def __init__(self, app):
        self.app = app
        self.handlers = {sig: grpc.unary_unary_rpc_method_handler(self._export(sig)) for sig in GRPC_METHODS.values()}
        self.refuse = grpc.unary_unary_rpc_method_handler(self._unauthenticated)

    def service(self, details):
        signal = GRPC_METHODS.get(details.method)
        if signal is None:
            return None  # UNIMPLEMENTED
        tokens = self.app.tokens
        if tokens is not None:
            auth = next((v for k, v in details.invocation_metadata or () if k == "authorization"), None)
            if isinstance(auth, bytes):
                auth = auth.decode("latin-1")
            if not tokens.check(auth):
                return self.refuse
        return self.handlers[signal]

    def _unauthenticated(self, request, context):
        if self.app.verbose:
            self.app.log_request("grpc", context.peer(), "-", len(request), 401)
        abort(context, 401, "missing or invalid bearer token (send the metadata 'authorization: Bearer <token>')")

    def _export(self, signal):
        app = self.app

        def export(request, context):
            if not app.enter():
                abort(context, 503, "the receiver is shutting down; retry later")
            try:
                if not request:  # an empty request: nothing to store
                    return b""
                if len(request) > app.max_request:  # grpcio enforces it too (max_receive_message_length)
                    abort(context, 413, f"request of {len(request)} bytes exceeds the limit of {app.max_request} bytes")
                t = app.clock()
                deadline = t + app.request_timeout
                left = context.time_remaining()
                if left is not None:
                    # Answer before the client gives up, so that it can retry.
                    deadline = min(deadline, t + left - min(0.5, left / 10))
                job = app.run(request, signal, False, deadline, context.peer())
                if app.verbose:
                    app.log_request("grpc", context.peer(), signal, len(request), job.code)
                if job.code == 200:
                    return b""
                abort(context, job.code, job.message, job.retry_after)
            finally:
                app.leave()

        return export


class GRPCFront:
    def __init__(self, app, host, port, workers, tls=None):
        """tls: (certificate chain PEM bytes, private key PEM bytes) or None."""
        self.server = grpc.server(
            futures.ThreadPoolExecutor(max_workers=workers, thread_name_prefix="otelcat-grpc"),
            handlers=[_Service(app)],
            options=[("grpc.max_receive_message_length", app.max_request),
                     # Fail when the port is taken instead of sharing it.
                     ("grpc.so_reuseport", 0)])
        addr = f"[{host}]:{port}" if ":" in host else f"{host}:{port}"
        try:
            if tls is None:
                self.port = self.server.add_insecure_port(addr)
            else:
                creds = grpc.ssl_server_credentials([(tls[1], tls[0])])
                self.port = self.server.add_secure_port(addr, creds)
        except RuntimeError as e:
            raise OSError(f"cannot listen on {addr}: {e}")
        if not self.port:
            raise OSError(f"cannot listen on {addr}")

    def start(self):
        self.server.start()

    def stop(self, grace):
        """Refuses new calls at once; returns an Event set when the calls in
        flight have ended (or after grace seconds)."""
        return self.server.stop(grace)
