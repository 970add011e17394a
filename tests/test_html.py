"""`sockreport html`: pages made from real recordings, opened in a real
browser (Debian's chromium, headless).

Each recording comes from a fixture workload the test starts under sockrec
(tests/fixtures/leaker.c, closewait_server.c).  The page is opened with
--dump-dom (the DOM after the page's script ran) and --screenshot.  The
script marks <body data-script="ok"> when it ran to the end and writes any
error into <pre id="js-errors">; chromium's console (--enable-logging) must
stay silent: the page logs nothing, so any console line is an error, a
blocked fetch (the page's Content-Security-Policy forbids every load) or
an uncaught exception.

chromium is installed by tests/install-deps.sh: a missing chromium FAILS
these tests, it never skips them.
"""
import html
import os
import re
import shutil
import stat
import struct
import subprocess
import zlib

import pytest

from conftest import DATA_DIR, SOCKREPORT, block_offsets, run_sockreport, sockreport_json
from test_hostile import REGRESSIONS, assert_terminal_safe, check_sane, hostile, \
    regression_files, srec_hostile_bin  # noqa: F401 (a fixture)
from test_hostile import run as hrun
from test_reports import kill_quietly, record

CHROMIUM = shutil.which("chromium")
N, M = 10, 4  # leaker: N TCP, N UDP, N socketpairs; M of each closed


def chromium():
    if not CHROMIUM:
        pytest.fail("chromium is not installed (tests/install-deps.sh installs it)")
    return CHROMIUM


def browse(tmp_path, url, *args):
    """Runs headless chromium on url; returns (stdout, console lines)."""
    prof = tmp_path / "chromium-profile"
    p = subprocess.run([chromium(), "--headless", "--no-sandbox", "--disable-gpu",
                        "--enable-logging=stderr", "--v=0", "--user-data-dir=" + str(prof),
                        *args, url], capture_output=True, text=True, timeout=180)
    assert p.returncode == 0, p.stderr[-2000:]
    console = [l for l in p.stderr.splitlines() if ":CONSOLE" in l]
    return p.stdout, console


def dump_dom(tmp_path, page, fragment=""):
    dom, console = browse(tmp_path, "file://%s%s" % (page, fragment), "--dump-dom")
    assert console == [], console
    assert 'data-script="ok"' in dom, "the page's script did not finish"
    m = re.search(r'<pre id="js-errors"([^>]*)>(.*?)</pre>', dom, re.S)
    assert m and "hidden" in m.group(1) and m.group(2) == "", m.group(0) if m else dom[:500]
    return dom


def make_page(tmp_path, *files, name="report.html", extra=()):
    out = tmp_path / name
    p = subprocess.run([SOCKREPORT, "html", *extra, *map(str, files), "-o", str(out)],
                       capture_output=True, text=True, timeout=300)
    assert p.returncode == 0, p.stderr
    st = os.lstat(out)
    assert stat.S_ISREG(st.st_mode) and stat.S_IMODE(st.st_mode) == 0o600
    return out, p.stderr


def section(dom, sid):
    m = re.search(r'<section id="%s"(.*?)</section>' % re.escape(sid), dom, re.S)
    assert m, sid
    return m.group(0)


def png_rows(path, max_rows):
    """RGB(A) rows of a PNG (8-bit, non-interlaced), unfiltered with zlib
    and the five PNG filters; at most max_rows rows."""
    data = open(path, "rb").read()
    assert data[:8] == b"\x89PNG\r\n\x1a\n"
    pos, idat, w = 8, b"", None
    while pos < len(data):
        ln, typ = struct.unpack(">I4s", data[pos:pos + 8])
        body = data[pos + 8:pos + 8 + ln]
        if typ == b"IHDR":
            w, h, depth, ctype, _c, _f, interlace = struct.unpack(">IIBBBBB", body)
            assert depth == 8 and interlace == 0 and ctype in (2, 6), (depth, ctype)
            bpp = 3 if ctype == 2 else 4
        elif typ == b"IDAT":
            idat += body
        pos += 12 + ln
    raw = zlib.decompress(idat)
    stride = w * bpp
    rows, prev = [], bytearray(stride)
    for y in range(min(h, max_rows)):
        ft = raw[y * (stride + 1)]
        line = bytearray(raw[y * (stride + 1) + 1:(y + 1) * (stride + 1)])
        for i in range(stride):
            a = line[i - bpp] if i >= bpp else 0
            b = prev[i]
            c = prev[i - bpp] if i >= bpp else 0
            if ft == 1:
                line[i] = (line[i] + a) & 255
            elif ft == 2:
                line[i] = (line[i] + b) & 255
            elif ft == 3:
                line[i] = (line[i] + (a + b) // 2) & 255
            elif ft == 4:
                p = a + b - c
                pa, pb, pc = abs(p - a), abs(p - b), abs(p - c)
                line[i] = (line[i] + (a if pa <= pb and pa <= pc else b if pb <= pc else c)) & 255
        rows.append(bytes(line))
        prev = line
    return rows, w, bpp


# ---------------------------------------------------------------- recordings

@pytest.fixture(scope="module")
def rec_dir(tmp_path_factory):
    return tmp_path_factory.mktemp("html")


@pytest.fixture(scope="module")
def leaker_rec(bpf, rec_dir):
    srec, f, _ = record(rec_dir, "leaker", 3, ["leaker", str(N), str(M), "10"])
    yield srec, f["pid"]
    kill_quietly(f["pid"])


@pytest.fixture(scope="module")
def closewait_rec(bpf, rec_dir):
    srec, f, _ = record(rec_dir, "closewait", 2, ["closewait_server", "6"])
    yield srec, f
    kill_quietly(f["pid"])


# ---------------------------------------------------------------- one recording

def test_leak_page_in_browser(leaker_rec, tmp_path):
    srec, pid = leaker_rec
    page, err = make_page(tmp_path, srec)
    assert "WARNING" not in err
    dom = dump_dom(tmp_path, page)
    # the leak sites' function names, and the counts `leaks --json` gives
    leaks = sockreport_json("leaks", str(srec))
    want = sorted(g["count"] for g in leaks["outstanding"])
    out = section(dom, "leaks-outstanding")
    got = sorted(int(c) for c in re.findall(r'<article class="group[^"]*" data-count="(\d+)"', out))
    assert got == want and sum(got) >= 3 * (N - M), (got, want)
    assert 'data-total="%d"' % sum(want) in out
    for g in leaks["outstanding"]:
        assert '<span class="count">%d</span>' % g["count"] in out
    assert "leak_sockets_here" in out and "leaker" in out
    # pids and comm as the JSON has them
    assert "%d (leaker)" % pid in out
    # the chart elements: the time series, both icicles, the header
    chart = re.search(r'<svg class="chart" id="chart-open".*?</svg>', dom, re.S).group(0)
    assert len(re.findall(r"<polyline", chart)) >= 2
    # the total line ends at the number still open of those allocated during
    # the recording, as `allocs --json` counts them (another computation)
    allocs = sockreport_json("allocs", str(srec))
    still = sum(x["allocated"] - x["released"] for x in allocs["sites"])
    last = re.search(r'<g class="series" data-series="0" data-last="(-?\d+)">', chart)
    assert last and int(last.group(1)) == still >= 3 * (N - M) * 4 // 3, (last, still)
    for fid in ("flame-allocs", "flame-leaks"):
        svg = re.search(r'<svg class="chart icicle" id="%s".*?</svg>' % fid, dom, re.S).group(0)
        assert "leak_sockets_here" in svg and 'class="fr"' in svg
    assert 'id="status-ok"' in dom and 'class="alert"' not in dom
    meta = sockreport_json("info", str(srec))["meta"]
    for key in ("host.name", "host.kernel", "backend.alloc"):
        assert html.escape(meta[key], quote=False) in dom, key
    assert re.search(r"\d{4}-\d\d-\d\d \d\d:\d\d:\d\d\.\d{3} UTC", dom), "wall-clock window"


def test_icicle_zooms(leaker_rec, tmp_path):
    srec, _pid = leaker_rec
    page, _ = make_page(tmp_path, srec)
    html = page.read_text()
    svg = re.search(r'<svg class="chart icicle" id="flame-allocs".*?</svg>', html, re.S).group(0)
    frames = re.findall(r'<g class="fr"[^>]*><title>(.*?)</title>', svg)
    k = next(i for i, t in enumerate(frames) if t.startswith("leaker!leak_sockets_here") or
             "leak_sockets_here" in t.split(" \u2014 ")[0])
    dom = dump_dom(tmp_path, page, "#zoom=flame-allocs:%d" % k)
    zsvg = re.search(r'<svg class="chart icicle" id="flame-allocs"[^>]*>', dom).group(0)
    assert "data-zoom=" in zsvg and "leak_sockets_here" in zsvg
    after = re.search(r'<svg class="chart icicle" id="flame-allocs".*?</svg>', dom, re.S).group(0)
    # frames outside the zoomed one are hidden; the zoomed one spans the width
    assert 'style="display: none;"' in after
    gs = re.findall(r'<g class="fr"[^>]*>.*?</g>', after, re.S)
    zoomed = [g for g in gs if "leak_sockets_here \u2014" in g or
              re.search(r"<title>[^<]*leak_sockets_here \u2014", g)]
    assert any('width="959.0"' in g for g in zoomed), zoomed[:2]


def test_screenshot_not_blank(leaker_rec, tmp_path):
    srec, _pid = leaker_rec
    page, _ = make_page(tmp_path, srec)
    png = tmp_path / "shot.png"
    _, console = browse(tmp_path, "file://%s" % page, "--screenshot=%s" % png,
                        "--window-size=1000,900", "--hide-scrollbars")
    assert console == [], console
    rows, w, bpp = png_rows(png, 900)
    colours, dark = set(), 0
    for r in rows[::3]:
        for i in range(0, w * bpp, bpp * 3):
            px = r[i:i + 3]
            colours.add(px)
            dark += sum(px) < 200
    # text, lines and frames: many colours, and dark pixels (text) on white
    assert len(colours) > 50, len(colours)
    assert dark > 500, dark


def test_closewait_markers(closewait_rec, tmp_path):
    srec, f = closewait_rec
    page, _ = make_page(tmp_path, srec)
    dom = dump_dom(tmp_path, page)
    leaks = sockreport_json("leaks", str(srec))
    cw = sum(g["count"] for g in leaks["close_wait"])
    assert cw >= 1
    assert 'data-total="%d"' % cw in section(dom, "leaks-closewait")
    # the CLOSE_WAIT periods that ended, as leaks --json counts them
    ended = sum(g["count"] for g in leaks["close_wait_ended"])
    assert 'data-total="%d"' % ended in section(dom, "leaks-closewait-ended")
    # the owner, and the accept stack as `leaks --json` symbolizes it
    x = leaks["close_wait_sockets"][0]
    assert x["stack_kind"] == "accept" and x["stack"]
    for fr in x["stack"]:
        assert html.escape(fr, quote=False) in section(dom, "cw-sockets"), fr
    chart = re.search(r'<svg class="chart" id="chart-open".*?</svg>', dom, re.S).group(0)
    marks = re.findall(r'<text class="mkt"[^>]*>CW (\d+)</text>', chart)
    assert sum(map(int, marks)) == len(leaks["close_wait_sockets"]) >= 1
    assert "%d (closewait_serv" % f["pid"] in section(dom, "cw-sockets")


# ---------------------------------------------------------------- damaged, incomplete, lossy

def damage(src, dst, how):
    data = bytearray(open(src, "rb").read())
    blocks = block_offsets(bytes(data))
    if how == "flip":
        off, _t, stored, _total = [b for b in blocks if b[1] == 2][0]  # first DATA block
        data[off + 48 + stored // 2] ^= 0xFF
    else:  # cut in the middle of the last block
        off, _t, _s, total = blocks[-1]
        data = data[:off + total // 2]
    open(dst, "wb").write(bytes(data))


@pytest.mark.parametrize("how,words", [("flip", "is damaged"), ("cut", "incomplete")])
def test_damaged_file_warns(leaker_rec, tmp_path, how, words):
    srec, _pid = leaker_rec
    bad = tmp_path / ("bad-%s.srec" % how)
    damage(srec, bad, how)
    info = sockreport_json("info", str(bad))
    assert info["salvaged"] or not info["complete"]
    page, err = make_page(tmp_path, bad)
    assert "WARNING" in err
    dom = dump_dom(tmp_path, page)
    alert = re.search(r'<div class="alert" role="alert" id="warning">.*?</div>', dom, re.S)
    assert alert, "no warning on a damaged page"
    text = alert.group(0)
    assert "\u26a0" in text and "WARNING" in text and words in text, text
    assert 'id="status-ok"' not in dom


def test_lossy_file_warns(tmp_path):
    # golden-v1.0.srec holds LOSS records for 30 events (tests/data/README.md)
    golden = os.path.join(DATA_DIR, "golden-v1.0.srec")
    assert sockreport_json("info", golden)["lost_events"] == 30
    page, _ = make_page(tmp_path, golden)
    dom = dump_dom(tmp_path, page)
    alert = re.search(r'<div class="alert" role="alert" id="warning">.*?</div>', dom, re.S)
    assert alert and "30 events were lost" in alert.group(0)


# ---------------------------------------------------------------- two recordings

def test_diff_page(bpf, leaker_rec, tmp_path):
    new, _pid = leaker_rec
    base, f, _ = record(tmp_path, "base", 2, ["leaker", "2", "2", "4"])  # no leak
    try:
        page, _ = make_page(tmp_path, base, new, name="diff.html")
    finally:
        kill_quietly(f["pid"])
    d = sockreport_json("diff", str(base), str(new))
    dom = dump_dom(tmp_path, page)
    table = section(dom, "diff")
    leaks_row = [r for r in d["rows"] if r["name"] == "leaks"][0]
    assert leaks_row["new"] > leaks_row["base"]
    m = re.search(r'<tr class="regress" data-status="changed"><td>\u25b2 worse</td>'
                  r'<td class="n">[\d.]+</td><td>leaks</td><td class="n">([\d.e+]+)</td>'
                  r'<td class="n">([\d.e+]+)</td>', table)
    assert m, table[:3000]
    assert float(m.group(1)) == leaks_row["base"] and float(m.group(2)) == leaks_row["new"]
    chart = re.search(r'<svg class="chart" id="chart-open".*?</svg>', dom, re.S).group(0)
    assert len(re.findall(r"<polyline", chart)) == 2
    assert 'id="base-file"' in dom and 'id="new-file"' in dom


# ---------------------------------------------------------------- the output file

def test_output_file_rules(tmp_path):
    golden = os.path.join(DATA_DIR, "golden-v1.1.srec")
    out = tmp_path / "r.html"
    out.write_text("keep me")
    p = run_sockreport("html", golden, "-o", str(out), check=False)
    assert p.returncode != 0 and "already exists" in p.stderr and out.read_text() == "keep me"
    p = run_sockreport("html", "-f", golden, "-o", str(out), check=False)
    assert p.returncode == 0, p.stderr
    assert out.read_text().startswith("<!DOCTYPE html>")
    assert stat.S_IMODE(os.lstat(out).st_mode) == 0o600
    target = tmp_path / "target"
    target.write_text("victim")
    link = tmp_path / "link.html"
    os.symlink(target, link)
    p = run_sockreport("html", "-f", golden, "-o", str(link), check=False)
    assert p.returncode != 0 and "symbolic link" in p.stderr and target.read_text() == "victim"
    p = run_sockreport("html", golden, check=False)
    assert p.returncode == 2 and "-o" in p.stderr
    missing = tmp_path / "gone.html"
    p = run_sockreport("html", str(tmp_path / "nope.srec"), "-o", str(missing), check=False)
    assert p.returncode != 0 and not missing.exists()  # no half page left behind


def test_console_check_is_real(tmp_path):
    """The console scan catches a script error and a blocked fetch."""
    bad = tmp_path / "bad.html"
    bad.write_text("<!DOCTYPE html><html><head><meta http-equiv=\"Content-Security-Policy\" "
                   "content=\"default-src 'none'; script-src 'unsafe-inline'\"></head><body>"
                   "<img src=\"http://127.0.0.1:21999/x.png\"><script>nope();</script>"
                   "</body></html>")
    _, console = browse(tmp_path, "file://%s" % bad, "--dump-dom")
    text = "\n".join(console)
    assert "nope is not defined" in text and "Content Security Policy" in text, text


# ---------------------------------------------------------------- hostile input

def test_hostile_strings_page(srec_hostile_bin, tmp_path):
    """Strings from the file (comm, symbols, paths, host) are escaped twice:
    printable as in the text reports, then HTML entities; the page's markup
    and script survive them."""
    src = tmp_path / "evil\x1b[31m<blink>.srec"
    hostile(srec_hostile_bin, src, "--strings")
    page = tmp_path / "evil.html"
    rc, _out, err, _ = hrun(["html", "--older", "0", "-o", str(page)], src)
    check_sane(["html"], src, rc, b"", err)
    assert rc == 0, err
    data = page.read_bytes()
    assert_terminal_safe("sockreport html page", data)
    text = data.decode()
    assert text.count("<script>") == 1 and "<blink>" not in text
    assert "ev\\x1b[31mil\\x0d\\x07\\xffcomm" in text
    assert "evil\\x1b[31m&lt;blink&gt;.srec" in text
    dom = dump_dom(tmp_path, page)
    assert "ev\\x1b[31mil\\x0d\\x07\\xffcomm" in dom


@pytest.mark.parametrize("name", regression_files())
def test_fuzz_regression_html(name, tmp_path):
    path = os.path.join(REGRESSIONS, name)
    page = tmp_path / "r.html"
    rc, _out, err, rss = hrun(["html", "-o", str(page)], path, measure=True)
    check_sane(["html"], path, rc, b"", err, rss)
    assert page.exists() == (rc == 0)  # no half page on failure
