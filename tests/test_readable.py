"""Readable output (issue 18): nothing cut off a terminal, names instead of
numbers, wall-clock times, tcpstates' columns, summary per command,
diff without false 'same', timeline -o safety, and `sockreport ss`.

Every test records a workload it starts itself (python3 or a C fixture on
127.0.0.1, ports 18xxx) and checks sockreport's output against what the
workload did or what the real ss(8) saw at the same moment.
"""
import json
import os
import re
import shutil
import stat
import subprocess
import sys
import time

import pytest

from conftest import SOCKREC, SOCKREPORT, fixture_path, run_on_tty, run_sockreport, \
    sockreport_json

HERE = os.path.dirname(os.path.abspath(__file__))

# A server with connections in several states, a UDP and a UNIX pair; it
# reports its pid and the wall time of each step, then changes what is
# open (so that the moment asked for matters).
WORKLOAD = r'''
import os, socket, sys, time
port = int(sys.argv[1])
def say(what):
    print("%s %.6f" % (what, time.time()), flush=True)
l = socket.socket(); l.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
l.bind(("127.0.0.1", port)); l.listen(16)
say("listen pid=%d" % os.getpid())
clients, served = [], []
for i in range(3):
    c = socket.create_connection(("127.0.0.1", port))
    a, _ = l.accept()
    clients.append(c); served.append(a)
u = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
u.connect(("127.0.0.1", port + 1))
x1, x2 = socket.socketpair()
nl = socket.socket(socket.AF_NETLINK, socket.SOCK_RAW, 0)   # NETLINK_ROUTE
try:
    socket.create_connection(("127.0.0.1", port + 2))          # nobody listens
except ConnectionRefusedError:
    pass
l.setblocking(False)
try:
    l.accept()                                                 # nothing pending: EAGAIN
except BlockingIOError:
    pass
time.sleep(0.3)
say("ready")
time.sleep(float(sys.argv[2]))
clients[0].close(); served[0].close()   # one connection ends
c = socket.create_connection(("127.0.0.1", port))
l.setblocking(True)
a, _ = l.accept()                        # another begins
say("changed")
time.sleep(1.0)
'''


def record_workload(tmp_path, port, hold=1.5, duration=5):
    """Records WORKLOAD; at its 'ready' line, snapshots `ss -tanp` and
    `ss -xap`.  Returns (srec, info) with the pid, the wall times of its
    steps and the snapshots."""
    script = tmp_path / "workload.py"
    script.write_text(WORKLOAD)
    srec = tmp_path / "w.srec"
    p = subprocess.Popen([SOCKREC, "-d", str(duration), "-o", str(srec), "--", sys.executable,
                          str(script), str(port), str(hold)],
                         stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    info = {}
    try:
        for line in p.stdout:
            f = line.split()
            if not f:
                continue
            if f[0] == "listen":
                info["pid"] = int(f[1].split("=")[1])
                info["listen"] = float(f[2])
            elif f[0] == "ready":
                t0 = time.time()
                info["ss_tcp"] = subprocess.run(["ss", "-tanpH"], capture_output=True,
                                                text=True, check=True).stdout
                info["ss_udp"] = subprocess.run(["ss", "-uanpH"], capture_output=True,
                                                text=True, check=True).stdout
                info["ss_unix"] = subprocess.run(["ss", "-xapH"], capture_output=True,
                                                 text=True, check=True).stdout
                t1 = time.time()
                info["snap"] = (t0 + t1) / 2
                info["ready"] = float(f[1])
            elif f[0] == "changed":
                info["changed"] = float(f[1])
        assert p.wait(timeout=60) == 0, p.stderr.read()
    finally:
        if p.poll() is None:
            p.kill()
    assert {"pid", "snap", "changed"} <= set(info), info
    assert info["snap"] < info["changed"], "ss ran after the workload moved on: host too slow"
    return srec, info


@pytest.fixture(scope="module")
def wrec(bpf, tmp_path_factory):
    return record_workload(tmp_path_factory.mktemp("readable"), 18801)


def hhmmss(t):
    """Wall time t as --at/--since take it: local HH:MM:SS.ffffff."""
    return time.strftime("%H:%M:%S", time.localtime(t)) + ("%.6f" % (t % 1))[1:]


def wall_of(iso):
    """'2026-12-03T08:45:43.123456Z' -> seconds since the epoch."""
    import calendar
    base, frac = iso.rstrip("Z").split(".")
    return calendar.timegm(time.strptime(base, "%Y-%m-%dT%H:%M:%S")) + float("0." + frac)


# ---------------------------------------------------------------- 1: no cut lines

@pytest.fixture(scope="module")
def deep_leaker(bpf, tmp_path_factory):
    """The leaker fixture built from a source tree several levels deep, so
    that its frames' file:line lie beyond 80 columns."""
    d = tmp_path_factory.mktemp("deep")
    src = d / "src" / "services" / "network" / "internal" / "fixtures" / "leaker.c"
    src.parent.mkdir(parents=True)
    shutil.copy(os.path.join(HERE, "fixtures", "leaker.c"), src)
    exe = d / "leaker"
    subprocess.run(["gcc", "-std=c11", "-D_GNU_SOURCE", "-O1", "-g", "-fno-omit-frame-pointer",
                    "-pthread", str(src), "-o", str(exe)], check=True)
    recs = {}
    pids = []
    for name, closed in (("few", 1), ("many", 0)):
        out = d / (name + ".srec")
        log = d / (name + ".out")
        with open(log, "w") as lf:
            p = subprocess.run([SOCKREC, "-d", "2", "-o", str(out), "--", str(exe), "4",
                                str(closed), "4"], stdout=lf, stderr=subprocess.PIPE, text=True,
                               timeout=120)
        assert p.returncode == 0, p.stderr
        pids.append(int(re.search(r"pid=(\d+)", log.read_text()).group(1)))
        recs[name] = out
    yield recs, str(src)
    for pid in pids:
        try:
            os.kill(pid, 9)
        except ProcessLookupError:
            pass


def test_pipe_gets_whole_lines(deep_leaker):
    recs, src = deep_leaker
    out = run_sockreport("leaks", str(recs["few"])).stdout
    frames = [l for l in out.splitlines() if "leak_sockets_here" in l]
    assert frames, out
    # the whole path and the line number, never "[..." or "..."
    assert all(re.search(re.escape(src) + r":\d+", l) for l in frames), frames
    assert not any(l.rstrip().endswith("...") for l in out.splitlines()), out
    # pairs --stacks and allocs: the same frames whole
    for args in (["pairs", "--stacks"], ["allocs"]):
        text = run_sockreport(*args, str(recs["few"])).stdout
        assert re.search(re.escape(src) + r":\d+", text), args


def test_terminal_shortens_the_middle_of_paths(deep_leaker):
    recs, src = deep_leaker
    out = run_on_tty("leaks", str(recs["few"]), cols=80)
    frames = [l for l in out.splitlines() if "leak_sockets_here" in l]
    assert frames, out
    for l in frames:
        # function, module and file:line kept; the path's middle elided
        assert re.search(r"leak_sockets_here\+0x[0-9a-f]+ \(leaker\) "
                         r"\u2026/(fixtures/)?leaker\.c:\d+", l), l
        assert len(l) <= 80, l
    # a wider terminal keeps more of the path
    wide = run_on_tty("leaks", str(recs["few"]), cols=200)
    assert re.search(re.escape(src) + r":\d+", wide), wide


def test_diff_site_row_is_whole(deep_leaker):
    recs, _src = deep_leaker
    p = run_sockreport("diff", str(recs["few"]), str(recs["many"]))
    rows = [l for l in p.stdout.splitlines() if "(leaks " in l]
    assert rows and all(re.search(r"\(leaks \d+ -> \d+, allocs \d+ -> \d+\)$", l) for l in rows), \
        p.stdout


# ---------------------------------------------------------------- 2: dump with names

def test_dump_prints_names(wrec):
    srec, info = wrec
    pid = info["pid"]
    text = run_sockreport("dump", str(srec)).stdout
    mine = [l for l in text.splitlines() if " pid=%d " % pid in l]
    states = [l for l in mine if re.match(r"\s*[\d.]+ state ", l)]
    assert states, text[:2000]
    assert any("newstate=LISTEN" in l and "family=INET" in l and "saddr=127.0.0.1" in l
               and "sport=18801" in l for l in states), states
    assert any("oldstate=SYN_SENT newstate=ESTABLISHED" in l for l in states), states
    # string ids as the strings they name, never comm=<number>
    named = [l for l in mine if " comm=" in l]
    assert len(named) > 20 and all(re.search(r" comm=[^\d\s]", l) for l in named), \
        [l for l in named if not re.search(r" comm=[^\d\s]", l)][:3]
    assert any("comm=python3" in l for l in mine)
    infos = [l for l in mine if " sockinfo " in l]
    assert any("family=NETLINK" in l and "protocol=NETLINK_ROUTE" in l for l in infos), infos
    assert any("family=INET" in l and "type=STREAM" in l and "protocol=TCP" in l for l in infos)
    conns = [l for l in mine if " connect " in l]
    assert any("ret=-111(ECONNREFUSED)" in l and "daddr=127.0.0.1" in l for l in conns), conns
    # --raw: the numbers as recorded
    raw = run_sockreport("dump", "--raw", str(srec)).stdout
    rmine = [l for l in raw.splitlines() if " pid=%d " % pid in l]
    assert any("newstate=10" in l and "saddr=7f000001" in l for l in rmine)
    assert all(re.search(r" comm=\d+", l) for l in rmine if " comm=" in l)
    # --json: text metadata, names next to the numbers, wall times
    lines = [json.loads(l) for l in run_sockreport("dump", "--json", str(srec)).stdout.splitlines()]
    meta = {r["key"]: r["value"] for r in lines if r.get("record") == "meta"}
    assert meta["host.name"] == os.uname().nodename
    st = [r for r in lines if r.get("record") == "state" and r["pid"] == pid]
    assert any(r["newstate"] == 10 and r["newstate_name"] == "LISTEN" and r["saddr"] == "127.0.0.1"
               and r["comm_name"] == "python3" for r in st), st[:2]
    lis = [r for r in st if r["newstate_name"] == "LISTEN"][0]
    assert abs(wall_of(lis["ts_wall"]) - info["listen"]) < 0.05, (lis["ts_wall"], info["listen"])
    rawj = [json.loads(l) for l in
            run_sockreport("dump", "--json", "--raw", str(srec)).stdout.splitlines()]
    assert [r for r in rawj if r.get("record") == "meta"][0]["key"] == "686f73742e6e616d65"


# ---------------------------------------------------------------- 3: wall clock

def test_info_start_and_end(wrec, tmp_path):
    srec, info = wrec
    d = sockreport_json("info", str(srec))
    meta = d["meta"]
    real = int(meta["clock.realtime_ns"]) + int(meta["recording.start_ns"]) - \
        int(meta["clock.monotonic_ns"])
    assert abs(wall_of(d["start_wall"]) - real / 1e9) < 1e-5
    assert wall_of(d["end_wall"]) - wall_of(d["start_wall"]) == pytest.approx(d["duration_ns"] / 1e9,
                                                                              abs=1e-5)
    assert wall_of(d["start_wall"]) <= info["listen"] <= wall_of(d["end_wall"])
    env = dict(os.environ, TZ="Asia/Tokyo")  # UTC+9, no DST
    text = subprocess.run([SOCKREPORT, "info", str(srec)], capture_output=True, text=True,
                          env=env, check=True).stdout
    start_utc = time.strftime("%Y-%m-%d %H:%M:%S", time.gmtime(real // 10**9))
    start_jst = time.strftime("%Y-%m-%d %H:%M:%S", time.gmtime(real // 10**9 + 9 * 3600))
    m = re.search(r"^started:\s+(.*)$", text, re.M)
    assert m and start_utc in m.group(1) and "UTC" in m.group(1) and start_jst in m.group(1) \
        and "JST" in m.group(1), text
    assert re.search(r"^ended:\s+\d{4}-\d\d-\d\d .* UTC \(.* JST\)", text, re.M), text


def test_wall_clock_option_and_json(wrec):
    srec, info = wrec
    pid = info["pid"]
    listen = info["listen"]
    want = time.strftime("%H:%M:%S", time.localtime(listen))
    # states -T: the LISTEN transition at the time the workload saw
    text = run_sockreport("states", "-T", "-p", str(pid), str(srec)).stdout
    row = [l for l in text.splitlines() if "CLOSE -> LISTEN" in l]
    assert row, text
    t = row[0].split()[0]
    assert re.match(r"\d\d:\d\d:\d\d\.\d{6}$", t), row
    assert abs(_secs(t) - _secs(hhmmss(listen))) < 0.05, (t, hhmmss(listen))
    # pairs -T: the listener's allocation, just before listen()
    text = run_sockreport("pairs", "-T", "-p", str(pid), str(srec)).stdout
    assert "ALLOC (local)" in text
    lsn = [s for s in sockreport_json("pairs", "-p", str(pid), str(srec))["sockets"]
           if s["states"] and s["states"][0]["state"] == "LISTEN"][0]
    first = [l for l in text.splitlines() if l.startswith("#%d " % lsn["serial"])][0]
    t = re.search(r"(\d\d:\d\d:\d\d\.\d{3})", first).group(1)
    assert -0.05 < _secs(hhmmss(listen)) - _secs(t) < 0.5, (first, want)
    # dump -T
    text = run_sockreport("dump", "-T", str(srec)).stdout
    row = [l for l in text.splitlines() if " pid=%d " % pid in l and "newstate=LISTEN" in l][0]
    assert abs(_secs(row.split()[0]) - _secs(hhmmss(listen))) < 0.05, row
    # JSON: absolute times next to the relative ones
    st = sockreport_json("states", "-p", str(pid), str(srec))
    lis = [x for x in st["transitions"] if x["new"] == "LISTEN"][0]
    assert abs(wall_of(lis["t_wall"]) - listen) < 0.05
    assert abs(wall_of(lis["t_wall"]) - wall_of(st["start_wall"]) - lis["t_s"]) < 1e-5
    pr = sockreport_json("pairs", "-p", str(pid), str(srec))
    for s in pr["sockets"]:
        assert abs(wall_of(s["alloc_wall"]) - wall_of(pr["start_wall"]) - s["alloc_s"]) < 1e-5
        if s["release_s"] is not None:
            assert abs(wall_of(s["release_wall"]) - wall_of(pr["start_wall"]) - s["release_s"]) < 1e-5
        else:
            assert s["release_wall"] is None
    for cmd in ("leaks", "summary", "latency", "allocs"):
        d = sockreport_json(cmd, str(srec))
        assert wall_of(d["start_wall"]) < wall_of(d["end_wall"]), cmd


def _secs(hms):
    h, m, s = hms.split(":")
    return int(h) * 3600 + int(m) * 60 + float(s)


# ---------------------------------------------------------------- 4: states columns

def test_states_has_tcpstates_columns(wrec):
    srec, info = wrec
    pid = info["pid"]
    pr = sockreport_json("pairs", "-p", str(pid), str(srec))
    clients = [s for s in pr["sockets"] if s["remote"] == "127.0.0.1:18801"]
    assert len(clients) == 4, pr["sockets"]
    text = run_sockreport("states", "-p", str(pid), str(srec)).stdout
    head = [l for l in text.splitlines() if l.startswith("TIME")][0].split()
    assert head[:6] == ["TIME(s)", "SOCKET", "PID", "COMM", "LADDR:LPORT", "RADDR:RPORT"], head
    for s in clients:
        rows = [l for l in text.splitlines()
                if l.split()[1:2] == ["#%d" % s["serial"]] and "SYN_SENT -> ESTABLISHED" in l]
        assert len(rows) == 1, (s, text)
        f = rows[0].split()
        assert f[2] == str(pid) and f[3] == "python3"
        assert f[4] == s["local"] and f[5] == "127.0.0.1:18801", rows
        assert re.match(r"\d+\.\d{3}$", f[-1]), rows  # ms in SYN_SENT


# ---------------------------------------------------------------- 5: summary

def test_summary_by_comm_names_and_errnos(bpf, tmp_path):
    # five short-lived processes of one command, each with a socket
    loop = "for i in 1 2 3 4 5; do %s -c 'import socket; socket.socket()'; done; sleep 0.5" % \
        sys.executable
    srec = tmp_path / "loop.srec"
    subprocess.run([SOCKREC, "-d", "8", "-o", str(srec), "--", "sh", "-c", loop], check=True,
                   capture_output=True, timeout=120)
    d = sockreport_json("summary", str(srec))
    rows = [x for x in d["by_process"] if x["comm"] == "python3" and x["protocol"] == "TCP"]
    assert len(rows) == 1 and rows[0]["pids"] == 5 and rows[0]["count"] >= 5, d["by_process"]
    assert d["by"] == "comm"
    text = run_sockreport("summary", str(srec)).stdout
    assert len([l for l in text.splitlines() if "python3" in l and "INET/STREAM/TCP" in l]) == 1
    bypid = sockreport_json("summary", "--by", "pid", str(srec))
    rows = [x for x in bypid["by_process"] if x["comm"] == "python3" and x["protocol"] == "TCP"]
    assert len(rows) == 5 and len({x["pid"] for x in rows}) == 5
    p = run_sockreport("summary", "--by", "stack", str(srec), check=False)
    assert p.returncode == 2 and len(p.stderr.strip().splitlines()) == 1


def test_summary_explains_and_names(wrec):
    srec, info = wrec
    pid = info["pid"]
    text = run_sockreport("summary", "-p", str(pid), str(srec)).stdout
    assert "NETLINK/RAW/NETLINK_ROUTE" in text, text
    assert "proto?" not in text and "?/?" not in text
    assert "OK/INPR: returned 0, or EINPROGRESS" in text
    assert re.search(r"^\s+1\s+ECONNREFUSED$", text, re.M), text
    assert re.search(r"^Accept results:\n(\s+\d+\s+\w+\n)*\s+1\s+EAGAIN$", text, re.M), text
    d = sockreport_json("summary", "-p", str(pid), str(srec))
    assert {"result": "EAGAIN", "count": 1} in d["accept_results"]
    assert {"result": "ECONNREFUSED", "count": 1} in d["connect_results"]


# ---------------------------------------------------------------- 6: diff

def test_diff_not_comparable_and_no_noise(deep_leaker):
    recs, _src = deep_leaker
    # "few" closed one socket of each kind: lifetimes; "many" closed none
    d = json.loads(run_sockreport("diff", "--json", str(recs["few"]), str(recs["many"])).stdout)
    life = {r["name"]: r for r in d["rows"] if r["name"].startswith("lifetime.")}
    assert life, d["rows"]
    for r in life.values():
        assert r["status"] == "not comparable" and r["new"] is None and r["base"] > 0, r
    conn = [r for r in d["rows"] if r["name"].startswith("connect.p")]
    assert all(r["status"] == "not comparable" and r["base"] is None for r in conn), conn
    assert not any(r["kind"] == "site" and r["base_leaks"] == 0 and r["new_leaks"] == 0
                   for r in d["rows"]), d["rows"]
    text = run_sockreport("diff", str(recs["few"]), str(recs["many"])).stdout
    assert "no user stack" not in text
    assert re.search(r"not comparable lifetime\.p99 .* - ms \(no data on one side\)", text), text
    # a side compared with itself: every comparable row "same"
    d = json.loads(run_sockreport("diff", "--json", str(recs["few"]), str(recs["few"])).stdout)
    assert {r["status"] for r in d["rows"]} <= {"same", "not comparable"}, d["rows"]


# ---------------------------------------------------------------- 7: timeline -o

def test_timeline_output_is_safe(wrec, tmp_path):
    srec, _ = wrec
    out = tmp_path / "t.json"
    out.write_text("precious")
    p = run_sockreport("timeline", "-o", str(out), str(srec), check=False)
    assert p.returncode == 2 and "already exists" in p.stderr and "--force" in p.stderr
    assert len(p.stderr.strip().splitlines()) == 1
    assert out.read_text() == "precious"
    run_sockreport("timeline", "-f", "-o", str(out), str(srec))
    assert json.loads(out.read_text())["traceEvents"]
    assert stat.S_IMODE(os.stat(out).st_mode) == 0o600
    new = tmp_path / "new.json"
    old_umask = os.umask(0)
    try:
        run_sockreport("timeline", "-o", str(new), str(srec))
    finally:
        os.umask(old_umask)
    assert stat.S_IMODE(os.stat(new).st_mode) == 0o600
    target = tmp_path / "target"
    target.write_text("keep")
    link = tmp_path / "link.json"
    link.symlink_to(target)
    for args in (["-o", str(link)], ["-f", "-o", str(link)]):
        p = run_sockreport("timeline", *args, str(srec), check=False)
        assert p.returncode == 2, args
        assert target.read_text() == "keep"


# ---------------------------------------------------------------- 8: ss

def parse_ss(text, pid):
    """(state, local, peer, fd) of pid's sockets in `ss -tanpH` output."""
    out = set()
    for line in text.splitlines():
        f = line.split()
        m = re.search(r'pid=%d,fd=(\d+)' % pid, line)
        if len(f) >= 5 and m:
            out.add((f[0], f[3], f[4], int(m.group(1))))
    return out


def test_ss_matches_a_real_ss_snapshot(wrec):
    srec, info = wrec
    pid = info["pid"]
    real = parse_ss(info["ss_tcp"], pid)
    assert len(real) == 7, info["ss_tcp"]  # listener + 3 clients + 3 accepted
    at = hhmmss(info["snap"])
    d = sockreport_json("ss", "--at", at, "-ta", "-p", str(pid), str(srec))
    mine = {(s["state"], s["local"], s["peer"].replace("0.0.0.0:*", "0.0.0.0:*"), s["fd"])
            for s in d["sockets"]}
    assert mine == real, (mine, real)
    assert all(s["pid"] == pid and s["comm"] == "python3" and s["netid"] == "tcp"
               for s in d["sockets"])
    assert abs(wall_of(d["at_wall"]) - info["snap"]) < 1e-3
    for s in d["sockets"]:  # age: since the allocation, before the snapshot
        assert 0 < s["age_ns"] / 1e9 < info["snap"] - info["listen"] + 0.5, s
    # the same moment as seconds from the start
    start = wall_of(sockreport_json("info", str(srec))["start_wall"])
    rel = sockreport_json("ss", "--at", "%.6f" % (info["snap"] - start), "-ta", "-p", str(pid),
                          str(srec))
    assert [s["serial"] for s in rel["sockets"]] == [s["serial"] for s in d["sockets"]]
    # after the change: one connection gone, another there
    later = sockreport_json("ss", "--at", hhmmss(info["changed"] + 0.2), "-t", "-p", str(pid),
                            str(srec))
    before = {(s["local"], s["peer"]) for s in d["sockets"] if s["state"] == "ESTAB"}
    after = {(s["local"], s["peer"]) for s in later["sockets"] if s["state"] == "ESTAB"}
    assert len(after) == 6 and len(before - after) == 2 and len(after - before) == 2, (before, after)
    # the text form: ss's columns and users:(("comm",pid=,fd=))
    text = run_sockreport("ss", "--at", at, "-t", "-p", str(pid), str(srec)).stdout
    rows = [l for l in text.splitlines() if l.startswith("tcp ")]
    assert len(rows) == 6 and all("ESTAB" in l and 'users:(("python3",pid=%d,fd=' % pid in l
                                  for l in rows), text


def test_ss_filters(wrec):
    srec, info = wrec
    pid = info["pid"]
    at = hhmmss(info["snap"])
    lis = sockreport_json("ss", "--at", at, "-tl", "-p", str(pid), str(srec))["sockets"]
    assert [(s["state"], s["local"]) for s in lis] == [("LISTEN", "127.0.0.1:18801")]
    # UNIX: the socketpair, by owner and fd as ss -xap lists them
    ux = sockreport_json("ss", "--at", at, "-x", "-p", str(pid), str(srec))["sockets"]
    real_fds = {int(m) for m in re.findall(r'pid=%d,fd=(\d+)' % pid, info["ss_unix"])}
    assert {s["fd"] for s in ux} == real_fds and len(ux) == 2, (ux, info["ss_unix"])
    assert all(s["netid"] == "u_str" for s in ux)
    # UDP: the connected socket (ss -u lists connected ones without -a)
    udp = sockreport_json("ss", "--at", at, "-u", "-p", str(pid), str(srec))["sockets"]
    real_fds = {int(m) for m in re.findall(r'pid=%d,fd=(\d+)' % pid, info["ss_udp"])}
    assert {s["fd"] for s in udp} == real_fds and len(udp) == 1, (udp, info["ss_udp"])
    assert udp[0]["peer"] == "127.0.0.1:18802"
    # everything: TCP, UDP, UNIX and the netlink socket
    allk = sockreport_json("ss", "--at", at, "-a", "-p", str(pid), str(srec))["sockets"]
    assert {s["netid"] for s in allk} >= {"tcp", "udp", "u_str", "nl"}
    # before the workload existed: nothing of it
    start = wall_of(sockreport_json("info", str(srec))["start_wall"])
    none = run_sockreport("ss", "--at", "%.6f" % max(0.0, info["listen"] - start - 0.5), "-a",
                          "-p", str(pid), str(srec)).stdout
    assert "0 sockets open" in none and "match the filters" in none


def test_ss_errors(wrec):
    srec, _ = wrec
    for args in (["ss", str(srec)], ["ss", "--at", "xx", str(srec)],
                 ["ss", "--at", "25:00:00", str(srec)], ["ss", "--at", "99999", str(srec)]):
        p = run_sockreport(*args, check=False)
        assert p.returncode == 2 and len(p.stderr.strip().splitlines()) == 1, (args, p.stderr)
    p = subprocess.run([SOCKREPORT, "ss", "--help"], capture_output=True, text=True)
    assert p.returncode == 0 and "Usage: sockreport ss" in p.stdout


def test_named_dump_of_golden_and_damaged_files():
    """dump with names reads what dump --raw reads: the same records, one
    JSON object per line, on intact and damaged files."""
    data = os.path.join(HERE, "data")
    files = sorted(f for f in os.listdir(data) if f.endswith(".srec"))
    assert files
    for f in files:
        path = os.path.join(data, f)
        named = subprocess.run([SOCKREPORT, "dump", "--json", path], capture_output=True)
        raw = subprocess.run([SOCKREPORT, "dump", "--json", "--raw", path], capture_output=True)
        assert named.returncode == raw.returncode and named.returncode in (0, 1), f
        a = [json.loads(l) for l in named.stdout.decode("utf-8").splitlines()]
        b = [json.loads(l) for l in raw.stdout.decode("utf-8").splitlines()]
        assert [r.get("record") for r in a] == [r.get("record") for r in b], f
        for x, y in zip(a, b):  # the numbers stay; names are added beside them
            for k, v in y.items():
                if isinstance(v, int) and k != "ts_wall":
                    assert x[k] == v, (f, k)
        text = subprocess.run([SOCKREPORT, "dump", path], capture_output=True)
        assert text.returncode == named.returncode, f
        assert len(text.stdout.splitlines()) == len(a), f  # records, then "# index:"
