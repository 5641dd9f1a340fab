#!/usr/bin/python3
"""pier queue vs Redis Streams vs RabbitMQ, side by side in one run.

  bench/queue/compare.py [--pier build/release/bin/pier] [--bench build/release/bench/queue_bench]
                         [--runs 5] [--messages 100000] [--sizes 16,1024] [--window 64]
                         [--rates 1000] [--latency-messages 3000] [--baseline OTHER_PIER]
                         [--skip-peers]

One producer and one consumer (bench/queue/queue_bench.cc, a C++ client for all three):
- throughput: the producer keeps up to --window messages unconfirmed; the consumer takes and
  acknowledges batches of up to --window. Messages per second from the first publish to the
  last message consumed.
- latency: the producer sends each message at its time slot, at each of --rates per second
  (e.g. 100,1000,10000), open loop with at most --window unconfirmed; the consumer acks without
  waiting for the ack's reply (AMQP acks are asynchronous; the RESP consumers send theirs from a
  second connection). p50/p99 from send to receipt (so a queue that keeps up, not a backlog).
  --latency-messages per rate, at most 3 seconds' worth and at least 300.
- fsyncs per message: fsync + fdatasync calls of the server during a throughput run, counted by
  `perf stat` on its syscall tracepoints (skipped when perf is missing).

Durability, matched: every system confirms a publish only once it is on disk.
- pier `--fsync always` (fdatasync before the reply; concurrent writes share it) and
  `--fsync batch` (group commit: a write waits up to 500 us for company);
- redis-server 7 with `appendonly yes`, `appendfsync always` (fsync before replies) and, for
  reference only, `everysec` (confirms before the disk: not matching);
- RabbitMQ 3.10: durable classic queue, persistent messages, publisher confirms, manual acks.

Runs interleave the systems, medians are printed with ratios. With --baseline (another build of
pier, e.g. the previous commit's) its two servers join the interleaving as base-always and
base-batch, and the ratios include pier/base: a change's A/B against main (--skip-peers leaves
Redis and RabbitMQ out for a quick A/B). Only loopback traffic.
"""
import argparse
import json
import os
import shutil
import signal
import statistics
import subprocess
import sys
import tempfile
import time

sys.path.insert(0, os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
from benchutil import DEFAULT_PIER, ROOT, free_port, wait_port  # noqa: E402


class Server:
    """A server process started by this script, stopped by PID."""

    def pid(self):
        return self.proc.pid

    def stop(self):
        self.proc.terminate()
        self.proc.wait(timeout=30)


class Pier(Server):
    def __init__(self, pier, tmp, fsync, name="pier"):
        self.name = f"{name}-{fsync}"
        self.port = free_port()
        self.http = free_port()
        self.proc = subprocess.Popen(
            [pier, "queue", "--listen", f"127.0.0.1:{self.port}", "--http",
             f"127.0.0.1:{self.http}", "--data-dir", tempfile.mkdtemp(dir=tmp), "--fsync", fsync,
             "--log-level", "warn"], stdout=subprocess.DEVNULL)
        wait_port(self.port)
        self.system = "pier"


class Redis(Server):
    def __init__(self, tmp, fsync):
        self.name = f"redis-{fsync}"
        self.port = free_port()
        d = tempfile.mkdtemp(dir=tmp)
        self.proc = subprocess.Popen(
            ["redis-server", "--port", str(self.port), "--bind", "127.0.0.1", "--dir", d,
             "--save", "", "--appendonly", "yes", "--appendfsync", fsync],
            stdout=subprocess.DEVNULL)
        wait_port(self.port)
        self.system = "redis"


def epmd_running():
    """Whether Erlang's port mapper runs (a zombie left by an earlier one does not count)."""
    for pid in filter(str.isdigit, os.listdir("/proc")):
        try:
            with open(f"/proc/{pid}/stat") as f:
                fields = f.read().split()
        except OSError:
            continue
        if fields[1] == "(epmd)" and fields[2] != "Z":
            return True
    return False


class RabbitMQ(Server):
    """rabbitmq-server in the foreground with its state in a temporary directory."""

    def __init__(self, tmp):
        self.name = "rabbitmq"
        self.port = free_port()
        base = tempfile.mkdtemp(dir=tmp)
        os.chmod(base, 0o755)
        for sub in ("mnesia", "log"):
            os.makedirs(os.path.join(base, sub))
        with open(os.path.join(base, "plugins"), "w") as f:
            f.write("[].\n")
        shutil.chown(base, "rabbitmq", "rabbitmq")
        for root, dirs, files in os.walk(base):
            for n in dirs + files:
                shutil.chown(os.path.join(root, n), "rabbitmq", "rabbitmq")
        self.node = f"pierbench{self.port}@localhost"
        env = dict(os.environ, RABBITMQ_NODE_PORT=str(self.port), RABBITMQ_NODENAME=self.node,
                   RABBITMQ_DIST_PORT=str(free_port()),
                   RABBITMQ_MNESIA_BASE=os.path.join(base, "mnesia"),
                   RABBITMQ_LOG_BASE=os.path.join(base, "log"),
                   RABBITMQ_ENABLED_PLUGINS_FILE=os.path.join(base, "plugins"),
                   RABBITMQ_FEATURE_FLAGS_FILE=os.path.join(base, "feature_flags"), HOME=base)
        self.epmd_before = epmd_running()
        self.proc = subprocess.Popen(["rabbitmq-server"], env=env, stdout=subprocess.DEVNULL,
                                     stderr=subprocess.DEVNULL, start_new_session=True)
        wait_port(self.port, timeout=120)
        self.system = "rabbitmq"

    def pid(self):
        """The broker (beam.smp) process: the one whose environment has this node's port."""
        want = f"RABBITMQ_NODE_PORT={self.port}".encode()
        for pid in filter(str.isdigit, os.listdir("/proc")):
            try:
                with open(f"/proc/{pid}/cmdline", "rb") as f:
                    if b"beam.smp" not in f.read():
                        continue
                with open(f"/proc/{pid}/environ", "rb") as f:
                    if want in f.read().split(b"\0"):
                        return int(pid)
            except OSError:
                continue
        raise ProcessLookupError(f"no broker process for {self.node}")

    def stop(self):
        # rabbitmq-server runs the broker under `su` in a session of its own: stop it by PID.
        try:
            pid = self.pid()
            os.kill(pid, signal.SIGTERM)
            for _ in range(600):
                if not os.path.exists(f"/proc/{pid}"):
                    break
                time.sleep(0.1)  # waiting for the broker process to exit
            else:
                os.kill(pid, signal.SIGKILL)
        except ProcessLookupError:
            pass
        try:
            os.killpg(self.proc.pid, signal.SIGTERM)
        except ProcessLookupError:
            pass
        self.proc.wait(timeout=60)
        if not self.epmd_before:
            subprocess.run(["pkill", "-KILL", "-x", "epmd"])  # it ignores SIGTERM


def bench(args, server, size, extra):
    out = subprocess.run([args.bench, "--system", server.system, "--port", str(server.port),
                          "--size", str(size), "--window", str(args.window), *extra],
                         capture_output=True, text=True, timeout=600)
    if out.returncode != 0:
        raise RuntimeError(f"{server.name}: {out.stderr.strip()}")
    return json.loads(out.stdout)


def count_fsyncs(args, server, size):
    """fsync + fdatasync calls per message during one throughput run (perf stat)."""
    if shutil.which("perf") is None:
        return None
    perf = subprocess.Popen(["perf", "stat", "-x", ",", "-e",
                             "syscalls:sys_enter_fsync,syscalls:sys_enter_fdatasync",
                             "-p", str(server.pid())],
                            stderr=subprocess.PIPE, text=True)
    time.sleep(0.5)  # perf attaches
    r = bench(args, server, size, ["--messages", str(args.messages)])
    perf.send_signal(signal.SIGINT)
    _, err = perf.communicate(timeout=30)
    calls = 0
    for line in err.splitlines():
        fields = line.split(",")
        if len(fields) > 2 and fields[2].startswith("syscalls:") and fields[0].isdigit():
            calls += int(fields[0])
    return calls / r["messages"]


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--pier", default=DEFAULT_PIER)
    ap.add_argument("--bench", default=os.path.join(ROOT, "build", "release", "bench", "queue_bench"))
    ap.add_argument("--runs", type=int, default=5)
    ap.add_argument("--messages", type=int, default=100000)
    ap.add_argument("--sizes", default="16,1024")
    ap.add_argument("--window", type=int, default=64)
    ap.add_argument("--rates", default="1000", help="comma-separated messages/s for latency")
    ap.add_argument("--latency-messages", type=int, default=3000)
    ap.add_argument("--baseline", help="another pier binary to run beside --pier (A/B)")
    ap.add_argument("--skip-peers", action="store_true", help="no Redis, no RabbitMQ")
    args = ap.parse_args()
    for tool in (args.pier, args.bench):
        if not os.path.exists(tool):
            sys.exit(f"{tool} is missing: cmake --build --preset release")
    for tool in () if args.skip_peers else ("redis-server", "rabbitmq-server"):
        if shutil.which(tool) is None:
            sys.exit(f"{tool} is missing: scripts/install-deps bench")
    tmp = tempfile.mkdtemp(prefix="pier-queue-bench-")
    os.chmod(tmp, 0o755)  # RabbitMQ runs as the rabbitmq user
    servers = []
    try:
        starts = [lambda: Pier(args.pier, tmp, "always"), lambda: Pier(args.pier, tmp, "batch")]
        if args.baseline:
            starts += [lambda: Pier(args.baseline, tmp, "always", "base"),
                       lambda: Pier(args.baseline, tmp, "batch", "base")]
        if not args.skip_peers:
            starts += [lambda: Redis(tmp, "always"), lambda: Redis(tmp, "everysec"),
                       lambda: RabbitMQ(tmp)]
        for start in starts:
            servers.append(start())
        rates = [float(r) for r in args.rates.split(",")]
        results = {}  # (name, size) -> [throughput], (name, size, rate) -> [(p50, p99)]
        for size in [int(s) for s in args.sizes.split(",")]:
            for run in range(args.runs):
                order = servers if run % 2 == 0 else list(reversed(servers))
                for s in order:
                    t = bench(args, s, size, ["--messages", str(args.messages)])
                    results.setdefault((s.name, size), []).append(t["msgs_per_s"])
                    line = f"  size {size} run {run + 1} {s.name:15} {t['msgs_per_s']:>9.0f} msg/s"
                    for rate in rates:
                        n = max(300, min(args.latency_messages, int(rate * 3)))
                        l = bench(args, s, size, ["--messages", str(n), "--rate", str(rate)])
                        results.setdefault((s.name, size, rate), []).append(
                            (l["p50_us"], l["p99_us"]))
                        line += f"  @{rate:.0f}: p50 {l['p50_us']:>5.0f} p99 {l['p99_us']:>6.0f} us"
                    print(line, file=sys.stderr)
            for s in servers:
                results[(s.name, size, "fsync")] = count_fsyncs(args, s, size)
        print(f"\nmedians of {args.runs} interleaved runs, {args.messages} messages, window "
              f"{args.window}; latency p50/p99 in us at each rate (msg/s)")
        print(f"{'system':15} {'size':>5} {'msg/s':>9} {'fsync/msg':>9}"
              + "".join(f" {'@' + format(r, '.0f'):>15}" for r in rates))
        thr, lat = {}, {}
        names = [s.name for s in servers]
        sizes = sorted({k[1] for k in results})
        for size in sizes:
            for name in sorted(names):
                thr[(name, size)] = statistics.median(results[(name, size)])
                f = results.get((name, size, "fsync"))
                line = f"{name:15} {size:>5} {thr[(name, size)]:>9.0f} " + \
                    (f"{f:>9.3f}" if f is not None else f"{'-':>9}")
                for rate in rates:
                    rs = results[(name, size, rate)]
                    lat[(name, size, rate)] = tuple(statistics.median(x[i] for x in rs)
                                                    for i in range(2))
                    p50, p99 = lat[(name, size, rate)]
                    line += f" {f'{p50:.0f} / {p99:.0f}':>15}"
                print(line)
        print()
        for size in sizes:
            for a, b in (("pier-always", "redis-always"), ("pier-batch", "redis-always"),
                         ("pier-always", "rabbitmq"), ("pier-batch", "rabbitmq"),
                         ("pier-always", "base-always"), ("pier-batch", "base-batch")):
                if (b, size) not in thr:
                    continue
                line = f"size {size:>5}: {a} / {b}: throughput {thr[(a, size)] / thr[(b, size)]:.2f}x"
                for rate in rates:
                    pa, pb = lat[(a, size, rate)], lat[(b, size, rate)]
                    line += f"; @{rate:.0f} p50 {pa[0] / pb[0]:.2f}x p99 {pa[1] / pb[1]:.2f}x"
                print(line)
    finally:
        for s in servers:
            s.stop()
        shutil.rmtree(tmp, ignore_errors=True)


if __name__ == "__main__":
    main()
