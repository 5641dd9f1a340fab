"""Cluster mode: three `pier cache --cluster` nodes used by redis-cli -c, redis-benchmark
--cluster and redis-py."""
import subprocess

import pytest
import redis

from conftest import Server, free_port, need


@pytest.fixture(scope="module")
def cluster(tmp_path_factory):
    ports = [free_port() for _ in range(3)]
    nodes = tmp_path_factory.mktemp("cluster") / "nodes.yaml"
    nodes.write_text("nodes:\n" + "".join(f"  - 127.0.0.1:{p}\n" for p in ports))
    servers = [Server(["cache", "--listen", f"127.0.0.1:{p}", "--http", "127.0.0.1:0",
                       "--cluster", str(nodes)]) for p in ports]
    yield ports
    for s in servers:
        s.stop()


def test_cluster_commands(cluster):
    r = redis.Redis(port=cluster[0])
    assert r.execute_command("CLUSTER", "KEYSLOT", "{user1000}.following") == \
        r.execute_command("CLUSTER", "KEYSLOT", "user1000")
    slots = r.execute_command("CLUSTER", "SLOTS")
    assert sorted((s[0], s[1], s[2][1]) for s in slots) == [
        (0, 5460, cluster[0]), (5461, 10921, cluster[1]), (10922, 16383, cluster[2])]
    nodes = r.execute_command("CLUSTER", "NODES").decode()
    assert len(nodes.strip().split("\n")) == 3 and "myself,master" in nodes
    info = r.execute_command("CLUSTER", "INFO").decode()
    assert "cluster_state:ok" in info and "cluster_known_nodes:3" in info
    assert r.info("server")["redis_mode"] == "cluster"


def test_moved_and_crossslot(cluster):
    r = redis.Redis(port=cluster[0])
    slot = r.execute_command("CLUSTER", "KEYSLOT", "foo")  # 12182: the third node's
    with pytest.raises(redis.ResponseError) as e:
        r.execute_command("SET", "foo", "bar")
    assert str(e.value) == f"MOVED {slot} 127.0.0.1:{cluster[2]}"
    with pytest.raises(redis.ResponseError) as e:
        redis.Redis(port=cluster[2]).execute_command("MSET", "foo", "1", "bar", "2")
    assert str(e.value) == "CROSSSLOT Keys in request don't hash to the same slot"
    # Hash tags keep related keys in one slot, so multi-key commands work on its owner.
    tag_slot = r.execute_command("CLUSTER", "KEYSLOT", "{foo}")
    owner = next(s[2][1] for s in r.execute_command("CLUSTER", "SLOTS") if s[0] <= tag_slot <= s[1])
    owner_client = redis.Redis(port=owner)
    assert owner_client.mset({"{foo}a": "1", "{foo}b": "2"})
    assert owner_client.execute_command("CLUSTER", "COUNTKEYSINSLOT", str(tag_slot)) == 2
    assert sorted(owner_client.execute_command("CLUSTER", "GETKEYSINSLOT", str(tag_slot), "10")) == \
        [b"{foo}a", b"{foo}b"]


def test_redis_cli_follows_redirects(cluster):
    need("redis-cli")
    for i in range(30):
        out = subprocess.run(["redis-cli", "-c", "-p", str(cluster[0]), "set", f"k{i}", f"v{i}"],
                             capture_output=True, text=True, timeout=10).stdout
        assert out.strip() == "OK"
    total = 0
    for p in cluster:
        total += redis.Redis(port=p).dbsize()
        out = subprocess.run(["redis-cli", "-c", "-p", str(p), "get", "k7"],
                             capture_output=True, text=True, timeout=10).stdout
        assert out.strip() == "v7"
    assert total >= 30


def test_redis_benchmark_cluster(cluster):
    need("redis-benchmark")
    out = subprocess.run(["redis-benchmark", "--cluster", "-p", str(cluster[0]), "-t", "set,get",
                          "-n", "3000", "-c", "6", "-q"],
                         capture_output=True, text=True, timeout=120)
    assert out.returncode == 0, out.stderr
    assert "SET:" in out.stdout and "GET:" in out.stdout, out.stdout + out.stderr
    assert "requests per second" in out.stdout


def test_publish_reaches_subscribers_on_every_node(cluster):
    """A PUBLISH on one node reaches subscribers on all three (forwarded over pier's cluster
    bus); the reply counts this node's receivers, as Redis Cluster's does."""
    subs = []
    for p in cluster:
        ps = redis.Redis(port=p).pubsub()
        ps.subscribe("news")
        assert ps.get_message(timeout=5)["type"] == "subscribe"
        subs.append(ps)
    assert redis.Redis(port=cluster[1]).publish("news", "hello") == 1
    for ps in subs:
        m = ps.get_message(timeout=10)
        assert (m["channel"], m["data"]) == (b"news", b"hello")
    assert redis.Redis(port=cluster[0]).publish("news", "again") == 1
    for ps in subs:
        assert ps.get_message(timeout=10)["data"] == b"again"  # in order, once each
        ps.close()


def test_spublish_stays_in_the_slots_shard(cluster):
    """Shard channels are keys: SPUBLISH and SSUBSCRIBE go to the slot's owner (-MOVED
    elsewhere, -CROSSSLOT across slots), and a shard message is not forwarded to other nodes."""
    r0 = redis.Redis(port=cluster[0])
    slot = r0.execute_command("CLUSTER", "KEYSLOT", "foo")  # 12182: the third node's
    with pytest.raises(redis.ResponseError) as e:
        r0.execute_command("SPUBLISH", "foo", "hi")
    assert str(e.value) == f"MOVED {slot} 127.0.0.1:{cluster[2]}"
    with pytest.raises(redis.ResponseError) as e:
        redis.Redis(port=cluster[2]).execute_command("SSUBSCRIBE", "foo", "bar")
    assert str(e.value) == "CROSSSLOT Keys in request don't hash to the same slot"
    shard = redis.Connection(port=cluster[2])
    shard.send_command("SSUBSCRIBE", "foo")
    assert shard.read_response() == [b"ssubscribe", b"foo", 1]
    plain = redis.Redis(port=cluster[0]).pubsub()  # a plain channel of the same name elsewhere
    plain.subscribe("foo")
    assert plain.get_message(timeout=5)["type"] == "subscribe"
    assert redis.Redis(port=cluster[2]).execute_command("SPUBLISH", "foo", "hi") == 1
    assert shard.read_response() == [b"smessage", b"foo", b"hi"]
    # A plain PUBLISH afterwards is forwarded: the first message the plain subscriber sees.
    redis.Redis(port=cluster[1]).publish("foo", "plain")
    assert plain.get_message(timeout=10)["data"] == b"plain"
    shard.disconnect()
    plain.close()
