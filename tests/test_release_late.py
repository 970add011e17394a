"""A socket free the kernel skips (a run of the free hook nested in another
is not run: the recursion guard) must not be overwritten silently when the
slab reuses the address: the recorder writes the missed release as RELEASE
how 8 ("reused", inferred) and counts it as LOSS kind 7, in the metadata
and in every report (issue 22).

The kernel's skips cannot be provoked at will, so the recorder's fault
injection (SOCKREC_TEST_SKIP_FREES=N: the free hook ignores the free of
every socket whose serial is a multiple of N) makes them happen; the rest
is the real recorder on a real workload, read back by the spec-only reader.
The workload releases its sockets with close_range(), which no hook sees:
their release is known only from the slab free, as for kernel sockets."""
import os
import subprocess

from conftest import SOCKREC, run_sockreport, sockreport_json
import srec_reader

N = 3000
SKIP = 7
WORKLOAD = ("import os, socket\n"
            "for _ in range(%d):\n"
            "    fd = socket.socket().detach()\n"
            "    os.closerange(fd, fd + 1)\n" % N)


def record(tmp_path, env_extra):
    out = tmp_path / "r.srec"
    env = dict(os.environ, **env_extra)
    p = subprocess.run([SOCKREC, "--backend", "tracepoint", "--no-stacks", "-o", str(out),
                        "--", "/usr/bin/python3", "-c", WORKLOAD],
                       capture_output=True, text=True, timeout=120, env=env)
    assert p.returncode == 0, p.stderr
    recs, st = srec_reader.read_file(str(out))
    assert not st["salvaged"], st
    return out, recs


def test_skipped_frees_give_inferred_releases(bpf, tmp_path):
    out, recs = record(tmp_path, {"SOCKREC_TEST_SKIP_FREES": str(SKIP)})
    allocs = {r["serial"] for r in recs if r["record"] == "alloc"}
    rel = {}
    for r in recs:
        if r["record"] == "release":
            assert r["serial"] not in rel, "two releases of one socket"
            rel[r["serial"]] = srec_reader.RELEASE_HOW[r["how"]]
    assert len(allocs) >= N
    reused = [s for s, how in rel.items() if how == "reused"]
    skipped = [s for s in allocs if s % SKIP == 0]
    # the slab hands a freed address out again, but when is the kernel's
    # (the inode is freed after an RCU grace period): 112 of 214 skipped
    # frees met a new socket at their address when this was written, 12
    # of 429 in a CI rehearsal under ASan.  Some must; each one that does
    # is checked below.
    assert reused and len(skipped) >= N // SKIP - 1, (len(reused), len(skipped))
    # only the sockets whose free was ignored are inferred, and those whose
    # free the kernel itself skipped (a real recursion miss of the free
    # hook under load, counted in the file: a CI rehearsal met one); those
    # whose address was not reused stay open (no release), none reads as freed
    meta = {bytes.fromhex(r["key"]).decode(): bytes.fromhex(r["value"]).decode()
            for r in recs if r["record"] == "meta"}
    real_skips = int(meta.get("stats.hook_skips.kmem_cache_free", "0"))
    unforced = [s for s in reused if s % SKIP]
    assert len(unforced) <= real_skips, (unforced, real_skips)
    assert all(rel.get(s) in (None, "reused") for s in skipped)
    assert all(how in ("freed", "reused") for s, how in rel.items() if s % SKIP)
    late = sum(r["count"] for r in recs
               if r["record"] == "loss" and srec_reader.LOSS_KINDS[r["kind"]] == "release_late")
    assert late == len(reused)
    assert meta.get("stats.releases_late") == str(late)
    info = sockreport_json("info", str(out))
    assert info["releases_late"] == late and info["lost_events"] == 0
    for cmd in ("summary", "leaks", "pairs"):
        p = run_sockreport(cmd, str(out))
        assert "%d releases were written late" % late in p.stderr, (cmd, p.stderr)


def test_no_injection_no_inferred_release_unaccounted(bpf, tmp_path):
    """Without the fault injection every socket here is freed and seen
    (how "freed"); any inferred release the kernel's own skips cause is
    counted, one for one."""
    _, recs = record(tmp_path, {"SOCKREC_TEST_SKIP_FREES": ""})
    hows = [srec_reader.RELEASE_HOW[r["how"]] for r in recs if r["record"] == "release"]
    late = sum(r["count"] for r in recs if r["record"] == "loss" and r["kind"] == 7)
    assert hows.count("reused") == late
    assert hows.count("freed") + late >= N - 5  # the last few may still be in RCU at the end
