#!/usr/bin/python3
"""Latency under load: p99 against offered rate, pier beside its peer, open loop.

  bench/load/curve.py [--pier build/release/bin/pier] [--runs 5] [--duration 5]
                      [--only cache|proxy] [--cache-rates 10000,50000,...]
                      [--proxy-rates 2000,5000,...] [--connections 50]
                      [--svg docs/latency-curve.svg] [--baseline OTHER_PIER]

Drives each server with bench/load's `loadgen` (built as build/release/bench/loadgen): requests
due at a fixed rate over --connections connections, sent at their time whatever the replies
do, so a server that falls behind shows it as latency (no coordinated omission). Latency is
from a request's due time to its reply's last byte.
- cache: GET of a 16-byte value from `pier cache` (its default threads) and redis-server;
- proxy: GET of a 64-byte file through `pier proxy --threads 1` and HAProxy (one thread,
  http-reuse always), each in front of the same two nginx backends (as bench/proxy/compare.py).
Every (rate, server) pair runs --runs times, interleaved (rate by rate, pier and peer in turn);
the table gives the medians of p50 and p99 and the replies' rate. A point where replies were
still missing after the drain is marked saturated (`sat`; the chart draws it at its top).
With --svg the chart is written to that file (both panels, log-scale p99). With --baseline
(another build of pier, e.g. the previous commit's) it runs as `base` in the same interleaving:
a change's A/B, in the table and the chart. Only loopback
traffic. Needs scripts/install-deps bench (redis-server, python3-redis, nginx, haproxy).
"""
import argparse
import json
import math
import os
import shutil
import statistics
import subprocess
import sys
import tempfile

BENCH = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
sys.path[:0] = [BENCH, os.path.join(BENCH, "cache")]
from benchutil import (DEFAULT_PIER, ROOT, free_port, start_haproxy,  # noqa: E402
                       start_nginx, start_pier_proxy, stop_all)
from compare import start_pier, start_redis  # noqa: E402 (bench/cache/compare.py)

LOADGEN = os.path.join(ROOT, "build", "release", "bench", "loadgen")


def loadgen(port, proto, rate, duration, connections):
    args = [LOADGEN, "--port", str(port), "--proto", proto, "--rate", str(rate), "--duration",
            str(duration), "--connections", str(connections)]
    out = subprocess.run(args, capture_output=True, text=True, check=True).stdout
    return json.loads(out)


def cache_targets(piers, tmp, procs):
    """redis-server, then each (name, binary) of `piers` as `pier cache` (default threads)."""
    servers = [("redis-server", start_redis())]
    servers += [(name, start_pier(binary, 0)) for name, binary in piers]
    targets = []
    for name, (proc, port, client) in servers:
        procs.append(proc)
        client.set("key", "v" * 16)
        targets.append((name, port))
    return targets


def proxy_targets(piers, tmp, procs):
    """Two nginx backends; HAProxy, then each (name, binary) of `piers` as `pier proxy`."""
    ports = [free_port(), free_port()]
    for i, p in enumerate(ports):
        procs.append(start_nginx(tmp, f"nginx{i}", p, 64))
    backends = [f"127.0.0.1:{p}" for p in ports]
    targets = [("haproxy", free_port())]
    procs.append(start_haproxy(tmp, targets[0][1], backends))
    for name, binary in piers:
        targets.append((name, free_port()))
        procs.append(start_pier_proxy(binary, targets[-1][1], backends))
    return targets


def measure(name, targets, proto, rates, args):
    """{server: {rate: {p50, p99, rate, saturated}}}: medians over the interleaved runs."""
    for _, port in targets:  # warm-up
        loadgen(port, proto, rates[0], 1, args.connections)
    runs = {server: {rate: [] for rate in rates} for server, _ in targets}
    for run in range(args.runs):
        for rate in rates:
            for server, port in targets:
                r = loadgen(port, proto, rate, args.duration, args.connections)
                runs[server][rate].append(r)
                print(f"{name} run {run + 1} {server:12} offered {rate:7} replies/s "
                      f"{r['rate']:8.0f} p50 {r['p50']:8.0f} us p99 {r['p99']:8.0f} us "
                      f"missing {r['missing']}", flush=True)
    med = {}
    for server, by_rate in runs.items():
        med[server] = {}
        for rate, rs in by_rate.items():
            med[server][rate] = {k: statistics.median(r[k] for r in rs)
                                 for k in ("p50", "p99", "rate")}
            med[server][rate]["saturated"] = statistics.median(r["missing"] for r in rs) > 0
    return med


def print_table(name, med, rates):
    servers = list(med)
    peer = servers[0]
    print(f"\n{name}: medians of the runs (us); sat = replies still missing after the drain")
    head = "".join(f"{s + ' replies/s':>24}{s + ' p50':>18}{s + ' p99':>18}" for s in servers)
    print(f"{'offered/s':>10}{head}{'p99 pier/' + peer:>24}")
    for rate in rates:
        cells = ""
        for s in servers:
            m = med[s][rate]
            cells += (f"{m['rate']:24.0f}{m['p50']:18.0f}" +
                      (f"{'sat':>18}" if m["saturated"] else f"{m['p99']:18.0f}"))
        a, b = med["pier"][rate], med[peer][rate]
        ratio = "-" if a["saturated"] or b["saturated"] else f"{a['p99'] / b['p99']:.2f}x"
        print(f"{rate:10}{cells}{ratio:>24}")
    if "base" in med:
        ratios = [med["pier"][r]["p99"] / med["base"][r]["p99"] for r in rates]
        print("p99 pier/base: " + ", ".join(f"{r}: {x:.2f}x" for r, x in zip(rates, ratios)))


COLORS = {"pier": "#1f6fb4", "redis-server": "#c8352b", "haproxy": "#c8352b", "base": "#888888"}


def svg_panel(x0, title, med, rates, lo, hi):
    """One chart at x offset x0: log-scale p99 (lo..hi us) against offered rate."""
    w, h, left, top, bottom = 420, 300, 60, 30, 50
    pw, ph = w - left - 20, h - top - bottom
    xmax = max(rates)
    lx = lambda r: x0 + left + pw * r / xmax  # noqa: E731
    ly = lambda us: top + ph * (1 - (math.log10(us) - math.log10(lo)) /  # noqa: E731
                                (math.log10(hi) - math.log10(lo)))
    out = [f'<text x="{x0 + left + pw / 2}" y="18" text-anchor="middle" '
           f'font-weight="bold">{title}</text>',
           f'<rect x="{x0 + left}" y="{top}" width="{pw}" height="{ph}" fill="none" '
           f'stroke="#888"/>']
    decade = lo
    while decade <= hi:
        y = ly(decade)
        label = f"{decade / 1000:g} ms" if decade >= 1000 else f"{decade:g} us"
        out.append(f'<line x1="{x0 + left}" y1="{y:.1f}" x2="{x0 + left + pw}" y2="{y:.1f}" '
                   f'stroke="#ddd"/><text x="{x0 + left - 5}" y="{y + 4:.1f}" '
                   f'text-anchor="end">{label}</text>')
        decade *= 10
    for r in rates:
        out.append(f'<text x="{lx(r):.1f}" y="{top + ph + 16}" text-anchor="middle">'
                   f'{r / 1000:g}k</text>')
    out.append(f'<text x="{x0 + left + pw / 2}" y="{h - 8}" text-anchor="middle">'
               f'offered requests/s</text>')
    for i, (server, by_rate) in enumerate(med.items()):
        points = []
        for r in rates:
            m = by_rate[r]
            us = hi if m["saturated"] else min(max(m["p99"], lo), hi)
            points.append(f"{lx(r):.1f},{ly(us):.1f}")
        color = COLORS.get(server, "#444")
        out.append(f'<polyline points="{" ".join(points)}" fill="none" stroke="{color}" '
                   f'stroke-width="2"/>')
        out += [f'<circle cx="{p.split(",")[0]}" cy="{p.split(",")[1]}" r="3" fill="{color}"/>'
                for p in points]
        out.append(f'<text x="{x0 + left + 10}" y="{top + 16 + 16 * i}" fill="{color}">'
                   f'{server} p99</text>')
    return out


def write_svg(path, panels, args):
    body = []
    for i, (title, med, rates) in enumerate(panels):
        values = [m["p99"] for by_rate in med.values() for m in by_rate.values()]
        lo = 10 ** math.floor(math.log10(max(min(values), 1)))
        hi = 10 ** math.ceil(math.log10(max(values)))
        body += svg_panel(i * 430, title, med, rates, lo, hi)
    width = 430 * len(panels)
    with open(path, "w") as f:
        f.write(f'<svg xmlns="http://www.w3.org/2000/svg" width="{width}" height="320" '
                f'font-family="sans-serif" font-size="11">\n'
                f'<rect width="100%" height="100%" fill="white"/>\n')
        f.write("\n".join(body))
        f.write(f'\n<text x="10" y="314" fill="#666">open loop, {args.connections} connections, '
                f'medians of {args.runs} interleaved runs of {args.duration} s '
                f'(bench/load/curve.py)</text>\n</svg>\n')


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--pier", default=DEFAULT_PIER)
    ap.add_argument("--runs", type=int, default=5)
    ap.add_argument("--duration", type=float, default=5)
    ap.add_argument("--connections", type=int, default=50)
    ap.add_argument("--only", choices=("cache", "proxy"))
    ap.add_argument("--cache-rates", default="10000,25000,50000,100000,150000,200000")
    ap.add_argument("--proxy-rates", default="2000,5000,10000,15000,20000,25000,30000")
    ap.add_argument("--svg", help="write the chart to this file")
    ap.add_argument("--baseline", help="another pier binary to run beside --pier (A/B), as base")
    args = ap.parse_args()
    for tool in ("redis-server", "nginx", "haproxy"):
        if shutil.which(tool) is None:
            sys.exit(f"{tool} is not installed: run scripts/install-deps bench")
    if not os.access(LOADGEN, os.X_OK):
        sys.exit(f"{LOADGEN} is not built: cmake --build --preset release --target loadgen")
    tmp = tempfile.mkdtemp(prefix="pier-curve-")
    os.chmod(tmp, 0o755)
    procs, panels = [], []
    try:
        for name, make, proto, rates in (
                ("cache", cache_targets, "resp", args.cache_rates),
                ("proxy", proxy_targets, "http", args.proxy_rates)):
            if args.only and args.only != name:
                continue
            rates = [int(r) for r in rates.split(",")]
            piers = [("pier", args.pier)] + ([("base", args.baseline)] if args.baseline else [])
            med = measure(name, make(piers, tmp, procs), proto, rates, args)
            print_table(name, med, rates)
            title = ("cache: GET, pier vs redis-server" if name == "cache"
                     else "proxy: GET via 2 nginx, pier vs HAProxy")
            panels.append((title, med, rates))
        if args.svg:
            write_svg(args.svg, panels, args)
            print(f"\nchart: {args.svg}")
    finally:
        stop_all(procs)
        shutil.rmtree(tmp, ignore_errors=True)


if __name__ == "__main__":
    main()
