"""The recorder, end to end: every event kind, owners, stacks of short-lived
and dlopen()ing processes, filters, pre-existing sockets, signals, loss,
and a cross-check against libbpf-tools' tcpstates and tcplife.  Each test
starts its own workload (tests/fixtures/*.c) and reads the recording back
with sockreport and with the spec-only Python reader."""
import json
import os
import shutil
import signal
import subprocess
import sys
import threading
import time
import uuid

import pytest

from conftest import BUILD, FIXTURES, SOCKREC, fixture_path, run_sockreport, sockreport_json
import srec_reader


def record(tmp_path, cmd, duration=None, extra=(), name="r.srec", timeout=120):
    out = tmp_path / name
    args = [SOCKREC, *extra, "-o", str(out)]
    if duration:
        args += ["-d", str(duration)]
    if cmd:
        args += ["--", *cmd]
    log = tmp_path / (name + ".out")
    with open(log, "w") as lf:
        p = subprocess.run(args, stdout=lf, stderr=subprocess.PIPE, text=True, timeout=timeout)
    assert p.returncode == 0, p.stderr
    return out, log.read_text(), p.stderr


def records(path):
    recs, status = srec_reader.read_file(str(path))
    assert not status["salvaged"], status
    strings = {r["id"]: bytes.fromhex(r["bytes"]).decode() for r in recs if r["record"] == "string"}
    return recs, strings


def pid_of(text, prog):
    for line in text.splitlines():
        if line.startswith(prog + " pid="):
            return int(line.split("=")[1])
    raise AssertionError("no pid line for %s in %r" % (prog, text))


def kill_quietly(pid):
    try:
        os.kill(pid, signal.SIGKILL)
    except ProcessLookupError:
        pass


# ---- each event kind, per protocol ----

@pytest.mark.parametrize("mode,family,stype,proto", [
    ("tcp4", 2, 1, 6), ("tcp6", 10, 1, 6), ("udp4", 2, 2, 17), ("udp6", 10, 2, 17),
    ("unix", 1, 1, 0)])
def test_event_kinds(bpf, tmp_path, mode, family, stype, proto):
    k = 3
    out, text, _ = record(tmp_path, [fixture_path("netfix"), mode, str(k)], duration=20)
    pid = pid_of(text, "netfix")
    recs, strings = records(out)
    mine = [r for r in recs if r.get("pid") == pid]
    allocs = [r for r in mine if r["record"] == "alloc"]
    info = {r["serial"]: r for r in mine if r["record"] == "sockinfo"}
    releases = {r["serial"]: r for r in recs if r["record"] == "release"}
    kinds = [(info[a["serial"]]["family"], info[a["serial"]]["type"], info[a["serial"]]["protocol"])
             for a in allocs]
    if mode.startswith("udp"):
        assert kinds == [(family, stype, proto)] * k
    else:  # listener + k * (client + accepted)
        assert len(allocs) == 1 + 2 * k
        assert set(kinds) == {(family, stype, proto)}
        origins = sorted(a["origin"] for a in allocs)
        assert origins.count(1) == 1 + k  # socket()
        assert origins.count(3) + origins.count(4) == k  # accept()/accept4()
    for a in allocs:  # every socket released, by close(), with an inode
        assert releases[a["serial"]]["how"] == 1, releases[a["serial"]]
        assert info[a["serial"]]["ino"] > 0
        assert strings[a["comm"]] == "netfix"
    conns = [r for r in mine if r["record"] == "connect"]
    assert len(conns) == k and all(c["ret"] == 0 for c in conns)
    if mode != "unix":
        assert all(c["family"] == family for c in conns)
    if mode.startswith("tcp") or mode == "unix":
        accs = [r for r in mine if r["record"] == "accept"]
        assert len(accs) == k and all(a["fd"] >= 0 and a["lserial"] for a in accs)
    if mode.startswith("tcp"):
        states = [r for r in recs if r["record"] == "state" and r["owner"] == pid]
        pairs = {(s["oldstate"], s["newstate"]) for s in states}
        # client: CLOSE->SYN_SENT->ESTABLISHED; server child: SYN_RECV->ESTABLISHED
        assert (7, 2) in pairs and (2, 1) in pairs and (3, 1) in pairs and (7, 10) in pairs
        assert all(len(bytes.fromhex(s["saddr"])) == (4 if family == 2 else 16) for s in states)
        accs = [r for r in mine if r["record"] == "accept"]
        assert all(a["estab_ts"] and a["ts"] >= a["estab_ts"] for a in accs)


def test_tcp_sk_serials_stable_and_unique(bpf, tmp_path):
    """A TCP sock gets its sk serial when its socket is made and keeps it
    through every later record, whether or not it ever changes state (the
    BPF side keeps it with the socket until the first state change); sk
    serials never collide with socket serials or with each other."""
    script = ("import socket\n"
              "for _ in range(4): socket.socket().close()\n"  # never connected
              "l = socket.socket(); l.bind(('127.0.0.1', 0)); l.listen(4)\n"
              "for _ in range(3):\n"
              "    c = socket.create_connection(l.getsockname()); a, _ = l.accept()\n"
              "    c.close(); a.close()\n"
              "l.close()\n")
    # sys.executable, not "python3": a PATH python3 may be a pyenv shim, a
    # shell script whose helpers make AF_UNIX connects (nscd) of their own.
    out, _, _ = record(tmp_path, [sys.executable, "-c", script], duration=20)
    recs, _ = records(out)
    info = {r["serial"]: r for r in recs if r["record"] == "sockinfo" and r["protocol"] == 6}
    assert len(info) == 4 + 1 + 3 + 3, info  # unconnected, listener, clients, accepted
    assert all(i["sk"] for i in info.values())
    sks = [i["sk"] for i in info.values()]
    assert len(set(sks)) == len(sks)
    sock_serials = {r["serial"] for r in recs if r["record"] == "alloc"}
    assert not set(sks) & sock_serials
    for kind in ("state", "connect", "accept"):
        for r in recs:
            if r["record"] == kind and r["serial"] in info:
                assert r["sk"] == info[r["serial"]]["sk"], (kind, r, info[r["serial"]])
    # every client went CLOSE -> SYN_SENT -> ESTABLISHED under its sk serial
    conns = [r for r in recs if r["record"] == "connect" and r["family"] == 2]
    assert len(conns) == 3, conns
    assert all(r["serial"] in info for r in conns)
    for c in conns:
        moves = {(s["oldstate"], s["newstate"]) for s in recs
                 if s["record"] == "state" and s["sk"] == c["sk"]}
        assert (7, 2) in moves and (2, 1) in moves, moves


def test_unix_connect_has_no_port(bpf, tmp_path):
    """A connect() to an AF_UNIX path records family 1 and no port or
    address: the bytes where an IP port would be are the path's start."""
    path = str(tmp_path / "vsock")
    script = ("import socket, sys\n"
              "l = socket.socket(socket.AF_UNIX); l.bind(sys.argv[1]); l.listen(1)\n"
              "c = socket.socket(socket.AF_UNIX); c.connect(sys.argv[1]); c.close(); l.close()\n")
    out, _, _ = record(tmp_path, [sys.executable, "-c", script, path], duration=20)
    recs, _ = records(out)
    conns = [r for r in recs if r["record"] == "connect" and r["family"] == 1]
    assert conns, [r for r in recs if r["record"] == "connect"]
    assert all(r["dport"] == 0 and r["daddr"] == "" and r["ret"] == 0 for r in conns), conns


def test_dup2_release_cause(bpf, tmp_path):
    out, text, _ = record(tmp_path, [fixture_path("netfix"), "dup2"], duration=20)
    pid = pid_of(text, "netfix")
    recs, _ = records(out)
    rel = [r for r in recs if r["record"] == "release" and r["pid"] == pid]
    assert [r["how"] for r in rel] == [2]


# ---- CLOSE_WAIT: the owner the seed's bpftrace script could not name ----

def test_close_wait_owner_and_accept_stack(bpf, tmp_path):
    out, text, _ = record(tmp_path, [fixture_path("netfix"), "closewait", "10"], duration=2)
    pid = pid_of(text, "netfix")
    fd = int(text.split("closewait fd=")[1].split()[0])
    try:
        d = sockreport_json("leaks", "--older", "0", str(out))
    finally:
        kill_quietly(pid)
    cw = d["close_wait"]
    assert len(cw) == 1 and cw[0]["count"] == 1, cw
    g = cw[0]
    assert [p["pid"] for p in g["processes"]] == [pid]
    assert g["example"]["fd"] == fd
    assert g["origin"] in ("accept", "accept4")
    assert any("accept_here" in f for f in g["user_stack"]), g["user_stack"]
    recs, _ = records(out)
    to_cw = [r for r in recs if r["record"] == "state" and r["newstate"] == 8]
    assert len(to_cw) == 1 and to_cw[0]["owner"] == pid


# ---- stacks of short-lived and dlopen()ing processes, symbolized offline ----

def test_short_lived_children_symbolized(bpf, tmp_path):
    """libuser lives a few ms: allocates 2 sockets in libsockfix.so, exits."""
    out, text, _ = record(tmp_path, [fixture_path("spawner"), fixture_path("libuser"), "3"],
                          duration=20)
    d = sockreport_json("leaks", str(out))
    groups = d["exit_released"]
    assert sum(g["count"] for g in groups) == 6
    for g in groups:
        assert all(p["comm"] == "libuser" for p in g["processes"])
        stack = " ".join(g["user_stack"])
        assert "lib_make_socket" in stack and "(libsockfix.so)" in stack, stack
        assert "main+" in stack and "(libuser)" in stack, stack


def test_dlopen_after_first_event(bpf, tmp_path):
    lib = os.path.join(FIXTURES, "libsockfix.so")
    out, text, _ = record(tmp_path, [fixture_path("dlopener"), lib, "10"], duration=2.5)
    pid = pid_of(text, "dlopener")
    try:
        d = sockreport_json("leaks", "--older", "0", str(out))
    finally:
        kill_quietly(pid)
    stacks = [" ".join(g["user_stack"]) for g in d["outstanding"]]
    assert len(stacks) == 2
    assert any("lib_make_socket" in s and "(libsockfix.so)" in s for s in stacks), stacks


# ---- filters, applied in BPF ----

def _spawn_late(prog_args, delay=1.0, **kw):
    """Start prog after `delay` seconds, keeping the pid we can filter on."""
    return subprocess.Popen(["sh", "-c", "sleep %s; exec \"$@\"" % delay, "sh", *prog_args],
                            stdout=subprocess.DEVNULL, **kw)


def _alloc_pids(path):
    recs, _ = records(path)
    return {r["pid"] for r in recs if r["record"] in ("alloc", "preexist")}


def test_filter_pid(bpf, tmp_path):
    target = _spawn_late([fixture_path("leaker"), "2", "1", "3"])
    decoy = _spawn_late([fixture_path("leaker"), "2", "1", "3"])
    try:
        out, _, _ = record(tmp_path, None, duration=2.5, extra=["-p", str(target.pid)])
    finally:
        for p in (target, decoy):
            p.kill()
            p.wait()
    assert _alloc_pids(out) == {target.pid}


def test_filter_comm(bpf, tmp_path):
    decoy_bin = tmp_path / "decoyleaker"
    shutil.copy(fixture_path("leaker"), decoy_bin)
    target = _spawn_late([fixture_path("leaker"), "2", "1", "3"])
    decoy = _spawn_late([str(decoy_bin), "2", "1", "3"])
    try:
        out, _, _ = record(tmp_path, None, duration=2.5, extra=["-c", "leaker"])
    finally:
        for p in (target, decoy):
            p.kill()
            p.wait()
    pids = _alloc_pids(out)
    assert target.pid in pids and decoy.pid not in pids


def test_filter_cgroup(bpf, tmp_path):
    root = "/sys/fs/cgroup/unified" if os.path.ismount("/sys/fs/cgroup/unified") else "/sys/fs/cgroup"
    cg = os.path.join(root, "sockrec-test-" + uuid.uuid4().hex[:8])
    os.mkdir(cg)
    target = _spawn_late([fixture_path("leaker"), "2", "1", "3"])
    decoy = _spawn_late([fixture_path("leaker"), "2", "1", "3"])
    try:
        with open(os.path.join(cg, "cgroup.procs"), "w") as f:
            f.write(str(target.pid))
        out, _, _ = record(tmp_path, None, duration=2.5, extra=["--cgroup", cg])
    finally:
        for p in (target, decoy):
            p.kill()
            p.wait()
        os.rmdir(cg)
    assert _alloc_pids(out) == {target.pid}


def test_filter_netns(bpf, tmp_path):
    ns = "srtest" + uuid.uuid4().hex[:6]
    subprocess.run(["ip", "netns", "add", ns], check=True)
    try:
        inode = os.stat("/run/netns/" + ns).st_ino
        target = _spawn_late(["ip", "netns", "exec", ns, fixture_path("leaker"), "2", "1", "3"])
        decoy = _spawn_late([fixture_path("leaker"), "2", "1", "3"])
        try:
            out, _, _ = record(tmp_path, None, duration=2.5, extra=["--netns", str(inode)])
        finally:
            for p in (target, decoy):
                p.kill()
                p.wait()
        assert _alloc_pids(out) == {target.pid}
    finally:
        subprocess.run(["ip", "netns", "del", ns], check=False)


def test_filter_command_and_descendants(bpf, tmp_path):
    decoy = _spawn_late([fixture_path("leaker"), "2", "1", "3"], delay=0.2)
    try:
        out, text, _ = record(tmp_path, [fixture_path("spawner"), fixture_path("libuser"), "2"],
                              duration=20)
    finally:
        decoy.kill()
        decoy.wait()
    recs, strings = records(out)
    comms = {strings[r["comm"]] for r in recs if r["record"] == "alloc"}
    assert comms == {"libuser"}


# ---- sockets that existed before the recording ----

def test_preexisting_sockets_pair_with_their_release(bpf, tmp_path):
    holder = subprocess.Popen([fixture_path("leaker"), "3", "0", "2"], stdout=subprocess.DEVNULL)
    try:
        time.sleep(0.5)
        out, _, _ = record(tmp_path, None, duration=3.5, extra=["-p", str(holder.pid)])
    finally:
        holder.kill()
        holder.wait()
    recs, _ = records(out)
    pre = {r["serial"]: r for r in recs if r["record"] == "preexist"}
    assert len(pre) == 12
    kinds = sorted((r["family"], r["type"]) for r in pre.values())
    assert kinds == sorted([(2, 1)] * 3 + [(2, 2)] * 3 + [(1, 1)] * 6)
    rel = [r for r in recs if r["record"] == "release" and r["serial"] in pre]
    assert len(rel) == 12 and all(r["how"] == 3 for r in rel)  # released by the exit
    assert not [r for r in recs if r["record"] == "alloc"]


# ---- backends and stack options ----

ORDER = ("fentry", "kprobe", "tracepoint")


def test_auto_backend_says_why_and_forced_ones_fail_cleanly(bpf, tmp_path):
    """-v names every candidate tried before the one used, with the reason it
    was rejected; the file records the one used; forcing a rejected one fails
    with a one-line reason, a non-zero exit and no file left behind."""
    out, _, err = record(tmp_path, None, duration=0.5, extra=["-v"])
    used = [l.split()[-1] for l in err.splitlines() if l.startswith("backend: using ")]
    assert len(used) == 1 and used[0] in ORDER, err
    assert sockreport_json("info", str(out))["meta"]["backend"] == used[0]
    rejected = ORDER[:ORDER.index(used[0])]
    for b in rejected:
        assert any(l.startswith("backend: %s rejected: " % b) for l in err.splitlines()), err
    for b in rejected:
        bad = tmp_path / ("forced-%s.srec" % b)
        p = subprocess.run([SOCKREC, "--backend", b, "-d", "0.5", "-o", str(bad)],
                           capture_output=True, text=True, timeout=60)
        assert p.returncode != 0
        last = p.stderr.strip().splitlines()[-1]
        assert last.startswith("sockrec: backend %s cannot be used on this kernel: " % b), p.stderr
        assert not bad.exists()
    if not rejected:
        pytest.skip("every backend works on this kernel: nothing to refuse")


def test_verbose_prints_program_run_times(bpf, tmp_path):
    """-v ends with each program's runs and time per run while the kernel
    counts them (kernel.bpf_stats_enabled=1), and says how to get them when
    it does not."""
    knob = "/proc/sys/kernel/bpf_stats_enabled"
    with open(knob) as f:
        before = f.read().strip()
    try:
        for on in ("1", "0"):
            with open(knob, "w") as f:
                f.write(on)
            out, _, err = record(tmp_path, [fixture_path("leaker"), "5", "2", "0"], duration=20,
                                 extra=["-v"], name="stats%s.srec" % on)
            allocs = sum(1 for r in records(out)[0] if r["record"] == "alloc")
            assert allocs == 20
            runs = {}
            for l in err.splitlines():
                if l.startswith("sockrec: program "):
                    name, rest = l[len("sockrec: program "):].split(": ", 1)
                    n, _, ns, *_ = rest.split()
                    assert rest == "%s runs, %s ns per run" % (n, ns), l
                    runs[name] = (int(n), int(ns))
            if on == "1":
                # Every socket passed the alloc hook of the backend in use
                # (the slab hook sees other objects too), and socket() exits.
                alloc = [v for k, v in runs.items() if k in ("fexit_sock_alloc", "kretprobe_sock_alloc",
                                                             "tp_kmem_cache_alloc")]
                assert len(alloc) == 1 and alloc[0][0] >= allocs, err
                assert runs["tp_exit_socket"][0] >= 10 and all(ns > 0 for _, ns in runs.values())
            else:
                assert not runs
                assert "sockrec: no program run times (they are counted while sysctl " \
                       "kernel.bpf_stats_enabled=1)" in err.splitlines()
    finally:
        with open(knob, "w") as f:
            f.write(before)


@pytest.mark.parametrize("opt,kernel,user", [
    ("--user-stacks-only", False, True), ("--kernel-stacks-only", True, False),
    ("--no-stacks", False, False), (None, True, True)])
def test_stack_options(bpf, tmp_path, opt, kernel, user):
    """Which stacks an ALLOC carries follows the option (default: both)."""
    out, _, _ = record(tmp_path, [fixture_path("netfix"), "tcp4", "1"], duration=20,
                       extra=[opt] if opt else [])
    recs, _ = records(out)
    allocs = [r for r in recs if r["record"] == "alloc"]
    assert allocs
    assert all(bool(r["kstack"]) == kernel for r in allocs), allocs
    assert all(bool(r["ustack"]) == user for r in allocs), allocs
    assert any(r["record"] == "stack" for r in recs) == (kernel or user)


# ---- signals, loss ----

def test_sigint_midway_leaves_complete_file(bpf, tmp_path):
    out = tmp_path / "int.srec"
    # stderr to a file: through a pipe, reading it to EOF would wait for the
    # leaker, which inherits it and sleeps 20 s
    with open(tmp_path / "int.err", "w") as ef:
        p = subprocess.Popen([SOCKREC, "-d", "30", "-o", str(out), "--",
                              fixture_path("leaker"), "3", "1", "20"],
                             stdout=subprocess.DEVNULL, stderr=ef)
        time.sleep(1.5)
        p.send_signal(signal.SIGINT)
        p.wait(timeout=30)
    assert p.returncode == 0, (tmp_path / "int.err").read_text()
    info = sockreport_json("info", str(out))
    assert info["complete"] is True
    assert info["meta"]["recording.stop_reason"] == "signal"
    assert info["records"]["alloc"] == 12
    leaker = int(info["meta"]["filter.command_pid"])
    kill_quietly(leaker)


def test_second_sigint_exits_at_once_file_readable(bpf, tmp_path):
    """A second SIGINT during the orderly stop (detaching the programs takes
    ~0.7 s here) exits at once, with 128+SIGINT; the file holds every block
    flushed before, reads without error and says it is incomplete."""
    out = tmp_path / "int2.srec"
    with open(tmp_path / "int2.err", "w") as ef:  # not a pipe: the fixture inherits it
        p = subprocess.Popen([SOCKREC, "-d", "30", "-o", str(out), "--",
                              fixture_path("leaker"), "3", "1", "20"],
                             stdout=subprocess.DEVNULL, stderr=ef)
        try:
            time.sleep(2.5)  # past the first 1 s flush: the leaker's sockets are on disk
            p.send_signal(signal.SIGINT)
            time.sleep(0.05)
            p.send_signal(signal.SIGINT)
            assert p.wait(timeout=30) == 128 + signal.SIGINT
        finally:
            for pid in subprocess.run(["pgrep", "-f", fixture_path("leaker")],
                                      capture_output=True, text=True).stdout.split():
                kill_quietly(int(pid))
    info = sockreport_json("info", str(out))
    assert info["complete"] is False and info["salvaged"] is False, info
    assert info["records"]["alloc"] == 12
    r = run_sockreport("leaks", str(out))
    assert "incomplete" in r.stderr


def test_tiny_ring_buffer_counts_losses(bpf, tmp_path):
    out, _, err = record(tmp_path, [fixture_path("netfix"), "churn", "30000"],
                         extra=["--ringbuf-size", "8K", "--no-stacks"], duration=60)
    assert "lost" in err
    info = sockreport_json("info", str(out))
    assert info["lost_events"] > 0
    kinds = {l["kind"] for l in info["losses"]}
    assert 1 in kinds  # ring buffer full
    recorded = info["records"].get("alloc", 0) + info["records"].get("release", 0)
    # nothing silently missing: what is not recorded is counted
    assert recorded + info["lost_events"] >= 2 * 30000
    p = run_sockreport("leaks", str(out))
    assert "events were lost" in p.stderr
    d = sockreport_json("leaks", str(out))
    assert d["lost_events"] == info["lost_events"]


def _bpf_progs():
    out = subprocess.run(["bpftool", "prog", "show", "-j"], capture_output=True, text=True,
                         check=True).stdout
    return {p["id"]: p for p in json.loads(out)}


def test_skipped_hook_runs_are_counted(bpf, tmp_path):
    """The kernel skips a tracing program's run when it fires in an interrupt
    while the same program runs on that CPU (slab objects freed in softirq
    during a kmem_cache_free run).  Whatever the kernel counted must be in the
    file as LOSS kind 6 and per hook in the metadata; the recorder's and the
    reports' note names those that could have been socket events (every hook
    but the slab ones, tests/test_hook_skips.py), `info` all of them."""
    out = tmp_path / "skips.srec"
    before = set(_bpf_progs())
    rec = subprocess.Popen([SOCKREC, "-d", "60", "-o", str(out)], stdout=subprocess.DEVNULL,
                           stderr=subprocess.PIPE, text=True)
    churn, tcp = os.path.join(BUILD, "bench", "churn"), os.path.join(BUILD, "bench", "tcp")
    seen = 0
    try:
        time.sleep(1.5)  # attached
        mine = set(_bpf_progs()) - before  # (bpftool here lists no owning pids)
        assert mine
        deadline = time.monotonic() + 20
        while not seen and time.monotonic() < deadline:
            ws = [subprocess.Popen([churn, "-t", "1", "-j", "2"], stdout=subprocess.DEVNULL),
                  subprocess.Popen([tcp, "-t", "1"], stdout=subprocess.DEVNULL)]
            for w in ws:
                assert w.wait(timeout=30) == 0
            seen = sum(p.get("recursion_misses", 0) for i, p in _bpf_progs().items()
                       if i in mine)
    finally:
        rec.send_signal(signal.SIGINT)
        _, err = rec.communicate(timeout=60)
    assert rec.returncode == 0, err
    if not seen:
        pytest.skip("the kernel skipped no hook run in 20 s of socket churn and TCP")
    recs, _ = records(out)
    in_file = sum(r["count"] for r in recs if r["record"] == "loss" and r["kind"] == 6)
    assert in_file >= seen  # the kernel's counts only grow
    info = sockreport_json("info", str(out))
    assert info["hook_skips"] == in_file
    assert info["meta"]["stats.hook_skips"] == str(in_file)
    per_hook = {k[len("stats.hook_skips."):]: int(v) for k, v in info["meta"].items()
                if k.startswith("stats.hook_skips.")}
    assert sum(per_hook.values()) == in_file, per_hook
    matter = sum(v for k, v in per_hook.items()
                 if k not in ("kmem_cache_alloc", "kmem_cache_free"))
    # A note, not a loss of events: skipped runs never count as lost events.
    # Only ring-buffer and socket-map losses do; under load (an ASan recorder
    # next to churn -j 2) the ring buffer may really overflow, so the test
    # holds the report to the file's own count of those, not to zero.
    dropped = sum(r["count"] for r in recs if r["record"] == "loss" and r["kind"] in (1, 2))
    assert info["lost_events"] == dropped, (info["lost_events"], dropped, in_file)
    p = run_sockreport("summary", str(out))
    if matter:
        assert "the kernel skipped %d runs of hooks that see socket events" % matter in err
        assert "skipped %d runs of the recorder's socket hooks" % matter in p.stderr
    else:
        assert "the kernel skipped" not in err + p.stderr, (err, p.stderr)
    # the hook skips alone raise no WARNING; a real overflow must
    assert ("WARNING: %d events were lost" % dropped in p.stderr) == bool(dropped), p.stderr
    assert p.stderr.count("WARNING") == bool(dropped), p.stderr


# ---- privacy ----

def test_no_kernel_addresses_in_file(bpf, tmp_path):
    out, text, _ = record(tmp_path, [fixture_path("netfix"), "tcp4", "2"], duration=20,
                          extra=["--release-stacks"])
    with open("/proc/kallsyms") as f:
        text_base = next(int(l.split()[0], 16) for l in f if l.split()[2] == "_text")
    recs, _ = records(out)
    kstacks = [r for r in recs if r["record"] == "stack" and r["kind"] == 1]
    assert kstacks
    for r in recs:
        for k, v in r.items():
            vals = v if isinstance(v, list) else [v]
            for x in vals:
                if isinstance(x, int):
                    assert not (x >= 0xffff800000000000 or x == text_base), (k, r)
    # kernel frames are small offsets from the text base
    assert all(abs(f) < (1 << 32) for r in kstacks for f in r["frames"])


# ---- cross-check with an independent tool ----

def _tcpstates_transitions(lines, pairs):
    """tcpstates' transitions of the sockets whose (local port, remote port)
    is in pairs (the whole pair: other tests or benchmarks running at the
    same time cycle through the ephemeral ports too)."""
    names = {"ESTABLISHED": 1, "SYN_SENT": 2, "SYN_RECV": 3, "FIN_WAIT1": 4, "FIN_WAIT2": 5,
             "TIME_WAIT": 6, "CLOSE": 7, "CLOSE_WAIT": 8, "LAST_ACK": 9, "LISTEN": 10,
             "CLOSING": 11, "NEW_SYN_RECV": 12}
    theirs = set()
    for line in lines:
        f = line.split()
        if len(f) < 10 or "->" not in f:
            continue
        i = f.index("->")
        if not (f[i - 4].isdigit() and f[i - 2].isdigit()):
            continue  # the header line
        lport, rport = int(f[i - 4]), int(f[i - 2])
        if (lport, rport) in pairs:
            theirs.add((lport, rport, names[f[i - 1]], names[f[i + 1]]))
    return theirs


def _record_beside(tool, tmp_path, count):
    """Record `netfix tcp4 3` while libbpf-tools' `tool` (tcpstates or
    tcplife, -4) runs beside sockrec.  The tool prints from a perf buffer it
    polls: its lines are read as they come, and the test waits (bounded)
    until the ones about the workload's port pairs stop growing, instead of
    guessing a delay.  Returns (records, sockrec's stdout, port pairs, the
    tool's lines, the tool's stderr)."""
    path = "/usr/sbin/" + tool
    if not os.path.exists(path):
        pytest.fail("libbpf-tools' %s is missing (make deps installs libbpf-tools)" % tool)
    t = subprocess.Popen(["stdbuf", "-oL", path, "-4"],
                         stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    header = t.stdout.readline()  # printed once it has attached
    assert "LPORT" in header, header + t.stderr.read()
    lines = []
    reader = threading.Thread(target=lambda: lines.extend(t.stdout), daemon=True)
    reader.start()
    try:
        out, text, _ = record(tmp_path, [fixture_path("netfix"), "tcp4", "3"], duration=20)
        recs, _ = records(out)
        pairs = _port_pairs(recs)
        assert pairs, "sockrec recorded no TCP state change of netfix"
        seen, deadline = -1, time.monotonic() + 15
        while time.monotonic() < deadline:
            time.sleep(0.5)
            n = count(list(lines), pairs)
            if n and n == seen:
                break
            seen = n
    finally:
        t.send_signal(signal.SIGINT)
        try:
            t.wait(timeout=30)
        finally:
            reader.join(timeout=10)
    return recs, text, pairs, list(lines), t.stderr.read()


def _port_pairs(recs):
    return {(r["sport"], r["dport"]) for r in recs
            if r["record"] == "state" and r["sport"] and r["dport"]}


def test_tcpstates_transitions_are_all_recorded(bpf, tmp_path):
    recs, text, pairs, lines, tserr = _record_beside(
        "tcpstates", tmp_path,
        lambda lines, pairs: len(_tcpstates_transitions(lines, pairs)))
    ours = {(r["sport"], r["dport"], r["oldstate"], r["newstate"])
            for r in recs if r["record"] == "state"}
    pid = pid_of(text, "netfix")
    theirs = _tcpstates_transitions(lines, pairs)
    assert theirs, "tcpstates saw none of the connections %s: %s" % (sorted(pairs), tserr)
    missing = theirs - ours
    assert not missing, missing
    assert any(r["record"] == "state" and r["owner"] == pid for r in recs)


def _tcplife_sessions(lines, pairs):
    """tcplife's sessions (pid, local port, remote port, ms) whose port pair
    is in pairs."""
    out = {}
    for line in lines:
        f = line.split()
        if len(f) != 9 or not f[0].isdigit() or not f[3].isdigit() or not f[5].isdigit():
            continue  # the header line
        key = (int(f[3]), int(f[5]))
        if key in pairs:
            out[key] = (int(f[0]), float(f[8]))
    return out


def test_tcplife_sessions_are_all_recorded(bpf, tmp_path):
    """Every TCP session libbpf-tools' tcplife reports for the workload is in
    the recording: its port pair, its owner (tcplife's PID) and its end in
    CLOSE, with the same lifetime."""
    recs, text, pairs, lines, tlerr = _record_beside(
        "tcplife", tmp_path,
        lambda lines, pairs: len(_tcplife_sessions(lines, pairs)))
    states = [r for r in recs if r["record"] == "state" and r["sport"] and r["dport"]]
    pid = pid_of(text, "netfix")
    theirs = _tcplife_sessions(lines, pairs)
    # netfix tcp4 3: three connections, a client and a server end each
    assert len(theirs) == 6, (theirs, tlerr)
    for (lport, rport), (tpid, ms) in theirs.items():
        mine = [r for r in states if (r["sport"], r["dport"]) == (lport, rport)]
        assert mine[-1]["newstate"] == 7, (lport, rport, mine)  # ended in CLOSE
        assert all(r["owner"] == pid for r in mine), (lport, rport, mine)
        assert tpid == pid
        # tcplife's start: the last change into a state before FIN_WAIT1
        # (ESTABLISHED, SYN_SENT, SYN_RECV), so the handshake is not counted
        born = max(r["ts"] for r in mine if r["newstate"] in (1, 2, 3))
        span_ms = (mine[-1]["ts"] - born) / 1e6
        assert abs(span_ms - ms) <= 1 + ms / 2, (lport, rport, span_ms, ms)


# ---- a non-blocking connect whose completion comes ~1 s later ----

def test_nonblocking_connect_completion_is_joinable(bpf, tmp_path):
    """Drop the first SYN with nftables in a private netns, lift the rule:
    the retransmitted SYN (after ~1 s) completes the connect.  The CONNECT
    record (EINPROGRESS, non-blocking) joins the STATE record of the same
    sk leaving SYN_SENT, which gives the real connection latency."""
    ns = "srnb" + uuid.uuid4().hex[:6]
    port = "5555"
    sh = lambda *a: subprocess.run(["ip", "netns", "exec", ns, *a], check=True,
                                   capture_output=True, text=True)
    subprocess.run(["ip", "netns", "add", ns], check=True)
    server = None
    try:
        subprocess.run(["ip", "-n", ns, "link", "set", "lo", "up"], check=True)
        server = subprocess.Popen(["ip", "netns", "exec", ns, fixture_path("netfix"),
                                   "listen", port, "30"], stdout=subprocess.DEVNULL)
        sh("nft", "add table inet srtest")
        sh("nft", "add chain inet srtest in { type filter hook input priority 0 ; }")
        sh("nft", "add rule inet srtest in tcp dport %s tcp flags & (syn|ack) == syn counter drop"
           % port)
        # the server listens (not a fixed sleep: a loaded CI host is slow)
        for _ in range(100):
            if (":%s " % port) in sh("ss", "-Hltn").stdout:
                break
            time.sleep(0.05)
        out = tmp_path / "nb.srec"
        rec = subprocess.Popen([SOCKREC, "-d", "20", "-o", str(out), "--", "ip", "netns", "exec",
                                ns, fixture_path("netfix"), "nbconnect", "127.0.0.1", port],
                               stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
        first = rec.stdout.readline()  # the fixture runs (sockrec has attached)
        assert first.startswith("netfix pid="), first
        # its first SYN has been dropped (the rule's counter says so)
        for _ in range(200):
            if "packets 0 " not in sh("nft", "list table inet srtest").stdout:
                break
            time.sleep(0.02)
        sh("nft", "delete table inet srtest")
        so, se = rec.communicate(timeout=60)
        so = first + so
        assert rec.returncode == 0, se
        assert "connected ms=" in so, so
        ms = float(so.split("connected ms=")[1].split()[0])
        assert 800 <= ms <= 4000, so
    finally:
        if server:
            server.kill()
            server.wait()
        subprocess.run(["ip", "netns", "del", ns], check=False)
    recs, _ = records(out)
    conns = [r for r in recs if r["record"] == "connect"]
    assert len(conns) == 1
    c = conns[0]
    assert c["flags"] & 1 and c["ret"] == -115  # non-blocking, EINPROGRESS
    assert c["dport"] == int(port)
    done = [r for r in recs if r["record"] == "state" and r["sk"] == c["sk"]
            and r["oldstate"] == 2]
    assert len(done) == 1 and done[0]["newstate"] == 1
    latency_ms = (done[0]["ts"] - c["ts"]) / 1e6
    assert abs(latency_ms - ms) < 100, (latency_ms, ms)


# ---- stack maps under pressure, process churn ----

def test_many_distinct_stacks_are_drained_in_time(bpf, tmp_path):
    """12000 sockets from 12000 distinct user stacks in ~6 s: more than a
    stack map holds.  The maps are drained and switched in time (never
    full), and the few hash-bucket collisions are recorded as such and
    counted, never replaced by a wrong stack."""
    out, _, err = record(tmp_path, [fixture_path("stackgen"), "12000", "2000"], duration=60)
    recs, _ = records(out)
    allocs = [r for r in recs if r["record"] == "alloc"]
    assert len(allocs) == 12000, (len(allocs), err)
    failed = [r["ustack"] for r in allocs if r["ustack"] < 16]
    why = {f: failed.count(f) for f in set(failed)}  # failure code -> count, for the messages
    assert 3 not in failed, (why, err)  # SREC_STACK_MAPFULL: the map never filled
    assert len(failed) <= 0.05 * len(allocs), (why, err)
    counted = sum(r["count"] for r in recs if r["record"] == "loss" and r["kind"] == 3)
    assert counted == sum(1 for f in failed if f in (1, 2, 3, 5)), (counted, why, err)
    stacks = {r["id"]: r for r in recs if r["record"] == "stack"}
    good = [stacks[r["ustack"]] for r in allocs if r["ustack"] >= 16]
    assert len({tuple(s["frames"]) for s in good}) >= 0.9 * len(good)  # distinct stacks kept
    if failed:  # reports say so instead of showing a stack
        text = run_sockreport("allocs", "--wide", str(out)).stdout
        assert "[stack lost: stack map collision]" in text, text[-2000:]


# A process that was running before the recording, makes one socket and
# exits at once: by the time the recorder reads the event, /proc/PID/maps
# is gone.  Only the start-up snapshot of running processes' maps (what
# `perf record` synthesizes) can place its user frames.
LATE_PY = r"""
import os, socket, sys
os.read(os.open(sys.argv[1], os.O_RDONLY), 1)  # blocks until the test writes
s = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)  # released by the exit
os._exit(0)
"""


@pytest.mark.parametrize("scope", ["whole-host", "-p"])
def test_running_process_that_exits_at_once_keeps_its_stack(bpf, tmp_path, scope):
    fifo = tmp_path / "go"
    os.mkfifo(fifo)
    py = subprocess.Popen(["/usr/bin/python3", "-c", LATE_PY, str(fifo)])
    out = tmp_path / "late.srec"
    try:
        time.sleep(0.3)  # python is up and mapped
        extra = ["-p", str(py.pid)] if scope == "-p" else []
        rec = subprocess.Popen([SOCKREC, "-v", "-d", "4", "-o", str(out), *extra],
                               stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, text=True)
        lines = []
        for line in rec.stderr:  # -v: printed once attached and snapshotted
            lines.append(line)
            if "sockrec: recording with backend" in line:
                break
        with open(fifo, "w") as f:
            f.write("x")
        assert py.wait(timeout=10) == 0
        _, err = rec.communicate(timeout=30)
        err = "".join(lines) + err
    finally:
        kill_quietly(py.pid)
    assert rec.returncode == 0, err
    assert "maps of" in err and "running processes read in" in err, err
    info = sockreport_json("info", str(out))
    assert info["map_losses"] == 0, info
    d = sockreport_json("leaks", "-p", str(py.pid), str(out))
    groups = d["exit_released"]
    assert sum(g["count"] for g in groups) == 1, d
    frames = groups[0]["user_stack"]
    assert any("socket" in f and "(libc.so.6)" in f for f in frames), frames
    assert any("(python3" in f for f in frames), frames
    assert not any("no mapping" in f for f in frames), frames
    # its PROCESS record too comes from the snapshot: /proc/PID was gone
    recs, strings = records(out)
    procs = [r for r in recs if r["record"] == "process" and r["pid"] == py.pid]
    assert len(procs) == 1, procs
    assert strings.get(procs[0]["comm"]) == "python3", procs
    assert strings.get(procs[0]["exe"]) == os.path.realpath("/usr/bin/python3"), procs
    assert procs[0]["ppid"] == os.getpid() and procs[0]["start_ns"] > 0, procs


def test_process_churn_every_event_attributed(bpf, tmp_path):
    """600 processes start, allocate two sockets in a shared library and
    exit within milliseconds: every event keeps its pid, comm and stack."""
    n = 600
    out, _, _ = record(tmp_path, [fixture_path("spawner"), fixture_path("libuser"), str(n)],
                       duration=120)
    recs, strings = records(out)
    allocs = [r for r in recs if r["record"] == "alloc"]
    assert len(allocs) == 2 * n
    assert all(strings[r["comm"]] == "libuser" for r in allocs)
    assert len({r["pid"] for r in allocs}) == n
    rel = {r["serial"]: r for r in recs if r["record"] == "release"}
    assert all(rel[a["serial"]]["how"] == 3 and rel[a["serial"]]["pid"] == a["pid"]
               for a in allocs)
    d = sockreport_json("leaks", str(out))
    groups = d["exit_released"]
    assert sum(g["count"] for g in groups) == 2 * n
    # Every stack is named, unless the file says why not: a failed capture
    # (LOSS kind 3, e.g. -EBUSY under preemption), a skipped run of a socket
    # hook (LOSS kind 6: a skipped socket() exit leaves the held-back
    # allocation without its user stack), or maps that could not be read or
    # whose side-band records the kernel dropped (LOSS kind 4, with a note in
    # every report).  An ASan run in the full suite once named 1136 of 1200;
    # this says which of those it was, or that it was none of them.
    named = sum(g["count"] for g in groups if "lib_make_socket" in " ".join(g["user_stack"]))
    info = sockreport_json("info", str(out))
    skips = sum(int(v) for k, v in info["meta"].items() if k.startswith("stats.hook_skips.")
                and k[len("stats.hook_skips."):] not in ("kmem_cache_alloc", "kmem_cache_free"))
    why = dict(stack_failures=info["stack_failures"], socket_hook_skips=skips,
               map_losses=info["map_losses"], lost_events=info["lost_events"])
    unnamed = 2 * n - named
    assert unnamed <= info["stack_failures"] + skips or info["map_losses"], (named, why, [
        g["user_stack"] for g in groups if "lib_make_socket" not in " ".join(g["user_stack"])])
    if info["map_losses"]:
        assert "could not be read" in run_sockreport("leaks", str(out)).stderr
    for g in groups:
        if "lib_make_socket" not in " ".join(g["user_stack"]):
            assert all(f.startswith("[") or "(libuser)" in f for f in g["user_stack"]), g
