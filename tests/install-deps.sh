#!/usr/bin/env bash
# Install the Debian packages sockrec needs to build and test (idempotent),
# or the packages named as arguments.
# Everything comes from Debian's archive; nothing is downloaded otherwise.
set -euo pipefail
default=(
  make gcc clang llvm bpftool libbpf-dev libelf-dev zlib1g-dev libzstd-dev libdwarf-dev
  pkg-config binutils zstd python3 python3-pytest libclang-rt-14-dev
  iproute2 nftables libbpf-tools
  linux-perf bpftrace valgrind time lld
  qemu-system-x86 busybox-static cpio
  cppcheck clang-tidy procps util-linux
  chromium
)
# With arguments, install just those packages (tests/vm/install-deps.sh).
if [ $# -gt 0 ]; then pkgs=("$@"); else pkgs=("${default[@]}"); fi
missing=()
for p in "${pkgs[@]}"; do
  dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed" || missing+=("$p")
done
if [ ${#missing[@]} -eq 0 ]; then
  echo "deps: all ${#pkgs[@]} packages present"
  exit 0
fi
echo "deps: installing ${missing[*]}"
SUDO=
[ "$(id -u)" -eq 0 ] || SUDO=sudo
export DEBIAN_FRONTEND=noninteractive
$SUDO apt-get update -qq
$SUDO apt-get install -y -qq --no-install-recommends "${missing[@]}"
