#!/usr/bin/env python3
"""bench/vm/run.py - recording overhead per backend, in a stock-kernel guest.

usage: bench/vm/run.py --static BUILD_STATIC [--runs N] [--secs S]
                       [--workloads churn1,churn2,tcp] [--out FILE] [--quick]

The development host's kernel allows tracepoints only (no fentry, no kprobes), so `make
bench` can only measure sockrec's tracepoint backend.  This boots Debian's
stock cloud kernel under qemu (tests/vm/run.sh, with bench/vm/guest-bench.sh
as /init), which has fentry and kprobes, and runs each workload untraced and
under every configuration below, round-robin ("side by side"), in one boot:

  floor-nostacks, floor        bench/floor's two tracepoint hooks (the
                               host's capture floor), without and with stacks
  floor-H-nostacks, floor-H    this kernel's own floor for H = fentry, kprobe
                               (bench/floor --hook H --emit): the hooks
                               sockrec's H backend puts on sock_alloc's
                               return and __sock_release, once per socket,
                               each sending one bare event; stacks at alloc
  sockrec-B-nostacks           sockrec --backend B --no-stacks
  sockrec-B-default            sockrec --backend B (the default stacks)
  perf-probe                   the perf peer: `perf probe -a sock_alloc%return
                               -a __sock_release` once (a setup case; no
                               debuginfo needed for function entry and
                               return), then `perf record -B --call-graph fp
                               -e probe:sock_alloc__return
                               -e probe:__sock_release/call-graph=no/`:
                               alloc with its call graph, as the host's fair
                               peer.  The host's perf goes in at its path with
                               the shared libraries ldd lists (VM_EXTRA_DYN)
for B in fentry, kprobe, tracepoint.  Ratios to untraced are taken within a
round; the table gives their median over rounds and min-max.  The floors'
counts and perf's (`perf report --stats` in the guest) are checked against
the sockets each workload made.  Then the goals of issue 22 for kernels with
fentry or kprobes (GOALS): sockrec-B-nostacks / untraced >= 0.90, and
sockrec-fentry-default / perf-probe >= 1.3, MET or NOT MET on the median of
the per-round ratios; sockrec against floor-B beside the host's goal (0.95),
as information.  Then, once per backend and stack setting, `sockrec -v` with
kernel.bpf_stats_enabled=1: the BPF time per operation, from the kernel's
per-program run counts and times, which the guest's scheduling noise does
not move.

The guest runs under TCG (software emulation: nested KVM faults on this
host), which changes what things cost.  The floor and the tracepoint backend
are measured on the host too, by `make bench`: comparing the two tells how far
the emulation moves a ratio.  Read the backends against each other, in the
same guest, not the guest's ratios as the host's.

Writes FILE (default bench/RESULTS-vm.md) unless --quick; prints the table.
--quick: one round of 0.3 s per case, nothing written (the harness check that
tests/test_vm.py runs).  Exit status 0, or 1 when the guest or a case
failed, a floor or perf missed a socket, or the host has no perf (the
perf-probe cases are then left out, and the file says so).
"""
import argparse
import datetime
import importlib.util
import json
import os
import re
import shutil
import statistics
import subprocess
import sys
import tempfile

HERE = os.path.dirname(os.path.abspath(__file__))
ROOT = os.path.dirname(os.path.dirname(HERE))
RUN_SH = os.path.join(ROOT, "tests", "vm", "run.sh")
# The host harness's formatting of a ratio series (median, min–max).
_spec = importlib.util.spec_from_file_location("bench_run", os.path.join(ROOT, "bench", "run.py"))
_bench_run = importlib.util.module_from_spec(_spec)
_spec.loader.exec_module(_bench_run)
fmt_ratio = _bench_run.fmt_ratio
BACKENDS = ("fentry", "kprobe", "tracepoint")
# The hooks of this kernel's own floor (bench/floor --hook): the socket's
# allocation and release, as sockrec's fentry and kprobe backends hook them.
FLOOR_HOOKS = ("fentry", "kprobe")
CONFIGS = (["untraced", "floor-nostacks", "floor"]
           + ["floor-%s-%s" % (h, s) if s else "floor-" + h for h in FLOOR_HOOKS for s in ("nostacks", "")]
           + ["sockrec-%s-%s" % (b, s) for b in BACKENDS for s in ("nostacks", "default")]
           + ["perf-probe"])
# The perf peer: kprobes where sockrec's kprobe backend hooks, created once in
# the guest by this setup case; `perf probe` names a return probe FUNC__return.
PERF_PROBES = ("sock_alloc%return", "__sock_release")
PERF_EVENTS = ("probe:sock_alloc__return", "probe:__sock_release/call-graph=no/")
# The goals of issue 22 for kernels with fentry or kprobes, as ratios of
# medians: (numerator, denominator, goal, whether the goal is this kernel's;
# False: information, beside the host's goal for the same ratio).
GOALS = ([("sockrec-%s-nostacks" % b, "untraced", 0.90, True) for b in FLOOR_HOOKS]
         + [row for b in FLOOR_HOOKS for row in (
             ("sockrec-%s-nostacks" % b, "floor-%s-nostacks" % b, 0.95, False),
             ("sockrec-%s-default" % b, "floor-" + b, 0.95, False))]
         + [("sockrec-fentry-default", "perf-probe", 1.3, True)])


def workload_argv(static, wl, secs):
    b = os.path.join(static, "bench")
    return {"churn1": [b + "/churn", "-j", "1", "-t", str(secs)],
            "churn2": [b + "/churn", "-j", "2", "-t", str(secs)],
            "tcp": [b + "/tcp", "-t", str(secs)]}[wl]


def case_argv(static, cfg, wl_argv, perf="perf"):
    if cfg == "untraced":
        return wl_argv
    if cfg.startswith("floor"):
        # floor[-HOOK][-nostacks]: the host's tracepoint floor as `make bench`
        # runs it (capture only), or HOOK's, each hook sending its event.
        parts = cfg.split("-")[1:]
        hook = [p for p in parts if p in FLOOR_HOOKS]
        floor = os.path.join(static, "bench", "floor")
        return ([floor] + (["--hook", hook[0], "--emit"] if hook else [])
                + (["--no-stacks"] if "nostacks" in parts else []) + ["--"] + wl_argv)
    if cfg == "perf-probe":
        # alloc with its call graph, release without, as the host's fair peer
        return ([perf, "record", "-B", "--call-graph", "fp"]
                + [a for e in PERF_EVENTS for a in ("-e", e)] + ["-o", "/tmp/p.data", "--"] + wl_argv)
    kind, backend, stacks = cfg.split("-")
    # In the guest, sockrec is /bin/sockrec (tests/vm/run.sh puts it there).
    # cost-*: -v prints each program's runs and run time at the end.
    return (["sockrec", "--backend", backend] + (["--no-stacks"] if stacks == "nostacks" else [])
            + (["-v"] if kind == "cost" else []) + ["-o", "/tmp/r.srec", "--"] + wl_argv)


def parse_results(text):
    """@@CASE blocks (guest-bench.sh) -> guest line, list of case dicts."""
    guest, cases, cur, part = "", [], None, None
    for line in text.splitlines():
        if line.startswith("@@GUEST "):
            guest = line[8:]
        elif line.startswith("@@CASE "):
            f = line.split()
            cur = {"round": int(f[1]), "wl": f[2], "cfg": f[3], "rc": int(f[4]),
                   "secs": float(f[5]), "out": None, "err": [], "info": None, "stats": []}
            cases.append(cur)
            part = "out"
        elif cur is None:
            continue
        elif line == "@@ERR":
            part = "err"
        elif line == "@@INFO":
            part = "info"
        elif line == "@@STATS":
            part = "stats"
        elif part == "out" and line.startswith("{"):
            cur["out"] = json.loads(line)
        elif part == "err":
            cur["err"].append(line)
        elif part == "info" and line.startswith("{"):
            cur["info"] = json.loads(line)
        elif part == "stats":
            cur["stats"].append(line)
    return guest, cases


def floor_counts(c):
    """The floor's JSON line on stderr (bench/floor.c), or None."""
    for l in c["err"]:
        if l.startswith('{"floor"'):
            return json.loads(l)["floor"]
    return None


def perf_counts(c):
    """`perf report --stats` of the case's perf.data (guest-bench.sh's
    @@STATS), read as bench/run.py reads it on the host: samples per event,
    and the LOST and LOST_SAMPLES records of the whole file."""
    return _bench_run.perf_stats(c["stats"])


def summarise(cases, workloads):
    """Per workload: untraced ops/s median, each config's per-round ratios
    and ops/s, each sockrec config's events recorded vs the workload's sockets
    and loss, the floors' and perf's counts.  Problems (a failed case,
    missing events) are returned as strings."""
    problems, table = [], {}
    by = {}
    for c in cases:
        by[(c["wl"], c["cfg"], c["round"])] = c
        if c["wl"] == "setup":
            if c["rc"] != 0:
                problems.append("%s: exit %d: %s" % (c["cfg"], c["rc"], " | ".join(c["err"][-3:])))
            continue
        if c["rc"] != 0 or c["out"] is None:
            problems.append("%s %s round %d: exit %d%s" % (c["wl"], c["cfg"], c["round"], c["rc"],
                            "" if c["out"] else ", no workload line: " + " | ".join(c["err"][-2:])))
    rounds = sorted({c["round"] for c in cases})
    for wl in workloads:
        row = {"untraced": [], "ratios": {}, "loss": {}, "ops": {}, "peers": {}}
        for r in rounds:
            u = by.get((wl, "untraced", r))
            if not u or not u["out"]:
                continue
            row["untraced"].append(u["out"]["ops_per_s"])
            row["ops"].setdefault("untraced", {})[r] = u["out"]["ops_per_s"]
            for cfg in CONFIGS[1:]:
                c = by.get((wl, cfg, r))
                if not c or not c["out"]:
                    continue
                row["ratios"].setdefault(cfg, []).append(c["out"]["ops_per_s"] / u["out"]["ops_per_s"])
                row["ops"].setdefault(cfg, {})[r] = c["out"]["ops_per_s"]
                want = c["out"].get("sockets", 0)
                if cfg.startswith("floor-") and cfg.split("-")[1] in FLOOR_HOOKS:
                    # this kernel's floor saw every socket's alloc and release
                    f = floor_counts(c) or {}
                    p = row["peers"].setdefault(cfg, {"sockets": 0, "alloc": 0, "release": 0, "lost": 0})
                    p["sockets"] += want
                    p["alloc"] += f.get("alloc", 0)
                    p["release"] += f.get("release", 0)
                    p["lost"] += f.get("rb_fail", 0)
                    if f.get("alloc", 0) < want or f.get("release", 0) < want:
                        problems.append("%s %s round %d: the floor counted %s allocs, %s releases for %d sockets"
                                        % (wl, cfg, r, f.get("alloc"), f.get("release"), want))
                elif cfg == "perf-probe":
                    per, lost = perf_counts(c)
                    alloc = per.get(PERF_EVENTS[0].split("/")[0], 0)
                    release = per.get(PERF_EVENTS[1].split("/")[0], 0)
                    p = row["peers"].setdefault(cfg, {"sockets": 0, "alloc": 0, "release": 0, "lost": 0})
                    p["sockets"] += want
                    p["alloc"] += alloc
                    p["release"] += release
                    p["lost"] += lost
                    if alloc + lost < want:
                        problems.append("%s perf-probe round %d: %d alloc samples for %d sockets (perf: %s)"
                                        % (wl, r, alloc, want, " | ".join((c["stats"] or c["err"])[-2:])))
                if cfg.startswith("sockrec") and c["info"]:
                    recs = c["info"].get("records", {})
                    got = recs.get("alloc", 0)
                    lost = c["info"].get("lost_events", 0)
                    backend = c["info"].get("meta", {}).get("backend")
                    l = row["loss"].setdefault(cfg, {"sockets": 0, "alloc": 0, "release": 0, "lost": 0})
                    l["sockets"] += want
                    l["alloc"] += got
                    l["release"] += recs.get("release", 0)
                    l["lost"] += lost
                    if backend != cfg.split("-")[1]:
                        problems.append("%s %s round %d: the file says backend %s" % (wl, cfg, r, backend))
                    if got < want:
                        problems.append("%s %s round %d: %d allocs recorded for %d sockets (%d lost)"
                                        % (wl, cfg, r, got, want, lost))
        table[wl] = row
    return table, problems


def bpf_costs(cases, workloads):
    """The cost-* cases: BPF time per workload operation, per backend and
    stack setting, from the kernel's per-program counters that sockrec -v
    prints ("sockrec: program NAME: R runs, N ns per run")."""
    out = {}
    for c in cases:
        if not c["cfg"].startswith("cost-") or not c["out"] or c["wl"] not in workloads:
            continue
        progs = {}
        for l in c["err"]:
            m = re.match(r"sockrec: program (\S+): (\d+) runs, (\d+) ns per run$", l)
            if m:
                progs[m.group(1)] = (int(m.group(2)), int(m.group(3)))
        ops = c["out"]["ops"]
        per_op = {n: r * ns / ops for n, (r, ns) in progs.items()} if ops else {}
        out[(c["wl"], c["cfg"])] = {"ops": ops, "ns_per_op": sum(per_op.values()), "progs": per_op}
    return out


def goal_rows(table, workloads):
    """GOALS, per workload: the per-round ratios of the two configurations'
    throughput (same round), their median and range, and the verdict on the
    median."""
    rows = []
    for num, den, goal, ours in GOALS:
        for wl in workloads:
            a, b = table[wl]["ops"].get(num, {}), table[wl]["ops"].get(den, {})
            xs = [a[r] / b[r] for r in sorted(a) if r in b and b[r]]
            m = statistics.median(xs) if xs else None
            if m is None:
                verdict = "n/a"
            elif ours:
                verdict = "MET" if m >= goal else "NOT MET"
            else:
                verdict = "information (host goal: %s)" % ("reached" if m >= goal else "not reached")
            rows.append((num, den, wl, fmt_ratio(xs), "≥ %.2f" % goal if ours else "(host ≥ %.2f)" % goal,
                         verdict))
    return rows


def render(table, workloads, costs=None):
    L = []
    L.append("| workload | untraced ops/s (guest) | " + " | ".join(CONFIGS[1:]) + " |")
    L.append("|---" * (len(CONFIGS) + 1) + "|")
    for wl in workloads:
        row = table[wl]
        u = statistics.median(row["untraced"]) if row["untraced"] else None
        cells = [fmt_ratio(row["ratios"].get(cfg, [])) for cfg in CONFIGS[1:]]
        L.append("| %s | %s | %s |" % (wl, "%.1fk" % (u / 1e3) if u else "n/a", " | ".join(cells)))
    L.append("")
    L.append("Events recorded against the sockets the workload made (all rounds):")
    L.append("")
    L.append("| workload | config | sockets | alloc | release | lost |")
    L.append("|---|---|---|---|---|---|")
    for wl in workloads:
        for cfg, l in sorted(table[wl]["loss"].items()):
            L.append("| %s | %s | %d | %d | %d | %d |" % (wl, cfg, l["sockets"], l["alloc"], l["release"], l["lost"]))
    peers = [(wl, cfg, p) for wl in workloads for cfg, p in sorted(table[wl]["peers"].items())]
    if peers:
        L.append("")
        L.append("What this kernel's floors (`bench/floor --hook B --emit`: events counted, ring-buffer "
                 "failures as lost) and the perf peer (`perf report --stats`: samples of each probe, LOST "
                 "and LOST_SAMPLES records) saw (all rounds):")
        L.append("")
        L.append("| workload | config | sockets | alloc | release | lost |")
        L.append("|---|---|---|---|---|---|")
        for wl, cfg, p in peers:
            L.append("| %s | %s | %d | %d | %d | %d |" % (wl, cfg, p["sockets"], p["alloc"], p["release"], p["lost"]))
    L.append("")
    L.append("Goals (issue 22) on this kernel with fentry and kprobes, each ratio per round, same round "
             "(median, min–max); MET or NOT MET is decided on the median.  The guest runs under TCG "
             "emulation (see bench/vm/run.py), so these are the guest's ratios, not the host's:")
    L.append("")
    L.append("| ratio | workload | measured | goal | verdict |")
    L.append("|---|---|---|---|---|")
    for num, den, wl, got, goal, verdict in goal_rows(table, workloads):
        L.append("| %s ÷ %s | %s | %s | %s | %s |" % (num, den, wl, got, goal, verdict))
    if costs:
        L.append("")
        L.append("BPF time per operation (one socket()+close() for churn, one connection for tcp), "
                 "from the kernel's counters (kernel.bpf_stats_enabled=1, `sockrec -v`), one run "
                 "each; beside it the untraced operation's time in the same guest:")
        L.append("")
        L.append("| workload | untraced µs/op | backend | BPF µs/op, --no-stacks | BPF µs/op, default stacks | "
                 "programs (default stacks, µs/op) |")
        L.append("|---|---|---|---|---|---|")
        for wl in workloads:
            u = table[wl]["untraced"]
            uop = "%.1f" % (1e6 / statistics.median(u)) if u else "n/a"
            for b in BACKENDS:
                n = costs.get((wl, "cost-%s-nostacks" % b))
                d = costs.get((wl, "cost-%s-default" % b))
                progs = ", ".join("%s %.2f" % (k, v / 1e3) for k, v in
                                  sorted((d or {"progs": {}})["progs"].items(), key=lambda kv: -kv[1])
                                  if v >= 10)
                L.append("| %s | %s | %s | %s | %s | %s |" % (
                    wl, uop, b, "%.2f" % (n["ns_per_op"] / 1e3) if n else "n/a",
                    "%.2f" % (d["ns_per_op"] / 1e3) if d else "n/a", progs or "–"))
    return "\n".join(L)


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--static", default=os.path.join(ROOT, "build-static"),
                    help="the make STATIC=1 build (sockrec, sockreport, bench/{churn,tcp,floor})")
    ap.add_argument("--runs", type=int, default=5)
    ap.add_argument("--secs", type=float, default=2.0)
    ap.add_argument("--workloads", default="churn1,churn2,tcp")
    ap.add_argument("--out", default=os.path.join(ROOT, "bench", "RESULTS-vm.md"))
    ap.add_argument("--quick", action="store_true")
    a = ap.parse_args()
    if a.quick:
        a.runs, a.secs = 1, 0.3
    static = os.path.abspath(a.static)
    workloads = a.workloads.split(",")

    # perf goes into the guest at its host path, with its shared libraries.
    perf = shutil.which("perf")
    perf = os.path.realpath(perf) if perf else None
    lines = []
    if perf:
        lines.append("0 setup setup-perf-probe %s probe %s"
                     % (perf, " ".join("-a " + p for p in PERF_PROBES)))
    for r in range(1, a.runs + 1):
        for wl in workloads:
            wargv = workload_argv(static, wl, a.secs)
            # The configurations in a different order each round, so that no
            # one of them always runs right after the same other.
            order = CONFIGS[r % len(CONFIGS):] + CONFIGS[:r % len(CONFIGS)]
            for cfg in order:
                if cfg == "perf-probe" and not perf:
                    continue
                lines.append("%d %s %s %s" % (r, wl, cfg, " ".join(case_argv(static, cfg, wargv, perf))))

    # Then one run per backend and stack setting with the kernel counting
    # each program's time: robust where the throughput ratios of an
    # emulated guest are not.
    for wl in workloads:
        wargv = workload_argv(static, wl, a.secs)
        for b in BACKENDS:
            for st in ("nostacks", "default"):
                cfg = "cost-%s-%s" % (b, st)
                lines.append("0 %s %s %s" % (wl, cfg, " ".join(case_argv(static, cfg, wargv))))

    with tempfile.TemporaryDirectory(prefix="srec-vmbench-") as tmp:
        cases_file = os.path.join(tmp, "cases")
        with open(cases_file, "w") as f:
            f.write("\n".join(lines) + "\n")
        out = os.path.join(tmp, "out")
        env = dict(os.environ,
                   VM_INIT=os.path.join(HERE, "guest-bench.sh"),
                   VM_CASES_FILE=cases_file,
                   VM_BIN=static,
                   VM_FIXTURES=os.path.join(static, "vmfixtures"),
                   VM_EXTRA=" ".join(os.path.join(static, "bench", x) for x in ("churn", "tcp", "floor")),
                   VM_EXTRA_DYN=perf or "",
                   VM_TIMEOUT=str(int(os.environ.get("VM_TIMEOUT", "0")) or
                                  int(120 + len(lines) * (a.secs + 4) * 2)))
        t0 = datetime.datetime.now()
        p = subprocess.run([RUN_SH, out], env=env, capture_output=True, text=True)
        wall = (datetime.datetime.now() - t0).total_seconds()
        if p.returncode != 0:
            sys.stderr.write(p.stderr)
            print("bench/vm/run.py: the guest run failed (tests/vm/run.sh exit %d)" % p.returncode,
                  file=sys.stderr)
            return 1
        try:
            with open(os.path.join(out, "results"), "rb") as f:
                text = f.read().decode("utf-8", "replace")
        except OSError as e:
            print("bench/vm/run.py: no results from the guest: %s" % e, file=sys.stderr)
            return 1

    guest, cases = parse_results(text)
    table, problems = summarise(cases, workloads)
    costs = bpf_costs(cases, workloads)
    body = render(table, workloads, costs)
    print(body)
    if not perf:
        problems.append("perf-probe: no `perf` on this host (make deps installs linux-perf)")
    for pr in problems:
        print("problem: " + pr, file=sys.stderr)
    if len(cases) != len(lines):
        problems.append("%d of %d cases ran" % (len(cases), len(lines)))
        print("problem: " + problems[-1], file=sys.stderr)
    if not a.quick:
        git = subprocess.run(["git", "-C", ROOT, "rev-parse", "--short", "HEAD"],
                             capture_output=True, text=True).stdout.strip()
        with open(a.out, "w") as f:
            f.write("# sockrec overhead per backend, in a stock-kernel guest\n\n")
            f.write("Written by `make bench-vm` (bench/vm/run.py); rerun to refresh.  "
                    "What it measures and how to read it: the docstring of bench/vm/run.py.\n\n")
            f.write("- date: %s\n" % t0.astimezone().strftime("%Y-%m-%d %H:%M %Z"))
            f.write("- guest: %s (qemu TCG, 2 vCPUs); host kernel %s\n" % (guest, os.uname().release))
            f.write("- git: %s; %d round(s) of %.1f s per workload and configuration; "
                    "the boot and all cases took %.0f s\n" % (git, a.runs, a.secs, wall))
            f.write("- command: `bench/vm/run.py --static %s --runs %d --secs %s`\n\n"
                    % (os.path.relpath(static, ROOT), a.runs, a.secs))
            f.write("Throughput under each configuration ÷ untraced, same guest, same round "
                    "(median over rounds, min–max):\n\n")
            f.write(body + "\n")
            if problems:
                f.write("\nProblems in this run:\n\n" + "".join("- %s\n" % x for x in problems))
        print("wrote " + os.path.relpath(a.out), file=sys.stderr)
    return 1 if problems else 0


if __name__ == "__main__":
    sys.exit(main())
