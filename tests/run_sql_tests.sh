#!/usr/bin/env bash
# Runs SQL assertion files in the sqlite3 CLI with the extension loaded.
# Each assertion is a query printing  name|1  when it holds; any other line,
# any error text, or a non-zero exit fails the file.
#   usage: tests/run_sql_tests.sh SQLITE3 FILE...
set -uo pipefail
sqlite=$1; shift
cd "$(dirname "$0")/.."
pass=0; failed_files=0
for f in "$@"; do
  out=$("$sqlite" -batch -bail :memory: ".load dist/otelcat" ".read $f" 2>&1)
  rc=$?
  bad=$(grep -v '|1$' <<<"$out" | grep -v '^$')
  n=$(grep -c '|1$' <<<"$out")
  if [[ $rc -ne 0 || -n "$bad" || $n -eq 0 ]]; then
    echo "FAIL $f (exit $rc)"; echo "$bad" | head -20
    failed_files=$((failed_files + 1))
  else
    echo "ok   $f ($n assertions)"
  fi
  pass=$((pass + n))
done
echo "sql: $pass assertions passed, $failed_files file(s) failed"
[[ $failed_files -eq 0 ]]
