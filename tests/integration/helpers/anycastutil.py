#!/usr/bin/env python3
"""Helpers for test_anycast.sh.

  origin --port P                 TCP server: greets each client with "<peer address>\\n" (which
                                  edge's egress address connected), then echoes until EOF.
  hold --connect A:P --peer IP    opens connections until one greets with IP (it went through
                                  that edge) and holds it; prints "held" when it has one, then
                                  waits until the edge closes it (prints "closed") or --seconds.
  loop --connect A:P --rate R --seconds S
                                  a new connection every 1/R s, each a greet + echo round trip
                                  within --timeout; prints a JSON summary (ok, failed, by peer).
"""
import argparse
import json
import socket
import sys
import threading
import time


def hostport(s):
    host, port = s.rsplit(":", 1)
    return host, int(port)


def read_line(sock):
    buf = b""
    while not buf.endswith(b"\n"):
        chunk = sock.recv(256)
        if not chunk:
            break
        buf += chunk
    return buf.decode(errors="replace").strip()


def cmd_origin(a):
    srv = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    srv.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    srv.bind(("0.0.0.0", a.port))
    srv.listen(512)

    def serve(c, peer):
        try:
            c.sendall((peer[0] + "\n").encode())
            while True:
                data = c.recv(65536)
                if not data:
                    break
                c.sendall(data)
        except OSError:
            pass
        finally:
            c.close()

    while True:
        c, peer = srv.accept()
        threading.Thread(target=serve, args=(c, peer), daemon=True).start()


def cmd_hold(a):
    addr = hostport(a.connect)
    held = None
    for _ in range(a.tries):
        s = socket.create_connection(addr, timeout=2)
        if read_line(s) == a.peer:
            held = s
            break
        s.close()
    if held is None:
        print("none", flush=True)
        return 1
    print("held", flush=True)
    held.settimeout(a.seconds)
    start = time.monotonic()
    try:
        data = held.recv(16)
        print("closed %.2f %s" % (time.monotonic() - start, "eof" if not data else "data"), flush=True)
    except socket.timeout:
        print("open", flush=True)
    except OSError as e:
        print("closed %.2f %s" % (time.monotonic() - start, e.__class__.__name__), flush=True)
    return 0


def attempt(addr, timeout, results, lock):
    t0 = time.monotonic()
    peer, ok, why = "", False, ""
    try:
        with socket.create_connection(addr, timeout=timeout) as s:
            s.settimeout(timeout)
            peer = read_line(s)
            s.sendall(b"ping\n")
            ok = bool(peer) and read_line(s) == "ping"
            why = "" if ok else "bad reply"
    except OSError as e:
        why = e.__class__.__name__
    with lock:
        results.append((t0, ok, peer, why, time.monotonic() - t0))


def cmd_loop(a):
    addr = hostport(a.connect)
    results, lock, threads = [], threading.Lock(), []
    start = time.monotonic()
    n = int(a.rate * a.seconds)
    for i in range(n):
        delay = start + i / a.rate - time.monotonic()
        if delay > 0:
            time.sleep(delay)
        t = threading.Thread(target=attempt, args=(addr, a.timeout, results, lock))
        t.start()
        threads.append(t)
    for t in threads:
        t.join()
    by_peer, failures = {}, []
    for t0, ok, peer, why, took in sorted(results):
        if ok:
            by_peer[peer] = by_peer.get(peer, 0) + 1
        else:
            failures.append({"at": round(t0 - start, 3), "why": why})
    ok = sum(1 for r in results if r[1])
    print(json.dumps({"total": len(results), "ok": ok, "failed": len(results) - ok,
                      "rate": round(100.0 * ok / max(1, len(results)), 2),
                      "by_peer": by_peer, "failures": failures[:20]}))
    return 0


def main():
    p = argparse.ArgumentParser()
    sub = p.add_subparsers(dest="cmd", required=True)
    o = sub.add_parser("origin")
    o.add_argument("--port", type=int, required=True)
    h = sub.add_parser("hold")
    h.add_argument("--connect", required=True)
    h.add_argument("--peer", required=True)
    h.add_argument("--tries", type=int, default=40)
    h.add_argument("--seconds", type=float, default=30)
    lp = sub.add_parser("loop")
    lp.add_argument("--connect", required=True)
    lp.add_argument("--rate", type=float, default=50)
    lp.add_argument("--seconds", type=float, default=10)
    lp.add_argument("--timeout", type=float, default=2)
    a = p.parse_args()
    return {"origin": cmd_origin, "hold": cmd_hold, "loop": cmd_loop}[a.cmd](a)


if __name__ == "__main__":
    sys.exit(main())
