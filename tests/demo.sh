#!/usr/bin/env bash
# The built-in demo: record a workload with a deliberate leak, then report.
# usage: tests/demo.sh BUILD_DIR
set -euo pipefail
build=${1:-build}
out=$(mktemp -d /tmp/sockrec-demo.XXXXXX)
trap 'rm -rf "$out"; [ -n "${leaker_pid:-}" ] && kill "$leaker_pid" 2>/dev/null || true' EXIT
[ -e /sys/kernel/tracing/events ] || mount -t tracefs none /sys/kernel/tracing 2>/dev/null || true

echo "== sockrec -d 3 -o demo.srec -- leaker 10 4 8"
echo "   (10 TCP, 10 UDP, 10 socketpairs allocated in leak_sockets_here(); 4 of each closed)"
"$build/sockrec" -d 3 -o "$out/demo.srec" -- "$build/fixtures/leaker" 10 4 8 > "$out/leaker.out"
leaker_pid=$(sed -n 's/^leaker pid=//p' "$out/leaker.out")
echo
echo "== sockreport info demo.srec"
"$build/sockreport" info "$out/demo.srec"
echo
echo "== sockreport leaks demo.srec"
"$build/sockreport" leaks "$out/demo.srec"
