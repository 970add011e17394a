"""Shared pytest helpers: repository paths, building the srec_gen fixture
generator, and the recipe that made the damaged golden files."""

import os
import struct
import subprocess
import sys

import pytest

TESTS_DIR = os.path.dirname(os.path.abspath(__file__))
REPO_ROOT = os.path.dirname(TESTS_DIR)
FORMAT_DIR = os.path.join(REPO_ROOT, "format")
DATA_DIR = os.path.join(TESTS_DIR, "data")
SRC_GEN = os.path.join(TESTS_DIR, "fixtures", "srec_gen.c")
# The C reader the format tests compare with; SREC_SOCKREPORT may name another
# build of it (for example an installed one).
SOCKREPORT = os.environ.get("SREC_SOCKREPORT") or os.path.join(REPO_ROOT, "build", "sockreport")

CFLAGS = ["-std=c11", "-D_GNU_SOURCE", "-Wall", "-Wextra", "-Werror"]

if TESTS_DIR not in sys.path:
    sys.path.insert(0, TESTS_DIR)


def build_format_tool(outdir, src, name):
    """Compile a C tool (tests/fixtures/*.c) with the format library into
    outdir; returns the binary's path.  Fails the test on a build error."""
    out = os.path.join(str(outdir), name)
    sources = sorted(
        os.path.join(FORMAT_DIR, f) for f in os.listdir(FORMAT_DIR) if f.endswith(".c"))
    cmd = ["gcc", *CFLAGS, "-I" + FORMAT_DIR, src, *sources, "-lzstd", "-o", out]
    p = subprocess.run(cmd, capture_output=True, text=True)
    if p.returncode != 0:
        pytest.fail("building %s failed:\n%s\n%s" % (name, " ".join(cmd), p.stderr))
    return out


def build_srec_gen(outdir):
    """tests/fixtures/srec_gen.c, built into outdir."""
    return build_format_tool(outdir, SRC_GEN, "srec_gen")


@pytest.fixture(scope="session")
def srec_gen_bin(tmp_path_factory):
    """Path of a freshly built srec_gen."""
    return build_srec_gen(tmp_path_factory.mktemp("srec_gen"))


def block_offsets(data):
    """(offset, type, stored_len, total_len) of each block of an intact
    .srec image, by walking the framing (no checks: for fixtures only)."""
    hdr_len, = struct.unpack_from("<I", data, 16)
    off = hdr_len
    out = []
    while off + 48 <= len(data):
        btype, = struct.unpack_from("<H", data, off + 4)
        stored, = struct.unpack_from("<I", data, off + 8)
        total = 48 + ((stored + 7) & ~7) + 8
        out.append((off, btype, stored, total))
        off += total
    return out


# How the damaged golden files were made from golden-v1.0.srec (and how the
# test checks that they still are what they claim to be):
#  - truncated: cut in the middle of the file's third block (block index 2);
#  - flipped:   one byte XOR 0xFF in the middle of the payload of the second
#               DATA block.
def make_truncated(golden):
    off, _t, _s, total = block_offsets(golden)[2]
    return golden[:off + total // 2]


def make_flipped(golden):
    data_blocks = [b for b in block_offsets(golden) if b[1] == 2]
    off, _t, stored, _total = data_blocks[1]
    pos = off + 48 + stored // 2
    out = bytearray(golden)
    out[pos] ^= 0xFF
    return bytes(out)


# ---- recording helpers (tests that need root and BPF) ----

BUILD = os.environ.get("SOCKREC_BUILD") or os.path.join(REPO_ROOT, "build")
SOCKREC = os.path.join(BUILD, "sockrec")
FIXTURES = os.path.join(BUILD, "fixtures")

_bpf_state = {}


def _bpf_usable(tmpdir):
    """Can sockrec really record here?  Returns (ok, reason)."""
    if os.geteuid() != 0:
        return False, "not root"
    if not os.path.exists(SOCKREC):
        return False, "%s is not built (run make)" % SOCKREC
    out = os.path.join(str(tmpdir), "probe.srec")
    p = subprocess.run([SOCKREC, "-d", "0.2", "-o", out, "--", "true"],
                       capture_output=True, text=True, timeout=60)
    if p.returncode != 0:
        return False, "sockrec cannot record: " + (p.stderr.strip().splitlines() or ["?"])[-1]
    return True, ""


@pytest.fixture(scope="session")
def bpf(tmp_path_factory):
    """Tests that record need BPF.  Under CI (CI is set) a missing BPF is a
    failure, never a skip: a green CI must mean the recorder was tested."""
    if "ok" not in _bpf_state:
        _bpf_state["ok"], _bpf_state["why"] = _bpf_usable(tmp_path_factory.mktemp("bpfprobe"))
    if not _bpf_state["ok"]:
        if os.environ.get("CI"):
            pytest.fail("BPF recording unavailable under CI: " + _bpf_state["why"])
        pytest.skip("BPF recording unavailable: " + _bpf_state["why"])
    return True


def fixture_path(name):
    p = os.path.join(FIXTURES, name)
    if not os.path.exists(p):
        pytest.fail("fixture %s is not built (make fixtures)" % p)
    return p


def run_sockreport(*args, check=True):
    """Run sockreport; returns the CompletedProcess (text)."""
    p = subprocess.run([SOCKREPORT, *args], capture_output=True, text=True, timeout=300)
    if check and p.returncode != 0:
        pytest.fail("sockreport %s failed (%d):\n%s" % (" ".join(args), p.returncode, p.stderr))
    return p


def sockreport_json(*args):
    import json
    p = run_sockreport(*args, "--json")
    return json.loads(p.stdout)


def run_on_tty(*args, cols=80, env=None):
    """Run sockreport with stdout on a pseudo-terminal `cols` wide (as a
    person sees it); returns what it printed there (text, \\n line ends)."""
    import fcntl
    import pty
    import termios
    master, slave = pty.openpty()
    fcntl.ioctl(slave, termios.TIOCSWINSZ, struct.pack("HHHH", 50, cols, 0, 0))
    p = subprocess.Popen([SOCKREPORT, *args], stdout=slave, stderr=subprocess.PIPE, env=env)
    os.close(slave)
    chunks = []
    while True:
        try:
            b = os.read(master, 65536)
        except OSError:  # EIO: the child closed the terminal
            break
        if not b:
            break
        chunks.append(b)
    os.close(master)
    err = p.stderr.read()
    p.stderr.close()
    if p.wait(timeout=300) != 0:
        pytest.fail("sockreport %s failed on a tty (%d):\n%s" % (" ".join(args), p.returncode,
                                                                  err.decode(errors="replace")))
    return b"".join(chunks).decode("utf-8").replace("\r\n", "\n")
