"""The C library and the spec-only Python reader agree, record by record, on
real recordings of real workloads (not only on the generator's files)."""
import json
import subprocess

import pytest

from conftest import SOCKREC, fixture_path, run_sockreport
import srec_reader


@pytest.mark.parametrize("workload", [
    ["netfix", "tcp6", "3"],
    ["spawner", "@libuser", "2"],
    ["netfix", "churn", "20000"],
])
def test_c_and_python_readers_agree_on_real_recordings(bpf, tmp_path, workload):
    cmd = [fixture_path(workload[0])] + [fixture_path(a[1:]) if a.startswith("@") else a
                                         for a in workload[1:]]
    out = tmp_path / "real.srec"
    p = subprocess.run([SOCKREC, "--release-stacks", "--connect-stacks", "-d", "30", "-o",
                        str(out), "--", *cmd], capture_output=True, text=True, timeout=120)
    assert p.returncode == 0, p.stderr
    lines = run_sockreport("dump", "--json", "--raw", str(out)).stdout.splitlines()
    c_recs = [json.loads(l) for l in lines]
    c_status = c_recs.pop()["status"]
    py_recs, py_status = srec_reader.read_file(str(out))
    assert len(py_recs) > 100
    assert c_recs == py_recs
    for k in ("salvaged", "blocks_ok", "blocks_bad", "records", "records_unknown"):
        assert c_status[k] == py_status[k], k
    kinds = {r["record"] for r in py_recs}
    assert {"meta", "string", "module", "stack", "process", "mapping", "ksym", "alloc",
            "sockinfo", "release", "exec"} <= kinds
