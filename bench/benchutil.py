"""What every benchmark script shares: the repository root, free ports, waiting for a server.

Scripts in bench/<module>/ import it after putting bench/ on sys.path:
  sys.path.insert(0, os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
"""
import os
import re
import socket
import subprocess
import time

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
DEFAULT_PIER = os.path.join(ROOT, "build", "release", "bin", "pier")


def free_port():
    s = socket.socket()
    s.bind(("127.0.0.1", 0))
    p = s.getsockname()[1]
    s.close()
    return p


def wait_port(port, timeout=60):
    """Returns once something accepts connections on 127.0.0.1:port."""
    end = time.time() + timeout
    while time.time() < end:
        try:
            socket.create_connection(("127.0.0.1", port), timeout=1).close()
            return
        except OSError:
            time.sleep(0.05)  # waiting for a server process to listen
    raise RuntimeError(f"nothing listens on 127.0.0.1:{port}")


def start_pier_proxy(pier, port, backends, *extra):
    """`pier proxy --threads 1` on 127.0.0.1:PORT, round robin over `backends` (HOST:PORT)."""
    proc = subprocess.Popen([pier, "proxy", "--listen", f"127.0.0.1:{port}", "--http",
                             "127.0.0.1:0", "--to", ",".join(backends), "--threads", "1",
                             "--log-level", "warn", *extra], stdout=subprocess.DEVNULL)
    wait_port(port)
    return proc


def stop_all(procs, timeout=20):
    """Terminates every process, then waits for each (killing one that outlives `timeout`)."""
    for proc in procs:
        proc.terminate()
    for proc in procs:
        try:
            proc.wait(timeout=timeout)
        except subprocess.TimeoutExpired:
            proc.kill()


TICK = os.sysconf("SC_CLK_TCK")


def cpu_seconds(pid):
    """utime + stime of a process (all its threads), in seconds."""
    with open(f"/proc/{pid}/stat") as f:
        fields = f.read().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / TICK


def to_us(text):
    m = re.match(r"([\d.]+)(us|ms|s)", text)
    v = float(m.group(1))
    return v * {"us": 1, "ms": 1e3, "s": 1e6}[m.group(2)]


def wrk(url, connections, duration, headers=()):
    """wrk -t1 against `url`: requests/s, total, p50 and p99 in microseconds."""
    extra = [a for h in headers for a in ("-H", h)]
    out = subprocess.run(["wrk", "-t1", f"-c{connections}", f"-d{duration}s", "--latency", *extra,
                          url], capture_output=True, text=True, check=True).stdout
    rps = float(re.search(r"Requests/sec:\s+([\d.]+)", out).group(1))
    total = int(re.search(r"(\d+) requests in", out).group(1))
    # The distribution's own lines ("     50%    1.01ms"), not a "85.50%" in the stats above.
    p50 = to_us(re.search(r"^\s+50%\s+(\S+)", out, re.M).group(1))
    p99 = to_us(re.search(r"^\s+99%\s+(\S+)", out, re.M).group(1))
    errors = re.search(r"Non-2xx or 3xx responses: (\d+)", out)
    socket_errors = re.search(r"Socket errors: (.*)", out)
    if errors or socket_errors:
        print(f"  warning: {url}: {errors.group(0) if errors else ''} "
              f"{socket_errors.group(0) if socket_errors else ''}")
    return {"rps": rps, "total": total, "p50": p50, "p99": p99}


def start_nginx(tmp, name, port, body):
    """An nginx (one worker) serving a `body`-byte file on 127.0.0.1:port."""
    root = os.path.join(tmp, name)
    os.makedirs(root)
    os.chmod(root, 0o755)
    with open(os.path.join(root, "index.html"), "w") as f:
        f.write("x" * body)
    os.chmod(os.path.join(root, "index.html"), 0o644)
    conf = os.path.join(tmp, f"{name}.conf")
    with open(conf, "w") as f:
        f.write(f"""daemon off; worker_processes 1; pid {tmp}/{name}.pid;
error_log {tmp}/{name}.err;
events {{ worker_connections 4096; }}
http {{ access_log off; keepalive_requests 1000000; keepalive_timeout 300s;
  server {{ listen 127.0.0.1:{port}; root {root}; }} }}
""")
    proc = subprocess.Popen(["nginx", "-c", conf], stdout=subprocess.DEVNULL,
                            stderr=subprocess.DEVNULL)
    wait_port(port)
    return proc


def start_haproxy(tmp, port, backends, bind_options="", log_file=None):
    """HAProxy (one thread, HTTP mode, connection reuse) on 127.0.0.1:PORT balancing round-robin
    over `backends`; `bind_options` e.g. "ssl crt FILE alpn http/1.1"; `log_file`: its HTTP log
    (option httplog) written to that file through its stdout. Returns once it listens."""
    cfg = os.path.join(tmp, f"haproxy-{port}.cfg")
    servers = "\n".join(f"  server b{i} {b}" for i, b in enumerate(backends))
    log_global = "  log stdout format raw local0\n" if log_file else ""
    log_defaults = "  log global\n  option httplog\n" if log_file else ""
    with open(cfg, "w") as f:
        f.write(f"""global
  nbthread 1
  maxconn 4000
{log_global}defaults
{log_defaults}  mode http
  timeout connect 5s
  timeout client 60s
  timeout server 60s
  http-reuse always
frontend fe
  bind 127.0.0.1:{port} {bind_options}
  default_backend be
backend be
  balance roundrobin
{servers}
""")
    out = open(log_file, "ab") if log_file else subprocess.DEVNULL
    proc = subprocess.Popen(["haproxy", "-f", cfg, "-db"], stdout=out, stderr=subprocess.DEVNULL)
    wait_port(port)
    return proc
