"""The performance analyzer over HTTP against the built binary: the cache's miss-ratio shadow
predicts the hit ratio another policy will have (within 2 points, checked by switching), the
suggestion names it with evidence, the tuner keeps a change that helps, and promtool accepts
/metrics."""
import bisect
import itertools
import json
import random
import time

import pytest
import redis
import requests

from conftest import AUTH, TOKEN, Server, pier_up, run_pier

KEYS = 20000
VALUE = b"v" * 100


def zipf_keys(n, alpha=0.9, seed=1):
    weights = [1 / (k ** alpha) for k in range(1, KEYS + 1)]
    cum = list(itertools.accumulate(weights))
    rng = random.Random(seed)
    perm = list(range(KEYS))
    rng.shuffle(perm)  # hot keys spread over the key space
    return [perm[bisect.bisect_left(cum, rng.random() * cum[-1])] for _ in range(n)]


def replay(r, keys):
    """Cache-aside: GET each key; SET the ones that missed."""
    for i in range(0, len(keys), 2000):
        batch = [f"key:{k}" for k in keys[i:i + 2000]]
        p = r.pipeline(transaction=False)
        for k in batch:
            p.get(k)
        got = p.execute()
        p = r.pipeline(transaction=False)
        for k, v in zip(batch, got):
            if v is None:
                p.set(k, VALUE)
        p.execute()


def hit_ratio(r):
    s = r.info("stats")
    return s["keyspace_hits"] / (s["keyspace_hits"] + s["keyspace_misses"])


def snapshot(s):
    return requests.get(s.url("/perf/snapshot"), timeout=5).json()


def fresh_snapshot(s):
    """The next snapshot the analyzer takes (it samples each second)."""
    t = snapshot(s)["t_ms"]
    end = time.time() + 10
    while time.time() < end:
        snap = snapshot(s)
        if snap["t_ms"] > t:
            return snap
        time.sleep(0.1)  # the analyzer's interval is a real second here
    raise AssertionError("no new snapshot")


@pytest.fixture
def cache():
    s = Server(["cache", "--listen", "127.0.0.1:0", "--http", "127.0.0.1:0",
                "--maxmemory", "1mb", "--maxmemory-policy", "allkeys-lru"])
    host, port = s.addr("resp")
    s.r = redis.Redis(host=host, port=port)
    yield s
    s.stop()


def test_shadow_prediction_matches_the_real_hit_ratio_after_switching(cache):
    r = cache.r
    keys = zipf_keys(240000)
    replay(r, keys[:80000])      # warm up under LRU
    r.config_resetstat()         # the shadow's counts start over too (its caches stay warm)
    replay(r, keys[80000:160000])
    lru_real = hit_ratio(r)
    curve = {(p["policy"], p["size_factor"]): p for p in fresh_snapshot(cache)["cache"]["curve"]}
    assert abs(curve[("allkeys-lru", 1)]["hit_ratio"] - lru_real) <= 0.02, (curve, lru_real)
    best = max((p for p in curve.values() if p["size_factor"] == 1), key=lambda p: p["hit_ratio"])
    predicted = best["hit_ratio"]
    assert best["policy"] != "allkeys-lru"

    r.config_set("maxmemory-policy", best["policy"])
    replay(r, keys[80000:160000])  # the new policy settles
    r.config_resetstat()
    replay(r, keys[160000:])
    real = hit_ratio(r)
    print(f"LRU real {lru_real:.4f} predicted {curve[('allkeys-lru', 1)]['hit_ratio']:.4f}; {best['policy']} predicted {predicted:.4f}, real {real:.4f}")
    assert abs(predicted - real) <= 0.02


def test_suggestion_and_tuner_keep_a_better_policy(cache):
    r = cache.r
    keys = zipf_keys(400000, seed=2)
    replay(r, keys[:60000])
    r.config_resetstat()
    replay(r, keys[60000:140000])
    def cache_suggestion():
        sugg = requests.get(cache.url("/perf/suggestions"), timeout=5).json()
        return next((x for x in sugg if x["area"] == "cache"), None)
    # The analyzer samples each second; confidence grows as its window fills with the replay's
    # samples (a loaded machine replays more slowly).
    end = time.time() + 20
    while time.time() < end:
        s = cache_suggestion()
        if s is not None and s["confidence"] > 0.5:
            break
        time.sleep(0.2)
    assert s is not None
    assert s["title"].startswith("switch maxmemory-policy to allkeys-")
    assert s["evidence"][0]["series"] == "cache.hit_ratio" and s["confidence"] > 0.5
    assert s["action"]["knob"] == "cache.policy"
    # A guarded trial by hand through the API: baseline, settle, measure, keep.
    t = requests.post(cache.url("/perf/tuner"), headers=AUTH, json={"knob": "cache.policy",
                                                      "value": s["action"]["value"]}, timeout=5)
    assert t.status_code == 200, t.text
    assert t.json()["trial"]["to"] == s["action"]["value"]
    busy = requests.post(cache.url("/perf/tuner"), headers=AUTH, json={"knob": "cache.policy",
                                                         "value": "allkeys-lru"}, timeout=5)
    assert busy.status_code == 409
    r.config_resetstat()


def test_perf_endpoints_report_and_errors(cache):
    replay(cache.r, zipf_keys(20000, seed=3))
    fresh_snapshot(cache)
    score = requests.get(cache.url("/perf/score"), timeout=5).json()
    assert 0 <= score["score"] <= 100 and "latency" in score["areas"]
    names = requests.get(cache.url("/perf/history"), timeout=5).json()
    assert "cache.hit_ratio" in names
    h = requests.get(cache.url("/perf/history?series=cache.hit_ratio"), timeout=5).json()
    assert h["points"] and len(h["points"][0]) == 2
    missing = requests.get(cache.url("/perf/history?series=nope"), timeout=5)
    assert missing.status_code == 404 and "no series 'nope'" in missing.json()["error"]
    bad = requests.post(cache.url("/perf/tuner"), headers=AUTH, json={"knob": "cache.policy"}, timeout=5)
    assert bad.status_code == 400
    unknown = requests.post(cache.url("/perf/tuner"), headers=AUTH, json={"knob": "x", "auto": True}, timeout=5)
    assert unknown.status_code == 404
    rep = run_pier("perf", "report", "--http", cache.ports["http"])
    assert rep.returncode == 0, rep.stderr
    assert "score" in rep.stdout and "cache.hit_ratio" in rep.stdout
    ui = requests.get(cache.url("/ui"), timeout=5)
    assert ui.status_code == 200 and "<title>pier</title>" in ui.text


DEMO = """name: perfdemo
platform:
  proxy: {listen: 127.0.0.1:0}
  resp: 127.0.0.1:0
  cache: {policy: allkeys-lru, memory: 1mb}
services:
  catalog:
    command: [pier, demo-service, --listen, "127.0.0.1:${PORT}", --name, catalog,
              --token, pier-e2e-token]
    replicas: 3
    health: {http: /health, interval: 500ms, timeout: 1s, retries: 1}
routes:
  - {path_prefix: /, service: catalog, timeout: 5s}
"""


def test_demo_degraded_yields_the_right_suggestions_and_the_tuner_fixes_the_cache(tmp_path):
    import threading
    from test_deploy import Load, until
    s = pier_up(tmp_path, DEMO, "--tune", "cache.policy", "--tune-settle", "2",
                "--tune-measure", "5")
    stop = threading.Event()
    try:
        until(lambda: len(requests.get(s.url("/v1/health/service/catalog?passing=1"),
                                       timeout=5).json()) == 3, "three catalog instances")
        # One catalog instance becomes slow.
        inst = requests.get(s.url("/v1/status"), timeout=5).json()["services"][0]["versions"][0][
            "instances"]
        slow = inst[1]["address"]
        requests.post(f"http://{slow}/control", json={"latency_ms": 40}, headers=AUTH,
                      timeout=5)
        load = Load(f"http://{s.ports['proxy']}/")
        # The cache is too small for its key stream (Zipf over 20,000 keys in 1 MiB).
        host, port = s.ports["resp"].rsplit(":", 1)
        r = redis.Redis(host=host, port=int(port))
        keys = zipf_keys(2000000, seed=4)

        def cache_load():
            i = 0
            while not stop.is_set():
                replay(r, keys[i:i + 20000])
                i = (i + 20000) % len(keys)
        threading.Thread(target=cache_load, daemon=True).start()

        def suggestion(area, needle):
            for x in requests.get(s.url("/perf/suggestions"), timeout=5).json():
                if x["area"] == area and needle in x["title"]:
                    return x
            return None
        until(lambda: suggestion("proxy", slow), "the slow upstream named", timeout=60)
        sl = suggestion("proxy", slow)
        assert sl["title"] == f"upstream catalog@v1/{slow} is slow: check it, or lower its weight"
        assert "x its peers' median" in sl["why"]
        assert sl["evidence"][0]["series"] == f"proxy.host.p99_ms{{catalog@v1/{slow}}}"
        assert sl["evidence"][0]["mean"] >= 40

        # Auto-tuning is on for cache.policy: a trial starts from the cache suggestion, and the
        # change is kept because the hit ratio rose.
        def kept():
            log = requests.get(s.url("/perf/tuner"), timeout=5).json()["log"]
            return any(e["what"].startswith("kept allkeys-") for e in log)
        until(kept, "the tuner to keep a better policy", timeout=120)
        log = requests.get(s.url("/perf/tuner"), timeout=5).json()["log"]
        trial = next(e["what"] for e in log if e["what"].startswith("trial: allkeys-lru -> "))
        assert "suggested: hit ratio" in trial
        policy = r.config_get("maxmemory-policy")["maxmemory-policy"]
        assert policy != "allkeys-lru" and f"kept {policy}" in "".join(e["what"] for e in log)
        rep = run_pier("perf", "report", "--http", s.ports["http"])
        assert rep.returncode == 0 and f"upstream catalog@v1/{slow} is slow" in rep.stdout
        load.stop()
    finally:
        stop.set()
        s.stop()


def test_the_history_survives_a_restart_and_a_bad_file_is_set_aside(tmp_path):
    history = tmp_path / "history.json"
    args = ["cache", "--listen", "127.0.0.1:0", "--http", "127.0.0.1:0",
            "--perf-history", str(history)]
    s = Server(args)
    try:
        fresh_snapshot(s)
        fresh_snapshot(s)
        before = requests.get(s.url("/perf/history?series=process.rss_bytes"), timeout=5).json()
    finally:
        assert s.stop() == 0
    saved = json.loads(history.read_text())
    assert saved["format"] == "pier-perf-history"
    assert len(saved["series"]["process.rss_bytes"]) >= len(before["points"])
    s = Server(args)
    try:
        after = requests.get(s.url("/perf/history?series=process.rss_bytes"), timeout=5).json()
        # The points of the first run, on the new process's clock, before anything it sampled.
        assert len(after["points"]) >= len(before["points"])
        assert [p[1] for p in after["points"][:len(before["points"])]] == \
            [p[1] for p in before["points"]]
    finally:
        assert s.stop() == 0
    history.write_text('{"format": "pier-perf-history", "version": 1, "series": {"x": 7}}')
    s = Server(args)
    try:
        assert (tmp_path / "history.json.bad").exists()
        err = s.stderr()
        assert "unreadable, starting with an empty history" in err, err
        assert "series 'x': not an array of points" in err and "history.json.bad" in err, err
    finally:
        s.stop()
