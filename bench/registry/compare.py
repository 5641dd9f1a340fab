#!/usr/bin/python3
"""pier registry vs etcd, side by side in one run.

  bench/registry/compare.py [--pier build/release/bin/pier] [--runs 5] [--seconds 10]
                            [--watch-writes 300]

1. Durable writes per second: wrk (1 thread, 16 connections) sends a new registration per
   request to pier (PUT /v1/agent/service/register, a unique ID each time: written to SQLite with
   fsync before the 200) and a new key per request to etcd (POST /v3/kv/put through its JSON
   gateway, a value of the same size: written to its WAL with fsync before the reply).
2. Watch latency: a writer changes one watched thing and times until the watcher hears of it,
   `--watch-writes` times: pier re-registers an instance (new port) under a blocking query on
   /v1/health/service/NAME; etcd puts a key under a /v3/watch stream. Each sample is from the
   start of the write to the notification, so it includes the durable write.

Runs alternate (etcd, pier, etcd, pier, ...) and medians are printed with the ratio pier/etcd.
Uses Debian's etcd-server and wrk and python3-requests. Only loopback traffic.
"""
import argparse
import base64
import json
import os
import queue
import random
import re
import shutil
import statistics
import subprocess
import sys
import tempfile
import threading
import time

import requests

from common import DEFAULT_PIER, free_port, start_pier_registry, wait_http


def start_etcd(tmp):
    port, peer = free_port(), free_port()
    data = os.path.join(tmp, f"etcd-{port}")
    p = subprocess.Popen(["etcd", "--data-dir", data,
                          "--listen-client-urls", f"http://127.0.0.1:{port}",
                          "--advertise-client-urls", f"http://127.0.0.1:{port}",
                          "--listen-peer-urls", f"http://127.0.0.1:{peer}",
                          "--initial-advertise-peer-urls", f"http://127.0.0.1:{peer}",
                          "--initial-cluster", f"default=http://127.0.0.1:{peer}"],
                         stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    wait_http(f"http://127.0.0.1:{port}/health")
    return p, f"127.0.0.1:{port}"


def start_pier(pier, tmp):
    return start_pier_registry(pier, tempfile.mkdtemp(dir=tmp))


def b64(s):
    return base64.b64encode(s.encode()).decode()


LUA_B64 = r"""
local chars = 'ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/'
function b64(data)
  return ((data:gsub('.', function(x)
    local r, b = '', x:byte()
    for i = 8, 1, -1 do r = r .. (b % 2 ^ i - b % 2 ^ (i - 1) > 0 and '1' or '0') end
    return r
  end) .. '0000'):gsub('%d%d%d?%d?%d?%d?', function(x)
    if #x < 6 then return '' end
    local c = 0
    for i = 1, 6 do c = c + (x:sub(i, i) == '1' and 2 ^ (6 - i) or 0) end
    return chars:sub(c + 1, c + 1)
  end) .. ({'', '==', '='})[#data % 3 + 1])
end
"""

PIER_LUA = """
counter = 0
prefix = tostring(math.random(1000000000))
request = function()
  counter = counter + 1
  local body = '{"ID":"bench-' .. prefix .. '-' .. counter ..
      '","Name":"bench","Address":"127.0.0.1","Port":8080,"Check":{"TTL":"60s"}}'
  return wrk.format("PUT", "/v1/agent/service/register",
                    {["Content-Type"] = "application/json"}, body)
end
"""

ETCD_LUA = LUA_B64 + """
counter = 0
prefix = tostring(math.random(1000000000))
value = b64('{"ID":"bench-0000000000-000000","Name":"bench","Address":"127.0.0.1","Port":8080}')
request = function()
  counter = counter + 1
  local body = '{"key":"' .. b64('bench/' .. prefix .. '/' .. counter) .. '","value":"' ..
      value .. '"}'
  return wrk.format("POST", "/v3/kv/put", {["Content-Type"] = "application/json"}, body)
end
"""


def wrk(addr, script, seconds):
    with tempfile.NamedTemporaryFile("w", suffix=".lua", delete=False) as f:
        f.write(script)
    out = subprocess.run(["wrk", "-t1", "-c16", f"-d{seconds}s", "--latency", "-s", f.name,
                          f"http://{addr}"], capture_output=True, text=True).stdout
    os.unlink(f.name)
    rps = float(re.search(r"Requests/sec:\s+([\d.]+)", out).group(1))
    errors = re.search(r"Non-2xx or 3xx responses: (\d+)", out)
    if errors:
        raise RuntimeError(f"{addr}: {errors.group(1)} failed writes:\n{out}")

    def ms(label):
        m = re.search(label + r"%\s+([\d.]+)(us|ms|s)", out)
        v = float(m.group(1))
        return v / 1000 if m.group(2) == "us" else v * 1000 if m.group(2) == "s" else v
    return rps, ms("50"), ms("99")


def pier_watch(addr, writes):
    s = requests.Session()
    url = f"http://{addr}"

    def register(port):
        r = s.put(url + "/v1/agent/service/register",
                  data=json.dumps({"ID": "w-1", "Name": "watched", "Port": port}))
        assert r.status_code == 200, r.text

    register(1)
    wakes = queue.Queue()
    stop = threading.Event()

    def watcher():
        ws = requests.Session()
        index = ws.get(url + "/v1/health/service/watched").headers["X-Consul-Index"]
        while not stop.is_set():
            r = ws.get(url + f"/v1/health/service/watched?index={index}&wait=5s")
            if r.headers["X-Consul-Index"] != index:
                index = r.headers["X-Consul-Index"]
                wakes.put(time.perf_counter())

    t = threading.Thread(target=watcher, daemon=True)
    t.start()
    time.sleep(0.2)  # the watcher's first blocking query is in place
    samples = []
    for i in range(writes):
        t0 = time.perf_counter()
        register(1000 + i)
        samples.append((wakes.get(timeout=10) - t0) * 1000)
        time.sleep(random.uniform(0.002, 0.006))  # the watcher re-arms its query
    stop.set()
    return samples


def etcd_watch(addr, writes):
    s = requests.Session()
    url = f"http://{addr}"
    key = b64("watched")
    wakes = queue.Queue()
    # No compression: a gzipped stream would hold events back until its buffer fills.
    stream = requests.post(url + "/v3/watch", data=json.dumps({"create_request": {"key": key}}),
                           headers={"Accept-Encoding": "identity"}, stream=True,
                           timeout=(10, None))

    def watcher():
        try:
            for line in stream.iter_lines(chunk_size=1):  # each event as it arrives
                if line and json.loads(line).get("result", {}).get("events"):
                    wakes.put(time.perf_counter())
        except requests.RequestException:
            pass  # closed at the end

    threading.Thread(target=watcher, daemon=True).start()
    time.sleep(0.2)  # the watch is created
    samples = []
    for i in range(writes):
        t0 = time.perf_counter()
        r = s.post(url + "/v3/kv/put", data=json.dumps({"key": key, "value": b64(str(i))}))
        assert r.status_code == 200, r.text
        samples.append((wakes.get(timeout=10) - t0) * 1000)
        time.sleep(random.uniform(0.002, 0.006))
    # The stream stays open: stopping etcd ends it (closing it under the reader thread blocks).
    return samples


def pct(xs, q):
    xs = sorted(xs)
    return xs[min(len(xs) - 1, int(q * len(xs)))]


def main():
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawTextHelpFormatter)
    ap.add_argument("--pier", default=DEFAULT_PIER)
    ap.add_argument("--runs", type=int, default=5)
    ap.add_argument("--seconds", type=int, default=10)
    ap.add_argument("--watch-writes", type=int, default=300)
    args = ap.parse_args()
    for tool in ("etcd", "wrk"):
        if shutil.which(tool) is None:
            sys.exit(f"{tool} is not installed: run scripts/install-deps bench")
    tmp = tempfile.mkdtemp(prefix="pier-registry-bench-")
    results = {"etcd": {"w": [], "w50": [], "w99": [], "l50": [], "l99": []},
               "pier": {"w": [], "w50": [], "w99": [], "l50": [], "l99": []}}
    try:
        for run in range(args.runs):
            for name in ("etcd", "pier"):
                proc, addr = start_etcd(tmp) if name == "etcd" else start_pier(args.pier, tmp)
                try:
                    rps, p50, p99 = wrk(addr, ETCD_LUA if name == "etcd" else PIER_LUA,
                                        args.seconds)
                    lat = (etcd_watch if name == "etcd" else pier_watch)(addr, args.watch_writes)
                finally:
                    proc.terminate()
                    proc.wait(timeout=30)
                r = results[name]
                r["w"].append(rps)
                r["w50"].append(p50)
                r["w99"].append(p99)
                r["l50"].append(pct(lat, 0.5))
                r["l99"].append(pct(lat, 0.99))
                print(f"run {run + 1} {name}: {rps:.0f} writes/s (p50 {p50:.2f} ms, p99 "
                      f"{p99:.2f} ms); watch p50 {pct(lat, 0.5):.2f} ms p99 "
                      f"{pct(lat, 0.99):.2f} ms", flush=True)
    finally:
        shutil.rmtree(tmp, ignore_errors=True)
    med = {n: {k: statistics.median(v) for k, v in r.items()} for n, r in results.items()}
    print(f"\nmedians of {args.runs} interleaved runs")
    print(f"{'':28}{'etcd':>10}{'pier':>10}{'pier/etcd':>11}")
    for key, label in (("w", "durable writes/s"), ("w50", "write p50 ms"), ("w99", "write p99 ms"),
                       ("l50", "write-to-watch p50 ms"), ("l99", "write-to-watch p99 ms")):
        e, p = med["etcd"][key], med["pier"][key]
        print(f"{label:28}{e:>10.2f}{p:>10.2f}{p / e:>10.2f}x")


if __name__ == "__main__":
    main()
