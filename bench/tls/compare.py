#!/usr/bin/python3
"""TLS, side by side in one run: pier vs redis-server 7.0 (RESP over TLS) and pier proxy vs
HAProxy (HTTPS termination in front of two nginx backends).

  bench/tls/compare.py [--pier build/release/bin/pier] [--runs 5] [--requests 200000]
                       [--duration 10] [--connections 50] [--skip-resp] [--skip-https]

1. RESP: `redis-benchmark --tls -t set,get -c 50` at -P 1 and -P 16 against redis-server
   (--tls-port, --port 0) and pier cache (--tls-port), same certificate, tls-auth-clients no,
   interleaved runs; medians of requests/s and p99, and pier/redis ratios.
2. HTTPS: `wrk -t1 -c50` over https through HAProxy (one thread, `bind ... ssl crt`) and through
   pier proxy (--threads 1, a TLS listener), to the same two nginx backends, interleaved;
   requests/s, p99 and the proxy's CPU per request.
3. New TLS handshakes per second: the same with `Connection: close` (one handshake a request).

The certificate (EC P-256) is made by the openssl CLI in a temporary directory. Uses Debian's
redis-server and redis-benchmark (built with TLS), haproxy, nginx and wrk. Loopback only.
"""
import argparse
import csv
import io
import os
import shutil
import statistics
import subprocess
import sys
import tempfile

sys.path.insert(0, os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
from benchutil import (DEFAULT_PIER, cpu_seconds, free_port, start_haproxy,  # noqa: E402
                       start_nginx, stop_all, wait_port, wrk)


def make_certificate(tmp):
    key, crt = os.path.join(tmp, "srv.key"), os.path.join(tmp, "srv.crt")
    subprocess.run(["openssl", "req", "-x509", "-newkey", "ec", "-pkeyopt",
                    "ec_paramgen_curve:P-256", "-nodes", "-keyout", key, "-out", crt, "-days", "1",
                    "-subj", "/CN=localhost", "-addext", "subjectAltName=IP:127.0.0.1"],
                   check=True, capture_output=True)
    pem = os.path.join(tmp, "srv.pem")  # HAProxy's form: certificate and key in one file
    with open(pem, "w") as out:
        out.write(open(crt).read() + open(key).read())
    return crt, key, pem


def redis_benchmark(port, crt, pipeline, n):
    out = subprocess.run(["redis-benchmark", "--tls", "--cacert", crt, "-p", str(port), "-n",
                          str(n), "-c", "50", "-P", str(pipeline), "-t", "set,get", "--csv"],
                         capture_output=True, text=True, check=True).stdout
    return {row["test"]: (float(row["rps"]), float(row["p99_latency_ms"]))
            for row in csv.DictReader(io.StringIO(out))}


def resp(args, tmp, crt, key):
    rport = free_port()
    redis = subprocess.Popen(["redis-server", "--port", "0", "--tls-port", str(rport), "--bind",
                              "127.0.0.1", "--tls-cert-file", crt, "--tls-key-file", key,
                              "--tls-auth-clients", "no", "--save", "", "--appendonly", "no"],
                             stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    pport = free_port()
    pier = subprocess.Popen([args.pier, "cache", "--listen", "127.0.0.1:0", "--http",
                             "127.0.0.1:0", "--tls-port", str(pport), "--tls-cert-file", crt,
                             "--tls-key-file", key, "--tls-auth-clients", "no", "--data-dir",
                             os.path.join(tmp, "pier"), "--log-level", "warn"],
                            stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    try:
        wait_port(rport)
        wait_port(pport)
        print(f"== RESP over TLS: redis-benchmark --tls -t set,get -n {args.requests} -c 50, "
              f"{args.runs} interleaved runs, medians")
        res = {}
        for pipeline in (1, 16):
            for _ in range(args.runs):
                for name, port in (("redis", rport), ("pier", pport)):
                    for test, v in redis_benchmark(port, crt, pipeline, args.requests).items():
                        res.setdefault((pipeline, test, name), []).append(v)
        print(f"{'test':<6}{'P':>3}{'redis rps':>12}{'pier rps':>12}{'ratio':>7}"
              f"{'redis p99':>11}{'pier p99':>10}")
        for pipeline in (1, 16):
            for test in ("SET", "GET"):
                red, pie = res[(pipeline, test, "redis")], res[(pipeline, test, "pier")]
                ratio = statistics.median(p[0] / r[0] for r, p in zip(red, pie))
                print(f"{test:<6}{pipeline:>3}{statistics.median(x[0] for x in red):>12.0f}"
                      f"{statistics.median(x[0] for x in pie):>12.0f}{ratio:>7.2f}"
                      f"{statistics.median(x[1] for x in red):>11.3f}"
                      f"{statistics.median(x[1] for x in pie):>10.3f}")
    finally:
        stop_all([redis, pier])


def https(args, tmp, crt, key, pem):
    ports = [free_port(), free_port()]
    procs = [start_nginx(tmp, f"nginx{i}", p, args.body) for i, p in enumerate(ports)]
    backends = [f"127.0.0.1:{p}" for p in ports]
    hport, pport = free_port(), free_port()
    pcfg = os.path.join(tmp, "proxy.yaml")
    with open(pcfg, "w") as f:
        f.write(f"""listeners:
  - name: web
    listen: 127.0.0.1:{pport}
    tls: {{cert: {crt}, key: {key}}}
    max_connections_per_client: 0
    routes: [{{cluster: be}}]
clusters:
  be: {{endpoints: [{", ".join(f'"{b}"' for b in backends)}]}}
""")
    haproxy = start_haproxy(tmp, hport, backends, f"ssl crt {pem} alpn http/1.1")
    pier = subprocess.Popen([args.pier, "proxy", "--config", pcfg, "--http", "127.0.0.1:0",
                             "--threads", "1", "--data-dir", os.path.join(tmp, "pier"),
                             "--log-level", "warn"], stdout=subprocess.DEVNULL)
    procs += [haproxy, pier]
    try:
        wait_port(hport)
        wait_port(pport)
        targets = [("haproxy", f"https://127.0.0.1:{hport}/", haproxy.pid),
                   ("pier", f"https://127.0.0.1:{pport}/", pier.pid)]
        for label, headers in (("keep-alive", ()), ("handshakes (Connection: close)",
                                                    ("Connection: close",))):
            for _, url, _ in targets:
                wrk(url, args.connections, 1, headers)  # warm up
            results = {name: [] for name, _, _ in targets}
            for _ in range(args.runs):
                for name, url, pid in targets:
                    before = cpu_seconds(pid)
                    r = wrk(url, args.connections, args.duration, headers)
                    r["cpu_us"] = (cpu_seconds(pid) - before) * 1e6 / max(1, r["total"])
                    results[name].append(r)
            print(f"\n== HTTPS {label}: wrk -t1 -c{args.connections} -d{args.duration}s, "
                  f"{args.runs} interleaved runs, medians")
            print(f"{'proxy':10}{'req/s':>10}{'p99 us':>9}{'cpu us/req':>12}")
            med = {n: {k: statistics.median(r[k] for r in rs) for k in ("rps", "p99", "cpu_us")}
                   for n, rs in results.items()}
            for n, m in med.items():
                print(f"{n:10}{m['rps']:10.0f}{m['p99']:9.0f}{m['cpu_us']:12.1f}")
            ratio = statistics.median(p["rps"] / h["rps"]
                                      for h, p in zip(results["haproxy"], results["pier"]))
            print(f"pier / haproxy: throughput {ratio:.2f}x, p99 "
                  f"{med['pier']['p99'] / med['haproxy']['p99']:.2f}x, CPU per request "
                  f"{med['pier']['cpu_us'] / med['haproxy']['cpu_us']:.2f}x")
    finally:
        stop_all(procs)


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--pier", default=DEFAULT_PIER)
    ap.add_argument("--runs", type=int, default=5)
    ap.add_argument("--requests", type=int, default=200000)
    ap.add_argument("--duration", type=int, default=10)
    ap.add_argument("--connections", type=int, default=50)
    ap.add_argument("--body", type=int, default=64)
    ap.add_argument("--skip-resp", action="store_true")
    ap.add_argument("--skip-https", action="store_true")
    args = ap.parse_args()
    for tool in ("openssl", "redis-server", "redis-benchmark", "nginx", "haproxy", "wrk"):
        if shutil.which(tool) is None:
            sys.exit(f"{tool} is not installed: run scripts/install-deps bench")
    tmp = tempfile.mkdtemp(prefix="pier-tls-bench-")
    os.chmod(tmp, 0o755)
    try:
        crt, key, pem = make_certificate(tmp)
        if not args.skip_resp:
            resp(args, tmp, crt, key)
        if not args.skip_https:
            https(args, tmp, crt, key, pem)
    finally:
        shutil.rmtree(tmp, ignore_errors=True)


if __name__ == "__main__":
    main()
