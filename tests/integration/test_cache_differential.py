"""The same command scripts against redis-server 7.0 and `pier cache`; replies must match.

Replies are compared as redis-py's protocol parser returns them (bytes, ints, lists, errors with
their text), before any command-specific callback.
"""
import pytest
import redis

SCRIPTS = {
    "strings": [
        ["SET", "k", "v"], ["GET", "k"], ["GET", "nokey"], ["APPEND", "k", "xyz"], ["STRLEN", "k"],
        ["GETRANGE", "k", "0", "-1"], ["GETRANGE", "k", "-3", "-2"], ["GETRANGE", "k", "5", "1"],
        ["GETRANGE", "k", "-100", "100"], ["GETRANGE", "nokey", "0", "5"],
        ["SETRANGE", "k", "10", "pad"], ["GET", "k"], ["SETRANGE", "new", "0", ""],
        ["SETRANGE", "k", "-1", "x"], ["GETSET", "k", "fresh"], ["GETDEL", "k"], ["GETDEL", "k"],
        ["SETNX", "n", "1"], ["SETNX", "n", "2"], ["MSET", "a", "1", "b", "2"],
        ["MGET", "a", "b", "nokey"], ["MSETNX", "a", "9", "c", "3"], ["MSETNX", "c", "3", "d", "4"],
        ["MSET", "odd"], ["MSET", "a", "1", "b"],
    ],
    "set_options": [
        ["SET", "k", "1", "NX"], ["SET", "k", "2", "NX"], ["SET", "k", "3", "XX"],
        ["SET", "nokey", "3", "XX"], ["SET", "k", "4", "GET"], ["SET", "nokey2", "4", "GET"],
        ["SET", "k", "5", "NX", "GET"], ["SET", "k", "v", "NX", "XX"], ["SET", "k", "v", "EX", "0"],
        ["SET", "k", "v", "EX", "-1"], ["SET", "k", "v", "PX", "abc"],
        ["SET", "k", "v", "EX", "10", "PX", "10"], ["SET", "k", "v", "EX", "10", "KEEPTTL"],
        ["SET", "k", "v", "BOGUS"], ["SET", "k", "v", "EX", "100"], ["TTL", "k"],
        ["SET", "k", "w", "KEEPTTL"], ["TTL", "k"], ["SET", "k", "w"], ["TTL", "k"],
        ["SET", "k", "v", "EX", "9223372036854775807"], ["SETEX", "k", "0", "v"],
        ["SETEX", "k", "10", "v"], ["TTL", "k"], ["PSETEX", "k", "-5", "v"],
        ["SET", "k", "v", "EXAT", "1"], ["GET", "k"],
    ],
    "counters": [
        ["INCR", "c"], ["INCRBY", "c", "10"], ["DECR", "c"], ["DECRBY", "c", "5"],
        ["INCRBY", "c", "x"], ["INCRBY", "c", "1.5"], ["SET", "big", "9223372036854775807"],
        ["INCR", "big"], ["SET", "small", "-9223372036854775808"], ["DECR", "small"],
        ["DECRBY", "c", "-9223372036854775808"], ["SET", "s", "abc"], ["INCR", "s"],
        ["SET", "sp", " 1"], ["INCR", "sp"], ["SET", "lead", "01"], ["INCR", "lead"],
        ["SET", "f", "10.50"], ["INCRBYFLOAT", "f", "0.1"], ["INCRBYFLOAT", "f", "-5"],
        ["INCRBYFLOAT", "f", "1e3"], ["INCRBYFLOAT", "f", "abc"], ["INCRBYFLOAT", "nf", "3"],
        ["SET", "e", "5.0e3"], ["INCRBYFLOAT", "e", "1"], ["INCRBYFLOAT", "s", "1"],
    ],
    "keys_and_expiry": [
        ["SET", "a", "1"], ["EXPIRE", "a", "100"], ["TTL", "a"], ["EXPIRE", "a", "200", "NX"],
        ["EXPIRE", "a", "200", "XX"], ["EXPIRE", "a", "100", "GT"], ["EXPIRE", "a", "300", "GT"],
        ["EXPIRE", "a", "50", "LT"], ["TTL", "a"], ["EXPIRE", "a", "1", "NX", "XX"],
        ["EXPIRE", "a", "1", "GT", "LT"], ["EXPIRE", "a", "1", "FOO"], ["EXPIRE", "a", "abc"],
        ["PERSIST", "a"], ["PERSIST", "a"], ["TTL", "a"], ["PTTL", "nokey"], ["EXPIRETIME", "a"],
        ["EXPIRE", "nokey", "10"], ["EXPIRE", "a", "-1"], ["EXISTS", "a"],
        ["SET", "b", "1"], ["EXPIREAT", "b", "1"], ["EXISTS", "b"], ["SET", "c", "1"],
        ["PEXPIREAT", "c", "99999999999999"], ["PEXPIRETIME", "c"], ["EXPIRETIME", "c"],
        ["EXPIRE", "c", "9223372036854775807"], ["TYPE", "c"], ["TYPE", "nokey"],
        ["RENAME", "c", "d"], ["EXISTS", "c", "d", "d"], ["PEXPIRETIME", "d"],
        ["RENAME", "nokey", "x"], ["SET", "e", "1"], ["RENAMENX", "d", "e"], ["RENAMENX", "d", "f"],
        ["RENAME", "f", "f"], ["DEL", "d", "e", "f", "nokey"], ["UNLINK", "nokey"], ["TOUCH", "f", "nokey"],
        ["DBSIZE"],
    ],
    "hashes": [
        ["HSET", "h", "a", "1", "b", "2"], ["HSET", "h", "a", "3"], ["HSET", "h", "odd"],
        ["HGET", "h", "a"], ["HGET", "h", "zz"], ["HGET", "nokey", "a"], ["HMGET", "h", "a", "zz", "b"],
        ["HGETALL", "h"], ["HKEYS", "h"], ["HVALS", "h"], ["HLEN", "h"], ["HEXISTS", "h", "a"],
        ["HEXISTS", "h", "zz"], ["HSTRLEN", "h", "a"], ["HINCRBY", "h", "a", "10"],
        ["HINCRBY", "h", "new", "-1"], ["HSET", "h", "s", "x"], ["HINCRBY", "h", "s", "1"],
        ["HINCRBY", "h", "a", "x"], ["HINCRBYFLOAT", "h", "a", "0.5"], ["HSETNX", "h", "a", "9"],
        ["HSETNX", "h", "z", "9"], ["HMSET", "h", "m", "1"], ["HDEL", "h", "a", "zz"],
        ["HSCAN", "h", "0"], ["HSCAN", "h", "0", "MATCH", "n*"], ["SET", "str", "v"],
        ["HGET", "str", "a"], ["HSET", "str", "a", "1"], ["GET", "h"], ["INCR", "h"],
        ["HDEL", "h", "b", "new", "s", "z", "m"], ["EXISTS", "h"], ["HGETALL", "nokey"],
    ],
    "errors_and_connection": [
        ["PING"], ["PING", "hello"], ["PING", "a", "b"], ["ECHO", "x"], ["ECHO"],
        ["NOSUCHCMD"], ["NOSUCHCMD", "arg1", "arg2"], ["GET"], ["GET", "a", "b"],
        ["SELECT", "0"], ["SELECT", "1"], ["SELECT", "x"], ["AUTH", "pw"],
        ["AUTH", "a", "b", "c"], ["CLIENT", "SETNAME", "bad name"], ["CLIENT", "SETNAME", "ok"],
        ["CLIENT", "GETNAME"], ["CLIENT", "NOSUCH"], ["CLIENT", "KILL", "1.1.1.1:1"],
        ["CLIENT", "KILL", "SKIPME", "maybe"], ["CLIENT", "KILL", "TYPE", "robot"],
        ["CLIENT", "KILL", "USER", "bob"], ["CLIENT", "KILL", "TYPE", "pubsub"],
        ["CLIENT", "KILL", "ADDR", "1.1.1.1:1", "SKIPME"],
        ["HELLO", "4"], ["HELLO", "x"], ["CONFIG", "GET", "maxmemory"], ["CONFIG", "GET", "save"],
        ["CONFIG", "SET", "nosuchparam", "1"], ["TYPE"], ["KEYS"], ["SCAN", "abc"],
        ["SCAN", "0", "COUNT", "0"], ["SCAN", "0", "COUNT", "x"], ["FLUSHALL", "NOW"],
        ["DBSIZE"], ["EXISTS"],
    ],
}


def run(port, script):
    r = redis.Redis(port=port)
    conn = r.connection_pool.get_connection("_")
    out = []
    try:
        conn.send_command("FLUSHALL")
        conn.read_response()
        for cmd in script:
            conn.send_command(*cmd)
            try:
                out.append(conn.read_response())
            except redis.ResponseError as e:
                out.append(("error", str(e)))
    finally:
        r.connection_pool.release(conn)
    return out


@pytest.mark.parametrize("name", sorted(SCRIPTS))
def test_replies_match_redis(name, redis_server, pier_cache):
    script = SCRIPTS[name]
    want = run(redis_server, script)
    got = run(pier_cache.addr("resp")[1], script)
    diffs = [f"{cmd}: redis={w!r} pier={g!r}" for cmd, w, g in zip(script, want, got) if w != g]
    assert not diffs, "\n".join(diffs)
