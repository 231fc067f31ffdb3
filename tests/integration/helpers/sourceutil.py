#!/usr/bin/env python3
"""Clients and probes for the source-table attack test (test_attack_source_table.sh); bounded:
every loop has a count or a deadline.

  udplegit --connect HOST:PORT --count N --rate R [--bind IP]
           N DNS-like queries on a fixed schedule (R per second), each answered or not within
           --timeout; prints ok= failed= rtt_p50_ms= rtt_p99_ms= rtt_max_ms=
  rotate   --connect [V6]:PORT --prefix P::/64 --hold N --attempts M --spacing S --out FILE
           [--payload TEXT]
           N connections from N random addresses of the /64, held (each echo-checked), then M
           connections from M more fresh addresses, S seconds apart; prints held_ok= served=
           refused=, and the addresses (one "held|served|refused ADDR" per line) to FILE.
           Each connection sends TEXT (default "held N" / "attempt N") and expects it back.
  watch    --pid PID --seconds S [--interval S]
           samples the process: fds_peak= rss_peak_kib= cpu_s= (user+system seconds used)
"""
import argparse
import ipaddress
import os
import random
import socket
import sys
import time

from testutil import hostport, pct, vm_rss_kib

IP_FREEBIND = getattr(socket, "IP_FREEBIND", 15)


def family(host):
    return socket.AF_INET6 if ":" in host else socket.AF_INET


def cmd_udplegit(a):
    host, port = hostport(a.connect)
    s = socket.socket(family(host), socket.SOCK_DGRAM)
    if a.bind:
        # freebind: the address may be one of a prefix routed locally (AnyIP), not configured.
        s.setsockopt(socket.SOL_IP, IP_FREEBIND, 1)
        s.bind((a.bind, 0))
    s.connect((host, port))
    ok = 0
    errors = {}
    rtts = []
    interval = 1.0 / a.rate if a.rate > 0 else 0.0
    t0 = time.monotonic()
    for i in range(a.count):
        if interval:
            wait = t0 + i * interval - time.monotonic()
            if wait > 0:
                time.sleep(wait)
        qid = (i * 7 + 1) & 0xffff
        # A DNS-shaped query (the test origin answers anything of 12+ bytes with the same id).
        query = qid.to_bytes(2, "big") + b"\x01\x00\x00\x01\x00\x00\x00\x00\x00\x00" + \
            b"\x05legit%06d\x00\x00\x01\x00\x01" % i
        start = time.perf_counter()
        deadline = start + a.timeout
        try:
            s.send(query)
            while True:
                left = deadline - time.perf_counter()
                if left <= 0:
                    raise socket.timeout()
                s.settimeout(left)
                reply = s.recv(2048)
                if reply[:2] == query[:2]:  # not a late answer to an earlier query
                    break
            ok += 1
            rtts.append((time.perf_counter() - start) * 1000)
        except socket.timeout:
            errors["timeout"] = errors.get("timeout", 0) + 1
        except OSError as e:
            errors[e.__class__.__name__] = errors.get(e.__class__.__name__, 0) + 1
    print("ok=%d failed=%d seconds=%.2f rtt_p50_ms=%.3f rtt_p99_ms=%.3f rtt_max_ms=%.3f "
          "errors=%s" % (ok, a.count - ok, time.monotonic() - t0, pct(rtts, 50), pct(rtts, 99),
                         pct(rtts, 100),
                         ",".join("%s:%d" % kv for kv in sorted(errors.items())) or "none"))
    return 0


def random_address(net):
    if net.num_addresses <= 2:
        return str(net[0])
    return str(net[random.randrange(1, net.num_addresses - 1)])


def connect_from(src, dst, timeout=2.0):
    """A TCP connection from `src` (any address of a prefix routed locally: freebind)."""
    s = socket.socket(family(dst[0]), socket.SOCK_STREAM)
    s.setsockopt(socket.SOL_IP, IP_FREEBIND, 1)
    s.bind((src, 0))
    s.settimeout(timeout)
    s.connect(dst)
    return s


def echo_ok(s, msg):
    """True when `msg` comes back; False when the edge closes or resets instead."""
    try:
        s.sendall(msg)
        got = b""
        while len(got) < len(msg):
            b = s.recv(100)
            if not b:
                return False
            got += b
        return got == msg
    except OSError:
        return False


def cmd_rotate(a):
    dst = hostport(a.connect)
    net = ipaddress.ip_network(a.prefix)
    held, lines = [], []
    held_ok = served = refused = 0
    for i in range(a.hold):
        src = random_address(net)
        try:
            s = connect_from(src, dst)
            ok = echo_ok(s, a.payload.encode() + b"\r\n" if a.payload else b"held %d\n" % i)
        except OSError:
            ok = False
        held_ok += ok
        if ok:
            held.append(s)
        lines.append("%s %s" % ("held" if ok else "refused", src))
    for i in range(a.attempts):
        if i:
            time.sleep(a.spacing)
        src = random_address(net)
        try:
            s = connect_from(src, dst)
            ok = echo_ok(s, a.payload.encode() + b"\r\n" if a.payload else b"attempt %d\n" % i)
            s.close()
        except OSError:
            ok = False
        served += ok
        refused += not ok
        lines.append("%s %s" % ("served" if ok else "refused", src))
    with open(a.out, "w") as f:
        f.write("\n".join(lines) + "\n")
    for s in held:
        s.close()
    print("held_ok=%d served=%d refused=%d" % (held_ok, served, refused))
    return 0


def cmd_watch(a):
    tick = os.sysconf("SC_CLK_TCK")

    def cpu():
        with open("/proc/%d/stat" % a.pid) as f:
            fields = f.read().rsplit(")", 1)[1].split()
        return (int(fields[11]) + int(fields[12])) / tick  # utime + stime

    fds_peak = rss_peak = 0
    try:
        cpu0 = cpu()
    except OSError:
        print("fds_peak=0 rss_peak_kib=0 cpu_s=0")
        return 0
    cpu1 = cpu0
    deadline = time.monotonic() + a.seconds
    while time.monotonic() < deadline:
        try:
            fds_peak = max(fds_peak, len(os.listdir("/proc/%d/fd" % a.pid)))
            rss_peak = max(rss_peak, vm_rss_kib(a.pid))
            cpu1 = cpu()
        except OSError:
            break
        time.sleep(a.interval)
    print("fds_peak=%d rss_peak_kib=%d cpu_s=%.2f" % (fds_peak, rss_peak, cpu1 - cpu0))
    return 0


def main():
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawTextHelpFormatter)
    sub = p.add_subparsers(dest="cmd", required=True)
    u = sub.add_parser("udplegit")
    u.add_argument("--connect", required=True)
    u.add_argument("--count", type=int, default=100)
    u.add_argument("--rate", type=float, default=50)
    u.add_argument("--bind")
    u.add_argument("--timeout", type=float, default=1.0)
    u.set_defaults(fn=cmd_udplegit)
    r = sub.add_parser("rotate")
    r.add_argument("--connect", required=True)
    r.add_argument("--prefix", required=True)
    r.add_argument("--hold", type=int, default=4)
    r.add_argument("--attempts", type=int, default=5)
    r.add_argument("--spacing", type=float, default=1.1)
    r.add_argument("--out", required=True)
    r.add_argument("--payload", help="what each connection sends (and expects back)")
    r.set_defaults(fn=cmd_rotate)
    w = sub.add_parser("watch")
    w.add_argument("--pid", type=int, required=True)
    w.add_argument("--seconds", type=float, required=True)
    w.add_argument("--interval", type=float, default=0.1)
    w.set_defaults(fn=cmd_watch)
    a = p.parse_args()
    return a.fn(a)


if __name__ == "__main__":
    sys.exit(main())
