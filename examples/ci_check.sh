#!/usr/bin/env bash
# examples/ci_check.sh: fail a CI job when telemetry grows keys it should not.
#
#   examples/ci_check.sh CATALOG.db [--max-cardinality N] [--allow FILE]
#
# Exits 1 and lists the offenders when any attribute key's estimated
# cardinality exceeds N (default 1000), or, with --allow, when a key appears
# whose name matches no line of FILE (one key name or SQLite GLOB pattern per
# line, such as http.* ; blank lines and lines starting with # are ignored).
# Exits 0 when all is well, 2 on usage or input errors (a missing option
# value, a file that is not a catalog). Needs only the sqlite3 CLI:
# the check reads plain columns of the catalog (build the catalog from your
# integration tests' telemetry with otlp_ingest or examples/receiver).
# `otelcat check` (pip install otelcat) is the same check.
set -euo pipefail
usage() { sed -n '2,12p' "$0" | sed 's/^# \{0,1\}//' >&2; exit 2; }
[ $# -ge 1 ] || usage
db=$1; shift
max=1000; allow=""
while [ $# -gt 0 ]; do
  case $1 in
    --max-cardinality|--allow)
      [ $# -ge 2 ] || { echo "ci_check: $1 needs a value" >&2; exit 2; }
      if [ "$1" = --allow ]; then allow=$2; else max=$2; fi
      shift 2 ;;
    -h|--help) usage ;;
    *) echo "ci_check: unknown argument $1" >&2; usage ;;
  esac
done
[ -f "$db" ] || { echo "ci_check: no such catalog: $db" >&2; exit 2; }
[[ $max =~ ^[0-9]+$ ]] || { echo "ci_check: --max-cardinality needs a number" >&2; exit 2; }
[ -z "$allow" ] || [ -f "$allow" ] || { echo "ci_check: no such allow-list: $allow" >&2; exit 2; }

tables=$(sqlite3 -readonly -batch "file:$db?mode=ro" \
  "SELECT count(*) FROM sqlite_master WHERE type IN ('table', 'view') AND name IN ('metric_keys', 'span_keys', 'log_keys')" 2>&1) \
  || { echo "ci_check: $db is not an SQLite database (${tables//$'\n'/ })" >&2; exit 2; }
[ "$tables" = 3 ] || { echo "ci_check: $db is not an otelcat catalog (no metric_keys, span_keys and log_keys)" >&2; exit 2; }

# The allow-list as SQL: SELECT 'p1' UNION ALL SELECT 'p2' ...
patterns="SELECT NULL WHERE 0"
if [ -n "$allow" ]; then
  while IFS= read -r line || [ -n "$line" ]; do
    line=${line#"${line%%[![:space:]]*}"}; line=${line%"${line##*[![:space:]]}"}
    case $line in ''|'#'*) continue ;; esac
    patterns+=" UNION ALL SELECT '${line//\'/\'\'}'"
  done < "$allow"
fi
check_allow=$([ -n "$allow" ] && echo 1 || echo 0)

offenders=$(sqlite3 -bail -readonly -batch -separator $'\t' "file:$db?mode=ro" <<SQL
WITH keys(signal, entity, scope, key_name, card) AS (
  SELECT 'metrics', metric_name, key_scope, key_name, estimated_cardinality FROM metric_keys
  UNION ALL SELECT 'spans', span_name, key_scope || iif(event_name <> '', '@' || event_name, ''), key_name, estimated_cardinality FROM span_keys
  UNION ALL SELECT 'logs', severity, key_scope, key_name, estimated_cardinality FROM log_keys),
allowed(p) AS ($patterns)
SELECT 'cardinality ' || card || ' > $max', signal, entity, scope, key_name FROM keys WHERE card > $max
UNION ALL
SELECT 'not in allow-list', signal, entity, scope, key_name FROM keys
  WHERE $check_allow AND NOT EXISTS (SELECT 1 FROM allowed WHERE key_name GLOB p)
ORDER BY 1, 2, 3, 4, 5;
SQL
) || { echo "ci_check: the check failed on $db" >&2; exit 2; }
if [ -n "$offenders" ]; then
  echo "ci_check: $(wc -l <<<"$offenders") offending key(s) in $db:"
  printf 'problem\tsignal\tentity\tscope\tkey\n%s\n' "$offenders"
  exit 1
fi
echo "ci_check: ok ($db: no key above cardinality $max${allow:+, every key allowed by $allow})"
