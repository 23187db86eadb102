"""What otelcat serve's HTTP and gRPC fronts share: the job a request
becomes, the answers (google.rpc.Status with RetryInfo / BadRequest details,
encoded by hand), authentication and inflating with a bound."""
import hmac
import json
import sys
import threading
import zlib

MIB = 1 << 20
HTTP_PATHS = {"/v1/traces": "traces", "/v1/metrics": "metrics", "/v1/logs": "logs"}
GRPC_METHODS = {
    "/opentelemetry.proto.collector.trace.v1.TraceService/Export": "traces",
    "/opentelemetry.proto.collector.metrics.v1.MetricsService/Export": "metrics",
    "/opentelemetry.proto.collector.logs.v1.LogsService/Export": "logs",
}
PROTOBUF, JSON = "application/x-protobuf", "application/json"

# google.rpc.Code values.
INVALID_ARGUMENT, RESOURCE_EXHAUSTED, INTERNAL, UNAVAILABLE, UNAUTHENTICATED = 3, 8, 13, 14, 16
# The outcome of a job is an HTTP status; gRPC maps it (see serve_grpc).
GRPC_CODE = {400: INVALID_ARGUMENT, 401: UNAUTHENTICATED, 413: RESOURCE_EXHAUSTED, 500: INTERNAL, 503: UNAVAILABLE}


def log(msg):
    sys.stderr.write(f"otelcat serve: {msg}\n")
    sys.stderr.flush()


# --- protobuf by hand -------------------------------------------------------

def varint(n):
    out = bytearray()
    while True:
        b = n & 0x7F
        n >>= 7
        if n:
            out.append(b | 0x80)
        else:
            out.append(b)
            return bytes(out)


def _field(num, payload):
    return varint(num << 3 | 2) + varint(len(payload)) + payload


def retry_info(seconds):
    """google.rpc.RetryInfo{retry_delay: google.protobuf.Duration{seconds}}."""
    return _field(1, b"\x08" + varint(int(seconds)))


def bad_request(field, description):
    """google.rpc.BadRequest{field_violations: [{field, description}]}."""
    return _field(1, _field(1, field.encode()) + _field(2, description.encode("utf-8", "replace")))


RETRY_INFO_URL = "type.googleapis.com/google.rpc.RetryInfo"
BAD_REQUEST_URL = "type.googleapis.com/google.rpc.BadRequest"


def details_for(code, message, retry_after):
    """Status details of an outcome: RetryInfo when it is retryable (503), a
    BadRequest naming the payload when the request is bad (400)."""
    if code == 503:
        return [("retry", retry_after)]
    if code == 400:
        return [("bad", "payload", message)]
    return []


def _detail_any(d):
    if d[0] == "retry":
        return RETRY_INFO_URL, retry_info(d[1])
    return BAD_REQUEST_URL, bad_request(d[1], d[2])


def status_proto(code, message, details=()):
    """google.rpc.Status{code, message, details: [Any{type_url, value}]}."""
    out = b"\x08" + varint(code) if code else b""
    m = message.encode("utf-8", "replace")
    if m:
        out += _field(2, m)
    for d in details:
        url, value = _detail_any(d)
        out += _field(3, _field(1, url.encode()) + _field(2, value))
    return out


def status_json(code, message, details=()):
    """The same Status in the proto3 JSON mapping (an Any is its fields
    with "@type")."""
    doc = {"code": code, "message": message}
    if details:
        doc["details"] = [{"@type": RETRY_INFO_URL, "retryDelay": f"{d[1]}s"} if d[0] == "retry" else
                          {"@type": BAD_REQUEST_URL, "fieldViolations": [{"field": d[1], "description": d[2]}]}
                          for d in details]
    return json.dumps(doc).encode()


# --- jobs ---------------------------------------------------------------------

QUEUED, TAKEN, DONE = 0, 1, 2


class Job:
    """One request on its way through the writer: the payload (inflated), its
    signal, whether it is JSON, the time by which it must have been ingested
    (a job still queued then is answered 503 and never written, by whichever
    of the writer and the waiting front gets there first), and its outcome,
    set before `done`. States: QUEUED (the writer may take it), TAKEN (the
    writer ingests it: only the writer answers it now), DONE."""
    __slots__ = ("payload", "signal", "is_json", "deadline", "done", "code", "message", "retry_after", "peer",
                 "size", "state")
    _lock = threading.Lock()

    def __init__(self, payload, signal, is_json, deadline, peer=""):
        self.payload, self.signal, self.is_json = payload, signal, is_json
        self.deadline, self.peer = deadline, peer
        self.size = len(payload)
        self.done = threading.Event()
        self.code, self.message, self.retry_after = 0, "", 1
        self.state = QUEUED

    def take(self):
        """The writer's claim before ingesting: False when the job was
        already answered (given up at its deadline)."""
        with Job._lock:
            if self.state != QUEUED:
                return False
            self.state = TAKEN
            return True

    def requeue(self):
        """Back in the queue, not written (a lock rolled its batch back)."""
        with Job._lock:
            if self.state == TAKEN:
                self.state = QUEUED

    def expire(self, message):
        """Answers 503 a job still queued (never written); False when the
        writer has taken it (it will answer) or it is answered already."""
        with Job._lock:
            if self.state != QUEUED:
                return False
            self.state = DONE
        self._set(503, message, 1)
        return True

    def finish(self, code, message="", retry_after=1):
        with Job._lock:
            if self.state == DONE:
                return False
            self.state = DONE
        self._set(code, message, retry_after)
        return True

    def _set(self, code, message, retry_after):
        self.code, self.message, self.retry_after = code, message, retry_after
        self.payload = None
        self.done.set()


def http_message(signal, message):
    """The extension's error text, said in the terms of an OTLP client: the
    signal is the request's path or service, not an SQL column."""
    if "given in the signal column" in message:
        return (f"the JSON payload holds another signal than {signal}: send traces to /v1/traces, metrics to "
                f"/v1/metrics and logs to /v1/logs")
    return message


# --- authentication -----------------------------------------------------------

class Tokens:
    """Bearer tokens from --token-file: one a line; blank lines and lines
    starting with # are ignored. Compared in constant time."""

    def __init__(self, tokens):
        self.tokens = [t.encode() for t in tokens]

    @classmethod
    def read(cls, path):
        with open(path, encoding="utf-8") as f:
            lines = [ln.strip() for ln in f]
        tokens = [ln for ln in lines if ln and not ln.startswith("#")]
        if not tokens:
            raise ValueError(f"{path} holds no token (one a line)")
        for t in tokens:
            if any(c.isspace() for c in t) or not t.isprintable():
                raise ValueError(f"{path}: a token may not contain spaces or control characters")
        return cls(tokens)

    def check(self, header):
        """True when `header` (an Authorization value) is `Bearer <token>`
        for one of the tokens."""
        if not header:
            return False
        scheme, _, value = header.strip().partition(" ")
        if scheme.lower() != "bearer":
            return False
        got = value.strip().encode("utf-8", "replace")
        ok = False
        for t in self.tokens:
            ok |= hmac.compare_digest(got, t)
        return ok


# --- inflating ------------------------------------------------------------------

class BodyError(Exception):
    def __init__(self, code, message):
        super().__init__(message)
        self.code = code


def inflate(body, coding, limit):
    """The body inflated (gzip, or zlib-wrapped deflate as HTTP's "deflate"
    is), refusing output beyond `limit` bytes with 413 (a gzip bomb stops
    there). zlib releases the GIL while it inflates."""
    wbits = 16 + zlib.MAX_WBITS if coding == "gzip" else zlib.MAX_WBITS
    parts, total, data = [], 0, body
    while True:
        d = zlib.decompressobj(wbits)
        try:
            out = d.decompress(data, limit + 1 - total)
        except zlib.error as e:
            raise BodyError(400, f"invalid {coding} body: {e}")
        total += len(out)
        if total > limit or d.unconsumed_tail:
            raise BodyError(413, f"the {coding} body inflates to more than the limit of {limit} bytes")
        parts.append(out)
        if not d.eof:
            raise BodyError(400, f"invalid {coding} body: the compressed data is cut short")
        data = d.unused_data
        # gzip allows several members one after the other; zlib data ends.
        if not data or coding != "gzip":
            if data:
                raise BodyError(400, f"invalid {coding} body: data after the end of the compressed stream")
            return parts[0] if len(parts) == 1 else b"".join(parts)


class Budget:
    """Bytes of requests accepted but not yet answered: beyond `limit`, new
    requests are refused with 503 (memory stays bounded)."""

    def __init__(self, limit):
        self.limit = limit
        self.used = 0
        self.lock = threading.Lock()

    def reserve(self, n):
        with self.lock:
            if self.used and self.used + n > self.limit:
                return False
            self.used += n
            return True

    def release(self, n):
        with self.lock:
            self.used -= n
