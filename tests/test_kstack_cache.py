"""The kernel-stack cache (issue 22, lever 1): the kernel stack of an
allocation made inside socket(), socketpair(), accept() and accept4() is
walked once per call site and its id reused, 1 in 64 walked again and
compared.  It must never change what a recording says: the same workload
recorded with the cache and with --no-kstack-cache gives the same kernel
stacks for each origin, and the cache's counters are in the file."""
import collections
import subprocess

from conftest import SOCKREC, fixture_path, sockreport_json
import srec_reader

# socket() (TCP, UDP, UNIX), socketpair(), accept4() (Python's accept) and,
# through netfix, plain accept(): every path the cache serves, many times.
PY = """
import socket
for i in range(300):
    socket.socket([socket.AF_INET, socket.AF_UNIX, socket.AF_INET6][i % 3],
                  [socket.SOCK_STREAM, socket.SOCK_DGRAM][i % 2]).close()
for i in range(150):
    a, b = socket.socketpair()
    a.close(); b.close()
l = socket.socket(); l.bind(("127.0.0.1", 0)); l.listen(64)
for i in range(150):
    c = socket.create_connection(l.getsockname())
    s, _ = l.accept()
    s.close(); c.close()
"""


def record(tmp_path, name, extra):
    out = tmp_path / name
    sh = "/usr/bin/python3 -c '%s' && %s tcp4 100 0 >/dev/null" % (PY, fixture_path("netfix"))
    p = subprocess.run([SOCKREC, "--backend", "tracepoint", "--user-stacks", "fp", "-o", str(out),
                        *extra, "--", "/bin/sh", "-c", sh],
                       capture_output=True, text=True, timeout=180)
    assert p.returncode == 0, p.stderr
    recs, st = srec_reader.read_file(str(out))
    assert not st["salvaged"], st
    return out, recs


def kstacks_by_origin(recs):
    """origin -> Counter of kernel stacks (frame tuples) of the allocations."""
    stacks = {r["id"]: tuple(r["frames"]) for r in recs
              if r["record"] == "stack" and r["kind"] == 1}
    origin = {r["serial"]: r["origin"] for r in recs if r["record"] == "sockinfo"}
    out = collections.defaultdict(collections.Counter)
    for r in recs:
        if r["record"] == "alloc":
            assert r["kstack"] in stacks, "an allocation without its kernel stack"
            out[r["origin"] or origin.get(r["serial"], 0)][stacks[r["kstack"]]] += 1
    return out


def meta(recs):
    return {bytes.fromhex(r["key"]).decode(): bytes.fromhex(r["value"]).decode()
            for r in recs if r["record"] == "meta"}


def test_cached_kernel_stacks_are_the_walked_ones(bpf, tmp_path):
    on_f, on = record(tmp_path, "on.srec", [])
    _, off = record(tmp_path, "off.srec", ["--no-kstack-cache"])
    a, b = kstacks_by_origin(on), kstacks_by_origin(off)
    # socket, socketpair, accept, accept4 all seen
    assert {1, 2, 3, 4} <= set(a) and {1, 2, 3, 4} <= set(b), (set(a), set(b))
    for origin in (1, 2, 3, 4):
        assert set(a[origin]) == set(b[origin]), origin
        # same stacks in the same proportions (socketpair: two call sites)
        assert sorted(a[origin].values()) == sorted(b[origin].values()), origin
    m = meta(on)
    hits, checks = int(m["stats.kstack_cache.hits"]), int(m["stats.kstack_cache.checks"])
    assert hits > 800 and checks >= 1, m
    assert m["stats.kstack_cache.mismatches"] == "0"
    assert not [r for r in on if r["record"] == "loss" and r["kind"] == 8]
    assert sockreport_json("info", str(on_f))["kstack_cache_mismatches"] == 0
    # off: the counters say the cache did nothing
    mo = meta(off)
    assert mo["stats.kstack_cache.hits"] == "0" and mo["stats.kstack_cache.checks"] == "0"
