#!/usr/bin/env python3
"""Peers for test_kernel_relay.sh (kernel_relay: on, issue #14).

  sink-later  origin: accept one connection, read nothing until --go exists, then read to EOF
              and write 'sha256 bytes' to --out
  push        client: send --bytes of a seeded pattern as fast as the socket takes them (its
              progress in --progress), then shut down and wait for EOF; 'sha256 bytes' to --out
  reset-after origin: accept, read --bytes, then reset the connection (SO_LINGER 0)
  expect-reset client: send --bytes, then report how the edge ended the connection
  ticker      client: send a line every --every s for --for s through an echo origin, reading
              each back, then wait silently and report when the edge closed (seconds)
"""
import argparse
import hashlib
import os
import socket
import struct
import sys
import threading
import time


def listen_one(addr):
    host, port = addr.rsplit(":", 1)
    srv = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    srv.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    srv.bind((host, int(port)))
    srv.listen(4)
    return srv


def connect(addr, timeout=5.0):
    host, port = addr.rsplit(":", 1)
    return socket.create_connection((host, int(port)), timeout=timeout)


def pattern(n):
    """n bytes of a seeded pseudo-random pattern, in 1 MiB blocks."""
    block = hashlib.sha256(b"rampart-kr").digest() * (1 << 15)  # 1 MiB
    full, rest = divmod(n, len(block))
    for _ in range(full):
        yield block
    if rest:
        yield block[:rest]


def cmd_sink_later(a):
    srv = listen_one(a.listen)
    sock, _ = srv.accept()
    srv.close()
    # A small receive buffer: the origin's kernel takes little while it does not read.
    while not os.path.exists(a.go):
        time.sleep(0.05)
    h, n = hashlib.sha256(), 0
    sock.settimeout(a.timeout)
    while True:
        b = sock.recv(1 << 20)
        if not b:
            break
        h.update(b)
        n += len(b)
    open(a.out, "w").write(f"{h.hexdigest()} {n}\n")
    sock.close()
    return 0


def cmd_push(a):
    sock = connect(a.connect)
    sock.settimeout(a.timeout)
    h, sent = hashlib.sha256(), 0
    for chunk in pattern(a.bytes):
        view = memoryview(chunk)
        while view:
            w = sock.send(view[: 1 << 16])
            h.update(view[:w])
            view = view[w:]
            sent += w
            with open(a.progress + ".tmp", "w") as f:
                f.write(f"{sent}\n")
            os.replace(a.progress + ".tmp", a.progress)
    sock.shutdown(socket.SHUT_WR)
    while sock.recv(65536):
        pass
    open(a.out, "w").write(f"{h.hexdigest()} {sent}\n")
    return 0


def cmd_reset_after(a):
    srv = listen_one(a.listen)
    sock, _ = srv.accept()
    srv.close()
    got = 0
    sock.settimeout(a.timeout)
    while got < a.bytes:
        b = sock.recv(65536)
        if not b:
            break
        got += len(b)
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, struct.pack("ii", 1, 0))
    sock.close()
    return 0


def cmd_expect_reset(a):
    sock = connect(a.connect)
    sock.settimeout(a.timeout)
    sock.sendall(b"x" * a.bytes)
    try:
        while True:
            b = sock.recv(65536)
            if not b:
                print("eof")
                return 0
    except ConnectionResetError:
        print("rst")
    except socket.timeout:
        print("timeout")
    return 0


def cmd_ticker(a):
    sock = connect(a.connect)
    sock.settimeout(a.timeout)
    start = time.monotonic()
    while time.monotonic() - start < a.for_s:
        sock.sendall(b"tick\n")
        got = b""
        while len(got) < 5:
            b = sock.recv(64)
            if not b:
                print(f"closed-early {time.monotonic() - start:.1f}")
                return 0
            got += b
        time.sleep(a.every)
    quiet = time.monotonic()
    try:
        while sock.recv(64):
            pass
    except (ConnectionResetError, socket.timeout):
        pass
    print(f"alive {a.for_s:.1f} closed-after-quiet {time.monotonic() - quiet:.1f}")
    return 0


def main():
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawTextHelpFormatter)
    sub = p.add_subparsers(dest="cmd", required=True)
    s = sub.add_parser("sink-later")
    s.add_argument("--listen", required=True)
    s.add_argument("--go", required=True)
    s.add_argument("--out", required=True)
    s.add_argument("--timeout", type=float, default=60)
    s.set_defaults(fn=cmd_sink_later)
    s = sub.add_parser("push")
    s.add_argument("--connect", required=True)
    s.add_argument("--bytes", type=int, required=True)
    s.add_argument("--progress", required=True)
    s.add_argument("--out", required=True)
    s.add_argument("--timeout", type=float, default=60)
    s.set_defaults(fn=cmd_push)
    s = sub.add_parser("reset-after")
    s.add_argument("--listen", required=True)
    s.add_argument("--bytes", type=int, required=True)
    s.add_argument("--timeout", type=float, default=20)
    s.set_defaults(fn=cmd_reset_after)
    s = sub.add_parser("expect-reset")
    s.add_argument("--connect", required=True)
    s.add_argument("--bytes", type=int, required=True)
    s.add_argument("--timeout", type=float, default=10)
    s.set_defaults(fn=cmd_expect_reset)
    s = sub.add_parser("ticker")
    s.add_argument("--connect", required=True)
    s.add_argument("--every", type=float, default=0.5)
    s.add_argument("--for", dest="for_s", type=float, default=4)
    s.add_argument("--timeout", type=float, default=15)
    s.set_defaults(fn=cmd_ticker)
    a = p.parse_args()
    return a.fn(a)


if __name__ == "__main__":
    sys.exit(main())
