"""Conformance on real software (`make conformance`): nginx with ab,
redis-server with redis-benchmark, curl and wget against python3 -m
http.server, and a Python server that leaks CLOSE_WAIT, recorded whole-host,
with -p, with --netns and with -- CMD, and checked against independent
witnesses taken at the same time: libbpf-tools' tcplife and tcpstates,
`ss -tanp` and /proc/PID/fd.

Each test also pins one of the wrong answers of issue 16 (named in its
docstring); each failed on the code before that fix."""
import collections
import os
import socket
import subprocess
import sys
import textwrap
import time

import pytest

from conftest import SOCKREC
import realsrv as R

N_AB = 2000


def sessions_on(pairs, port):
    """Server-side TCP sessions of `port`: accepted sockets whose local port
    is it (other suites' traffic runs on other ports)."""
    return [s for s in pairs["sockets"]
            if R.port_of(s.get("local")) == port and s.get("accept")]


def assert_lifetimes_agree(ours, theirs, what):
    """Both tools stamp the same tracepoint, so the two clocks agree up to
    the time between the two programs' runs.  On a shared 2-vCPU VM that
    gap has a tail: measured here (2010 redis sessions) the per-session
    difference had median +7 us, p99 +50 us, max +120 us, and a CI run saw
    2% of sessions 40-70 us apart (tcplife runs first and its own CLOSE
    work lands in our stamp).  So:
    - the median difference is within 0.1 ms: no gross systematic error
      (timing from a second connect, another socket's times) hides in the
      tail allowance.  The bias itself is the witness's: tcplife does more
      work at CLOSE than at ESTABLISHED before our program runs; measured
      7 us median here when idle, 31 us (curl/wget) under a parallel test
      run and 42 us with sockrec under ASan;
    - per session within 5% or 0.25 ms for all but 1% of them (at least one);
    - in total within 5%."""
    assert set(ours) == set(theirs), "%s: sessions differ: %s" % (
        what, sorted(set(ours) ^ set(theirs))[:10])
    diffs = sorted(ours[k] - theirs[k] for k in ours)
    median = diffs[len(diffs) // 2]
    assert abs(median) <= 0.1, "%s: median difference %.3f ms (ours - tcplife)" % (what, median)
    bad = [(k, ours[k], theirs[k]) for k in ours
           if abs(ours[k] - theirs[k]) > max(0.05 * theirs[k], 0.25)]
    assert len(bad) <= max(1, len(ours) // 100), "%s: %d lifetimes differ by more than 5%% and 0.25 ms: %s" % (
        what, len(bad), bad[:5])
    a, b = sum(ours.values()), sum(theirs.values())
    assert abs(a - b) <= 0.05 * b, (what, a, b)


# --------------------------------------------------------------- nginx + ab

def test_nginx_whole_host_matches_tcplife_and_tcpstates(bpf, tmp_path):
    """Whole host: every session, every transition, lifetimes to 5%;
    failed accept attempts are no sockets of kind ?/? (item 3)."""
    port = R.free_port(16080)
    with R.Nginx(tmp_path, port) as ng:
        life = R.witness("tcplife", tmp_path, "tcplife", port).start()
        states = R.witness("tcpstates", tmp_path, "tcpstates", port).start()
        rec = R.recorder(tmp_path, "whole").start()
        try:
            R.ab(port, N_AB, 20)
            time.sleep(0.5)  # the last FIN/ACKs
        finally:
            assert rec.stop() == 0, rec.text()[-2000:]
            life.stop()
            states.stop()
        nginx_pids = {ng.master, *ng.workers()}
    pairs = R.sockreport_json("pairs", rec.srec)
    ours = sessions_on(pairs, port)
    tl = [r for r in R.parse_tcplife(life.stdout()) if r["lport"] == port]
    assert len(ours) == len(tl) >= N_AB  # ab may open a few more than -n
    assert {s["pid"] for s in ours} <= nginx_pids
    for s in ours:
        assert R.state_path(s)[:2] == ["SYN_RECV", "ESTABLISHED"], s
        assert R.state_path(s)[-1] == "CLOSE", s
    assert_lifetimes_agree({R.port_of(s["remote"]): R.tcp_life_ms(s) for s in ours},
                           {r["rport"]: r["ms"] for r in tl}, "nginx sessions vs tcplife")

    # transitions of the server side, counted by kind, against tcpstates
    st = R.sockreport_json("states", rec.srec)["transitions"]
    mine = collections.Counter((t["old"], t["new"]) for t in st
                               if R.port_of(t["local"]) == port)
    theirs = collections.Counter((t["old"], t["new"]) for t in R.parse_tcpstates(states.stdout())
                                 if t["lport"] == port)
    assert mine == theirs
    assert mine[("SYN_RECV", "ESTABLISHED")] == len(tl)

    summ = R.sockreport_json("summary", "--by", "pid", rec.srec)
    kinds = [r for r in summ["by_process"] if r["pid"] in nginx_pids]
    assert kinds and all(r["family"] != "?" and r["family"] for r in kinds), kinds


def test_nginx_pid_filter_takes_in_workers_and_keeps_softirq_states(bpf, tmp_path):
    """-p MASTER records the workers forked before it (item 6), and their
    connections' handshake states, which run in softirq (item 8)."""
    port = R.free_port(16180)
    n = 1000
    with R.Nginx(tmp_path, port) as ng:
        life = R.witness("tcplife", tmp_path, "tcplife", port).start()
        rec = R.recorder(tmp_path, "pmaster", "-p", str(ng.master)).start()
        try:
            R.ab(port, n, 10)
            time.sleep(0.3)
        finally:
            assert rec.stop() == 0, rec.text()[-2000:]
            life.stop()
        workers = set(ng.workers())
    pairs = R.sockreport_json("pairs", rec.srec)
    ours = sessions_on(pairs, port)
    tl = [r for r in R.parse_tcplife(life.stdout()) if r["lport"] == port]
    assert len(ours) == len(tl) >= n
    assert {s["pid"] for s in ours} <= workers
    for s in ours:
        assert s["local"] == "127.0.0.1:%d" % port, s
        assert R.state_path(s)[:2] == ["SYN_RECV", "ESTABLISHED"], s
    lat = R.sockreport_json("latency", rec.srec)["groups"][0]
    assert lat["accept_queue_wait"]["count"] == len(ours)
    assert lat["tcp_state_time"]["ESTABLISHED"]["count"] >= len(ours)


def test_nginx_in_a_netns_keeps_every_state(bpf, tmp_path):
    """--netns: sockets are chosen by their netns, softirq or not (item 8);
    nothing from outside the namespace."""
    n = 1000
    with R.Netns() as ns:
        port = 16280  # a fresh namespace: every port is free
        with R.Nginx(tmp_path, port, netns=ns.name):
            # tcplife sees every namespace: port 16280 is used by this test only
            life = R.witness("tcplife", tmp_path, "tcplife", port).start()
            rec = R.recorder(tmp_path, "netns", "--netns", str(ns.inode)).start()
            try:
                R.ab(port, n, 10, netns=ns.name)
                time.sleep(0.3)
            finally:
                assert rec.stop() == 0, rec.text()[-2000:]
                life.stop()
    pairs = R.sockreport_json("pairs", rec.srec)
    ours = sessions_on(pairs, port)
    tl = [r for r in R.parse_tcplife(life.stdout()) if r["lport"] == port]
    assert len(ours) == len(tl) >= n
    for s in ours:
        assert R.state_path(s)[:2] == ["SYN_RECV", "ESTABLISHED"], s
    tcp = [s for s in pairs["sockets"] if s.get("states")]
    # the namespace holds nginx and ab only: every TCP socket is on port
    outside = [s for s in tcp if port not in (R.port_of(s.get("local")), R.port_of(s.get("remote")))]
    assert not outside, outside[:3]


def test_ab_connect_latency_runs_from_the_first_connect(bpf, tmp_path):
    """-- CMD: ab connects non-blocking and calls connect() again to learn
    the result; the latency is from the first call (item 1), at least the
    time tcpstates saw the sockets spend in SYN_SENT."""
    port = R.free_port(16380)
    n = 500
    with R.Nginx(tmp_path, port):
        states = R.witness("tcpstates", tmp_path, "tcpstates-client", port, side="-D").start()
        out = os.path.join(str(tmp_path), "ab.srec")
        try:
            p = subprocess.run([SOCKREC, "-o", out, "--", "ab", "-q", "-n", str(n), "-c", "5",
                                "http://127.0.0.1:%d/" % port],
                               capture_output=True, text=True, timeout=300)
        finally:
            states.stop()
    assert p.returncode == 0, p.stderr
    rows = [t for t in R.parse_tcpstates(states.stdout())
            if t["rport"] == port and t["old"] == "SYN_SENT" and t["new"] == "ESTABLISHED"]
    syn = [t["ms"] for t in rows]
    assert len(syn) >= n  # ab may open a few more than -n
    lat = R.sockreport_json("latency", out)
    conn = lat["groups"][0]["connect_established"]
    # The only shortfall allowed is what the recording itself says it
    # lost: a hook run the kernel skipped (a BPF program already running
    # on that CPU) can hide a socket, and is counted in the file and shown
    # by every report (CI saw 501 of 502 once; the skips were not kept).
    lost = lat["hook_skips"] + lat["lost_events"]
    why = (conn["count"], len(syn), lat["hook_skips"], lat["lost_events"],
           collections.Counter(t["comm"] for t in rows))
    assert len(syn) - lost <= conn["count"] <= len(syn), why
    syn_p50_ns = R.percentile(syn, 50) * 1e6
    # tcpstates prints ms with 3 decimals: 1 us of slack below
    assert conn["p50_ns"] >= syn_p50_ns - 1000, (conn, syn_p50_ns)
    assert conn["p50_ns"] <= 2 * syn_p50_ns + 200000, (conn, syn_p50_ns)
    summ = R.sockreport_json("summary", out)
    res = {r["result"]: r["count"] for r in summ["connect_results"]}
    assert conn["count"] == res.get("EINPROGRESS, then established"), (res, why)


# ----------------------------------------------------- redis + benchmark

def test_redis_failed_accepts_are_attempts_not_sockets(bpf, tmp_path):
    """-p redis-server: its accept loop ends with an EAGAIN accept() per
    wakeup; those are failed attempts with their errno, released by
    redis-server at the call's return, and not sockets in the statistics
    (item 3).  Sessions agree with tcplife."""
    port = R.free_port(16379)
    n = 2000
    srv = R.Background(["redis-server", "--port", str(port), "--bind", "127.0.0.1",
                        "--save", "", "--appendonly", "no", "--daemonize", "no"],
                       tmp_path, "redis").start()
    try:
        R.wait_port(port)
        life = R.witness("tcplife", tmp_path, "tcplife-redis", port).start()
        rec = R.recorder(tmp_path, "redis", "-p", str(srv.p.pid)).start()
        try:
            b = subprocess.run(["redis-benchmark", "-p", str(port), "-n", str(n), "-c", "10",
                                "-k", "0", "-t", "ping_inline", "-q"],
                               capture_output=True, text=True, timeout=300)
            assert b.returncode == 0, b.stderr
            time.sleep(0.5)
        finally:
            assert rec.stop() == 0, rec.text()[-2000:]
            life.stop()
    finally:
        srv.stop()
    redis = srv.p.pid
    pairs = R.sockreport_json("pairs", rec.srec)
    ours = sessions_on(pairs, port)
    tl = [r for r in R.parse_tcplife(life.stdout()) if r["lport"] == port]
    assert len(ours) == len(tl) >= n
    assert_lifetimes_agree({R.port_of(s["remote"]): R.tcp_life_ms(s) for s in ours},
                           {r["rport"]: r["ms"] for r in tl}, "redis sessions vs tcplife")
    assert all(s["how"] != "accept-failed" for s in pairs["sockets"])

    summ = R.sockreport_json("summary", "--by", "pid", rec.srec)
    assert summ["failed_accept_attempts"] > 0
    kinds = [r for r in summ["by_process"] if r["pid"] == redis]
    assert kinds and all(r["family"] not in ("?", "", None) for r in kinds), kinds
    lat = R.sockreport_json("latency", rec.srec)["groups"][0]["lifetime"]
    released = [s for s in pairs["sockets"] if not s["open"] and s["alloc_s"] is not None]
    assert lat["count"] == len(released)

    failed = [s for s in R.sockreport_json("pairs", "--failed-accepts", rec.srec)["sockets"]
              if s["how"] == "accept-failed"]
    assert len(failed) == summ["failed_accept_attempts"]
    for s in failed:
        assert s["released_by"]["pid"] == redis and s["released_by"]["fd"] == -11, s  # EAGAIN


# ------------------------------------- curl and wget against http.server

def test_curl_and_wget_against_python_http_server(bpf, tmp_path):
    """-- CMD on the clients; their sessions and lifetimes against tcplife,
    the server's accepts against tcplife on the server's port."""
    port = R.free_port(16480)
    www = tmp_path / "www"
    www.mkdir()
    (www / "index.html").write_text("hello\n")
    srv = R.Background([sys.executable, "-m", "http.server", str(port), "--bind", "127.0.0.1",
                        "--directory", str(www)], tmp_path, "httpserver").start()
    url = "http://127.0.0.1:%d/index.html" % port
    script = "for i in 1 2 3 4 5 6 7 8 9 10; do curl -s -o /dev/null %s && " \
             "wget -q -O /dev/null %s || exit 9; done" % (url, url)
    try:
        R.wait_port(port)
        cli = R.witness("tcplife", tmp_path, "tcplife-cli", port, side="-D").start()
        srvw = R.witness("tcplife", tmp_path, "tcplife-srv", port).start()
        out = os.path.join(str(tmp_path), "clients.srec")
        try:
            p = subprocess.run([SOCKREC, "-o", out, "--", "sh", "-c", script],
                               capture_output=True, text=True, timeout=120)
            time.sleep(0.3)
        finally:
            cli.stop()
            srvw.stop()
    finally:
        srv.stop()
    assert p.returncode == 0, p.stderr
    pairs = R.sockreport_json("pairs", out)
    conns = [s for s in pairs["sockets"] if R.port_of(s.get("remote")) == port and s.get("connect")]
    assert len(conns) == 20
    assert {s["comm"] for s in conns} == {"curl", "wget"}
    for s in conns:
        assert R.state_path(s)[:2] == ["SYN_SENT", "ESTABLISHED"], s
    tl = [r for r in R.parse_tcplife(cli.stdout()) if r["rport"] == port]
    assert len(tl) == 20
    assert_lifetimes_agree({R.port_of(s["local"]): R.tcp_life_ms(s) for s in conns},
                           {r["lport"]: r["ms"] for r in tl}, "curl/wget sessions vs tcplife")
    server_side = [r for r in R.parse_tcplife(srvw.stdout()) if r["lport"] == port]
    assert {r["rport"] for r in server_side} == {R.port_of(s["local"]) for s in conns}


# ----------------------------------------------- a server leaking CLOSE_WAIT

LEAKER = textwrap.dedent("""
    import socket, sys, threading, time
    ls = socket.socket()
    ls.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    ls.bind(("127.0.0.1", int(sys.argv[1])))
    ls.listen(64)
    kept = []
    def serve(c):
        what = c.recv(4)
        while c.recv(100):
            pass                      # until the peer closes: CLOSE_WAIT from now
        if what == b"leak":
            kept.append(c)            # never closed
        elif what == b"late":
            time.sleep(2.0)           # a finalizer that runs late
            c.close()
        else:
            time.sleep(5.0)           # slow, but would close after the recording
            c.close()
    print("ready", flush=True)
    while True:
        c, _ = ls.accept()
        threading.Thread(target=serve, args=(c,), daemon=True).start()
""")


def test_close_wait_leaker_owners_and_ages(bpf, tmp_path):
    """Stranded CLOSE_WAIT sockets with their owner pid and fd, as ss -tanp
    and /proc/PID/fd show them at the end; young ones (a recording that
    ends mid-traffic) are not leaks; CLOSE_WAIT periods that ended after
    more than --older are reported (item 2)."""
    port = R.free_port(16580)
    script = tmp_path / "leaker.py"
    script.write_text(LEAKER)
    srv = R.Background([sys.executable, str(script), str(port)], tmp_path, "leaker",
                       ready=lambda t: "ready" in t).start()
    socks = {}

    def client(kind, n):
        for _ in range(n):
            c = socket.create_connection(("127.0.0.1", port))
            c.sendall(kind)
            socks.setdefault(kind, []).append(c.getsockname()[1])
            c.close()

    try:
        rec = R.recorder(tmp_path, "leaker", "-p", str(srv.p.pid)).start()
        try:
            client(b"leak", 5)
            client(b"late", 3)
            time.sleep(2.6)           # the late ones close after 2 s in CLOSE_WAIT
            client(b"slow", 3)
            time.sleep(0.3)
            ss = R.ss_tanp()          # the witnesses, at the end of the recording
            fds = R.proc_fd_sockets(srv.p.pid)
        finally:
            assert rec.stop() == 0, rec.text()[-2000:]
    finally:
        srv.kill()
    pid = srv.p.pid
    cw_ss = {R.port_of(r["peer"]): r for r in ss
             if r["state"] == "CLOSE-WAIT" and R.port_of(r["local"]) == port}
    assert set(cw_ss) == set(socks[b"leak"]) | set(socks[b"slow"])

    leaks = R.sockreport_json("leaks", rec.srec)
    listed = {R.port_of(w["remote"]): w for w in leaks["close_wait_sockets"]}
    assert set(listed) == set(socks[b"leak"]), "young CLOSE_WAIT listed as leaks"
    assert leaks["close_wait_younger_skipped"] == 3
    for rport, w in listed.items():
        users = cw_ss[rport]["users"]
        assert (w["pid"], w["fd"]) in {(u[1], u[2]) for u in users}, (w, users)
        assert w["pid"] == pid and fds[w["fd"]] == w["inode"]
        assert w["dwell_ns"] >= 2.5e9
    ended = leaks["close_wait_ended"]
    assert sum(g["count"] for g in ended) == 3
    for g in ended:
        assert {p["pid"] for p in g["processes"]} == {pid}
        assert 1.9e9 <= g["age_ns"]["min"] and g["age_ns"]["max"] <= 3.0e9, g["age_ns"]
    text = R.sockreport("leaks", rec.srec).stdout
    assert "CLOSE_WAIT for 1.00s or longer, then closed: 3 sockets" in text, text


# ----------------------------------------------------- smaller wrong answers

def test_command_status_is_sockrecs(bpf, tmp_path):
    """-- CMD exits with CMD's status, 127 when CMD cannot run (item 9)."""
    p = subprocess.run([SOCKREC, "-o", str(tmp_path / "a.srec"), "--", "sh", "-c", "exit 7"],
                       capture_output=True, text=True, timeout=60)
    assert p.returncode == 7, p.stderr
    p = subprocess.run([SOCKREC, "-o", str(tmp_path / "b.srec"), "--", str(tmp_path / "nope")],
                       capture_output=True, text=True, timeout=60)
    assert p.returncode == 127, p.stderr
    assert "cannot run" in p.stderr


def test_pid_that_does_not_exist_is_an_error(tmp_path):
    """-p 999999 (item 7), as perf record -p: no recording, a reason."""
    pid = 999999
    while os.path.exists("/proc/%d" % pid):
        pid -= 1
    out = tmp_path / "none.srec"
    p = subprocess.run([SOCKREC, "-p", str(pid), "-d", "1", "-o", str(out)],
                       capture_output=True, text=True, timeout=60)
    assert p.returncode != 0
    assert "no such process" in p.stderr and len(p.stderr.strip().splitlines()) == 1
    assert not out.exists()


FDPASS = textwrap.dedent("""
    import array, socket, sys, time
    for i in range(3):
        a, b = socket.socketpair()
        s = socket.socket()           # passed away, never received
        a.sendmsg([b"x"], [(socket.SOL_SOCKET, socket.SCM_RIGHTS, array.array("i", [s.fileno()]))])
        s.close()                     # the message still holds it
        a.close()
        b.close()                     # the in-flight file is dropped with b's queue
    time.sleep(1)                     # freed (RCU) while we live: not an exit's release
""")


def test_a_socket_freed_in_flight_has_no_releaser(bpf, tmp_path):
    """The slab free runs from RCU in whatever task is current: that task is
    not the releaser (item 4)."""
    script = tmp_path / "fdpass.py"
    script.write_text(FDPASS)
    out = str(tmp_path / "fdpass.srec")
    p = subprocess.run([SOCKREC, "-o", out, "--", sys.executable, str(script)],
                       capture_output=True, text=True, timeout=60)
    assert p.returncode == 0, p.stderr
    pairs = R.sockreport_json("pairs", out)
    freed = [s for s in pairs["sockets"] if s["family"] == "INET" and s["how"] == "freed"]
    assert len(freed) == 3, [(s["family"], s["how"]) for s in pairs["sockets"]]
    assert all(s["released_by"]["pid"] == 0 and s["released_by"]["comm"] == "" for s in freed)
    text = R.sockreport("pairs", "--wide", out).stdout
    assert text.count("freed (after exit / fd passing / kernel release)") == 3, text


HOLDER = textwrap.dedent("""
    import socket, sys
    old = [socket.socket() for _ in range(4)]
    print("ready", flush=True)
    sys.stdin.readline()              # the recording has started
    new = [socket.socket(), socket.socket(socket.AF_INET, socket.SOCK_DGRAM)]
    for s in old + new:
        s.close()
""")


def test_summary_does_not_count_sockets_from_before_as_allocated(bpf, tmp_path):
    """summary: sockets open before the recording are not "allocated"
    (item 5)."""
    script = tmp_path / "holder.py"
    script.write_text(HOLDER)
    h = subprocess.Popen([sys.executable, str(script)], stdin=subprocess.PIPE,
                         stdout=subprocess.PIPE, text=True)
    try:
        assert h.stdout.readline().strip() == "ready"
        rec = R.recorder(tmp_path, "holder", "-p", str(h.pid)).start()
        h.stdin.write("go\n")
        h.stdin.flush()
        assert h.wait(30) == 0
        time.sleep(0.3)
        assert rec.stop() == 0
    finally:
        if h.poll() is None:
            h.kill()
    summ = R.sockreport_json("summary", rec.srec)
    assert summ["sockets"] == 2
    assert summ["preexisting"] == 4
    assert sum(r["count"] for r in summ["by_process"]) == 2
    text = R.sockreport("summary", rec.srec).stdout
    assert "Sockets allocated: 2 " in text and "4 sockets open before the recording" in text


def test_since_after_the_end_says_so(bpf, tmp_path):
    """--since beyond the end of the recording: a reason and exit 2, not
    an empty report (item 10)."""
    out = str(tmp_path / "short.srec")
    p = subprocess.run([SOCKREC, "-o", out, "--", "true"], capture_output=True, text=True,
                       timeout=60)
    assert p.returncode == 0, p.stderr
    for cmd in ("summary", "pairs", "leaks"):
        r = R.sockreport(cmd, "--since", "1000", out, check=False)
        assert r.returncode == 2 and "after the end of the recording" in r.stderr, r
        assert r.stdout == ""
    r = R.sockreport("summary", "--since", "0", out)
    assert r.returncode == 0
