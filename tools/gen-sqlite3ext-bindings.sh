#!/bin/sh
# Regenerates vendor/sqlite3ext-sys/src/bindings.rs. Not part of the build:
# run it by hand only when moving to newer SQLite headers, then commit the
# result. Needs bindgen and libclang, which a build machine does not have:
#   python3 -m venv /tmp/clang && /tmp/clang/bin/pip install libclang   # the wheel ships libclang.so
#   cargo install bindgen-cli --root /tmp/bindgen
# Generated last from Debian 12's libsqlite3-dev 3.40.1 headers with bindgen 0.73.2.
set -eu
HEADER=${HEADER:-/usr/include/sqlite3ext.h}
CLANG_DIR=${LIBCLANG_PATH:-$(echo /tmp/clang/lib/python3*/site-packages/clang/native)}
GCC_INCLUDE=$(dirname "$(gcc -print-file-name=include/stdarg.h)")
LIBCLANG_PATH=$CLANG_DIR ${BINDGEN:-/tmp/bindgen/bin/bindgen} "$HEADER" \
  --blocklist-function '.*' \
  --blocklist-var 'sqlite3_(version|temp_directory|data_directory)' \
  --no-layout-tests \
  -o "$(dirname "$0")/../vendor/sqlite3ext-sys/src/bindings.rs" \
  -- -I"$GCC_INCLUDE"
