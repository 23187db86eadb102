#!/usr/bin/python3
"""A frame file (as otlp_gen writes them) of OTLP/JSON trace requests: 40 requests x 50 resources (a service
each: 2 000 services, pod-like names) x 10 spans over 5 span names: 20 000
spans, 10 000 (span name, service) rows, every one new."""
import json, struct, sys
# Usage: /usr/bin/python3 bench/many_services_frames.py OUT, then
# FORMAT=json /usr/bin/python3 bench/ingest_split.py OUT traces 100 DB
out = open(sys.argv[1], "wb")
t0 = 1700000000000000000
for r in range(40):
    rs = []
    for k in range(50):
        svc = f"checkout-7d9f8b6c5d-{r:02d}{k:03d}"
        spans = [{"traceId": "5b8efff798038103d269b633813fc60c", "spanId": "eee19b7ec3c1b174", "name": f"op{i % 5}",
                  "kind": 2, "startTimeUnixNano": str(t0 + i), "endTimeUnixNano": str(t0 + i + 1000),
                  "status": {"code": 2 if i == 0 else 0},
                  "attributes": [{"key": "http.method", "value": {"stringValue": "GET"}}]} for i in range(10)]
        rs.append({"resource": {"attributes": [{"key": "service.name", "value": {"stringValue": svc}}]},
                   "scopeSpans": [{"scope": {"name": "s"}, "spans": spans}]})
    b = json.dumps({"resourceSpans": rs}).encode()
    out.write(struct.pack("<I", len(b)) + b)
