"""Symbols for frames whose binaries are not on the reading machine: a real
debuginfod server (Debian's debuginfod, on 127.0.0.1 ports 171xx), `sockrec
archive` beside the recording, and JIT frames named from /tmp/perf-PID.map.
Each test records a real workload it starts itself."""
import json
import os
import shutil
import socket
import subprocess
import time
import urllib.request

import pytest

from conftest import REPO_ROOT, SOCKREC, SOCKREPORT, fixture_path

CFLAGS = ["-std=c11", "-D_GNU_SOURCE", "-O1", "-g", "-fno-omit-frame-pointer"]


def build_stripped_app(d):
    """libsockfix.so + libuser (rpath $ORIGIN) in d, stripped of every symbol
    table and of DWARF; returns {name: separate debug file} (in d/../debug)."""
    d.mkdir()
    dbg = d.parent / "debug"
    dbg.mkdir(exist_ok=True)
    subprocess.run(["gcc", *CFLAGS, "-shared", "-fPIC",
                    os.path.join(REPO_ROOT, "tests/fixtures/lib/libsockfix.c"),
                    "-o", str(d / "libsockfix.so")], check=True)
    subprocess.run(["gcc", *CFLAGS, os.path.join(REPO_ROOT, "tests/fixtures/libuser.c"),
                    "-L", str(d), "-lsockfix", "-Wl,-rpath,$ORIGIN", "-o", str(d / "libuser")],
                   check=True)
    out = {}
    for name in ("libsockfix.so", "libuser"):
        out[name] = dbg / (name + ".debug")
        subprocess.run(["objcopy", "--only-keep-debug", str(d / name), str(out[name])], check=True)
        subprocess.run(["strip", "--strip-all", str(d / name)], check=True)
    return out


def record(tmp_path, app, extra=("--no-embed-symbols",)):
    out = tmp_path / "app.srec"
    p = subprocess.run([SOCKREC, *extra, "-d", "20", "-o", str(out), "--",
                        fixture_path("spawner"), str(app / "libuser"), "1"],
                       capture_output=True, text=True, timeout=60)
    assert p.returncode == 0, p.stderr
    return out


def sockreport(*args, env=None, timeout=300):
    e = dict(os.environ)
    for k in list(e):
        if k.startswith("DEBUGINFOD_"):
            del e[k]
    e.update(env or {})
    return subprocess.run([SOCKREPORT, *args], capture_output=True, text=True, env=e,
                          timeout=timeout)


def leak_stacks(srec, *args, env=None):
    p = sockreport("leaks", "--json", *args, str(srec), env=env)
    assert p.returncode == 0, p.stderr
    return [g["user_stack"] for g in json.loads(p.stdout)["exit_released"]], p.stderr


def assert_named_with_lines(stacks):
    assert stacks
    for st in stacks:
        text = " ".join(st)
        assert "lib_make_socket+" in text and "libsockfix.c:" in text, st
        assert "main+" in text and "libuser.c:" in text, st


# ---------------------------------------------------------------- debuginfod


class Debuginfod:
    """debuginfod -F over a directory of ELF files, on 127.0.0.1:port."""

    def __init__(self, tmp_path, srvdir, port):
        self.port = port
        self.url = "http://127.0.0.1:%d" % port
        self.log = open(str(tmp_path / "debuginfod.log"), "w")
        self.p = subprocess.Popen(["debuginfod", "-p", str(port), "-F", str(srvdir),
                                   "-d", str(tmp_path / "debuginfod.sqlite"), "-t", "0",
                                   "-g", "0"],
                                  stdout=self.log, stderr=subprocess.STDOUT)

    def wait_indexed(self, build_ids):
        """Until the server answers for every build-id (its first scan ran)."""
        deadline = time.time() + 60
        for bid in build_ids:
            while True:
                assert self.p.poll() is None, "debuginfod exited"
                try:
                    urllib.request.urlopen("%s/buildid/%s/debuginfo" % (self.url, bid), timeout=5)
                    break
                except Exception:  # connection refused or 404 until the scan is done
                    assert time.time() < deadline, "debuginfod did not index " + bid
                    time.sleep(0.2)

    def stop(self):
        self.p.terminate()
        self.p.wait(timeout=30)
        self.log.close()


def build_id(path):
    out = subprocess.run(["readelf", "-n", str(path)], capture_output=True, text=True,
                         check=True).stdout
    return out.split("Build ID:")[1].split()[0]


def test_debuginfod_names_a_removed_stripped_binary(bpf, tmp_path):
    app = tmp_path / "app"
    debug = build_stripped_app(app)
    srec = record(tmp_path, app)
    srv = tmp_path / "srv"
    srv.mkdir()
    for name, dbg in debug.items():
        shutil.copy(str(dbg), str(srv / dbg.name))
        shutil.copy(str(app / name), str(srv / name))
    shutil.rmtree(str(app))
    bids = [build_id(srv / n) for n in debug]

    # no server: module and offset only, and no word about debuginfod
    stacks, err = leak_stacks(srec)
    for st in stacks:
        assert any("libsockfix.so+0x" in f and "not found" in f for f in st), st
    assert "debuginfod" not in err

    server = Debuginfod(tmp_path, srv, 17101)
    try:
        server.wait_indexed(bids)
        env = {"DEBUGINFOD_URLS": server.url, "DEBUGINFOD_CACHE_PATH": str(tmp_path / "cache")}
        stacks, err = leak_stacks(srec, "-v", env=env)
        assert_named_with_lines(stacks)
        # -v names each module's source of symbols
        assert "symbols for libsockfix.so: DWARF from debuginfod: " + str(tmp_path / "cache") in err
        assert "symbols for libuser: DWARF from debuginfod: " in err
        # the library's cache was used: the files are there by build-id
        for bid in bids:
            assert (tmp_path / "cache" / bid / "debuginfo").is_file()
            assert (tmp_path / "cache" / bid / "executable").is_file()
        # on a terminal: a progress line per download, erased when it ends
        cache3 = tmp_path / "cache3"
        p = subprocess.run(["script", "-qec", "%s leaks %s >/dev/null" % (SOCKREPORT, srec),
                            "/dev/null"], capture_output=True, timeout=120,
                           env=dict(os.environ, DEBUGINFOD_URLS=server.url,
                                    DEBUGINFOD_CACHE_PATH=str(cache3)))
        tty = p.stdout.decode()  # bytes: universal newlines would eat the \r
        assert p.returncode == 0, tty + p.stderr.decode()
        assert "\rsockreport: debuginfod: libsockfix.so debug info: " in tty, repr(tty)
        assert "\rsockreport: debuginfod: libuser executable: " in tty, repr(tty)
        assert tty.endswith("\r\x1b[K"), repr(tty)
        # not on a terminal (above): no progress line
        assert "KiB" not in err
        # --no-debuginfod: not asked
        stacks, err = leak_stacks(srec, "-v", "--no-debuginfod",
                                  env={"DEBUGINFOD_URLS": server.url,
                                       "DEBUGINFOD_CACHE_PATH": str(tmp_path / "cache2")})
        assert not (tmp_path / "cache2").exists()
        for st in stacks:
            assert any("libsockfix.so+0x" in f and "not found" in f for f in st), st
    finally:
        server.stop()


def test_debuginfod_silent_server_costs_one_timeout(bpf, tmp_path):
    """A server that accepts and never answers: one request times out, the
    other modules are not asked; the warning says so once."""
    app = tmp_path / "app"
    build_stripped_app(app)
    srec = record(tmp_path, app)
    shutil.rmtree(str(app))
    lsock = socket.socket()
    lsock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    lsock.bind(("127.0.0.1", 17102))
    lsock.listen(64)
    try:
        env = {"DEBUGINFOD_URLS": "http://127.0.0.1:17102", "DEBUGINFOD_TIMEOUT": "1",
               "DEBUGINFOD_RETRY_LIMIT": "0", "DEBUGINFOD_CACHE_PATH": str(tmp_path / "cache")}
        t0 = time.time()
        stacks, err = leak_stacks(srec, "-v", env=env)
        took = time.time() - t0
    finally:
        lsock.close()
    assert err.count("WARNING: debuginfod") == 1, err
    assert "not asked again in this run" in err
    # two modules miss; each would wait one timeout: only one did
    assert err.count("not asked again after") >= 1
    assert took < 1 + 4, took
    for st in stacks:
        assert any("libuser+0x" in f and "not found" in f for f in st), st


# ---------------------------------------------------------------- sockrec archive


def archive(srec, *args):
    return subprocess.run([SOCKREC, "archive", *args, str(srec)], capture_output=True,
                          text=True, timeout=120)


def test_archive_travels_with_the_recording(bpf, tmp_path):
    app = tmp_path / "app"
    debug = build_stripped_app(app)
    # libsockfix.so finds its debug file through .gnu_debuglink (beside
    # it, CRC checked); libuser is a full binary with DWARF again
    shutil.copy(str(debug["libsockfix.so"]), str(app / "libsockfix.so.debug"))
    subprocess.run(["objcopy", "--add-gnu-debuglink=libsockfix.so.debug", "libsockfix.so"],
                   cwd=str(app), check=True)
    subprocess.run(["gcc", *CFLAGS, os.path.join(REPO_ROOT, "tests/fixtures/libuser.c"),
                    "-L", str(app), "-lsockfix", "-Wl,-rpath,$ORIGIN", "-o",
                    str(app / "libuser")], check=True)
    srec = record(tmp_path, app)
    p = archive(srec)
    assert p.returncode == 0, p.stderr
    out = p.stdout
    arch = tmp_path / "app.srec.archive"
    assert "%s -> %s/" % (srec, arch) in out
    lines = {ln.split()[0]: ln for ln in out.splitlines() if ln.startswith("  /")}
    assert "binary" in lines[str(app / "libuser")]
    assert "debug file" in lines[str(app / "libsockfix.so")]
    assert "(from %s)" % (app / "libsockfix.so.debug") in lines[str(app / "libsockfix.so")]
    # the summary names the totals and the size, which is the files' size
    files = [f for f in arch.rglob("*") if f.is_file()]
    size = sum(f.stat().st_size for f in files)
    assert size > 0 and "binaries" in out and "debug files" in out, out
    for f in files:
        assert f.stat().st_mode & 0o777 == 0o600, f
        # keyed by build-id: the name is the file's own build-id
        bid = build_id(f)
        assert str(f).endswith("/.build-id/%s/%s%s" % (bid[:2], bid[2:],
                                                         ".debug" if f.suffix == ".debug" else ""))
    # again: refused, the archive exists
    p = archive(srec)
    assert p.returncode == 1 and "exists (use --force" in p.stderr
    assert archive(srec, "--force").returncode == 0

    # to the workstation: the binaries gone, the two files elsewhere
    shutil.rmtree(str(app))
    ws = tmp_path / "workstation"
    ws.mkdir()
    shutil.move(str(srec), str(ws / "app.srec"))
    shutil.move(str(arch), str(ws / "app.srec.archive"))
    stacks, err = leak_stacks(ws / "app.srec", "-v")
    assert_named_with_lines(stacks)
    assert "using the archive %s beside the recording" % (ws / "app.srec.archive") in err
    assert "symbols for libsockfix.so: DWARF from a debug dir: %s/.build-id/" % (
        ws / "app.srec.archive") in err
    # a report over several files uses the archive beside any of them
    # (here the third: only the first two were looked at once)
    shutil.copy(str(ws / "app.srec"), str(ws / "b.srec"))
    shutil.copy(str(ws / "app.srec"), str(ws / "c.srec"))
    p = sockreport("leaks", "-v", str(ws / "b.srec"), str(ws / "c.srec"), str(ws / "app.srec"))
    assert p.returncode == 0, p.stderr
    assert "using the archive %s beside the recording" % (ws / "app.srec.archive") in p.stderr
    # and renamed, through --debug-dir
    shutil.move(str(ws / "app.srec.archive"), str(ws / "bundle"))
    stacks, _ = leak_stacks(ws / "app.srec")
    for st in stacks:
        assert any("libsockfix.so+0x" in f and "not found" in f for f in st), st
    stacks, _ = leak_stacks(ws / "app.srec", "--debug-dir", str(ws / "bundle"))
    assert_named_with_lines(stacks)


def test_archive_symlinks(bpf, tmp_path):
    """The path above the archive is the user's (a symlinked directory is
    followed, as /var/run is); inside the archive nothing is followed."""
    app = tmp_path / "app"
    build_stripped_app(app)
    srec = record(tmp_path, app)
    real = tmp_path / "real"
    real.mkdir()
    shutil.move(str(srec), str(real / "app.srec"))
    os.symlink(str(real), str(tmp_path / "via"))
    p = archive(tmp_path / "via" / "app.srec")
    assert p.returncode == 0, p.stderr
    assert [f for f in (real / "app.srec.archive" / ".build-id").rglob("*") if f.is_file()], \
        p.stdout
    # a symlink planted where .build-id goes is refused, never written through
    shutil.rmtree(str(real / "app.srec.archive"))
    (real / "app.srec.archive").mkdir(mode=0o700)
    elsewhere = tmp_path / "elsewhere"
    elsewhere.mkdir()
    os.symlink(str(elsewhere), str(real / "app.srec.archive" / ".build-id"))
    p = archive(real / "app.srec", "--force")
    assert p.returncode == 1 and ".build-id" in p.stderr, p.stderr
    assert not list(elsewhere.iterdir())


def test_archive_checks_recorded_build_ids(bpf, tmp_path):
    app = tmp_path / "app"
    build_stripped_app(app)
    srec = record(tmp_path, app)
    # rebuilt after the recording: another build-id, not archived
    subprocess.run(["gcc", *CFLAGS, "-Wl,--build-id=0x%040x" % 0xbadc0de17,
                    os.path.join(REPO_ROOT, "tests/fixtures/libuser.c"), "-L", str(app),
                    "-lsockfix", "-Wl,-rpath,$ORIGIN", "-o", str(app / "libuser")], check=True)
    p = archive(srec)
    assert p.returncode == 0, p.stderr
    assert "%s NOT archived: the file has another build-id" % str(app / "libuser") in \
        " ".join(p.stdout.split()), p.stdout
    assert "1 modules NOT archived" in p.stdout
    assert not list((tmp_path / "app.srec.archive").rglob("*badc0de17*"))
    # bad input: one line, non-zero
    bad = tmp_path / "junk.srec"
    bad.write_bytes(b"not a recording")
    p = archive(bad)
    assert p.returncode == 1 and len(p.stderr.splitlines()) == 1, p.stderr
    assert not (tmp_path / "junk.srec.archive").exists()


# ---------------------------------------------------------------- JIT: perf maps

NODE_PROGRAM = r"""
const net = require('net');
function openSocketFromJs(port) {
  const srv = net.createServer();
  srv.listen(port);  // no host: bound at once, from this function
  return srv;
}
openSocketFromJs(17103);
setTimeout(() => process.exit(0), 300);
"""


def test_node_perf_map_names_jit_frames(bpf, tmp_path):
    node = shutil.which("node") or shutil.which("nodejs")
    assert node, "node is not installed (tests/install-deps.sh installs nodejs)"
    js = tmp_path / "open.js"
    js.write_text(NODE_PROGRAM)
    srec = tmp_path / "node.srec"
    # --interpreted-frames-native-stack: each interpreted function gets its
    # own copy of the interpreter entry, named in the perf map (node's docs)
    before = set(os.listdir("/tmp"))
    try:
        p = subprocess.run([SOCKREC, "-d", "30", "-o", str(srec), "--", node,
                            "--perf-basic-prof", "--interpreted-frames-native-stack", str(js)],
                           capture_output=True, text=True, timeout=60, cwd=str(tmp_path))
        assert p.returncode == 0, p.stderr
        groups = json.loads(sockreport("leaks", "--json", str(srec)).stdout)["exit_released"]
        pids = {x["pid"] for g in groups for x in g["processes"] if x["comm"] == "node"}
        assert len(pids) == 1, groups
        assert os.path.isfile("/tmp/perf-%d.map" % pids.pop())
    finally:
        # the map is not needed to read the recording: the names hit are in it
        for f in set(os.listdir("/tmp")) - before:
            if f.startswith("perf-") and f.endswith(".map"):
                os.unlink("/tmp/" + f)
    p = sockreport("leaks", "--json", str(srec))
    assert p.returncode == 0, p.stderr
    stacks = [g["user_stack"] for g in json.loads(p.stdout)["exit_released"]]
    hits = [f for st in stacks for f in st if "openSocketFromJs" in f]
    # named from the perf map, in the process's anonymous-code module, with
    # the script's file:line as V8 writes it
    assert any("[anon pid " in f and "open.js:3" in f for f in hits), stacks
    # its callee, net.Server.listen, is a JIT frame too
    assert any("Server.listen" in f and "[anon pid " in f for st in stacks for f in st), stacks


# ---------------------------------------------------------------- MiniDebugInfo


def minidebuginfo(binary, work):
    """Gives binary a .gnu_debugdata section as Fedora's find-debuginfo does
    (nm, objcopy --keep-symbols, xz, objcopy --add-section) and strips its
    .symtab and DWARF."""
    work.mkdir()
    nm = lambda *a: subprocess.run(["nm", *a, "--format=posix", "--defined-only", str(binary)],
                                   capture_output=True, text=True, check=True).stdout
    dynsyms = {ln.split()[0] for ln in nm("-D").splitlines() if ln.split()}
    funcs = {ln.split()[0] for ln in nm().splitlines()
             if len(ln.split()) > 1 and ln.split()[1] in ("T", "t")}
    (work / "keep").write_text("".join(n + "\n" for n in sorted(funcs - dynsyms)))
    subprocess.run(["objcopy", "--only-keep-debug", str(binary), str(work / "debug")], check=True)
    subprocess.run(["objcopy", "-S", "--remove-section", ".gdb_index", "--remove-section",
                    ".comment", "--keep-symbols=" + str(work / "keep"), str(work / "debug"),
                    str(work / "mini")], check=True)
    subprocess.run(["xz", str(work / "mini")], check=True)
    subprocess.run(["strip", "--strip-all", str(binary)], check=True)
    subprocess.run(["objcopy", "--add-section", ".gnu_debugdata=%s" % (work / "mini.xz"),
                    str(binary)], check=True)
    sections = subprocess.run(["readelf", "-SW", str(binary)], capture_output=True, text=True,
                              check=True).stdout
    assert ".gnu_debugdata" in sections and ".symtab" not in sections
    assert ".debug_info" not in sections


def test_minidebuginfo_names_frames(bpf, tmp_path):
    app = tmp_path / "app"
    build_stripped_app(app)
    # libuser again, unstripped, then given MiniDebugInfo: main is not in
    # an executable's .dynsym, only in .gnu_debugdata
    subprocess.run(["gcc", *CFLAGS, os.path.join(REPO_ROOT, "tests/fixtures/libuser.c"),
                    "-L", str(app), "-lsockfix", "-Wl,-rpath,$ORIGIN", "-o",
                    str(app / "libuser")], check=True)
    minidebuginfo(app / "libuser", tmp_path / "mdi")
    # the reader reads it from the binary
    srec = record(tmp_path, app)
    stacks, err = leak_stacks(srec, "-v")
    for st in stacks:
        assert any(f.startswith("main+0x") and "(libuser)" in f for f in st), st
    assert "symbols for libuser: MiniDebugInfo (.gnu_debugdata) from the recorded path" in err
    # the recorder embeds it: named without the binary
    os.unlink(str(srec))
    srec = record(tmp_path, app, extra=())
    shutil.rmtree(str(app))
    stacks, err = leak_stacks(srec, "-v")
    for st in stacks:
        assert any(f.startswith("main+0x") and "(libuser)" in f for f in st), st
    assert "symbols for libuser: embedded in the recording" in err


def test_perf_map_trampolines_named(bpf, tmp_path):
    """CPython -X perf's scheme (a trampoline per function in anonymous
    code, named py::NAME:FILE in the perf map), with a name written after
    the recorder's first read of the map."""
    srec = tmp_path / "jit.srec"
    p = subprocess.run([SOCKREC, "-d", "20", "-o", str(srec), "--", fixture_path("jitfix")],
                       capture_output=True, text=True, timeout=60)
    perfmap = p.stdout.split()[-1] if p.stdout.split() else ""
    if perfmap.startswith("/tmp/perf-"):
        os.unlink(perfmap)
    assert p.returncode == 0 and perfmap.startswith("/tmp/perf-"), (p.stdout, p.stderr)
    stacks, _ = leak_stacks(srec)
    frames = sorted(f for st in stacks for f in st if "[anon pid " in f)
    pid = perfmap[len("/tmp/perf-"):-len(".map")]
    # the return address is 6 bytes into each trampoline (after its call)
    assert frames == ["py::first_trampoline:/srv/jit.py+0x6 ([anon pid %s])" % pid,
                      "py::second_trampoline:/srv/jit.py+0x6 ([anon pid %s])" % pid], stacks
    for st in stacks:
        i = next(i for i, f in enumerate(st) if "[anon pid " in f)
        assert st[i - 1].startswith("make_socket+") and st[i + 1].startswith("main+"), st
