#!/usr/bin/python3
"""pier cache vs redis-server, side by side in one run.

  bench/cache/compare.py [--pier build/release/bin/pier] [--runs 5] [--requests 200000]
                         [--skip-memory] [--skip-hits] [--skip-overflow] [--skip-server-bound]
                         [--skip-collections] [--elements 1000000] [--small-collections 100000]
                         [--pier-threads N] [--baseline OTHER_PIER] [--skip-transactions]
                         [--skip-scripts-pubsub]

1. Throughput and latency: redis-benchmark -t set,get,incr,mset -n N -c C (--clients, default
   50; e.g. --clients 50,5000) at -P 1 and -P 16
   against both servers, interleaved (redis, pier, redis, pier, ...), `--runs` times each; prints
   the medians and the median ratio pier/redis for requests/s, p50 and p99. (redis-benchmark has
   no MGET test; MSET, 10 keys per command, is its multi-key test.) The same for lists, sets and
   sorted sets: -t lpush,rpush,lpop,rpop,sadd,spop,zadd,zpopmin,lrange_100,lrange_600.
2. Memory: bytes per key for 1M keys with 16-byte values (INFO used_memory and RSS growth); then
   used_memory per element of 1M-element lists, sets (strings, integers) and sorted sets, and of
   100k lists, sets, sorted sets and hashes of 10 elements.
3. Hit ratio: the same Zipf(1.0) cache-aside trace (GET, SET on miss) against redis-server
   allkeys-lru and pier with each policy at the same maxmemory; hits from INFO stats.
4. Overflow: writing 4x maxmemory of 1 KB values under allkeys-lru; RSS and used_memory after.
   With --baseline (another build of pier, e.g. the previous commit's), that binary runs in the
   same interleaving and the table adds pier/baseline ratios: a change's A/B against main.
5. Server-bound: EXISTS of 200 keys per command, -P 4, where the server needs much more CPU than
   the client, so a second pier I/O thread has a core to use (the elastic pool grows to it).
6. Transactions: MULTI; SET; GET; EXISTS; EXEC from 4 clients, 50 transactions per write
   (txload.py: redis-benchmark has no transaction test); transactions/s and the ratio.
7. Scripts and pub/sub: EVALSHA of a 3-command script; PUBLISH (-P 16) to 1, 10 and 100
   subscribers, as messages delivered per second; and PUBLISH's p99 time from send to arrival
   with 1, 10 and 100 subscribers (one publisher, one message in flight).
RQ and Celery jobs per second are bench/cache/jobs.py's.

Uses Debian's redis-server, redis-benchmark and python3-redis. Only loopback traffic.
"""
import argparse
import csv
import io
import os
import random
import resource
import statistics
import subprocess
import sys
import time

import redis

sys.path.insert(0, os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
from benchutil import ROOT, free_port  # noqa: E402
from txload import multi_exec_rate  # noqa: E402


def wait_ready(port):
    r = redis.Redis(port=port)
    for _ in range(400):
        try:
            r.ping()
            return r
        except redis.ConnectionError:
            time.sleep(0.025)  # waiting for the server process to listen
    raise RuntimeError(f"server on {port} did not start")


def start_redis(extra=()):
    port = free_port()
    p = subprocess.Popen(["redis-server", "--port", str(port), "--bind", "127.0.0.1", "--save", "",
                          "--appendonly", "no", *extra],
                         stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    return p, port, wait_ready(port)


def start_pier(binary, threads, extra=()):
    args = [binary, "cache", "--listen", "127.0.0.1:0", "--http", "127.0.0.1:0", "--log-level", "warn"]
    if threads:
        args += ["--threads", str(threads)]
    p = subprocess.Popen(args + list(extra), stdout=subprocess.PIPE, stderr=subprocess.DEVNULL, text=True)
    line = p.stdout.readline()
    port = int(line.split("resp=")[1].split()[0].rsplit(":", 1)[1])
    return p, port, wait_ready(port)


def stop(p):
    p.terminate()
    try:
        p.wait(timeout=20)
    except subprocess.TimeoutExpired:
        p.kill()


def raise_fd_limit():
    """Many clients need many descriptors (the servers started here inherit the limit)."""
    soft, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
    if soft < hard:
        resource.setrlimit(resource.RLIMIT_NOFILE, (hard, hard))


def benchmark(port, pipeline, n, command=("-t", "set,get,incr,mset"), clients=50):
    out = subprocess.run(["redis-benchmark", "-p", str(port), "-n", str(n), "-c", str(clients),
                          "-P", str(pipeline), "--csv", *command],
                         capture_output=True, text=True, check=True).stdout
    rows = {}
    for row in csv.DictReader(io.StringIO(out)):
        name = row["test"].split(" ")[0]
        rows[name] = (float(row["rps"]), float(row["p50_latency_ms"]), float(row["p99_latency_ms"]))
    return rows


STRING_TESTS = "set,get,incr,mset"
COLLECTION_TESTS = "lpush,rpush,lpop,rpop,sadd,spop,zadd,zpopmin,lrange_100,lrange_600"


def throughput(args, tests=STRING_TESTS):
    clients = [int(c) for c in args.clients.split(",")]
    print(f"== throughput: redis-benchmark -t {tests} -n {args.requests} -c {args.clients}, "
          f"{args.runs} interleaved runs, medians")
    rp, rport, _ = start_redis()
    # pier with its default I/O threads (one per core) and with one thread: on a small machine
    # that also runs the load generator, the second thread competes with redis-benchmark.
    piers = [("pier", *start_pier(args.pier, args.pier_threads)[:2])]
    if args.pier_threads != 1:
        piers.append(("pier-1t", *start_pier(args.pier, 1)[:2]))
    if args.baseline:
        piers += [("base" + n[4:], *start_pier(args.baseline, 1 if n.endswith("1t") else
                                               args.pier_threads)[:2]) for n, _, _ in piers]
    try:
        results = {}
        for c in clients:
            for pipeline in (1, 16):
                for run in range(args.runs):
                    for name, port in [("redis", rport)] + [(n, port) for n, _, port in piers]:
                        for test, v in benchmark(port, pipeline, args.requests, ("-t", tests),
                                                 c).items():
                            results.setdefault((c, pipeline, test, name), []).append(v)
        print(f"{'server':<9}{'test':<6}{'C':>5}{'P':>3}{'rps':>11}{'ratio':>7}{'p50 ms':>8}{'p99 ms':>8}{'p99 ratio':>10}")
        med = lambda xs, i: statistics.median(x[i] for x in xs)
        names = [t.upper() for t in tests.split(",")]
        for c in clients:
            for pipeline in (1, 16):
                for test in names:
                    red = results.get((c, pipeline, test, "redis"))
                    if not red:
                        continue
                    print(f"{'redis':<9}{test:<6}{c:>5}{pipeline:>3}{med(red, 0):>11.0f}{'':>7}"
                          f"{med(red, 1):>8.3f}{med(red, 2):>8.3f}")
                    for name, _, _ in piers:
                        pie = results[(c, pipeline, test, name)]
                        # Medians of per-run ratios, so one noisy run cannot dominate.
                        ratio = statistics.median(p[0] / r[0] for r, p in zip(red, pie))
                        p99_ratio = statistics.median(p[2] / r[2] for r, p in zip(red, pie))
                        print(f"{name:<9}{test:<6}{c:>5}{pipeline:>3}{med(pie, 0):>11.0f}"
                              f"{ratio:>7.2f}{med(pie, 1):>8.3f}{med(pie, 2):>8.3f}{p99_ratio:>10.2f}")
        if args.baseline:
            print("== pier/baseline (medians of per-run ratios; above 1 is faster for rps)")
            print(f"{'server':<9}{'test':<6}{'C':>5}{'P':>3}{'rps':>8}{'p50':>8}{'p99':>8}")
            for c in clients:
                for pipeline in (1, 16):
                    for test in names:
                        for name, _, _ in piers:
                            if not name.startswith("pier") or (c, pipeline, test, name) not in results:
                                continue
                            new = results[(c, pipeline, test, name)]
                            old = results[(c, pipeline, test, "base" + name[4:])]
                            r = [statistics.median(n[i] / o[i] for n, o in zip(new, old))
                                 for i in range(3)]
                            print(f"{name:<9}{test:<6}{c:>5}{pipeline:>3}{r[0]:>8.2f}{r[1]:>8.2f}"
                                  f"{r[2]:>8.2f}")
    finally:
        stop(rp)
        for _, p, _ in piers:
            stop(p)


def fill(r, n, value, prefix="key:"):
    p = r.pipeline(transaction=False)
    for i in range(n):
        p.set(f"{prefix}{i:012d}", value)
        if i % 2000 == 1999:
            p.execute()
    p.execute()


def rss_of(pid):
    with open(f"/proc/{pid}/statm") as f:
        return int(f.read().split()[1]) * os.sysconf("SC_PAGE_SIZE")


def memory(args):
    n = args.keys
    print(f"== memory: {n} keys of 16 bytes ('key:000000000001' style keys)")
    for name in ("redis", "pier"):
        p, port, r = start_redis() if name == "redis" else start_pier(args.pier, args.pier_threads)
        try:
            used0, rss0 = r.info("memory")["used_memory"], rss_of(p.pid)
            fill(r, n, b"v" * 16)
            used1, rss1 = r.info("memory")["used_memory"], rss_of(p.pid)
            print(f"{name:<6} used_memory {(used1 - used0) / n:6.1f} B/key   RSS {(rss1 - rss0) / n:6.1f} B/key")
        finally:
            stop(p)


def collection_memory(args):
    """used_memory per element: 1M-element collections, and 100k small ones of 10 elements."""
    n = args.elements
    small = args.small_collections
    cases = [
        (f"list of {n} strings", lambda p, i: p.rpush("big", *[f"element:{j:08d}" for j in i])),
        (f"set of {n} strings", lambda p, i: p.sadd("big", *[f"element:{j:08d}" for j in i])),
        (f"set of {n} integers", lambda p, i: p.sadd("big", *i)),
        (f"zset of {n} members", lambda p, i: p.zadd("big", {f"element:{j:08d}": j for j in i})),
    ]
    print(f"== collection memory: used_memory growth per element ({n} elements; {small} "
          "collections of 10)")
    results = {}
    for name in ("redis", "pier"):
        for label, add in cases:
            p, port, r = start_redis() if name == "redis" else start_pier(args.pier, args.pier_threads)
            try:
                used0 = r.info("memory")["used_memory"]
                pipe = r.pipeline(transaction=False)
                for start in range(0, n, 1000):
                    add(pipe, range(start, min(n, start + 1000)))
                    if start % 50000 == 0:
                        pipe.execute()
                pipe.execute()
                results[(name, label)] = (r.info("memory")["used_memory"] - used0) / n
            finally:
                stop(p)
        for kind in ("list", "set", "zset", "hash"):
            p, port, r = start_redis() if name == "redis" else start_pier(args.pier, args.pier_threads)
            try:
                used0 = r.info("memory")["used_memory"]
                pipe = r.pipeline(transaction=False)
                for c in range(small):
                    key = f"small:{c:08d}"
                    members = [f"m{j}" for j in range(10)]
                    if kind == "list":
                        pipe.rpush(key, *members)
                    elif kind == "set":
                        pipe.sadd(key, *members)
                    elif kind == "zset":
                        pipe.zadd(key, {m: j for j, m in enumerate(members)})
                    else:
                        pipe.hset(key, mapping={m: "v" for m in members})
                    if c % 2000 == 1999:
                        pipe.execute()
                pipe.execute()
                results[(name, f"{small} {kind}s of 10")] = \
                    (r.info("memory")["used_memory"] - used0) / (10 * small)
            finally:
                stop(p)
    labels = [label for label, _ in cases] + [f"{small} {k}s of 10" for k in ("list", "set", "zset", "hash")]
    print(f"{'case':<28}{'redis B/elem':>14}{'pier B/elem':>13}{'pier/redis':>12}")
    for label in labels:
        red, pie = results[("redis", label)], results[("pier", label)]
        print(f"{label:<28}{red:>14.1f}{pie:>13.1f}{pie / red:>12.2f}")


def hits(args):
    n_objects, n_requests = args.hit_objects, args.hit_requests
    rng = random.Random(1)
    weights = [1 / (i + 1) for i in range(n_objects)]
    keys = rng.choices(range(n_objects), weights=weights, k=n_requests)
    maxmemory = args.hit_maxmemory
    value = b"x" * 100
    print(f"== hit ratio: Zipf(1.0) over {n_objects} objects, {n_requests} cache-aside requests, "
          f"100-byte values, maxmemory {maxmemory}")

    def replay(r):
        for start in range(0, len(keys), 200):
            batch = keys[start:start + 200]
            p = r.pipeline(transaction=False)
            for k in batch:
                p.get(f"obj:{k}")
            got = p.execute()
            p = r.pipeline(transaction=False)
            for k, v in zip(batch, got):
                if v is None:
                    p.set(f"obj:{k}", value)
            p.execute()
        s = r.info("stats")
        return s["keyspace_hits"] / (s["keyspace_hits"] + s["keyspace_misses"])

    cases = [("redis-server allkeys-lru", None, "allkeys-lru")]
    for pol in ("allkeys-lru", "allkeys-lfu", "allkeys-fifo", "allkeys-random", "allkeys-sieve",
                "allkeys-s3fifo", "allkeys-wtinylfu"):
        cases.append((f"pier {pol}", "pier", pol))
    for label, kind, policy in cases:
        extra = ["--maxmemory", maxmemory, "--maxmemory-policy", policy]
        p, port, r = start_pier(args.pier, args.pier_threads, extra) if kind else start_redis(extra)
        try:
            print(f"{label:<28} hit ratio {replay(r):.4f}")
        finally:
            stop(p)


def overflow(args):
    limit_mb = 64
    n = 4 * limit_mb * 1024  # 1 KB values: 4x the limit
    print(f"== overflow: {n} SETs of 1 KB values with maxmemory {limit_mb}mb allkeys-lru")
    for name in ("redis", "pier"):
        extra = ["--maxmemory", f"{limit_mb}mb", "--maxmemory-policy", "allkeys-lru"]
        p, port, r = start_redis(extra) if name == "redis" else start_pier(args.pier, args.pier_threads, extra)
        try:
            fill(r, n, b"x" * 1024, prefix="ov:")
            info = r.info("memory")
            rss = rss_of(p.pid)
            print(f"{name:<6} RSS {rss / 2**20:7.1f} MB ({rss / (limit_mb * 2**20):.2f}x maxmemory)   "
                  f"used_memory {info['used_memory'] / 2**20:6.1f} MB   keys {r.dbsize()}")
        finally:
            stop(p)


def rates_side_by_side(args, measure, unit):
    """measure(port) -> a rate, on redis-server, pier and pier --threads 1, interleaved
    `--runs` times; prints medians and the median per-run ratio to redis-server."""
    servers = [("redis", *start_redis()[:2]), ("pier", *start_pier(args.pier, args.pier_threads)[:2]),
               ("pier-1t", *start_pier(args.pier, 1)[:2])]
    try:
        rate = {}
        for _ in range(args.runs):
            for name, _, port in servers:
                rate.setdefault(name, []).append(measure(port))
        for name, _, _ in servers:
            ratio = statistics.median(p / r for r, p in zip(rate["redis"], rate[name]))
            print(f"{name:<9}{statistics.median(rate[name]):>11.0f} {unit}{ratio:>7.2f}")
    finally:
        for _, p, _ in servers:
            stop(p)


def server_bound(args):
    command = ["EXISTS"] + [f"key:{i}" for i in range(200)]
    n = args.requests // 2
    print(f"== server-bound: redis-benchmark -n {n} -c 50 -P 4 EXISTS <200 keys>, "
          f"{args.runs} interleaved runs, medians")
    rates_side_by_side(args, lambda port: next(iter(benchmark(port, 4, n, command).values()))[0],
                       "commands/s")


def transactions(args):
    print(f"== transactions: MULTI; SET; GET; EXISTS; EXEC, 4 clients, 50 per batch, "
          f"{args.runs} interleaved runs, medians")
    rates_side_by_side(args, lambda port: multi_exec_rate(port, transactions=args.requests // 2),
                       "transactions/s")


def scripts_and_pubsub(args):
    """EVALSHA of a 3-command script, and PUBLISH to 1, 10 and 100 subscribers (messages
    delivered per second, until the last one arrived; the subscribers drain their sockets in a
    thread of this process, which counts what arrived)."""
    n = args.requests // 2
    body = ("redis.call('incr', KEYS[1]) redis.call('set', KEYS[2], ARGV[1]) "
            "return redis.call('get', KEYS[2])")

    def evalsha(port):
        sha = redis.Redis(port=port).script_load(body)
        cmd = ["EVALSHA", sha, "2", "cnt", "val", "x"]
        return next(iter(benchmark(port, 1, n, cmd).values()))[0]

    print(f"== EVALSHA of a 3-command script: redis-benchmark -n {n} -c 50, {args.runs} runs")
    rates_side_by_side(args, evalsha, "scripts/s")
    for subscribers in (1, 10, 100):
        def publish(port, subscribers=subscribers):
            # From the first publish until every subscriber has every message: a server that
            # answers PUBLISH before it delivers is not credited with undelivered messages.
            with Subscribers(port, "bench", subscribers) as subs:
                start = time.perf_counter()
                benchmark(port, 16, n, ["PUBLISH", "bench", "x" * 16])
                subs.wait_for(n)
                return n * subscribers / (time.perf_counter() - start)
        print(f"== PUBLISH to {subscribers} subscribers, -P 16, {args.runs} runs: delivered/s")
        rates_side_by_side(args, publish, "messages/s")
    for subscribers in (1, 10, 100):
        print(f"== PUBLISH end to end to {subscribers} subscribers: p99 microseconds from send to "
              f"arrival, one publisher, one message in flight, {args.runs} runs (lower is better; "
              f"the ratio is pier's latency over redis-server's)")
        rates_side_by_side(args, lambda port, s=subscribers: publish_p99_us(port, s), "us p99  ")


def publish_p99_us(port, subscribers, messages=2000):
    """Each message carries its send time (perf_counter_ns); the subscribers' drain thread
    takes the arrival time of every copy."""
    r = redis.Redis(port=port)
    with Subscribers(port, "lat", subscribers, payload=20) as subs:
        for _ in range(messages):
            r.publish("lat", f"{time.perf_counter_ns():020d}")
        subs.wait_for(messages)
        lat = sorted(subs.latencies_ns)
    return lat[int(len(lat) * 0.99)] / 1000


class Subscribers:
    """`count` raw connections subscribed to `channel`, drained by one thread; counts messages
    by their fixed size."""

    def __init__(self, port, channel, count, payload=16):
        import selectors
        import socket
        import threading
        self.sel = selectors.DefaultSelector()
        self.socks = []
        self.bytes = 0
        # With `payload` 20, each message is a send time in ns: latencies_ns gets each copy's
        # time in flight.
        self.timed = payload == 20
        self.latencies_ns = []
        self.pending = {}
        msg = f"*3\r\n$7\r\nmessage\r\n${len(channel)}\r\n{channel}\r\n${payload}\r\n{'x' * payload}\r\n"
        self.msg_len = len(msg)
        sub = f"*2\r\n$9\r\nSUBSCRIBE\r\n${len(channel)}\r\n{channel}\r\n".encode()
        confirm = len(f"*3\r\n$9\r\nsubscribe\r\n${len(channel)}\r\n{channel}\r\n:1\r\n")
        for _ in range(count):
            s = socket.create_connection(("127.0.0.1", port))
            s.sendall(sub)
            got = b""
            while len(got) < confirm:
                got += s.recv(confirm - len(got))
            s.setblocking(False)
            self.sel.register(s, selectors.EVENT_READ)
            self.socks.append(s)
        self.stop = False
        self.thread = threading.Thread(target=self._drain, daemon=True)
        self.thread.start()

    def _drain(self):
        while not self.stop:
            for key, _ in self.sel.select(timeout=0.1):
                try:
                    data = key.fileobj.recv(1 << 20)
                except BlockingIOError:
                    continue
                if self.timed:
                    now = time.perf_counter_ns()
                    buf = self.pending.get(key.fileobj, b"") + data
                    whole = len(buf) - len(buf) % self.msg_len
                    for at in range(0, whole, self.msg_len):
                        sent = int(buf[at + self.msg_len - 22:at + self.msg_len - 2])
                        self.latencies_ns.append(now - sent)
                    self.pending[key.fileobj] = buf[whole:]
                self.bytes += len(data)

    def wait_for(self, per_subscriber):
        want = per_subscriber * len(self.socks) * self.msg_len
        deadline = time.time() + 120
        while self.bytes < want and time.time() < deadline:
            time.sleep(0.05)  # the drain thread is catching up; not a timer being waited for
        if self.bytes < want:
            raise RuntimeError(f"subscribers got {self.bytes} of {want} bytes")

    def __enter__(self):
        return self

    def __exit__(self, *exc):
        self.stop = True
        self.thread.join()
        for s in self.socks:
            s.close()


def main():
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--pier", default=os.path.join(ROOT, "build", "release", "bin", "pier"))
    ap.add_argument("--pier-threads", type=int, default=0)
    ap.add_argument("--baseline", help="another pier binary to run beside --pier (A/B)")
    ap.add_argument("--runs", type=int, default=5)
    ap.add_argument("--clients", default="50", help="comma-separated client counts (-c)")
    ap.add_argument("--requests", type=int, default=200000)
    ap.add_argument("--keys", type=int, default=1000000)
    ap.add_argument("--hit-objects", type=int, default=100000)
    ap.add_argument("--hit-requests", type=int, default=300000)
    ap.add_argument("--hit-maxmemory", default="8mb")
    ap.add_argument("--elements", type=int, default=1000000)
    ap.add_argument("--small-collections", type=int, default=100000)
    ap.add_argument("--collection-tests", default=COLLECTION_TESTS,
                    help="the redis-benchmark tests of the collection throughput section")
    ap.add_argument("--skip-throughput", action="store_true")
    ap.add_argument("--skip-collections", action="store_true",
                    help="skip the list/set/sorted-set parts of the throughput and memory sections")
    ap.add_argument("--skip-memory", action="store_true")
    ap.add_argument("--skip-hits", action="store_true")
    ap.add_argument("--skip-overflow", action="store_true")
    ap.add_argument("--skip-server-bound", action="store_true")
    ap.add_argument("--skip-transactions", action="store_true")
    ap.add_argument("--skip-scripts-pubsub", action="store_true")
    args = ap.parse_args()
    raise_fd_limit()
    if not args.skip_throughput:
        throughput(args)
        if not args.skip_collections:
            throughput(args, args.collection_tests)
    if not args.skip_memory:
        memory(args)
        if not args.skip_collections:
            collection_memory(args)
    if not args.skip_hits:
        hits(args)
    if not args.skip_overflow:
        overflow(args)
    if not args.skip_server_bound:
        server_bound(args)
    if not args.skip_transactions:
        transactions(args)
    if not args.skip_scripts_pubsub:
        scripts_and_pubsub(args)


if __name__ == "__main__":
    sys.exit(main())
