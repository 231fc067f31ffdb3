#!/usr/bin/env python3
"""Clients for the XDP integration test (bounded: every loop has a count and a deadline).

  legit --connect IP:PORT --bind IP --count N --seconds S
      N echo round trips spread evenly over S seconds (each: connect with a 2 s timeout, send a
      line, read it back); prints the number that succeeded.
  nstat NAME...
      absolute values of the named counters in this namespace (nstat -as, a private history file),
      one "NAME VALUE" line each (0 when absent).
"""
import argparse
import os
import socket
import subprocess
import sys
import tempfile
import time


def addr(s):
    host, port = s.rsplit(":", 1)
    return host.strip("[]"), int(port)


def one(dst, bind, i):
    try:
        with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as s:
            s.bind((bind, 0))
            s.settimeout(2)
            s.connect(dst)
            msg = b"hello %d\n" % i
            s.sendall(msg)
            got = b""
            while len(got) < len(msg):
                b = s.recv(100)
                if not b:
                    break
                got += b
            return got == msg
    except OSError:
        return False


def cmd_legit(a):
    dst = addr(a.connect)
    gap = a.seconds / max(a.count, 1)
    start = time.monotonic()
    ok = 0
    for i in range(a.count):
        delay = start + i * gap - time.monotonic()
        if delay > 0:
            time.sleep(delay)
        ok += one(dst, a.bind, i)
    print(ok)
    return 0


def cmd_nstat(a):
    with tempfile.NamedTemporaryFile(prefix="nstat.") as hist:
        env = dict(os.environ, NSTAT_HISTORY=hist.name)
        out = subprocess.run(["nstat", "-asz"], capture_output=True, text=True, env=env,
                             check=True).stdout
    values = {}
    for line in out.splitlines():
        parts = line.split()
        if len(parts) >= 2 and parts[1].isdigit():
            values[parts[0]] = int(parts[1])
    for name in a.names:
        print(name, values.get(name, 0))
    return 0


def main():
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawTextHelpFormatter)
    sub = p.add_subparsers(dest="cmd", required=True)
    lg = sub.add_parser("legit")
    lg.add_argument("--connect", required=True)
    lg.add_argument("--bind", required=True)
    lg.add_argument("--count", type=int, default=50)
    lg.add_argument("--seconds", type=float, default=4)
    lg.set_defaults(fn=cmd_legit)
    ns = sub.add_parser("nstat")
    ns.add_argument("names", nargs="+")
    ns.set_defaults(fn=cmd_nstat)
    a = p.parse_args()
    return a.fn(a)


if __name__ == "__main__":
    sys.exit(main())
