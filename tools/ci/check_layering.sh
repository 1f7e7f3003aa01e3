#!/bin/bash
# Checks the layering DESIGN.md promises, with bazel query: dependencies
# point down, never up or sideways. (Bazel visibility cannot say "everyone
# but p9", and the public targets must stay visible to embedders, so the
# rules are checked here instead.) Prints each violation; exits 1 if any.
set -uo pipefail
cd "$(dirname "${BASH_SOURCE[0]}")/../.." || exit 1
BAZEL=${BAZEL:-./tools/bazel}
bad=0

# Whether a directory holds any Bazel package.
has_build() {
  [[ -d "$1" ]] && [[ -n "$(find "$1" -name BUILD.bazel -print -quit)" ]]
}

# The union of the given packages' patterns that exist (query fails on a
# pattern naming no package).
pats() {
  local out="" p
  for p in "$@"; do
    has_build "${p}" || continue
    out+="${out:+ + }//${p}/..."
  done
  echo "${out:-//base:base}"
}

# forbid FROM TO REASON: nothing in FROM may depend on anything in TO.
forbid() {
  local from="$1" to="$2" why="$3" out
  if ! out=$("${BAZEL}" query --noshow_progress \
      "deps(${from}) intersect (${to})" 2>/dev/null </dev/null); then
    echo "layering: query failed for ${from}" >&2
    bad=1
    return
  fi
  if [[ -n "${out}" ]]; then
    echo "layering: ${from} depends on ${to} (${why}):" >&2
    echo "${out}" | sed 's/^/    /' >&2
    bad=1
  fi
}

forbid '//p9/...' "$(pats sentry runsc)" 'p9 knows no sentry'
forbid '//base/... + //abi/...' "$(pats sentry p9 runsc)" \
  'base and abi are the bottom'
forbid '//sentry/fs:fs' \
  '//sentry/fs/ramfs/... + //sentry/fs/tmpfs/... + //sentry/kernel:kernel' \
  'the core knows no filesystem implementation'
forbid '//sentry/fs/tmpfs:tmpfs' '//sentry/kernel:kernel' \
  'filesystems sit below the kernel layer'
forbid '//sentry/fs/overlay:overlay' '//sentry/kernel:kernel + //sentry/fs/tmpfs/...' \
  'overlay builds on the core (and ramfs stubs) only'
if has_build runsc/fsgofer; then
  # The gofer's libraries (its tests may run the whole runsc binary).
  forbid 'kind("cc_library", //runsc/fsgofer/...)' '//sentry/...' \
    'the gofer links no sentry code'
fi

if [[ ${bad} -eq 0 ]]; then
  echo "layering: ok"
fi
exit ${bad}
