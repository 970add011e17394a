#!/usr/bin/env bash
# get-kernel.sh CACHE_DIR - make sure a stock Debian cloud kernel is in CACHE_DIR
# and print the path of its vmlinuz.
#
# The kernel is the one Debian's linux-image-cloud-amd64 metapackage names
# (override with VM_KERNEL_PKG=linux-image-6.1.0-NN-cloud-amd64), fetched with
# `apt-get download` from the configured Debian archive into CACHE_DIR, and
# only its /boot/vmlinuz-* is extracted (CACHE_DIR/vmlinuz-VERSION).  A .deb
# already in the cache is reused without any network access.
# Exit status: 0 ok, 3 the kernel package cannot be obtained, 1 other errors.
set -euo pipefail
cache=${1:?usage: get-kernel.sh CACHE_DIR}
mkdir -p "$cache"
cache=$(cd "$cache" && pwd)

pick_deb() {
	local pat=${1:-linux-image-*-cloud-amd64_*_amd64.deb}
	{ ls -1 "$cache"/$pat 2>/dev/null || true; } | sort -V | tail -n1
}

pkg=${VM_KERNEL_PKG:-}
deb=
if [ -n "$pkg" ]; then
	deb=$(pick_deb "${pkg}_*_amd64.deb")
else
	deb=$(pick_deb)
fi
if [ -z "$deb" ]; then
	if [ -z "$pkg" ]; then
		meta() {
			apt-cache depends linux-image-cloud-amd64 2>/dev/null |
				sed -n 's/^ *Depends: \(linux-image-[0-9].*-cloud-amd64\)$/\1/p' | head -n1
		}
		pkg=$(meta)
		if [ -z "$pkg" ] && [ "$(id -u)" -eq 0 ]; then
			apt-get update -qq >&2 || true # a fresh machine has no package lists
			pkg=$(meta)
		fi
		if [ -z "$pkg" ]; then
			echo "get-kernel: apt-cache does not know linux-image-cloud-amd64 (apt-get update?)" >&2
			exit 3
		fi
	fi
	echo "get-kernel: downloading $pkg into $cache" >&2
	# apt's _apt user may not be able to write the cache: download as is.
	if ! (cd "$cache" && apt-get download -q "$pkg" >&2); then
		echo "get-kernel: apt-get download $pkg failed" >&2
		exit 3
	fi
	deb=$(pick_deb "${pkg}_*_amd64.deb")
	[ -n "$deb" ] || { echo "get-kernel: $pkg downloaded but not found in $cache" >&2; exit 3; }
fi

# linux-image-6.1.0-56-cloud-amd64_6.1.192-2_amd64.deb -> 6.1.0-56-cloud-amd64
ver=$(basename "$deb" | sed -e 's/^linux-image-//' -e 's/_.*//')
out="$cache/vmlinuz-$ver"
if [ ! -s "$out" ]; then
	tmp=$(mktemp -d "$cache/x.XXXXXX")
	trap 'rm -rf "$tmp"' EXIT
	dpkg-deb --fsys-tarfile "$deb" | tar -x -C "$tmp" "./boot/vmlinuz-$ver" "./boot/config-$ver"
	mv "$tmp/boot/config-$ver" "$cache/config-$ver"
	mv "$tmp/boot/vmlinuz-$ver" "$out"
fi
echo "$out"
