"""Skipped hook runs (LOSS kind 6) are noted only when they could have been
socket events (issue 16, item 11): the recorder writes them per hook
(META stats.hook_skips.<hook>); a skipped kmem_cache_alloc run is never a
socket (the nested run is in an interrupt, where no struct socket is
allocated), a skipped kmem_cache_free can only hide a release that then
shows as still open, so only `leaks` mentions it, and `info` shows all."""
import subprocess

from conftest import SOCKREPORT
from test_format import bb, block, file_header, rec, sv, uv


def meta(k, v):
    return rec(1, bb(k.encode()) + bb(v.encode()))


def loss(ts, count):
    # LOSS: ts T, window_ns U, cpu U, kind U, count U
    return rec(8, sv(ts) + uv(1000) + uv(0xFFFFFFFF) + uv(6) + uv(count))


def craft(path, per_hook):
    head = b"".join([meta("recording.start_ns", "1000000"), meta("backend", "tracepoint")])
    tail = [meta("recording.end_ns", "3000000"),
            meta("stats.hook_skips", str(sum(per_hook.values())))]
    tail += [meta("stats.hook_skips." + k, str(v)) for k, v in per_hook.items()]
    tail.append(meta("recording.complete", "1"))
    data = file_header(minor=2) + block(head, btype=1) + \
        block(loss(2000000, sum(per_hook.values())), btype=2, seq=1) + \
        block(b"".join(tail), btype=1, seq=2)
    path.write_bytes(data)
    return str(path)


def report(*args):
    p = subprocess.run([SOCKREPORT, *args], capture_output=True, text=True, timeout=60)
    assert p.returncode == 0, p.stderr
    return p


def test_slab_hook_skips_are_kept_to_info(tmp_path):
    f = craft(tmp_path / "slab.srec", {"kmem_cache_free": 4049, "kmem_cache_alloc": 3})
    for cmd in ("summary", "pairs", "latency", "leaks"):
        assert "skipped" not in report(cmd, f).stderr, cmd
    assert "4052 hook runs skipped by the kernel" in report("info", f).stdout


def test_skips_of_socket_hooks_are_noted(tmp_path):
    f = craft(tmp_path / "state.srec", {"kmem_cache_free": 40, "inet_sock_set_state": 2})
    err = report("summary", f).stderr
    assert "the kernel skipped 2 runs of the recorder's socket hooks" in err, err
