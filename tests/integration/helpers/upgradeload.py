#!/usr/bin/env python3
"""Load across a zero-loss upgrade (tests/integration/test_upgrade.sh).

client: a steady connect loop (--rate conn/s: connect, one echo, close), --streams long-lived
TCP echo streams (one line every 100 ms, each echo checked), --udp sessions (a sequence-numbered
datagram every 20 ms each, echoed by the origin). Runs until the file --stop exists, then closes
the streams and waits 1 s for the last UDP replies. Prints one JSON line of figures.

udp-origin: a UDP echo that records, per session id, every edge-side source port it saw.
"""
import argparse, json, os, selectors, socket, sys, threading, time


def client(a):
    host, tport, uport = a.host, a.tcp_port, a.udp_port
    res = {"connects": 0, "refused": 0, "connect_errors": 0, "streams_broken": 0,
           "udp_sent": 0, "udp_received": 0}
    lock = threading.Lock()
    stop = threading.Event()

    def connect_loop():
        period = 1.0 / a.rate
        nxt = time.monotonic()
        while not stop.is_set():
            try:
                with socket.create_connection((host, tport), timeout=3) as s:
                    s.settimeout(3)
                    s.sendall(b"ping\n")
                    got = b""
                    while not got.endswith(b"\n"):
                        b = s.recv(64)
                        if not b:
                            raise OSError("eof")
                        got += b
                with lock:
                    res["connects"] += 1
            except ConnectionRefusedError:
                with lock:
                    res["refused"] += 1
            except OSError:
                with lock:
                    res["connect_errors"] += 1
            nxt += period
            d = nxt - time.monotonic()
            if d > 0:
                time.sleep(d)

    def stream(i):
        try:
            s = socket.create_connection((host, tport), timeout=5)
            s.settimeout(5)
            n = 0
            while not stop.is_set():
                msg = b"stream-%d-%d\n" % (i, n)
                s.sendall(msg)
                got = b""
                while len(got) < len(msg):
                    b = s.recv(len(msg) - len(got))
                    if not b:
                        raise OSError("eof")
                    got += b
                if got != msg:
                    raise OSError("mismatch")
                n += 1
                time.sleep(0.1)
            s.close()
        except OSError as e:
            with lock:
                res["streams_broken"] += 1
            print(f"stream {i} broke: {e}", file=sys.stderr)

    def udp_sessions():
        sel = selectors.DefaultSelector()
        socks = []
        for i in range(a.udp):
            u = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
            u.connect((host, uport))
            u.setblocking(False)
            sel.register(u, selectors.EVENT_READ, i)
            socks.append(u)
        seq = 0
        nxt = time.monotonic()
        end = None
        while True:
            now = time.monotonic()
            if stop.is_set() and end is None:
                end = now + 1.0
            if end is not None and now >= end:
                break
            if end is None and now >= nxt:
                for i, u in enumerate(socks):
                    u.send(b"%d %d" % (i, seq))
                    res["udp_sent"] += 1
                seq += 1
                nxt += 0.02
            for key, _ in sel.select(timeout=max(0.0, min(0.02, nxt - time.monotonic()))):
                try:
                    while True:
                        key.fileobj.recv(2048)
                        res["udp_received"] += 1
                except BlockingIOError:
                    pass
                except OSError:
                    pass

    threads = [threading.Thread(target=connect_loop)]
    threads += [threading.Thread(target=stream, args=(i,)) for i in range(a.streams)]
    threads.append(threading.Thread(target=udp_sessions))
    started = time.monotonic()
    for t in threads:
        t.start()
    if a.ready:
        open(a.ready, "w").write("ready\n")
    while not os.path.exists(a.stop):
        time.sleep(0.05)
    stop.set()
    for t in threads:
        t.join()
    res["seconds"] = round(time.monotonic() - started, 2)
    print(json.dumps(res), flush=True)


def udp_origin(a):
    s = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
    s.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, 1 << 22)
    s.bind((a.host, a.udp_port))
    ports = {}
    last = time.monotonic()
    while True:
        d, peer = s.recvfrom(2048)
        sid = d.split(b" ", 1)[0].decode()
        seen = ports.setdefault(sid, [])
        if not seen or seen[-1] != peer[1]:
            seen.append(peer[1])
        s.sendto(d, peer)
        if time.monotonic() - last > 0.2:
            with open(a.out + ".tmp", "w") as f:
                json.dump(ports, f)
            os.replace(a.out + ".tmp", a.out)
            last = time.monotonic()


def main():
    p = argparse.ArgumentParser()
    sub = p.add_subparsers(dest="cmd", required=True)
    c = sub.add_parser("client")
    c.add_argument("--host", required=True)
    c.add_argument("--tcp-port", type=int, required=True)
    c.add_argument("--udp-port", type=int, required=True)
    c.add_argument("--rate", type=float, default=120)
    c.add_argument("--streams", type=int, default=30)
    c.add_argument("--udp", type=int, default=10)
    c.add_argument("--stop", required=True)
    c.add_argument("--ready")
    o = sub.add_parser("udp-origin")
    o.add_argument("--host", required=True)
    o.add_argument("--udp-port", type=int, required=True)
    o.add_argument("--out", required=True)
    a = p.parse_args()
    client(a) if a.cmd == "client" else udp_origin(a)


if __name__ == "__main__":
    main()
