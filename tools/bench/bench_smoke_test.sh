#!/bin/bash
# Every benchmark row runs (tiny time budget, small fixtures), no row
# reports an error, and compare.py turns the JSON into its table.
set -euo pipefail
dir="${TEST_SRCDIR}/__main__/tools/bench"
out="${TEST_TMPDIR}/bench.json"
"${dir}/bench" --bench_quick --benchmark_min_time=0.001 \
  --benchmark_out="${out}" --benchmark_out_format=json >"${TEST_TMPDIR}/bench.txt"
python3 - "${out}" <<'PY'
import json, sys
doc = json.load(open(sys.argv[1]))
rows = doc["benchmarks"]
bad = [b["name"] for b in rows if b.get("error_occurred")]
if bad:
    sys.exit("rows with errors: %s" % bad)
if len(rows) < 40:
    sys.exit("only %d rows ran" % len(rows))
print("%d rows ran" % len(rows))
PY
python3 "${dir}/compare.py" --json="${out}" --plot="${TEST_TMPDIR}/bench.svg"
test -s "${TEST_TMPDIR}/bench.svg"
