"""Real servers and clients from Debian's packages, and the independent
witnesses (libbpf-tools' tcplife and tcpstates, ss -tanp, /proc/PID/fd) that
tests/test_real_servers.py checks sockrec's recordings against.

Everything runs on 127.0.0.1 with ports 16xxx (issue 16's range) or inside a
network namespace the test creates; other suites run traffic at the same
time, so every count is filtered to the workload's ports or pids."""
import json
import os
import re
import secrets
import signal
import subprocess
import sys
import time

from conftest import REPO_ROOT, SOCKREC, SOCKREPORT

sys.path.insert(0, os.path.join(REPO_ROOT, "bench"))
import servers as _servers  # noqa: E402  (stdlib only, nothing runs on import)


def wait_port(port, host="127.0.0.1", netns=None, timeout=15.0):
    """Until something listens on host:port (inside netns if given)."""
    end = time.monotonic() + timeout
    while time.monotonic() < end:
        cmd = ["ss", "-Htln", "sport = :%d" % port]
        if netns:
            cmd = ["ip", "netns", "exec", netns] + cmd
        if subprocess.run(cmd, capture_output=True, text=True).stdout.strip():
            return
        time.sleep(0.05)
    raise AssertionError("nothing listens on port %d after %.0fs" % (port, timeout))


free_port = _servers.free_port


class Background:
    """A long-running process whose stdout/stderr go to files; start()
    returns once `ready(text)` holds for the output, stop() sends SIGINT
    (the tools flush and exit cleanly on it)."""

    def __init__(self, argv, tmp, name, ready=None, netns=None, timeout=30.0, linebuf=True):
        # stdbuf -oL: line-buffered stdout, so that what was printed is in
        # the file when we look (tcplife/tcpstates print as they go).  Not
        # for our own binaries: stdbuf preloads a library, which an ASan
        # build (make SANITIZE=1 test) refuses.
        if linebuf:
            argv = ["stdbuf", "-oL"] + argv
        if netns:
            argv = ["ip", "netns", "exec", netns] + argv
        self.out = os.path.join(str(tmp), name + ".out")
        self.err = os.path.join(str(tmp), name + ".err")
        self.argv = argv
        self.ready = ready
        self.timeout = timeout
        self.p = None

    def start(self):
        with open(self.out, "w") as o, open(self.err, "w") as e:
            self.p = subprocess.Popen(self.argv, stdout=o, stderr=e,
                                      start_new_session=True)
        end = time.monotonic() + self.timeout
        while self.ready and not self.ready(self.text()):
            if self.p.poll() is not None:
                raise AssertionError("%s exited (%d) before it was ready:\n%s"
                                     % (self.argv, self.p.returncode, self.text()[-2000:]))
            if time.monotonic() > end:
                self.kill()
                raise AssertionError("%s not ready after %.0fs:\n%s"
                                     % (self.argv, self.timeout, self.text()[-2000:]))
            time.sleep(0.05)
        return self

    def text(self):
        t = ""
        for f in (self.out, self.err):
            try:
                with open(f, errors="replace") as fh:
                    t += fh.read()
            except FileNotFoundError:
                pass
        return t

    def stdout(self):
        with open(self.out, errors="replace") as fh:
            return fh.read()

    def stop(self, timeout=60):
        if self.p and self.p.poll() is None:
            self.p.send_signal(signal.SIGINT)
            try:
                self.p.wait(timeout)
            except subprocess.TimeoutExpired:
                self.kill()
        return self.p.returncode

    def kill(self):
        if self.p and self.p.poll() is None:
            self.p.kill()
            self.p.wait()


def recorder(tmp, name, *args, netns=None):
    """sockrec recording in the background; ready once the hooks are live."""
    out = os.path.join(str(tmp), name + ".srec")
    b = Background([SOCKREC, "-v", "-o", out, *args], tmp, name,
                   ready=lambda t: "sockrec: recording with backend" in t, linebuf=False)
    b.srec = out
    return b


def witness(tool, tmp, name, port, side="-L"):
    """tcplife / tcpstates for local (-L) or remote (-D) port `port`: ready
    once its header line is out (printed after the programs are attached)."""
    return Background([tool, "-w", side, str(port)], tmp, name,
                      ready=lambda t: "LPORT" in t)


def parse_tcplife(text):
    """[{pid, comm, laddr, lport, raddr, rport, ms}] from tcplife -w."""
    rows = []
    for line in text.splitlines():
        f = line.split()
        if len(f) != 9 or not f[0].isdigit():
            continue
        rows.append({"pid": int(f[0]), "comm": f[1], "laddr": f[2], "lport": int(f[3]),
                     "raddr": f[4], "rport": int(f[5]), "ms": float(f[8])})
    return rows


def parse_tcpstates(text):
    """[{sk, pid, comm, lport, rport, old, new, ms}] from tcpstates -w."""
    rows = []
    for line in text.splitlines():
        f = line.split()
        if len(f) != 12 or f[9] != "->" or not re.fullmatch(r"[0-9a-f]+", f[0]):
            continue
        rows.append({"sk": f[0], "pid": int(f[1]), "comm": f[2], "lport": int(f[5]),
                     "rport": int(f[7]), "old": f[8], "new": f[10], "ms": float(f[11])})
    return rows


def ss_tanp(netns=None):
    """[{state, local, peer, users: [(comm, pid, fd)]}] of `ss -tanp`."""
    cmd = ["ss", "-Htanp"]
    if netns:
        cmd = ["ip", "netns", "exec", netns] + cmd
    rows = []
    for line in subprocess.run(cmd, capture_output=True, text=True, check=True).stdout.splitlines():
        f = line.split()
        if len(f) < 5:
            continue
        users = [(c, int(p), int(d)) for c, p, d in
                 re.findall(r'\("([^"]*)",pid=(\d+),fd=(\d+)\)', line)]
        rows.append({"state": f[0], "local": f[3], "peer": f[4], "users": users})
    return rows


def proc_fd_sockets(pid):
    """{fd: inode} of the sockets /proc/PID/fd shows."""
    out = {}
    d = "/proc/%d/fd" % pid
    for fd in os.listdir(d):
        try:
            t = os.readlink(os.path.join(d, fd))
        except OSError:
            continue
        m = re.fullmatch(r"socket:\[(\d+)\]", t)
        if m:
            out[int(fd)] = int(m.group(1))
    return out


def sockreport(*args, check=True):
    p = subprocess.run([SOCKREPORT, *args], capture_output=True, text=True, timeout=300)
    if check and p.returncode != 0:
        raise AssertionError("sockreport %s failed (%d): %s" % (args, p.returncode, p.stderr))
    return p


def sockreport_json(*args):
    return json.loads(sockreport(*args, "--json").stdout)


def port_of(addr):
    """Port of "127.0.0.1:80" / "[::1]:80" (None for null)."""
    return int(addr.rsplit(":", 1)[1]) if addr and ":" in addr else None


def state_path(sock):
    return [s["state"] for s in sock.get("states") or []]


def tcp_life_ms(sock):
    """ESTABLISHED -> CLOSE of a socket's state path, in ms, as tcplife
    measures a session (its birth is the last state before FIN_WAIT1 that
    is below it: ESTABLISHED), or None."""
    st = sock.get("states") or []
    est = [s["t_s"] for s in st if s["state"] == "ESTABLISHED"]
    close = [s["t_s"] for s in st if s["state"] == "CLOSE"]
    if not est or not close:
        return None
    return (close[-1] - est[-1]) * 1000.0


def percentile(vals, p):
    v = sorted(vals)
    return v[max(0, min(len(v) - 1, int(round(p / 100.0 * len(v) + 0.5)) - 1))]


class Netns:
    """A network namespace named srec-i16-<random>, with lo up."""

    def __init__(self):
        self.name = "srec-i16-" + secrets.token_hex(4)

    def __enter__(self):
        subprocess.run(["ip", "netns", "add", self.name], check=True)
        subprocess.run(["ip", "-n", self.name, "link", "set", "lo", "up"], check=True)
        self.inode = os.stat("/run/netns/" + self.name).st_ino
        return self

    def __exit__(self, *exc):
        subprocess.run(["ip", "netns", "delete", self.name], check=False)


# one nginx configuration for the tests and the benchmark (bench/servers.py)
NGINX_CONF = _servers.NGINX_CONF


class Nginx:
    """nginx with its own prefix, config and pid file in a temp dir: a master
    and two workers (forked before any recording of the test starts)."""

    def __init__(self, tmp, port, netns=None):
        self.dir = os.path.join(str(tmp), "nginx-%d" % port)
        os.makedirs(self.dir, exist_ok=True)
        self.conf = os.path.join(self.dir, "nginx.conf")
        with open(self.conf, "w") as f:
            f.write(NGINX_CONF.format(d=self.dir, port=port))
        self.port = port
        self.netns = netns
        self.bg = Background(["nginx", "-p", self.dir, "-c", self.conf], tmp, "nginx-%d" % port,
                             netns=netns)

    def __enter__(self):
        self.bg.start()
        wait_port(self.port, netns=self.netns)
        pidfile = os.path.join(self.dir, "nginx.pid")
        end = time.monotonic() + 10
        while not os.path.exists(pidfile) and time.monotonic() < end:
            time.sleep(0.05)
        with open(pidfile) as f:
            self.master = int(f.read())
        end = time.monotonic() + 10
        while len(self.workers()) < 2 and time.monotonic() < end:
            time.sleep(0.05)
        assert len(self.workers()) == 2, "nginx workers did not start"
        return self

    def workers(self):
        out = subprocess.run(["pgrep", "-P", str(self.master)], capture_output=True,
                             text=True).stdout.split()
        return [int(x) for x in out]

    def __exit__(self, *exc):
        self.bg.p.send_signal(signal.SIGQUIT)
        try:
            self.bg.p.wait(15)
        except subprocess.TimeoutExpired:
            self.bg.kill()


def ab(port, n, c, netns=None):
    cmd = ["ab", "-q", "-n", str(n), "-c", str(c), "http://127.0.0.1:%d/" % port]
    if netns:
        cmd = ["ip", "netns", "exec", netns] + cmd
    p = subprocess.run(cmd, capture_output=True, text=True, timeout=300)
    assert p.returncode == 0, p.stderr
    m = re.search(r"Complete requests:\s+(\d+)", p.stdout)
    f = re.search(r"Failed requests:\s+(\d+)", p.stdout)
    assert m and int(m.group(1)) == n and f and int(f.group(1)) == 0, p.stdout
    return p.stdout
