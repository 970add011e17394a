# guest-setup.sh - sourced by the guests' /init (tests/vm/guest-init.sh,
# bench/vm/guest-bench.sh); tests/vm/run.sh puts it at /vm/guest-setup.sh.
# Mounts what sockrec needs (proc, sys, dev, tracefs, debugfs, bpffs),
# brings lo up, opens the second serial port ($D) for the results and
# defines send NAME FILE, which sends FILE base64-encoded as NAME between
# @@FILE NAME and @@END lines (run.sh decodes them on the host).
# shellcheck shell=sh
/bin/busybox --install -s /bin
export PATH=/bin
mkdir -p /proc /sys /dev /tmp
mount -t proc proc /proc
mount -t sysfs sysfs /sys
mount -t devtmpfs devtmpfs /dev
# /tmp is not a tmpfs: the initramfs root is writable already, and the
# fixtures live at their host paths, which may be under /tmp (a CI clone).
mount -t tracefs tracefs /sys/kernel/tracing
mount -t debugfs debugfs /sys/kernel/debug 2>/dev/null
mkdir -p /sys/fs/bpf && mount -t bpf bpf /sys/fs/bpf
ip link set lo up 2>/dev/null || ifconfig lo 127.0.0.1 up

D=/dev/ttyS1
stty -F $D raw -echo 2>/dev/null

send() { # send NAME FILE
	echo "@@FILE $1" > $D
	base64 "$2" > $D
	echo "@@END" > $D
}
