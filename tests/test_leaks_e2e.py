"""End to end: record the leak fixture with sockrec, report with sockreport.

tests/fixtures/leaker.c allocates N TCP, N UDP sockets and N socketpairs in
leak_sockets_here(), closes M of each in close_sockets_here(), then sleeps.
"""
import json
import os
import signal
import subprocess
import time

import pytest

from conftest import SOCKREC, fixture_path, run_on_tty, run_sockreport, sockreport_json

N, M = 10, 4


def record_leaker(tmp_path, duration, sleep_s, n=N, m=M, extra=()):
    """Record `leaker n m sleep_s` for `duration` seconds; returns (file, pid)."""
    out = tmp_path / "leaker.srec"
    log = tmp_path / "leaker.out"
    with open(log, "w") as lf:
        p = subprocess.run([SOCKREC, *extra, "-d", str(duration), "-o", str(out), "--",
                            fixture_path("leaker"), str(n), str(m), str(sleep_s)],
                           stdout=lf, stderr=subprocess.PIPE, text=True, timeout=120)
    assert p.returncode == 0, p.stderr
    text = log.read_text()
    assert text.startswith("leaker pid="), text
    pid = int(text.split("=")[1].split()[0])
    return out, pid, p.stderr


def kill_quietly(pid):
    try:
        os.kill(pid, signal.SIGKILL)
    except ProcessLookupError:
        pass


def kinds_of(groups, pid):
    counts = {}
    for g in groups:
        if not any(p["pid"] == pid for p in g["processes"]):
            continue
        for k in g["kinds"]:
            key = (k["family"], k["type"], k["protocol"])
            counts[key] = counts.get(key, 0) + k["count"]
    return counts


def test_leaks_exact_counts_and_stacks(bpf, tmp_path):
    srec, pid, err = record_leaker(tmp_path, 3, 10)
    try:
        d = sockreport_json("leaks", str(srec))
    finally:
        kill_quietly(pid)
    assert d["complete"] is True and d["salvaged"] is False
    assert d["lost_events"] == 0
    counts = kinds_of(d["outstanding"], pid)
    assert counts == {
        ("INET", "STREAM", "TCP"): N - M,
        ("INET", "DGRAM", "UDP"): N - M,
        ("UNIX", "STREAM", ""): 2 * (N - M),
    }, counts
    for g in d["outstanding"]:
        assert [p["pid"] for p in g["processes"]] == [pid]
        assert [p["comm"] for p in g["processes"]] == ["leaker"]
        # The user stack names the leaking function (recovered past the
        # frameless libc stub) ...
        assert any("leak_sockets_here" in f for f in g["user_stack"]), g["user_stack"]
        assert not any("close_sockets_here" in f for f in g["user_stack"])
        # ... and the kernel side says how the socket was made.
        kernel = " ".join(g["kernel_stack"])
        assert g["origin"] in ("socket", "socketpair")
        assert ("sock_alloc" in kernel or "__sys_socket" in kernel), kernel
        if g["origin"] == "socketpair":
            assert "__sys_socketpair" in kernel
        assert g["age_ns"]["min"] >= 1_000_000_000  # older than the default --older


def test_leaks_text_report(bpf, tmp_path):
    srec, pid, _ = record_leaker(tmp_path, 2.5, 10, n=3, m=1)
    try:
        p = run_sockreport("leaks", str(srec))
    finally:
        kill_quietly(pid)
    out = p.stdout
    assert "Still open at the end: 8 sockets" in out, out
    assert "leak_sockets_here" in out
    assert "(leaker)" in out
    for line in run_on_tty("leaks", str(srec)).splitlines():
        if str(srec) not in line:  # the user's own path may be long
            assert len(line) <= 80, line


def test_exit_releases_are_attributed(bpf, tmp_path):
    """A process that exits without closing: its sockets are released by the
    exit, and the report says so instead of calling them leaks."""
    srec, pid, _ = record_leaker(tmp_path, 3, 0, n=5, m=2)
    d = sockreport_json("leaks", str(srec))
    assert kinds_of(d["outstanding"], pid) == {}
    counts = kinds_of(d["exit_released"], pid)
    assert counts == {
        ("INET", "STREAM", "TCP"): 3,
        ("INET", "DGRAM", "UDP"): 3,
        ("UNIX", "STREAM", ""): 6,
    }, counts


def test_pid_filter_in_report(bpf, tmp_path):
    srec, pid, _ = record_leaker(tmp_path, 2.5, 10, n=2, m=0)
    try:
        other = sockreport_json("leaks", "-p", str(pid + 100000), str(srec))
        mine = sockreport_json("leaks", "-p", str(pid), str(srec))
    finally:
        kill_quietly(pid)
    assert other["outstanding"] == []
    assert sum(g["count"] for g in mine["outstanding"]) == 8


def test_info_and_dump(bpf, tmp_path):
    srec, pid, _ = record_leaker(tmp_path, 1.5, 5, n=2, m=1)
    kill_quietly(pid)
    info = sockreport_json("info", str(srec))
    assert info["complete"] is True
    assert info["meta"]["backend"] in ("fentry", "kprobe", "tracepoint")
    assert info["meta"]["recording.stop_reason"] == "duration"
    assert info["records"]["alloc"] == 8
    assert info["records"]["release"] == 4
    assert any(p["pid"] == pid and p["comm"] == "leaker" for p in info["processes"])
    lines = run_sockreport("dump", "--json", str(srec)).stdout.splitlines()
    recs = [json.loads(l) for l in lines]
    status = recs.pop()["status"]
    assert status["salvaged"] is False
    allocs = [r for r in recs if r["record"] == "alloc" and r["pid"] == pid]
    assert len(allocs) == 8
    assert all(r["ustack"] >= 16 for r in allocs)  # every stack captured


def test_output_file_safety(bpf, tmp_path):
    out = tmp_path / "x.srec"
    p = subprocess.run([SOCKREC, "-d", "0.2", "-o", str(out), "--", "true"],
                       capture_output=True, text=True, timeout=60)
    assert p.returncode == 0, p.stderr
    assert (os.stat(out).st_mode & 0o777) == 0o600
    # never over an existing file without --force
    p = subprocess.run([SOCKREC, "-d", "0.2", "-o", str(out), "--", "true"],
                       capture_output=True, text=True, timeout=60)
    assert p.returncode != 0 and "already exists" in p.stderr
    p = subprocess.run([SOCKREC, "-f", "-d", "0.2", "-o", str(out), "--", "true"],
                       capture_output=True, text=True, timeout=60)
    assert p.returncode == 0, p.stderr
    # never through a symlink, even with --force
    target = tmp_path / "victim"
    target.write_text("keep me")
    link = tmp_path / "link.srec"
    os.symlink(target, link)
    for extra in ([], ["-f"]):
        p = subprocess.run([SOCKREC, *extra, "-d", "0.2", "-o", str(link), "--", "true"],
                           capture_output=True, text=True, timeout=60)
        assert p.returncode != 0
    assert target.read_text() == "keep me"


def test_command_exit_ends_recording(bpf, tmp_path):
    out = tmp_path / "c.srec"
    t0 = time.monotonic()
    p = subprocess.run([SOCKREC, "-d", "30", "-o", str(out), "--",
                        fixture_path("leaker"), "3", "3", "0"],
                       capture_output=True, text=True, timeout=60)
    assert p.returncode == 0, p.stderr
    assert time.monotonic() - t0 < 10
    info = sockreport_json("info", str(out))
    assert info["meta"]["recording.stop_reason"] == "command-exited"
    d = sockreport_json("leaks", str(out))
    assert d["outstanding"] == [] and d["exit_released"] == []
