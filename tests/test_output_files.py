"""Report outputs written whole or not at all (html, timeline, --pprof):
a failed run keeps an earlier file untouched and leaves nothing
half-written; the target is never a symlink, never replaced without -f;
one output per run."""

import os
import subprocess

from conftest import DATA_DIR, SOCKREPORT

GOLDEN = os.path.join(DATA_DIR, "golden-v1.1.srec")


def rep(*args):
    return subprocess.run([SOCKREPORT, *args], capture_output=True, text=True, timeout=120)


def outputs(kind, out):
    """argv of one report writing `out`."""
    return {
        "html": ["html", "-o", out],
        "timeline": ["timeline", "-o", out],
        "pprof": ["allocs", "--pprof", out],
    }[kind]


def test_failed_run_keeps_the_old_output_and_leaves_no_temporary(tmp_path):
    foreign = tmp_path / "foreign.srec"
    foreign.write_bytes(b"this is not a recording\n" * 10)
    for kind in ("html", "timeline", "pprof"):
        out = tmp_path / ("old-" + kind)
        out.write_text("the earlier report\n")
        r = rep(*outputs(kind, str(out)), "-f", str(foreign))
        assert r.returncode != 0, (kind, r.stdout, r.stderr)
        assert out.read_text() == "the earlier report\n", kind
        left = sorted(p.name for p in tmp_path.iterdir())
        assert not [n for n in left if n.startswith(".")], (kind, left)


def test_outputs_are_whole_0600_and_replaced_only_with_force(tmp_path):
    for kind in ("html", "timeline", "pprof"):
        out = tmp_path / ("new-" + kind)
        r = rep(*outputs(kind, str(out)), GOLDEN)
        assert r.returncode == 0, (kind, r.stderr)
        assert out.stat().st_size > 0 and (out.stat().st_mode & 0o777) == 0o600, kind
        before = out.read_bytes()
        r = rep(*outputs(kind, str(out)), GOLDEN)
        assert r.returncode != 0 and "--force" in r.stderr, (kind, r.stderr)
        assert out.read_bytes() == before
        os.chmod(out, 0o644)
        r = rep(*outputs(kind, str(out)), "-f", GOLDEN)
        assert r.returncode == 0, (kind, r.stderr)
        assert (out.stat().st_mode & 0o777) == 0o600, kind
        # never through a symlink, even with -f
        target = tmp_path / ("target-" + kind)
        target.write_text("keep\n")
        link = tmp_path / ("link-" + kind)
        link.symlink_to(target)
        r = rep(*outputs(kind, str(link)), "-f", GOLDEN)
        assert r.returncode != 0 and "symbolic link" in r.stderr, (kind, r.stderr)
        assert target.read_text() == "keep\n" and link.is_symlink()
    assert not [p.name for p in tmp_path.iterdir() if p.name.startswith(".")]


def test_pprof_is_one_output_per_run(tmp_path):
    for extra in (["--json"], ["--folded"]):
        r = rep("leaks", "--pprof", str(tmp_path / "p.pb.gz"), *extra, GOLDEN)
        assert r.returncode == 2 and "--pprof" in r.stderr, (extra, r.stderr)
    r = rep("pairs", "--pprof", str(tmp_path / "p.pb.gz"), GOLDEN)
    assert r.returncode == 2 and "--pprof" in r.stderr
    assert not (tmp_path / "p.pb.gz").exists()
