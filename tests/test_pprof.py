"""allocs/leaks --pprof: a real recording of the leak fixture, the profile
decoded by protoc against pprof's profile.proto (Debian's
golang-github-google-pprof-dev), its totals compared with allocs/leaks --json.
"""
import gzip
import os
import re
import subprocess

import pytest

from conftest import SOCKREC, fixture_path, run_sockreport, sockreport_json

PROTO = "/usr/share/gocode/src/github.com/google/pprof/proto/profile.proto"


def decode(path):
    """The profile as protoc's text format, parsed into nested dicts of lists."""
    raw = gzip.open(path).read()
    p = subprocess.run(["protoc", "--decode=perftools.profiles.Profile",
                        "-I" + os.path.dirname(PROTO), os.path.basename(PROTO)],
                       input=raw, capture_output=True, timeout=60)
    assert p.returncode == 0, p.stderr.decode()
    root, stack = {}, []
    cur = root
    for line in p.stdout.decode().splitlines():
        line = line.strip()
        if line.endswith("{"):
            new = {}
            cur.setdefault(line[:-1].strip(), []).append(new)
            stack.append(cur)
            cur = new
        elif line == "}":
            cur = stack.pop()
        elif line:
            k, v = line.split(":", 1)
            v = v.strip()
            v = bytes(v[1:-1], "latin1").decode("unicode_escape") if v.startswith('"') else v
            cur.setdefault(k, []).append(v)
    return root


@pytest.fixture(scope="module")
def leaker(bpf, tmp_path_factory):
    d = tmp_path_factory.mktemp("pprof")
    out = d / "leaker.srec"
    log = d / "leaker.out"
    with open(log, "w") as lf:
        p = subprocess.run([SOCKREC, "-d", "2", "-o", str(out), "--", fixture_path("leaker"),
                            "10", "4", "5"], stdout=lf, stderr=subprocess.PIPE, text=True,
                           timeout=120)
    assert p.returncode == 0, p.stderr
    pid = int(re.search(r"pid=(\d+)", log.read_text()).group(1))
    yield out, d
    try:
        os.kill(pid, 9)
    except ProcessLookupError:
        pass


def totals(prof):
    st = prof["string_table"]
    types = [st[int(t["type"][0])] for t in prof["sample_type"]]
    sums = [0] * len(types)
    for s in prof["sample"]:
        for i, v in enumerate(s["value"]):
            sums[i] += int(v)
    return dict(zip(types, sums))


def test_pprof_totals_and_symbols(leaker):
    srec, d = leaker
    pa, pl = d / "allocs.pb.gz", d / "leaks.pb.gz"
    run_sockreport("allocs", "--pprof", str(pa), str(srec))
    run_sockreport("leaks", "--pprof", str(pl), str(srec))
    a = decode(pa)
    t = totals(a)
    allocs = sockreport_json("allocs", str(srec))
    leaks = sockreport_json("leaks", str(srec))
    assert t["allocations"] == sum(s["allocated"] for s in allocs["sites"]) == 40
    assert t["open"] == sum(s["open"] for s in allocs["sites"]) == 24
    assert t["leaked"] == sum(g["count"] for g in leaks["outstanding"]) == 24
    st = a["string_table"]
    assert st[0] == ""
    assert st[int(a["default_sample_type"][0])] == "allocations"
    l = decode(pl)
    assert totals(l) == t
    assert l["string_table"][int(l["default_sample_type"][0])] == "leaked"
    # labels: comm, kind, origin, host on every sample
    host = sockreport_json("info", str(srec))["meta"]["host.name"]
    for s in a["sample"]:
        labels = {st[int(x["key"][0])]: st[int(x["str"][0])] for x in s["label"]}
        assert labels["comm"] == "leaker" and labels["host"] == host
        assert labels["kind"] in ("INET/STREAM/TCP", "INET/DGRAM/UDP", "UNIX/STREAM",
                                  "several kinds"), labels
    # mappings with build-ids, already symbolized, with lines for the fixture
    maps = {os.path.basename(st[int(m["filename"][0])]): m for m in a["mapping"]}
    fx = maps["leaker"]
    assert re.fullmatch(r"[0-9a-f]{40}", st[int(fx["build_id"][0])])
    assert fx["has_functions"] == ["true"] and fx["has_line_numbers"] == ["true"]
    assert re.fullmatch(r"[0-9a-f]{40}", st[int(maps["[kernel.kallsyms]"]["build_id"][0])])
    fnames = {st[int(f["name"][0])] for f in a["function"]}
    assert {"leak_sockets_here", "main", "__sys_socket"} <= fnames, fnames
    # the leaf is first: a kernel allocator frame, then up to main
    funcs = {int(f["id"][0]): st[int(f["name"][0])] for f in a["function"]}
    locs = {int(x["id"][0]): [funcs[int(ln["function_id"][0])] for ln in x["line"]]
            for x in a["location"]}
    s0 = [locs[int(i)][-1] for i in a["sample"][0]["location_id"]]
    assert s0.index("__sys_socket") < s0.index("leak_sockets_here") < s0.index("main"), s0


def test_pprof_never_overwrites(leaker):
    srec, d = leaker
    f = d / "x.pb.gz"
    f.write_bytes(b"keep")
    p = run_sockreport("allocs", "--pprof", str(f), str(srec), check=False)
    assert p.returncode != 0 and "--force" in p.stderr
    assert f.read_bytes() == b"keep"
    run_sockreport("allocs", "-f", "--pprof", str(f), str(srec))
    assert decode(f)["sample"]
    assert (os.stat(f).st_mode & 0o777) == 0o600
