#!/bin/busybox sh
# /init of the benchmark guest (bench/vm/run.py packs it with tests/vm/run.sh).
#
# Runs every line of /vm/cases, in order:  ROUND WORKLOAD CONFIG CMD [ARGS...]
# CMD is the whole command: the workload alone (untraced), or the workload
# under sockrec or the floor, which write /tmp/r.srec where they record, or
# under perf record, which writes /tmp/p.data.  A case whose WORKLOAD is
# "setup" prepares later ones (perf probe -a) and has no workload line.
# During a case whose CONFIG starts with cost-, kernel.bpf_stats_enabled is 1.
# For each case it appends to /tmp/results:
#   @@CASE ROUND WORKLOAD CONFIG RC SECONDS
#   the command's stdout (the workload's JSON line)
#   @@ERR, then the last lines of its stderr but libbpf's (sockrec's summary
#         and, with -v, its per-program run times; the floor's JSON)
#   @@INFO, then `sockreport info --json /tmp/r.srec` when there is a file
#   @@STATS, then `perf report --stats -i /tmp/p.data` when there is one
# and at the end sends /tmp/results gzipped over ttyS1 (send, from
# tests/vm/guest-setup.sh), then @@DONE.
# shellcheck source=tests/vm/guest-setup.sh disable=SC1091
. /vm/guest-setup.sh
hostname sockrec-bench

R=/tmp/results
echo "@@GUEST uname=$(uname -r) nproc=$(nproc) cpu=$(sed -n 's/^model name[^:]*: //p' /proc/cpuinfo | head -n1)" > $R

n=0
while read -r round wl cfg cmd; do
	case "$round" in ''|'#'*) continue ;; esac
	n=$((n + 1))
	rm -f /tmp/r.srec /tmp/p.data /tmp/p.data.old
	# cost-* cases: the kernel counts each program's run time (sockrec -v
	# prints it); never during the throughput cases, which it would slow.
	case "$cfg" in cost-*) sysctl -w kernel.bpf_stats_enabled=1 > /dev/null ;; esac
	t0=$(cut -d' ' -f1 /proc/uptime)
	# shellcheck disable=SC2086
	$cmd < /dev/null > /tmp/out 2> /tmp/err
	rc=$?
	t1=$(cut -d' ' -f1 /proc/uptime)
	sysctl -w kernel.bpf_stats_enabled=0 > /dev/null
	{
		echo "@@CASE $round $wl $cfg $rc $(awk "BEGIN{print $t1-$t0}")"
		cat /tmp/out
		echo "@@ERR"
		grep -v '^libbpf: ' /tmp/err | tail -n 60
		if [ -s /tmp/r.srec ]; then
			echo "@@INFO"
			sockreport info --json /tmp/r.srec 2>&1
		fi
		# perf's own counts of what it wrote and lost (CMD is perf record)
		if [ -s /tmp/p.data ]; then
			echo "@@STATS"
			${cmd%% *} report --stats -i /tmp/p.data 2>&1
		fi
	} >> $R
	echo "bench: $n: $round $wl $cfg rc=$rc"
done < /vm/cases

gzip -c $R > $R.gz
send results.gz $R.gz
echo "@@DONE" > "$D"
echo "bench: done"
sync
poweroff -f
echo o > /proc/sysrq-trigger
sleep 5
