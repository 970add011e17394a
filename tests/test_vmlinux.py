"""sockreport --vmlinux FILE on the golden recording, without a VM.

tests/data/golden-v1.0.srec records kernel.build_id 8e1d2f7c...01 and kernel
stacks as offsets from _text.  A "vmlinux" is made here from
tests/fixtures/sym_inline.cpp: linked with that build-id and with `_text`
placed so that the first frame of a recorded stack falls on an instruction
where functions are inlined.  The expected frames come from
`addr2line -f -i -C` on the same file.  The real kernel (Debian's -dbg
vmlinux, with recordings made under it) is checked by tests/test_vm.py.
"""
import json
import os

import pytest

from conftest import DATA_DIR, SOCKREPORT
from test_symbolize import addr2line, cc, insns, nm_funcs, run

GOLDEN = os.path.join(DATA_DIR, "golden-v1.0.srec")
GOLDEN_BID = "8e1d2f7c4b3a59066d0e2c1b7a4f9d3e5c6b8a01"
# stack 16 of the golden file: sock_alloc+0x8 (KSYM at 9059392), __sys_socket,
# __x64_sys_socket, do_syscall_64, entry_SYSCALL_64_after_hwframe
FRAME0, KSYM0 = 9059400, 9059392
# linked high enough for _text = address - FRAME0 to be positive
LINK = ["-O2", "-g", "-no-pie", "-fno-pie", "-Wl,-Ttext-segment=0x40000000"]


def report(*args):
    p = run([SOCKREPORT, *args], check=False)
    assert p.returncode == 0, p.stderr
    return p.stdout, [l for l in p.stderr.splitlines() if "vmlinux" in l]


def kernel_stacks(*args):
    out, warn = report("leaks", "--json", *args, GOLDEN)
    d = json.loads(out)
    return [g["kernel_stack"] for kind in ("outstanding", "exit_released")
            for g in d[kind]], warn


@pytest.fixture(scope="module")
def bld(tmp_path_factory):
    return tmp_path_factory.mktemp("vmlinux")


@pytest.fixture(scope="module")
def target(bld):
    """(address, addr2line frames) of an instruction of sym_work with at
    least one inlined function and 8 bytes or more into sym_work."""
    probe = cc(bld, "sym_inline.cpp", "probe", LINK)
    start = nm_funcs(probe)["_Z8sym_worki"][0]
    addrs = [a for a, _ in insns(probe, "_Z8sym_worki") if a >= start + 8]
    chains = addr2line(probe, addrs)
    for a in addrs:
        if len(chains[a]) >= 2 and all(f[1] and f[2] for f in chains[a]):
            return a, chains[a]
    pytest.fail("no inlined instruction in sym_work: %s" % chains)


def fake_vmlinux(bld, target, name, bid=GOLDEN_BID):
    """The probe relinked with build-id bid and _text = target - FRAME0; the
    layout does not move (same code, same link), checked by the caller."""
    addr, _ = target
    return cc(bld, "sym_inline.cpp", name,
              LINK + ["-Wl,--build-id=0x" + bid, "-Wl,--defsym=_text=0x%x" % (addr - FRAME0)])


def test_without_vmlinux_recorded_symbols():
    stacks, warn = kernel_stacks()
    assert warn == []
    flat = [l for s in stacks for l in s]
    assert "sock_alloc+0x8 [kernel]" in flat
    assert not any("(kernel)" in l for l in flat)


def test_matching_vmlinux_adds_inlines_and_lines(bld, target):
    vml = fake_vmlinux(bld, target, "vmlinux_match")
    addr, chain = target
    assert nm_funcs(vml)["_Z8sym_worki"] == nm_funcs(str(bld / "probe"))["_Z8sym_worki"]
    plain, _ = kernel_stacks()
    stacks, warn = kernel_stacks("--vmlinux", vml)
    assert warn == []
    i = next(i for i, s in enumerate(plain) if s[0] == "sock_alloc+0x8 [kernel]")
    got, base = stacks[i], plain[i]
    n = len(chain)
    # addr2line's chain, innermost first; the real function keeps the
    # recording's name (sock_alloc, KSYM at 8 bytes before the frame)
    want = ["%s (inlined) (kernel) %s:%d" % f for f in chain[:-1]]
    want.append("sock_alloc+0x8 (kernel) %s:%d" % chain[-1][1:])
    assert got[:n] == want
    # the other frames are outside this small image: recorded symbols
    assert got[n:] == base[1:]


def test_verbose_says_build_id_matches(bld, target):
    vml = fake_vmlinux(bld, target, "vmlinux_verbose")
    p = run([SOCKREPORT, "leaks", "-v", "--vmlinux", vml, GOLDEN])
    assert "kernel build-id %s: --vmlinux %s" % (GOLDEN_BID, vml) in p.stderr
    assert "accepted: build-id matches" in p.stderr
    assert "indexed by .debug_aranges" in p.stderr


def test_mismatching_vmlinux_is_said_and_not_used(bld, target):
    other = GOLDEN_BID[:-2] + "02"
    vml = fake_vmlinux(bld, target, "vmlinux_other", bid=other)
    plain, _ = report("leaks", GOLDEN)
    out, warn = report("leaks", "--vmlinux", vml, GOLDEN)
    assert out == plain
    assert warn == ["sockreport: WARNING: --vmlinux %s: not used: build-id mismatch: the file "
                    "is %s, the recording's kernel is %s; kernel frames show the recorded "
                    "symbols only" % (vml, other, GOLDEN_BID)]
    p = run([SOCKREPORT, "leaks", "-v", "--vmlinux", vml, GOLDEN])
    assert "build-id mismatch" in p.stderr


@pytest.mark.parametrize("kind", ["missing", "directory", "empty", "garbage", "truncated"])
def test_unusable_vmlinux_one_line_and_recorded_symbols(bld, target, kind):
    path = str(bld / ("bad_" + kind))
    if kind == "directory":
        path = str(bld)
    elif kind == "empty":
        open(path, "wb").close()
    elif kind == "garbage":
        with open(path, "wb") as f:
            f.write(b"\x7fELF\x02\x01\x01" + os.urandom(4096))
    elif kind == "truncated":
        data = open(fake_vmlinux(bld, target, "vmlinux_full"), "rb").read()
        with open(path, "wb") as f:
            f.write(data[:len(data) // 2])
    for cmd in ("leaks", "allocs", "pairs"):
        args = [cmd] + (["--stacks"] if cmd == "pairs" else [])
        plain, _ = report(*args, GOLDEN)
        out, warn = report(*args, "--vmlinux", path, GOLDEN)
        assert out == plain, cmd
        assert len(warn) == 1 and warn[0].startswith(
            "sockreport: WARNING: --vmlinux %s: not used: " % path), warn
