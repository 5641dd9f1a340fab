#!/usr/bin/python3
"""RQ and Celery jobs per second with pier vs redis-server as their only Redis, side by side.

  bench/cache/jobs.py [--pier build/release/bin/pier] [--runs 3] [--jobs 500]

RQ (Debian's python3-rq): enqueue `--jobs` jobs (timed: enqueues/s), then a SimpleWorker in
burst mode runs them all in this process (timed: jobs/s; no fork per job, so the figure is the
framework's round trips to Redis, not process creation). Celery (python3-celery): a solo-pool
worker, broker and result backend both on the server, `--jobs` tasks sent at once and every
result waited for (tasks/s, from the first send to the last result). Servers: redis-server,
pier (default threads) and pier --threads 1, interleaved `--runs` times; medians and the median
per-run ratio to redis-server. Only loopback traffic.
"""
import argparse
import os
import statistics
import subprocess
import sys
import time

import redis

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, HERE)
sys.path.insert(0, os.path.dirname(HERE))
from benchutil import ROOT  # noqa: E402
from compare import start_pier, start_redis, stop  # noqa: E402

APPS = os.path.join(ROOT, "tests", "integration")  # rq_jobs and celery_app, shared with the tests
sys.path.insert(0, APPS)


def rq_rates(port, jobs):
    import rq
    import rq_jobs
    conn = redis.Redis(port=port)
    conn.flushall()
    q = rq.Queue("bench", connection=conn)
    start = time.perf_counter()
    enqueued = [q.enqueue(rq_jobs.add, i, 1) for i in range(jobs)]
    enqueue_rate = jobs / (time.perf_counter() - start)
    # Until the last job ended (RQ's own timestamps): the worker's exit waits up to 0.2 s for
    # its pub/sub thread, which says nothing about the server.
    from rq.utils import utcnow
    started = utcnow()
    rq.SimpleWorker([q], connection=conn).work(burst=True, logging_level="WARNING")
    for j in enqueued:
        j.refresh()
    assert {j.get_status() for j in enqueued} == {"finished"}
    last = max(j.ended_at for j in enqueued)
    run_rate = jobs / (last - started).total_seconds()
    return enqueue_rate, run_rate


class CeleryWorker:
    def __init__(self, port):
        self.url = f"redis://127.0.0.1:{port}/0"
        redis.Redis.from_url(self.url).flushall()
        env = dict(os.environ, PIER_CELERY_URL=self.url, PYTHONPATH=APPS)
        self.proc = subprocess.Popen(
            [sys.executable, "-m", "celery", "-A", "celery_app", "worker", "--pool=solo",
             "--loglevel=warning", "--without-gossip", "--without-mingle", "--without-heartbeat"],
            env=env, cwd=APPS, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)

    def rate(self, jobs):
        # A fresh process per server: Celery's app keeps its broker connections for its life.
        out = subprocess.run([sys.executable, __file__, "--celery-client", self.url, str(jobs)],
                             capture_output=True, text=True, timeout=600, check=True)
        return float(out.stdout.split()[-1])

    def stop(self):
        self.proc.terminate()
        self.proc.wait(timeout=30)


def celery_client(url, jobs):
    """Sends `jobs` tasks and waits for every result; prints tasks/s."""
    os.environ["PIER_CELERY_URL"] = url
    import celery_app
    celery_app.add.delay(0, 0).get(timeout=60)  # the worker is up
    start = time.perf_counter()
    results = [celery_app.add.delay(i, 1) for i in range(jobs)]
    assert sum(r.get(timeout=300) for r in results) == sum(range(1, jobs + 1))
    print(jobs / (time.perf_counter() - start))
    celery_app.app.backend.result_consumer.stop()
    celery_app.app.close()


def main():
    if len(sys.argv) == 4 and sys.argv[1] == "--celery-client":
        return celery_client(sys.argv[2], int(sys.argv[3]))
    ap = argparse.ArgumentParser(description=__doc__,
                                 formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--pier", default=os.path.join(ROOT, "build", "release", "bin", "pier"))
    ap.add_argument("--runs", type=int, default=3)
    ap.add_argument("--jobs", type=int, default=500)
    args = ap.parse_args()
    rates = {}
    for _ in range(args.runs):
        for name, start in (("redis", lambda: start_redis()),
                            ("pier", lambda: start_pier(args.pier, 0)),
                            ("pier-1t", lambda: start_pier(args.pier, 1))):
            p, port, _ = start()
            try:
                enqueue, run = rq_rates(port, args.jobs)
                worker = CeleryWorker(port)
                try:
                    celery = worker.rate(args.jobs)
                finally:
                    worker.stop()
            finally:
                stop(p)
            for k, v in (("RQ enqueue", enqueue), ("RQ worker", run), ("Celery", celery)):
                rates.setdefault(k, {}).setdefault(name, []).append(v)
    print(f"== RQ and Celery, {args.jobs} jobs, {args.runs} interleaved runs: medians, "
          f"jobs/s and ratio to redis-server")
    for what, by_server in rates.items():
        for name, values in by_server.items():
            ratio = statistics.median(p / r for r, p in zip(by_server["redis"], values))
            print(f"{what:<11}{name:<9}{statistics.median(values):>9.0f} jobs/s{ratio:>7.2f}")


if __name__ == "__main__":
    sys.exit(main())
