"""Celery (python3-celery) with pier as its only Redis: broker and result backend. A solo worker
runs 100 tasks, a task that retries twice, and one with a countdown; results come back through
pier's pub/sub. Kombu's Redis transport uses MULTI/EXEC pipelines, BRPOP on several queues,
sorted sets for unacked messages and a Lua lock (redis-py's Lock) around restoring them."""
import os
import subprocess
import sys

import pytest
import redis

HERE = os.path.dirname(os.path.abspath(__file__))


def test_celery_worker_runs_tasks_on_pier(pier_cache):
    pytest.importorskip("celery")
    url = f"redis://127.0.0.1:{pier_cache.addr('resp')[1]}/0"
    redis.Redis.from_url(url).flushall()
    env = dict(os.environ, PIER_CELERY_URL=url, PYTHONPATH=HERE)
    worker = subprocess.Popen(
        [sys.executable, "-m", "celery", "-A", "celery_app", "worker", "--pool=solo",
         "--loglevel=warning", "--without-gossip", "--without-mingle", "--without-heartbeat"],
        env=env, cwd=HERE, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True)
    try:
        os.environ["PIER_CELERY_URL"] = url
        sys.path.insert(0, HERE)
        import celery_app
        celery_app.app.conf.broker_url = url
        celery_app.app.conf.result_backend = url
        results = [celery_app.add.delay(i, 1) for i in range(100)]
        assert sum(r.get(timeout=60) for r in results) == sum(range(1, 101))
        flaky = celery_app.flaky.delay("celery:flaky")
        assert flaky.get(timeout=60) == "ok"
        assert int(redis.Redis.from_url(url).get("celery:flaky")) == 3  # two retries, then done
        later = celery_app.add.apply_async((20, 22), countdown=1)
        assert later.get(timeout=60) == 42
        celery_app.app.backend.result_consumer.stop()  # its pub/sub thread, before pier goes
        celery_app.app.close()
    finally:
        worker.terminate()
        out, _ = worker.communicate(timeout=30)
    assert "Unrecoverable error" not in out, out
