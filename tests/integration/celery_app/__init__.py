"""The Celery app of the Celery test: broker and result backend at $PIER_CELERY_URL."""
import os

import redis
from celery import Celery

URL = os.environ.get("PIER_CELERY_URL", "redis://127.0.0.1:6379/0")
app = Celery("celery_app", broker=URL, backend=URL)
app.conf.broker_connection_retry_on_startup = True


@app.task
def add(a, b):
    return a + b


@app.task(bind=True, max_retries=3)
def flaky(self, key):
    """Fails twice (counted in `key`), then succeeds: Celery's retry path."""
    if redis.Redis.from_url(URL).incr(key) < 3:
        raise self.retry(countdown=0)
    return "ok"
