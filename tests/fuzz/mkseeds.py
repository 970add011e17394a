#!/usr/bin/env python3
"""mkseeds.py - (re)build the seed corpus of the fuzz_reader target.

Usage: python3 tests/fuzz/mkseeds.py SRC.srec... [-o tests/fuzz/corpus]

Each source file is copied as it is (seed-<name>.srec), and once more with
every intact zstd block rewritten as a stored (codec 0) block
(seed-<name>-stored.srec): a mutation of a stored payload reaches the record
decoder and the model, while a mutated zstd frame rarely decompresses.
Seeds larger than 64 KiB are skipped.  The fuzzer repairs the checksums of
mutated inputs itself (see fuzz_reader.c), so the seeds need no special form.
"""
import argparse
import os
import struct
import sys

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, os.path.dirname(HERE))
import srec_reader as R  # noqa: E402

MAX_SEED = 64 * 1024


def _uv(v):
    out = bytearray()
    while v >= 0x80:
        out.append((v & 0x7F) | 0x80)
        v >>= 7
    out.append(v)
    return bytes(out)


def reindex(raw, new_blocks):
    """The INDEX payload raw (spec 3.1) with each IBLOCK's offset,
    stored_len and payload_crc replaced by those of new_blocks (offset,
    stored_len, payload_crc), in order; the per-type counts are kept."""
    out = b""
    pos = 0
    i = 0
    while pos < len(raw):
        t, pos = R._uvarint(raw, pos, len(raw))
        n, pos = R._uvarint(raw, pos, len(raw))
        body = raw[pos:pos + n]
        if t == R.IDX_BLOCK and i < len(new_blocks):
            vals, counts = R._index_fields(raw, pos, pos + n, 8)
            vals[0], vals[6], vals[7] = new_blocks[i]
            c = b"".join(_uv(k) + _uv(v) for k, v in sorted(counts.items()))
            body = b"".join(_uv(v) for v in vals) + _uv(len(c)) + c
            i += 1
        out += _uv(t) + _uv(len(body)) + body
        pos += n
    return out


def stored_copy(data):
    """Every intact zstd block rewritten as a stored one; an index at the
    end is rewritten to name the new blocks, so that it stays valid."""
    hdr_len, = struct.unpack_from("<I", data, 16)
    out = bytearray(data[:hdr_len])
    off = hdr_len
    new_blocks = []
    while off + 48 <= len(data):
        (sync, btype, codec, stored, raw_len, nrec, _pcrc, tf, tl, seq,
         _hcrc) = struct.unpack_from("<IHHIIIIQQII", data, off)
        total = 48 + ((stored + 7) & ~7) + 8
        if sync != R.BLOCK_SYNC or off + total > len(data):
            break
        payload = data[off + 48:off + 48 + stored]
        if codec == R.CODEC_ZSTD:
            raw = R._zstd_decompress(payload, raw_len)
            if raw is not None:
                payload, codec = raw, R.CODEC_STORED
        if btype == R.BLOCK_INDEX and codec == R.CODEC_STORED and off + total == len(data):
            payload = reindex(payload, new_blocks)
        else:
            new_blocks.append((len(out), len(payload), R.crc32c(payload)))
        h = struct.pack("<IHHIIIIQQI", sync, btype, codec, len(payload),
                        len(payload) if codec == R.CODEC_STORED else raw_len, nrec,
                        R.crc32c(payload), tf, tl, seq)
        h += struct.pack("<I", R.crc32c(h))
        pad = (-len(payload)) % 8
        out += h + payload + b"\0" * pad + struct.pack("<II", 48 + len(payload) + pad + 8,
                                                       R.BLOCK_TAIL)
        off += total
    out += data[off:]
    return bytes(out)


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("src", nargs="+")
    ap.add_argument("-o", "--outdir", default=os.path.join(HERE, "corpus"))
    a = ap.parse_args()
    os.makedirs(a.outdir, exist_ok=True)
    for src in a.src:
        data = open(src, "rb").read()
        name = os.path.splitext(os.path.basename(src))[0]
        for suffix, blob in (("", data), ("-stored", stored_copy(data))):
            if suffix and blob == data:
                continue
            if len(blob) > MAX_SEED:
                print("skipped (%d bytes): %s%s" % (len(blob), name, suffix))
                continue
            with open(os.path.join(a.outdir, "seed-%s%s.srec" % (name, suffix)), "wb") as f:
                f.write(blob)
    return 0


if __name__ == "__main__":
    sys.exit(main())
