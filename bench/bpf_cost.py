#!/usr/bin/env python3
"""bpf_cost.py - sockrec's BPF time per operation next to the capture floor's,
both attached to the SAME workload process, from the kernel's own counters.

Throughput ratios on a shared 2-core VM swing by x2 between rounds; this
measure does not: the floor (bench/floor) starts the workload, sockrec
attaches to it with -p, so both see exactly the same events under the same
load, and kernel.bpf_stats_enabled gives each program's run count and run
time.  The difference is sockrec's own cost beyond capturing the same
stacks on the same hooks.  What it leaves out: the hooks' dispatch outside
the programs, the syscall slow path both share, and sockrec's drain (user
space; see the recorder CPU table of RESULTS.md).

usage (root): bench/bpf_cost.py [--build DIR] [--runs N] [--secs S]
              [--workloads churn1,churn2,tcp,mixed] [-- SOCKREC_ARGS...]
Per workload and run it prints ns per operation (per close() of the
workload: churn 1 close/op, tcp 2, mixed as counted) for the floor, for
sockrec, per program, and the difference; then the medians.
kernel.bpf_stats_enabled is restored to its previous value.
"""
import argparse
import json
import os
import statistics
import subprocess
import sys
import time

HERE = os.path.dirname(os.path.abspath(__file__))


def progs():
    out = subprocess.run(["bpftool", "prog", "show", "-j"], capture_output=True, text=True,
                         check=True).stdout
    return {p["id"]: p for p in json.loads(out)}


def one_run(build, wl_argv, sockrec_args, secs):
    """floor -- WL, sockrec -p WL; per-program (runs, ns) over `secs`."""
    before = set(progs())
    floor = subprocess.Popen([os.path.join(build, "bench", "floor"), "--"] + wl_argv,
                             stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    rec = None
    try:
        # The floor forks the workload stopped on a pipe: find it by parent.
        wl_pid = None
        for _ in range(200):
            r = subprocess.run(["pgrep", "-P", str(floor.pid)], capture_output=True, text=True)
            if r.stdout.strip():
                wl_pid = int(r.stdout.split()[0])
                break
            time.sleep(0.01)
        if wl_pid is None:
            raise RuntimeError("workload did not start")
        out = os.path.join("/tmp", "bpf_cost.%d.srec" % os.getpid())
        rec = subprocess.Popen([os.path.join(build, "sockrec"), "-f", "-p", str(wl_pid), "-d", str(secs + 2.0), "-o", out] + sockrec_args,
                               stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
        time.sleep(1.5)  # both attached and past their start-up
        a = progs()
        time.sleep(secs)
        b = progs()
    finally:
        if rec:
            rec.communicate()
        floor.communicate()
        try:
            os.unlink(os.path.join("/tmp", "bpf_cost.%d.srec" % os.getpid()))
        except OSError:
            pass
    rows = {}
    for i, p in b.items():
        if i in before or i not in a:
            continue
        n = p.get("name", "")
        dc = p.get("run_cnt", 0) - a[i].get("run_cnt", 0)
        dt = p.get("run_time_ns", 0) - a[i].get("run_time_ns", 0)
        if dc > 0:
            c, t = rows.get(n, (0, 0))
            rows[n] = (c + dc, t + dt)
    return rows


def main():
    ap = argparse.ArgumentParser(description=__doc__,
                                 formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--build", default=os.path.join(os.path.dirname(HERE), "build"))
    ap.add_argument("--runs", type=int, default=3)
    ap.add_argument("--secs", type=float, default=3.0)
    ap.add_argument("--workloads", default="churn1,churn2,tcp,mixed")
    ap.add_argument("sockrec_args", nargs="*", help="after --: extra sockrec options")
    a = ap.parse_args()
    if os.geteuid() != 0:
        print("bpf_cost.py: needs root (BPF)", file=sys.stderr)
        return 2
    b = os.path.join(a.build, "bench")
    wls = {"churn1": [b + "/churn", "-j", "1"], "churn2": [b + "/churn", "-j", "2"],
           "tcp": [b + "/tcp"], "mixed": [b + "/mixed"]}
    with open("/proc/sys/kernel/bpf_stats_enabled") as f:
        prev = f.read().strip()
    subprocess.run(["sysctl", "-qw", "kernel.bpf_stats_enabled=1"], check=True)
    summary = []
    try:
        for wl in a.workloads.split(","):
            argv = wls[wl] + ["-t", str(a.secs + 6.0)]
            fl, sr, per = [], [], {}
            for r in range(a.runs):
                rows = one_run(a.build, argv, a.sockrec_args, a.secs)
                ops = rows.get("floor_close", (0, 0))[0]
                if not ops:
                    print("%s run %d: no close() seen" % (wl, r + 1))
                    continue
                f = sum(t for n, (c, t) in rows.items() if n.startswith("floor_")) / ops
                s = sum(t for n, (c, t) in rows.items() if not n.startswith("floor_")) / ops
                fl.append(f)
                sr.append(s)
                for n, (c, t) in rows.items():
                    per.setdefault(n, []).append(t / ops)
                print("%s run %d: per close(): floor %.0f ns, sockrec %.0f ns, difference %.0f ns"
                      % (wl, r + 1, f, s, s - f))
            if not fl:
                continue
            summary.append((wl, statistics.median(fl), statistics.median(sr),
                            statistics.median([s - f for s, f in zip(sr, fl)]),
                            min(s - f for s, f in zip(sr, fl)), max(s - f for s, f in zip(sr, fl))))
            for n, v in sorted(per.items(), key=lambda kv: -statistics.median(kv[1])):
                if statistics.median(v) >= 1:
                    print("   %-26s %7.0f ns per close()" % (n, statistics.median(v)))
    finally:
        subprocess.run(["sysctl", "-qw", "kernel.bpf_stats_enabled=" + prev])
    print("\n| workload | floor ns/close | sockrec ns/close | sockrec - floor (median, min-max) |")
    print("|---|---|---|---|")
    for wl, f, s, d, lo, hi in summary:
        print("| %s | %.0f | %.0f | %.0f (%.0f-%.0f) |" % (wl, f, s, d, lo, hi))
    return 0


if __name__ == "__main__":
    sys.exit(main())
