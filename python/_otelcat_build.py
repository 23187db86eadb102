"""The otelcat wheel's build backend (PEP 517), standard library only.

otelcat's Python package carries a prebuilt SQLite extension (the Rust
cdylib `make` writes to dist/otelcat.so), not a CPython extension module, so
the wheel is `py3-none-<platform>`: any Python 3, one platform. This backend
packs that file with the Python sources of python/otelcat, the data files
and licenses listed in pyproject.toml's [tool.otelcat-build], and metadata
from pyproject.toml's [project] table; the version comes from Cargo.toml
(the one place it is written) and is stamped into otelcat/_version.py. It
needs no network and no compiler, and writes the same bytes for the same
inputs (entries sorted, timestamps fixed).

The platform tag is manylinux_2_N_<arch>, N the newest glibc symbol version
the extension needs (read from its dynamic string table).

Command line (what `make wheel` runs):
    python3 python/_otelcat_build.py [--extension PATH] [--out DIR]
"""
import base64
import hashlib
import os
import re
import sys
import zipfile

HERE = os.path.dirname(os.path.abspath(__file__))
ROOT = os.path.dirname(HERE)
ZIP_DATE = (2026, 1, 1, 0, 0, 0)


def _toml(path):
    try:
        import tomllib
    except ImportError:                               # Python < 3.11
        raise RuntimeError("building the otelcat wheel needs Python 3.11 or newer (tomllib)") from None
    with open(path, "rb") as f:
        return tomllib.load(f)


def version():
    """Cargo.toml's [package] version."""
    return _toml(os.path.join(ROOT, "Cargo.toml"))["package"]["version"]


def project():
    return _toml(os.path.join(HERE, "pyproject.toml"))


def glibc_needed(so_bytes):
    """(major, minor) of the newest GLIBC_x.y symbol version the library needs."""
    found = {(int(a), int(b)) for a, b in re.findall(rb"GLIBC_(\d+)\.(\d+)", so_bytes)}
    return max(found) if found else (2, 17)


def elf_arch(so_bytes):
    if so_bytes[:4] != b"\x7fELF":
        raise RuntimeError("the extension is not an ELF shared library (only Linux wheels are built here)")
    machine = int.from_bytes(so_bytes[18:20], "little")
    return {62: "x86_64", 183: "aarch64"}.get(machine) or f"unknown-{machine}"


def platform_tag(so_bytes):
    major, minor = glibc_needed(so_bytes)
    return f"manylinux_{major}_{minor}_{elf_arch(so_bytes)}"


def metadata_text(proj, ver):
    p = proj["project"]
    lines = ["Metadata-Version: 2.1", f"Name: {p['name']}", f"Version: {ver}", f"Summary: {p['description']}",
             f"License: {p['license']}", f"Requires-Python: {p['requires-python']}",
             f"Keywords: {','.join(p.get('keywords', []))}"]
    lines += [f"Classifier: {c}" for c in p.get("classifiers", [])]
    lines += [f"Requires-Dist: {d}" for d in p.get("dependencies", [])]
    for extra, deps in p.get("optional-dependencies", {}).items():
        lines.append(f"Provides-Extra: {extra}")
        lines += [f'Requires-Dist: {d}; extra == "{extra}"' for d in deps]
    lines.append("Description-Content-Type: text/markdown")
    with open(os.path.join(HERE, p["readme"]), encoding="utf-8") as f:
        readme = f.read()
    return "\n".join(lines) + "\n\n" + readme


def entry_points_text(proj):
    p = proj["project"]
    out = []
    if p.get("scripts"):
        out.append("[console_scripts]")
        out += [f"{k} = {v}" for k, v in p["scripts"].items()]
        out.append("")
    for group, eps in p.get("entry-points", {}).items():
        out.append(f"[{group}]")
        out += [f"{k} = {v}" for k, v in eps.items()]
        out.append("")
    return "\n".join(out)


def package_files(ver, extension, proj):
    """{archive name: bytes} of the otelcat package."""
    files = {}
    pkg = os.path.join(HERE, "otelcat")
    for dirpath, dirnames, filenames in os.walk(pkg):
        dirnames[:] = sorted(d for d in dirnames if d != "__pycache__")
        for name in sorted(filenames):
            if name.endswith((".pyc", ".so")) or name.startswith("."):
                continue
            full = os.path.join(dirpath, name)
            arc = "otelcat/" + os.path.relpath(full, pkg).replace(os.sep, "/")
            with open(full, "rb") as f:
                files[arc] = f.read()
    files["otelcat/_version.py"] = (f'__version__ = "{ver}"   # stamped from Cargo.toml by the wheel build\n').encode()
    with open(extension, "rb") as f:
        files["otelcat/otelcat.so"] = f.read()
    conf = proj.get("tool", {}).get("otelcat-build", {})
    for name, src in conf.get("data", {}).items():
        with open(os.path.join(HERE, src), "rb") as f:
            files[f"otelcat/data/{name}"] = f.read()
    return files


def build(out_dir, extension=None):
    """Writes the wheel into out_dir; returns its file name."""
    proj = project()
    ver = version()
    conf = proj.get("tool", {}).get("otelcat-build", {})
    extension = extension or os.environ.get("OTELCAT_EXTENSION") or os.path.join(HERE, conf["extension"])
    if not os.path.isfile(extension):
        raise RuntimeError(f"{os.path.relpath(extension)} is missing: run `make` first (it builds the extension)")
    files = package_files(ver, extension, proj)
    tag = f"py3-none-{platform_tag(files['otelcat/otelcat.so'])}"
    name = proj["project"]["name"]
    dist_info = f"{name}-{ver}.dist-info"
    files[f"{dist_info}/METADATA"] = metadata_text(proj, ver).encode()
    files[f"{dist_info}/WHEEL"] = (f"Wheel-Version: 1.0\nGenerator: otelcat _otelcat_build\n"
                                   f"Root-Is-Purelib: false\nTag: {tag}\n").encode()
    files[f"{dist_info}/entry_points.txt"] = entry_points_text(proj).encode()
    for lic in conf.get("licenses", []):
        with open(os.path.join(HERE, lic), "rb") as f:
            files[f"{dist_info}/licenses/{os.path.basename(lic)}"] = f.read()
    record = []
    for arc in sorted(files):
        digest = base64.urlsafe_b64encode(hashlib.sha256(files[arc]).digest()).rstrip(b"=").decode()
        record.append(f"{arc},sha256={digest},{len(files[arc])}")
    record.append(f"{dist_info}/RECORD,,")
    files[f"{dist_info}/RECORD"] = ("\n".join(record) + "\n").encode()
    wheel_name = f"{name}-{ver}-{tag}.whl"
    os.makedirs(out_dir, exist_ok=True)
    tmp = os.path.join(out_dir, wheel_name + ".tmp")
    with zipfile.ZipFile(tmp, "w", zipfile.ZIP_DEFLATED) as z:
        order = sorted(a for a in files if not a.startswith(dist_info)) + sorted(a for a in files if a.startswith(dist_info)
                                                                              and not a.endswith("/RECORD"))
        for arc in order + [f"{dist_info}/RECORD"]:
            info = zipfile.ZipInfo(arc, ZIP_DATE)
            info.external_attr = (0o755 if arc.endswith(".so") else 0o644) << 16
            info.compress_type = zipfile.ZIP_DEFLATED
            z.writestr(info, files[arc])
    os.replace(tmp, os.path.join(out_dir, wheel_name))
    return wheel_name


# --- PEP 517 hooks -----------------------------------------------------------

def build_wheel(wheel_directory, config_settings=None, metadata_directory=None):
    return build(wheel_directory)


def get_requires_for_build_wheel(config_settings=None):
    return []


def build_sdist(sdist_directory, config_settings=None):
    raise RuntimeError("otelcat has no Python source distribution: the wheel carries the Rust extension "
                       "built by `make`; build from the repository (make wheel)")


def main(argv=None):
    import argparse
    ap = argparse.ArgumentParser(description="Build the otelcat wheel from the already built extension.")
    ap.add_argument("--extension", help="the extension to pack (default: dist/otelcat.so)")
    ap.add_argument("--out", default=os.path.join(ROOT, "dist"), help="output directory (default dist/)")
    ap.add_argument("--print-version", action="store_true", help="print the version (Cargo.toml's) and exit")
    args = ap.parse_args(argv)
    if args.print_version:
        print(version())
        return 0
    try:
        name = build(args.out, args.extension)
    except RuntimeError as e:
        print(f"build_wheel: {e}", file=sys.stderr)
        return 2
    print(os.path.join(os.path.relpath(args.out), name))
    return 0


if __name__ == "__main__":
    sys.exit(main())
