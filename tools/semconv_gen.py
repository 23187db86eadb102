#!/usr/bin/env python3
"""Generates src/semconv/data.json, the compact form of OpenTelemetry's
semantic conventions that the extension embeds (semconv_attributes,
semconv_metrics, semconv_groups, semconv_group_attributes).

    .venv/bin/python tools/semconv_gen.py [MODEL_DIR] [--out FILE] [--check]

MODEL_DIR is a release's model files, unmodified: the folder holding
`model/` (and NOTICE.md naming the tag), default ../shared/data/semconv.
Needs PyYAML (pinned in examples/datasette/requirements.txt, in the venv).
--check compares a fresh run with FILE instead of writing it (exit 1 when
they differ).

What it keeps (the YAML syntax: Weaver's docs/semconv-syntax.md):

- every attribute of the registry (`id:` entries): its value type, enum
  members, stability, deprecation (reason, renamed_to, note) and brief;
- every span, metric, event and entity group (deprecated ones too), with its
  attributes resolved as Weaver resolves them: the attributes of the group
  it `extends` (recursively), then its own `ref:`s, a ref overriding what it
  restates (requirement_level above all); an attribute without a
  requirement_level is `recommended`.

Attribute groups are building blocks, not kept. Notes and examples are left
out (briefs are kept, whitespace collapsed). The output is sorted and has one
row per line, so a new release's diff reads as what changed.
"""
import argparse
import glob
import json
import os
import re
import sys

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
DEFAULT_MODEL = os.path.join(os.path.dirname(ROOT), "shared", "data", "semconv")
DEFAULT_OUT = os.path.join(ROOT, "src", "semconv", "data.json")

COLUMNS = {
    "attributes": ["name", "type", "template", "enum_members", "stability", "deprecated_reason",
                   "replacement", "deprecated_note", "brief"],
    "groups": ["id", "type", "name", "span_kind", "instrument", "unit", "stability",
               "deprecated_reason", "replacement", "deprecated_note", "refines", "brief"],
    "group_attributes": ["group_id", "attribute", "requirement_level", "condition", "role"],
}
SIGNAL_GROUPS = ("span", "metric", "event", "entity")
LEVELS = ("required", "conditionally_required", "recommended", "opt_in")


def text(s):
    """One line: YAML block text with its whitespace collapsed."""
    return " ".join(str(s).split()) if s is not None else None


def fail(msg):
    sys.exit(f"semconv_gen: {msg}")


# The top-level lists of a definition/2 file and what each becomes here.
V2_KEYS = {"file_format", "attributes", "attribute_groups", "spans", "span_refinements", "metrics",
           "metric_refinements"}


def v2_groups(doc, path):
    """The groups of a `file_format: definition/2` file in the v1 shape:
    `attributes` (definitions keyed by `key`) become a registry group,
    `attribute_groups` attribute groups, `spans` span groups with the id
    span.<type>, `metrics` metric groups with the id metric.<name>, and
    refinements groups that extend (and name in `refines`) what they refine."""
    unknown = set(doc) - V2_KEYS
    if unknown:
        fail(f"{path}: unknown definition/2 sections {sorted(unknown)} (a newer format: teach tools/semconv_gen.py)")
    out = []
    defs = doc.get("attributes") or []
    if defs:
        attrs = []
        for a in defs:
            a = dict(a)
            a["id"] = a.pop("key")
            attrs.append(a)
        out.append({"id": f"registry.{path}", "type": "attribute_group", "attributes": attrs})
    for g in doc.get("attribute_groups") or []:
        out.append(dict(g, type="attribute_group"))
    for s in doc.get("spans") or []:
        s = dict(s)
        out.append(dict(s, id="span." + s.pop("type"), type="span", span_kind=s.pop("kind", None)))
    for r in doc.get("span_refinements") or []:
        r = dict(r)
        base = "span." + r.pop("ref")
        out.append(dict(r, type="span", extends=base, refines=base))
    for m in doc.get("metrics") or []:
        m = dict(m)
        out.append(dict(m, id="metric." + m["name"], type="metric", metric_name=m.pop("name")))
    for r in doc.get("metric_refinements") or []:
        r = dict(r)
        base = "metric." + r.pop("ref")
        out.append(dict(r, type="metric", extends=base, refines=base))
    return out


def load(model_dir):
    import yaml
    groups = []
    files = sorted(glob.glob(os.path.join(model_dir, "model", "**", "*.yaml"), recursive=True))
    if not files:
        fail(f"no model/**/*.yaml under {model_dir}")
    for path in files:
        rel = os.path.relpath(path, os.path.join(model_dir, "model"))
        if rel == "manifest.yaml":
            continue
        with open(path, encoding="utf-8") as f:
            doc = yaml.safe_load(f) or {}
        if doc.get("file_format") == "definition/2":
            found = v2_groups(doc, rel)
        elif "file_format" in doc:
            fail(f"{rel}: unknown file_format {doc['file_format']!r}")
        else:
            found = doc.get("groups") or []
        for g in found:
            g["_file"] = rel
            groups.append(g)
    return groups


def version(model_dir):
    """The release: from model/manifest.yaml's schema_url (…/schemas/1.44.0)."""
    import yaml
    with open(os.path.join(model_dir, "model", "manifest.yaml"), encoding="utf-8") as f:
        manifest = yaml.safe_load(f)
    url = manifest.get("schema_url", "")
    m = re.search(r"/schemas/([0-9][0-9A-Za-z.\-]*)$", url)
    if not m:
        fail(f"model/manifest.yaml has no schema_url ending in /schemas/<version>: {url!r}")
    source = None
    notice = os.path.join(model_dir, "NOTICE.md")
    if os.path.exists(notice):
        with open(notice, encoding="utf-8") as f:
            n = re.search(r"tag (v\S+)\s*\(commit ([0-9a-f]{40})\)", f.read())
        if n:
            source = f"open-telemetry/semantic-conventions {n.group(1)} (commit {n.group(2)}), model/"
    return m.group(1), url, source


def deprecation(d):
    """(reason, replacement, note) of a `deprecated:` entry, or Nones."""
    if d is None:
        return None, None, None
    if isinstance(d, str):  # the pre-1.26 form: deprecated: "Replaced by ..."
        return "uncategorized", None, text(d)
    return d.get("reason", "uncategorized"), d.get("renamed_to"), text(d.get("note"))


def value_type(attr):
    """(type, template, enum_members) of a registry attribute."""
    t = attr.get("type")
    if isinstance(t, dict):
        members = [m["value"] for m in t.get("members") or []]
        kinds = {type(v) for v in members}
        if kinds == {int}:
            base = "int"
        elif kinds == {float} or kinds == {int, float}:
            base = "double"
        elif kinds == {str}:
            base = "string"
        else:
            fail(f"attribute {attr['id']}: enum members of mixed types {sorted(k.__name__ for k in kinds)}")
        return base, 0, members
    if not isinstance(t, str):
        fail(f"attribute {attr['id']}: no type")
    m = re.fullmatch(r"template\[(.+)\]", t)
    if m:
        return m.group(1), 1, None
    return t, 0, None


def requirement(r):
    """(level, condition) of a requirement_level entry (default recommended)."""
    if r is None:
        return "recommended", None
    if isinstance(r, str):
        level, cond = r, None
    elif isinstance(r, dict) and len(r) == 1:
        (level, cond), = r.items()
    else:
        fail(f"unreadable requirement_level {r!r}")
    if level not in LEVELS:
        fail(f"unknown requirement level {level!r}")
    return level, text(cond) if cond is not None else None


def generate(model_dir):
    groups = load(model_dir)
    ver, url, source = version(model_dir)
    by_id = {}
    for g in groups:
        if g["id"] in by_id:
            fail(f"group {g['id']} defined twice ({by_id[g['id']]['_file']}, {g['_file']})")
        by_id[g["id"]] = g

    attributes = {}
    for g in groups:
        for a in g.get("attributes") or []:
            if "id" not in a:
                continue
            name = a["id"]
            if name in attributes:
                fail(f"attribute {name} defined twice")
            typ, template, members = value_type(a)
            reason, renamed, note = deprecation(a.get("deprecated"))
            attributes[name] = [name, typ, template, members, a.get("stability"), reason, renamed, note,
                                text(a.get("brief"))]

    resolved = {}

    def resolve(gid, seen=()):
        """The group's attributes: {name: entry}, in order, extends first."""
        if gid in resolved:
            return resolved[gid]
        if gid in seen:
            fail(f"extends cycle through {gid}")
        g = by_id.get(gid)
        if g is None:
            fail(f"{seen[-1] if seen else '?'} extends unknown group {gid}")
        out = {}
        if g.get("extends"):
            for name, e in resolve(g["extends"], seen + (gid,)).items():
                out[name] = dict(e)
        for a in g.get("attributes") or []:
            if "ref_group" in a:
                for name, e in resolve(a["ref_group"], seen + (gid,)).items():
                    out[name] = dict(out.get(name, {}), **e)
                continue
            name = a.get("ref") or a.get("id")
            if name not in attributes:
                fail(f"group {gid} refers to unknown attribute {name}")
            e = out.setdefault(name, {})
            for k, v in a.items():
                if k not in ("ref", "id"):
                    e[k] = v
        resolved[gid] = out
        return out

    def inherited(g, field):
        """A refinement's name, kind, instrument and unit are its base's."""
        while g.get(field) is None and g.get("refines"):
            g = by_id[g["refines"]]
        return g.get(field)

    out_groups, out_group_attrs = [], []
    for g in sorted(groups, key=lambda g: g["id"]):
        if g["type"] not in SIGNAL_GROUPS:
            continue
        if g.get("refines") and g["refines"] not in by_id:
            fail(f"{g['id']} refines unknown {g['refines']}")
        reason, renamed, note = deprecation(g.get("deprecated"))
        name = inherited(g, "metric_name") if g["type"] == "metric" else g.get("name")
        if not isinstance(name, (str, type(None))):
            name = None  # a v2 span's name: {note: ...}, how to build it, not a name
        out_groups.append([g["id"], g["type"], name, inherited(g, "span_kind"), inherited(g, "instrument"),
                           inherited(g, "unit"), g.get("stability"), reason, renamed, note, g.get("refines"),
                           text(g.get("brief"))])
        for attr, e in sorted(resolve(g["id"]).items()):
            level, cond = requirement(e.get("requirement_level"))
            out_group_attrs.append([g["id"], attr, level, cond, e.get("role")])

    return {
        "semconv_version": ver,
        "schema_url": url,
        "source": source,
        "generator": "tools/semconv_gen.py",
        "columns": COLUMNS,
        "attributes": [attributes[k] for k in sorted(attributes)],
        "groups": out_groups,
        "group_attributes": out_group_attrs,
    }


def dump(data):
    """JSON with one row per line (stable, diffable)."""
    lines = ["{"]
    head = [k for k in data if k not in COLUMNS]
    for k in head:
        lines.append(f"{json.dumps(k)}: {json.dumps(data[k], ensure_ascii=False, separators=(',', ':'))},")
    for i, k in enumerate(COLUMNS):
        rows = data[k]
        lines.append(f"{json.dumps(k)}: [")
        for j, r in enumerate(rows):
            comma = "," if j < len(rows) - 1 else ""
            lines.append(json.dumps(r, ensure_ascii=False, separators=(",", ":")) + comma)
        lines.append("]" + ("," if i < len(COLUMNS) - 1 else ""))
    lines.append("}")
    return "\n".join(lines) + "\n"


def main():
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("model", nargs="?", default=DEFAULT_MODEL,
                    help="a release's model files: the folder holding model/ (default ../shared/data/semconv)")
    ap.add_argument("--out", default=DEFAULT_OUT, help="output (default src/semconv/data.json)")
    ap.add_argument("--check", action="store_true", help="compare with --out instead of writing it")
    args = ap.parse_args()
    if not os.path.isdir(os.path.join(args.model, "model")):
        fail(f"no model/ folder in {args.model}")
    text_out = dump(generate(args.model))
    if args.check:
        with open(args.out, encoding="utf-8") as f:
            same = f.read() == text_out
        print(f"semconv_gen: {args.out} {'matches' if same else 'differs from'} a fresh run on {args.model}")
        return 0 if same else 1
    os.makedirs(os.path.dirname(os.path.abspath(args.out)), exist_ok=True)
    with open(args.out, "w", encoding="utf-8") as f:
        f.write(text_out)
    data = json.loads(text_out)
    print(f"semconv_gen: wrote {args.out}: semantic conventions {data['semconv_version']}, "
          f"{len(data['attributes'])} attributes, {len(data['groups'])} groups, "
          f"{len(data['group_attributes'])} group attributes, {len(text_out):,} bytes")
    return 0


if __name__ == "__main__":
    sys.exit(main())
