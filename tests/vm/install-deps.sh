#!/usr/bin/env bash
# Install what `make vmtest` needs beyond tests/install-deps.sh (idempotent):
# qemu-system-x86 (qemu-system-x86_64), busybox-static (the guest's userland),
# cpio (the initramfs).  All from Debian's archive.
set -euo pipefail
pkgs=(qemu-system-x86 busybox-static cpio)
missing=()
for p in "${pkgs[@]}"; do
  dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed" || missing+=("$p")
done
if [ ${#missing[@]} -eq 0 ]; then
  echo "vm-deps: all ${#pkgs[@]} packages present"
  exit 0
fi
echo "vm-deps: installing ${missing[*]}"
SUDO=
[ "$(id -u)" -eq 0 ] || SUDO=sudo
export DEBIAN_FRONTEND=noninteractive
$SUDO apt-get update -qq
$SUDO apt-get install -y -qq --no-install-recommends "${missing[@]}"
