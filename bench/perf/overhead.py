#!/usr/bin/python3
"""What the performance analyzer costs.

  bench/perf/overhead.py [--pier build/release/bin/pier] [--runs 5] [--requests 400000]

1. The cache's miss-ratio shadow on the request path: `pier cache --maxmemory 64mb` with
   `--shadow yes` and `--shadow no`, the same redis-benchmark (-t set,get -r 100000 -d 100
   -c 50, at -P 1 and -P 16) against each, interleaved, `--runs` times; the median ratio of
   requests/s (yes/no) and the server's CPU per request from /proc.
2. The analyzer's sampling: `pier up` with the proxy, registry, cache and queue and three demo
   services under load (HTTP through the proxy and redis-benchmark on the cache); the
   analyzer's own CPU per 1 s sample (it measures it with CLOCK_THREAD_CPUTIME_ID) against the
   interval, median over 30 samples.

Uses Debian's redis-benchmark. Only loopback traffic.
"""
import argparse
import csv
import io
import os
import statistics
import subprocess
import sys
import tempfile
import threading
import time
import urllib.request
import json

sys.path.insert(0, os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
from benchutil import ROOT, free_port, wait_port  # noqa: E402


def cpu_seconds(pid):
    with open(f"/proc/{pid}/stat") as f:
        fields = f.read().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


def bench(port, n, pipeline):
    out = subprocess.run(["redis-benchmark", "-p", str(port), "-t", "set,get", "-n", str(n),
                          "-r", "100000", "-d", "100", "-c", "50", "-P", str(pipeline), "--csv"],
                         capture_output=True, text=True, check=True).stdout
    rows = list(csv.reader(io.StringIO(out)))
    return {r[0]: float(r[1]) for r in rows[1:]}


def shadow_cost(args):
    print(f"== the shadow on the request path: redis-benchmark -t set,get -n {args.requests} "
          "-r 100000 -d 100 -c 50, --maxmemory 64mb")
    results = {}
    for pipeline in (1, 16):
        ratios, cpu = {"SET": [], "GET": []}, {"yes": [], "no": []}
        for run in range(args.runs):
            for shadow in ("no", "yes"):
                port = free_port()
                p = subprocess.Popen([args.pier, "cache", "--listen", f"127.0.0.1:{port}",
                                      "--http", "127.0.0.1:0", "--maxmemory", "64mb",
                                      "--maxmemory-policy", "allkeys-lru", "--shadow", shadow],
                                     stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
                try:
                    wait_port(port)
                    c0 = cpu_seconds(p.pid)
                    r = bench(port, args.requests, pipeline)
                    cpu[shadow].append((cpu_seconds(p.pid) - c0) / (2 * args.requests) * 1e6)
                    results.setdefault((pipeline, shadow), []).append(r)
                finally:
                    p.terminate()
                    p.wait()
            for test in ("SET", "GET"):
                ratios[test].append(results[(pipeline, "yes")][-1][test] /
                                    results[(pipeline, "no")][-1][test])
        for test in ("SET", "GET"):
            yes = statistics.median(r[test] for r in results[(pipeline, "yes")])
            no = statistics.median(r[test] for r in results[(pipeline, "no")])
            print(f"-P {pipeline:2d} {test}: shadow yes {yes:,.0f}/s, no {no:,.0f}/s, "
                  f"median ratio {statistics.median(ratios[test]):.3f}")
        print(f"-P {pipeline:2d} CPU per request: yes {statistics.median(cpu['yes']):.2f} us, "
              f"no {statistics.median(cpu['no']):.2f} us")


SPEC = """name: overhead
platform:
  proxy: {listen: 127.0.0.1:PROXY}
  resp: 127.0.0.1:RESP
  cache: {policy: allkeys-lru, memory: 64mb}
  queue: {topics: [jobs]}
services:
  api:
    command: [pier, demo-service, --listen, "127.0.0.1:${PORT}", --name, api]
    replicas: 3
    health: {http: /health, interval: 1s, timeout: 1s, retries: 1}
routes:
  - {path_prefix: /, service: api}
"""


def analyzer_cost(args):
    print("== the analyzer's sampling in pier up with every module under load")
    proxy, resp, http = free_port(), free_port(), free_port()
    with tempfile.TemporaryDirectory() as d:
        spec = os.path.join(d, "pier.yaml")
        with open(spec, "w") as f:
            f.write(SPEC.replace("PROXY", str(proxy)).replace("RESP", str(resp)))
        p = subprocess.Popen([args.pier, "up", spec, "--http", f"127.0.0.1:{http}",
                              "--data-dir", d], stdout=subprocess.DEVNULL,
                             stderr=subprocess.DEVNULL)
        stop = threading.Event()
        try:
            wait_port(http)
            time.sleep(3)  # the services start and pass their first health checks

            def http_load():
                while not stop.is_set():
                    try:
                        urllib.request.urlopen(f"http://127.0.0.1:{proxy}/", timeout=5).read()
                    except OSError:
                        pass
            threads = [threading.Thread(target=http_load) for _ in range(4)]
            for t in threads:
                t.start()
            cache = subprocess.Popen(["redis-benchmark", "-p", str(resp), "-t", "set,get", "-n",
                                      "100000000", "-r", "100000", "-c", "20", "-q"],
                                     stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
            shares, costs = [], []
            last = None
            c0, t0 = cpu_seconds(p.pid), time.time()
            while len(shares) < 30:
                snap = json.load(urllib.request.urlopen(f"http://127.0.0.1:{http}/perf/snapshot"))
                if snap["t_ms"] != last:
                    last = snap["t_ms"]
                    shares.append(snap["analyzer"]["cpu_share"])
                    costs.append(snap["analyzer"]["sample_cpu_us"])
                time.sleep(0.25)
            process_cores = (cpu_seconds(p.pid) - c0) / (time.time() - t0)
            cache.terminate()
            stop.set()
            for t in threads:
                t.join()
            series = len(snap["series"])
            print(f"analyzer: median {statistics.median(costs):.0f} us of CPU per 1 s sample "
                  f"({statistics.median(shares) * 100:.3f}% of one core; {series} series), "
                  f"while pier up used {process_cores:.2f} cores")
        finally:
            stop.set()
            p.terminate()
            p.wait()


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--pier", default=os.path.join(ROOT, "build/release/bin/pier"))
    ap.add_argument("--runs", type=int, default=5)
    ap.add_argument("--requests", type=int, default=400000)
    args = ap.parse_args()
    shadow_cost(args)
    analyzer_cost(args)


if __name__ == "__main__":
    main()
