#!/usr/bin/env python3
"""srec_reader.py - an independent reader of .srec files, written from
spec/srec-format.md alone (pure Python 3.11 stdlib, zstd through ctypes).

It exists to cross-check the C implementation in format/: the test suite
compares its output, record by record, with `sockreport dump --json`.

API:
    read_file(path) -> (records, status)

records is a list of dicts, one per record, in file order:
    {"record": "<lowercase record name>", <field name>: <value>, ...}
Integers are JSON integers (T fields as the absolute decoded timestamp,
D fields as the absolute decoded serial, I fields signed); every B field
is a lowercase hex string.  STACK records carry "frames" (absolute,
running-sum decoded), for user stacks (kind 2) only "modules", and the 1.2
unwinding fields "method", "stop", "stop_module", "stop_value" (0 if absent).

status is a dict:
    major, minor          from the file header
    salvaged              True when anything could not be read
    first_error           short reason of the first problem ("" if none):
                          truncated, block, toobig, checksum, decompress, record
    first_error_offset    file offset of the block header the first problem
                          was found at (None if none)
    blocks_ok, blocks_bad, blocks_unknown, records, records_unknown
    blocks_index          INDEX blocks skipped by the sequential read
    index                 "absent", "valid" or "invalid" (spec 3.1)
    index_error           why the index is invalid ("" otherwise)

Fatal header problems (empty file, wrong magic, text-mode damage,
byte-swapped file, newer major version, bad header) raise SrecError.

CLI:  python3 tests/srec_reader.py FILE
prints one JSON line per record, then {"status": {...}}.
"""

import ctypes
import json
import struct
import sys

__all__ = ["SrecError", "read_file", "crc32c", "RECORD_NAMES", "RELEASE_HOW", "LOSS_KINDS"]

MAJOR = 1
MINOR = 3

# Value names from the spec (5.2), for tests that check what a file says.
RELEASE_HOW = {0: "unknown", 1: "close", 2: "dup2", 3: "exit", 4: "other", 5: "close_range",
               6: "freed", 7: "accept-failed", 8: "reused"}
LOSS_KINDS = {1: "ringbuf", 2: "sockmap", 3: "stack", 4: "procmap", 5: "other",
              6: "hook_skipped", 7: "release_late", 8: "kstack_mismatch"}

MAGIC = b"\x8aSRC\r\n\x1a\n"
BOM_BYTES = b"\x4d\x3c\x2b\x1a"          # 0x1A2B3C4D little-endian
BOM_SWAPPED = b"\x1a\x2b\x3c\x4d"
FILE_HDR_LEN = 32
MAX_FILE_HDR_LEN = 4096

BLOCK_SYNC = 0xB54B4C42
BLOCK_TAIL = 0xB5424C4B
BLOCK_HDR_LEN = 48
BLOCK_TRAILER_LEN = 8
MAX_PAYLOAD = 64 * 1024 * 1024

BLOCK_META = 1
BLOCK_DATA = 2
BLOCK_INDEX = 3
KNOWN_BLOCKS = (BLOCK_META, BLOCK_DATA)

IDX_BLOCK = 64
IDX_END = 65
MAX_RECORD = 1 << 20
MAX_INDEX_TYPES = 4096

CODEC_STORED = 0
CODEC_ZSTD = 1

MAX_FRAMES = 1024
MASK64 = (1 << 64) - 1


class SrecError(Exception):
    """A fatal problem with the file header: nothing can be salvaged."""


# --------------------------------------------------------------------------
# CRC-32C (Castagnoli), table driven, reflected polynomial 0x82F63B78.

def _make_crc_table():
    table = []
    for i in range(256):
        c = i
        for _ in range(8):
            c = (c >> 1) ^ 0x82F63B78 if c & 1 else c >> 1
        table.append(c)
    return tuple(table)


_CRC_TABLE = _make_crc_table()


def crc32c(data, crc=0):
    """CRC-32C of data; pass a previous result as crc to continue."""
    c = crc ^ 0xFFFFFFFF
    t = _CRC_TABLE
    for b in data:
        c = t[(c ^ b) & 0xFF] ^ (c >> 8)
    return c ^ 0xFFFFFFFF


assert crc32c(b"123456789") == 0xE3069283

# --------------------------------------------------------------------------
# zstd through ctypes.

_zstd = None


def _zstd_lib():
    global _zstd
    if _zstd is None:
        lib = ctypes.CDLL("libzstd.so.1")
        lib.ZSTD_getFrameContentSize.restype = ctypes.c_ulonglong
        lib.ZSTD_getFrameContentSize.argtypes = [ctypes.c_char_p, ctypes.c_size_t]
        lib.ZSTD_decompress.restype = ctypes.c_size_t
        lib.ZSTD_decompress.argtypes = [ctypes.c_void_p, ctypes.c_size_t,
                                        ctypes.c_char_p, ctypes.c_size_t]
        lib.ZSTD_isError.restype = ctypes.c_uint
        lib.ZSTD_isError.argtypes = [ctypes.c_size_t]
        _zstd = lib
    return _zstd


def _zstd_decompress(src, raw_len):
    """Decompress one zstd frame that must produce exactly raw_len bytes.
    Returns the bytes, or None if the payload is bad.  Never allocates more
    than raw_len bytes (one byte for an empty result)."""
    lib = _zstd_lib()
    fcs = lib.ZSTD_getFrameContentSize(src, len(src))
    # ZSTD_CONTENTSIZE_UNKNOWN / ZSTD_CONTENTSIZE_ERROR are (0ULL-1) / (0ULL-2):
    # neither equals a raw_len <= 64 MiB, so one comparison covers them.
    if fcs != raw_len:
        return None
    cap = raw_len if raw_len > 0 else 1
    dst = ctypes.create_string_buffer(cap)
    n = lib.ZSTD_decompress(dst, raw_len, src, len(src))
    if lib.ZSTD_isError(n) or n != raw_len:
        return None
    return dst.raw[:raw_len]


# --------------------------------------------------------------------------
# Record table (spec section 5.2).

COMMON = (("ts", "T"), ("pid", "U"), ("tid", "U"), ("comm", "U"), ("cpu", "U"))


def _ev(*fields):
    return COMMON + tuple(fields)


# type -> (name, fields); STACK (4) is decoded by hand.
RECORDS = {
    1: ("meta", (("key", "B"), ("value", "B"))),
    2: ("string", (("id", "U"), ("bytes", "B"))),
    3: ("module", (("id", "U"), ("path", "U"), ("build_id", "B"), ("flags", "U"))),
    4: ("stack", None),
    5: ("process", (("ts", "T"), ("pid", "U"), ("ppid", "U"), ("comm", "U"),
                    ("exe", "U"), ("start_ns", "U"))),
    6: ("mapping", (("ts", "T"), ("pid", "U"), ("gen", "U"), ("start", "U"),
                    ("end", "U"), ("pgoff", "U"), ("module", "U"), ("prot", "U"))),
    7: ("ksym", (("off", "I"), ("size", "U"), ("name", "U"), ("kmod", "U"))),
    8: ("loss", (("ts", "T"), ("window_ns", "U"), ("cpu", "U"), ("kind", "U"),
                 ("count", "U"))),
    9: ("symbol", (("module", "U"), ("off", "U"), ("size", "U"), ("name", "U"))),
    16: ("alloc", _ev(("serial", "D"), ("kstack", "U"), ("ustack", "U"),
                      ("origin", "U"))),
    17: ("release", _ev(("serial", "D"), ("kstack", "U"), ("ustack", "U"),
                        ("how", "U"), ("fd", "I"))),
    18: ("sockinfo", _ev(("serial", "D"), ("sk", "U"), ("fd", "I"), ("ino", "U"),
                         ("family", "U"), ("type", "U"), ("protocol", "U"),
                         ("origin", "U"))),
    19: ("state", _ev(("serial", "D"), ("sk", "U"), ("owner", "U"),
                      ("oldstate", "U"), ("newstate", "U"), ("family", "U"),
                      ("sport", "U"), ("dport", "U"), ("saddr", "B"),
                      ("daddr", "B"))),
    20: ("connect", _ev(("serial", "D"), ("sk", "U"), ("fd", "I"), ("family", "U"),
                        ("dport", "U"), ("daddr", "B"), ("dur_ns", "U"),
                        ("ret", "I"), ("flags", "U"), ("kstack", "U"),
                        ("ustack", "U"))),
    21: ("accept", _ev(("lserial", "D"), ("serial", "D"), ("sk", "U"), ("fd", "I"),
                       ("family", "U"), ("pport", "U"), ("paddr", "B"),
                       ("dur_ns", "U"), ("flags", "U"), ("estab_ts", "U"),
                       ("kstack", "U"), ("ustack", "U"))),
    22: ("fork", _ev(("child", "U"))),
    23: ("exec", _ev(("filename", "U"))),
    24: ("exit", _ev(("code", "I"), ("group_dead", "U"))),
    25: ("preexist", _ev(("serial", "D"), ("fd", "I"), ("ino", "U"), ("family", "U"),
                         ("type", "U"), ("protocol", "U"), ("tcpstate", "U"),
                         ("lport", "U"), ("rport", "U"), ("laddr", "B"),
                         ("raddr", "B"))),
}

RECORD_NAMES = {t: name for t, (name, _f) in RECORDS.items()}

# Spec 5, "Value ranges": 32-bit fields; a value outside the range makes
# the record malformed.  Every other integer field is 64-bit.
U32_FIELDS = {"pid", "tid", "cpu", "ppid", "gen", "how", "origin", "family", "type",
              "protocol", "owner", "oldstate", "newstate", "tcpstate", "sport", "dport",
              "pport", "lport", "rport", "child", "group_dead"}
U32_IN = {("loss", "kind"), ("stack", "kind"), ("stack", "flags"), ("connect", "flags"),
          ("accept", "flags")}
I32_FIELDS = {"fd", "ret", "code"}


def _check_range(rname, name, value):
    if name in U32_FIELDS or (rname, name) in U32_IN:
        if value > 0xFFFFFFFF:
            raise _Malformed("%s.%s out of the 32-bit range" % (rname, name))
    elif name in I32_FIELDS:
        if not -(1 << 31) <= value < (1 << 31):
            raise _Malformed("%s.%s out of the 32-bit range" % (rname, name))


class _Malformed(Exception):
    pass


def _uvarint(buf, pos, end):
    """Decode a uvarint at buf[pos:end].  Returns (value, new_pos).
    Truncated or longer than 10 bytes: _Malformed.  The value is kept to
    64 bits."""
    v = 0
    shift = 0
    for i in range(10):
        if pos >= end:
            raise _Malformed("truncated varint")
        b = buf[pos]
        pos += 1
        v |= (b & 0x7F) << shift
        if not b & 0x80:
            return v & MASK64, pos
        shift += 7
    raise _Malformed("varint longer than 10 bytes")


def _zigzag(u):
    v = (u >> 1) ^ -(u & 1)
    return v


def _s64(v):
    v &= MASK64
    return v - (1 << 64) if v >> 63 else v


class _BlockState:
    __slots__ = ("prev_t", "prev_d")

    def __init__(self):
        self.prev_t = 0
        self.prev_d = 0


def _decode_fields(buf, pos, end, fields, st, out, rname=""):
    """Decode a fixed field list from buf[pos:end] into out.  A field that
    is entirely absent (the body ended before it) reads as 0 / empty bytes
    and does not move the running T/D values."""
    for name, kind in fields:
        if pos >= end:
            out[name] = "" if kind == "B" else 0
            continue
        if kind == "B":
            n, pos = _uvarint(buf, pos, end)
            if n > end - pos:
                raise _Malformed("bytes field runs past the body")
            out[name] = bytes(buf[pos:pos + n]).hex()
            pos += n
            continue
        u, pos = _uvarint(buf, pos, end)
        if kind == "U":
            _check_range(rname, name, u)
            out[name] = u
        elif kind == "I":
            _check_range(rname, name, _zigzag(u))
            out[name] = _zigzag(u)
        elif kind == "T":
            st.prev_t = (st.prev_t + _zigzag(u)) & MASK64
            out[name] = st.prev_t
        elif kind == "D":
            st.prev_d = (st.prev_d + _zigzag(u)) & MASK64
            out[name] = st.prev_d
        else:  # pragma: no cover - table error
            raise AssertionError(kind)
    return pos


def _decode_stack(buf, pos, end, out):
    hdr = (("id", "U"), ("kind", "U"), ("flags", "U"), ("nframes", "U"))
    vals = {}
    for i, (name, _kind) in enumerate(hdr):
        # id, kind, flags and nframes are required (spec 5)
        if pos >= end:
            raise _Malformed("stack header cut")
        vals[name], pos = _uvarint(buf, pos, end)
        _check_range("stack", name, vals[name])
    if vals["id"] < 16 or vals["kind"] not in (1, 2):
        raise _Malformed("stack id below 16 or kind not 1 or 2")
    out["id"] = vals["id"]
    out["kind"] = vals["kind"]
    out["flags"] = vals["flags"]
    nframes = vals["nframes"]
    if nframes > MAX_FRAMES:
        raise _Malformed("stack has more than 1024 frames")
    user = vals["kind"] == 2
    frames = []
    modules = []
    acc = 0
    for _ in range(nframes):
        if user:
            m, pos = _uvarint(buf, pos, end)
            modules.append(m)
        d, pos = _uvarint(buf, pos, end)
        acc = _s64(acc + _zigzag(d))
        frames.append(acc)
    out["frames"] = frames
    if user:
        out["modules"] = modules
    # 1.2 trailing fields (spec 5.2): how the stack was unwound; absent
    # fields read as 0, and anything after them (a newer minor) is ignored.
    for name in ("method", "stop", "stop_module", "stop_value"):
        v = 0
        if pos < end:
            v, pos = _uvarint(buf, pos, end)
            if name in ("method", "stop") and v > 0xFFFFFFFF:
                raise _Malformed("stack %s out of range" % name)
        out[name] = v
    return pos


def _decode_payload(payload, records, status, counts=None):
    """Decode the records of one block payload, appending to records, and
    counting them by type in counts (a dict).  Returns None, or a reason
    string if a record was malformed (the rest of the block is then
    unreadable; records already decoded are kept)."""
    if counts is None:
        counts = {}
    st = _BlockState()
    buf = payload
    end = len(buf)
    pos = 0
    try:
        while pos < end:
            rtype, pos = _uvarint(buf, pos, end)
            blen, pos = _uvarint(buf, pos, end)
            if blen > end - pos:
                raise _Malformed("record body runs past the payload")
            bend = pos + blen
            spec = RECORDS.get(rtype)
            if spec is None:
                status["records_unknown"] += 1
                counts[rtype] = counts.get(rtype, 0) + 1
                pos = bend
                continue
            name, fields = spec
            rec = {"record": name}
            if fields is None:
                _decode_stack(buf, pos, bend, rec)
            else:
                _decode_fields(buf, pos, bend, fields, st, rec, name)
            # Extra bytes after the known fields: a newer minor version
            # appended fields; ignored.
            records.append(rec)
            status["records"] += 1
            counts[rtype] = counts.get(rtype, 0) + 1
            pos = bend
    except _Malformed as e:
        return str(e)
    return None


# --------------------------------------------------------------------------
# File header and blocks.

def _check_file_header(data):
    size = len(data)
    if size == 0:
        raise SrecError("empty file")
    if data[0:4] != MAGIC[0:4]:
        raise SrecError("not a .srec file (wrong magic)")
    if data[4:7] == b"\x0a\x1a\x0a" or data[4:9] == b"\x0d\x0d\x0a\x1a\x0d":
        raise SrecError("damaged by a text-mode transfer (CR/LF translated in the magic)")
    if data[0:8] != MAGIC:
        if size < 8:
            raise SrecError("truncated file header (%d bytes)" % size)
        raise SrecError("not a .srec file (wrong magic)")
    if size >= 12 and data[8:12] == BOM_SWAPPED:
        raise SrecError("byte-swapped file (byte-order mark is 1A 2B 3C 4D)")
    if size < FILE_HDR_LEN:
        raise SrecError("truncated file header (%d bytes)" % size)
    if data[8:12] != BOM_BYTES:
        raise SrecError("bad byte-order mark %s" % data[8:12].hex())
    major, minor, hdr_len, _flags, _res, hdr_crc = struct.unpack_from("<HHIIII", data, 12)
    if major > MAJOR:
        raise SrecError("file major version %d is newer than this reader's %d.%d"
                        % (major, MAJOR, MINOR))
    if major < 1:
        raise SrecError("unsupported major version %d (this reader reads %d)"
                        % (major, MAJOR))
    if crc32c(data[0:28]) != hdr_crc:
        raise SrecError("file header checksum mismatch")
    if hdr_len < FILE_HDR_LEN or hdr_len > MAX_FILE_HDR_LEN:
        raise SrecError("bad file header length %d" % hdr_len)
    return major, minor, hdr_len


def _block_header_ok(data, off):
    """Steps 2's checks: sync, header_crc, limits.  Returns None if the 48
    bytes at off pass, else the reason ('block' or 'toobig')."""
    sync, = struct.unpack_from("<I", data, off)
    if sync != BLOCK_SYNC:
        return "block"
    hcrc, = struct.unpack_from("<I", data, off + 44)
    if crc32c(data[off:off + 44]) != hcrc:
        return "block"
    stored_len, raw_len = struct.unpack_from("<II", data, off + 8)
    if stored_len > MAX_PAYLOAD or raw_len > MAX_PAYLOAD:
        return "toobig"
    return None


def _resync(data, start):
    """Search forward byte by byte from start for 48 bytes that pass the
    block header checks.  Returns the offset, or None."""
    sync = struct.pack("<I", BLOCK_SYNC)
    size = len(data)
    pos = start
    while True:
        pos = data.find(sync, pos)
        if pos < 0 or size - pos < BLOCK_HDR_LEN:
            return None
        if _block_header_ok(data, pos) is None:
            return pos
        pos += 1


def _pad8(n):
    return (n + 7) & ~7


class _BadIndex(Exception):
    pass


def _index_counts(buf, pos, end):
    """A counts field: (type, count) pairs, types strictly ascending, counts
    non-zero, at most MAX_INDEX_TYPES pairs.  Returns a dict."""
    out = {}
    prev = None
    while pos < end:
        t, pos = _uvarint(buf, pos, end)
        c, pos = _uvarint(buf, pos, end)
        if (prev is not None and t <= prev) or c == 0 or len(out) >= MAX_INDEX_TYPES:
            raise _BadIndex("bad counts")
        out[t] = c
        prev = t
    return out


def _index_fields(buf, pos, end, n):
    """n uvarints then a bytes field; absent ones read as 0 / empty."""
    vals = []
    for _ in range(n):
        if pos >= end:
            vals.append(0)
        else:
            v, pos = _uvarint(buf, pos, end)
            vals.append(v)
    counts = {}
    if pos < end:
        blen, pos = _uvarint(buf, pos, end)
        if blen > end - pos:
            raise _BadIndex("counts field runs past the record")
        counts = _index_counts(buf, pos, pos + blen)
    return vals, counts


def read_index(data, hdr_len):
    """Spec 3.1: find the index from the end of the file and check it
    against the blocks it names.  Returns ("absent", None, ""),
    ("valid", (entries, totals), "") or ("invalid", None, reason).  entries
    is a list of dicts (offset, type, seq, nrecords, t_first, t_last,
    stored_len, payload_crc, counts); totals a dict type -> count."""
    size = len(data)
    if size < hdr_len + BLOCK_HDR_LEN + BLOCK_TRAILER_LEN:
        return "absent", None, ""
    total, tail = struct.unpack_from("<II", data, size - 8)
    if tail != BLOCK_TAIL or total % 8 or total < 56 or total > size - hdr_len:
        return "absent", None, ""
    off = size - total
    if _block_header_ok(data, off) is not None:
        return "absent", None, ""
    (_sync, btype, codec, stored_len, raw_len, _nrec, pcrc,
     _tf, _tl, iseq, _hcrc) = struct.unpack_from("<IHHIIIIQQII", data, off)
    if BLOCK_HDR_LEN + _pad8(stored_len) + BLOCK_TRAILER_LEN != total:
        return "absent", None, ""
    if btype != BLOCK_INDEX:
        return "absent", None, ""
    try:
        payload = data[off + BLOCK_HDR_LEN:off + BLOCK_HDR_LEN + stored_len]
        if crc32c(payload) != pcrc:
            raise _BadIndex("checksum")
        if codec == CODEC_ZSTD:
            raw = _zstd_decompress(payload, raw_len)
        elif codec == CODEC_STORED and stored_len == raw_len:
            raw = payload
        else:
            raw = None
        if raw is None:
            raise _BadIndex("decompress")
        entries = []
        totals = None
        end_vals = None
        pos = 0
        while pos < len(raw):
            if end_vals is not None:
                raise _BadIndex("records after the end record")
            rtype, pos = _uvarint(raw, pos, len(raw))
            blen, pos = _uvarint(raw, pos, len(raw))
            if blen > len(raw) - pos or blen > MAX_RECORD:
                raise _BadIndex("record runs past the payload")
            bend = pos + blen
            if rtype == IDX_BLOCK:
                v, counts = _index_fields(raw, pos, bend, 8)
                if any(v[i] > 0xFFFFFFFF for i in (1, 2, 3, 6, 7)):
                    raise _BadIndex("value out of range")
                if sum(counts.values()) != v[3]:
                    raise _BadIndex("counts do not sum to nrecords")
                entries.append(dict(offset=v[0], type=v[1], seq=v[2], nrecords=v[3],
                                    t_first=v[4], t_last=v[5], stored_len=v[6],
                                    payload_crc=v[7], counts=counts))
            elif rtype == IDX_END:
                end_vals, totals = _index_fields(raw, pos, bend, 2)
                if sum(totals.values()) != end_vals[1]:
                    raise _BadIndex("totals do not sum to records")
            pos = bend
        if end_vals is None or end_vals[0] != len(entries):
            raise _BadIndex("no end record, or a wrong block count")
        sums = {}
        for e in entries:
            for t, c in e["counts"].items():
                if t not in totals:
                    raise _BadIndex("a type missing from the totals")
                sums[t] = sums.get(t, 0) + c
        if sums != totals or sum(e["nrecords"] for e in entries) != end_vals[1]:
            raise _BadIndex("totals are not the entries' sums")
        expect = hdr_len
        for i, e in enumerate(entries):
            if e["offset"] != expect or e["seq"] != i or e["stored_len"] > MAX_PAYLOAD:
                raise _BadIndex("entries do not tile the file")
            btotal = BLOCK_HDR_LEN + _pad8(e["stored_len"]) + BLOCK_TRAILER_LEN
            if btotal > off - expect:
                raise _BadIndex("entry runs past the index")
            if _block_header_ok(data, expect) is not None:
                raise _BadIndex("no valid block header at an entry")
            (_s, bt, _c, bstored, _r, bnrec, bpcrc, btf, btl, bseq,
             _h) = struct.unpack_from("<IHHIIIIQQII", data, expect)
            if (bt, bseq, bnrec, btf, btl, bstored, bpcrc) != (
                    e["type"], e["seq"], e["nrecords"], e["t_first"], e["t_last"],
                    e["stored_len"], e["payload_crc"]):
                raise _BadIndex("an entry disagrees with its block header")
            t_total, t_tail = struct.unpack_from("<II", data, expect + btotal - 8)
            if t_total != btotal or t_tail != BLOCK_TAIL:
                raise _BadIndex("an entry's block has a bad trailer")
            expect += btotal
        if expect != off or iseq != len(entries):
            raise _BadIndex("entries do not end at the index")
    except (_BadIndex, _Malformed) as e:
        return "invalid", None, str(e)
    return "valid", (entries, totals), ""


def _counts_agree(entry_counts, decoded):
    """Spec 3.1: a block decoded whole has, type by type, the records its
    entry counts (types this reader does not know: in sum)."""
    known_e = {t: c for t, c in entry_counts.items() if t in RECORDS}
    known_d = {t: c for t, c in decoded.items() if t in RECORDS}
    unk_e = sum(c for t, c in entry_counts.items() if t not in RECORDS)
    unk_d = sum(c for t, c in decoded.items() if t not in RECORDS)
    return known_e == known_d and unk_e == unk_d


def read_bytes(data):
    """Read a whole .srec file image (bytes).  See read_file()."""
    data = bytes(data)
    major, minor, hdr_len = _check_file_header(data)
    records = []
    status = {
        "major": major,
        "minor": minor,
        "salvaged": False,
        "first_error": "",
        "first_error_offset": None,
        "blocks_ok": 0,
        "blocks_bad": 0,
        "blocks_unknown": 0,
        "records": 0,
        "records_unknown": 0,
        "blocks_index": 0,
        "index": "absent",
        "index_error": "",
    }
    whole = []  # (offset, type, counts) of the blocks decoded whole

    def problem(reason, offset):
        if not status["salvaged"]:
            status["salvaged"] = True
            status["first_error"] = reason
            status["first_error_offset"] = offset

    size = len(data)
    off = hdr_len
    if off > size:
        problem("truncated", FILE_HDR_LEN)
        return records, status
    state, index, why = read_index(data, hdr_len)
    status["index"] = state
    status["index_error"] = why
    while True:
        # 1. the block header
        if off == size:
            break
        if size - off < BLOCK_HDR_LEN:
            problem("truncated", off)
            break
        # 2. sync, header_crc, limits; resynchronize on failure
        why = _block_header_ok(data, off)
        if why is not None:
            problem(why, off)
            status["blocks_bad"] += 1
            nxt = _resync(data, off + 1)
            if nxt is None:
                break
            off = nxt
            continue
        (_sync, btype, codec, stored_len, raw_len, _nrec, pcrc,
         _tf, _tl, _seq, _hcrc) = struct.unpack_from("<IHHIIIIQQII", data, off)
        total = BLOCK_HDR_LEN + _pad8(stored_len) + BLOCK_TRAILER_LEN
        # 3. payload and trailer
        if size - off < total:
            problem("truncated", off)
            break
        # 4. trailer
        t_total, t_tail = struct.unpack_from("<II", data, off + total - BLOCK_TRAILER_LEN)
        if t_total != total or t_tail != BLOCK_TAIL:
            problem("block", off)
            status["blocks_bad"] += 1
            nxt = _resync(data, off + 1)
            if nxt is None:
                break
            off = nxt
            continue
        # 5. the framing is trustworthy from here on; INDEX blocks (read
        # by read_index) and unknown block types are skipped by total_len
        if btype == BLOCK_INDEX:
            status["blocks_index"] += 1
            off += total
            continue
        if btype not in KNOWN_BLOCKS:
            status["blocks_unknown"] += 1
            off += total
            continue
        # 6. payload checksum
        pstart = off + BLOCK_HDR_LEN
        payload = data[pstart:pstart + stored_len]
        if crc32c(payload) != pcrc:
            problem("checksum", off)
            status["blocks_bad"] += 1
            off += total
            continue
        # 6. decompress
        if codec == CODEC_ZSTD:
            raw = _zstd_decompress(payload, raw_len)
        elif codec == CODEC_STORED:
            raw = payload if stored_len == raw_len else None
        else:
            raw = None
        if raw is None:
            problem("decompress", off)
            status["blocks_bad"] += 1
            off += total
            continue
        # 7. records
        counts = {}
        bad = _decode_payload(raw, records, status, counts)
        if bad is not None:
            problem("record", off)
            status["blocks_bad"] += 1
        else:
            status["blocks_ok"] += 1
            whole.append((off, btype, counts))
        off += total
    if index is not None:
        by_off = {e["offset"]: e for e in index[0]}
        for boff, btype, counts in whole:
            e = by_off.get(boff)
            if e is None or e["type"] != btype or not _counts_agree(e["counts"], counts):
                status["index"] = "invalid"
                status["index_error"] = "a block's records disagree with its entry"
                break
    return records, status


def read_file(path):
    """Read the .srec file at path.  Returns (records, status); raises
    SrecError for a file whose header cannot be read (nothing to salvage)."""
    with open(path, "rb") as f:
        data = f.read()
    return read_bytes(data)


def main(argv):
    if len(argv) != 2:
        print("usage: srec_reader.py FILE", file=sys.stderr)
        return 2
    try:
        records, status = read_file(argv[1])
    except SrecError as e:
        print("srec_reader: %s: %s" % (argv[1], e), file=sys.stderr)
        return 1
    except OSError as e:
        print("srec_reader: %s: %s" % (argv[1], e.strerror or e), file=sys.stderr)
        return 1
    out = sys.stdout
    for r in records:
        out.write(json.dumps(r))
        out.write("\n")
    out.write(json.dumps({"status": status}))
    out.write("\n")
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv))
