"""RQ (python3-rq) on pier: the commands a real RQ enqueue and worker issue, transactions
included, replayed against pier and redis-server 7.0 with the same replies.

RQ's worker also subscribes to a pub/sub channel and keeps results in streams (XADD), which pier
does not serve yet, so the worker runs against redis-server while every command it sends is
recorded (at redis-py's pack_command, so the arguments are exact bytes), and that stream, without
the pub/sub and stream commands, is the script.
"""
import pytest
import redis
from conftest import need
from test_cache_differential import run

SKIPPED = {"INFO", "CLIENT", "SUBSCRIBE", "UNSUBSCRIBE", "PUBLISH", "XADD", "XREVRANGE", "XRANGE",
           "XTRIM"}


def record_rq(port):
    rq = pytest.importorskip("rq")
    import rq_jobs

    sent = []
    real_pack = redis.connection.Connection.pack_command

    def recording_pack(self, *args):
        sent.append([a if isinstance(a, bytes) else str(a).encode() for a in args])
        return real_pack(self, *args)

    redis.connection.Connection.pack_command = recording_pack
    try:
        conn = redis.Redis(port=port)
        q = rq.Queue("default", connection=conn)
        ok = q.enqueue(rq_jobs.add, 2, 3)
        bad = q.enqueue(rq_jobs.fail)
        rq.SimpleWorker([q], connection=conn).work(burst=True)
        assert ok.get_status(refresh=True) == "finished"
        assert bad.get_status(refresh=True) == "failed"
    finally:
        redis.connection.Connection.pack_command = real_pack
    return [cmd for cmd in sent if cmd[0].decode().split()[0].upper() not in SKIPPED]


def test_rq_command_stream_replies_match_redis(redis_server, pier_cache):
    need("redis-server")
    redis.Redis(port=redis_server).flushall()
    script = record_rq(redis_server)
    names = {cmd[0].decode().upper() for cmd in script}
    assert {"RPUSH", "LPOP", "SADD", "SMEMBERS", "ZADD", "ZREM", "HSET", "MULTI", "EXEC"} <= names, names
    want = run(redis_server, script, 2)
    got = run(pier_cache.addr("resp")[1], script, 2)
    diffs = [f"{cmd}: redis={w!r} pier={g!r}" for cmd, w, g in zip(script, want, got) if w != g]
    assert not diffs, "\n".join(diffs)
