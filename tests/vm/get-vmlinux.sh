#!/usr/bin/env bash
# get-vmlinux.sh CACHE_DIR - make sure the debug vmlinux of the VM tests'
# kernel is in CACHE_DIR and print its path.
#
# The kernel is the one tests/vm/get-kernel.sh puts in CACHE_DIR (same
# VM_KERNEL_PKG override).  Its debug twin, linux-image-VERSION-dbg of the
# SAME package version, holds an unstripped vmlinux with full DWARF; it is
# fetched with `apt-get download`, only ./usr/lib/debug/boot/vmlinux-VERSION
# is extracted (CACHE_DIR/vmlinux-VERSION, ~600 MB), and the .deb (~280 MB)
# is deleted afterwards (with the temporary directory).  A vmlinux already in the cache is reused without
# any network access or extraction.
# Exit status: 0 ok, 3 the package cannot be obtained, 1 other errors.
set -euo pipefail
cache=${1:?usage: get-vmlinux.sh CACHE_DIR}
here=$(cd "$(dirname "$0")" && pwd)
mkdir -p "$cache"
cache=$(cd "$cache" && pwd)

rc=0
vmlinuz=$("$here/get-kernel.sh" "$cache") || rc=$?
[ "$rc" -eq 0 ] || exit "$rc"
ver=$(basename "$vmlinuz" | sed 's/^vmlinuz-//')
out="$cache/vmlinux-$ver"
if [ -s "$out" ]; then
	echo "$out"
	exit 0
fi

# The kernel .deb names the exact version: linux-image-VER_PKGVERSION_amd64.deb
deb=$({ ls -1 "$cache"/linux-image-"$ver"_*_amd64.deb 2>/dev/null || true; } | sort -V | tail -n1)
[ -n "$deb" ] || { echo "get-vmlinux: no kernel .deb for $ver in $cache" >&2; exit 1; }
pkgver=$(basename "$deb" | sed -e "s/^linux-image-${ver}_//" -e 's/_amd64\.deb$//')
dbg="linux-image-$ver-dbg"

tmp=$(mktemp -d "$cache/dbg.XXXXXX")
trap 'rm -rf "$tmp"' EXIT
echo "get-vmlinux: downloading $dbg=$pkgver into $cache" >&2
if ! (cd "$tmp" && apt-get download -q "$dbg=$pkgver" >&2); then
	echo "get-vmlinux: apt-get download $dbg=$pkgver failed" >&2
	exit 3
fi
dbgdeb=$({ ls -1 "$tmp"/"$dbg"_*_amd64.deb 2>/dev/null || true; } | head -n1)
[ -n "$dbgdeb" ] || { echo "get-vmlinux: $dbg downloaded but not found" >&2; exit 3; }
# tar stops at the member (--occurrence): the rest of the 1.7 GB stream,
# the modules' debug files, is never decompressed; dpkg-deb then dies of
# SIGPIPE, which is why its status and message are dropped: the file is
# checked instead.
member="./usr/lib/debug/boot/vmlinux-$ver"
{ dpkg-deb --fsys-tarfile "$dbgdeb" 2>/dev/null || true; } | tar -x -C "$tmp" --occurrence=1 "$member"
got="$tmp/usr/lib/debug/boot/vmlinux-$ver"
if [ ! -s "$got" ] || ! readelf -n "$got" 2>/dev/null | grep -q 'Build ID:'; then
	echo "get-vmlinux: $member missing or damaged in $(basename "$dbgdeb")" >&2
	exit 1
fi
mv "$got" "$out"
echo "$out"
