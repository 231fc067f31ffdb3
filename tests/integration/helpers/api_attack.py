#!/usr/bin/env python3
"""Attacks on the edge's own API for tests/integration/test_attack_api.sh, each bounded in count
and time, against an address the test created (a namespace). Prints one JSON object per command.

  slowloris  --connect IP:PORT --conns N --interval S --seconds S
             N connections that send a request head one byte every interval; reports how many the
             server closed and after how long
  idle       --connect IP:PORT --conns N --seconds S [--ready FILE]
             N connections that send nothing; reports how many the server closed
  probe      --url URL... --token T --seconds S [--interval S]
             GETs every URL in turn (fresh connection each); reports count, failures, max/p99 ms
  echo-loop  --connect IP:PORT --seconds S [--rate N]
             new TCP connections to an echo app, one round trip each; reports ok %, p99 ms
  guess      --url URL --count N [--source IP] [--right TOKEN]
             N requests with wrong bearer tokens (then one with the right token); reports every
             status and the Retry-After seen
"""
import argparse
import json
import resource
import socket
import sys
import threading
import time
import urllib.parse

from testutil import hostport, pct


def http_get(url, token, timeout, source=None, headers=None):
    """One GET on a fresh connection; returns (status, seconds, headers dict)."""
    u = urllib.parse.urlsplit(url)
    start = time.monotonic()
    with socket.create_connection((u.hostname, u.port), timeout=timeout,
                                  source_address=(source, 0) if source else None) as s:
        lines = [f"GET {u.path}{'?' + u.query if u.query else ''} HTTP/1.1",
                 f"Host: {u.hostname}:{u.port}", "Connection: close"]
        if token:
            lines.append(f"Authorization: Bearer {token}")
        for h in headers or []:
            lines.append(h)
        s.sendall(("\r\n".join(lines) + "\r\n\r\n").encode())
        data = b""
        while True:
            chunk = s.recv(65536)
            if not chunk:
                break
            data += chunk
    head = data.split(b"\r\n\r\n", 1)[0].decode("latin-1").split("\r\n")
    status = int(head[0].split()[1]) if head and len(head[0].split()) > 1 else 0
    hdrs = {}
    for line in head[1:]:
        k, _, v = line.partition(":")
        hdrs[k.strip().lower()] = v.strip()
    return status, time.monotonic() - start, hdrs


def cmd_slowloris(a):
    socks = []
    for _ in range(a.conns):
        s = socket.create_connection(hostport(a.connect), timeout=5)
        s.setblocking(False)
        socks.append(s)
    start = time.monotonic()
    head = b"GET /client/v4/zones/default/spectrum/apps HTTP/1.1\r\nHost: x\r\nX-Slow: "
    pos = [0] * len(socks)
    closed_at = [None] * len(socks)
    next_send = start
    while time.monotonic() - start < a.seconds and None in closed_at:
        now = time.monotonic()
        for i, s in enumerate(socks):
            if closed_at[i] is not None:
                continue
            try:
                if s.recv(4096) == b"":
                    closed_at[i] = now - start
                    continue
            except BlockingIOError:
                pass
            except OSError:
                closed_at[i] = now - start
                continue
            if now >= next_send:
                try:
                    s.send(head[pos[i] % len(head):pos[i] % len(head) + 1])
                    pos[i] += 1
                except OSError:
                    closed_at[i] = now - start
        if now >= next_send:
            next_send = now + a.interval
        time.sleep(0.05)
    done = [c for c in closed_at if c is not None]
    print(json.dumps({"conns": a.conns, "closed": len(done),
                      "closed_after_s": [round(c, 2) for c in done],
                      "bytes_sent_each": max(pos)}))
    for s in socks:
        s.close()
    return 0


def cmd_idle(a):
    soft, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
    resource.setrlimit(resource.RLIMIT_NOFILE, (max(soft, min(hard, a.conns + 64)), hard))
    socks, failed = [], 0
    t0 = time.monotonic()
    for _ in range(a.conns):
        try:
            s = socket.create_connection(hostport(a.connect), timeout=5)
            s.setblocking(False)
            socks.append(s)
        except OSError:
            failed += 1
    connect_s = time.monotonic() - t0
    if a.ready:
        with open(a.ready, "w") as f:
            f.write("ready\n")
    start = time.monotonic()
    closed = set()
    while time.monotonic() - start < a.seconds:
        for i, s in enumerate(socks):
            if i in closed:
                continue
            try:
                if s.recv(1) == b"":
                    closed.add(i)
            except BlockingIOError:
                pass
            except OSError:
                closed.add(i)
        time.sleep(0.2)
    print(json.dumps({"opened": len(socks), "connect_failed": failed,
                      "connect_s": round(connect_s, 2), "closed_by_server": len(closed)}))
    for s in socks:
        s.close()
    return 0


def cmd_probe(a):
    lat, failures, statuses = [], [], {}
    end = time.monotonic() + a.seconds
    i = 0
    while time.monotonic() < end:
        url = a.url[i % len(a.url)]
        i += 1
        try:
            status, took, _ = http_get(url, a.token, a.timeout)
            statuses[status] = statuses.get(status, 0) + 1
            lat.append(took)
            if status != 200:
                failures.append(f"{url}: HTTP {status}")
        except OSError as e:
            failures.append(f"{url}: {e}")
        time.sleep(a.interval)
    print(json.dumps({"count": i, "failures": len(failures), "first_failures": failures[:3],
                      "statuses": {str(k): v for k, v in statuses.items()},
                      "max_ms": round(max(lat) * 1000, 1) if lat else None,
                      "p99_ms": round(pct(lat, 99) * 1000, 1)}))
    return 0


def cmd_echo_loop(a):
    lat, ok, total = [], 0, 0
    end = time.monotonic() + a.seconds
    gap = 1.0 / a.rate
    while time.monotonic() < end:
        total += 1
        start = time.monotonic()
        try:
            with socket.create_connection(hostport(a.connect), timeout=2) as s:
                msg = b"rampart-api-attack-%d\n" % total
                s.sendall(msg)
                got = b""
                while len(got) < len(msg):
                    chunk = s.recv(4096)
                    if not chunk:
                        break
                    got += chunk
                if got == msg:
                    ok += 1
                    lat.append(time.monotonic() - start)
        except OSError:
            pass
        time.sleep(max(0.0, gap - (time.monotonic() - start)))
    print(json.dumps({"ok": ok, "total": total,
                      "success_pct": round(100.0 * ok / total, 2) if total else 0.0,
                      "p99_ms": round(pct(lat, 99) * 1000, 2)}))
    return 0


def cmd_guess(a):
    out = []
    tokens = [f"guess-{i:04d}-0123456789abcdef" for i in range(a.count)]
    if a.right:
        tokens.append(a.right)  # at once after the guesses, from the same address
    for t in tokens:
        status, _, hdrs = http_get(a.url, t, 5, a.source)
        out.append({"status": status, "retry_after": hdrs.get("retry-after")})
    print(json.dumps(out))
    return 0


def main():
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawTextHelpFormatter)
    sub = p.add_subparsers(dest="cmd", required=True)
    s = sub.add_parser("slowloris")
    s.add_argument("--connect", required=True)
    s.add_argument("--conns", type=int, default=8)
    s.add_argument("--interval", type=float, default=8.0)
    s.add_argument("--seconds", type=float, default=12.0)
    s = sub.add_parser("idle")
    s.add_argument("--connect", required=True)
    s.add_argument("--conns", type=int, default=1000)
    s.add_argument("--seconds", type=float, default=6.0)
    s.add_argument("--ready")
    s = sub.add_parser("probe")
    s.add_argument("--url", action="append", required=True)
    s.add_argument("--token", default="")
    s.add_argument("--seconds", type=float, default=5.0)
    s.add_argument("--interval", type=float, default=0.1)
    s.add_argument("--timeout", type=float, default=5.0)
    s = sub.add_parser("echo-loop")
    s.add_argument("--connect", required=True)
    s.add_argument("--seconds", type=float, default=10.0)
    s.add_argument("--rate", type=float, default=20.0)
    s = sub.add_parser("guess")
    s.add_argument("--url", required=True)
    s.add_argument("--count", type=int, default=8)
    s.add_argument("--source")
    s.add_argument("--right", help="then the right token, from the same address")
    a = p.parse_args()
    return {"slowloris": cmd_slowloris, "idle": cmd_idle, "probe": cmd_probe,
            "echo-loop": cmd_echo_loop, "guess": cmd_guess}[a.cmd](a)


if __name__ == "__main__":
    sys.exit(main())
