"""Direct loads (issue 22, lever 2): where the kernel has bpf_rdonly_cast
(6.2 and later; this host's 6.18), sockrec loads the BPF object built to
read kernel fields with direct loads instead of one probe read each, and
says so in META backend.loads.  It must never change what a recording
says: the same workload recorded both ways gives the same sockets, with
the same fds, inodes' presence, families, types, protocols, origins, TCP
states, connects, accepts and release kinds.  (The 6.1 guest of
tests/test_vm.py checks the probe-read object is chosen there.)"""
import collections
import os
import subprocess

from conftest import SOCKREC, fixture_path
import srec_reader

# socket() of each family and type, socketpair(), a TCP connection both
# ways with accept4() (Python) and accept() (netfix), dup2() over a socket,
# a non-socket file closed (the close hook's early exit), and sockets left
# to the process's exit.
PY = """
import os, socket
for i in range(60):
    socket.socket([socket.AF_INET, socket.AF_UNIX, socket.AF_INET6][i % 3],
                  [socket.SOCK_STREAM, socket.SOCK_DGRAM][i % 2]).close()
for i in range(20):
    a, b = socket.socketpair()
    a.close(); b.close()
l = socket.socket(); l.bind(("127.0.0.1", 0)); l.listen(64)
for i in range(20):
    c = socket.create_connection(l.getsockname())
    s, _ = l.accept()
    s.close(); c.close()
for i in range(20):
    os.close(os.open("/dev/null", os.O_RDONLY))
s = socket.socket(); t = socket.socket()
os.dup2(t.fileno(), s.fileno())
kept = [socket.socket() for i in range(5)]
os._exit(0)
"""


def record(tmp_path, name, extra):
    out = tmp_path / name
    sh = "/usr/bin/python3 -c '%s'; %s tcp4 20 0 >/dev/null" % (PY, fixture_path("netfix"))
    p = subprocess.run([SOCKREC, "--backend", "tracepoint", "--no-stacks", "-o", str(out), *extra,
                        "--", "/bin/sh", "-c", sh], capture_output=True, text=True, timeout=180)
    assert p.returncode == 0, p.stderr
    recs, st = srec_reader.read_file(str(out))
    assert not st["salvaged"], st
    return recs


def meta(recs):
    return {bytes.fromhex(r["key"]).decode(): bytes.fromhex(r["value"]).decode()
            for r in recs if r["record"] == "meta"}


def summary(recs):
    """What a recording says, without times, pids, serials or addresses that
    differ between two runs: a multiset of per-socket descriptions."""
    info = {r["serial"]: r for r in recs if r["record"] == "sockinfo"}
    alloc = {r["serial"]: r for r in recs if r["record"] == "alloc"}
    rel = {r["serial"]: r for r in recs if r["record"] == "release"}
    states = collections.defaultdict(list)
    for r in recs:
        if r["record"] == "state":
            states[r["serial"]].append((r["oldstate"], r["newstate"]))
    socks = collections.Counter()
    for serial, a in alloc.items():
        i = info.get(serial, a)
        r = rel.get(serial)
        socks[(i.get("family"), i.get("type"), i.get("protocol"), i.get("origin"), i.get("fd"),
               bool(i.get("ino")), r and r["how"], r and r["fd"],
               tuple(states.get(serial, ())))] += 1
    kinds = collections.Counter(r["record"] for r in recs
                                if r["record"] in ("alloc", "release", "sockinfo", "connect",
                                                   "accept", "state"))
    return socks, kinds


def test_direct_loads_record_what_probe_reads_record(bpf, tmp_path):
    direct = record(tmp_path, "direct.srec", [])
    probe = record(tmp_path, "probe.srec", ["--no-direct-loads"])
    assert meta(direct)["backend.loads"] == "direct"  # 6.18 has bpf_rdonly_cast
    assert meta(probe)["backend.loads"] == "probe-read"
    sd, kd = summary(direct)
    sp, kp = summary(probe)
    assert kd == kp, (kd, kp)
    assert sd == sp, (sd - sp, sp - sd)
    # the workload's sockets are all there, and so are their fields
    assert kd["alloc"] >= 60 + 40 + 40 + 2 + 5 + 40, kd
    fams = {k[0] for k in sd}
    assert {1, 2, 10} <= fams, fams  # AF_UNIX, AF_INET, AF_INET6
    assert any(k[8] for k in sd), "no TCP states"
    assert not [r for r in direct if r["record"] == "loss"]


def test_refused_direct_loads_fall_back_to_probe_reads(bpf, tmp_path):
    """A kernel that has bpf_rdonly_cast but whose verifier refuses the
    direct-load object (a backport, a release not tried here) must still
    record, with probe reads, and say so; provoked with the recorder's fault
    injection, since 6.18 takes the object."""
    out = tmp_path / "fallback.srec"
    env = dict(os.environ, SOCKREC_TEST_REFUSE_DIRECT_LOADS="1")
    p = subprocess.run([SOCKREC, "--backend", "tracepoint", "--no-stacks", "-o", str(out), "--",
                        "/usr/bin/python3", "-c",
                        "import socket\nfor i in range(20): socket.socket().close()"],
                       capture_output=True, text=True, timeout=120, env=env)
    assert p.returncode == 0, p.stderr
    assert "refused the direct-load BPF object" in p.stderr, p.stderr
    recs, st = srec_reader.read_file(str(out))
    assert not st["salvaged"], st
    assert meta(recs)["backend.loads"] == "probe-read"
    assert sum(r["record"] == "alloc" for r in recs) >= 20
    assert sum(r["record"] == "release" for r in recs) >= 20
