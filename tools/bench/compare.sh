#!/bin/bash
# `bazel run //tools/bench:compare`: compare.py with the bench binary from
# this target's runfiles.
set -euo pipefail
here="${RUNFILES_DIR:-$0.runfiles}/__main__/tools/bench"
export RUNFILES_DIR="${RUNFILES_DIR:-$0.runfiles}"
exec python3 "${here}/compare.py" "$@"
