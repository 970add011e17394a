#!/usr/bin/env python3
"""make soak: a long recording at a moderate event rate (not in CI).

Runs `sockrec` for --minutes (default 30) while a workload makes ~2000
sockets/s (socket+close, ~6000 events/s) and samples, every --every seconds,
sockrec's resident memory (VmRSS) and the file's size.  At the end it reads
the file with the spec-only Python reader and reports, per minute, events and
bytes per event.  Passes when memory stays flat (last sample within 10 % +
2 MB of the one at minute 1) and bytes/event stay constant (each minute within
40 % of the median: sizes are sampled at block granularity).  Prints a Markdown section for bench/RESULTS.md.

usage: bench/soak.py --build build [--minutes 30] [--every 10] [--out FILE.md]
"""
import argparse
import json
import os
import statistics
import subprocess
import sys
import tempfile
import time

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, os.path.join(HERE, "..", "tests"))
import srec_reader  # noqa: E402


def rss_kb(pid):
    with open("/proc/%d/status" % pid) as f:
        for line in f:
            if line.startswith("VmRSS:"):
                return int(line.split()[1])
    return 0


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--build", default="build")
    ap.add_argument("--minutes", type=float, default=30)
    ap.add_argument("--every", type=float, default=10)
    ap.add_argument("--out")
    a = ap.parse_args()
    build = os.path.abspath(a.build)
    work = tempfile.mkdtemp(prefix="sockrec-soak.")
    srec = os.path.join(work, "soak.srec")
    secs = int(a.minutes * 60)
    # $NETFIX keeps the workload's path out of sockrec's own command line
    workload = ["sh", "-c", "end=$(( $(date +%%s) + %d )); while [ $(date +%%s) -lt $end ]; "
                "do \"$NETFIX\" churn 200 >/dev/null; sleep 0.1; done" % secs]
    os.environ["NETFIX"] = os.path.join(build, "fixtures", "netfix")
    cmd = [os.path.join(build, "sockrec"), "-o", srec, "--", *workload]
    t0 = time.monotonic()
    p = subprocess.Popen(cmd, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, text=True)
    samples = []
    while p.poll() is None:
        time.sleep(a.every)
        try:
            samples.append((time.monotonic() - t0, rss_kb(p.pid),
                            os.path.getsize(srec) if os.path.exists(srec) else 0))
        except (FileNotFoundError, ProcessLookupError):
            break
    err = p.stderr.read()
    recs, status = srec_reader.read_file(srec)
    events = [r for r in recs if "ts" in r and r["record"] not in ("process", "mapping", "loss")]
    start = min(r["ts"] for r in events)
    per_min = {}
    for r in events:
        m = int((r["ts"] - start) // 60_000_000_000)
        per_min[m] = per_min.get(m, 0) + 1
    size = os.path.getsize(srec)
    # bytes per minute from the size samples (the file grows block by block)
    by_minute = []
    prev_size, prev_t = 0, 0.0
    for t, rss, sz in samples:
        if int(t // 60) != int(prev_t // 60) or t == samples[-1][0]:
            by_minute.append((int(prev_t // 60), sz - prev_size, rss))
            prev_size, prev_t = sz, t
    bpe = []
    for m, nbytes, rss in by_minute:
        ev = per_min.get(m, 0)
        if ev:
            bpe.append((m, nbytes / ev, rss))
    samples = [x for x in samples if x[1]] or samples  # the last may follow the exit
    rss_1 = next((r for t, r, _ in samples if t >= 60), samples[0][1])
    rss_end = samples[-1][1]
    med = statistics.median(b for _, b, _ in bpe) if bpe else 0
    flat = rss_end <= rss_1 * 1.10 + 2048
    # per-minute bytes come from size samples at block granularity: +-40 %
    steady = all(abs(b - med) <= 0.40 * med for m, b, _ in bpe[1:-1]) if len(bpe) > 2 else True
    lines = [
        "### Soak: %g minutes at ~2000 sockets/s (`make soak`)" % a.minutes,
        "",
        "- command: `%s`" % " ".join(["bench/soak.py", "--build", a.build, "--minutes", str(a.minutes)]),
        "- events: %d, file: %.1f MB, %.2f B/event overall, lost: %s" % (
            len(events), size / 1e6, size / max(1, len(events)),
            [r["count"] for r in recs if r["record"] == "loss" and r["kind"] in (1, 2)] or 0),
        "- sockrec RSS: %.1f MB after 1 min, %.1f MB at the end (max %.1f MB): %s" % (
            rss_1 / 1024, rss_end / 1024, max(r for _, r, _ in samples) / 1024,
            "flat" if flat else "GROWING"),
        "- bytes/event per minute: %s (median %.2f): %s" % (
            ", ".join("%.2f" % b for _, b, _ in bpe), med, "constant" if steady else "NOT constant"),
        "",
    ]
    text = "\n".join(lines)
    print(text)
    print(json.dumps({"rss_kb": samples, "per_minute_events": per_min, "stderr": err[-500:]}))
    if a.out:
        with open(a.out, "w") as f:
            f.write(text)
    os.remove(srec)
    return 0 if flat and steady and not status["salvaged"] else 1


if __name__ == "__main__":
    sys.exit(main())
