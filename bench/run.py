#!/usr/bin/env python3
"""bench/run.py - sockrec's benchmarks: run them, print a table, write RESULTS.md.

usage: bench/run.py --build BUILD [--quick] [--runs N] [--secs S] [--out FILE]
                    [--json FILE] [--workdir DIR]
                    [--only overhead,bystander,report,profile,symbolize]
                    [--workloads churn1,churn2,tcp,mixed,redis,nginx] [--configs A,B] [--keep]

Sections
  overhead  every workload (bench/churn.c -j1/-j2, tcp.c, mixed.c; the real
            servers redis (redis-benchmark -k 0) and nginx (+ ab) through
            bench/servers.py, untraced / sockrec / the fair perf peer only) untraced
            and under each recorder, round-robin ("side by side": the ratios
            are computed within a round, then the median over rounds is
            taken): sockrec --no-stacks / default / --release-stacks, the
            capture floor (bench/floor.c: same hooks and stacks, nothing
            kept; and --emit: + a ring buffer; the complete floor --emit
            --free: + the slab-free hook), perf record -g and bpftrace on the
            same tracepoints, and the fair perf peer (perf-fair: every event
            sockrec records, a call graph on the allocation only).  From the same runs: loss (events
            recorded vs the workload's own counts), size (bytes per event),
            recorder cost (CPU s per million events, peak RSS).
  bystander bench/bystander.c (open()+close()) while each recorder records
            another, idle process: the cost of the global hooks to others.
  report    gen_big 1M and 10M events; sockreport info / leaks / pairs /
            latency / dump --json on each (events/s by wall and CPU time,
            peak RSS; goal: leaks, pairs, latency >= 5M events/s, memory
            flat from 1M to 10M); decode_speed.
  symbolize bench/symbench.c: the user-space symbolizer (report/symbolize.c)
            on 1M random frames (quick: 20k) inside the functions of 10
            modules (sockreport, sockrec, fixtures with -g DWARF; libc with
            its -dbg file; libzstd, libelf, libbpf with .dynsym only): frames/s
            cold (fresh context: includes parsing) and warm (same lookups
            again), peak RSS; next to `addr2line -f -i -C -a -e MODULE` (one
            process per module, addresses on stdin), and the agreement of the
            function names on a sample of 1000 lookups.  `--only symbolize`
            (make bench-symbolize) runs this section alone and replaces only
            section 6 of --out (default bench/RESULTS.md), keeping the rest.
  profile   where the time goes: perf record -a -g during a default-config
            churn run (the workload's BPF side and sockrec's drain), and
            callgrind on sockreport leaks of a 100k-event file.
--quick runs every benchmark once, very briefly, in a temporary directory,
writes nothing under bench/ unless --out is given, and skips `profile`
(also with --only symbolize):
it checks that the harness works (bench/test_quick.py).

Needs root for the BPF recorders.  perf, bpftrace and valgrind are optional:
a peer whose tool is missing is skipped and the table says so.
Only the Python 3 standard library is used.
"""
import argparse
import datetime
import json
import os
import platform
import re
import shutil
import signal
import statistics
import subprocess
import sys
import tempfile
import time

HERE = os.path.dirname(os.path.abspath(__file__))
ROOT = os.path.dirname(HERE)

EVENT_TYPES = ("alloc", "release", "sockinfo", "state", "connect", "accept", "fork", "exec",
               "exit", "preexist")

BPFTRACE_SCRIPT = r"""
tracepoint:kmem:kmem_cache_alloc /pid == cpid && str(args->name) == "sock_inode_cache"/
{ printf("A %d %s %p\n%s%s", pid, comm, args->ptr, kstack, ustack); }
tracepoint:syscalls:sys_enter_close /pid == cpid/ { printf("C %d %s %d\n", pid, comm, args->fd); }
"""

GOALS = {
    # issue 22: against the complete floor (alloc, close and slab-free hooks,
    # one bare event each) and a fair perf peer; "÷ untraced" is information
    "nostacks_vs_complete_floor": 0.95,
    "default_vs_floor": 0.95,
    "default_vs_perf_fair": 1.3,
    "bystander_vs_floor": 1.1,      # slowdown at most this × the floor's
    "servers_vs_untraced": 0.95,
    "servers_vs_perf_fair": 1.5,
    "bytes_per_event": 8.0,
    # default (CFI-unwound) user stacks cost at most this much more per socket
    # allocation than the frame-pointer walk (issue 15), on churn1
    "cfi_extra_us_per_alloc": 2.0,
    "decode_records_per_s": 20e6,
    "report_events_per_s": 5e6,   # sockreport leaks, pairs, latency, html, on one core
    "html_page_bytes": 2e6,       # sockreport html of the 10M-event file
}
# The fair perf peer (issue 22): perf recording what sockrec records, a call
# graph on the allocation only, every other event with /call-graph=no/.
PERF_FAIR_EVENTS = (
    ("kmem:kmem_cache_alloc", 'name == "sock_inode_cache"', True),
    ("kmem:kmem_cache_free", 'name == "sock_inode_cache"', False),
) + tuple((e, None, False) for e in (
    "syscalls:sys_exit_socket", "syscalls:sys_enter_socketpair", "syscalls:sys_exit_socketpair",
    "syscalls:sys_enter_close", "syscalls:sys_enter_dup2", "syscalls:sys_enter_dup3",
    "sock:inet_sock_set_state", "syscalls:sys_enter_connect", "syscalls:sys_exit_connect",
    "syscalls:sys_enter_accept", "syscalls:sys_exit_accept", "syscalls:sys_enter_accept4",
    "syscalls:sys_exit_accept4", "sched:sched_process_fork", "sched:sched_process_exec",
    "sched:sched_process_exit"))


def perf_fair_args():
    argv = ["-B", "--call-graph", "fp"]
    for ev, filt, graph in PERF_FAIR_EVENTS:
        argv += ["-e", ev if graph else ev + "/call-graph=no/"]
        if filt:
            argv += ["--filter", filt]
    return argv


# Real servers (bench/servers.py) and which configurations run on them.
SERVER_WORKLOADS = ("redis", "nginx")
# The complete floor --no-stacks is what no recorder of alloc and release
# gets under on them (its --all: the servers are a process tree).
SERVER_CONFIGS = ("untraced", "sockrec-nostacks", "sockrec-default", "perf-fair",
                  "floor-complete-nostacks")
# The bystander section: an unrelated process's open()+close() while the
# recorder records another (idle) process.
BYSTANDER_CONFIGS = ("untraced", "sockrec-default", "sockrec-nostacks", "sockrec-probe-nostacks",
                     "floor-complete-nostacks", "floor-complete")

# The report commands measured on the gen_big files, and those the events/s goal covers.
REPORT_CMDS = ("info", "leaks", "pairs", "latency", "html", "dump --json", "export")
REPORT_GOAL_CMDS = ("leaks", "pairs", "latency", "html")


def report_argv(sockreport, name, f, work):
    """argv of `sockreport NAME F`, and what it writes besides stdout (else None):
    html a page, export a directory (-f: again on every repetition)."""
    argv = [sockreport] + name.split() + [f]
    if name == "html":
        page = os.path.join(work, "page.html")
        return argv + ["-f", "-o", page], page
    if name == "export":
        out_dir = os.path.join(work, "export")
        return [sockreport, "export", "-f", "-o", out_dir, f], out_dir
    return argv, None


def log(msg):
    print(msg, file=sys.stderr, flush=True)


# ---------------------------------------------------------------- running

class Run:
    """One process run: wall time, rusage (self + waited-for children), output."""

    def __init__(self, argv, stdout, stderr, wall, ru, rc):
        self.argv, self.stdout, self.stderr, self.wall, self.ru, self.rc = (
            argv, stdout, stderr, wall, ru, rc)

    @property
    def cpu(self):
        return self.ru.ru_utime + self.ru.ru_stime

    @property
    def maxrss_kb(self):
        return self.ru.ru_maxrss

    def workload(self):
        """The workload's JSON line, wherever it is in stdout."""
        for line in self.stdout.splitlines():
            line = line.strip()
            if line.startswith('{"workload"'):
                return json.loads(line)
        return None


def run_rss(argv, timeout, workdir):
    """run() with stdout to /dev/null, and the peak RSS of argv itself.

    wait4's ru_maxrss of a child this Python forks starts at Python's own
    RSS (the high-water mark survives fork and exec), ~18 MB, which hides
    smaller peaks; /usr/bin/time forks from a small process and reports
    its child's.  Returns (Run, peak RSS in KiB)."""
    tb = "/usr/bin/time"
    if not os.access(tb, os.X_OK):
        r = run(argv, timeout, stdout_path="/dev/null")
        return r, r.maxrss_kb
    out = os.path.join(workdir, "maxrss.txt")
    r = run([tb, "-f", "%M", "-o", out] + argv, timeout, stdout_path="/dev/null")
    with open(out) as f:
        last = f.read().strip().splitlines()[-1:]
    os.unlink(out)
    return r, int(last[0]) if last and last[0].isdigit() else r.maxrss_kb


def run(argv, timeout, stdout_path=None, env=None, cwd=None, stdin_path=None):
    """Run argv, wait with wait4 for its rusage; raise on timeout."""
    out_f = open(stdout_path, "wb") if stdout_path else tempfile.TemporaryFile()
    err_f = tempfile.TemporaryFile()
    in_f = open(stdin_path, "rb") if stdin_path else subprocess.DEVNULL
    t0 = time.monotonic()
    p = subprocess.Popen(argv, stdout=out_f, stderr=err_f, env=env, cwd=cwd, stdin=in_f,
                         start_new_session=True)
    if stdin_path:
        in_f.close()
    deadline = t0 + timeout
    while True:
        pid, status, ru = os.wait4(p.pid, os.WNOHANG)
        if pid == p.pid:
            break
        if time.monotonic() > deadline:
            os.killpg(p.pid, signal.SIGKILL)
            os.wait4(p.pid, 0)
            raise RuntimeError("timed out after %ss: %s" % (timeout, " ".join(argv)))
        time.sleep(0.005)
    wall = time.monotonic() - t0
    p.returncode = os.waitstatus_to_exitcode(status)
    err_f.seek(0)
    err = err_f.read().decode(errors="replace")
    err_f.close()
    if stdout_path:
        out_f.close()
        out = ""
        if os.path.getsize(stdout_path) < (1 << 20):
            with open(stdout_path, "rb") as f:
                out = f.read().decode(errors="replace")
    else:
        out_f.seek(0)
        out = out_f.read().decode(errors="replace")
        out_f.close()
    return Run(argv, out, err, wall, ru, p.returncode)


def med(xs):
    xs = [x for x in xs if x is not None]
    return statistics.median(xs) if xs else None


def rng(xs):
    xs = [x for x in xs if x is not None]
    return (min(xs), max(xs)) if xs else (None, None)


def perf_stats(lines):
    """`perf report --stats` output lines -> ({event: samples}, lost): the
    SAMPLE count under each event's "EVENT stats:" heading, and the LOST and
    LOST_SAMPLES records of the whole file (before any heading).  Also used
    by bench/vm/run.py on the guest's output."""
    per, cur, lost = {}, None, 0
    for line in lines:
        m = re.match(r"^(\S+:\S+) stats:", line.strip())
        if m:
            cur = m.group(1)
            continue
        m = re.match(r"^\s*SAMPLE events:\s+(\d+)", line)
        if m and cur:
            per[cur] = int(m.group(1))
        m = re.match(r"^\s*LOST(?:_SAMPLES)? events:\s+(\d+)", line)
        if m and cur is None:
            lost += int(m.group(1))
    return per, lost


def fmt_ratio(xs, digits=2):
    m = med(xs)
    if m is None:
        return "n/a"
    lo, hi = rng(xs)
    if len([x for x in xs if x is not None]) == 1:
        return "%.*f" % (digits, m)
    return "%.*f (%.*f–%.*f)" % (digits, m, digits, lo, digits, hi)


def fmt_num(x, unit=""):
    if x is None:
        return "n/a"
    for div, suf in ((1e9, "G"), (1e6, "M"), (1e3, "k")):
        if abs(x) >= div:
            return "%.2f%s%s" % (x / div, suf, unit)
    return "%.1f%s" % (x, unit)


# ---------------------------------------------------------------- the setup

class Bench:
    def __init__(self, args):
        self.a = args
        self.build = os.path.abspath(args.build)
        self.bdir = os.path.join(self.build, "bench")
        self.sockrec = os.path.join(self.build, "sockrec")
        self.sockreport = os.path.join(self.build, "sockreport")
        self.work = args.workdir or tempfile.mkdtemp(prefix="sockrec-bench.")
        os.makedirs(self.work, exist_ok=True)
        self.perf = shutil.which("perf")
        self.bpftrace = shutil.which("bpftrace")
        # valgrind cannot run an ASan build (make SANITIZE=1 test runs the
        # quick mode on one): no instruction counts and no callgrind profile.
        self.valgrind = None if asan_build(self.sockreport) else shutil.which("valgrind")
        self.results = {"meta": {}, "overhead": {}, "bystander": [], "report": {}, "report_real": {}, "profile": {}, "symbolize": {},
                        "notes": []}
        self.seq = 0
        self.commands = {}

    def path(self, name):
        self.seq += 1
        return os.path.join(self.work, "%04d-%s" % (self.seq, name))

    def wl_argv(self, wl, secs):
        b = self.bdir
        return {
            "churn1": [b + "/churn", "-j", "1", "-t", str(secs)],
            "churn2": [b + "/churn", "-j", "2", "-t", str(secs)],
            "tcp": [b + "/tcp", "-t", str(secs)],
            "mixed": [b + "/mixed", "-t", str(secs)],
            "redis": ["python3", os.path.join(HERE, "servers.py"), "redis", "-t", str(secs)],
            "nginx": ["python3", os.path.join(HERE, "servers.py"), "nginx", "-t", str(secs)],
        }[wl]

    # ---- the configurations: each returns (argv, env, outfile, kind)
    def configs(self):
        c = [("untraced", None), ("sockrec-nostacks", ["--no-stacks"]),
             ("sockrec-default", []), ("sockrec-fp", ["--user-stacks", "fp"]),
             ("sockrec-allstacks", ["--release-stacks"]),
             ("sockrec-nokcache", ["--no-kstack-cache"]),
             ("sockrec-probe-nostacks", ["--no-stacks", "--no-direct-loads"]),
             ("floor-nostacks", ["--no-stacks"]), ("floor", []), ("floor-emit", ["--emit"]),
             ("floor-emit-nostacks", ["--no-stacks", "--emit"]),
             ("floor-complete", ["--emit", "--free"]),
             ("floor-complete-nostacks", ["--no-stacks", "--emit", "--free"])]
        if self.perf:
            c.append(("perf", None))
            c.append(("perf-fair", None))
        if self.bpftrace:
            c.append(("bpftrace", None))
        if getattr(self.a, "base_sockrec", None):
            # an A/B between two builds (a lever on or off): the other build
            c += [("base-nostacks", ["--no-stacks"]), ("base-default", [])]
        only = getattr(self.a, "configs", None)
        if only:  # --configs: a focused run (e.g. untraced,sockrec-default,sockrec-fp)
            c = [x for x in c if x[0] in only.split(",")]
        return c

    def cmd_for(self, cfg, extra, wl_argv, tree=False):
        """tree: the workload is a process tree (a real server and its
        client): the floor, which follows no forks, then records every
        process (sockrec follows the tree's forks)."""
        env = None
        if cfg == "untraced":
            return wl_argv, env, None
        if cfg.startswith(("sockrec", "base-")):
            out = self.path("rec.srec")
            exe = self.a.base_sockrec if cfg.startswith("base-") else self.sockrec
            return [exe, "-o", out] + extra + ["--"] + wl_argv, env, out
        if cfg.startswith("floor"):
            return ([self.bdir + "/floor"] + extra + (["--all"] if tree else []) + ["--"] + wl_argv,
                    env, None)
        if cfg == "perf":
            out = self.path("perf.data")
            return [self.perf, "record", "-q", "-g", "-B",
                    "-e", "kmem:kmem_cache_alloc", "--filter", 'name == "sock_inode_cache"',
                    "-e", "syscalls:sys_enter_close", "-o", out, "--"] + wl_argv, env, out
        if cfg == "perf-fair":
            out = self.path("perf.data")
            return [self.perf, "record", "-q"] + perf_fair_args() + ["-o", out, "--"] + wl_argv, env, out
        if cfg == "bpftrace":
            out = self.path("bpftrace.txt")
            script = os.path.join(self.work, "peer.bt")
            if not os.path.exists(script):
                with open(script, "w") as f:
                    f.write(BPFTRACE_SCRIPT)
            env = dict(os.environ, BPFTRACE_NO_USER_SYMBOLS="1")
            return [self.bpftrace, "-o", out, "-c", " ".join(wl_argv), script], env, out
        raise ValueError(cfg)

    # ---- what a run recorded
    def measure(self, cfg, r, out, w):
        m = {"ops": w["ops"], "ops_per_s": w["ops_per_s"], "sockets": w["sockets"],
             "rc": r.rc, "wall": r.wall, "maxrss_kb": r.maxrss_kb,
             "cpu_total": r.cpu, "cpu_workload": w["utime"] + w["stime"]}
        if cfg.startswith(("sockrec", "base-")) and r.rc != 0:
            # a recorder that died mid-run (the workload still finishes:
            # its ops count) leaves a truncated file: say why, here
            log("  %s: sockrec exited %d: %s" % (cfg, r.rc, r.stderr.strip()[-600:]))
        if cfg.startswith(("sockrec", "base-")) and out and os.path.exists(out):
            info = run([self.sockreport, "info", "--json", out], 300)
            d = json.loads(info.stdout)
            recs = d.get("records", {})
            m["records"] = recs
            m["events"] = sum(recs.get(k, 0) for k in EVENT_TYPES)
            m["lost"] = d.get("lost_events", 0)
            m["stack_failures"] = d.get("stack_failures", 0)
            m["alloc"] = recs.get("alloc", 0)
            m["release"] = recs.get("release", 0)
            m["bytes"] = os.path.getsize(out)
            # the CFI unwinder's own counters (rules cached, CFI bytes, stops)
            m["unwind"] = {k: int(v) for k, v in d.get("meta", {}).items()
                           if k.startswith("unwind.") and str(v).isdigit()}
        elif cfg.startswith("floor"):
            for line in r.stderr.splitlines():
                if line.startswith('{"floor"'):
                    f = json.loads(line)["floor"]
                    m["alloc"] = f["alloc"]
                    m["events"] = f["alloc"] + f["close"]
                    m["lost"] = f["rb_fail"]
                    m["stack_failures"] = f["stack_fail"]
        elif cfg.startswith("perf") and out and os.path.exists(out):
            st = run([self.perf, "report", "-i", out, "--stats"], 300)
            per, lost = perf_stats(st.stdout.splitlines())
            m["alloc"] = per.get("kmem:kmem_cache_alloc", 0)
            m["events"] = sum(per.values())
            m["lost"] = lost
            m["bytes"] = os.path.getsize(out)
        elif cfg == "bpftrace" and out and os.path.exists(out):
            a = c = lost = 0
            with open(out, "rb") as f:
                for line in f:
                    if line.startswith(b"A "):
                        a += 1
                    elif line.startswith(b"C "):
                        c += 1
                    mm = re.search(rb"Lost (\d+) events", line)
                    if mm:
                        lost += int(mm.group(1))
            m["alloc"] = a
            m["events"] = a + c
            m["lost"] = lost
            m["bytes"] = os.path.getsize(out)
        if out and os.path.exists(out) and not self.a.keep:
            os.unlink(out)
        return m

    # ---------------------------------------------------------- overhead
    def overhead(self):
        secs, runs = self.a.secs, self.a.runs
        configs = self.configs()
        # The recorders' fixed start/stop cost, to subtract from their CPU time.
        base = {}
        for cfg, extra in configs:
            if cfg == "untraced":
                continue
            cpus = []
            for _ in range(1 if self.a.quick else 3):
                argv, env, out = self.cmd_for(cfg, extra, [self.bdir + "/churn", "-n", "1"])
                r = run(argv, 120, env=env)
                w = r.workload()
                cpus.append(r.cpu - (w["utime"] + w["stime"] if w else 0))
                if out and os.path.exists(out):
                    os.unlink(out)
            base[cfg] = med(cpus)
        self.results["overhead_base_cpu"] = base

        all_configs = configs
        for wl in self.a.workloads:
            # the real servers: untraced, sockrec, the fair peer and the floor only
            configs = [c for c in all_configs
                       if wl not in SERVER_WORKLOADS or c[0] in SERVER_CONFIGS]
            wl_argv = self.wl_argv(wl, secs)
            tree = wl in SERVER_WORKLOADS
            self.commands[wl] = {cfg: self.cmd_for(cfg, extra, wl_argv, tree)[0]
                                 for cfg, extra in configs}
            rounds = []
            for i in range(runs):
                # rotate the order so no config always runs right after another
                order = configs[i % len(configs):] + configs[:i % len(configs)]
                rnd = {}
                for cfg, extra in order:
                    argv, env, out = self.cmd_for(cfg, extra, wl_argv, tree)
                    try:
                        r = run(argv, secs * 20 + 60, env=env)
                    except RuntimeError as e:
                        log("  %s %s: %s" % (wl, cfg, e))
                        continue
                    w = r.workload()
                    if w is None:
                        log("  %s %s: no workload output (rc %d): %s" %
                            (wl, cfg, r.rc, r.stderr.strip()[-400:]))
                        continue
                    rnd[cfg] = self.measure(cfg, r, out, w)
                    rnd[cfg]["cpu_recorder"] = (r.cpu - rnd[cfg]["cpu_workload"]
                                                - (base.get(cfg) or 0))
                rounds.append(rnd)
                u = rnd.get("untraced", {}).get("ops_per_s")
                log("  %s round %d/%d: %s" % (wl, i + 1, runs, "  ".join(
                    "%s %.2f" % (c, rnd[c]["ops_per_s"] / u) for c, _ in configs
                    if c in rnd and u)))
            self.results["overhead"][wl] = rounds

    # ---------------------------------------------------------- bystander
    def bystander(self):
        """bench/bystander.c (open()+close() of /dev/null) while each recorder
        records ANOTHER process, an idle `sleep`: what the global hooks cost
        everyone else.  Round-robin as in overhead; the ratio is the
        bystander's ops/s over its untraced ops/s in the same round."""
        secs, runs = self.a.secs, self.a.runs
        settle = 1.0 if self.a.quick else 2.0  # the recorder attached
        configs = [c for c in self.configs() if c[0] in BYSTANDER_CONFIGS]
        by = [self.bdir + "/bystander", "-t", str(secs)]
        target = ["sleep", "%.1f" % (settle + secs + 1.0)]
        self.commands["bystander"] = {cfg: (self.cmd_for(cfg, extra, target)[0] if cfg != "untraced"
                                            else []) + ["&", "sleep %.0f;" % settle] + by
                                      for cfg, extra in configs}
        rounds = []
        for i in range(runs):
            order = configs[i % len(configs):] + configs[:i % len(configs)]
            rnd = {}
            for cfg, extra in order:
                rec, out = None, None
                if cfg != "untraced":
                    argv, env, out = self.cmd_for(cfg, extra, target)
                    rec = subprocess.Popen(argv, env=env, stdout=subprocess.DEVNULL,
                                           stderr=subprocess.DEVNULL, start_new_session=True)
                    time.sleep(settle)
                try:
                    r = run(by, secs * 20 + 60)
                finally:
                    if rec:
                        try:
                            rec.wait(secs * 20 + 60)
                        except subprocess.TimeoutExpired:
                            os.killpg(rec.pid, signal.SIGKILL)
                            rec.wait()
                    if out and os.path.exists(out) and not self.a.keep:
                        os.unlink(out)
                w = r.workload()
                if w is None or (rec and rec.returncode != 0):
                    log("  bystander %s: failed (rc %s)" % (cfg, rec.returncode if rec else r.rc))
                    continue
                rnd[cfg] = {"ops_per_s": w["ops_per_s"], "ops": w["ops"]}
            rounds.append(rnd)
            u = rnd.get("untraced", {}).get("ops_per_s")
            log("  bystander round %d/%d: %s" % (i + 1, runs, "  ".join(
                "%s %.2f" % (c, rnd[c]["ops_per_s"] / u) for c, _ in configs if c in rnd and u)))
        self.results["bystander"] = rounds

    # ---------------------------------------------------------- report speed
    def report(self):
        sizes = [20000, 100000] if self.a.quick else [1000000, 10000000]
        # 5 runs, as the issue asks of every measure: on this shared VM one
        # run in three can be 1.5x slower than the others
        reps = 1 if self.a.quick else 5
        res = self.results["report"]
        for n in sizes:
            f = os.path.join(self.work, "big-%d.srec" % n)
            if os.path.exists(f):
                os.unlink(f)
            g = run([self.bdir + "/gen_big", f, str(n)], 1800)
            if g.rc != 0:
                raise RuntimeError("gen_big failed: " + g.stderr)
            gen = json.loads(g.stdout)
            entry = {"events": gen["events"], "gen": gen, "bytes": os.path.getsize(f),
                     "gen_wall": g.wall, "cmds": {}}
            for name in REPORT_CMDS:
                c = entry["cmds"][name] = self.time_report(
                    name, f, reps if n < 5000000 or name != "dump --json" else 1, gen["events"])
                log("  %d events: sockreport %s %.2fs (CPU %.2fs), %.0f MB" %
                    (n, name, med(c["walls"]), med(c["cpus"]), max(c["maxrss_kb"]) / 1024))
            # Instructions, counted by callgrind: unlike the wall time on
            # this shared VM they repeat exactly, so 1M against 10M shows
            # whether the work per event stays the same.
            if self.valgrind:
                for name in REPORT_GOAL_CMDS:
                    entry["cmds"][name]["instructions"] = self.count_instructions(name, f)
            d = run([self.bdir + "/decode_speed", f, str(reps)], 1800)
            entry["decode"] = json.loads(d.stdout)
            log("  %d events: decode %.1fM records/s" % (n, entry["decode"]["records_per_s"] / 1e6))
            res[str(n)] = entry
            if not self.a.keep:
                os.unlink(f)

    def count_instructions(self, name, f):
        """Instructions `sockreport NAME F` executes (valgrind callgrind,
        no cache simulation), or None when valgrind fails."""
        cg = os.path.join(self.work, "count.callgrind")
        argv, written = report_argv(self.sockreport, name, f, self.work)
        r = run([self.valgrind, "--tool=callgrind", "--callgrind-out-file=" + cg] + argv, 3600)
        if written and os.path.isdir(written):
            shutil.rmtree(written)
        elif written and os.path.exists(written):
            os.unlink(written)
        if os.path.exists(cg):
            os.unlink(cg)
        m = re.search(r"Collected : (\d+)", r.stderr)
        if r.rc != 0 or not m:
            log("  callgrind on sockreport %s failed: %s" % (name, r.stderr[-300:]))
            return None
        return int(m.group(1))

    def time_report(self, name, f, reps, events):
        """`sockreport NAME F` reps times, output to /dev/null: walls, CPU,
        peak RSS and events/s."""
        argv, written = report_argv(self.sockreport, name, f, self.work)
        walls, cpus, rss = [], [], []
        for _ in range(reps):
            r, maxrss = run_rss(argv, 3600, self.work)
            if r.rc != 0:
                raise RuntimeError("%s failed (rc %d): %s" % (argv, r.rc, r.stderr[-400:]))
            walls.append(r.wall)
            cpus.append(r.cpu)
            rss.append(maxrss)
        res = {"walls": walls, "cpus": cpus, "maxrss_kb": rss,
               "events_per_s": events / med(walls),
               "events_per_cpu_s": events / max(med(cpus), 1e-6)}
        if name == "export":
            res["out_bytes"] = sum(os.path.getsize(os.path.join(d, x))
                                   for d, _, xs in os.walk(written) for x in xs)
            shutil.rmtree(written)
        elif written:
            res["page_bytes"] = os.path.getsize(written)
            os.unlink(written)
        return res

    def report_real(self):
        """The same measures on a REAL recording rather than gen_big's
        synthetic mix: sockrec with its default stacks records the
        benchmark workloads (churn -j2 and tcp at once, the size goal's
        workload); full mode aims at >= 10M records.  gen_big's default mix
        has more entropy per record than real recordings (11.7 vs ~3-7 B),
        so both are reported."""
        churn_n, tcp_n = (20000, 2000) if self.a.quick else (3600000, 250000)
        # 5 runs, as the issue asks of every measure: on this shared VM one
        # run in three can be 1.5x slower than the others
        reps = 1 if self.a.quick else 5
        f = os.path.join(self.work, "real.srec")
        if os.path.exists(f):
            os.unlink(f)
        sh = "%s -n %d -j2 >/dev/null & %s -n %d >/dev/null; wait" % (
            self.bdir + "/churn", churn_n, self.bdir + "/tcp", tcp_n)
        r = run([self.sockrec, "-o", f, "--", "/bin/sh", "-c", sh], 3600)
        if r.rc != 0:
            raise RuntimeError("sockrec (real recording) failed: " + r.stderr[-400:])
        d = run([self.bdir + "/decode_speed", f, str(reps)], 1800)
        if d.rc != 0:
            raise RuntimeError("decode_speed failed: " + d.stderr[-400:])
        dec = json.loads(d.stdout)
        entry = {"cmd": "sockrec -o real.srec -- sh -c 'churn -n %d -j2 & tcp -n %d; wait'" % (churn_n, tcp_n),
                 "bytes": os.path.getsize(f), "records": dec["records"], "events": dec["events"],
                 "record_wall": r.wall, "decode": dec, "cmds": {}}
        log("  real recording: %d records, %.1f MB, recorded in %.0f s; decode %.1fM records/s" % (
            dec["records"], entry["bytes"] / 1e6, r.wall, dec["records_per_s"] / 1e6))
        for name in REPORT_GOAL_CMDS:
            c = entry["cmds"][name] = self.time_report(name, f, reps, dec["events"])
            log("  real recording: sockreport %s %.2fs, %.0f MB" % (
                name, med(c["walls"]), max(c["maxrss_kb"]) / 1024))
        self.results["report_real"] = entry
        if not self.a.keep:
            os.unlink(f)

    # ---------------------------------------------------------- symbolize
    def sym_modules(self):
        """10 modules: our -g binaries and fixtures, then the system libraries sockrec links."""
        b, f = self.build, os.path.join(self.build, "fixtures")
        first = [b + "/sockreport", b + "/sockrec", f + "/libsockfix.so", f + "/http_pair",
                 f + "/netfix", self.bdir + "/gen_big"]
        libs = []
        try:
            ldd = subprocess.run(["ldd", self.sockrec], capture_output=True, text=True, timeout=30).stdout
            found = dict((os.path.basename(m.group(1)).split(".so")[0], m.group(1))
                         for m in re.finditer(r"=> (/\S+)", ldd))
            libs = [found[k] for k in ("libc", "libzstd", "libelf", "libbpf", "libz") if k in found]
        except (OSError, subprocess.SubprocessError):
            pass
        spare = [self.bdir + "/decode_speed", self.bdir + "/churn", f + "/leaker", f + "/spawner",
                 self.bdir + "/mixed"]
        mods = [m for m in first if os.path.exists(m)] + libs[:4]
        for m in libs[4:] + spare:
            if len(mods) >= 10:
                break
            if os.path.exists(m) and m not in mods:
                mods.append(m)
        return mods[:10]

    def symbolize(self):
        n = 20000 if self.a.quick else 1000000
        sample = 1000
        res = self.results["symbolize"]
        d = os.path.join(self.work, "symbench")
        if os.path.isdir(d):
            shutil.rmtree(d)
        mods = self.sym_modules()
        argv = [self.bdir + "/symbench", "-n", str(n), "-k", str(sample), "-o", d] + mods
        r = run(argv, 3600)
        js = [l for l in r.stdout.splitlines() if l.startswith('{"symbench"')]
        if r.rc != 0 or not js:
            raise RuntimeError("symbench failed (rc %d): %s" % (r.rc, r.stderr[-1000:]))
        sb = json.loads(js[0])["symbench"]
        res["symbench"] = sb
        res["symbench_wall"] = r.wall
        res["cmd"] = " ".join(argv).replace(self.build + "/", "BUILD/").replace(d, "DIR")
        res["date"] = datetime.datetime.now().astimezone().strftime("%Y-%m-%d %H:%M %Z")
        res["git"] = host_meta()["git"]
        src = dict(re.findall(r"symbench: (\S+): \d+ functions \((\S+)\)", r.stderr))
        funcs = dict(re.findall(r"symbench: (\S+): (\d+) functions", r.stderr))
        modules = []
        with open(os.path.join(d, "modules.txt")) as f:
            for line in f:
                idx, path, bid = line.split()
                modules.append({"idx": int(idx), "path": path, "build_id": bid,
                                "symbols": src.get(path), "functions": int(funcs.get(path, 0))})
        log("  symbench %d frames: cold %.0f frames/s (%.2f s), warm %.0f frames/s, peak RSS %d kB" % (
            sb["frames"], sb["cold"]["frames_per_s"], sb["cold"]["secs"], sb["warm"]["frames_per_s"],
            sb["peak_rss_kb"]))

        # addr2line: one process per module, all its addresses on stdin
        a2l = shutil.which("addr2line")
        res["addr2line"] = None
        if a2l:
            ver = subprocess.run([a2l, "--version"], capture_output=True, text=True).stdout.splitlines()
            tot_wall, tot_cpu, peak, outs = 0.0, 0.0, 0, {}
            for m in modules:
                addrs = os.path.join(d, "addr-%d.txt" % m["idx"])
                out = os.path.join(d, "a2l-%d.txt" % m["idx"])
                with open(addrs) as f:
                    m["lookups"] = sum(1 for _ in f)
                ar = run([a2l, "-f", "-i", "-C", "-a", "-e", m["path"]], 3600, stdout_path=out,
                         stdin_path=addrs)
                if ar.rc != 0:
                    raise RuntimeError("addr2line failed on %s: %s" % (m["path"], ar.stderr[-400:]))
                m["a2l_wall"], m["a2l_maxrss_kb"] = ar.wall, ar.maxrss_kb
                tot_wall += ar.wall
                tot_cpu += ar.cpu
                peak = max(peak, ar.maxrss_kb)
                outs[m["idx"]] = out
                log("  addr2line %s: %d addresses %.2f s, %d kB" % (
                    os.path.basename(m["path"]), m["lookups"], ar.wall, ar.maxrss_kb))
            res["addr2line"] = {"version": ver[0] if ver else "?", "wall": tot_wall, "cpu": tot_cpu,
                                "frames_per_s": sb["frames"] / tot_wall if tot_wall else None,
                                "peak_rss_kb": peak,
                                "cmd": "addr2line -f -i -C -a -e MODULE < addr-MODULE.txt"}
            res["agreement"] = sym_agreement(d, outs)
            ag = res["agreement"]
            log("  agreement on %d lookups: functions %.1f%% (exact %.1f%%), file:line %.1f%%" % (
                ag["n"], ag["func_pct"], ag["func_exact_pct"], ag["line_pct"] or 0))
        res["modules"] = modules
        if not self.a.keep:
            shutil.rmtree(d, ignore_errors=True)

    # ---------------------------------------------------------- profile
    def profile(self):
        prof = self.results["profile"]
        if self.perf:
            out = os.path.join(self.work, "prof-rec.srec")
            pdata = os.path.join(self.work, "prof.data")
            for p in (out, pdata):
                if os.path.exists(p):
                    os.unlink(p)
            rec = subprocess.Popen([self.sockrec, "-o", out, "--", self.bdir + "/churn", "-t", "4"],
                                   stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
            time.sleep(1.0)
            subprocess.run([self.perf, "record", "-q", "-a", "-g", "-o", pdata, "--", "sleep", "2"],
                           stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
            rec.wait()
            for comm in ("churn", "sockrec"):
                rep = subprocess.run([self.perf, "report", "-i", pdata, "--stdio", "--no-children",
                                      "--comms", comm, "--sort", "sym", "-g", "none",
                                      "--percentage", "relative", "--percent-limit", "1.5"],
                                     capture_output=True, text=True)
                lines = [l for l in rep.stdout.splitlines() if l.strip() and not l.startswith("#")]
                prof["perf_" + comm] = lines[:18]
            prof["perf_cmd"] = ("sockrec -o f.srec -- churn -t 4 & sleep 1; perf record -a -g -- sleep 2; "
                                "perf report --no-children --comms COMM --sort sym -g none --percentage relative")
            for p in (out, pdata):
                if os.path.exists(p) and not self.a.keep:
                    os.unlink(p)
        if self.valgrind:
            f = os.path.join(self.work, "prof-100k.srec")
            if os.path.exists(f):
                os.unlink(f)
            run([self.bdir + "/gen_big", f, "100000"], 600)
            cg = os.path.join(self.work, "callgrind.out")
            subprocess.run([self.valgrind, "--tool=callgrind", "--callgrind-out-file=" + cg,
                            self.sockreport, "leaks", f], stdout=subprocess.DEVNULL,
                           stderr=subprocess.DEVNULL)
            def annotate(cg):
                ann = subprocess.run(["callgrind_annotate", cg], capture_output=True, text=True)
                lines = []
                started = False
                for l in ann.stdout.splitlines():
                    if "file:function" in l:
                        started = True
                        continue
                    if started and l.startswith("--"):
                        break
                    if started and l.strip():
                        lines.append(re.sub(r"\s+", " ", l.strip()).replace(ROOT + "/", "").replace(
                            os.path.dirname(self.build) + "/", ""))
                    if len(lines) >= 14:
                        break
                total = re.search(r"^([\d,]+) \(100.0%\) +PROGRAM TOTALS", ann.stdout, re.M)
                return (total.group(1) if total else None), lines
            prof["callgrind_total"], prof["callgrind"] = annotate(cg)
            prof["callgrind_cmd"] = "valgrind --tool=callgrind sockreport leaks gen_big-100k.srec; callgrind_annotate"
            cg2 = os.path.join(self.work, "callgrind-decode.out")
            subprocess.run([self.valgrind, "--tool=callgrind", "--callgrind-out-file=" + cg2,
                            self.bdir + "/decode_speed", f], stdout=subprocess.DEVNULL,
                           stderr=subprocess.DEVNULL)
            prof["callgrind_decode_total"], prof["callgrind_decode"] = annotate(cg2)
            prof["callgrind_decode_cmd"] = "valgrind --tool=callgrind decode_speed gen_big-100k.srec; callgrind_annotate"
            if not self.a.keep:
                for p in (f, cg, cg2):
                    if os.path.exists(p):
                        os.unlink(p)


CLONE_RE = re.compile(r"(\.(isra|part|constprop|cold|lto_priv|localalias|llvm)(\.\d+)?)+$")


def read_a2l(path):
    """addr2line -a -f -i output -> [(funcs innermost first, file:lines)] per address."""
    entries, cur = [], None
    with open(path, errors="replace") as f:
        lines = f.read().splitlines()
    i = 0
    while i < len(lines):
        l = lines[i]
        if re.fullmatch(r"0x[0-9a-f]+", l):
            cur = ([], [])
            entries.append(cur)
            i += 1
            continue
        cur[0].append(l)
        cur[1].append(lines[i + 1] if i + 1 < len(lines) else "")
        i += 2
    return entries


def sym_agreement(d, outs):
    """Compare the symbolizer's sample (sample.tsv) with addr2line's answers."""
    a2l = {k: read_a2l(v) for k, v in outs.items()}
    syms = {}
    with open(os.path.join(d, "syms.tsv")) as f:
        for line in f:
            i, mod, pos, names = line.rstrip("\n").split("\t")
            # .symtab names of versioned symbols carry "@GLIBC_2.2.5" / "@@GLIBC_2.34"
            syms[int(i)] = (int(mod), int(pos), [x.split("@")[0] for x in names.split(",")])
    cat = {"exact": 0, "clone_suffix": 0, "alias": 0, "a2l_unknown": 0, "other": 0}
    inner_ok = line_ok = line_n = n = depth_ok = 0
    examples = []
    with open(os.path.join(d, "sample.tsv")) as f:
        for line in f:
            i, status, inner, outer, fl, nfr = line.rstrip("\n").split("\t")
            mod, pos, aliases = syms[int(i)]
            funcs, fls = a2l[mod][pos]
            n += 1
            a_outer, a_inner = (funcs[-1], funcs[0]) if funcs else ("??", "??")
            if status == "OK" and outer == a_outer:
                c = "exact"
            elif status == "OK" and CLONE_RE.sub("", outer) == CLONE_RE.sub("", a_outer):
                c = "clone_suffix"
            elif status == "OK" and a_outer in aliases and outer in aliases:
                c = "alias"
            elif a_outer == "??":
                c = "a2l_unknown"
            else:
                c = "other"
            cat[c] += 1
            if c != "exact" and len(examples) < 12 and not any(e[0] == c for e in examples[-3:]):
                examples.append((c, outer, a_outer))
            if (CLONE_RE.sub("", inner) == CLONE_RE.sub("", a_inner)
                    or (inner == outer and a_inner == a_outer and c in ("alias", "exact", "clone_suffix"))):
                inner_ok += 1
            if status == "OK" and int(nfr) == len(funcs):
                depth_ok += 1
            a_fl = fls[0] if fls else ""
            if fl and not a_fl.startswith("??"):
                line_n += 1
                # addr2line adds " (discriminator N)"; compare path and line
                if fl == a_fl.split(" (")[0]:
                    line_ok += 1
    agree = cat["exact"] + cat["clone_suffix"] + cat["alias"]
    return {"n": n, "categories": cat, "func_pct": 100.0 * agree / n if n else None,
            "func_exact_pct": 100.0 * cat["exact"] / n if n else None,
            "inner_pct": 100.0 * inner_ok / n if n else None,
            "depth_pct": 100.0 * depth_ok / n if n else None,
            "line_n": line_n, "line_pct": 100.0 * line_ok / line_n if line_n else None,
            "examples": examples}


def symbolize_lines(S):
    """Section 6 (markdown) from results["symbolize"]."""
    if not S or "symbench" not in S:
        return []
    sb, a2, ag = S["symbench"], S.get("addr2line"), S.get("agreement")
    mods = S.get("modules", [])
    L = ["### 6. Symbolization (bench/symbench.c: report/symbolize.c vs addr2line)\n"]
    L.append("Measured %s, git %s (plus uncommitted work, if any); this section can be refreshed alone "
             "with `bench/run.py --only symbolize` (`make bench-symbolize`).  %s frames drawn uniformly: "
             "a module, a function symbol of it, a byte inside the function (fixed seed), passed as "
             "(path, build-id, FILE offset, is_return_addr 0) to sym_lookup().  Cold = a fresh sym_ctx, "
             "first pass (finding, opening and parsing the modules and the DWARF of each CU on first "
             "use included); warm = the same lookups again, same context.  Peak RSS = VmHWM of the "
             "measuring process, which holds the lookups (%.1f MB VmRSS before sym_ctx_new).  "
             "addr2line: one process per module, all its addresses on stdin; time = sum of the 10 "
             "wall times, RSS = the largest (wait4 ru_maxrss, as `/usr/bin/time -f %%M`).\n" % (
                 S.get("date", "?"), S.get("git", "?"), "{:,}".format(sb["frames"]),
                 sb["rss_base_kb"] / 1024))
    base = sb["rss_base_kb"]
    peak = max(sb["peak_rss_cold_kb"], sb["peak_rss_kb"])
    L.append("| symbolizer | frames | wall (CPU) | frames/s (wall) | peak RSS (above the lookups' %.1f MB) |" % (
        base / 1024))
    L.append("|---|---|---|---|---|")
    L.append("| sym_lookup cold (fresh context) | %s | %.2f s (%.2f s) | **%s** | %.1f MB (%.1f MB) |" % (
        fmt_num(sb["frames"]), sb["cold"]["secs"], sb["cold"]["cpu_secs"],
        fmt_num(sb["cold"]["frames_per_s"]), sb["peak_rss_cold_kb"] / 1024,
        (sb["peak_rss_cold_kb"] - base) / 1024))
    L.append("| sym_lookup warm (same context, 2nd pass) | %s | %.2f s (%.2f s) | **%s** | %.1f MB (%.1f MB) |" % (
        fmt_num(sb["frames"]), sb["warm"]["secs"], sb["warm"]["cpu_secs"],
        fmt_num(sb["warm"]["frames_per_s"]), peak / 1024, (peak - base) / 1024))
    if a2:
        L.append("| %s `-f -i -C` (10 processes) | %s | %.2f s (%.2f s) | **%s** | %.1f MB |" % (
            a2["version"].replace("GNU addr2line ", "addr2line "), fmt_num(sb["frames"]), a2["wall"],
            a2["cpu"], fmt_num(a2["frames_per_s"]), a2["peak_rss_kb"] / 1024))
        L.append("")
        L.append("Symbolizer cold ÷ addr2line: %.1f× the frames/s; warm ÷ addr2line: %.0f×." % (
            sb["cold"]["frames_per_s"] / a2["frames_per_s"], sb["warm"]["frames_per_s"] / a2["frames_per_s"]))
    L.append("")
    c = sb["cold"]
    L.append("Results of the cold pass: %s OK, %s NO_SYMBOL, %s NOT_FOUND, %s BUILDID_MISMATCH, %s BAD_FILE; "
             "%s with file:line, %s with inlined frames; warm pass identical: %s." % (
                 "{:,}".format(c["ok"]), "{:,}".format(c["no_symbol"]), "{:,}".format(c["not_found"]),
                 "{:,}".format(c["buildid_mismatch"]), "{:,}".format(c["bad_file"]),
                 "{:,}".format(c["with_file_line"]), "{:,}".format(c["with_inlined"]), "yes" if sb.get("consistent") else "NO"))
    L.append("")
    if mods:
        L.append("| module | symbols drawn from | functions | lookups | addr2line wall | addr2line RSS |")
        L.append("|---|---|---|---|---|---|")
        for m in mods:
            L.append("| %s | %s | %d | %s | %s | %s |" % (
                os.path.basename(m["path"]), m.get("symbols") or "?", m.get("functions", 0),
                "{:,}".format(m["lookups"]) if m.get("lookups") is not None else "–",
                "%.2f s" % m["a2l_wall"] if "a2l_wall" in m else "–",
                "%.1f MB" % (m["a2l_maxrss_kb"] / 1024) if "a2l_maxrss_kb" in m else "–"))
        L.append("")
        L.append("(symtab: the module's .symtab, built with -g; debug-symtab: .symtab of "
                 "/usr/lib/debug/.build-id/…debug, which also gives DWARF to both tools; dynsym: only "
                 "exported functions, no DWARF: no file:line from either tool.)\n")
    if ag:
        cat = ag["categories"]
        L.append("Agreement with addr2line on the first %d lookups: function (the out-of-line one) "
                 "**%.1f%%** (%.1f%% identical strings; %d differ only by a compiler-clone suffix — the "
                 "symbolizer names the ELF symbol `f.isra.0`/`f.part.0`/`f.cold`, addr2line the DWARF "
                 "`f`; %d are aliases — another symbol at the same address (glibc: `__GI_f`, `__new_f`, `f@GLIBC_…`); %d where addr2line says `??`; "
                 "%d other); innermost inlined function %.1f%%; same number of frames (inline depth) %.1f%%; innermost file:line %.1f%% of the %d "
                 "where both give one (addr2line's \" (discriminator N)\" ignored).\n" % (
                     ag["n"], ag["func_pct"], ag["func_exact_pct"], cat["clone_suffix"], cat["alias"],
                     cat["a2l_unknown"], cat["other"], ag["inner_pct"], ag["depth_pct"], ag["line_pct"] or 0, ag["line_n"]))
        if ag["examples"]:
            L.append("Examples of differences (category: symbolizer / addr2line): " + "; ".join(
                "%s: `%s` / `%s`" % tuple(e) for e in ag["examples"]) + ".\n")
    L.append("```")
    L.append(S["cmd"])
    L.append("BUILD/bench/symbench --run DIR -k 1000    # what the above execs: the timed part")
    if a2:
        L.append("for each module M: " + a2["cmd"])
    L.append("```")
    L.append("")
    return L


SYM_HEAD = "### 6. Symbolization"


def splice_symbolize(path, lines):
    """Replace (or insert) section 6 of an existing RESULTS.md, keep the rest."""
    with open(path) as f:
        doc = f.read().split("\n")
    start = next((i for i, l in enumerate(doc) if l.startswith(SYM_HEAD)), None)
    if start is not None:
        end = next((i for i in range(start + 1, len(doc)) if doc[i].startswith(("### ", "## "))), len(doc))
    else:
        start = next((i for i, l in enumerate(doc) if l.startswith("### Profiles")), None)
        if start is None:
            start = next((i for i, l in enumerate(doc) if l.startswith("## Exact commands")), len(doc))
        end = start
    doc[start:end] = lines
    with open(path, "w") as f:
        f.write("\n".join(doc))


# ---------------------------------------------------------------- summarising

def cfi_lines(ov, series, med, lines, verdicts):
    """Section 4b: default user stacks (copied, unwound from CFI) next to the
    frame-pointer walk, same rounds (issue 15)."""
    lines.append("### 4b. User stacks: CFI unwinding (default) vs the frame-pointer walk (`--user-stacks fp`)\n")
    lines.append("Extra µs per allocation = (1/ops/s default − 1/ops/s fp) × ops/sockets, per round, median "
                 "(the workload's wall time per socket: BPF copy + ring-buffer transport + recorder "
                 "contention for the CPUs).  Unwind tables: rules cached at the end and bytes of the "
                 "modules' CFI sections (`unwind.*` in the file's metadata).\n")
    lines.append("| workload | default ÷ fp (ops/s) | extra µs per alloc | B/event default / fp | lost default / fp | recorder CPU s default / fp | peak RSS default / fp | rules cached | CFI bytes (modules) | stops |")
    lines.append("|---|---|---|---|---|---|---|---|---|---|")
    for wl in ov:
        d, f = "sockrec-default", "sockrec-fp"
        rounds = [r for r in ov[wl] if d in r and f in r]
        rat = [r[d]["ops_per_s"] / r[f]["ops_per_s"] for r in rounds if r[f]["ops_per_s"]]
        extra = [(1 / r[d]["ops_per_s"] - 1 / r[f]["ops_per_s"]) * 1e6 * r[d]["ops"] / r[d]["sockets"]
                 for r in rounds if r[d]["ops_per_s"] and r[f]["ops_per_s"] and r[d]["sockets"]]
        bpe = [[r[c]["bytes"] / r[c]["events"] for r in rounds if r[c].get("events")] for c in (d, f)]
        cpu = [[r[c]["cpu_total"] - r[c]["cpu_workload"] for r in rounds] for c in (d, f)]
        uw = [r[d].get("unwind", {}) for r in rounds]
        last = uw[-1] if uw else {}
        stops = ", ".join("%s %d" % (k[len("unwind.stop."):], v) for k, v in sorted(last.items())
                          if k.startswith("unwind.stop."))
        fx = lambda xs, fmt: fmt % med(xs) if xs and med(xs) is not None else "n/a"
        lines.append("| %s | %s | %s | %s / %s | %s / %s | %s / %s | %s / %s | %s | %s (%s) | %s |" % (
            wl, fx(rat, "%.2f"), fx(extra, "%.2f"), fx(bpe[0], "%.1f"), fx(bpe[1], "%.1f"),
            fmt_num(med(series(wl, d, "lost"))), fmt_num(med(series(wl, f, "lost"))),
            fx(cpu[0], "%.2f"), fx(cpu[1], "%.2f"),
            fx([x / 1024 for x in series(wl, d, "maxrss_kb") if x], "%.1f MB"),
            fx([x / 1024 for x in series(wl, f, "maxrss_kb") if x], "%.1f MB"),
            last.get("unwind.rules", "n/a"), fmt_num(last.get("unwind.cfi_bytes")),
            last.get("unwind.modules", "n/a"), stops or "n/a"))
        if wl == "churn1":
            v = med(extra) if extra else None
            verdicts.append((wl, "CFI stacks ≤ %.1f µs more per alloc than fp" % GOALS["cfi_extra_us_per_alloc"],
                             "n/a" if v is None else "%.2f" % v,
                             "not measured" if v is None else
                             "MET" if v <= GOALS["cfi_extra_us_per_alloc"] else "NOT MET"))
    lines.append("")


def ratio_table(lines, ov, ratio, cols):
    """A markdown table: per workload, each column's num ÷ den (same rounds)."""
    lines.append("| workload | " + " | ".join(c[0] for c in cols) + " |")
    lines.append("|---|" + "---|" * len(cols))
    for wl in ov:
        lines.append("| %s | %s |" % (wl, " | ".join(fmt_ratio(ratio(wl, num, den))
                                                    for _, num, den in cols)))
    lines.append("")


def bystander_lines(rounds, lines, verdicts):
    """Section 4c: an unrelated process under each recorder's global hooks."""
    if not rounds:
        return
    cfgs = [c for c in BYSTANDER_CONFIGS if any(c in r for r in rounds)]
    rat = {c: [r[c]["ops_per_s"] / r["untraced"]["ops_per_s"] if c in r and "untraced" in r else None
               for r in rounds] for c in cfgs}
    lines.append("### 4c. Bystander: `bench/bystander` (open()+close() of /dev/null) while the recorder "
                 "records another process (an idle `sleep`)\n")
    lines.append("Ratio = the bystander's ops/s ÷ its untraced ops/s in the same round (median, min–max "
                 "over %d rounds); slowdown = 1 − ratio.\n" % len(rounds))
    lines.append("| recorder | untraced ops/s | ratio | slowdown |")
    lines.append("|---|---|---|---|")
    u = med([r["untraced"]["ops_per_s"] for r in rounds if "untraced" in r])
    for c in cfgs:
        if c == "untraced":
            continue
        m = med(rat[c])
        lines.append("| %s | %s | %s | %s |" % (c, fmt_num(u), fmt_ratio(rat[c]),
                                                "n/a" if m is None else "%.2f" % (1 - m)))
    lines.append("")
    fl = med(rat.get("floor-complete-nostacks", []))
    for c in ("sockrec-default", "sockrec-nostacks"):
        s = med(rat.get(c, []))
        name = "bystander: %s slowdown ≤ %.1f × the complete floor's" % (c, GOALS["bystander_vs_floor"])
        if s is None or fl is None:
            verdicts.append(("bystander", name, "n/a", "not measured"))
            continue
        sd, fsd = 1 - s, 1 - fl
        verdicts.append(("bystander", name, "%.2f vs %.2f (×%s)" % (
            sd, fsd, "%.2f" % (sd / fsd) if fsd > 0 else "∞"),
            "MET" if sd <= GOALS["bystander_vs_floor"] * max(fsd, 0) else "NOT MET"))


def summarise(b):
    """Tables (markdown) and goal verdicts from b.results."""
    R = b.results
    lines, verdicts = [], []
    cfgs = [c for c, _ in b.configs()]
    ov = R["overhead"]

    def series(wl, cfg, key, per_round=None):
        out = []
        for rnd in ov.get(wl, []):
            if cfg not in rnd:
                out.append(None)
                continue
            out.append(per_round(rnd) if per_round else rnd[cfg].get(key))
        return out

    def ratio(wl, num, den):
        return [(rnd[num]["ops_per_s"] / rnd[den]["ops_per_s"])
                if num in rnd and den in rnd and rnd[den]["ops_per_s"] else None
                for rnd in ov.get(wl, [])]

    if ov:
        lines.append("### 1. Throughput relative to untraced (median of per-round ratios, min–max)\n")
        hdr = "| workload | untraced ops/s | " + " | ".join(c for c in cfgs if c != "untraced") + " |"
        lines.append(hdr)
        lines.append("|" + "---|" * (len(cfgs) + 1))
        for wl in ov:
            u = med(series(wl, "untraced", "ops_per_s"))
            row = ["%s" % wl, fmt_num(u)]
            for c in cfgs:
                if c == "untraced":
                    continue
                row.append(fmt_ratio(ratio(wl, c, "untraced")))
            lines.append("| " + " | ".join(row) + " |")
        lines.append("")
        lines.append("Head to head (same rounds): sockrec default ÷ floor, ÷ floor-emit, ÷ perf, ÷ bpftrace; "
                     "sockrec --no-stacks ÷ floor --no-stacks (the hooks alone) and ÷ floor-emit --no-stacks "
                     "(the hooks, each sending one event with pid, comm and time: the least any recorder of "
                     "both events costs)\n")
        ratio_table(lines, ov, ratio, (
            ("default ÷ floor", "sockrec-default", "floor"),
            ("default ÷ floor-emit", "sockrec-default", "floor-emit"),
            ("default ÷ perf", "sockrec-default", "perf"),
            ("default ÷ bpftrace", "sockrec-default", "bpftrace"),
            ("no-stacks ÷ untraced", "sockrec-nostacks", "untraced"),
            ("no-stacks ÷ floor-nostacks", "sockrec-nostacks", "floor-nostacks"),
            ("no-stacks ÷ floor-emit-nostacks", "sockrec-nostacks", "floor-emit-nostacks"),
            ("floor-emit-nostacks ÷ untraced", "floor-emit-nostacks", "untraced")))

        lines.append("### 1b. Against the complete floor and the fair perf peer (issue 22; same rounds)\n")
        lines.append("Complete floor = `floor --emit --free`: the alloc, close and slab-free hooks, each "
                     "sending one bare event (with stacks: a kernel and a frame-pointer user stack walked at "
                     "every allocation: the floor does not reuse kernel stacks as sockrec does).  Fair perf "
                     "peer = `perf record -B --call-graph fp` on the same events as sockrec, the call graph "
                     "on the allocation only (`/call-graph=no/` on the others).  `÷ nokcache`: sockrec "
                     "default ÷ sockrec `--no-kstack-cache` (lever 1).  `÷ probe-read`: sockrec --no-stacks ÷ "
                     "sockrec --no-stacks `--no-direct-loads` (lever 2: bpf_rdonly_cast loads against a probe "
                     "read per field).\n")
        ratio_table(lines, ov, ratio, (
            ("no-stacks ÷ untraced", "sockrec-nostacks", "untraced"),
            ("no-stacks ÷ complete floor no-stacks", "sockrec-nostacks", "floor-complete-nostacks"),
            ("fp ÷ complete floor", "sockrec-fp", "floor-complete"),
            ("default ÷ complete floor", "sockrec-default", "floor-complete"),
            ("default ÷ perf-fair", "sockrec-default", "perf-fair"),
            ("default ÷ perf -g", "sockrec-default", "perf"),
            ("default ÷ nokcache", "sockrec-default", "sockrec-nokcache"),
            ("no-stacks ÷ probe-read no-stacks", "sockrec-nostacks", "sockrec-probe-nostacks"),
            ("complete floor no-stacks ÷ untraced", "floor-complete-nostacks", "untraced")))

        # the goals, for every workload (issue 22)
        for wl in ov:
            if wl in SERVER_WORKLOADS:
                rows = (("default ≥ %.2f × untraced (real server)" % GOALS["servers_vs_untraced"],
                         ratio(wl, "sockrec-default", "untraced"), GOALS["servers_vs_untraced"]),
                        ("default ≥ %.1f × fair perf peer (real server)" % GOALS["servers_vs_perf_fair"],
                         ratio(wl, "sockrec-default", "perf-fair"), GOALS["servers_vs_perf_fair"]),
                        ("--no-stacks ≥ %.2f × complete floor (--no-stacks --emit --free --all)"
                         % GOALS["nostacks_vs_complete_floor"],
                         ratio(wl, "sockrec-nostacks", "floor-complete-nostacks"),
                         GOALS["nostacks_vs_complete_floor"]))
            else:
                rows = (("--no-stacks ≥ %.2f × complete floor (--no-stacks --emit --free)"
                         % GOALS["nostacks_vs_complete_floor"],
                         ratio(wl, "sockrec-nostacks", "floor-complete-nostacks"),
                         GOALS["nostacks_vs_complete_floor"]),
                        # the floor walks frame pointers: compare the same stacks
                        ("--user-stacks fp ≥ %.2f × complete floor, same stacks (the floor does "
                         "not reuse kernel stacks)" % GOALS["default_vs_floor"],
                         ratio(wl, "sockrec-fp", "floor-complete"), GOALS["default_vs_floor"]),
                        ("default ≥ %.1f × fair perf peer" % GOALS["default_vs_perf_fair"],
                         ratio(wl, "sockrec-default", "perf-fair"), GOALS["default_vs_perf_fair"]))
            for name, xs, goal in rows:
                val = med(xs)
                if val is None:
                    verdicts.append((wl, name, "n/a", "not measured"))
                else:
                    lo, hi = rng(xs)
                    verdicts.append((wl, name, "%.2f (%.2f–%.2f, %d rounds)" % (
                        val, lo, hi, len([x for x in xs if x is not None])),
                        "MET" if val >= goal else "NOT MET"))

        lines.append("### 2. Loss: events recorded vs operations counted by the workload (median over rounds)\n")
        lines.append("Sockets allocated = the workload's own count.  `alloc seen` = ALLOC records (sockrec), "
                     "alloc hook hits (floor), kmem_cache_alloc samples (perf), `A` lines (bpftrace).  "
                     "`lost` = the recorder's own loss counter (sockrec: lost_events; perf: LOST; bpftrace: "
                     "'Lost N events').\n")
        lines.append("| workload | recorder | sockets | alloc seen | release seen | alloc coverage | lost (own counter) | stack failures |")
        lines.append("|---|---|---|---|---|---|---|---|")
        for wl in ov:
            for c in cfgs:
                if c == "untraced":
                    continue
                socks = med(series(wl, c, "sockets"))
                al = med(series(wl, c, "alloc"))
                rel = med(series(wl, c, "release"))
                cov = [rnd[c]["alloc"] / rnd[c]["sockets"] if c in rnd and rnd[c].get("alloc") is not None
                       and rnd[c]["sockets"] else None for rnd in ov[wl]]
                lines.append("| %s | %s | %s | %s | %s | %s | %s | %s |" % (
                    wl, c, fmt_num(socks), fmt_num(al), fmt_num(rel) if rel is not None else "–",
                    ("%.1f%%" % (100 * med(cov))) if med(cov) is not None else "n/a",
                    fmt_num(med(series(wl, c, "lost"))) if med(series(wl, c, "lost")) is not None else "–",
                    fmt_num(med(series(wl, c, "stack_failures"))) if med(series(wl, c, "stack_failures")) is not None else "–"))
        lines.append("")

        lines.append("### 3. Size: bytes per recorded event (median over rounds)\n")
        lines.append("| workload | sockrec no-stacks | sockrec default (CFI) | sockrec fp | sockrec all stacks | perf.data | bpftrace text |")
        lines.append("|---|---|---|---|---|---|---|")
        worst_bpe = None
        for wl in ov:
            row = [wl]
            for c in ("sockrec-nostacks", "sockrec-default", "sockrec-fp", "sockrec-allstacks", "perf", "bpftrace"):
                bpe = [rnd[c]["bytes"] / rnd[c]["events"] if c in rnd and rnd[c].get("events")
                       and rnd[c].get("bytes") is not None else None for rnd in ov[wl]]
                v = med(bpe)
                row.append("%.1f B" % v if v is not None else "n/a")
                if c.startswith("sockrec") and v is not None:
                    worst_bpe = max(worst_bpe or 0, v)
            lines.append("| " + " | ".join(row) + " |")
        lines.append("")
        if worst_bpe is not None:
            verdicts.append(("all", "≤ %.0f B/event (.srec, stricter than the goal: the worst workload "
                             "and sockrec config)" % GOALS["bytes_per_event"],
                             "%.1f" % worst_bpe, "MET" if worst_bpe <= GOALS["bytes_per_event"] else "NOT MET"))

        lines.append("### 4. Recorder cost: the recorder process's own CPU per million recorded events, peak RSS\n")
        lines.append("CPU = rusage of the recorder (it waits for the workload, so its children are included) "
                     "− the workload's own getrusage − the recorder's fixed start/stop cost (median of "
                     "`RECORDER -- churn -n 1`: %s).  BPF programs run in the workload's context and are "
                     "counted in the throughput columns, not here.\n" % ", ".join(
                         "%s %.2fs" % (k, v) for k, v in sorted(R.get("overhead_base_cpu", {}).items())
                         if v is not None))
        lines.append("| workload | recorder | events/run | recorder CPU s/run (incl. start/stop) | CPU s per M events (start/stop removed) | peak RSS |")
        lines.append("|---|---|---|---|---|---|")
        for wl in ov:
            for c in cfgs:
                if c == "untraced" or c.startswith("floor"):
                    continue
                per_m = [rnd[c]["cpu_recorder"] / rnd[c]["events"] * 1e6
                         if c in rnd and rnd[c].get("events") else None for rnd in ov[wl]]
                rss = med(series(wl, c, "maxrss_kb"))
                tot = [rnd[c]["cpu_total"] - rnd[c]["cpu_workload"] if c in rnd else None for rnd in ov[wl]]
                pm = med(per_m)
                lines.append("| %s | %s | %s | %s | %s | %s |" % (
                    wl, c, fmt_num(med(series(wl, c, "events"))),
                    fmt_ratio(tot),
                    "n/a" if pm is None else ("≈0 (below the start/stop noise)" if pm < 0.05 else "%.2f" % pm),
                    ("%.1f MB" % (rss / 1024)) if rss else "n/a"))
        lines.append("")

    if ov:
        cfi_lines(ov, series, med, lines, verdicts)
    bystander_lines(R.get("bystander"), lines, verdicts)

    rp = R["report"]
    if rp:
        lines.append("### 5. Report speed (gen_big files; output to /dev/null; wall and CPU "
                     "time medians of %d runs with the wall's min–max, peak RSS max)\n"
                     % max(len(c["walls"]) for e in rp.values() for c in e["cmds"].values()))
        lines.append("| events | file | command | wall (min–max) | events/s | CPU | events/CPU-s | peak RSS |")
        lines.append("|---|---|---|---|---|---|---|---|")
        for n, e in rp.items():
            for name, c in e["cmds"].items():
                cpus = c.get("cpus") or c["walls"]
                lines.append("| %s | %.1f MB | sockreport %s | %.2f s (%.2f–%.2f) | %s | %.2f s | %s | %.0f MB |" % (
                    fmt_num(e["events"]), e["bytes"] / 1e6, name, med(c["walls"]),
                    min(c["walls"]), max(c["walls"]),
                    fmt_num(c["events_per_s"]), med(cpus),
                    fmt_num(c.get("events_per_cpu_s", c["events_per_s"])),
                    max(c["maxrss_kb"]) / 1024))
            d = e["decode"]
            lines.append("| %s | %.1f MB | decode_speed (srec_reader_next) | %.3f s | %s records/s | | | – |" % (
                fmt_num(e["events"]), e["bytes"] / 1e6, d["secs"], fmt_num(d["records_per_s"])))
        lines.append("")
        for n, e in rp.items():
            x = e["cmds"].get("export")
            if x and x.get("out_bytes"):
                lines.append("`sockreport export` of %s events (NDJSON, zstd level 3, all four "
                             "tables): %.1f MB, %.1f bytes per event against the .srec's %.1f "
                             "(×%.1f).\n" % (fmt_num(e["events"]), x["out_bytes"] / 1e6,
                                             x["out_bytes"] / e["events"],
                                             e["bytes"] / e["events"], x["out_bytes"] / e["bytes"]))
        keys = list(rp.keys())
        if len(keys) >= 2:
            a, z = rp[keys[0]], rp[keys[-1]]
            f = z["events"] / a["events"]
            lines.append("Scaling %s → %s events (×%.0f):\n" % (fmt_num(a["events"]), fmt_num(z["events"]), f))
            la, lz = a["gen"].get("leaked"), z["gen"].get("leaked")
            if la and lz:
                lines.append("gen_big leaks 1 socket in 100 and the reports keep every socket that is "
                             "open (that is what leaks reports): %s → %s sockets open at the end "
                             "(×%.1f), the part of the memory that grows with a leaking workload.\n" %
                             (fmt_num(la), fmt_num(lz), lz / la))
            lines.append("| command | time × (wall medians) | instructions × (callgrind) | instructions per event | peak RSS × |")
            lines.append("|---|---|---|---|---|")
            for name in a["cmds"]:
                ta, tz = med(a["cmds"][name]["walls"]), med(z["cmds"][name]["walls"])
                ra, rz = max(a["cmds"][name]["maxrss_kb"]), max(z["cmds"][name]["maxrss_kb"])
                ia, iz = a["cmds"][name].get("instructions"), z["cmds"][name].get("instructions")
                lines.append("| sockreport %s | %.1f | %s | %s | %.2f |" % (
                    name, tz / ta, "%.2f" % (iz / ia) if ia and iz else "–",
                    "%.0f → %.0f" % (ia / a["events"], iz / z["events"]) if ia and iz else "–", rz / ra))
                # The goal: memory bounded by the live sockets and distinct
                # stacks, not by the number of events.  gen_big leaks 1
                # socket in 100, so its live sockets at the end grow with
                # the file: what grows beyond ×1.5 must be explained by
                # them, at most 1 KiB per additional live socket.
                per = (rz - ra) * 1024.0 / (lz - la) if la and lz and lz > la else None
                if rz / ra <= 1.5 or per is None:
                    verdicts.append(("report", "sockreport %s: memory flat from %s to %s events" % (
                        name, fmt_num(a["events"]), fmt_num(z["events"])), "RSS ×%.2f" % (rz / ra),
                        "MET" if rz / ra <= 1.5 else "NOT MET"))
                else:
                    verdicts.append(("report", "sockreport %s: memory bounded by live sockets, %s → %s events" % (
                        name, fmt_num(a["events"]), fmt_num(z["events"])),
                        "RSS ×%.2f = %.0f B per additional open socket" % (rz / ra, per),
                        "MET" if per <= 1024 else "NOT MET"))
                # Linear time is judged on the instructions where callgrind
                # counted them: the wall time on this shared VM varies 2x
                # between identical runs (bench/RESULTS.md, "Reading these
                # results"), and also grows with cache misses as the tables
                # of open sockets outgrow the caches, which is shown beside.
                if ia and iz:
                    verdicts.append(("report", "sockreport %s: time linear (instructions; wall beside)" % name,
                                     "instructions ×%.2f, wall ×%.1f for ×%.0f" % (iz / ia, tz / ta, f),
                                     "MET" if iz / ia <= f * 1.3 else "NOT MET"))
                else:
                    verdicts.append(("report", "sockreport %s: time linear" % name, "time ×%.1f for ×%.0f" % (tz / ta, f),
                                     "MET" if tz / ta <= f * 1.3 else "NOT MET"))
            lines.append("")
        for name in REPORT_GOAL_CMDS:
            got = [e["cmds"][name] for e in rp.values() if name in e["cmds"]]
            if not got:
                continue
            w = min(c["events_per_s"] for c in got)
            cpu = min(c.get("events_per_cpu_s", c["events_per_s"]) for c in got)
            goal = GOALS["report_events_per_s"]
            verdicts.append(("report", "sockreport %s ≥ %s events/s (one core)" % (name, fmt_num(goal)),
                             "%s wall, %s per CPU-s (slowest file)" % (fmt_num(w), fmt_num(cpu)),
                             "MET" if w >= goal else "NOT MET"))
        for n, e in rp.items():
            pb = e["cmds"].get("html", {}).get("page_bytes")
            if pb is not None:
                lines.append("sockreport html of the %s-event file: a %.2f MB page (%s bytes).\n" % (
                    fmt_num(e["events"]), pb / 1e6, format(pb, ",")))
        big = [e for e in rp.values() if e["events"] >= 10000000 and "html" in e["cmds"]]
        if big:
            pb = big[-1]["cmds"]["html"]["page_bytes"]
            verdicts.append(("report", "sockreport html of a 10M-event recording < 2 MB",
                             "%.2f MB" % (pb / 1e6),
                             "MET" if pb < GOALS["html_page_bytes"] else "NOT MET"))
        dec = min(e["decode"]["records_per_s"] for e in rp.values())
        verdicts.append(("report", "decode ≥ 20M records/s (gen_big, default mix)", fmt_num(dec),
                         "MET" if dec >= GOALS["decode_records_per_s"] else "NOT MET"))
    rr = R.get("report_real")
    if rr:
        d = rr["decode"]
        lines.append("### 5b. A real recording (`%s`, default stacks)\n" % rr["cmd"])
        lines.append("%s records (%s events), %.1f MB (%.1f B/record), recorded in %.0f s.\n" % (
            fmt_num(rr["records"]), fmt_num(rr["events"]), rr["bytes"] / 1e6,
            rr["bytes"] / max(rr["records"], 1), rr["record_wall"]))
        lines.append("| command | wall | events/s | CPU | events/CPU-s | peak RSS |")
        lines.append("|---|---|---|---|---|---|")
        lines.append("| decode_speed (srec_reader_next) | %.3f s | %s records/s | %.3f s | %s records/CPU-s | – |" % (
            d["secs"], fmt_num(d["records_per_s"]), d["cpu_secs"], fmt_num(d["records_per_cpu_s"])))
        for name, c in rr["cmds"].items():
            lines.append("| sockreport %s | %.2f s | %s | %.2f s | %s | %.0f MB |" % (
                name, med(c["walls"]), fmt_num(c["events_per_s"]), med(c["cpus"]),
                fmt_num(c["events_per_cpu_s"]), max(c["maxrss_kb"]) / 1024))
        lines.append("")
        big = rr["records"] >= 10000000
        verdicts.append(("report", "decode ≥ 20M records/s (real recording, %s records%s)" % (
            fmt_num(rr["records"]), "" if big else ": fewer than the 10M the goal asks"),
            fmt_num(d["records_per_s"]),
            "MET" if big and d["records_per_s"] >= GOALS["decode_records_per_s"] else "NOT MET"))
        bpe = rr["bytes"] / max(rr["events"], 1)
        verdicts.append(("all", "≤ %.0f B/event on average, the benchmark workload (churn + tcp) "
                         "with default stacks, metadata included (the real recording)" % GOALS["bytes_per_event"],
                         "%.1f" % bpe, "MET" if bpe <= GOALS["bytes_per_event"] else "NOT MET"))
        for name, c in rr["cmds"].items():
            verdicts.append(("report", "sockreport %s ≥ %s events/s (real recording)" % (
                name, fmt_num(GOALS["report_events_per_s"])), fmt_num(c["events_per_s"]),
                "MET" if c["events_per_s"] >= GOALS["report_events_per_s"] else "NOT MET"))

    lines.extend(symbolize_lines(R.get("symbolize")))

    pr = R["profile"]
    if pr:
        lines.append("### Profiles\n")
        if pr.get("perf_churn"):
            lines.append("`%s`\n" % pr["perf_cmd"])
            lines.append("Workload (churn, default stacks) — self time by symbol:\n")
            lines.append("```\n" + "\n".join(pr["perf_churn"]) + "\n```\n")
            lines.append("Recorder (sockrec) — self time by symbol:\n")
            lines.append("```\n" + "\n".join(pr.get("perf_sockrec", [])) + "\n```\n")
        for k in ("callgrind", "callgrind_decode"):
            if pr.get(k):
                lines.append("`%s` (total Ir %s):\n" % (pr[k + "_cmd"], pr.get(k + "_total")))
                lines.append("```\n" + "\n".join(pr[k]) + "\n```\n")
    return lines, verdicts


def asan_build(exe):
    """Whether exe is linked with AddressSanitizer's runtime."""
    try:
        out = subprocess.run(["ldd", exe], capture_output=True, text=True, timeout=20).stdout
    except (OSError, subprocess.SubprocessError):
        return False
    return "libasan" in out


def host_meta():
    cpu = "unknown"
    try:
        with open("/proc/cpuinfo") as f:
            for l in f:
                if l.startswith("model name"):
                    cpu = l.split(":", 1)[1].strip()
                    break
    except OSError:
        pass

    def ver(argv):
        try:
            return subprocess.run(argv, capture_output=True, text=True, timeout=20).stdout.strip().splitlines()[0]
        except Exception:
            return "absent"
    return {"date": datetime.datetime.now().astimezone().strftime("%Y-%m-%d %H:%M %Z"),
            "kernel": platform.release(), "cpu": cpu, "ncpu": os.cpu_count(),
            "perf": ver(["perf", "--version"]), "bpftrace": ver(["bpftrace", "--version"]),
            "git": ver(["git", "-C", ROOT, "rev-parse", "--short", "HEAD"])}


def write_results(b, lines, verdicts, path):
    m = b.results["meta"]
    a = b.a
    doc = ["# sockrec benchmark results", "",
           "Written by `make bench` (bench/run.py); every number below is from the run described "
           "here — rerun to refresh.  The machine is a shared 2-core VM: compare the RATIOS, "
           "which are measured side by side (round-robin, ratio per round, median over rounds, "
           "min–max in brackets), not the absolute rates.", "",
           "- date: %s" % m["date"],
           "- kernel: %s; CPU: %s × %s" % (m["kernel"], m["cpu"], m["ncpu"]),
           "- git: %s (plus uncommitted work in the tree, if any)" % m["git"],
           "- peers: %s; %s" % (m["perf"], m["bpftrace"]),
           "- mode: %s, %d round(s) of %s s per workload and configuration" % (
               "quick" if a.quick else "full", a.runs, a.secs),
           "- command: `%s`" % " ".join(["bench/run.py"] + b.results.get("argv", sys.argv[1:])), ""]
    doc.append("## Goals\n")
    doc.append("| scope | goal | measured | verdict |")
    doc.append("|---|---|---|---|")
    for v in verdicts:
        doc.append("| %s | %s | %s | %s |" % v)
    doc.append("")
    doc.append("## Results\n")
    doc.extend(lines)
    doc.append("## Exact commands\n")
    doc.append("BUILD = `%s`; W = the workload command, e.g. for churn1 `%s`.\n" % (
        b.build, " ".join(b.wl_argv("churn1", a.secs))))
    doc.append("```")
    for wl, cmds in b.commands.items():
        for cfg, argv in cmds.items():
            s = " ".join(("'%s'" % x) if (" " in x or '"' in x) else x for x in argv)
            s = s.replace(b.build + "/", "BUILD/").replace(b.work + "/", "")
            doc.append("%-8s %-18s %s" % (wl, cfg, s))
        break
    doc.append("# the same for every workload (churn2: churn -j 2; tcp; mixed), W substituted")
    doc.append("# loss/size: sockreport info --json F.srec; perf report --stats -i perf.data; "
               "grep -c '^A '/'^C ' bpftrace.txt")
    doc.append("# report: gen_big F N; sockreport CMD F >/dev/null for CMD in info, leaks, pairs, "
               "latency, dump --json; decode_speed F 3")
    doc.append("# symbolize: the commands are in section 6")
    doc.append("```")
    doc.append("")
    doc.append("bpftrace runs with BPFTRACE_NO_USER_SYMBOLS=1 (without it 0.17 aborts when it "
               "symbolizes a user stack after the traced process has exited); the script:\n")
    doc.append("```" + BPFTRACE_SCRIPT + "```\n")
    doc.extend(b.results.get("notes_md", []))
    with open(path, "w") as f:
        f.write("\n".join(doc) + "\n")


def main():
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--build", default=os.path.join(ROOT, "build"))
    ap.add_argument("--quick", action="store_true")
    ap.add_argument("--runs", type=int)
    ap.add_argument("--secs", type=float)
    ap.add_argument("--out")
    ap.add_argument("--json")
    ap.add_argument("--workdir")
    ap.add_argument("--only")
    ap.add_argument("--workloads")
    ap.add_argument("--configs", help="only these configurations (comma-separated names)")
    ap.add_argument("--keep", action="store_true", help="keep the recorded files in the workdir")
    ap.add_argument("--base-sockrec", help="another sockrec build: configs base-nostacks and "
                    "base-default run it (an A/B of a change; pick them with --configs)")
    ap.add_argument("--notes", help="a markdown file appended to RESULTS.md (analysis)")
    ap.add_argument("--from-json", help="no runs: rewrite --out from a results.json of an earlier run")
    a = ap.parse_args()
    if a.from_json:
        with open(a.from_json) as f:
            res = json.load(f)
        for k, v in res["args"].items():
            setattr(a, k, v)
        a.workdir = res["args"]["workdir"]
        b = Bench(a)
        b.results = res
        b.commands = res["commands"]
        if a.notes and os.path.exists(a.notes):
            with open(a.notes) as f:
                b.results["notes_md"] = [f.read()]
        lines, verdicts = summarise(b)
        write_results(b, lines, [tuple(v) for v in verdicts], a.out or os.path.join(HERE, "RESULTS.md"))
        print("\n".join(lines))
        return 0
    if a.runs is None:
        a.runs = 1 if a.quick else 5
    if a.secs is None:
        a.secs = 0.3 if a.quick else 2.0
    a.workloads = (a.workloads or "churn1,churn2,tcp,mixed,redis,nginx").split(",")
    sections = (a.only or ("overhead,bystander,report,symbolize" if a.quick
                           else "overhead,bystander,report,symbolize,profile")).split(",")
    sym_only = sections == ["symbolize"]
    if a.out is None and not a.quick:
        a.out = os.path.join(HERE, "RESULTS.md")
    if os.geteuid() != 0 and "overhead" in sections:
        log("run.py: the overhead section needs root (BPF)")
        return 2
    b = Bench(a)
    for exe in (b.sockrec, b.sockreport, b.bdir + "/churn", b.bdir + "/floor", b.bdir + "/gen_big",
                b.bdir + "/symbench", b.bdir + "/bystander"):
        if not os.access(exe, os.X_OK):
            log("run.py: %s missing: run `make bench-bins` first" % exe)
            return 2
    if not os.path.exists("/sys/kernel/tracing/events"):
        subprocess.run(["mount", "-t", "tracefs", "none", "/sys/kernel/tracing"],
                       stderr=subprocess.DEVNULL)
    b.results["meta"] = host_meta()
    log("run.py: workdir %s; peers: perf %s, bpftrace %s" % (
        b.work, "yes" if b.perf else "MISSING", "yes" if b.bpftrace else "MISSING"))
    t0 = time.monotonic()
    if "overhead" in sections:
        log("== overhead, loss, size, recorder cost")
        b.overhead()
    if "bystander" in sections:
        log("== bystander")
        b.bystander()
    if "report" in sections:
        log("== report speed")
        b.report()
        b.report_real()
    if "symbolize" in sections:
        log("== symbolization")
        b.symbolize()
    if "profile" in sections:
        log("== profiles")
        b.profile()
    if a.notes and os.path.exists(a.notes):
        with open(a.notes) as f:
            b.results["notes_md"] = [f.read()]
    if sym_only:
        lines, verdicts = symbolize_lines(b.results["symbolize"]), []
    else:
        lines, verdicts = summarise(b)
    print("\n".join(lines))
    print("Goals:")
    for v in verdicts:
        print("  %-8s %-60s %-22s %s" % v)
    b.results["verdicts"] = verdicts
    b.results["commands"] = b.commands
    b.results["argv"] = sys.argv[1:]
    b.results["args"] = {"quick": a.quick, "runs": a.runs, "secs": a.secs, "build": b.build,
                         "workdir": b.work, "workloads": a.workloads}
    jpath = a.json or os.path.join(b.work, "results.json")
    with open(jpath, "w") as f:
        json.dump(b.results, f, indent=1, default=str)
    if a.out and sym_only and os.path.exists(a.out):
        splice_symbolize(a.out, lines)
        log("run.py: replaced section 6 of %s" % a.out)
    elif a.out:
        write_results(b, lines, verdicts, a.out)
        log("run.py: wrote %s" % a.out)
    log("run.py: raw results %s; %.0f s" % (jpath, time.monotonic() - t0))
    if a.quick and not a.workdir and not a.keep and not a.json:
        shutil.rmtree(b.work, ignore_errors=True)
    return 0


if __name__ == "__main__":
    sys.exit(main())
