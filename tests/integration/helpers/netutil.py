#!/usr/bin/env python3
"""Small network tools for the integration tests (clients and origins that check every byte).

Subcommands (see --help of each):
  duplex      one connection, a file sent each way at once; the receiver hashes what it got
  hashreply   origin: read until EOF, then reply with the SHA-256 of what was read
  send        client: send a file, shut down the write side, print what comes back
  echo        origin: echo server for many connections (selectors)
  echo-check  client: N sequential connections, each must get its message echoed
  stream      client: many long-lived connections streaming a checked byte pattern
  probe       client: connect and report how and when the peer closed
  readline    client: connect, print the first line received and our own address
  wait-event  poll an NDJSON file for an object matching KEY=VALUE pairs
"""
import argparse
import errno
import hashlib
import json
import os
import random
import selectors
import socket
import sys
import threading
import time

from testutil import hostport

CHUNK = 1 << 20


def listen_one(addr):
    host, port = hostport(addr)
    srv = socket.create_server((host, port), reuse_port=False, backlog=1024)
    srv.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    return srv


def connect(addr, timeout=5.0):
    return socket.create_connection(hostport(addr), timeout=timeout)


def hash_until_eof(sock):
    h = hashlib.sha256()
    n = 0
    buf = bytearray(CHUNK)
    view = memoryview(buf)
    while True:
        r = sock.recv_into(buf)
        if r == 0:
            break
        h.update(view[:r])
        n += r
    return h.hexdigest(), n


def send_file_then_shutdown(sock, path, errors):
    try:
        with open(path, "rb") as f:
            sock.sendfile(f)
        sock.shutdown(socket.SHUT_WR)
    except OSError as e:
        errors.append(f"send: {e}")


# ------------------------------------------------------------------ duplex / hashreply / send

def cmd_duplex(a):
    """Send --file while hashing everything received until EOF; write 'sha256 bytes' to --out."""
    if a.listen:
        srv = listen_one(a.listen)
        if a.ready:
            open(a.ready, "w").write("ready\n")
        sock, _ = srv.accept()
        srv.close()
    else:
        sock = connect(a.connect)
    sock.settimeout(a.timeout)
    errors = []
    t = threading.Thread(target=send_file_then_shutdown, args=(sock, a.file, errors))
    t.start()
    try:
        digest, n = hash_until_eof(sock)
    except OSError as e:
        errors.append(f"recv: {e}")
        digest, n = "error", -1
    t.join()
    sock.close()
    with open(a.out, "w") as f:
        f.write(f"{digest} {n}\n")
    if errors:
        print("; ".join(errors), file=sys.stderr)
        return 1
    return 0


def cmd_hashreply(a):
    """Origin for the half-close case: read until EOF, then reply with the sha256 and close."""
    srv = listen_one(a.listen)
    if a.ready:
        open(a.ready, "w").write("ready\n")
    sock, _ = srv.accept()
    srv.close()
    sock.settimeout(a.timeout)
    digest, n = hash_until_eof(sock)
    sock.sendall(f"{digest} {n}\n".encode())
    sock.close()
    return 0


def cmd_send(a):
    """Client for the half-close case: send a file, SHUT_WR, then print the whole reply."""
    sock = connect(a.connect)
    sock.settimeout(a.timeout)
    with open(a.file, "rb") as f:
        sock.sendfile(f)
    sock.shutdown(socket.SHUT_WR)
    reply = bytearray()
    while True:
        b = sock.recv(65536)
        if not b:
            break
        reply += b
    sock.close()
    sys.stdout.write(reply.decode(errors="replace"))
    return 0


# ------------------------------------------------------------------ echo server

def cmd_echo(a):
    sel = selectors.DefaultSelector()
    for addr in a.listen:
        srv = listen_one(addr)
        srv.setblocking(False)
        sel.register(srv, selectors.EVENT_READ, None)
    conns = {}  # sock -> [outbuf(bytearray), eof(bool)]
    if a.ready:
        open(a.ready, "w").write("ready\n")

    def update(s):
        st = conns[s]
        ev = 0
        if not st[1] and len(st[0]) < (1 << 18):
            ev |= selectors.EVENT_READ
        if st[0]:
            ev |= selectors.EVENT_WRITE
        if ev == 0:
            sel.unregister(s)
            del conns[s]
            try:
                s.shutdown(socket.SHUT_WR)
            except OSError:
                pass
            s.close()
        else:
            sel.modify(s, ev, "c")

    while True:
        for key, mask in sel.select():
            s = key.fileobj
            if key.data is None:
                try:
                    c, _ = s.accept()
                except OSError:
                    continue
                c.setblocking(False)
                conns[c] = [bytearray(), False]
                sel.register(c, selectors.EVENT_READ, "c")
                continue
            st = conns.get(s)
            if st is None:
                continue
            try:
                if mask & selectors.EVENT_READ:
                    b = s.recv(65536)
                    if b:
                        st[0] += b
                    else:
                        st[1] = True
                if mask & selectors.EVENT_WRITE and st[0]:
                    n = s.send(st[0])
                    del st[0][:n]
            except BlockingIOError:
                pass
            except OSError:
                sel.unregister(s)
                del conns[s]
                s.close()
                continue
            update(s)


def echo_once(addr, msg, timeout):
    with connect(addr, timeout) as s:
        s.settimeout(timeout)
        s.sendall(msg)
        got = bytearray()
        while len(got) < len(msg):
            b = s.recv(65536)
            if not b:
                break
            got += b
        return bytes(got) == msg


def cmd_echo_check(a):
    ok = 0
    failures = []
    for i in range(a.count):
        msg = f"rampart-echo-{i}-{os.getpid()}\n".encode() * 4
        try:
            if echo_once(a.connect, msg, a.timeout):
                ok += 1
            else:
                failures.append(f"#{i}: short or wrong echo")
        except OSError as e:
            failures.append(f"#{i}: {e}")
    print(json.dumps({"ok": ok, "count": a.count, "failures": failures[:5]}))
    return 0 if ok == a.count else 1


# ------------------------------------------------------------------ long-lived checked streams

class Stream:
    __slots__ = ("sock", "idx", "start", "sent", "recvd", "error", "eof", "shut", "last_send")

    def __init__(self, sock, idx, start):
        self.sock, self.idx, self.start = sock, idx, start
        self.sent = self.recvd = 0
        self.error = None
        self.eof = self.shut = False
        self.last_send = 0.0


def cmd_stream(a):
    """--conns connections to an echo origin; each sends a deterministic pattern at --rate bytes/s
    and checks every echoed byte. Runs until --stop exists (or --max-seconds), then half-closes and
    drains. Prints a JSON summary; exits 0 only if every byte came back on every connection."""
    rnd = random.Random(1234)
    n = 1 << 20
    pattern = rnd.randbytes(n)
    pp = pattern + pattern
    window = 128 * 1024
    chunk = 4096

    def expected(st, off, length):
        p = (st.start + off) % n
        return pp[p:p + length]

    streams = []
    for i in range(a.conns):
        s = connect(a.connect, 5.0)
        s.setblocking(False)
        s.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
        streams.append(Stream(s, i, (i * 7919) % n))
    sel = selectors.DefaultSelector()
    for st in streams:
        sel.register(st.sock, selectors.EVENT_READ, st)

    t0 = time.monotonic()
    ready_written = False
    stopping = False
    stop_time = None
    per_tick = max(1, int(a.rate * 0.02))  # bytes per 20 ms tick
    next_tick = t0
    while True:
        now = time.monotonic()
        if not stopping and (os.path.exists(a.stop) or now - t0 > a.max_seconds):
            stopping = True
            stop_time = now
        if now >= next_tick:
            next_tick = now + 0.02
            for st in streams:
                if st.error or st.shut:
                    continue
                if stopping:
                    try:
                        st.sock.shutdown(socket.SHUT_WR)
                    except OSError as e:
                        st.error = f"shutdown: {e}"
                    st.shut = True
                    continue
                budget = min(per_tick, window - (st.sent - st.recvd))
                while budget > 0:
                    m = min(chunk, budget)
                    try:
                        k = st.sock.send(expected(st, st.sent, m))
                    except BlockingIOError:
                        break
                    except OSError as e:
                        st.error = f"send after {st.sent} bytes: {e}"
                        break
                    st.sent += k
                    budget -= k
        for key, _ in sel.select(timeout=0.01):
            st = key.data
            try:
                b = st.sock.recv(65536)
            except BlockingIOError:
                continue
            except OSError as e:
                st.error = f"recv after {st.recvd} bytes: {e}"
                sel.unregister(st.sock)
                continue
            if not b:
                st.eof = True
                if not st.shut:
                    st.error = f"EOF before half-close, after {st.recvd} bytes"
                elif st.recvd != st.sent:
                    st.error = f"EOF with {st.recvd} of {st.sent} bytes echoed"
                sel.unregister(st.sock)
                continue
            if b != expected(st, st.recvd, len(b)):
                st.error = f"corrupt data at offset {st.recvd}"
                sel.unregister(st.sock)
                continue
            st.recvd += len(b)
        if not ready_written and all(st.recvd > 0 or st.error for st in streams):
            ready_written = True
            with open(a.ready, "w") as f:
                f.write("ready\n")
        if stopping:
            pending = [st for st in streams if not st.error and not st.eof]
            if not pending or time.monotonic() - stop_time > a.drain_seconds:
                for st in pending:
                    st.error = f"no EOF within {a.drain_seconds}s ({st.recvd}/{st.sent} echoed)"
                break
    for st in streams:
        st.sock.close()
    broken = [st for st in streams if st.error]
    summary = {
        "conns": len(streams),
        "ok": len(streams) - len(broken),
        "broken": len(broken),
        "bytes_sent": sum(st.sent for st in streams),
        "bytes_echoed": sum(st.recvd for st in streams),
        "seconds": round(time.monotonic() - t0, 1),
        "errors": [f"conn {st.idx}: {st.error}" for st in broken[:10]],
    }
    print(json.dumps(summary))
    return 0 if not broken else 1


# ------------------------------------------------------------------ probe / readline

def cmd_probe(a):
    """Connect; optionally send; wait until the peer closes. Prints JSON with how and when."""
    res = {"connect": None, "closed": None, "elapsed": None, "data": ""}
    t0 = time.monotonic()
    try:
        s = connect(a.connect, a.timeout)
    except OSError as e:
        res["connect"] = errno.errorcode.get(e.errno, str(e)) if e.errno else str(e)
        res["elapsed"] = round(time.monotonic() - t0, 3)
        print(json.dumps(res))
        return 0
    res["connect"] = "ok"
    res["local_ip"], res["local_port"] = s.getsockname()[:2]
    t0 = time.monotonic()
    s.settimeout(a.timeout)
    data = bytearray()
    try:
        if a.send:
            s.sendall(a.send.encode())
        while True:
            b = s.recv(65536)
            if not b:
                res["closed"] = "eof"
                break
            data += b
    except socket.timeout:
        res["closed"] = "timeout"
    except ConnectionResetError:
        res["closed"] = "rst"
    except OSError as e:
        res["closed"] = str(e)
    res["elapsed"] = round(time.monotonic() - t0, 3)
    res["data"] = data.decode(errors="replace")
    s.close()
    print(json.dumps(res))
    return 0


def cmd_readline(a):
    s = connect(a.connect, a.timeout)
    s.settimeout(a.timeout)
    if a.send:
        s.sendall(a.send.encode())
    data = bytearray()
    try:
        while b"\n" not in data:
            b = s.recv(4096)
            if not b:
                break
            data += b
    except OSError as e:
        print(json.dumps({"error": str(e)}))
        return 1
    local = s.getsockname()
    s.close()
    print(json.dumps({"line": data.decode(errors="replace").strip(),
                      "local_ip": local[0], "local_port": local[1]}))
    return 0


# ------------------------------------------------------------------ NDJSON events

def cmd_wait_event(a):
    want = dict(kv.split("=", 1) for kv in a.match)
    deadline = time.monotonic() + a.timeout
    events = []
    while True:
        events = []
        try:
            with open(a.file, encoding="utf-8", errors="replace") as f:
                for line in f:
                    if not line.endswith("\n"):
                        break  # partial line still being written
                    try:
                        ev = json.loads(line)
                    except ValueError:
                        continue
                    events.append(ev)
                    if all(str(ev.get(k)) == v for k, v in want.items()):
                        print(json.dumps(ev))
                        return 0
        except FileNotFoundError:
            pass
        if time.monotonic() > deadline:
            break
        time.sleep(0.05)
    print(f"wait-event: no event matching {want} in {a.file} within {a.timeout}s; "
          f"{len(events)} events, last ones:", file=sys.stderr)
    for ev in events[-5:]:
        print("  " + json.dumps(ev), file=sys.stderr)
    return 1


def main():
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawTextHelpFormatter)
    sub = p.add_subparsers(dest="cmd", required=True)

    d = sub.add_parser("duplex")
    g = d.add_mutually_exclusive_group(required=True)
    g.add_argument("--listen")
    g.add_argument("--connect")
    d.add_argument("--file", required=True)
    d.add_argument("--out", required=True)
    d.add_argument("--ready")
    d.add_argument("--timeout", type=float, default=60)
    d.set_defaults(fn=cmd_duplex)

    h = sub.add_parser("hashreply")
    h.add_argument("--listen", required=True)
    h.add_argument("--ready")
    h.add_argument("--timeout", type=float, default=60)
    h.set_defaults(fn=cmd_hashreply)

    s = sub.add_parser("send")
    s.add_argument("--connect", required=True)
    s.add_argument("--file", required=True)
    s.add_argument("--timeout", type=float, default=60)
    s.set_defaults(fn=cmd_send)

    e = sub.add_parser("echo")
    e.add_argument("--listen", action="append", required=True)
    e.add_argument("--ready")
    e.set_defaults(fn=cmd_echo)

    ec = sub.add_parser("echo-check")
    ec.add_argument("--connect", required=True)
    ec.add_argument("--count", type=int, default=1)
    ec.add_argument("--timeout", type=float, default=3)
    ec.set_defaults(fn=cmd_echo_check)

    st = sub.add_parser("stream")
    st.add_argument("--connect", required=True)
    st.add_argument("--conns", type=int, default=200)
    st.add_argument("--rate", type=int, default=32768, help="bytes/s per connection")
    st.add_argument("--ready", required=True)
    st.add_argument("--stop", required=True)
    st.add_argument("--max-seconds", type=float, default=90)
    st.add_argument("--drain-seconds", type=float, default=20)
    st.set_defaults(fn=cmd_stream)

    pr = sub.add_parser("probe")
    pr.add_argument("--connect", required=True)
    pr.add_argument("--send")
    pr.add_argument("--timeout", type=float, default=5)
    pr.set_defaults(fn=cmd_probe)

    rl = sub.add_parser("readline")
    rl.add_argument("--connect", required=True)
    rl.add_argument("--send")
    rl.add_argument("--timeout", type=float, default=5)
    rl.set_defaults(fn=cmd_readline)

    w = sub.add_parser("wait-event")
    w.add_argument("--file", required=True)
    w.add_argument("--timeout", type=float, default=5)
    w.add_argument("match", nargs="*")
    w.set_defaults(fn=cmd_wait_event)

    a = p.parse_args()
    return a.fn(a)


if __name__ == "__main__":
    sys.exit(main())
