#!/usr/bin/env python3
"""Probes for the fleet (etcd) integration tests. Every command is bounded by --timeout/--seconds.

  until-echo    --connect IP:PORT... [--source IP] [--timeout S]   poll until an echo works on every
                address; prints the seconds it took (exit 1 on timeout)
  until-closed  --connect IP:PORT... [--source IP] [--timeout S]   poll until every address refuses
                or resets (no echo); prints the seconds it took
  loop          --connect IP:PORT... --seconds S [--interval S]    a new echo connection to each
                address every interval; prints "ok N failed M" and exits 1 if any failed
  junk          --connect IP:PORT --source IP --count N [--gap S]  N connections that send bytes
                that are not SSH (autoban violations), --gap seconds apart
"""
import argparse
import socket
import sys
import time


def addr(text):
    host, port = text.rsplit(":", 1)
    return host, int(port)


def echo_once(target, source=None, timeout=1.0, payload=b"SSH-2.0-fleet\r\n"):
    """True when `payload` comes back through `target`."""
    try:
        with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as s:
            s.settimeout(timeout)
            if source:
                s.bind((source, 0))
            s.connect(target)
            s.sendall(payload)
            got = b""
            while len(got) < len(payload):
                chunk = s.recv(256)
                if not chunk:
                    break
                got += chunk
            return got == payload
    except OSError:
        return False


def until(targets, want_echo, source, timeout):
    start = time.monotonic()
    pending = list(targets)
    while pending and time.monotonic() - start < timeout:
        pending = [t for t in pending if echo_once(t, source, 0.5) != want_echo]
        if pending:
            time.sleep(0.02)
    if pending:
        print("timeout: %s" % ", ".join("%s:%d" % t for t in pending))
        return 1
    print("%.3f" % (time.monotonic() - start))
    return 0


def loop(targets, seconds, interval):
    ok = failed = 0
    end = time.monotonic() + seconds
    while time.monotonic() < end:
        for t in targets:
            if echo_once(t, None, 2.0, b"fleet-loop\n"):
                ok += 1
            else:
                failed += 1
                print("failed: %s:%d at %.1f s" % (t[0], t[1], seconds - (end - time.monotonic())))
        time.sleep(interval)
    print("ok %d failed %d" % (ok, failed))
    return 0 if failed == 0 and ok > 0 else 1


def junk(target, source, count, gap):
    for i in range(count):
        try:
            with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as s:
                s.settimeout(2)
                s.bind((source, 0))
                s.connect(target)
                s.sendall(b"GET / HTTP/1.0\r\n\r\n")
                try:
                    s.recv(64)
                except OSError:
                    pass
        except OSError:
            pass
        if i + 1 < count:
            time.sleep(gap)
    return 0


def main():
    p = argparse.ArgumentParser()
    sub = p.add_subparsers(dest="cmd", required=True)
    for name in ("until-echo", "until-closed"):
        u = sub.add_parser(name)
        u.add_argument("--connect", action="append", required=True)
        u.add_argument("--source")
        u.add_argument("--timeout", type=float, default=5)
    lp = sub.add_parser("loop")
    lp.add_argument("--connect", action="append", required=True)
    lp.add_argument("--seconds", type=float, required=True)
    lp.add_argument("--interval", type=float, default=0.1)
    j = sub.add_parser("junk")
    j.add_argument("--connect", required=True)
    j.add_argument("--source", required=True)
    j.add_argument("--count", type=int, default=3)
    j.add_argument("--gap", type=float, default=1.1)
    a = p.parse_args()
    if a.cmd in ("until-echo", "until-closed"):
        return until([addr(c) for c in a.connect], a.cmd == "until-echo", a.source, a.timeout)
    if a.cmd == "loop":
        return loop([addr(c) for c in a.connect], a.seconds, a.interval)
    return junk(addr(a.connect), a.source, a.count, a.gap)


if __name__ == "__main__":
    sys.exit(main())
