"""sockreport on hostile .srec files: every byte of the input is the
attacker's.

For each damaged or malicious file, `sockreport info`, `leaks --json` and
`dump --json` must exit 0 or 1 (never die of a signal), never print a
sanitizer report (run `make SANITIZE=1 test` to use the ASan+UBSan build),
say what is wrong in at most one line when they refuse a file, keep their
memory bounded against decompression bombs and huge ids, and still report
the intact part of a salvageable file (the record counts are checked against
the independent Python reader, tests/srec_reader.py).  Strings from the file
(comm, paths, symbol names, META values) must reach a terminal escaped, and
--json output must stay valid JSON (and valid UTF-8) whatever they hold.

Also runs every file in tests/fuzz/regressions/ (inputs that once crashed
sockreport, most found by tests/fuzz/fuzz_reader.c) through every command.

None of these tests needs root or BPF."""

import ctypes
import json
import os
import random
import struct
import subprocess

import pytest

from conftest import DATA_DIR, SOCKREPORT, TESTS_DIR, build_format_tool
import srec_reader as R

GOLDEN = os.path.join(DATA_DIR, "golden-v1.0.srec")
REGRESSIONS = os.path.join(TESTS_DIR, "fuzz", "regressions")
SRC_HOSTILE = os.path.join(TESTS_DIR, "fixtures", "srec_hostile.c")
TIME = "/usr/bin/time"

MIB = 1024 * 1024
MAX_PAYLOAD = 64 * MIB
RSS_LIMIT_KB = 300 * 1024  # peak RSS allowed for any file, bombs included

SANITIZER_MARKS = ("AddressSanitizer", "LeakSanitizer", "UndefinedBehaviorSanitizer",
                   "runtime error", "MemorySanitizer", "ThreadSanitizer")
# Sanitizer settings for a SANITIZE=1 build (ignored by a plain build): leaks
# are findings, and a report must not be swallowed by a handler.
SAN_ENV = {
    "ASAN_OPTIONS": "detect_leaks=1:allocator_may_return_null=0:handle_abort=1",
    "UBSAN_OPTIONS": "print_stacktrace=1:halt_on_error=1",
}

COMMANDS = (["info"], ["leaks", "--json"], ["dump", "--json", "--raw"])
# The other commands, run on the regressions and the hostile strings; a
# command whose last argument is None gets the file twice (diff BASE NEW).
MORE_COMMANDS = (["summary"], ["states"], ["pairs", "--stacks"], ["latency", "--by", "stack"],
                 ["allocs", "--folded"], ["leaks", "--folded"], ["timeline"], ["diff", None])


# ------------------------------------------------------------------ helpers

def _env():
    env = dict(os.environ)
    env.update(SAN_ENV)
    return env


def require_sockreport():
    if not os.path.exists(SOCKREPORT):
        pytest.fail("%s does not exist: build sockreport first (make, or make SANITIZE=1 "
                    "with SREC_SOCKREPORT=build-san/sockreport)" % SOCKREPORT)


def run(args, path, measure=False):
    """Runs sockreport ARGS PATH.  Returns (returncode, stdout bytes, stderr
    bytes, peak RSS in KiB or None)."""
    require_sockreport()
    cmd = [SOCKREPORT, *args, str(path)]
    rss_file = None
    if measure:
        rss_file = str(path) + ".rss"
        cmd = [TIME, "-f", "%M", "-o", rss_file, *cmd]
    p = subprocess.run(cmd, capture_output=True, timeout=300, env=_env())
    rss = None
    if measure:
        with open(rss_file) as f:
            lines = [ln for ln in f.read().splitlines() if ln.strip()]
        os.unlink(rss_file)
        # /usr/bin/time reports a signal on its first line, %M on the last
        assert lines, "no output from %s" % TIME
        rss = int(lines[-1])
        if any("signal" in ln for ln in lines[:-1]):
            pytest.fail("sockreport %s %s was killed: %s" % (" ".join(args), path, lines))
    return p.returncode, p.stdout, p.stderr, rss


def more_args(args, path, json_too):
    """The argument lists of one MORE_COMMANDS entry (text, and --json)."""
    base = [str(path) if a is None else a for a in args]
    out = [base]
    if json_too and args[0] not in ("timeline",) and "--folded" not in args:
        out.append(base + ["--json"])
    return out


def check_sane(args, path, rc, out, err, rss=None):
    """What every run must satisfy, whatever the file."""
    what = "sockreport %s %s" % (" ".join(args), os.path.basename(str(path)))
    text = err.decode("utf-8", "replace")
    assert rc >= 0, "%s died of signal %d:\n%s" % (what, -rc, text[-3000:])
    for mark in SANITIZER_MARKS:
        assert mark not in text, "%s: sanitizer report:\n%s" % (what, text[-6000:])
    assert rc in (0, 1), "%s exited %d:\n%s" % (what, rc, text[-3000:])
    if rc != 0:
        lines = [ln for ln in text.splitlines() if ln.strip()]
        assert len(lines) <= 1, "%s failed with more than one line:\n%s" % (what, text)
        assert lines, "%s failed without saying why" % what
    if rss is not None:
        assert rss < RSS_LIMIT_KB, "%s: peak RSS %d KiB (limit %d)" % (what, rss, RSS_LIMIT_KB)
    if rc == 0 and ("--json" in args or args[0] == "timeline"):
        doc = out.decode("utf-8")  # strict: --json output is UTF-8
        if args[0] == "dump":
            lines = [ln for ln in doc.splitlines() if ln.strip()]
            assert lines and "status" in json.loads(lines[-1]), what
            for ln in lines:
                json.loads(ln)
        else:
            json.loads(doc)


def run_all(path, measure=False):
    """Runs the three commands on path; returns {cmd: (rc, out, err)}."""
    res = {}
    for args in COMMANDS:
        rc, out, err, rss = run(args, path, measure)
        check_sane(args, path, rc, out, err, rss)
        res[args[0]] = (rc, out, err)
    return res


def c_dump(res):
    """(records, status) from the dump --json result of run_all."""
    rc, out, _err = res["dump"]
    assert rc == 0
    lines = [json.loads(ln) for ln in out.decode().splitlines() if ln.strip()]
    return lines[:-1], lines[-1]["status"]


def assert_salvaged_like_python(path, res, same_records=True):
    """A salvageable file: every command succeeds, and the C reader returns
    what the independent Python reader returns."""
    for cmd, (rc, _out, err) in res.items():
        assert rc == 0, "sockreport %s refused a salvageable file: %s" % (cmd, err)
    py_records, py_st = R.read_file(str(path))
    c_records, c_st = c_dump(res)
    for k in ("salvaged", "blocks_ok", "blocks_bad", "records", "records_unknown"):
        assert py_st[k] == c_st[k], "%s: status %s: python %r, C %r" % (path, k, py_st[k],
                                                                        c_st[k])
    if py_st["salvaged"]:
        assert py_st["first_error_offset"] == c_st["first_error_offset"], (py_st, c_st)
    assert len(py_records) == len(c_records)
    if same_records:
        for i, (a, b) in enumerate(zip(py_records, c_records)):
            assert a == b, "%s: record %d differs:\n python: %s\n C:      %s" % (path, i, a, b)
    info = json.loads(run(["info", "--json"], path)[1])
    assert info["salvaged"] == py_st["salvaged"]
    assert info["blocks_ok"] == py_st["blocks_ok"]
    return py_records, py_st


def assert_consistent(path, res):
    """info, leaks and dump of one file read the same blocks and records."""
    for cmd, (rc, _out, err) in res.items():
        assert rc == 0, "sockreport %s: %s" % (cmd, err)
    records, st = c_dump(res)
    assert st["records"] == len(records)
    rc, out, err, _ = run(["info", "--json"], path)
    check_sane(["info", "--json"], path, rc, out, err)
    info = json.loads(out)
    for k in ("salvaged", "blocks_ok", "blocks_bad", "blocks_unknown", "records_unknown"):
        assert info[k] == st[k], "%s: info %s %r, dump %r" % (path, k, info[k], st[k])
    by_type = {}
    for r in records:
        by_type[r["record"]] = by_type.get(r["record"], 0) + 1
    assert info["records"] == by_type
    leaks = json.loads(res["leaks"][1])
    assert leaks["salvaged"] == st["salvaged"]


def assert_refused(res, *words):
    """A file with nothing to salvage: exit 1 and a one-line reason."""
    for cmd, (rc, out, err) in res.items():
        assert rc == 1, "sockreport %s accepted it (exit %d): %s" % (cmd, rc, out[:300])
        msg = err.decode("utf-8", "replace").lower()
        for w in words:
            assert w.lower() in msg, "sockreport %s: %r not in %r" % (cmd, w, msg)


def golden():
    with open(GOLDEN, "rb") as f:
        return f.read()


def file_header(major=1, minor=0, hdr_len=32):
    h = R.MAGIC + struct.pack("<IHHIII", 0x1A2B3C4D, major, minor, hdr_len, 0, 0)
    return h + struct.pack("<I", R.crc32c(h))


def block(payload, btype=2, codec=0, raw_len=None, stored_len=None, nrec=1):
    """A block with valid checksums; stored_len/raw_len may lie."""
    raw_len = len(payload) if raw_len is None else raw_len
    stored_len = len(payload) if stored_len is None else stored_len
    h = struct.pack("<IHHIIIIQQI", R.BLOCK_SYNC, btype, codec, stored_len, raw_len, nrec,
                    R.crc32c(payload), 0, 0, 0)
    h += struct.pack("<I", R.crc32c(h))
    pad = (-len(payload)) % 8
    return h + payload + b"\0" * pad + struct.pack("<II", 48 + len(payload) + pad + 8,
                                                   R.BLOCK_TAIL)


def blocks_of(data):
    """(offset, total_len) of each block of an intact image."""
    hdr_len, = struct.unpack_from("<I", data, 16)
    off, out = hdr_len, []
    while off + 48 <= len(data):
        stored, = struct.unpack_from("<I", data, off + 8)
        total = 48 + ((stored + 7) & ~7) + 8
        out.append((off, total))
        off += total
    return out


def stored_copy(data):
    """data with every zstd block rewritten as a stored block."""
    hdr_len, = struct.unpack_from("<I", data, 16)
    out = bytearray(data[:hdr_len])
    for off, total in blocks_of(data):
        (_s, btype, codec, stored, raw_len, nrec, _c, _tf, _tl, _seq,
         _h) = struct.unpack_from("<IHHIIIIQQII", data, off)
        payload = data[off + 48:off + 48 + stored]
        if codec == R.CODEC_ZSTD:
            payload = R._zstd_decompress(payload, raw_len)
            assert payload is not None
        out += block(payload, btype=btype, nrec=nrec)
    return bytes(out)


def repair(data):
    """Recompute the checksums of damaged data wherever the framing still
    fits (what fuzz_reader.c does), so that the damage reaches the record
    decoder and the model instead of failing a CRC."""
    d = bytearray(data)
    if len(d) < 32:
        return bytes(d)
    struct.pack_into("<I", d, 28, R.crc32c(bytes(d[:28])))
    hl, = struct.unpack_from("<I", d, 16)
    off = hl if 32 <= hl <= 4096 else 32
    while off + 48 <= len(d):
        sync, = struct.unpack_from("<I", d, off)
        if sync != R.BLOCK_SYNC:
            off += 1
            continue
        codec, stored, raw_len, nrec = struct.unpack_from("<HIII", d, off + 6)
        padded = (stored + 7) & ~7
        total = 48 + padded + 8
        if stored > MAX_PAYLOAD or total > len(d) - off:
            struct.pack_into("<I", d, off + 44, R.crc32c(bytes(d[off:off + 44])))
            off += 1
            continue
        if codec == 0 and raw_len != stored and not nrec & 0x80000000:
            struct.pack_into("<I", d, off + 12, stored)
        struct.pack_into("<I", d, off + 20, R.crc32c(bytes(d[off + 48:off + 48 + stored])))
        struct.pack_into("<I", d, off + 44, R.crc32c(bytes(d[off:off + 44])))
        struct.pack_into("<II", d, off + 48 + padded, total, R.BLOCK_TAIL)
        off += total
    return bytes(d)


# zstd through ctypes, as tests/srec_reader.py does
_ZSTD_C_CONTENTSIZEFLAG = 200


def _zstd():
    lib = R._zstd_lib()
    lib.ZSTD_compressBound.restype = ctypes.c_size_t
    lib.ZSTD_compressBound.argtypes = [ctypes.c_size_t]
    lib.ZSTD_createCCtx.restype = ctypes.c_void_p
    lib.ZSTD_freeCCtx.argtypes = [ctypes.c_void_p]
    lib.ZSTD_CCtx_setParameter.restype = ctypes.c_size_t
    lib.ZSTD_CCtx_setParameter.argtypes = [ctypes.c_void_p, ctypes.c_int, ctypes.c_int]
    lib.ZSTD_compress2.restype = ctypes.c_size_t
    lib.ZSTD_compress2.argtypes = [ctypes.c_void_p, ctypes.c_void_p, ctypes.c_size_t,
                                   ctypes.c_char_p, ctypes.c_size_t]
    return lib


def zstd_frame(raw, content_size=True):
    """One zstd frame of raw; without the frame content size if asked."""
    lib = _zstd()
    cctx = lib.ZSTD_createCCtx()
    assert cctx
    try:
        if not content_size:
            assert not lib.ZSTD_isError(
                lib.ZSTD_CCtx_setParameter(cctx, _ZSTD_C_CONTENTSIZEFLAG, 0))
        cap = lib.ZSTD_compressBound(len(raw))
        dst = ctypes.create_string_buffer(cap)
        n = lib.ZSTD_compress2(cctx, dst, cap, raw, len(raw))
        assert not lib.ZSTD_isError(n)
        return dst.raw[:n]
    finally:
        lib.ZSTD_freeCCtx(cctx)


def write(tmp_path, name, data):
    p = tmp_path / name
    p.write_bytes(data)
    return p


def around(bad_block):
    """golden's first two blocks, the bad block, then the rest of golden."""
    g = golden()
    offs = blocks_of(g)
    cut = offs[2][0]
    return g[:cut] + bad_block + g[cut:]


# -------------------------------------------------------- truncated files

TRUNCATE_AT = [1, 3, 4, 7, 8, 12, 16, 27, 28, 31, 32, 33, 47, 79, 80, 81, 200, 500, 1000,
               2000, 4096, -200, -57, -56, -9, -8, -1]


@pytest.mark.parametrize("cut", TRUNCATE_AT)
def test_truncated(tmp_path, cut):
    g = golden()
    data = g[:cut] if cut > 0 else g[:len(g) + cut]
    path = write(tmp_path, "cut.srec", data)
    res = run_all(path)
    if len(data) < 32:
        assert_refused(res)
        return
    _records, st = assert_salvaged_like_python(path, res)
    ends = {32} | {off + total for off, total in blocks_of(g)}
    if len(data) in ends:  # a cut between blocks reads as a clean (if incomplete) file
        assert not st["salvaged"]
    else:
        assert st["salvaged"] and st["first_error"] == "truncated"


def test_zero_length(tmp_path):
    assert_refused(run_all(write(tmp_path, "empty.srec", b"")), "empty")


# -------------------------------------------------------- bit flips

@pytest.mark.parametrize("seed", range(24))
def test_bit_flips(tmp_path, seed):
    """Seeded random bit flips, as they are (CRC mismatches, resync) and with
    the checksums repaired (damaged records reach the decoder and the
    model), of the golden file and of its stored (uncompressed) copy."""
    rng = random.Random(1000 + seed)
    g = golden()
    base = stored_copy(g) if seed % 2 else g
    d = bytearray(base)
    for _ in range(rng.choice((1, 2, 5, 20, 100))):
        pos = rng.randrange(32, len(d)) if rng.random() < 0.95 else rng.randrange(len(d))
        d[pos] ^= 1 << rng.randrange(8)
    path = write(tmp_path, "flipped.srec", bytes(d))
    res = run_all(path)
    try:
        R.read_bytes(bytes(d))
    except R.SrecError:
        assert_refused(res)  # a flip in the file header
    else:
        assert_salvaged_like_python(path, res)
    # Repaired, the flipped bits reach the records.  No comparison with
    # tests/srec_reader.py here: it does not apply the spec's value-range and
    # STACK checks (section 5) that the C reader applies, so it keeps records
    # the C reader rightly drops as malformed.  The commands must agree with
    # each other instead.
    path = write(tmp_path, "flipped-repaired.srec", repair(bytes(d)))
    res = run_all(path)
    if res["dump"][0] == 0:
        assert_consistent(path, res)
    else:
        assert_refused(res)


# -------------------------------------------------------- file headers

def test_major_2(tmp_path):
    g = golden()
    path = write(tmp_path, "v2.srec", file_header(major=2) + g[32:])
    assert_refused(run_all(path), "2.0")


def test_major_2_old_crc(tmp_path):
    g = golden()
    path = write(tmp_path, "v2crc.srec", g[:12] + b"\x02\x00" + g[14:])
    assert_refused(run_all(path), "2.0")


def test_major_0(tmp_path):
    g = golden()
    assert_refused(run_all(write(tmp_path, "v0.srec", file_header(major=0) + g[32:])))
    assert_refused(run_all(write(tmp_path, "v0crc.srec", g[:12] + b"\x00\x00" + g[14:])))


def test_newer_minor_reads(tmp_path):
    g = golden()
    path = write(tmp_path, "v1.9.srec", file_header(minor=9) + g[32:])
    assert_salvaged_like_python(path, run_all(path))


@pytest.mark.parametrize("magic", [b"\x7fELF", b"\x89PNG\r\n\x1a\n", b"GARBAGE!", b"\x00" * 8,
                                   b"\x8aSRD"])
def test_wrong_magic(tmp_path, magic):
    g = golden()
    path = write(tmp_path, "magic.srec", magic + g[len(magic):])
    assert_refused(run_all(path), "not a .srec")


@pytest.mark.parametrize("how", ["lf-to-crlf", "crlf-to-lf"])
def test_crlf_damaged(tmp_path, how):
    g = golden()
    data = g.replace(b"\n", b"\r\n") if how == "lf-to-crlf" else g.replace(b"\r\n", b"\n")
    assert_refused(run_all(write(tmp_path, how + ".srec", data)), "text-mode")


@pytest.mark.parametrize("hl", [0, 31, 4097, 0xFFFFFFFF, 4096])
def test_header_len(tmp_path, hl):
    g = golden()
    path = write(tmp_path, "hl.srec", file_header(hdr_len=hl) + g[32:])
    res = run_all(path)
    if hl == 4096:  # legal: the first block is looked for in the middle of golden's
        assert_salvaged_like_python(path, res)
    else:
        assert_refused(res)


# -------------------------------------------------------- lengths and bombs

def test_raw_len_over_limit(tmp_path):
    """A block claiming raw_len = 64 MiB + 1: bad block, resynchronized."""
    bad = block(zstd_frame(b"\0" * 4096), codec=1, raw_len=MAX_PAYLOAD + 1)
    path = write(tmp_path, "rawlen.srec", around(bad))
    res = run_all(path, measure=True)
    _r, st = assert_salvaged_like_python(path, res)
    assert st["first_error"] == "toobig"
    assert st["records"] == R.read_file(GOLDEN)[1]["records"]


@pytest.mark.parametrize("content_size", [True, False], ids=["fcs", "no-fcs"])
def test_decompression_bomb(tmp_path, content_size):
    """raw_len is exactly the limit (64 MiB), but the zstd frame inflates to
    twice that: the reader must not allocate more than raw_len."""
    frame = zstd_frame(b"\0" * (2 * MAX_PAYLOAD), content_size=content_size)
    assert len(frame) < MIB
    bad = block(frame, codec=1, raw_len=MAX_PAYLOAD)
    path = write(tmp_path, "bomb.srec", around(bad))
    res = run_all(path, measure=True)
    _r, st = assert_salvaged_like_python(path, res)
    assert st["first_error"] == "decompress"
    assert st["records"] == R.read_file(GOLDEN)[1]["records"]


def test_largest_valid_block(tmp_path):
    """A valid block at the limit: 64 MiB of empty records of unknown type 0,
    from a tiny frame.  Read, skipped and counted in bounded memory."""
    frame = zstd_frame(b"\0" * MAX_PAYLOAD)
    path = write(tmp_path, "big.srec", around(block(frame, codec=1, raw_len=MAX_PAYLOAD)))
    res = run_all(path, measure=True)
    for cmd, (rc, _o, err) in res.items():
        assert rc == 0, "%s: %s" % (cmd, err)
    _records, st = c_dump(res)
    assert not st["salvaged"]
    assert st["records_unknown"] == MAX_PAYLOAD // 2
    assert st["records"] == R.read_file(GOLDEN)[1]["records"]


@pytest.mark.parametrize("stored_len", [MAX_PAYLOAD + 1, 0xFFFFFFF0, 0xFFFFFFFF, MAX_PAYLOAD])
def test_enormous_stored_len(tmp_path, stored_len):
    """A header claiming a huge payload that the file does not hold."""
    bad = block(b"\x16\x00" * 16, stored_len=stored_len, raw_len=64)
    path = write(tmp_path, "stored.srec", around(bad))
    res = run_all(path, measure=True)
    py_records, st = assert_salvaged_like_python(path, res)
    # over the limit: resynchronized, everything after it still read;
    # at the limit: a valid header whose block runs past the end (truncated)
    if stored_len > MAX_PAYLOAD:
        assert st["first_error"] == "toobig"
        assert st["records"] == R.read_file(GOLDEN)[1]["records"]
    else:
        assert st["first_error"] == "truncated"


# -------------------------------------------------------- crafted records

def test_huge_ids(srec_hostile_bin, tmp_path):
    """Definitions with ids just below the table limit: memory must follow
    the file's contents, not the largest id in it."""
    path = tmp_path / "huge-ids.srec"
    hostile(srec_hostile_bin, path, "--huge-ids")
    res = run_all(path, measure=True)
    assert_salvaged_like_python(path, res)


def test_ksym_overflow(srec_hostile_bin, tmp_path):
    """Kernel frames at INT64_MAX/INT64_MIN next to KSYMs at negative offsets."""
    path = tmp_path / "ksym.srec"
    hostile(srec_hostile_bin, path, "--ksym-overflow")
    res = run_all(path)
    assert_salvaged_like_python(path, res)
    rc, out, err, _ = run(["leaks", "--older", "0"], path)
    check_sane(["leaks"], path, rc, out, err)
    assert b"neg_sym+0x" in out


def test_absent_fields(tmp_path):
    """Records whose bodies stop early: absent bytes fields read as empty."""
    recs = b"".join([
        b"\x01\x00",              # META, no key, no value
        b"\x01\x01\x00",          # META, empty key, no value
        b"\x02\x01\x05",          # STRING 5, no bytes
        b"\x03\x02\x01\x05",      # MODULE 1, path 5, no build_id
        b"\x10\x00",              # ALLOC, every field absent
        b"\x13\x00",              # STATE, every field absent
        b"\x19\x00",              # PREEXIST, every field absent
        b"\x07\x00", b"\x05\x00", b"\x08\x00",  # KSYM, PROCESS, LOSS
    ])
    meta = b"\x01\x13" + b"\x12recording.start_ns"  # key only
    path = write(tmp_path, "absent.srec",
                 file_header() + block(meta, btype=1) + block(recs))
    res = run_all(path)
    assert_salvaged_like_python(path, res)
    for args in (["info"], ["leaks"], ["dump"]):
        rc, out, err, _ = run(args, path)
        check_sane(args, path, rc, out, err)
        assert rc == 0


# -------------------------------------------------------- regressions

def regression_files():
    if not os.path.isdir(REGRESSIONS):
        return []
    return sorted(f for f in os.listdir(REGRESSIONS) if f.endswith(".srec"))


@pytest.mark.parametrize("name", regression_files())
def test_fuzz_regression(name):
    path = os.path.join(REGRESSIONS, name)
    run_all(path, measure=True)
    for entry in MORE_COMMANDS:
        for args in more_args(entry, path, json_too=True):
            rc, out, err, rss = run(args, path, measure=True)
            check_sane(args, path, rc, out, err, rss)


def test_every_command_on_golden():
    for entry in MORE_COMMANDS:
        for args in more_args(entry, GOLDEN, json_too=True):
            rc, out, err, _ = run(args, GOLDEN)
            check_sane(args, GOLDEN, rc, out, err)
            assert rc == 0, "sockreport %s: %s" % (" ".join(args), err)


# -------------------------------------------------------- hostile strings

def build_srec_hostile(outdir):
    return build_format_tool(outdir, SRC_HOSTILE, "srec_hostile")


@pytest.fixture(scope="session")
def srec_hostile_bin(tmp_path_factory):
    return build_srec_hostile(tmp_path_factory.mktemp("srec_hostile"))


def hostile(gen, path, *args):
    p = subprocess.run([gen, str(path), *args], capture_output=True, text=True)
    assert p.returncode == 0, "srec_hostile failed: %s" % p.stderr


def assert_terminal_safe(what, data):
    """No byte that a terminal would act on: C0 controls but newline, DEL,
    C1 controls (U+0080..U+009F), and the text must be valid UTF-8."""
    bad = sorted({b for b in data if (b < 0x20 and b != 0x0A) or b == 0x7F})
    assert not bad, "%s: raw control bytes %s in the output:\n%r" % (
        what, ["0x%02x" % b for b in bad], data[:2000])
    try:
        text = data.decode("utf-8")
    except UnicodeDecodeError as e:
        pytest.fail("%s: output is not valid UTF-8 (%s)" % (what, e))
    c1 = [c for c in text if 0x80 <= ord(c) <= 0x9F]
    assert not c1, "%s: C1 control characters %r in the output" % (what, c1)


COMM = "ev\x1b[31mil\r\x07\udcffcomm"  # as srec_hostile.c writes it (0xff = \udcff)


def test_hostile_strings_escaped(srec_hostile_bin, tmp_path):
    # the file name is hostile as well: it is printed too
    path = tmp_path / "evil\x1b[31m\r\x07.srec"
    hostile(srec_hostile_bin, path, "--strings")
    for args in (["info"], ["leaks"], ["leaks", "--wide"], ["leaks", "--older", "0"],
                 ["dump"], ["info", "-v"]):
        rc, out, err, _ = run(args, path)
        check_sane(args, path, rc, out, err)
        assert rc == 0, err
        what = "sockreport " + " ".join(args)
        assert_terminal_safe(what + " (stdout)", out)
        assert_terminal_safe(what + " (stderr)", err)
    for entry in MORE_COMMANDS:
        for args in more_args(entry, path, json_too=True):
            rc, out, err, _ = run(args, path)
            check_sane(args, path, rc, out, err)
            assert rc == 0, err
            what = "sockreport " + " ".join(args)
            if "--json" in args or args[0] == "timeline":
                assert not {b for b in out if b < 0x20 and b != 0x0A}, what
            else:
                assert_terminal_safe(what + " (stdout)", out)
            assert_terminal_safe(what + " (stderr)", err)
    # ... and still shown, escaped
    rc, out, _e, _ = run(["leaks"], path)
    assert b"ev\\x1b[31mil\\x0d\\x07\\xffcomm" in out
    assert b"tcp_\\x1b[31mconnect" in out          # kernel symbol
    assert b"lib\\x1b[2J\\x1b[H\\x0d" in out        # module path
    rc, out, _e, _ = run(["info"], path)
    assert b"host\\x1b[31mRED" in out
    assert b"\\xc2\\x9b" in out                     # C1 CSI, escaped


def test_hostile_strings_json(srec_hostile_bin, tmp_path):
    path = tmp_path / "evil\x1b[31m.srec"
    hostile(srec_hostile_bin, path, "--strings")
    res = run_all(path)
    for cmd, (rc, out, err) in res.items():
        assert rc == 0, err
        # JSON escapes every control character: none raw in the document
        bad = sorted({b for b in out if b < 0x20 and b != 0x0A})
        assert not bad, "%s --json: raw control bytes %s" % (cmd, bad)
    leaks = json.loads(res["leaks"][1].decode("utf-8"))
    assert leaks["file"] == str(path)
    assert [g["count"] for g in leaks["outstanding"]] == [4]
    assert [g["count"] for g in leaks["exit_released"]] == [1]
    assert [g["count"] for g in leaks["close_wait"]] == [1]
    comm = leaks["outstanding"][0]["processes"][0]["comm"]
    # invalid UTF-8 bytes come out as \u00NN, the rest as it was
    assert comm == COMM.replace("\udcff", "\u00ff")
    assert any("tcp_" in ln for ln in leaks["outstanding"][0]["kernel_stack"])
    rc, out, err, _ = run(["info", "--json"], path)
    check_sane(["info", "--json"], path, rc, out, err)
    info = json.loads(out.decode("utf-8"))
    assert info["meta"]["host.arch"] == "x86_64\x07"
    assert info["meta"]["host.name"].startswith("host\x1b[31mRED")
    assert any(p["comm"] == COMM.replace("\udcff", "\u00ff") for p in info["processes"])
    records, _st = c_dump(res)
    py_records, _ = R.read_file(str(path))
    assert records == py_records


def test_hostile_strings_verbose_log(srec_hostile_bin, tmp_path):
    path = tmp_path / "evil.srec"
    hostile(srec_hostile_bin, path, "--strings")
    rc, out, err, _ = run(["leaks", "-v"], path)
    check_sane(["leaks", "-v"], path, rc, out, err)
    assert_terminal_safe("sockreport leaks -v (stdout)", out)
    assert_terminal_safe("sockreport leaks -v (stderr)", err)


@pytest.mark.parametrize("rtype,body", [
    (1, b"\x01k\x00"),                        # META key "k", empty value
    (7, b"\x00\x01\x00\x00"),                 # KSYM off 0 size 1
    (5, b"\x00\x01\x00\x00\x00\x00"),         # PROCESS
    (8, b"\x00\x01\x00\x01\x01"),             # LOSS
])
def test_tiny_record_flood_bounded(tmp_path, rtype, body):
    """64 MiB of one tiny record kind, from a small zstd frame: the model keeps
    at most its per-kind limit, says so, and its memory stays bounded."""
    rec = bytes([rtype, len(body)]) + body
    raw = rec * (MAX_PAYLOAD // len(rec))
    frame = zstd_frame(raw)
    btype = 1 if rtype == 1 else 2
    path = write(tmp_path, "flood.srec", around(block(frame, btype=btype, codec=1,
                                                      raw_len=len(raw))))
    for args in (["info"], ["leaks", "--json"]):
        rc, out, err, rss = run(args, path, measure=True)
        check_sane(args, path, rc, out, err, rss)
        assert rc == 0, err
        assert rss < 400 * 1024, rss
        assert b"beyond sane limits were ignored" in err, err
