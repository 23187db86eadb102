#!/usr/bin/env bash
# Runs otelcat's fuzz targets (fuzz/, cargo-fuzz, Rust nightly), each for
# SECONDS seconds, with debug assertions on (the overflow checks that release
# builds drop found the HLL bugs):
#
#   tools/fuzz.sh SECONDS [TARGET...]      (make fuzz FUZZ_S=60)
#
# Each target starts from its committed seeds (fuzz/corpus/<target>) plus
# what earlier runs here found (target/fuzz-work/<target>, not committed).
# A crash input is copied to tests/fuzz-crashes/<target>/, where `make test`
# replays it on stable Rust (fuzz/tests/replay.rs) and fails until what it
# found is fixed; shrink it with
#   cargo +nightly fuzz tmin -a <target> tests/fuzz-crashes/<target>/<file>
# and describe it in tests/fuzz-crashes/README.md.
# Prints the executions per target; exits 1 if any target crashed, 2 if the
# targets do not build.
set -uo pipefail
cd "$(dirname "$0")/.."

secs=${1:?usage: tools/fuzz.sh SECONDS [TARGET...]}
shift
targets=("$@")
[ ${#targets[@]} -gt 0 ] || targets=(hll otlp_proto otlp_json drain samples otlp_ingest topk)

cargo +nightly fuzz build -a || exit 2
bin=fuzz/target/x86_64-unknown-linux-gnu/release
status=0
for t in "${targets[@]}"; do
  work=target/fuzz-work/$t
  art=target/fuzz-work/$t-artifacts/
  mkdir -p "$work" "$art"
  log=target/fuzz-work/$t.log
  # (Leaks are findings too: every connection the targets open frees what
  # otelcat registered on it, src/ffi.rs.)
  "$bin/$t" "$work" "fuzz/corpus/$t" -max_total_time="$secs" \
    -timeout=25 -rss_limit_mb=4096 -artifact_prefix="$art" -print_final_stats=1 >"$log" 2>&1
  rc=$?
  execs=$(grep -o 'stat::number_of_executed_units: *[0-9]*' "$log" | grep -o '[0-9]*$' | tail -1)
  cov=$(grep -o 'cov: [0-9]*' "$log" | tail -1)
  if [ $rc -eq 0 ]; then
    printf '%-12s %10s executions in %ss, %s, no crash\n' "$t" "${execs:-?}" "$secs" "${cov:-cov: ?}"
  else
    status=1
    printf '%-12s CRASH after %s executions (log: %s)\n' "$t" "${execs:-?}" "$log"
    grep -m3 -E 'panicked at|ERROR: |SUMMARY' "$log" | sed 's/^/    /'
    mkdir -p "tests/fuzz-crashes/$t"
    for f in "$art"*; do
      [ -f "$f" ] || continue
      cp "$f" "tests/fuzz-crashes/$t/"
      echo "    kept tests/fuzz-crashes/$t/$(basename "$f"); shrink it: cargo +nightly fuzz tmin -a $t tests/fuzz-crashes/$t/$(basename "$f")"
      rm -f "$f"
    done
  fi
done
exit $status
