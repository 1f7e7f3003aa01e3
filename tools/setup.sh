#!/bin/bash
# Installs (via apt) everything needed to build and test this project.
# Idempotent and fast when everything is already installed: a single
# dpkg-query call; `apt-get update` only runs when something is missing.
#
# Usage: tools/setup.sh [-q]    (-q: print nothing unless installing/failing)
set -euo pipefail

PACKAGES=(
  # Build system and toolchains.
  bazel-bootstrap
  g++
  clang
  clang-format
  libclang-rt-14-dev # clang sanitizer runtimes
  llvm-14-dev
  pkg-config
  python3
  # Libraries (found via pkg-config by third_party/system_libs.bzl).
  libabsl-dev
  libbenchmark-dev
  libfuse3-dev
  libgmock-dev
  libgtest-dev
  libprotobuf-dev
  libseccomp-dev
  protobuf-compiler
  # Runtime tools for tests.
  attr # getfattr/setfattr
  busybox-static
  diod
  fuse3
  runc
  util-linux
)

quiet=0
[[ "${1:-}" == "-q" ]] && quiet=1

# One dpkg-query call. Packages dpkg has never heard of are not printed at all
# (dpkg-query then exits non-zero), so compute "missing" as the complement.
declare -A installed=()
while read -r pkg status; do
  [[ "${status}" == "installed" ]] && installed["${pkg}"]=1
done < <(dpkg-query -W -f='${Package} ${db:Status-Status}\n' "${PACKAGES[@]}" 2>/dev/null || true)
missing=()
for pkg in "${PACKAGES[@]}"; do
  [[ -n "${installed[${pkg}]:-}" ]] || missing+=("${pkg}")
done

if [[ ${#missing[@]} -eq 0 ]]; then
  [[ ${quiet} -eq 1 ]] || echo "setup.sh: all ${#PACKAGES[@]} packages are installed."
  exit 0
fi

echo "setup.sh: installing missing packages: ${missing[*]}" >&2
sudo=()
if [[ "$(id -u)" -ne 0 ]]; then
  if command -v sudo >/dev/null; then
    sudo=(sudo)
  else
    echo "setup.sh: need root (or sudo) to install: ${missing[*]}" >&2
    exit 1
  fi
fi

install() {
  export DEBIAN_FRONTEND=noninteractive
  # (set -e is ignored inside `if ! install`, hence the explicit `|| return`.)
  "${sudo[@]}" apt-get update -q || return
  "${sudo[@]}" apt-get install -y -q --no-install-recommends \
    -o Dpkg::Options::=--force-confdef -o Dpkg::Options::=--force-confold \
    "${missing[@]}"
}

if [[ ${quiet} -eq 1 ]]; then
  log="$(mktemp -t setup.XXXXXX.log)"
  if ! install </dev/null >"${log}" 2>&1; then
    cat "${log}" >&2
    rm -f "${log}"
    echo "setup.sh: FAILED to install: ${missing[*]}" >&2
    exit 1
  fi
  rm -f "${log}"
else
  install </dev/null
fi
echo "setup.sh: installed ${missing[*]}." >&2
