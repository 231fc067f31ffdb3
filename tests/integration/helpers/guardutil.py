#!/usr/bin/env python3
"""Clients and servers for the guard integration tests (bounded: every loop has a count or a
deadline).

  origin   --listen IP:PORT --log FILE [--udp-dns]   echo (TCP, PROXY v1 aware) or DNS responder
  send     --connect IP:PORT --hex HEX [--bind IP]   exit 0 if the bytes come back (echo)
  refused  --connect IP:PORT --hex HEX [--bind IP]   exit 0 if closed without a reply
  slowloris --connect IP:PORT --count N --timeout S [--bind IP,IP..] [--ready FILE]
                                                     open N silent conns; print closed-after stats
  flood    --connect IP:PORT --seconds S --bind IP   open and hold connections for S seconds
  legit    --connect IP:PORT --count N --bind IP [--rate R] [--stats]
                                                     N sequential echo round trips (R per second,
                                                     paced on a fixed schedule; 0 = back to back);
                                                     print successes, or with --stats a key=value
                                                     line with connect-time percentiles
  udpflood --connect IP:PORT --seconds S --bind IP [--sport P] [--payload TEXT]
  rss      --pid PID --seconds S [--interval S]      sample VmRSS; print rss_start_kib rss_peak_kib
"""
import argparse
import os
import selectors
import socket
import sys
import time

from testutil import pct, vm_rss_kib


def addr(s):
    host, port = s.rsplit(":", 1)
    return host.strip("[]"), int(port)


def tcp_connect(a, bind=None, timeout=3):
    s = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    if bind:
        s.bind((bind, 0))
    s.settimeout(timeout)
    s.connect(addr(a.connect) if hasattr(a, "connect") else a)
    return s


def cmd_origin(a):
    log = open(a.log, "a", buffering=1)
    if a.udp_dns:
        u = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
        u.bind(addr(a.listen))
        while True:
            q, peer = u.recvfrom(65536)
            log.write("dgram %s\n" % q[:16].hex())
            if len(q) >= 12 and not q.startswith(b"REFLECT") and not q.startswith(b"FLOOD"):
                # Header: same id, QR=1 RD RA, NOERROR; the question echoed, no answers.
                u.sendto(q[:2] + b"\x81\x80" + q[4:6] + b"\x00\x00\x00\x00\x00\x00" + q[12:], peer)
    sel = selectors.DefaultSelector()
    srv = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    srv.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    srv.bind(addr(a.listen))
    srv.listen(1024)
    srv.setblocking(False)
    sel.register(srv, selectors.EVENT_READ, None)
    conns = {}
    while True:
        for key, _ in sel.select():
            s = key.fileobj
            if key.data is None:
                try:
                    c, _ = s.accept()
                except OSError:
                    continue
                c.setblocking(False)
                conns[c] = [bytearray(), None]
                sel.register(c, selectors.EVENT_READ, "c")
                continue
            st = conns[s]
            try:
                b = s.recv(65536)
            except OSError:
                b = b""
            if not b:
                if st[1]:
                    log.write("close %s\n" % st[1])
                sel.unregister(s)
                del conns[s]
                s.close()
                continue
            st[0] += b
            if st[1] is None:
                if st[0].startswith(b"PROXY "):
                    if b"\r\n" not in st[0]:
                        continue
                    line, _, rest = bytes(st[0]).partition(b"\r\n")
                    st[1] = line.split()[2].decode()
                    st[0] = bytearray(rest)
                else:
                    st[1] = "-"
                log.write("open %s\n" % st[1])
            try:
                s.sendall(bytes(st[0]))
            except OSError:
                pass
            st[0].clear()


def cmd_send(a):
    try:
        s = tcp_connect(a, a.bind)
        data = bytes.fromhex(a.hex)
        s.sendall(data)
        got = b""
        while len(got) < len(data):
            b = s.recv(65536)
            if not b:
                break
            got += b
        return 0 if got == data else 1
    except OSError:
        return 1


def cmd_refused(a):
    try:
        s = tcp_connect(a, a.bind)
        s.sendall(bytes.fromhex(a.hex))
        b = s.recv(65536)
        return 0 if not b else 1
    except ConnectionResetError:
        return 0
    except OSError as e:
        print("refused: %s" % e, file=sys.stderr)
        return 1


def cmd_slowloris(a):
    sel = selectors.DefaultSelector()
    opened = {}
    failed = 0
    binds = a.bind.split(",") if a.bind else [None]
    for i in range(a.count):
        try:
            s = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
            if binds[i % len(binds)]:
                s.bind((binds[i % len(binds)], 0))
            s.setblocking(False)
            s.connect_ex(addr(a.connect))
            opened[s] = time.monotonic()
            sel.register(s, selectors.EVENT_READ)
        except OSError:
            failed += 1
    if a.ready:
        with open(a.ready, "w") as f:
            f.write("%d\n" % len(opened))
    closed = []
    deadline = time.monotonic() + a.timeout
    while opened and time.monotonic() < deadline:
        for key, _ in sel.select(timeout=0.5):
            s = key.fileobj
            try:
                b = s.recv(1)
            except BlockingIOError:
                continue
            except OSError:
                b = b""
            if not b:
                closed.append(time.monotonic() - opened.pop(s))
                sel.unregister(s)
                s.close()
    print("opened=%d failed=%d closed=%d open=%d min=%.2f max=%.2f" % (
        a.count - failed, failed, len(closed), len(opened),
        min(closed) if closed else -1, max(closed) if closed else -1))
    return 0


def cmd_flood(a):
    held = []
    made = 0
    deadline = time.monotonic() + a.seconds
    while time.monotonic() < deadline:
        try:
            s = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
            s.bind((a.bind, 0))
            s.settimeout(0.5)
            s.connect(addr(a.connect))
            s.sendall(b"x")
            made += 1
            held.append(s)
            if len(held) > 500:
                held.pop(0).close()
        except OSError:
            s.close()
    print("flood: %d connections" % made)
    return 0


def cmd_legit(a):
    """Sequential echo round trips. With --rate the i-th connection starts at t0 + i/rate (a
    fixed schedule: a slow connection does not push the later ones back, so the offered rate
    stays R as a real population of clients would). The connect time is connect() alone (SYN
    to established, as the client sees it); the round trip is connect to the echo's last byte."""
    ok = 0
    errors = {}
    connect_ms = []
    rtt_ms = []
    interval = 1.0 / a.rate if a.rate > 0 else 0.0
    t0 = time.monotonic()
    for i in range(a.count):
        if interval:
            wait = t0 + i * interval - time.monotonic()
            if wait > 0:
                time.sleep(wait)
        s = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
        try:
            if a.bind:
                s.bind((a.bind, 0))
            s.settimeout(3)
            start = time.perf_counter()
            s.connect(addr(a.connect))
            connected = time.perf_counter()
            connect_ms.append((connected - start) * 1000)
            msg = b"hello %d\n" % i
            s.sendall(msg)
            got = b""
            while len(got) < len(msg):
                b = s.recv(100)
                if not b:
                    break
                got += b
            if got == msg:
                ok += 1
                rtt_ms.append((time.perf_counter() - start) * 1000)
            else:
                errors["short"] = errors.get("short", 0) + 1
        except socket.timeout:
            errors["timeout"] = errors.get("timeout", 0) + 1
        except ConnectionRefusedError:
            errors["refused"] = errors.get("refused", 0) + 1
        except ConnectionResetError:
            errors["reset"] = errors.get("reset", 0) + 1
        except OSError as e:
            errors[e.__class__.__name__] = errors.get(e.__class__.__name__, 0) + 1
        finally:
            s.close()
    if not a.stats:
        print(ok)
        return 0
    connect_ms.sort()
    rtt_ms.sort()
    print("ok=%d failed=%d seconds=%.2f connect_p50_ms=%.3f connect_p99_ms=%.3f "
          "connect_max_ms=%.3f rtt_p50_ms=%.3f rtt_p99_ms=%.3f errors=%s" % (
              ok, a.count - ok, time.monotonic() - t0, pct(connect_ms, 50), pct(connect_ms, 99),
              pct(connect_ms, 100), pct(rtt_ms, 50), pct(rtt_ms, 99),
              ",".join("%s:%d" % kv for kv in sorted(errors.items())) or "none"))
    return 0


def cmd_udpflood(a):
    u = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
    u.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    u.bind((a.bind, a.sport))
    u.setblocking(False)
    dst = addr(a.connect)
    payload = a.payload.encode().ljust(64, b".")
    sent = 0
    deadline = time.monotonic() + a.seconds
    while time.monotonic() < deadline:
        for _ in range(100):
            try:
                u.sendto(payload, dst)
                sent += 1
            except OSError:
                pass
    print("udpflood: %d datagrams" % sent)
    return 0


def cmd_rss(a):
    """Samples /proc/PID/status VmRSS until the deadline or the process ends."""
    start = peak = 0
    deadline = time.monotonic() + a.seconds
    while time.monotonic() < deadline:
        try:
            kib = vm_rss_kib(a.pid)
            start = start or kib
            peak = max(peak, kib)
        except OSError:
            break
        time.sleep(a.interval)
    print("rss_start_kib=%d rss_peak_kib=%d" % (start, peak))
    return 0


def main():
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawTextHelpFormatter)
    sub = p.add_subparsers(dest="cmd", required=True)
    o = sub.add_parser("origin")
    o.add_argument("--listen", required=True)
    o.add_argument("--log", required=True)
    o.add_argument("--udp-dns", action="store_true")
    o.set_defaults(fn=cmd_origin)
    for name, fn in (("send", cmd_send), ("refused", cmd_refused)):
        s = sub.add_parser(name)
        s.add_argument("--connect", required=True)
        s.add_argument("--hex", required=True)
        s.add_argument("--bind")
        s.set_defaults(fn=fn)
    sl = sub.add_parser("slowloris")
    sl.add_argument("--connect", required=True)
    sl.add_argument("--count", type=int, default=2000)
    sl.add_argument("--timeout", type=float, default=30)
    sl.add_argument("--bind", help="source addresses, comma separated, used in turn")
    sl.add_argument("--ready", help="file written once every connection is started")
    sl.set_defaults(fn=cmd_slowloris)
    f = sub.add_parser("flood")
    f.add_argument("--connect", required=True)
    f.add_argument("--seconds", type=float, default=10)
    f.add_argument("--bind", required=True)
    f.set_defaults(fn=cmd_flood)
    lg = sub.add_parser("legit")
    lg.add_argument("--connect", required=True)
    lg.add_argument("--count", type=int, default=1000)
    lg.add_argument("--bind")
    lg.add_argument("--rate", type=float, default=0, help="connections per second (0 = no pacing)")
    lg.add_argument("--stats", action="store_true")
    lg.set_defaults(fn=cmd_legit)
    uf = sub.add_parser("udpflood")
    uf.add_argument("--connect", required=True)
    uf.add_argument("--seconds", type=float, default=5)
    uf.add_argument("--bind", required=True)
    uf.add_argument("--sport", type=int, default=0)
    uf.add_argument("--payload", default="FLOOD")
    uf.set_defaults(fn=cmd_udpflood)
    r = sub.add_parser("rss")
    r.add_argument("--pid", type=int, required=True)
    r.add_argument("--seconds", type=float, required=True)
    r.add_argument("--interval", type=float, default=0.05)
    r.set_defaults(fn=cmd_rss)
    a = p.parse_args()
    return a.fn(a)


if __name__ == "__main__":
    sys.exit(main())
