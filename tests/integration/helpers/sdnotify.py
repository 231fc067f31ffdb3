#!/usr/bin/env python3
"""systemd's side of the sd_notify protocol, for tests (test_sd_notify.sh).

listen: binds an AF_UNIX datagram socket (a path, or @name in the abstract namespace) like
  systemd's NOTIFY_SOCKET and appends one line per datagram to --log, easy to grep:
  "T_US|KEY=VALUE|KEY=VALUE|" (T_US: CLOCK_MONOTONIC when it arrived; the datagram's lines
  between the bars). On a message with READY=1 it first connects to every TCP port listed in
  --ports-file (read again each time; one port per line, on --host) and adds
  "refused=PORT,PORT|" (empty when all accepted): whether the ports accepted when READY=1 came.
wedge: stops one thread of a process (found by its name in /proc/PID/task/*/comm) with
  PTRACE_SEIZE + PTRACE_INTERRUPT: a ptrace-stop is per thread, so only that thread's loop stops
  while the rest of the process runs. Writes "wedged" to --ready, holds the thread until --release
  exists (or --timeout), then detaches (the kernel also detaches if this process dies).
"""
import argparse
import ctypes
import os
import socket
import sys
import time


def monotonic_us():
    return time.clock_gettime_ns(time.CLOCK_MONOTONIC) // 1000


def parse(raw):
    fields = {}
    for line in raw.split("\n"):
        if "=" in line:
            k, v = line.split("=", 1)
            fields[k] = v
    return fields


def refused_ports(host, ports_file):
    refused = []
    try:
        ports = [int(p) for p in open(ports_file).read().split()]
    except OSError:
        return ["ports-file unreadable"]
    for port in ports:
        try:
            with socket.create_connection((host, port), timeout=1):
                pass
        except OSError:
            refused.append(port)
    return refused


def cmd_listen(a):
    s = socket.socket(socket.AF_UNIX, socket.SOCK_DGRAM)
    addr = "\0" + a.socket[1:] if a.socket.startswith("@") else a.socket
    s.bind(addr)
    if a.ready:
        open(a.ready, "w").write("ready\n")
    with open(a.log, "a", buffering=1) as log:
        while True:
            data = s.recv(65536)
            t = monotonic_us()
            raw = data.decode(errors="replace")
            line = f"{t}|" + "".join(f"{kv.replace('|', '/')}|" for kv in raw.split("\n") if kv)
            if parse(raw).get("READY") == "1" and a.ports_file:
                line += "refused=" + ",".join(str(p) for p in refused_ports(a.host, a.ports_file)) + "|"
            log.write(line + "\n")


PTRACE_DETACH = 17
PTRACE_SEIZE = 0x4206
PTRACE_INTERRUPT = 0x4207
WALL = 0x40000000


def cmd_wedge(a):
    libc = ctypes.CDLL(None, use_errno=True)
    libc.ptrace.argtypes = [ctypes.c_long, ctypes.c_long, ctypes.c_void_p, ctypes.c_void_p]
    tid = None
    for t in os.listdir(f"/proc/{a.pid}/task"):
        try:
            if open(f"/proc/{a.pid}/task/{t}/comm").read().strip() == a.thread:
                tid = int(t)
        except OSError:
            pass
    if tid is None:
        print(f"no thread named {a.thread} in {a.pid}", file=sys.stderr)
        return 1
    if libc.ptrace(PTRACE_SEIZE, tid, None, None) != 0:
        print(f"PTRACE_SEIZE {tid}: {os.strerror(ctypes.get_errno())}", file=sys.stderr)
        return 1
    if libc.ptrace(PTRACE_INTERRUPT, tid, None, None) != 0:
        print(f"PTRACE_INTERRUPT {tid}: {os.strerror(ctypes.get_errno())}", file=sys.stderr)
        return 1
    os.waitpid(tid, WALL)  # the thread is in its ptrace-stop now
    open(a.ready, "w").write(f"wedged {tid}\n")
    deadline = time.monotonic() + a.timeout
    while not os.path.exists(a.release) and time.monotonic() < deadline:
        time.sleep(0.02)
    libc.ptrace(PTRACE_DETACH, tid, None, None)
    return 0


def main():
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawTextHelpFormatter)
    sub = p.add_subparsers(dest="cmd", required=True)
    li = sub.add_parser("listen")
    li.add_argument("--socket", required=True)
    li.add_argument("--log", required=True)
    li.add_argument("--ready")
    li.add_argument("--ports-file")
    li.add_argument("--host", default="127.0.0.1")
    li.set_defaults(fn=cmd_listen)
    w = sub.add_parser("wedge")
    w.add_argument("--pid", type=int, required=True)
    w.add_argument("--thread", required=True)
    w.add_argument("--ready", required=True)
    w.add_argument("--release", required=True)
    w.add_argument("--timeout", type=float, default=30)
    w.set_defaults(fn=cmd_wedge)
    a = p.parse_args()
    return a.fn(a)


if __name__ == "__main__":
    sys.exit(main())
