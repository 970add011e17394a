"""Offline symbolization of a real recording, far from the host: the same
file read with the binaries in place, moved away behind --debug-dir, with
nothing but the symbols embedded in the file, and with a rebuilt binary at
the old path (a build-id mismatch that must be said, never used)."""
import json
import os
import shutil
import subprocess

import pytest

from conftest import REPO_ROOT, SOCKREC, fixture_path, run_sockreport, sockreport_json
import srec_reader

CFLAGS = ["-std=c11", "-D_GNU_SOURCE", "-O1", "-g", "-fno-omit-frame-pointer"]


def build_app(d, variant=""):
    """libsockfix.so + libuser (rpath $ORIGIN) into directory d."""
    d.mkdir(exist_ok=True)
    # a rebuild with other code or flags gets another build-id; force one
    extra = ["-Wl,--build-id=0x%040x" % (0xbadc0de000 + int(variant))] if variant else []
    subprocess.run(["gcc", *CFLAGS, *extra, "-shared", "-fPIC",
                    os.path.join(REPO_ROOT, "tests/fixtures/lib/libsockfix.c"),
                    "-o", str(d / "libsockfix.so")], check=True)
    subprocess.run(["gcc", *CFLAGS, *extra, os.path.join(REPO_ROOT, "tests/fixtures/libuser.c"),
                    "-L", str(d), "-lsockfix", "-Wl,-rpath,$ORIGIN", "-o", str(d / "libuser")],
                   check=True)


def record_app(tmp_path, app, extra=()):
    out = tmp_path / ("app%s.srec" % len(list(tmp_path.glob("app*.srec"))))
    p = subprocess.run([SOCKREC, *extra, "-d", "20", "-o", str(out), "--",
                        fixture_path("spawner"), str(app / "libuser"), "1"],
                       capture_output=True, text=True, timeout=60)
    assert p.returncode == 0, p.stderr
    return out


def user_stacks(srec, *args):
    d = sockreport_json("leaks", *args, str(srec))
    return [g["user_stack"] for g in d["exit_released"]]


def build_ids(srec):
    recs, _ = srec_reader.read_file(str(srec))
    strings = {r["id"]: bytes.fromhex(r["bytes"]).decode() for r in recs if r["record"] == "string"}
    return {os.path.basename(strings[r["path"]]): r["build_id"]
            for r in recs if r["record"] == "module" and r["build_id"]}


def test_binaries_present(bpf, tmp_path):
    app = tmp_path / "app"
    build_app(app)
    srec = record_app(tmp_path, app)
    for st in user_stacks(srec):
        text = " ".join(st)
        assert "lib_make_socket+" in text and "libsockfix.c:" in text, st
        assert "main+" in text and "libuser.c:" in text, st


def test_moved_away_found_by_build_id_in_debug_dir(bpf, tmp_path):
    app = tmp_path / "app"
    build_app(app)
    srec = record_app(tmp_path, app, extra=["--no-embed-symbols"])
    ids = build_ids(srec)
    dbg = tmp_path / "dbg"
    for name in ("libuser", "libsockfix.so"):
        bid = ids[name]
        d = dbg / ".build-id" / bid[:2]
        d.mkdir(parents=True, exist_ok=True)
        shutil.copy(app / name, d / (bid[2:] + ".debug"))
    shutil.move(str(app), str(tmp_path / "elsewhere"))
    # without help: named as missing, with module and offset
    for st in user_stacks(srec):
        assert any("libsockfix.so+0x" in f and "not found" in f for f in st), st
    # with the debug dir: full names and lines again
    for st in user_stacks(srec, "--debug-dir", str(dbg)):
        text = " ".join(st)
        assert "lib_make_socket+" in text and "libsockfix.c:" in text, st
        assert "main+" in text and "libuser.c:" in text, st


def test_embedded_symbols_only(bpf, tmp_path):
    app = tmp_path / "app"
    build_app(app)
    srec = record_app(tmp_path, app)
    shutil.rmtree(app)  # nothing of the host's binaries is left
    for st in user_stacks(srec, "--sysroot", str(tmp_path / "empty")):
        text = " ".join(st)
        assert "lib_make_socket+" in text, st
        assert "main+" in text, st
    # what it costs: the embedded symbols are a small part of the file
    recs, _ = srec_reader.read_file(str(srec))
    assert 2 <= len([r for r in recs if r["record"] == "symbol"]) <= 20


def test_rebuilt_binary_is_a_mismatch_not_a_guess(bpf, tmp_path):
    app = tmp_path / "app"
    build_app(app)
    srec = record_app(tmp_path, app, extra=["--no-embed-symbols"])
    before = build_ids(srec)
    build_app(app, variant="2")  # same paths, new build-ids
    p = run_sockreport("leaks", "--json", "-v", str(srec))
    d = json.loads(p.stdout)
    for g in d["exit_released"]:
        st = g["user_stack"]
        assert any("libuser+0x" in f and "build-id mismatch" in f for f in st), st
        assert not any(f.startswith("main+") for f in st), st
    assert "mismatch" in p.stderr.lower()
    # the embedded symbols of a new recording would still be right
    srec2 = record_app(tmp_path, app)
    assert build_ids(srec2)["libuser"] != before["libuser"]
