"""Small OTLP/JSON export requests for tests, built as Python dicts."""
import json


def kv(key, value):
    if isinstance(value, bool):
        v = {"boolValue": value}
    elif isinstance(value, int):
        v = {"intValue": str(value)}
    elif isinstance(value, float):
        v = {"doubleValue": value}
    elif isinstance(value, list):
        v = {"arrayValue": {"values": [kv("_", x)["value"] for x in value]}}
    elif isinstance(value, dict):
        v = {"kvlistValue": {"values": [kv(k, x) for k, x in value.items()]}}
    else:
        v = {"stringValue": value}
    return {"key": key, "value": v}


def resource(service=None, **attrs):
    a = [kv("service.name", service)] if service else []
    a += [kv(k.replace("_", "."), v) for k, v in attrs.items()]
    return {"attributes": a}


def span(name, kind=2, attrs=None, events=(), links=(), t=1700000000000000000):
    return {
        "traceId": "5b8efff798038103d269b633813fc60c",
        "spanId": "eee19b7ec3c1b174",
        "name": name,
        "kind": kind,
        "startTimeUnixNano": str(t),
        "endTimeUnixNano": str(t + 1000),
        "attributes": [kv(k, v) for k, v in (attrs or {}).items()],
        "events": [{"name": n, "timeUnixNano": str(t), "attributes": [kv(k, v) for k, v in a.items()]} for n, a in events],
        "links": [{"traceId": "5b8efff798038103d269b633813fc60c", "spanId": "eee19b7ec3c1b173",
                   "attributes": [kv(k, v) for k, v in a.items()]} for a in links],
    }


def traces(spans, service="svc", **res):
    return json.dumps({"resourceSpans": [{"resource": resource(service, **res),
                                          "scopeSpans": [{"scope": {"name": "test"}, "spans": spans}]}]})


def log(body, severity_number=9, severity_text="INFO", attrs=None, t=1700000000000000000):
    rec = {"timeUnixNano": str(t), "severityNumber": severity_number, "attributes": [kv(k, v) for k, v in (attrs or {}).items()]}
    if severity_text is not None:
        rec["severityText"] = severity_text
    if body is not None:
        rec["body"] = kv("_", body)["value"]
    return rec


def logs(records, service="svc", **res):
    return json.dumps({"resourceLogs": [{"resource": resource(service, **res),
                                         "scopeLogs": [{"scope": {"name": "test"}, "logRecords": records}]}]})


def gauge(name, points, unit="1", service="svc", **res):
    dps = [{"timeUnixNano": "1700000000000000000", "asDouble": v, "attributes": [kv(k, x) for k, x in a.items()]} for a, v in points]
    return json.dumps({"resourceMetrics": [{"resource": resource(service, **res), "scopeMetrics": [
        {"scope": {"name": "test"}, "metrics": [{"name": name, "unit": unit, "description": "d", "gauge": {"dataPoints": dps}}]}]}]})
