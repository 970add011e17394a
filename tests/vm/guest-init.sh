#!/bin/busybox sh
# /init of the sockrec test VM (tests/vm/run.sh builds the initramfs).
#
# Runs every line of /vm/cases:  NAME BACKEND DURATION OPTS CMD [ARGS...]
#   sockrec -v --backend BACKEND OPTS -d DURATION -o /tmp/NAME.srec -- CMD ARGS
# (OPTS: more sockrec options separated by commas, or - for none)
# and sends the results to the host over the second serial port (ttyS1),
# base64 between marker lines:
#   @@FILE NAME.srec|NAME.err|NAME.out|...   then base64 lines, then @@END
# and finally @@DONE.  The console (ttyS0) only carries progress messages.
# shellcheck source=tests/vm/guest-setup.sh disable=SC1091
. /vm/guest-setup.sh
hostname sockrec-vm

echo "vm: kernel $(uname -r), btf $(ls -l /sys/kernel/btf/vmlinux 2>&1 | awk '{print $5}') bytes"
{
	echo "uname=$(uname -r)"
	echo "btf=$([ -r /sys/kernel/btf/vmlinux ] && echo yes || echo no)"
	echo "kprobe_pmu=$([ -e /sys/bus/event_source/devices/kprobe/type ] && echo yes || echo no)"
	echo "nproc=$(nproc)"
} > /tmp/guest.txt
send guest.txt /tmp/guest.txt

while read -r name backend dur opts cmd; do
	[ "$opts" = - ] && opts=
	opts=$(echo "$opts" | tr , ' ')
	case "$name" in ''|'#'*) continue ;; esac
	echo "vm: $name: sockrec --backend $backend $opts -d $dur -- $cmd"
	t0=$(cut -d' ' -f1 /proc/uptime)
	# shellcheck disable=SC2086
	sockrec -v --backend "$backend" $opts -d "$dur" -o "/tmp/$name.srec" -- $cmd < /dev/null \
		> "/tmp/$name.out" 2> "/tmp/$name.err"
	echo "rc=$?" > "/tmp/$name.rc"
	t1=$(cut -d' ' -f1 /proc/uptime)
	echo "secs=$(awk "BEGIN{print $t1-$t0}")" >> "/tmp/$name.rc"
	# A workload left running past -d: stop it now (it holds the leaks).
	for p in $(sed -n 's/^[a-z_]* pid=\([0-9]*\).*/\1/p' "/tmp/$name.out"); do
		kill -9 "$p" 2>/dev/null
	done
	echo "vm: $name: $(cat /tmp/$name.rc | tr '\n' ' ')"
	[ -s "/tmp/$name.srec" ] && send "$name.srec" "/tmp/$name.srec"
	gzip -c "/tmp/$name.err" > "/tmp/$name.err.gz"
	send "$name.err.gz" "/tmp/$name.err.gz"
	send "$name.out" "/tmp/$name.out"
	send "$name.rc" "/tmp/$name.rc"
	# The guest's own reading of the file, for comparison with the host's.
	if [ -s "/tmp/$name.srec" ]; then
		sockreport info --json "/tmp/$name.srec" > "/tmp/$name.ginfo.json" 2>&1
		send "$name.ginfo.json" "/tmp/$name.ginfo.json"
	fi
	rm -f "/tmp/$name".*
done < /vm/cases

echo "@@DONE" > $D
echo "vm: done"
sync
poweroff -f
echo o > /proc/sysrq-trigger
sleep 5
