#!/usr/bin/env python3
"""API load for the fleet partial-failure tests (test_fleet_member_stall.sh,
test_fleet_cluster_stall.sh). Runs inside the test's namespace.

  writes  --api HOST:PORT [--api ...] --token T --workers N --seconds S --interval I
          --port-base P --out FILE
      Each worker creates apps (POST without an id, so the id derives from the Idempotency-Key)
      one after the other, round-robin over the APIs. An answer 504 (code 10504, outcome
      unknown), a 409 10409 (same key in progress) or no answer is retried with the same key and
      body (on the next API) until a definitive answer or --settle seconds after the run. Every
      attempt is written to FILE (JSON lines: key, port, api, status, code, ms, t).
  reads   --api HOST:PORT [--api ...] --token T --seconds S --path P --out FILE
      GETs PATH on every API every 50 ms; each answer's status and latency to FILE.
  verify  --attempts FILE --etcd-values FILE [--max-write-ms M]
      Checks the answers against etcd's content (one JSON value per line, from etcdctl): a key
      answered 200 is stored exactly once, a key answered a definitive refusal is not stored,
      no key is stored twice; every non-definitive answer is the documented 504/10504. Prints the
      figures (latency p50/p99/max, counts) and exits non-zero on a violation.
  readstats --reads FILE --max-ms M
      Read latency figures; non-zero when one failed or took over M ms.
  propagate --api HOST:PORT --token T --body JSON --connect IP:PORT [--connect ...] --timeout S
      Writes the app, then times until every target relays it; prints "WRITE_MS DELAY_S".
  registry --api HOST:PORT [--api ...] --token T --want live|stale [--count N] --timeout S
      Times until every API's registry view (GET .../rampart/edges) lists N entries none stale
      (live), or shows its entries stale (stale); prints the seconds since --since (epoch; default
      now), non-zero on timeout.
"""
import argparse
import http.client
import json
import sys
import threading
import time
import uuid


def request(api, token, method, path, body=None, key=None, timeout=12.0):
    host, port = api.rsplit(":", 1)
    conn = http.client.HTTPConnection(host, int(port), timeout=timeout)
    headers = {"Authorization": "Bearer " + token}
    if body is not None:
        headers["Content-Type"] = "application/json"
    if key:
        headers["Idempotency-Key"] = key
    t0 = time.monotonic()
    try:
        conn.request(method, "/client/v4/zones/default" + path, body=body, headers=headers)
        res = conn.getresponse()
        data = res.read()
        ms = (time.monotonic() - t0) * 1000
        code = 0
        try:
            j = json.loads(data)
            if j.get("errors"):
                code = j["errors"][0].get("code", 0)
        except ValueError:
            j = None
        return res.status, code, ms, j
    except OSError as e:
        return 0, 0, (time.monotonic() - t0) * 1000, str(e)
    finally:
        conn.close()


def pct(values, p):
    if not values:
        return 0.0
    s = sorted(values)
    return s[min(len(s) - 1, int(round(p / 100.0 * (len(s) - 1))))]


def writes(args):
    lock = threading.Lock()
    out = open(args.out, "w")
    start = time.monotonic()
    end = start + args.seconds
    settle_end = end + args.settle
    next_port = [args.port_base]

    def log(rec):
        with lock:
            out.write(json.dumps(rec) + "\n")
            out.flush()

    def worker(w):
        n = w
        while time.monotonic() < end:
            with lock:
                port = next_port[0]
                next_port[0] += 1
            key = str(uuid.uuid4())
            body = json.dumps({"protocol": "tcp/%d" % port,
                               "origin_direct": ["tcp://127.0.0.1:7000"]})
            while True:
                api = args.api[n % len(args.api)]
                n += 1
                status, code, ms, _ = request(api, args.token, "POST", "/spectrum/apps", body, key)
                log({"key": key, "port": port, "api": api, "status": status, "code": code,
                     "ms": round(ms, 1), "t": round(time.monotonic() - start, 2)})
                uncertain = status in (0, 504) or (status == 409 and code == 10409)
                if not uncertain or time.monotonic() > settle_end:
                    break
                time.sleep(0.2)
            time.sleep(args.interval)

    threads = [threading.Thread(target=worker, args=(w,)) for w in range(args.workers)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    out.close()
    return 0


def reads(args):
    out = open(args.out, "w")
    start = time.monotonic()
    end = start + args.seconds
    while time.monotonic() < end:
        for api in args.api:
            status, code, ms, _ = request(api, args.token, "GET", args.path, timeout=5.0)
            out.write(json.dumps({"api": api, "status": status, "ms": round(ms, 1),
                                  "t": round(time.monotonic() - start, 2)}) + "\n")
        out.flush()
        time.sleep(0.05)
    out.close()
    return 0


def verify(args):
    attempts = [json.loads(l) for l in open(args.attempts) if l.strip()]
    stored = {}
    for line in open(args.etcd_values):
        line = line.strip()
        if not line.startswith("{"):
            continue
        v = json.loads(line)
        rid = v.get("request_id")
        if rid:
            stored.setdefault(rid, []).append(v)
    by_key = {}
    for a in attempts:
        by_key.setdefault(a["key"], []).append(a)
    bad = []
    unknown_answers = applied = refused = still_unknown = 0
    for key, tries in by_key.items():
        final = tries[-1]
        n = len(stored.get(key, []))
        if n > 1:
            bad.append("key %s stored %d times" % (key, n))
        for t in tries:
            if t["status"] == 504:
                unknown_answers += 1
                if t["code"] != 10504:
                    bad.append("key %s: 504 with code %s" % (key, t["code"]))
            elif t["status"] not in (0, 200, 409, 503):
                bad.append("key %s: unexpected answer %s/%s" % (key, t["status"], t["code"]))
            elif t["status"] == 409 and t["code"] != 10409:
                bad.append("key %s: 409 code %s" % (key, t["code"]))
        if final["status"] == 200:
            applied += 1
            if n != 1:
                bad.append("key %s answered 200 but stored %d times" % (key, n))
        elif final["status"] == 503:
            refused += 1
            if n != 0:
                bad.append("key %s answered 503 (not made) but it was made" % key)
        else:
            still_unknown += 1  # allowed: the documented answer, if the settle time ran out
    lat = [a["ms"] for a in attempts if a["status"] == 200]
    print("  writes: %d requests, %d attempts: %d applied (200), %d refused (503), %d left "
          "unknown; %d answers were 504/10504 (outcome unknown), each resolved by a retry with "
          "the same Idempotency-Key" % (len(by_key), len(attempts), applied, refused,
                                         still_unknown, unknown_answers))
    print("  write latency of the 200 answers: p50 %.0f ms, p99 %.0f ms, max %.0f ms"
          % (pct(lat, 50), pct(lat, 99), max(lat) if lat else 0))
    if args.max_write_ms:
        slow = [a for a in attempts if a["ms"] > args.max_write_ms or a["status"] != 200]
        for a in slow[:5]:
            bad.append("write over %d ms or not 200: %s" % (args.max_write_ms, json.dumps(a)))
    if args.want_unknown and unknown_answers == 0:
        bad.append("no write met the stalled store (no 504): the test did not test it")
    for b in bad[:20]:
        print("  VIOLATION: " + b)
    return 1 if bad else 0


def readstats(args):
    rs = [json.loads(l) for l in open(args.reads) if l.strip()]
    lat = [r["ms"] for r in rs]
    failed = [r for r in rs if r["status"] != 200]
    slow = [r for r in rs if r["ms"] > args.max_ms]
    print("  reads: %d, failed %d, latency p50 %.1f ms, p99 %.1f ms, max %.1f ms"
          % (len(rs), len(failed), pct(lat, 50), pct(lat, 99), max(lat) if lat else 0))
    for r in (failed + slow)[:5]:
        print("  slow or failed read: " + json.dumps(r))
    return 1 if failed or slow or not rs else 0


def propagate(args):
    sys.path.insert(0, __import__("os").path.dirname(__file__))
    from fleetutil import addr, echo_once
    status, code, ms, _ = request(args.api, args.token, "POST", "/spectrum/apps", args.body)
    if status != 200:
        print("write answered %s/%s" % (status, code))
        return 1
    start = time.monotonic()
    pending = [addr(t) for t in args.connect]
    while pending and time.monotonic() - start < args.timeout:
        pending = [t for t in pending if not echo_once(t, None, 0.5)]
        if pending:
            time.sleep(0.01)
    if pending:
        print("%.0f timeout" % ms)
        return 1
    print("%.0f %.3f" % (ms, time.monotonic() - start))
    return 0


def registry(args):
    start = args.since or time.time()
    while time.time() - start < args.timeout:
        ok = True
        for api in args.api:
            status, _, _, j = request(api, args.token, "GET", "/rampart/edges", timeout=2.0)
            if status != 200:
                ok = False
                break
            edges = j["result"]
            stale = [e for e in edges if e.get("stale")]
            if args.want == "stale":
                ok = ok and len(edges) > 0 and len(stale) == len(edges)
            else:
                ok = ok and not stale and (args.count == 0 or len(edges) == args.count)
        if ok:
            print("%.2f" % (time.time() - start))
            return 0
        time.sleep(0.02)
    print("timeout")
    return 1


def main():
    p = argparse.ArgumentParser()
    sub = p.add_subparsers(dest="cmd", required=True)
    w = sub.add_parser("writes")
    w.add_argument("--api", action="append", required=True)
    w.add_argument("--token", required=True)
    w.add_argument("--workers", type=int, default=2)
    w.add_argument("--seconds", type=float, required=True)
    w.add_argument("--settle", type=float, default=15.0)
    w.add_argument("--interval", type=float, default=0.2)
    w.add_argument("--port-base", type=int, required=True)
    w.add_argument("--out", required=True)
    r = sub.add_parser("reads")
    r.add_argument("--api", action="append", required=True)
    r.add_argument("--token", required=True)
    r.add_argument("--seconds", type=float, required=True)
    r.add_argument("--path", required=True)
    r.add_argument("--out", required=True)
    v = sub.add_parser("verify")
    v.add_argument("--attempts", required=True)
    v.add_argument("--etcd-values", required=True)
    v.add_argument("--max-write-ms", type=float, default=0)
    v.add_argument("--want-unknown", action="store_true")
    s = sub.add_parser("readstats")
    s.add_argument("--reads", required=True)
    s.add_argument("--max-ms", type=float, required=True)
    g = sub.add_parser("propagate")
    g.add_argument("--api", required=True)
    g.add_argument("--token", required=True)
    g.add_argument("--body", required=True)
    g.add_argument("--connect", action="append", required=True)
    g.add_argument("--timeout", type=float, default=5.0)
    e = sub.add_parser("registry")
    e.add_argument("--api", action="append", required=True)
    e.add_argument("--token", required=True)
    e.add_argument("--want", choices=["live", "stale"], required=True)
    e.add_argument("--count", type=int, default=0)
    e.add_argument("--timeout", type=float, default=5.0)
    e.add_argument("--since", type=float, default=0, help="epoch seconds the time counts from")
    args = p.parse_args()
    return {"writes": writes, "reads": reads, "verify": verify, "readstats": readstats,
            "propagate": propagate, "registry": registry}[args.cmd](args)


if __name__ == "__main__":
    sys.exit(main())
