"""The optional index (spec 3.1): written at a clean close, found from the
end of the file, checked against the blocks it names, ignored with a
warning when it does not describe the file (whatever the damage or the
lie), never needed (a killed recorder leaves none), and used by
`sockreport info` with the same results as reading every block.

Both readers (tests/srec_reader.py from the spec, the C library through
`sockreport dump --json`) must agree on the index's state, record by record.
The end-to-end tests at the bottom need root and BPF."""
import json
import os
import signal
import struct
import subprocess
import time

import pytest

from conftest import DATA_DIR, SOCKREC, SOCKREPORT, block_offsets, fixture_path, run_sockreport
import srec_reader as R
from test_format import compare_with_c, run_gen, uv, bb


def gen(srec_gen_bin, tmp_path, name="ix.srec"):
    out = tmp_path / name
    run_gen(srec_gen_bin, out)
    return out


def index_block(data):
    """(offset, header fields, raw payload) of the file's last block."""
    total, = struct.unpack_from("<I", data, len(data) - 8)
    off = len(data) - total
    h = struct.unpack_from("<IHHIIIIQQII", data, off)
    stored = h[3]
    payload = data[off + 48:off + 48 + stored]
    raw = R._zstd_decompress(payload, h[4]) if h[2] == 1 else payload
    return off, h, raw


def stored_index(raw, seq, btype=3):
    """An INDEX block (stored codec) around raw, checksums right."""
    h = struct.pack("<IHHIIIIQQI", 0xB54B4C42, btype, 0, len(raw), len(raw), 0,
                    R.crc32c(raw), 0, 0, seq)
    h += struct.pack("<I", R.crc32c(h))
    pad = (-len(raw)) % 8
    return h + raw + b"\0" * pad + struct.pack("<II", 48 + len(raw) + pad + 8, 0xB5424C4B)


def parse_index(raw):
    """The index payload as a list of (type, [field values], counts dict)."""
    out = []
    pos = 0
    while pos < len(raw):
        t, pos = R._uvarint(raw, pos, len(raw))
        n, pos = R._uvarint(raw, pos, len(raw))
        nf = 8 if t == R.IDX_BLOCK else 2
        vals, counts = R._index_fields(raw, pos, pos + n, nf)
        out.append((t, vals, counts))
        pos += n
    return out


def build_index(recs):
    out = b""
    for t, vals, counts in recs:
        c = b"".join(uv(k) + uv(v) for k, v in sorted(counts.items()))
        body = b"".join(uv(v) for v in vals) + bb(c)
        out += uv(t) + uv(len(body)) + body
    return out


def replace_index(data, recs):
    off, h, _raw = index_block(data)
    return data[:off] + stored_index(build_index(recs), h[9])


def info(path, *extra):
    p = subprocess.run([SOCKREPORT, "info", "--json", *extra, str(path)], capture_output=True,
                       text=True, timeout=120)
    assert p.returncode == 0, p.stderr
    return json.loads(p.stdout), p.stderr


# ----------------------------------------------------------- a fresh file

def test_writer_indexes_every_block(srec_gen_bin, tmp_path):
    out = gen(srec_gen_bin, tmp_path)
    data = out.read_bytes()
    records, st = R.read_file(str(out))
    assert st["index"] == "valid" and st["blocks_index"] == 1, st
    assert (st["major"], st["minor"]) == (1, 3)
    state, (entries, totals), _ = R.read_index(data, 32)
    blocks = block_offsets(data)
    # every block but the index itself, in order, and nothing else
    assert [(e["offset"], e["type"]) for e in entries] == [(b[0], b[1]) for b in blocks[:-1]]
    assert blocks[-1][1] == R.BLOCK_INDEX and blocks[-1][0] + blocks[-1][3] == len(data)
    by_type = {}
    for r in records:
        by_type[r["record"]] = by_type.get(r["record"], 0) + 1
    assert {R.RECORD_NAMES[t]: c for t, c in totals.items()} == by_type
    compare_with_c(out)


def test_index_is_small(srec_gen_bin, tmp_path):
    out = gen(srec_gen_bin, tmp_path)
    data = out.read_bytes()
    off, _h, _raw = index_block(data)
    nblocks = len(block_offsets(data)) - 1
    assert len(data) - off <= 56 + 64 * nblocks + 200


# ------------------------------------------- a bad index is ignored, warned

def _reference(path):
    """What the file reads as with its index stripped: the no-index truth."""
    data = path.read_bytes()
    off, _h, _raw = index_block(data)
    ref = path.parent / ("noindex-" + path.name)
    ref.write_bytes(data[:off])
    records, st = R.read_file(str(ref))
    assert st["index"] == "absent"
    return ref, records, st


def _tamper_cases(data):
    off, h, raw = index_block(data)
    recs = parse_index(raw)
    cases = {}
    # corruption: a byte of the payload flipped, checksum left wrong
    d = bytearray(data)
    d[off + 48 + 3] ^= 0x40
    cases["payload-flipped"] = bytes(d)
    # lies with every checksum right:
    lie = [list(x) for x in recs]
    lie[1][1][0] += 8  # a block's offset
    cases["offset-lie"] = replace_index(data, lie)
    lie = [list(x) for x in recs]
    lie[2][1][4] -= 1  # a block's t_first
    cases["time-lie"] = replace_index(data, lie)
    # the counts of a DATA block moved between two of its types (sums
    # unchanged, the totals adjusted to match): only decoding can tell
    lie = [(t, list(v), dict(c)) for t, v, c in recs]
    i = next(k for k, (t, v, c) in enumerate(lie)
             if t == R.IDX_BLOCK and v[1] == R.BLOCK_DATA and len(c) >= 2)
    a, b = sorted(lie[i][2])[:2]
    lie[i][2][a] -= 1
    lie[i][2][b] += 1
    if lie[i][2][a] == 0:
        del lie[i][2][a]
    tot = lie[-1][2]
    tot[a] -= 1
    tot[b] += 1
    if tot[a] == 0:
        del tot[a]
    cases["counts-lie"] = replace_index(data, lie)
    lie = [list(x) for x in recs]
    del lie[3]  # a block left out
    lie[-1][1][0] -= 1
    cases["block-missing"] = replace_index(data, lie)
    cases["end-missing"] = replace_index(data, recs[:-1])
    cases["after-end"] = replace_index(data, recs + [recs[1]])
    lie = [list(x) for x in recs]
    lie[-1][1][1] += 1  # total records
    cases["total-lie"] = replace_index(data, lie)
    return cases


@pytest.mark.parametrize("case", ["payload-flipped", "offset-lie", "time-lie", "counts-lie",
                                  "block-missing", "end-missing", "after-end", "total-lie"])
def test_bad_index_is_ignored(srec_gen_bin, tmp_path, case):
    out = gen(srec_gen_bin, tmp_path)
    bad = tmp_path / ("bad-" + case + ".srec")
    bad.write_bytes(_tamper_cases(out.read_bytes())[case])
    ref, ref_records, ref_st = _reference(out)
    records, st = R.read_file(str(bad))
    assert st["index"] == "invalid", st
    assert not st["salvaged"]  # a bad index is not damage of the data
    assert records == ref_records
    for k in ("blocks_ok", "blocks_bad", "records", "records_unknown"):
        assert st[k] == ref_st[k]
    compare_with_c(bad)
    # sockreport: a warning, and the very results of the file without it
    got, err = info(bad)
    assert "index does not match" in err
    want, _ = info(ref)
    assert got["index"] == "invalid" and want["index"] == "absent"
    got.pop("file"), want.pop("file"), got.pop("index"), want.pop("index")
    assert got == want
    p = run_sockreport("leaks", "--json", str(bad))
    assert "index does not match" in p.stderr
    got = json.loads(p.stdout)
    want = json.loads(run_sockreport("leaks", "--json", str(ref)).stdout)
    got.pop("file"), want.pop("file")
    assert got == want


def test_no_index_when_the_file_does_not_end_with_one(srec_gen_bin, tmp_path):
    out = gen(srec_gen_bin, tmp_path)
    data = out.read_bytes()
    off, _h, _raw = index_block(data)
    # cut anywhere: no index (and a cut inside a block is damage, as ever)
    for cut in (off, off + 1, off + 47, len(data) - 1):
        p = tmp_path / ("cut-%d.srec" % cut)
        p.write_bytes(data[:cut])
        _records, st = R.read_file(str(p))
        assert st["index"] == "absent", (cut, st)
        compare_with_c(p)
    # an INDEX block in the middle (more blocks after it) is skipped
    p = tmp_path / "middle.srec"
    blocks = block_offsets(data)
    last_data = blocks[-2]
    p.write_bytes(data + data[last_data[0]:last_data[0] + last_data[3]])
    records, st = R.read_file(str(p))
    assert st["index"] == "absent" and st["blocks_index"] == 1 and not st["salvaged"]
    compare_with_c(p)


def test_info_from_the_index_equals_reading_everything(srec_gen_bin, tmp_path):
    out = gen(srec_gen_bin, tmp_path)
    fast, err = info(out)
    full, err2 = info(out, "--no-index")
    assert fast == full and fast["index"] == "valid"
    assert "index" not in err and "index" not in err2
    text = run_sockreport("info", str(out)).stdout
    assert "index:       valid" in text
    assert "# index: valid" in run_sockreport("dump", str(out)).stdout


# ------------------------------------------------------------- golden file

def test_golden_with_index():
    path = os.path.join(DATA_DIR, "golden-v1.1.srec")
    records, st = R.read_file(path)
    assert st["index"] == "valid" and st["minor"] == 1
    # the same records as the 1.0 golden file: the index only adds a block
    old, _ = R.read_file(os.path.join(DATA_DIR, "golden-v1.0.srec"))
    assert records == old
    compare_with_c(path)


# -------------------------------------------------- end to end (root, BPF)

def test_real_recording_has_an_index(bpf, tmp_path):
    out = tmp_path / "real.srec"
    p = subprocess.run([SOCKREC, "-o", str(out), "-d", "3", "--",
                        fixture_path("leaker"), "3", "1", "2"],
                       stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, text=True, timeout=120)
    assert p.returncode == 0, p.stderr
    records, st = R.read_file(str(out))
    assert st["index"] == "valid" and not st["salvaged"], st
    compare_with_c(out)
    fast, err = info(out)
    full, _ = info(out, "--no-index")
    assert fast == full and fast["index"] == "valid" and fast["complete"] is True
    assert "WARNING" not in err


def test_killed_recording_has_no_index_and_reads_fully(bpf, tmp_path):
    out = tmp_path / "killed.srec"
    p = subprocess.Popen([SOCKREC, "-o", str(out), "--", "sh", "-c",
                          "while :; do %s churn 200; sleep 0.1; done" % fixture_path("netfix")],
                         stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL,
                         start_new_session=True)
    deadline = time.monotonic() + 30
    while time.monotonic() < deadline and (not out.exists() or out.stat().st_size < 4096):
        time.sleep(0.05)
    time.sleep(1.5)
    os.killpg(p.pid, signal.SIGKILL)
    p.wait()
    records, st = R.read_file(str(out))
    assert st["index"] == "absent" and st["blocks_index"] == 0
    assert [r for r in records if r["record"] == "alloc"], "nothing read back"
    compare_with_c(out)
    fast, err = info(out)
    full, _ = info(out, "--no-index")
    assert fast == full and fast["index"] == "absent" and fast["complete"] is False
    assert "index does not match" not in err
