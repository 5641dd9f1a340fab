#!/usr/bin/python3
"""pier proxy vs HAProxy in front of two nginx backends, side by side in one run.

  bench/proxy/compare.py [--pier build/release/bin/pier] [--runs 5] [--duration 10]
                         [--connections 50] [--body 64] [--baseline OTHER_PIER]
                         [--access-log] [--tracing [--trace-sample 0.1]]

Starts two nginx backends (one worker each, serving a --body byte file), HAProxy 2.6 (one
thread, `http-reuse always`, round robin) and `pier proxy --threads 1` (round robin), then runs
`wrk -t1 -cN -dD --latency` directly against one nginx, through HAProxy and through pier,
interleaved, --runs times. Prints medians of requests/s, p50/p99 latency and the proxy's CPU
microseconds per request (utime+stime from /proc/PID/stat over the run), and pier's ratios to
HAProxy. With --baseline (another build of pier, e.g. the previous commit's) it runs as `base`
in the same interleaving and pier/base ratios are printed: a change's A/B against main. With
--access-log a second pier writes a JSON access log to a file (`pier+log`): the log's cost as
pier+log/pier ratios, beside HAProxy's own (`haproxy+log`: option httplog to a file through its
stdout) as the reference; with --tracing one exports a span per request and per upstream
attempt (or per --trace-sample share of requests) to an OTLP collector (a discarding Python
server; `pier+trace`). Only loopback traffic.
"""
import argparse
import os
import shutil
import statistics
import subprocess
import sys
import tempfile

sys.path.insert(0, os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
from benchutil import (DEFAULT_PIER, cpu_seconds, free_port, start_haproxy,  # noqa: E402
                       start_nginx, start_pier_proxy, stop_all, wait_port, wrk)

# An OTLP/HTTP collector that accepts and discards spans (--tracing), in its own process.
COLLECTOR = """
import sys
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
class H(BaseHTTPRequestHandler):
    def log_message(self, *a): pass
    def do_POST(self):
        self.rfile.read(int(self.headers["Content-Length"]))
        self.send_response(200); self.send_header("Content-Length", "0"); self.end_headers()
ThreadingHTTPServer(("127.0.0.1", int(sys.argv[1])), H).serve_forever()
"""


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--pier", default=DEFAULT_PIER)
    ap.add_argument("--runs", type=int, default=5)
    ap.add_argument("--duration", type=int, default=10)
    ap.add_argument("--connections", type=int, default=50)
    ap.add_argument("--body", type=int, default=64)
    ap.add_argument("--baseline", help="another pier binary to run beside --pier (A/B)")
    ap.add_argument("--access-log", action="store_true",
                    help="also run pier with a JSON access log to a file (pier+log): its cost")
    ap.add_argument("--tracing", action="store_true",
                    help="also run pier exporting spans to an OTLP collector (pier+trace)")
    ap.add_argument("--trace-sample", type=float, default=1.0,
                    help="pier+trace's --trace-sample (the share of requests traced)")
    args = ap.parse_args()
    for tool in ("nginx", "haproxy", "wrk"):
        if shutil.which(tool) is None:
            sys.exit(f"{tool} is not installed: run scripts/install-deps bench")
    tmp = tempfile.mkdtemp(prefix="pier-proxy-bench-")
    os.chmod(tmp, 0o755)
    procs = []
    try:
        ports = [free_port(), free_port()]
        for i, p in enumerate(ports):
            procs.append(start_nginx(tmp, f"nginx{i}", p, args.body))
        backends = [f"127.0.0.1:{p}" for p in ports]
        hport, pport = free_port(), free_port()
        haproxy = start_haproxy(tmp, hport, backends)
        pier = start_pier_proxy(args.pier, pport, backends)
        procs += [haproxy, pier]
        targets = [("direct", f"http://{backends[0]}/", None),
                   ("haproxy", f"http://127.0.0.1:{hport}/", haproxy.pid),
                   ("pier", f"http://127.0.0.1:{pport}/", pier.pid)]
        if args.baseline:
            bport = free_port()
            base = start_pier_proxy(args.baseline, bport, backends)
            procs.append(base)
            targets.append(("base", f"http://127.0.0.1:{bport}/", base.pid))
        if args.access_log:
            lport = free_port()
            logged = start_pier_proxy(args.pier, lport, backends, "--access-log",
                                os.path.join(tmp, "access.log"))
            hlport = free_port()
            hlogged = start_haproxy(tmp, hlport, backends,
                                    log_file=os.path.join(tmp, "haproxy-access.log"))
            procs += [logged, hlogged]
            targets.append(("pier+log", f"http://127.0.0.1:{lport}/", logged.pid))
            targets.append(("haproxy+log", f"http://127.0.0.1:{hlport}/", hlogged.pid))
        if args.tracing:
            cport, tport = free_port(), free_port()
            collector = subprocess.Popen(["/usr/bin/python3", "-c", COLLECTOR, str(cport)])
            wait_port(cport)
            traced = start_pier_proxy(args.pier, tport, backends, "--otlp-endpoint",
                                f"http://127.0.0.1:{cport}", "--trace-sample",
                                str(args.trace_sample))
            procs += [traced, collector]  # pier flushes its spans before the collector stops
            targets.append(("pier+trace", f"http://127.0.0.1:{tport}/", traced.pid))
        for name, url, _ in targets:  # warm up connections and caches
            wrk(url, args.connections, 1)
        results = {name: [] for name, _, _ in targets}
        for run in range(args.runs):
            for name, url, pid in targets:
                before = cpu_seconds(pid) if pid else 0
                r = wrk(url, args.connections, args.duration)
                r["cpu_us"] = (cpu_seconds(pid) - before) * 1e6 / r["total"] if pid else 0
                results[name].append(r)
                print(f"run {run + 1} {name:11} {r['rps']:10.0f} req/s  p50 {r['p50']:7.0f} us  "
                      f"p99 {r['p99']:7.0f} us  cpu/req {r['cpu_us']:5.1f} us", flush=True)
        med = {n: {k: statistics.median(r[k] for r in rs) for k in ("rps", "p50", "p99", "cpu_us")}
               for n, rs in results.items()}
        print(f"\nmedians of {args.runs} interleaved runs, wrk -t1 -c{args.connections} "
              f"-d{args.duration}s, {args.body}-byte responses")
        print(f"{'target':12}{'req/s':>10}{'p50 us':>9}{'p99 us':>9}{'cpu us/req':>12}")
        for n, m in med.items():
            cpu = f"{m['cpu_us']:.1f}" if n != "direct" else "-"
            print(f"{n:12}{m['rps']:10.0f}{m['p50']:9.0f}{m['p99']:9.0f}{cpu:>12}")
        h, p = med["haproxy"], med["pier"]
        print(f"\npier / haproxy: throughput {p['rps'] / h['rps']:.2f}x, "
              f"CPU per request {p['cpu_us'] / h['cpu_us']:.2f}x, "
              f"p99 {p['p99'] / h['p99']:.2f}x")
        if args.access_log:
            ratio = lambda k: statistics.median(  # noqa: E731
                a[k] / b[k] for a, b in zip(results["pier+log"], results["pier"]))
            print(f"pier+log / pier (medians of per-run ratios): throughput {ratio('rps'):.2f}x, "
                  f"CPU per request {ratio('cpu_us'):.2f}x, p99 {ratio('p99'):.2f}x")
            ratio = lambda k: statistics.median(  # noqa: E731
                a[k] / b[k] for a, b in zip(results["haproxy+log"], results["haproxy"]))
            print(f"haproxy+log / haproxy (the reference): throughput {ratio('rps'):.2f}x, "
                  f"CPU per request {ratio('cpu_us'):.2f}x, p99 {ratio('p99'):.2f}x")
        if args.tracing:
            ratio = lambda k: statistics.median(  # noqa: E731
                a[k] / b[k] for a, b in zip(results["pier+trace"], results["pier"]))
            print(f"pier+trace / pier (medians of per-run ratios): throughput "
                  f"{ratio('rps'):.2f}x, CPU per request {ratio('cpu_us'):.2f}x, "
                  f"p99 {ratio('p99'):.2f}x")
        if args.baseline:
            ratio = lambda k: statistics.median(  # noqa: E731
                a[k] / b[k] for a, b in zip(results["pier"], results["base"]))
            print(f"pier / base (medians of per-run ratios): throughput {ratio('rps'):.2f}x, "
                  f"CPU per request {ratio('cpu_us'):.2f}x, p99 {ratio('p99'):.2f}x")
    finally:
        stop_all(procs)
        shutil.rmtree(tmp, ignore_errors=True)


if __name__ == "__main__":
    main()
