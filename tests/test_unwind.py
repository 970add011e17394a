"""User stacks unwound from CFI (--user-stacks=dwarf, the default) through
code built without frame pointers: the nofp fixtures (-O2
-fomit-frame-pointer: a chain across a shared library, a dlopen'd library, a
thread), and Debian's own curl, wget and python3 against a local server.

Every frame of each fixture chain must be in the recorded stack down to the
thread's start, the stack must say how it was unwound, and no frame may lie
outside a mapped module (no made-up frames)."""
import os
import re
import shlex
import socket
import subprocess
import time

import pytest

from conftest import SOCKREC, fixture_path, run_sockreport, sockreport_json
import srec_reader
from test_symbolize import loads  # PT_LOAD (offset, vaddr, filesz)

PORT = 15080  # issue 15's range: other helpers' tests run concurrently

LIB_CHAIN = ["__socket", "lib_l4", "lib_l3", "lib_l2", "lib_l1", "m4", "m3", "m2", "m1", "main",
             "__libc_start_call_main", "__libc_start_main", "_start"]
DL_CHAIN = ["__socket", "dl_d4", "dl_d3", "dl_d2", "dl_d1", "m_dl", "main",
            "__libc_start_call_main", "__libc_start_main", "_start"]
THREAD_CHAIN = ["__socket", "t4", "t3", "t2", "t1", "t_start", "start_thread", "clone3"]
END_NOTE = "[unwound with CFI to the thread's start]"


def func_of(line):
    """'m4.constprop.0+0xe (nofp_chain) f.c:26' -> 'm4'."""
    name = re.split(r"[+ ]", line, 1)[0]
    return name.split(".", 1)[0]


def record(tmp_path, cmd, extra=(), name="u.srec"):
    out = tmp_path / name
    p = subprocess.run([SOCKREC, *extra, "-d", "60", "-o", str(out), "--", *cmd],
                       capture_output=True, text=True, timeout=120)
    assert p.returncode == 0, p.stderr
    return out


def exit_released_stacks(srec):
    d = sockreport_json("leaks", "--older", "0", str(srec))
    return [g["user_stack"] for g in d["exit_released"]]


def stack_for(stacks, leaf_func):
    found = [s for s in stacks if any(func_of(l) == leaf_func for l in s)]
    assert len(found) == 1, (leaf_func, stacks)
    return found[0]


def test_nofp_chains_reach_the_thread_start(bpf, tmp_path):
    srec = record(tmp_path, [fixture_path("nofp/nofp_chain")])
    stacks = exit_released_stacks(srec)
    for leaf, chain in (("lib_l4", LIB_CHAIN), ("dl_d4", DL_CHAIN), ("t4", THREAD_CHAIN)):
        st = stack_for(stacks, leaf)
        # every frame, in order, nothing between them, and the note last
        assert [func_of(l) for l in st[:-1]] == chain, st
        assert st[-1] == END_NOTE, st
    # the file says the same, read by the spec-only reader: CFI, reached
    # the end, every frame in a mapped module
    recs, status = srec_reader.read_file(str(srec))
    assert not status["salvaged"]
    ustacks = {r["id"]: r for r in recs if r["record"] == "stack" and r["kind"] == 2}
    allocs = [r for r in recs if r["record"] == "alloc"]
    assert len(allocs) == 3
    for a in allocs:
        st = ustacks[a["ustack"]]
        assert (st["method"], st["stop"]) == (2, 1), st
        assert all(st["modules"]), st


def test_frame_pointer_walk_stays_selectable(bpf, tmp_path):
    srec = record(tmp_path, [fixture_path("nofp/nofp_chain")], extra=["--user-stacks", "fp"])
    recs, _ = srec_reader.read_file(str(srec))
    meta = {bytes.fromhex(r["key"]).decode(): bytes.fromhex(r["value"]).decode()
            for r in recs if r["record"] == "meta"}
    assert meta["stacks.user"] == "fp"
    for st in exit_released_stacks(srec):
        assert st[-1] == "[unwound with frame pointers]", st
        assert func_of(st[0]) == "__socket", st
    ustacks = [r for r in recs if r["record"] == "stack" and r["kind"] == 2]
    assert ustacks and all(r["method"] == 1 for r in ustacks)


def test_copy_limit_stops_with_a_reason_not_garbage(bpf, tmp_path):
    # main and m_dl hold 4 KiB buffers: with a 512-byte copy their frames
    # are out of reach, and the stack must end there and say so
    srec = record(tmp_path, [fixture_path("nofp/nofp_chain")], extra=["--stack-copy", "512"])
    stacks = exit_released_stacks(srec)
    for leaf, chain in (("lib_l4", LIB_CHAIN), ("dl_d4", DL_CHAIN)):
        st = stack_for(stacks, leaf)
        frames = [func_of(l) for l in st[:-1]]
        assert frames == chain[:len(frames)] and len(frames) < len(chain), st
        assert st[-1].startswith("[unwinding stopped: stack copy limit reached"), st
    # the thread's stack is shallow: still complete
    st = stack_for(stacks, "t4")
    assert [func_of(l) for l in st[:-1]] == THREAD_CHAIN and st[-1] == END_NOTE, st
    # the budget is counted, and `info` shows it
    info = run_sockreport("info", str(srec)).stdout
    assert re.search(r"^unwinding: +3 user stacks; ended:.* copy_limit 2\b", info, re.M), info


def test_bad_stack_copy_size_is_refused(tmp_path):
    p = subprocess.run([SOCKREC, "--stack-copy", "100", "-o", str(tmp_path / "x.srec"), "--",
                        "true"], capture_output=True, text=True, timeout=30)
    assert p.returncode != 0 and "--stack-copy" in p.stderr
    assert not (tmp_path / "x.srec").exists()
    p = subprocess.run([SOCKREC, "--user-stacks", "lbr", "-o", str(tmp_path / "x.srec"), "--",
                        "true"], capture_output=True, text=True, timeout=30)
    assert p.returncode != 0 and "--user-stacks" in p.stderr


# ---- Debian's own binaries (stripped, no frame pointers) ----

def dynsym_range(path, name):
    """[start, end) ELF address of a .dynsym function (nm -D -S)."""
    out = subprocess.run(["nm", "-D", "-S", "--defined-only", path], capture_output=True,
                         text=True, check=True).stdout
    for line in out.splitlines():
        f = line.split()
        if len(f) == 4 and f[3].split("@")[0] == name:
            return int(f[0], 16), int(f[0], 16) + int(f[1], 16)
    raise AssertionError("%s not in %s's .dynsym" % (name, path))


def off_to_vaddr(segs, off):
    for o, v, n in segs:
        if o <= off < o + n:
            return off - o + v
    return None


@pytest.fixture(scope="module")
def http_server(tmp_path_factory):
    d = tmp_path_factory.mktemp("www")
    (d / "index.html").write_text("hello\n")
    srv = subprocess.Popen(["/usr/bin/python3", "-m", "http.server", str(PORT), "--bind",
                            "127.0.0.1", "--directory", str(d)],
                           stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    for _ in range(100):
        try:
            socket.create_connection(("127.0.0.1", PORT), timeout=0.2).close()
            break
        except OSError:
            time.sleep(0.1)
    else:
        srv.kill()
        pytest.fail("python3 -m http.server did not start on port %d" % PORT)
    if srv.poll() is not None:  # another process answered: not our server
        pytest.fail("port %d is taken by another process" % PORT)
    yield "http://127.0.0.1:%d/" % PORT
    srv.terminate()
    srv.wait(timeout=10)


PY_CLIENT = ("import urllib.request as u\n"
             "for _ in range(5): u.urlopen('%s').read()\n")


@pytest.mark.parametrize("prog", ["curl", "wget", "python3"])
def test_debian_programs_reach_libc_start(bpf, tmp_path, http_server, prog):
    exe = "/usr/bin/" + prog
    client = {"curl": [exe, "-s", "-o", "/dev/null", http_server],
              "wget": [exe, "-q", "-O", "/dev/null", http_server],
              "python3": [exe, "-c", PY_CLIENT % http_server]}[prog]
    script = " ; ".join([" ".join(shlex.quote(a) for a in client)] * 4)
    srec = record(tmp_path, ["/bin/sh", "-c", script])
    recs, status = srec_reader.read_file(str(srec))
    assert not status["salvaged"]
    strings = {r["id"]: bytes.fromhex(r["bytes"]).decode() for r in recs
               if r["record"] == "string"}
    modules = {r["id"]: strings.get(r["path"], "") for r in recs if r["record"] == "module"}
    stacks = {r["id"]: r for r in recs if r["record"] == "stack" and r["kind"] == 2}
    real_exe = os.path.realpath(exe)
    # by comm: a process gone before the recorder read /proc has no exe path
    allocs = [r for r in recs if r["record"] == "alloc" and strings.get(r["comm"]) == prog]
    assert len(allocs) >= 4, (prog, len(allocs))

    libc_path = next(p for p in modules.values() if os.path.basename(p) == "libc.so.6")
    lo, hi = dynsym_range(libc_path, "__libc_start_main")
    libc_segs = loads(libc_path)
    reached, bad = 0, []
    for a in allocs:
        st = stacks.get(a["ustack"])
        assert st, "alloc without a user stack: %r" % a
        # no frame outside a mapped module, ever
        assert all(st["modules"]), st
        mods = [modules[m] for m in st["modules"]]
        ok = (st["stop"] == 1 and len(mods) >= 3
              # _start in the executable, called by __libc_start_main in libc
              and os.path.realpath(mods[-1]) == real_exe
              and os.path.basename(mods[-2]) == "libc.so.6"
              and lo <= off_to_vaddr(libc_segs, st["frames"][-2] - 1) < hi)
        reached += ok
        if not ok:
            bad.append((st, mods))
    assert reached >= 0.95 * len(allocs), (prog, reached, len(allocs), bad[:3])
