#!/usr/bin/env bash
# run.sh - boot a stock Debian kernel under qemu (TCG) with sockrec in an
# initramfs, record the test matrix in the guest, bring the files back.
#
# usage: tests/vm/run.sh OUTDIR
# environment:
#   VM_CACHE     kernel cache directory (default tests/vm/cache)
#   VM_BIN       directory holding the STATIC sockrec and sockreport
#                (default build-static)
#   VM_FIXTURES  directory holding the STATIC fixtures leaker, tcp_pair, nofp_static
#                (default build-static/vmfixtures); they are put at the same
#                absolute path in the guest, so that the host symbolizes the
#                guest's user stacks from the very same files
#   VM_TIMEOUT   seconds before the guest is killed (default 600)
#   VM_BACKENDS  backends to run (default "fentry kprobe tracepoint auto")
#   VM_CASES_FILE  (debugging) run these case lines instead of the matrix;
#                @FIX@ in them stands for the fixture directory
#   VM_INIT      the guest's /init (default tests/vm/guest-init.sh; the
#                benchmark, bench/vm/guest-bench.sh, brings its own)
#   VM_EXTRA     more STATIC executables for the guest, space-separated
#                absolute paths; each goes in at the same path
#   VM_EXTRA_DYN dynamically linked executables for the guest (the benchmark's
#                perf peer), space-separated absolute paths; each goes in at
#                its path with the shared libraries `ldd` lists and the loader
#   QEMU         qemu binary (default qemu-system-x86_64)
# Output in OUTDIR: guest.txt, for each case NAME.srec, NAME.err (sockrec -v),
# NAME.out (the workload's stdout), NAME.rc, NAME.ginfo.json; console.log.
# Exit status: 0 ok, 3 no kernel could be obtained, 4 qemu missing or the
# guest did not finish, 1 other errors.
set -euo pipefail
here=$(cd "$(dirname "$0")" && pwd)
repo=$(cd "$here/../.." && pwd)
out=${1:?usage: run.sh OUTDIR}
cache=${VM_CACHE:-$repo/tests/vm/cache}
bin=$(cd "${VM_BIN:-$repo/build-static}" && pwd)
fix=$(cd "${VM_FIXTURES:-$repo/build-static/vmfixtures}" && pwd)
qemu=${QEMU:-qemu-system-x86_64}
backends=${VM_BACKENDS:-fentry kprobe tracepoint auto}

t_start=$(date +%s.%N)
mkdir -p "$out"
out=$(cd "$out" && pwd)
rm -rf "${out:?}"/*

command -v "$qemu" >/dev/null || { echo "run.sh: $qemu not found (apt-get install qemu-system-x86)" >&2; exit 4; }
busybox=$(command -v busybox || true)
[ -n "$busybox" ] && [ -x /bin/busybox ] && busybox=/bin/busybox
[ -n "$busybox" ] || { echo "run.sh: busybox not found (apt-get install busybox-static)" >&2; exit 1; }
command -v cpio >/dev/null || { echo "run.sh: cpio not found (apt-get install cpio)" >&2; exit 1; }

kernel_rc=0
kernel=$("$here/get-kernel.sh" "$cache") || kernel_rc=$?
[ "$kernel_rc" -eq 0 ] || exit "$kernel_rc"

# Only self-contained binaries go in, but for VM_EXTRA_DYN (below), whose
# libraries are copied along.
is_static() {
	local l
	l=$(LC_ALL=C ldd "$1" 2>&1 || true)
	case "$l" in *"not a dynamic executable"*|*"statically linked"*) return 0 ;; esac
	return 1
}
init=${VM_INIT:-$here/guest-init.sh}
[ -r "$init" ] || { echo "run.sh: $init missing" >&2; exit 1; }
extra=${VM_EXTRA:-}
for f in $extra; do
	case "$f" in /*) ;; *) echo "run.sh: VM_EXTRA: $f is not an absolute path" >&2; exit 1 ;; esac
done
# shellcheck disable=SC2086
for f in "$busybox" "$bin/sockrec" "$bin/sockreport" "$fix/leaker" "$fix/tcp_pair" "$fix/nofp_static" $extra; do
	[ -x "$f" ] || { echo "run.sh: $f missing (make STATIC=1 vm-fixtures)" >&2; exit 1; }
	is_static "$f" || { echo "run.sh: $f is not statically linked" >&2; exit 1; }
done

extra_dyn=${VM_EXTRA_DYN:-}
for f in $extra_dyn; do
	case "$f" in /*) ;; *) echo "run.sh: VM_EXTRA_DYN: $f is not an absolute path" >&2; exit 1 ;; esac
	[ -x "$f" ] || { echo "run.sh: VM_EXTRA_DYN: $f missing" >&2; exit 1; }
done

# ---- initramfs ----
root="$out/initramfs"
mkdir -p "$root"/{bin,vm,proc,sys,dev,tmp,etc} "$root$fix"
cp "$busybox" "$root/bin/busybox"
cp "$bin/sockrec" "$bin/sockreport" "$root/bin/"
cp "$fix/leaker" "$fix/tcp_pair" "$fix/nofp_static" "$root$fix/"
for f in $extra; do
	mkdir -p "$root$(dirname "$f")"
	cp "$f" "$root$f"
done
# A dynamic executable and every absolute path ldd names (the libraries and
# the loader), each at its own path, so that the guest's loader finds them.
for f in $extra_dyn; do
	mkdir -p "$root$(dirname "$f")"
	cp "$f" "$root$f"
	libs=$(LC_ALL=C ldd "$f" | grep -o '/[^ ]*' | sort -u) ||
		{ echo "run.sh: ldd $f failed" >&2; exit 1; }
	for l in $libs; do
		mkdir -p "$root$(dirname "$l")"
		cp -L "$l" "$root$l"
	done
done
cp "$init" "$root/init"
cp "$here/guest-setup.sh" "$root/vm/guest-setup.sh"
printf 'ID=debian\nNAME="sockrec test VM"\n' > "$root/etc/os-release"
# The matrix: NAME BACKEND DURATION OPTS CMD ARGS (guest-init.sh).  leak: -d shorter than the
# workload's sleep (sockets still open at the end); exit: the workload exits
# without closing; tcp: every socket closed; nofp: user stacks through code
# without frame pointers (CFI unwinding), held open until exit.
: > "$root/vm/cases"
if [ -n "${VM_CASES_FILE:-}" ]; then # debugging: own cases, @FIX@ = fixture dir
	sed "s|@FIX@|$fix|g" "$VM_CASES_FILE" > "$root/vm/cases"
	backends=
fi
for b in $backends; do
	cat >> "$root/vm/cases" <<CASES
leak-$b $b 2.5 - $fix/leaker 10 4 30
exit-$b $b 30 - $fix/leaker 10 4 0
tcp-$b $b 30 - $fix/tcp_pair 5
nofp-$b $b 30 - $fix/nofp_static
CASES
done
(cd "$root" && find . | LC_ALL=C sort | cpio -o -H newc --quiet -R 0:0) | gzip -1 > "$out/initrd.gz"
rm -rf "$root"

# ---- boot ----
echo "run.sh: booting $(basename "$kernel") under $qemu (TCG)" >&2
qrc=0
timeout "${VM_TIMEOUT:-600}" "$qemu" -accel tcg -cpu max -m 1024 -smp 2 -nographic -no-reboot \
	-kernel "$kernel" -initrd "$out/initrd.gz" \
	-append "console=ttyS0 quiet panic=-1 oops=panic" \
	-serial mon:stdio -serial "file:$out/data.b64" \
	< /dev/null > "$out/console.log" 2>&1 || qrc=$?
t_end=$(date +%s.%N)

# ---- decode ----
python3 - "$out" <<'PY'
import base64, os, sys
out = sys.argv[1]
name, buf, done = None, [], False
with open(os.path.join(out, "data.b64"), "rb") as f:
    for raw in f:
        line = raw.decode("ascii", "replace").strip()
        if line.startswith("@@FILE "):
            name, buf = os.path.basename(line[7:].strip()), []
        elif line == "@@END" and name:
            data = base64.b64decode("".join(buf))
            if name.endswith(".gz"):
                import gzip
                data, name = gzip.decompress(data), name[:-3]
            with open(os.path.join(out, name), "wb") as o:
                o.write(data)
            name = None
        elif line == "@@DONE":
            done = True
        elif name:
            buf.append(line)
open(os.path.join(out, "done"), "w").write("yes\n" if done else "no\n")
PY
awk -v a="$t_start" -v b="$t_end" 'BEGIN { printf "vm_seconds=%.1f\n", b - a }' >> "$out/guest.txt"
if [ "$(cat "$out/done")" != yes ]; then
	echo "run.sh: the guest did not finish (qemu exit $qrc); console:" >&2
	tail -n 40 "$out/console.log" >&2
	exit 4
fi
grep '^vm: ' "$out/console.log" | tr -d '\r' >&2 || true
exit 0
