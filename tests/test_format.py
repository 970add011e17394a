"""Tests of the .srec format: the C writer (through tests/fixtures/srec_gen),
the independent Python reader (tests/srec_reader.py), the golden files in
tests/data/, and agreement between the Python reader and the C reader
(`build/sockreport dump --json`).

None of these tests needs root or BPF."""

import collections
import json
import os
import random
import stat
import struct
import subprocess
import sys

import pytest

from conftest import (DATA_DIR, REPO_ROOT, SOCKREPORT, TESTS_DIR, block_offsets,
                      make_flipped, make_truncated)
import srec_reader as R

EXPECT_PATH = os.path.join(DATA_DIR, "golden-v1.0.expect.json")
with open(EXPECT_PATH) as _f:
    EXPECT = {k: v for k, v in json.load(_f).items() if not k.startswith("_")}
GOLDEN_FILES = sorted(EXPECT)

ALL_TYPES = ["meta", "string", "module", "stack", "process", "mapping", "ksym", "loss",
             "alloc", "release", "sockinfo", "state", "connect", "accept", "fork", "exec",
             "exit", "preexist"]
STATUS_KEYS = ["major", "minor", "salvaged", "first_error", "first_error_offset",
               "blocks_ok", "blocks_bad", "blocks_unknown", "records", "records_unknown"]
# status fields both readers must agree on
COMPARED_STATUS = ["salvaged", "blocks_ok", "blocks_bad", "records", "records_unknown",
                   "first_error_offset", "blocks_index", "index"]


def golden(name):
    return os.path.join(DATA_DIR, name)


def counts(records):
    c = collections.Counter(r["record"] for r in records)
    return {t: c.get(t, 0) for t in ALL_TYPES}


def split_meta(records):
    """The writer puts META records in their own blocks, so only the
    relative order inside each of the two streams is defined."""
    return ([r for r in records if r["record"] == "meta"],
            [r for r in records if r["record"] != "meta"])


def run_gen(gen, out, *args):
    """Run srec_gen with --print; returns the records it says it wrote."""
    p = subprocess.run([gen, str(out), "--print", *args], capture_output=True, text=True)
    assert p.returncode == 0, "srec_gen failed: %s" % p.stderr
    return [json.loads(line) for line in p.stdout.splitlines()]


# ------------------------------------------------------------- the encoder
# A minimal spec-level encoder, to craft files the writer cannot produce.

def uv(v):
    out = bytearray()
    while True:
        b = v & 0x7F
        v >>= 7
        if v:
            out.append(b | 0x80)
        else:
            out.append(b)
            return bytes(out)


def sv(v):
    return uv(((v << 1) ^ (v >> 63)) & ((1 << 64) - 1))


def bb(b):
    return uv(len(b)) + b


def rec(rtype, body):
    return uv(rtype) + uv(len(body)) + body


def file_header(major=1, minor=0, hdr_len=32, crc=None):
    h = R.MAGIC + struct.pack("<IHHIII", 0x1A2B3C4D, major, minor, hdr_len, 0, 0)
    return h + struct.pack("<I", R.crc32c(h) if crc is None else crc)


def block(payload, btype=2, codec=0, raw_len=None, seq=0, bad_crc=False, tail=0xB5424C4B):
    raw_len = len(payload) if raw_len is None else raw_len
    pcrc = R.crc32c(payload) ^ (1 if bad_crc else 0)
    h = struct.pack("<IHHIIIIQQI", 0xB54B4C42, btype, codec, len(payload), raw_len, 1, pcrc,
                    0, 0, seq)
    h += struct.pack("<I", R.crc32c(h))
    pad = (-len(payload)) % 8
    return h + payload + b"\0" * pad + struct.pack("<II", 48 + len(payload) + pad + 8, tail)


def ev(ts=1000, pid=10, tid=11, comm=0, cpu=1):
    return sv(ts) + uv(pid) + uv(tid) + uv(comm) + uv(cpu)


FORK = rec(22, ev() + uv(77))
FORK_DICT = {"record": "fork", "ts": 1000, "pid": 10, "tid": 11, "comm": 0, "cpu": 1,
             "child": 77}


def read(tmp_path, data, name="x.srec"):
    p = tmp_path / name
    p.write_bytes(data)
    return R.read_file(str(p))


# ----------------------------------------------------------------- basics

def test_crc32c_check_value():
    assert R.crc32c(b"123456789") == 0xE3069283
    assert R.crc32c(b"") == 0
    assert R.crc32c(b"56789", R.crc32c(b"1234")) == 0xE3069283


def test_varint_and_zigzag_roundtrip(tmp_path):
    vals = [0, 1, -1, 63, -64, 64, 1 << 31, -(1 << 31), (1 << 63) - 1, -(1 << 63)]
    # KSYM.off is a 64-bit I field; KSYM.size a U field
    recs = b"".join(rec(7, sv(v) + uv(1) + uv(0) + uv(0)) for v in vals)
    recs += rec(7, sv(-1) + uv((1 << 64) - 1) + uv(0) + uv(0))
    records, st = read(tmp_path, file_header() + block(recs))
    assert not st["salvaged"]
    assert [r["off"] for r in records[:-1]] == vals
    assert records[-1] == {"record": "ksym", "off": -1, "size": (1 << 64) - 1, "name": 0,
                           "kmod": 0}


# -------------------------------------------------- the generator, fresh

def test_generator_fresh_output(srec_gen_bin, tmp_path):
    out = tmp_path / "fresh.srec"
    expected = run_gen(srec_gen_bin, out)
    assert stat.S_IMODE(os.stat(out).st_mode) == 0o600
    records, st = R.read_file(str(out))
    assert st["salvaged"] is False, st
    assert st["first_error"] == "" and st["first_error_offset"] is None
    assert st["blocks_bad"] == 0 and st["blocks_unknown"] == 0 and st["records_unknown"] == 0
    assert (st["major"], st["minor"]) == (1, 3)
    assert st["index"] == "valid" and st["blocks_index"] == 1
    # value for value what the generator wrote (independent of both readers)
    assert split_meta(records) == split_meta(expected)
    assert st["records"] == len(expected)
    c = counts(records)
    assert all(c[t] > 0 for t in ALL_TYPES), c
    data = out.read_bytes()
    types = [b[1] for b in block_offsets(data)]
    assert types.count(2) >= 4 and types.count(1) >= 2, types
    assert types[-1] == 3 and types.count(3) == 1, types  # the index ends the file
    # what the spec asks of the file's contents
    metas = {bytes.fromhex(r["key"]): bytes.fromhex(r["value"]) for r in records
             if r["record"] == "meta"}
    assert metas[b"recording.complete"] == b"1"
    assert [r for r in records if r["record"] == "meta"][-1]["key"] == \
        b"recording.complete".hex()
    assert any(r["record"] == "stack" and r["kind"] == 2 and "modules" in r for r in records)
    assert any(r["record"] == "stack" and r["kind"] == 1 and "modules" not in r
               for r in records)
    assert any(len(r.get("daddr", "")) == 32 for r in records)  # 16-byte IPv6
    assert any(r["record"] == "ksym" and r["off"] < 0 for r in records)
    assert any(r.get("fd", 0) < 0 for r in records)
    ts = [r["ts"] for r in records if "ts" in r]
    assert any(b < a for a, b in zip(ts, ts[1:])), "no timestamp goes backwards"


def test_generator_is_deterministic_and_matches_golden_counts(srec_gen_bin, tmp_path):
    a = tmp_path / "a.srec"
    b = tmp_path / "b.srec"
    ra = run_gen(srec_gen_bin, a)
    rb = run_gen(srec_gen_bin, b)
    assert ra == rb
    records, _st = R.read_file(str(a))
    # the generator still writes what the golden file holds
    assert counts(records) == EXPECT["golden-v1.0.srec"]["counts"]


def test_generator_unknown_output(srec_gen_bin, tmp_path):
    out = tmp_path / "unknown.srec"
    expected = run_gen(srec_gen_bin, out, "--unknown")
    records, st = R.read_file(str(out))
    assert st["salvaged"] is False, st
    assert st["records_unknown"] == 2
    assert st["blocks_unknown"] == 1
    assert st["blocks_bad"] == 0
    assert split_meta(records) == split_meta(expected)
    # the CONNECT with absent trailing fields reads them as 0 / empty
    short = [r for r in records if r["record"] == "connect" and r["dport"] == 8443]
    assert len(short) == 1
    s = short[0]
    assert s["daddr"] == "" and s["dur_ns"] == 0 and s["ret"] == 0 and s["ustack"] == 0
    assert s["fd"] == -9
    assert records[-1] == {"record": "meta", "key": b"recording.complete".hex(),
                           "value": b"1".hex()}


def test_generator_never_overwrites(srec_gen_bin, tmp_path):
    existing = tmp_path / "exists.srec"
    existing.write_bytes(b"keep me")
    p = subprocess.run([srec_gen_bin, str(existing)], capture_output=True, text=True)
    assert p.returncode != 0
    assert existing.read_bytes() == b"keep me"
    link = tmp_path / "link.srec"
    os.symlink(str(tmp_path / "target.srec"), str(link))
    p = subprocess.run([srec_gen_bin, str(link)], capture_output=True, text=True)
    assert p.returncode != 0
    assert not (tmp_path / "target.srec").exists()


# ------------------------------------------------------------ golden files

@pytest.mark.parametrize("name", GOLDEN_FILES)
def test_golden_python_reader(name):
    exp = EXPECT[name]
    records, st = R.read_file(golden(name))
    # files of format 1.0 have no index: their entries predate the keys
    for k in STATUS_KEYS + [k for k in ("blocks_index", "index") if k in exp]:
        assert st[k] == exp[k], (k, st, exp)
    if "index" not in exp:
        assert st["index"] == "absent" and st["blocks_index"] == 0
    assert counts(records) == exp["counts"]
    assert st["records"] == len(records) == sum(exp["counts"].values())


def test_golden_damaged_files_are_their_derivations():
    with open(golden("golden-v1.0.srec"), "rb") as f:
        g = f.read()
    with open(golden("golden-v1.0-truncated.srec"), "rb") as f:
        assert f.read() == make_truncated(g)
    with open(golden("golden-v1.0-flipped.srec"), "rb") as f:
        assert f.read() == make_flipped(g)
    made = EXPECT["golden-v1.0-truncated.srec"]["made_from"]
    assert len(make_truncated(g)) == made["truncate_to"]
    made = EXPECT["golden-v1.0-flipped.srec"]["made_from"]
    diff = [i for i, (a, b) in enumerate(zip(g, make_flipped(g))) if a != b]
    assert diff == [made["xor_offset"]]


def test_golden_salvage_keeps_every_intact_block():
    with open(golden("golden-v1.0.srec"), "rb") as f:
        g = f.read()
    full, _ = R.read_bytes(g)
    trunc, st = R.read_file(golden("golden-v1.0-truncated.srec"))
    assert trunc == full[:len(trunc)]
    assert st["first_error_offset"] == block_offsets(g)[2][0]
    # flipped: exactly the damaged block's records are missing
    bad_off = EXPECT["golden-v1.0-flipped.srec"]["first_error_offset"]
    before, _ = R.read_bytes(g[:bad_off])
    flipped, _ = R.read_file(golden("golden-v1.0-flipped.srec"))
    missing = len(full) - len(flipped)
    assert missing > 0
    assert flipped == full[:len(before)] + full[len(before) + missing:]


def test_golden_unknown_is_golden_plus_extras():
    full, _ = R.read_file(golden("golden-v1.0.srec"))
    unk, _ = R.read_file(golden("golden-v1.0-unknown.srec"))
    # same content up to the hand-crafted tail (recording.complete moved last)
    complete = {"record": "meta", "key": b"recording.complete".hex(), "value": b"1".hex()}
    assert [r for r in full if r != complete] == unk[:len(full) - 1]


# --------------------------------------------- Python reader vs the C reader

def sockreport_dump(path):
    if not os.path.exists(SOCKREPORT):
        pytest.fail("the C reader %s does not exist: build sockreport first (the comparison "
                    "of tests/srec_reader.py with `sockreport dump --json` cannot run)"
                    % os.path.relpath(SOCKREPORT, REPO_ROOT))
    p = subprocess.run([SOCKREPORT, "dump", "--json", "--raw", str(path)], capture_output=True,
                       text=True, timeout=120)
    lines = [ln for ln in p.stdout.splitlines() if ln.strip()]
    assert lines, "sockreport dump --json %s printed nothing (exit %d): %s" % (
        path, p.returncode, p.stderr)
    last = json.loads(lines[-1])
    assert "status" in last, "last line is not the status: %r" % lines[-1]
    return [json.loads(ln) for ln in lines[:-1]], last["status"], p


def compare_with_c(path):
    py_records, py_st = R.read_file(str(path))
    c_records, c_st, proc = sockreport_dump(path)
    if not py_st["salvaged"]:
        assert proc.returncode == 0, "sockreport dump failed on an intact file: %s" % proc.stderr
    for i, (a, b) in enumerate(zip(py_records, c_records)):
        assert a == b, "record %d differs:\n python: %s\n C:      %s" % (i, a, b)
    assert len(py_records) == len(c_records)
    for k in COMPARED_STATUS:
        if k == "first_error_offset" and not py_st["salvaged"] and not c_st.get("salvaged"):
            continue  # no error: None on one side, 0 or null on the other
        assert py_st[k] == c_st.get(k), "status %s: python %r, C %r" % (k, py_st[k],
                                                                         c_st.get(k))


@pytest.mark.parametrize("name", GOLDEN_FILES)
def test_c_reader_agrees_on_golden(name):
    compare_with_c(golden(name))


@pytest.mark.parametrize("args", [[], ["--unknown"]], ids=["plain", "unknown"])
def test_c_reader_agrees_on_fresh_output(srec_gen_bin, tmp_path, args):
    out = tmp_path / "fresh.srec"
    run_gen(srec_gen_bin, out, *args)
    compare_with_c(out)


def test_c_reader_agrees_on_random_damage(tmp_path):
    """Seeded random damage (bit flips, cuts, deletions, insertions, fake
    sync words) of the golden files: both readers salvage the same records."""
    if not os.path.exists(SOCKREPORT):
        sockreport_dump(golden("golden-v1.0.srec"))  # fails with the message
    rng = random.Random(20240601)
    bases = []
    for name in ("golden-v1.0.srec", "golden-v1.0-unknown.srec", "golden-v1.1.srec"):
        with open(golden(name), "rb") as f:
            bases.append(f.read())
    for i in range(90):
        d = bytearray(rng.choice(bases))
        op = rng.randrange(5)
        for _ in range(rng.randint(1, 3)):
            if op == 0:
                d[rng.randrange(32, len(d))] ^= 1 << rng.randrange(8)
            elif op == 1:
                del d[rng.randrange(32, len(d)):]
            elif op == 2:
                p = rng.randrange(32, len(d))
                del d[p:p + rng.randint(1, 40)]
            elif op == 3:
                p = rng.randrange(32, len(d))
                d[p:p] = bytes(rng.randrange(256) for _ in range(rng.randint(1, 20)))
            else:
                p = rng.randrange(32, len(d) - 8)
                d[p:p + 4] = struct.pack("<I", 0xB54B4C42)
        path = tmp_path / ("damaged-%02d.srec" % i)
        path.write_bytes(bytes(d))
        compare_with_c(path)


# ------------------------------------------------- hostile file headers

def _golden_bytes():
    with open(golden("golden-v1.0.srec"), "rb") as f:
        return f.read()


HOSTILE = {
    "empty": (lambda g: b"", "empty"),
    "wrong-magic": (lambda g: b"\x7fELF" + g[4:], "not a .srec"),
    "gzip": (lambda g: b"\x1f\x8b\x08\x00" + g[4:], "not a .srec"),
    "7-bit-channel": (lambda g: bytes([g[0] & 0x7F]) + g[1:], "not a .srec"),
    "crlf-to-lf": (lambda g: g.replace(b"\r\n", b"\n"), "text-mode"),
    "lf-to-crlf": (lambda g: g.replace(b"\n", b"\r\n"), "text-mode"),
    "byte-swapped": (lambda g: g[:8] + b"\x1a\x2b\x3c\x4d" + g[12:], "byte-swapped"),
    "major-2": (lambda g: file_header(major=2) + g[32:], "2"),
    "major-2-no-crc": (lambda g: g[:12] + b"\x02\x00" + g[14:], "2"),
    "short-header": (lambda g: g[:20], "truncated"),
    "header-crc": (lambda g: g[:28] + bytes([g[28] ^ 1]) + g[29:], "checksum"),
    "header-len-31": (lambda g: file_header(hdr_len=31) + g[32:], "length"),
    "header-len-4097": (lambda g: file_header(hdr_len=4097) + g[32:], "length"),
}


@pytest.mark.parametrize("case", sorted(HOSTILE))
def test_hostile_header_raises(tmp_path, case):
    make, word = HOSTILE[case]
    p = tmp_path / "hostile.srec"
    p.write_bytes(make(_golden_bytes()))
    with pytest.raises(R.SrecError) as ei:
        R.read_file(str(p))
    msg = str(ei.value)
    assert "\n" not in msg and msg
    assert word in msg, msg
    if case.startswith("major-2"):
        assert "1" in msg  # names both versions


def test_cli_prints_records_and_status():
    p = subprocess.run([sys.executable, os.path.join(TESTS_DIR, "srec_reader.py"),
                        golden("golden-v1.0-flipped.srec")], capture_output=True, text=True)
    assert p.returncode == 0, p.stderr
    lines = p.stdout.splitlines()
    status = json.loads(lines[-1])["status"]
    assert status["salvaged"] is True
    assert status["first_error_offset"] == EXPECT["golden-v1.0-flipped.srec"][
        "first_error_offset"]
    assert len(lines) - 1 == status["records"]
    assert all("record" in json.loads(ln) for ln in lines[:-1])


def test_cli_error_is_one_line(tmp_path):
    p = tmp_path / "empty.srec"
    p.write_bytes(b"")
    r = subprocess.run([sys.executable, os.path.join(TESTS_DIR, "srec_reader.py"), str(p)],
                       capture_output=True, text=True)
    assert r.returncode != 0
    assert r.stdout == ""
    assert len(r.stderr.strip().splitlines()) == 1


# --------------------------------- salvage and decoding rules (crafted files)

def test_minimal_and_header_only(tmp_path):
    records, st = read(tmp_path, file_header())
    assert records == [] and not st["salvaged"]
    records, st = read(tmp_path, file_header(hdr_len=40) + b"\0" * 8 + block(FORK))
    assert records == [FORK_DICT] and not st["salvaged"]


def test_newer_minor_is_read(tmp_path):
    records, st = read(tmp_path, file_header(minor=7) + block(FORK))
    assert records == [FORK_DICT] and st["minor"] == 7 and not st["salvaged"]


def test_resync_after_garbage(tmp_path):
    data = file_header() + block(FORK) + b"\xde\xad" * 13 + block(FORK, seq=1)
    records, st = read(tmp_path, data)
    assert records == [FORK_DICT, FORK_DICT]
    assert st["salvaged"] and st["first_error"] == "block"
    assert st["first_error_offset"] == 32 + len(block(FORK))
    assert st["blocks_ok"] == 2 and st["blocks_bad"] == 1


def test_bad_trailer_resyncs(tmp_path):
    data = file_header() + block(FORK, tail=0) + block(FORK, seq=1)
    records, st = read(tmp_path, data)
    assert records == [FORK_DICT]
    assert st["first_error_offset"] == 32 and st["blocks_bad"] == 1 and st["blocks_ok"] == 1


def test_payload_crc_skips_by_total_len(tmp_path):
    data = file_header() + block(FORK, bad_crc=True) + block(FORK, seq=1)
    records, st = read(tmp_path, data)
    assert records == [FORK_DICT]
    assert st["first_error"] == "checksum" and st["first_error_offset"] == 32


def test_limits_make_a_bad_block(tmp_path):
    data = file_header() + block(FORK, raw_len=(64 << 20) + 1) + block(FORK, seq=1)
    records, st = read(tmp_path, data)
    assert records == [FORK_DICT]
    assert st["first_error"] == "toobig" and st["blocks_bad"] == 1


def test_stored_codec_length_mismatch_is_bad(tmp_path):
    data = file_header() + block(FORK, raw_len=len(FORK) + 1) + block(FORK, seq=1)
    records, st = read(tmp_path, data)
    assert records == [FORK_DICT] and st["first_error"] == "decompress"


def test_zstd_garbage_is_bad(tmp_path):
    data = file_header() + block(b"notzstd!", codec=1, raw_len=8) + block(FORK, seq=1)
    records, st = read(tmp_path, data)
    assert records == [FORK_DICT] and st["first_error"] == "decompress"


def test_truncation_points(tmp_path):
    whole = file_header() + block(FORK) + block(FORK, seq=1)
    second = 32 + len(block(FORK))
    for cut in (second + 1, second + 47, second + 48, len(whole) - 1):
        records, st = read(tmp_path, whole[:cut])
        assert records == [FORK_DICT]
        assert st["first_error"] == "truncated" and st["first_error_offset"] == second
        assert st["blocks_bad"] == 0


def test_unknown_block_and_record_types_are_skipped(tmp_path):
    payload = rec(99, b"\xff" * 12) + FORK + rec(300, b"") + FORK
    data = file_header() + block(b"whatever", btype=9) + block(payload, seq=1)
    records, st = read(tmp_path, data)
    assert records == [FORK_DICT, dict(FORK_DICT, ts=2000)]  # T is a running delta
    assert st["blocks_unknown"] == 1 and st["records_unknown"] == 2
    assert not st["salvaged"]


def test_longer_and_shorter_bodies(tmp_path):
    longer = rec(22, ev() + uv(77) + sv(-5) + bb(b"new"))
    shorter = rec(20, ev(ts=3) + sv(9) + uv(4))  # CONNECT up to sk
    records, st = read(tmp_path, file_header() + block(longer + shorter))
    assert not st["salvaged"]
    assert records[0] == FORK_DICT
    assert records[1] == {"record": "connect", "ts": 1003, "pid": 10, "tid": 11, "comm": 0,
                          "cpu": 1, "serial": 9, "sk": 4, "fd": 0, "family": 0, "dport": 0,
                          "daddr": "", "dur_ns": 0, "ret": 0, "flags": 0, "kstack": 0,
                          "ustack": 0}


def test_running_deltas_reset_per_block(tmp_path):
    p1 = rec(16, ev(ts=500) + sv(7)) + rec(16, ev(ts=-20) + sv(-2))
    p2 = rec(16, ev(ts=470) + sv(4))
    records, _ = read(tmp_path, file_header() + block(p1) + block(p2, seq=1))
    assert [(r["ts"], r["serial"]) for r in records] == [(500, 7), (480, 5), (470, 4)]


def test_accept_has_two_serials(tmp_path):
    body = ev(ts=9) + sv(3) + sv(5) + uv(6) + sv(-11) + uv(10) + uv(443) + bb(b"\0" * 16)
    records, _ = read(tmp_path, file_header() + block(rec(21, body)))
    r = records[0]
    assert (r["lserial"], r["serial"], r["sk"], r["fd"]) == (3, 8, 6, -11)
    assert r["paddr"] == "00" * 16 and r["estab_ts"] == 0


def test_stack_decoding(tmp_path):
    user = rec(4, uv(16) + uv(2) + uv(1) + uv(3) + uv(1) + sv(0x1000) + uv(0) + sv(0x7000)
               + uv(2) + sv(-0x7ff0))
    kern = rec(4, uv(17) + uv(1) + uv(0) + uv(2) + sv(-50) + sv(80))
    # 1.2: how a user stack was unwound, trailing (CFI, no CFI at module 2
    # offset 0x1234), then a field of a newer minor version, ignored
    cfi = rec(4, uv(18) + uv(2) + uv(0) + uv(1) + uv(2) + sv(0x40)
              + uv(2) + uv(2) + uv(2) + uv(0x1234) + uv(99))
    records, st = read(tmp_path, file_header() + block(user + kern + cfi))
    assert not st["salvaged"]
    none = {"method": 0, "stop": 0, "stop_module": 0, "stop_value": 0}
    assert records[0] == {"record": "stack", "id": 16, "kind": 2, "flags": 1,
                          "frames": [0x1000, 0x8000, 0x10], "modules": [1, 0, 2], **none}
    assert records[1] == {"record": "stack", "id": 17, "kind": 1, "flags": 0,
                          "frames": [-50, 30], **none}
    assert records[2] == {"record": "stack", "id": 18, "kind": 2, "flags": 0, "frames": [0x40],
                          "modules": [2], "method": 2, "stop": 2, "stop_module": 2,
                          "stop_value": 0x1234}


@pytest.mark.parametrize("bad", [
    rec(22, b"\x80"),                                  # varint cut
    uv(22) + uv(50) + b"\0",                            # body_len past the payload
    b"\x80",                                           # record type cut (payload's end)
    rec(22, ev() + b"\x80" * 10 + b"\x01"),            # 11-byte varint
    rec(19, ev() + sv(1) + uv(0) * 7 + uv(4) + b"\x7f"),  # bytes field cut
    rec(4, uv(16) + uv(1) + uv(0) + uv(1025) + sv(1) * 1025),  # > 1024 frames
    rec(4, uv(16) + uv(2) + uv(0) + uv(2) + uv(1) + sv(5)),    # frames missing
], ids=["varint-cut", "body-past-end", "type-cut", "varint-11", "bytes-cut", "frames-1025",
        "frames-missing"])
def test_malformed_record_ends_the_block(tmp_path, bad):
    after = FORK if bad != b"\x80" else b""  # a record the reader must not reach
    data = file_header() + block(FORK + bad + after) + block(FORK, seq=1)
    records, st = read(tmp_path, data)
    assert records == [FORK_DICT, FORK_DICT]  # the one before, and the next block's
    assert st["salvaged"] and st["first_error"] == "record"
    assert st["first_error_offset"] == 32


def _field_bytes(kind, i):
    """A value of the given kind whose varint is 1, 2, 3, 4 or 9 bytes long
    (by field position), to reach every varint path of the C decoders."""
    big = [5, 300, 70000, 1 << 25, 1 << 60][i % 5]
    if kind == "B":
        return bb(bytes(range(i % 17)))
    if kind in ("I", "T", "D"):
        return sv(-big if i % 2 else big)
    return uv(big)


def test_c_reader_agrees_on_every_body_cut(tmp_path):
    """Every record type with bodies cut after each field (older minor
    versions), cut inside a field (malformed), and extended (newer minor
    versions), each once in the middle of a block and once as the block's
    last record: the C reader's fast decoders must give the spec's answer,
    as the Python reader does.  Values outside a 32-bit field's range are
    malformed too."""
    blocks = []
    seq = 0
    for rtype, (_name, fields) in sorted(R.RECORDS.items()):
        if fields is None:
            continue
        parts = [_field_bytes(k, i) for i, (_n, k) in enumerate(fields)]
        bodies = []
        for cut in range(len(parts) + 1):
            bodies.append(b"".join(parts[:cut]))
            if cut < len(parts) and len(parts[cut]) > 1:
                bodies.append(b"".join(parts[:cut]) + parts[cut][:-1])
        bodies.append(b"".join(parts) + uv(1 << 40) + bb(b"future"))
        for body in bodies:
            r = rec(rtype, body)
            for payload in (r + FORK, FORK + r):
                blocks.append(block(payload, seq=seq))
                seq += 1
    path = tmp_path / "cuts.srec"
    path.write_bytes(file_header() + b"".join(blocks))
    _records, st = R.read_file(str(path))
    assert st["blocks_bad"] > 0 and st["blocks_ok"] > 0  # both outcomes are exercised
    compare_with_c(path)
