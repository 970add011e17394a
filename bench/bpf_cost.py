#!/usr/bin/env python3
"""bpf_cost.py - sockrec's BPF time per operation next to the capture floor's,
both attached to the SAME workload process, from the kernel's own counters.

Throughput ratios on a shared 2-core VM swing by x2 between rounds; this
measure does not: one of the floor (bench/floor) and sockrec starts the
workload, the other attaches to it (--pid / -p), so both see exactly the
same events under the same load, and kernel.bpf_stats_enabled gives each
program's run count and run time.  The one attached first runs first on a
shared hook and warms the caches for the other's stack walk, so the order
alternates between runs (use an even --runs).  The difference is sockrec's own cost beyond capturing the same
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
import signal
import statistics
import subprocess
import sys
import time

HERE = os.path.dirname(os.path.abspath(__file__))


def progs():
    out = subprocess.run(["bpftool", "prog", "show", "-j"], capture_output=True, text=True,
                         check=True).stdout
    return {p["id"]: p for p in json.loads(out)}


def child_of(pid):
    for _ in range(300):
        r = subprocess.run(["pgrep", "-P", str(pid)], capture_output=True, text=True)
        if r.stdout.strip():
            return int(r.stdout.split()[0])
        time.sleep(0.01)
    raise RuntimeError("workload did not start")


def one_run(build, wl_argv, sockrec_args, secs, sockrec_first):
    """Both recorders on one workload process; per-program (runs, ns) over
    `secs`.  The program attached first to a hook runs first and pays the
    cold caches of the stack walks for both: the order alternates."""
    before = set(progs())
    out = os.path.join("/tmp", "bpf_cost.%d.srec" % os.getpid())
    floor_bin = os.path.join(build, "bench", "floor")
    sockrec = [os.path.join(build, "sockrec"), "-f", "-o", out] + sockrec_args
    procs = []
    wl_pid = None
    try:
        if sockrec_first:
            first = subprocess.Popen(sockrec + ["--"] + wl_argv, stdout=subprocess.PIPE,
                                     stderr=subprocess.PIPE, text=True)
            procs.append(first)
            wl_pid = child_of(first.pid)
            time.sleep(0.5)  # sockrec attaches before it starts the command
            procs.append(subprocess.Popen([floor_bin, "--pid", str(wl_pid)], stdout=subprocess.PIPE,
                                          stderr=subprocess.PIPE, text=True))
        else:
            first = subprocess.Popen([floor_bin, "--"] + wl_argv, stdout=subprocess.PIPE,
                                     stderr=subprocess.PIPE, text=True)
            procs.append(first)
            wl_pid = child_of(first.pid)
            procs.append(subprocess.Popen(sockrec[:1] + ["-p", str(wl_pid)] + sockrec[1:],
                                          stdout=subprocess.PIPE, stderr=subprocess.PIPE,
                                          text=True))
        # both attached (a loaded machine may take seconds), then settle
        for _ in range(300):
            names = {p.get("name") for i, p in progs().items() if i not in before}
            if "floor_close" in names and "tp_enter_close" in names:
                break
            time.sleep(0.05)
        time.sleep(0.5)
        a = progs()
        time.sleep(secs)
        b = progs()
    finally:
        # The workload runs long enough for any load: end it, then both.
        if wl_pid:
            try:
                os.kill(wl_pid, signal.SIGKILL)
            except ProcessLookupError:
                pass
        if len(procs) == 2 and not sockrec_first:
            procs[1].send_signal(signal.SIGINT)  # sockrec -p: stop cleanly
        for p in procs:
            p.communicate()
        try:
            os.unlink(out)
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
    ap.add_argument("--runs", type=int, default=4)
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
            argv = wls[wl] + ["-t", "120"]  # ended once measured
            fl, sr, per = [], [], {}
            for r in range(a.runs):
                rows = one_run(a.build, argv, a.sockrec_args, a.secs, r % 2 == 1)
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
                print("%s run %d (%s first): per close(): floor %.0f ns, sockrec %.0f ns, "
                      "difference %.0f ns" % (wl, r + 1, "sockrec" if r % 2 else "floor", f, s, s - f))
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
