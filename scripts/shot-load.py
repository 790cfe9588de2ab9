#!/usr/bin/env python3
"""Screenshot load on loopback, the same for ferrotype and for a peer service.

../shared/bench/shot-bench.sh repeats one URL, which ferrotype answers from its result cache
(and coalesces when two are in flight), so it would measure the cache, not the browser. Here
every request carries its own `v=N`: ferrotype signs and renders each one; a peer that does
not know `v` ignores it. Everything else follows shot-bench.sh: C requests kept in flight for
DUR seconds on keep-alive connections, warm-up not counted, p50/p99 and shots/s, and CPU ms
per shot summed over the server's process tree (Chromium included), then of the server's own
process alone.

    shot-load.py NAME 'URL_TEMPLATE' PID [--key KEY] [--conc 1 2] [--dur 10]

URL_TEMPLATE holds {url} (the page, percent-encoded) and {v}. Loopback targets only.
"""
import argparse
import glob
import http.client
import os
import statistics
import sys
import threading
import time
from urllib.parse import quote, urlsplit

from signing import sign


def tree(pid):
    todo, seen = [str(pid)], []
    while todo:
        q = todo.pop()
        seen.append(q)
        for f in glob.glob(f"/proc/{q}/task/*/children"):
            try:
                todo += open(f).read().split()
            except OSError:
                pass
    return seen


def cpu_ticks(pid, whole_tree=True):
    total = 0
    for q in tree(pid) if whole_tree else [str(pid)]:
        try:
            f = open(f"/proc/{q}/stat").read().rsplit(")", 1)[1].split()
            total += int(f[11]) + int(f[12])
        except (OSError, IndexError):
            pass
    return total


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("name")
    ap.add_argument("template")
    ap.add_argument("pid", type=int)
    ap.add_argument("--key")
    ap.add_argument("--page", default="http://127.0.0.1:8099/card.html")
    ap.add_argument("--conc", type=int, nargs="+", default=[1, 2])
    ap.add_argument("--dur", type=float, default=10)
    ap.add_argument("--warmup", type=int, default=3)
    a = ap.parse_args()

    first = urlsplit(a.template.format(url="x", v=0))
    if first.hostname not in ("127.0.0.1", "localhost", "::1"):
        sys.exit(f"refusing non-loopback target {first.hostname}")
    counter = iter(range(10**9))
    # Unique across runs too: a `v` seen before would be a result-cache hit.
    run = f"{os.getpid()}-{int(time.time())}"
    lock = threading.Lock()

    def target():
        with lock:
            n = next(counter)
        u = urlsplit(a.template.format(url=quote(a.page, safe=""), v=f"{run}-{n}"))
        t = u.path + "?" + u.query
        return sign(a.key, t) if a.key else t

    def get(conn, path):
        conn.request("GET", path)
        r = conn.getresponse()
        body = r.read()
        return r.status, body

    conn = http.client.HTTPConnection(first.hostname, first.port, timeout=60)
    for _ in range(a.warmup):
        status, body = get(conn, target())
        if status != 200:
            sys.exit(f"warm-up failed: HTTP {status} {body[:200]!r}")
    print("name\tconc\tshots\tshots_per_s\tp50_ms\tp99_ms\tcpu_ms_per_shot\tserver_cpu_ms_per_shot")
    for c in a.conc:
        lat, errors = [], [0]
        deadline = time.monotonic() + a.dur

        def worker():
            cn = http.client.HTTPConnection(first.hostname, first.port, timeout=60)
            while time.monotonic() < deadline:
                t0 = time.perf_counter()
                status, _ = get(cn, target())
                dt = time.perf_counter() - t0
                with lock:
                    if status == 200:
                        lat.append(dt)
                    else:
                        errors[0] += 1

        cpu0, own0, t0 = cpu_ticks(a.pid), cpu_ticks(a.pid, False), time.monotonic()
        threads = [threading.Thread(target=worker) for _ in range(c)]
        for t in threads:
            t.start()
        for t in threads:
            t.join()
        elapsed = time.monotonic() - t0
        tick_ms = 1000 / os.sysconf("SC_CLK_TCK")
        cpu_ms = (cpu_ticks(a.pid) - cpu0) * tick_ms
        own_ms = (cpu_ticks(a.pid, False) - own0) * tick_ms
        lat.sort()
        p99 = lat[min(len(lat) - 1, int(len(lat) * 0.99))] if lat else 0
        print(
            f"{a.name}\t{c}\t{len(lat)}\t{len(lat) / elapsed:.2f}\t"
            f"{statistics.median(lat) * 1000:.0f}\t{p99 * 1000:.0f}\t"
            f"{cpu_ms / max(len(lat), 1):.0f}\t{own_ms / max(len(lat), 1):.0f}" + (f"\t{errors[0]} errors" if errors[0] else "")
        )


if __name__ == "__main__":
    main()
