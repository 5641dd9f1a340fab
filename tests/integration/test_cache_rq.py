"""RQ (python3-rq) on pier: a real RQ enqueue and worker run with pier as the only Redis (100
jobs, one failing into the failed registry, results kept in streams, the worker's pub/sub
channel), and the commands RQ sends, recorded at redis-py's pack_command against redis-server,
replay on pier with the same replies (INFO and CLIENT answer differently by nature, XADD's
generated ids and the timing-dependent pub/sub and XRANGE/XREVRANGE replies are left out).
"""
import pytest
import redis
from conftest import need
from test_cache_differential import run

SKIPPED = {"INFO", "CLIENT", "SUBSCRIBE", "UNSUBSCRIBE", "PUBLISH", "XADD", "XREVRANGE", "XRANGE",
           "XTRIM"}


def test_rq_worker_runs_every_job_on_pier(pier_cache):
    rq = pytest.importorskip("rq")
    import rq_jobs

    conn = redis.Redis(port=pier_cache.addr("resp")[1])
    conn.flushall()
    q = rq.Queue("default", connection=conn)
    jobs = [q.enqueue(rq_jobs.add, i, 1) for i in range(100)]
    bad = q.enqueue(rq_jobs.fail)
    rq.Worker([q], connection=conn).work(burst=True)  # forks a work horse per job
    assert {j.get_status(refresh=True) for j in jobs} == {"finished"}
    assert sum(j.return_value() for j in jobs) == sum(range(1, 101))  # results read back from streams
    assert bad.get_status(refresh=True) == "failed"
    assert q.failed_job_registry.get_job_ids() == [bad.id]
    assert "ValueError" in bad.latest_result().exc_string
    assert len(q) == 0


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
