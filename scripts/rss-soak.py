#!/usr/bin/env python3
"""Resident memory of a ferrotype binary across many mixed transforms.

    rss-soak.py BINARY [--requests 10000] [--conc 4] [--every 500] [--seed 1]

Starts BINARY on loopback with the corpus (../shared/corpus, or FERROTYPE_CORPUS) as source
`corpus` and a 16 MiB result cache (so the cache does not hide the allocator), then sends
REQUESTS signed transforms, CONC at a time: photos, PNG, animated GIF, WebP, AVIF sources;
widths 64-1600; jpeg/webp/png/avif/auto; a fixed seed, so two binaries get the same
sequence. Prints VmRSS (MiB) every EVERY requests, then one summary line.
"""
import argparse
import http.client
import os
import random
import subprocess
import sys
import tempfile
import threading
import time

from signing import sign

KEY = "rss-soak"
SOURCES = [
    ("photo/rocket.jpg", 6), ("photo/bench-small-2mp.jpg", 6), ("photo/elephants-3840x2160-rx100.jpg", 3),
    ("photo/fallenleaf-canon70d.jpg", 2), ("photo/bench-big-24mp.jpg", 1), ("photo/astronaut.png", 3),
    ("photo/coffee.png", 2), ("gif/iss634-animated.gif", 1), ("gif/transparent.gif", 1),
    ("avif/hopper.avif", 1), ("photo/colorfulcups-progressive.jpg", 2),
]
FORMATS = [("jpeg", 5), ("webp", 4), ("png", 1), ("avif", 1), ("auto", 2)]


def pick(rng, weighted):
    return rng.choices([x for x, _ in weighted], weights=[w for _, w in weighted])[0]


def rss_mib(pid):
    for line in open(f"/proc/{pid}/status"):
        if line.startswith("VmRSS:"):
            return int(line.split()[1]) / 1024
    return 0.0


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("binary")
    ap.add_argument("--requests", type=int, default=10000)
    ap.add_argument("--conc", type=int, default=4)
    ap.add_argument("--every", type=int, default=500)
    ap.add_argument("--seed", type=int, default=1)
    a = ap.parse_args()

    here = os.path.dirname(os.path.abspath(__file__))
    corpus = os.environ.get("FERROTYPE_CORPUS", os.path.join(here, "..", "..", "shared", "corpus"))
    rng = random.Random(a.seed)
    targets = []
    for i in range(a.requests):
        src, fm = pick(rng, SOURCES), pick(rng, FORMATS)
        targets.append(sign(KEY, f"/transform/corpus/{src}?w={rng.randint(64, 1600)}&fm={fm}&v={i}"))

    cache = tempfile.TemporaryDirectory()
    env = {"PATH": os.environ.get("PATH", ""), "FERROTYPE_BIND": "127.0.0.1:0", "FERROTYPE_KEYS": KEY,
           "FERROTYPE_SOURCES": f"corpus=file://{os.path.abspath(corpus)}", "FERROTYPE_CACHE_DIR": cache.name,
           "FERROTYPE_RESULT_CACHE_BYTES": str(16 << 20), "FERROTYPE_LOG": "warn",
           "FERROTYPE_CHROMIUM": "/nonexistent"}
    server = subprocess.Popen([a.binary, "serve"], env=env, stdout=subprocess.PIPE, text=True)
    try:
        for line in server.stdout:
            if line.startswith("ferrotype listening on http://"):
                host, port = line.strip().rsplit("/", 1)[1].rsplit(":", 1)
                break
        else:
            sys.exit("server exited before listening")
        lock, done, errors, curve = threading.Lock(), [0], [0], []
        todo = iter(targets)

        def worker():
            conn = http.client.HTTPConnection(host, int(port), timeout=120)
            while True:
                with lock:
                    t = next(todo, None)
                if t is None:
                    return
                conn.request("GET", t, headers={"Accept": "image/avif,image/webp,*/*"})
                r = conn.getresponse()
                r.read()
                with lock:
                    done[0] += 1
                    errors[0] += r.status != 200
                    if done[0] % a.every == 0:
                        curve.append((done[0], rss_mib(server.pid)))
                        print(f"{done[0]}\t{curve[-1][1]:.0f}", flush=True)

        t0 = time.monotonic()
        threads = [threading.Thread(target=worker) for _ in range(a.conc)]
        for t in threads:
            t.start()
        for t in threads:
            t.join()
        elapsed = time.monotonic() - t0
        first = next((r for n, r in curve if n >= 1000), curve[0][1])
        print(f"{os.path.basename(a.binary)}\trequests {done[0]}\terrors {errors[0]}\t{done[0] / elapsed:.1f} req/s\t"
              f"RSS at 1000 {first:.0f} MiB\tend {curve[-1][1]:.0f} MiB\tpeak {max(r for _, r in curve):.0f} MiB")
    finally:
        server.terminate()
        server.wait()


if __name__ == "__main__":
    main()
