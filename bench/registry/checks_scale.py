#!/usr/bin/python3
"""How pier's health checker holds up: N instances, each with an HTTP check at a 1 s interval,
against one local nginx.

  bench/registry/checks_scale.py [--pier build/release/bin/pier] [--instances 10000]
                                 [--seconds 20] [--threads 0]

Registers the instances (in memory, no store), waits until every check passes, then over
`--seconds` reports pier's CPU use (share of one core, from /proc), probes per second, and from
pier's /metrics the lag between when a probe was due and when it started, and how long probes
took (p50/p99, histogram bucket bounds). nginx's CPU is shown for scale. Only loopback traffic.
"""
import argparse
import concurrent.futures
import json
import os
import re
import shutil
import subprocess
import sys
import tempfile
import time

import requests

from common import DEFAULT_PIER, free_port, start_pier_registry, wait_http


def start_nginx(tmp):
    port = free_port()
    conf = os.path.join(tmp, "nginx.conf")
    with open(conf, "w") as f:
        f.write(f"""daemon off; worker_processes 1; pid {tmp}/nginx.pid;
error_log {tmp}/nginx.err; worker_rlimit_nofile 16384;
events {{ worker_connections 8192; }}
http {{ access_log off;
  server {{ listen 127.0.0.1:{port} backlog=8192;
    location = /health {{ return 200 "ok\\n"; }} }} }}
""")
    p = subprocess.Popen(["nginx", "-c", conf], stdout=subprocess.DEVNULL,
                         stderr=subprocess.DEVNULL)
    wait_http(f"http://127.0.0.1:{port}/health")
    return p, port


def cpu_seconds(pid):
    """utime+stime of a process and its threads (and for nginx, its workers)."""
    pids = [pid] + [int(c) for c in open(f"/proc/{pid}/task/{pid}/children").read().split()]
    total = 0
    for p in pids:
        fields = open(f"/proc/{p}/stat").read().rsplit(")", 1)[1].split()
        total += int(fields[11]) + int(fields[12])
    return total / os.sysconf("SC_CLK_TCK")


def histogram(metrics, name):
    """{upper bound: cumulative count} and the count, from Prometheus text."""
    buckets = {}
    for m in re.finditer(name + r'_bucket\{le="([^"]+)"\} (\d+)', metrics):
        buckets[float(m.group(1))] = int(m.group(2))
    count = int(re.search(name + r"_count (\d+)", metrics).group(1))
    return buckets, count


def quantile(before, after, q):
    bounds = sorted(after)
    total = after[bounds[-1]] - before.get(bounds[-1], 0)
    for b in bounds:
        if after[b] - before.get(b, 0) >= q * total:
            return b
    return float("inf")


def main():
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawTextHelpFormatter)
    ap.add_argument("--pier", default=DEFAULT_PIER)
    ap.add_argument("--instances", type=int, default=10000)
    ap.add_argument("--seconds", type=int, default=20)
    ap.add_argument("--threads", type=int, default=0)
    args = ap.parse_args()
    if shutil.which("nginx") is None:
        sys.exit("nginx is not installed: run scripts/install-deps bench")
    tmp = tempfile.mkdtemp(prefix="pier-checks-bench-")
    nginx, nport = start_nginx(tmp)
    pier, addr = start_pier_registry(args.pier, "", "--threads", str(args.threads))
    try:
        base = f"http://{addr}"

        def register(chunk):
            s = requests.Session()
            for i in chunk:
                body = {"ID": f"svc-{i}", "Name": f"svc-{i % 100}", "Port": nport,
                        "Address": "127.0.0.1",
                        "Check": {"HTTP": f"http://127.0.0.1:{nport}/health", "Interval": "1s",
                                  "Timeout": "1s"}}
                r = s.put(base + "/v1/agent/service/register", data=json.dumps(body))
                assert r.status_code == 200, r.text

        t0 = time.monotonic()
        ids = list(range(args.instances))
        with concurrent.futures.ThreadPoolExecutor(8) as ex:
            list(ex.map(register, [ids[i::8] for i in range(8)]))
        print(f"registered {args.instances} instances in {time.monotonic() - t0:.1f}s",
              flush=True)
        deadline = time.monotonic() + 60
        while time.monotonic() < deadline:
            m = requests.get(base + "/metrics").text
            passing = float(re.search(r'pier_registry_checks\{status="passing"\} (\S+)', m)
                            .group(1))
            if passing >= args.instances:
                break
            time.sleep(0.5)  # the gauge refreshes every second
        print(f"{passing:.0f} checks passing; measuring for {args.seconds}s", flush=True)
        m0 = requests.get(base + "/metrics").text
        c0, n0, w0 = cpu_seconds(pier.pid), cpu_seconds(nginx.pid), time.monotonic()
        time.sleep(args.seconds)  # the measurement window
        m1 = requests.get(base + "/metrics").text
        c1, n1, w1 = cpu_seconds(pier.pid), cpu_seconds(nginx.pid), time.monotonic()
        lag0, _ = histogram(m0, "pier_registry_probe_lag_seconds")
        lag1, _ = histogram(m1, "pier_registry_probe_lag_seconds")
        dur0, dc0 = histogram(m0, "pier_registry_probe_duration_seconds")
        dur1, dc1 = histogram(m1, "pier_registry_probe_duration_seconds")
        wall = w1 - w0
        passing = float(re.search(r'pier_registry_checks\{status="passing"\} (\S+)', m1).group(1))
        print(f"\n{args.instances} HTTP checks at a 1 s interval, {wall:.0f}s window")
        print(f"  probes/s                 {(dc1 - dc0) / wall:10.0f}")
        print(f"  pier CPU (one core = 100%) {100 * (c1 - c0) / wall:8.1f}%")
        print(f"  nginx CPU                {100 * (n1 - n0) / wall:9.1f}%")
        print(f"  lag p50 / p99            {1000 * quantile(lag0, lag1, 0.5):7.2f} / "
              f"{1000 * quantile(lag0, lag1, 0.99):.2f} ms (<= bucket bound)")
        print(f"  probe time p50 / p99     {1000 * quantile(dur0, dur1, 0.5):7.2f} / "
              f"{1000 * quantile(dur0, dur1, 0.99):.2f} ms (<= bucket bound)")
        print(f"  checks passing at the end {passing:.0f} of {args.instances}")
    finally:
        pier.terminate()
        pier.wait(timeout=30)
        nginx.terminate()
        nginx.wait(timeout=30)
        shutil.rmtree(tmp, ignore_errors=True)


if __name__ == "__main__":
    main()
