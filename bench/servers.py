#!/usr/bin/env python3
"""bench/servers.py - real servers as benchmark workloads (issue 22).

usage: servers.py redis|nginx [-t SECONDS] [--port PORT]

Starts the server (redis-server without persistence; nginx with its own
prefix in a temporary directory, two workers), waits until it listens on
127.0.0.1, runs the client against it, stops the server, and prints ONE JSON
line like bench/wl.h's workloads, so that bench/run.py measures it as it
measures churn:
  redis: redis-benchmark -k 0 (a new connection per request) -c 8 -t set,get
  nginx: ab -c 4 (no keep-alive: a new connection per request)
ops_per_s is the client's own requests per second (redis: the mean of SET
and GET).  Run under a recorder, the recorder sees the server, the client
and this script: everything the workload does.
Only the Python 3 standard library is used.
"""
import argparse
import json
import os
import re
import resource
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import time

NGINX_CONF = """worker_processes 2;
pid {d}/nginx.pid;
error_log {d}/error.log;
daemon off;
events {{ worker_connections 1024; }}
http {{
  access_log off;
  client_body_temp_path {d}/cb; proxy_temp_path {d}/px; fastcgi_temp_path {d}/fc;
  uwsgi_temp_path {d}/uw; scgi_temp_path {d}/sc;
  server {{ listen 127.0.0.1:{port}; location / {{ return 200 "ok\\n"; }} }}
}}
"""

# requests per second of run time, roughly what each client reaches untraced
# here: the request count is fixed (both clients count, not time)
RATE = {"redis": 6000, "nginx": 7000}


def free_port(base, span=200):
    """A free port at or after base on 127.0.0.1 (tests/realsrv.py uses it too:
    each user has its own range)."""
    for p in range(base, base + span):
        s = socket.socket()
        try:
            s.bind(("127.0.0.1", p))
            return p
        except OSError:
            continue
        finally:
            s.close()
    raise RuntimeError("no free port from %d" % base)


def wait_port(port, proc, timeout=15.0):
    end = time.monotonic() + timeout
    while time.monotonic() < end:
        if proc.poll() is not None:
            raise SystemExit("servers.py: the server exited (%d) before listening" % proc.returncode)
        try:
            socket.create_connection(("127.0.0.1", port), timeout=0.5).close()
            return
        except OSError:
            time.sleep(0.02)
    raise SystemExit("servers.py: nothing listens on port %d after %.0f s" % (port, timeout))


def client(argv):
    t0 = time.monotonic()
    p = subprocess.run(argv, capture_output=True, text=True, timeout=600)
    wall = time.monotonic() - t0
    if p.returncode != 0:
        raise SystemExit("servers.py: %s failed (%d): %s" % (argv[0], p.returncode, p.stderr[-300:]))
    return p.stdout, wall


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("server", choices=("redis", "nginx"))
    ap.add_argument("-t", type=float, default=2.0)
    ap.add_argument("--port", type=int)
    a = ap.parse_args()
    exe = {"redis": ("redis-server", "redis-benchmark"), "nginx": ("nginx", "ab")}[a.server]
    for e in exe:
        if not shutil.which(e):
            raise SystemExit("servers.py: %s not installed (make deps)" % e)
    n = max(200, int(RATE[a.server] * a.t))
    port = a.port or free_port(17100 if a.server == "redis" else 17300)
    d = tempfile.mkdtemp(prefix="srec-%s." % a.server)
    if a.server == "redis":
        srv = ["redis-server", "--port", str(port), "--bind", "127.0.0.1", "--save", "",
               "--appendonly", "no", "--dir", d, "--daemonize", "no", "--loglevel", "warning"]
    else:
        conf = os.path.join(d, "nginx.conf")
        with open(conf, "w") as f:
            f.write(NGINX_CONF.format(d=d, port=port))
        srv = ["nginx", "-p", d, "-c", conf]
    sp = subprocess.Popen(srv, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    try:
        wait_port(port, sp)
        if a.server == "redis":
            out, wall = client(["redis-benchmark", "-h", "127.0.0.1", "-p", str(port), "-k", "0",
                                "-c", "8", "-n", str(n), "-t", "set,get", "-q"])
            rps = [float(x) for x in re.findall(r"(?:SET|GET): ([\d.]+) requests per second", out)]
            if len(rps) != 2:
                raise SystemExit("servers.py: cannot read redis-benchmark's output: " + out[-300:])
            ops, ops_per_s = 2 * n, sum(rps) / 2
        else:
            out, wall = client(["ab", "-q", "-n", str(n), "-c", "4", "http://127.0.0.1:%d/" % port])
            m = re.search(r"Requests per second:\s+([\d.]+)", out)
            done = re.search(r"Complete requests:\s+(\d+)", out)
            failed = re.search(r"Failed requests:\s+(\d+)", out)
            if not (m and done and failed) or int(done.group(1)) != n or int(failed.group(1)):
                raise SystemExit("servers.py: ab did not complete every request: " + out[-400:])
            ops, ops_per_s = n, float(m.group(1))
    finally:
        sp.send_signal(signal.SIGTERM if a.server == "redis" else signal.SIGQUIT)
        try:
            sp.wait(15)
        except subprocess.TimeoutExpired:
            sp.kill()
            sp.wait()
        shutil.rmtree(d, ignore_errors=True)
    ru = resource.getrusage(resource.RUSAGE_CHILDREN)
    # one connection per request: a client and a server socket each
    print(json.dumps({"workload": a.server, "pid": os.getpid(), "threads": 1, "secs": wall,
                      "ops": ops, "ops_per_s": ops_per_s, "utime": ru.ru_utime,
                      "stime": ru.ru_stime, "sockets": 2 * ops}))
    return 0


if __name__ == "__main__":
    sys.exit(main())
