"""otelcat serve's OTLP/HTTP front: POST /v1/traces, /v1/metrics, /v1/logs.

One thread per connection (HTTP/1.1 keep-alive, TLS handshakes in that
thread too), so a slow client holds only its own thread; every request must
arrive whole within --read-timeout and is refused beyond --max-request-mib,
as sent and inflated. Bodies are inflated here, not in the writer. Answers
follow the OTLP/HTTP specification: the request's Content-Type, an empty
Export*ServiceResponse on success, a google.rpc.Status otherwise.
"""
import io
import socket
import ssl
import sys
import threading
import time
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

from .serve_common import (GRPC_CODE, HTTP_PATHS, INVALID_ARGUMENT, JSON, MIB, PROTOBUF, BodyError, details_for,
                           http_message, inflate, log, status_json, status_proto)

REASONS = {200: "OK", 400: "Bad Request", 401: "Unauthorized", 404: "Not Found", 405: "Method Not Allowed",
           408: "Request Timeout", 413: "Content Too Large", 414: "URI Too Long", 415: "Unsupported Media Type",
           431: "Request Header Fields Too Large", 500: "Internal Server Error", 501: "Not Implemented",
           503: "Service Unavailable"}
SUCCESS = {PROTOBUF: b"", JSON: b"{}"}  # empty Export*ServiceResponse
IDLE_TIMEOUT = 60.0      # a keep-alive connection may wait this long for its next request
WRITE_TIMEOUT = 10.0     # sending an answer
HANDSHAKE_TIMEOUT = 10.0
UNAUTHENTICATED_DISCARD = MIB  # body bytes read and dropped after a 401 (beyond: the connection closes)
# A chunked body in more chunks than this is refused: each chunk costs Python
# work under the GIL, and a body of tiny chunks would slow every other request.
MAX_CHUNKS = 100_000


class _DeadlineIO(io.RawIOBase):
    """Socket reads that end at an absolute deadline, however slowly the
    peer trickles bytes (a per-read timeout would restart on every byte)."""

    def __init__(self, sock):
        self.sock = sock
        self.deadline = None

    def readable(self):
        return True

    def readinto(self, b):
        left = self.deadline - time.monotonic()
        if left <= 0:
            raise TimeoutError("read deadline passed")
        self.sock.settimeout(left)
        return self.sock.recv_into(b)


class _SocketWriter(io.BufferedIOBase):
    """Unbuffered writes straight to the socket (as socketserver's own)."""

    def __init__(self, sock):
        self.sock = sock

    def writable(self):
        return True

    def write(self, b):
        self.sock.sendall(b)
        return len(b)


class Handler(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"
    server_version = "otelcat-serve"
    sys_version = ""
    app = None  # set per server

    def setup(self):
        self.connection = self.request
        try:
            self.connection.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, True)
        except OSError:
            pass
        self.raw = _DeadlineIO(self.connection)
        self.rfile = io.BufferedReader(self.raw, 65536)
        self.wfile = _SocketWriter(self.connection)

    def handle_one_request(self):
        self.raw.deadline = time.monotonic() + IDLE_TIMEOUT
        self.command, self.requestline, self.request_version = "", "", ""
        try:
            self.raw_requestline = self.rfile.readline(65537)
            if not self.raw_requestline:
                self.close_connection = True
                return
            # The rest of the request (headers, body) within --read-timeout.
            self.raw.deadline = time.monotonic() + self.app.read_timeout
            if len(self.raw_requestline) > 65536:
                return self.plain(414, "request line too long", close=True)
            if not self.parse_request():
                return
            getattr(self, "do_" + self.command)()
            self.wfile.flush()
        except (TimeoutError, socket.timeout):  # the same class since Python 3.10
            self.close_connection = True
            if self.app.verbose:
                log(f"{self.address_string()}: request not received within its deadline; connection closed")
            if self.command == "POST":
                try:
                    self.plain(408, f"the request did not arrive within {self.app.read_timeout:g} s", close=True)
                except OSError:
                    pass
        except (ConnectionError, ssl.SSLError):
            self.close_connection = True

    def send_error(self, code, message=None, explain=None):
        # parse_request's errors (bad request line, too many headers, ...).
        self.plain(code, f"{code} {message or REASONS.get(code, '')}".strip(), close=True)

    # --- answers

    def send(self, code, ctype, body, headers=(), close=False):
        close = close or self.close_connection
        self.close_connection = close
        lines = [f"HTTP/1.1 {code} {REASONS.get(code, '')}", f"Server: {self.server_version}",
                 f"Content-Type: {ctype}", f"Content-Length: {len(body)}"]
        lines += [f"{k}: {v}" for k, v in headers]
        if close:
            lines.append("Connection: close")
        head = ("\r\n".join(lines) + "\r\n\r\n").encode("latin-1")
        self.connection.settimeout(WRITE_TIMEOUT)
        self.wfile.write(head if self.command == "HEAD" else head + body)
        if self.app.verbose:
            h = getattr(self, "headers", None) or {}
            log(f'{self.address_string()} "{self.requestline}" {h.get("Content-Type", "-")} '
                f'{h.get("Content-Encoding", "-")} {h.get("Content-Length", "-")} -> {code} {len(body)}')

    def plain(self, code, text, headers=(), close=False):
        self.send(code, "text/plain; charset=utf-8", (text + "\n").encode(), headers, close)

    def status(self, code, ctype, message, headers=(), close=False, retry_after=1):
        """A failure: google.rpc.Status in the request's encoding (text when
        the encoding is unknown), with RetryInfo or BadRequest details."""
        headers = list(headers)
        if code == 503:
            headers.append(("Retry-After", str(retry_after)))
        if ctype is None:
            return self.plain(code, message, headers, close)
        grpc = GRPC_CODE.get(code, INVALID_ARGUMENT)
        details = details_for(code, message, retry_after)
        body = (status_json if ctype == JSON else status_proto)(grpc, message, details)
        self.send(code, ctype, body, headers, close)

    def media_type(self):
        ctype = (self.headers.get("Content-Type") or "").split(";", 1)[0].strip().lower()
        return ctype if ctype in (PROTOBUF, JSON) else None

    # --- bodies

    def body_length(self):
        """Content-Length as an int; None for a chunked body."""
        te = (self.headers.get("Transfer-Encoding") or "").strip().lower()
        if te:
            if te != "chunked":
                raise BodyError(400, f"unsupported Transfer-Encoding {te!r}")
            return None
        cl = self.headers.get("Content-Length")
        if cl is None:
            return 0
        try:
            n = int(cl)
            if n < 0:
                raise ValueError
        except ValueError:
            raise BodyError(400, f"invalid Content-Length {cl!r}")
        return n

    def discard_body(self, cap=64 * MIB):
        """Reads and drops the request body (so that a client that sends its
        whole body before reading gets the answer); closes the connection
        instead when the body is larger than cap, chunked or unreadable."""
        try:
            n = self.body_length()
            if n is None or n > cap:
                self.close_connection = True
                return
            while n > 0:
                got = len(self.rfile.read(min(n, MIB)))
                if got == 0:
                    break
                n -= got
        except (BodyError, OSError):
            self.close_connection = True

    def read_body(self):
        n = self.body_length()
        limit = self.app.max_request
        if n is not None:
            if n > limit:
                self.discard_body()
                raise BodyError(413, f"request body of {n} bytes exceeds the limit of {limit} bytes")
            body = self.rfile.read(n)
            if len(body) != n:
                self.close_connection = True
                raise BodyError(400, "request body shorter than its Content-Length")
            return body
        parts, total = [], 0
        while True:
            line = self.rfile.readline(1024)
            try:
                size = int(line.split(b";", 1)[0].strip(), 16)
                if size < 0:
                    raise ValueError
            except ValueError:
                self.close_connection = True
                raise BodyError(400, "malformed chunked body")
            if size == 0:
                while self.rfile.readline(65537) not in (b"\r\n", b"\n", b""):
                    pass  # trailers
                return b"".join(parts)
            total += size
            if total > limit:
                self.close_connection = True
                raise BodyError(413, f"request body exceeds the limit of {limit} bytes")
            chunk = self.rfile.read(size)
            if len(chunk) != size:
                self.close_connection = True
                raise BodyError(400, "chunked body cut short")
            parts.append(chunk)
            if len(parts) > MAX_CHUNKS:
                self.close_connection = True
                raise BodyError(400, f"chunked body in more than {MAX_CHUNKS} chunks")
            self.rfile.readline(3)

    # --- checks

    def authorized(self):
        """True when no token is required or the request carries a valid
        one; otherwise answers 401 and returns False."""
        tokens = self.app.tokens
        if tokens is None or tokens.check(self.headers.get("Authorization")):
            return True
        self.status(401, self.media_type(), "missing or invalid bearer token (send the header "
                    "'Authorization: Bearer <token>')", headers=[("WWW-Authenticate", 'Bearer realm="otelcat"')],
                    close=self.close_connection)
        return False

    def check_head(self):
        """Path, method, media type and coding of a request, from its
        headers: (signal, media type, coding), or None once an error answer
        has been sent."""
        path = self.path.split("?", 1)[0]
        signal = HTTP_PATHS.get(path)
        if signal is None:
            self.plain(404, f"404 page not found: {path}; OTLP/HTTP paths are {', '.join(HTTP_PATHS)}")
            return None
        if self.command != "POST":
            self.plain(405, "405 method not allowed, supported: [POST]", headers=[("Allow", "POST")])
            return None
        ctype = self.media_type()
        if ctype is None:
            self.plain(415, f"415 unsupported media type, supported: [{JSON}, {PROTOBUF}]")
            return None
        coding = (self.headers.get("Content-Encoding") or "").strip().lower()
        if coding not in ("", "identity", "gzip", "deflate"):
            self.status(415, ctype, f"unsupported Content-Encoding {coding!r}, supported: gzip, deflate")
            return None
        return signal, ctype, coding

    def handle_expect_100(self):
        # Answer a request that will fail before the client sends its body,
        # and close the connection (the client may send the body anyway).
        keep = self.close_connection
        self.close_connection = True
        if not self.authorized():
            return False
        head = self.check_head()
        if head is None:
            return False
        try:
            n = self.body_length()
        except BodyError as e:
            self.status(e.code, head[1], str(e), close=True)
            return False
        if n is not None and n > self.app.max_request:
            self.status(413, head[1], f"request body of {n} bytes exceeds the limit of {self.app.max_request} bytes",
                        close=True)
            return False
        self.wfile.write(b"HTTP/1.1 100 Continue\r\n\r\n")
        self.close_connection = keep
        return True

    # --- methods

    def do_POST(self):
        app = self.app
        if not app.enter():
            self.discard_body()
            return self.status(503, self.media_type(), "the receiver is shutting down; retry later", close=True)
        try:
            self.post(app)
        finally:
            app.leave()

    def post(self, app):
        if not self.authorized():
            return self.discard_body(UNAUTHENTICATED_DISCARD)
        head = self.check_head()
        if head is None:
            return self.discard_body()
        signal, ctype, coding = head
        try:
            body = self.read_body()
            if coding in ("gzip", "deflate"):
                body = inflate(body, coding, app.max_request)
        except BodyError as e:
            return self.status(e.code, ctype, str(e))
        if not body:  # an empty protobuf message: an empty request, nothing to store
            if ctype == PROTOBUF:
                return self.send(200, ctype, SUCCESS[ctype])
            return self.status(400, ctype, "empty request body: an OTLP/JSON request is at least {}")
        job = app.run(body, signal, ctype == JSON, time.monotonic() + app.request_timeout, self.address_string())
        del body
        if job.code == 200:
            return self.send(200, ctype, SUCCESS[ctype])
        message = http_message(signal, job.message)
        if app.verbose or job.code >= 500:
            log(f"{self.path}: {job.code} {message}")
        self.status(job.code, ctype, message, retry_after=job.retry_after)

    def not_post(self):
        if self.app.enter():
            try:
                if self.authorized():
                    self.check_head()
            finally:
                self.app.leave()
        else:
            self.plain(503, "the receiver is shutting down", headers=[("Retry-After", "1")], close=True)
        self.discard_body()

    def __getattr__(self, name):
        # Every method other than POST: 405 on the OTLP paths, 404 elsewhere.
        if name.startswith("do_"):
            return self.not_post
        raise AttributeError(name)

    def address_string(self):
        return f"{self.client_address[0]}:{self.client_address[1]}" if self.client_address else "?"

    def log_message(self, fmt, *args):
        if self.app.verbose:
            log(f"{self.address_string()} {fmt % args}")


class HTTPFront(ThreadingHTTPServer):
    """Threaded HTTP/1.1 server: TLS handshakes run in the connection's
    thread (never in the accept loop), and at most max_connections
    connections are served at once (more are closed at once)."""
    daemon_threads = True
    request_queue_size = 128
    allow_reuse_address = True

    def __init__(self, address, app, ssl_context=None, max_connections=256):
        host = address[0]
        self.address_family = socket.AF_INET6 if ":" in host else socket.AF_INET
        self.ssl_context = ssl_context
        self.max_connections = max_connections
        self.active = 0
        self.count_lock = threading.Lock()
        handler = type("BoundHandler", (Handler,), {"app": app})
        super().__init__(address, handler)

    def process_request(self, request, client_address):
        with self.count_lock:
            full = self.active >= self.max_connections
            if not full:
                self.active += 1
        if full:
            log(f"{client_address[0]}: connection refused: {self.max_connections} connections are open "
                "(--max-connections)")
            self.shutdown_request(request)
            return
        try:
            super().process_request(request, client_address)
        except BaseException:
            with self.count_lock:
                self.active -= 1
            raise

    def process_request_thread(self, request, client_address):
        try:
            super().process_request_thread(request, client_address)
        finally:
            with self.count_lock:
                self.active -= 1

    def finish_request(self, request, client_address):
        if self.ssl_context is None:
            return super().finish_request(request, client_address)
        request.settimeout(HANDSHAKE_TIMEOUT)
        try:
            tls = self.ssl_context.wrap_socket(request, server_side=True)
        except (OSError, ssl.SSLError) as e:
            if self.RequestHandlerClass.app.verbose:
                log(f"{client_address[0]}: TLS handshake failed: {e}")
            return
        try:
            self.RequestHandlerClass(tls, client_address, self)
        finally:
            try:
                tls.close()
            except OSError:
                pass

    def handle_error(self, request, client_address):
        e = sys.exc_info()[1]
        if isinstance(e, (ConnectionError, TimeoutError, socket.timeout, ssl.SSLError)):
            return  # the client went away
        super().handle_error(request, client_address)


def tls_context(cert, key):
    ctx = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
    ctx.minimum_version = ssl.TLSVersion.TLSv1_2
    ctx.set_alpn_protocols(["http/1.1"])
    ctx.load_cert_chain(cert, key)
    return ctx



