#!/usr/bin/env bash
# Install the Debian packages sockrec needs to build and test (idempotent),
# or the packages named as arguments.
# Everything comes from Debian's archive; nothing is downloaded otherwise.
set -euo pipefail
default=(
  make gcc clang llvm bpftool libbpf-dev libelf-dev zlib1g-dev libzstd-dev libdwarf-dev
  libdw-dev liblzma-dev libbz2-dev curl wget
  pkg-config binutils zstd python3 python3-pytest libclang-rt-14-dev
  libdebuginfod-dev debuginfod xz-utils elfutils
  iproute2 nftables libbpf-tools
  linux-perf bpftrace valgrind time lld
  qemu-system-x86 busybox-static cpio
  cppcheck clang-tidy procps util-linux
  nginx apache2-utils redis-server redis-tools coreutils
  nodejs protobuf-c-compiler libprotobuf-c-dev protobuf-compiler golang-github-google-pprof-dev
  clickhouse-server clickhouse-client
  chromium
)
# With arguments, install just those packages (tests/vm/install-deps.sh).
if [ $# -gt 0 ]; then pkgs=("$@"); else pkgs=("${default[@]}"); fi
missing=()
for p in "${pkgs[@]}"; do
  dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed" || missing+=("$p")
done
# DuckDB for tests/test_export.py: the npm package pinned in
# tests/duckdb/package.json, from the npm registry (node from Debian).
npm_deps() {
  [ $# -gt 0 ] && return 0
  [ -d "$(dirname "$0")/duckdb/node_modules/@duckdb/node-api" ] && return 0
  # Debian's nodejs has npm in a package of its own; NodeSource's bundles it
  if ! command -v npm >/dev/null; then
    ${SUDO:-} apt-get install -y -qq --no-install-recommends npm
  fi
  echo "deps: npm install in tests/duckdb"
  npm install --prefix "$(dirname "$0")/duckdb" --no-audit --no-fund --loglevel=error
}
if [ ${#missing[@]} -eq 0 ]; then
  echo "deps: all ${#pkgs[@]} packages present"
  npm_deps "$@"
  exit 0
fi
echo "deps: installing ${missing[*]}"
SUDO=
[ "$(id -u)" -eq 0 ] || SUDO=sudo
export DEBIAN_FRONTEND=noninteractive
$SUDO apt-get update -qq
$SUDO apt-get install -y -qq --no-install-recommends "${missing[@]}"
npm_deps "$@"
