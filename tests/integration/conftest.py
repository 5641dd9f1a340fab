"""Helpers for end-to-end tests: they drive the built `pier` binary as a user would."""
import os
import shutil
import signal
import subprocess
import time

import pytest

PIER = os.environ.get("PIER_BIN") or os.path.join(
    os.path.dirname(__file__), "..", "..", "build", "release", "bin", "pier")

# Every pier server these tests start takes its API token from PIER_TOKEN (and the CLI commands
# send it); Consul clients are given it as they would be for a Consul with ACLs. Tests of the
# token file itself start servers without it (env_without_token).
TOKEN = "pier-e2e-token"
AUTH = {"Authorization": f"Bearer {TOKEN}"}
os.environ["PIER_TOKEN"] = TOKEN


def consul_client(host, port, token=TOKEN, **kw):
    """A python-consul client that sends `token` on every request: python-consul 0.7 passes its
    token to some calls only (not to ttl_pass or deregister), so it goes in the session's
    headers, as a user of pier or of a Consul with ACLs would set it."""
    import consul
    c = consul.Consul(host=host, port=port, token=token, **kw)
    if token:
        c.http.session.headers["X-Consul-Token"] = token
    return c


def env_without_token():
    env = dict(os.environ)
    env.pop("PIER_TOKEN", None)
    return env


def run_pier(*args, timeout=120, **kw):
    """Runs pier to completion; returns CompletedProcess with text output."""
    return subprocess.run([PIER, *args], capture_output=True, text=True, timeout=timeout, **kw)


class Server:
    """A pier server started with port 0; `ports` maps names (resp, http) to HOST:PORT."""

    def __init__(self, args, env=None):
        # stderr goes to a file, not a pipe: a pipe nobody reads fills up and blocks the server
        # (a sanitizer report is tens of KiB).
        import tempfile
        self.err_file = tempfile.TemporaryFile(mode="w+")
        self.proc = subprocess.Popen([PIER, *args], stdout=subprocess.PIPE, stderr=self.err_file,
                                     text=True, env=env)
        line = self.proc.stdout.readline()
        if not line.startswith("listening "):
            self.proc.kill()
            self.proc.wait()
            raise RuntimeError(f"pier did not start: {line!r} {self.stderr()}")
        self.ports = dict(kv.split("=", 1) for kv in line.split()[1:])

    def stderr(self):
        """Everything the server wrote to stderr so far."""
        self.err_file.seek(0)
        return self.err_file.read()

    def addr(self, name):
        host, port = self.ports[name].rsplit(":", 1)
        return host, int(port)

    def url(self, path):
        return f"http://{self.ports['http']}{path}"

    def stop(self, sig=signal.SIGTERM, timeout=20):
        """Stops the server; a clean stop (SIGTERM/SIGINT) must exit 0, and no server may print
        a sanitizer report (the ASan/UBSan binary's leaks and errors at shutdown)."""
        if self.proc.poll() is None:
            self.proc.send_signal(sig)
            try:
                self.proc.wait(timeout=timeout)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait()
                raise AssertionError(f"pier did not stop within {timeout}s of {sig!r}")
            if sig in (signal.SIGTERM, signal.SIGINT) and self.proc.returncode != 0:
                raise AssertionError(f"pier exited {self.proc.returncode} on {sig!r}: "
                                     f"{self.stderr()[-4000:]}")
        err = self.stderr()
        for marker in ("ERROR: AddressSanitizer", "ERROR: LeakSanitizer", "runtime error:",
                       "WARNING: ThreadSanitizer"):
            if marker in err:
                raise AssertionError(f"sanitizer report from pier: {err[-6000:]}")
        return self.proc.returncode


def pier_up(tmp_path, text, *extra):
    """Runs `pier up` on the spec `text` (written to tmp_path) and returns its Server once the
    summary line is out; `s.lines` holds what it printed, `s.tmp` is tmp_path, and its stdout
    is drained from then on."""
    import threading
    spec = tmp_path / "pier.yaml"
    spec.write_text(text)
    s = Server(["up", str(spec), "--http", "127.0.0.1:0", "--data-dir", str(tmp_path / "data"),
                *extra])
    s.lines, s.tmp = [], tmp_path
    while not s.lines or not s.lines[-1].startswith("up: "):
        line = s.proc.stdout.readline()
        if not line:
            s.stop()
            raise AssertionError(f"pier up ended: {''.join(s.lines)} {s.stderr()}")
        s.lines.append(line)
    threading.Thread(target=s.proc.stdout.read, daemon=True).start()
    return s


@pytest.fixture
def start_pier():
    servers = []

    def start(*args):
        s = Server(list(args))
        servers.append(s)
        return s

    yield start
    for s in servers:
        s.stop()


# Skips CI accepts, each with why: anything else that skips fails the run (pytest_terminal_summary).
ALLOWED_SKIPS = {
    # Some kernels (and containers) do not let a process create cgroups; the driver then runs
    # without limits and says so, which the test checks up to that point.
    "test_process_limits_go_into_a_cgroup": "this machine does not allow cgroup limits",
}


def pytest_sessionfinish(session, exitstatus):
    reporter = session.config.pluginmanager.get_plugin("terminalreporter")
    skipped = reporter.stats.get("skipped", []) if reporter else []
    unexpected = [r.nodeid for r in skipped if not any(n in r.nodeid for n in ALLOWED_SKIPS)]
    if unexpected:
        reporter.write_line("skipped without being on ALLOWED_SKIPS in conftest.py: " +
                            ", ".join(unexpected), red=True)
        session.exitstatus = 1


def need(tool):
    if shutil.which(tool) is None:
        pytest.fail(f"{tool} is not installed: run scripts/install-deps test")


def free_port():
    import socket
    s = socket.socket()
    s.bind(("127.0.0.1", 0))
    port = s.getsockname()[1]
    s.close()
    return port


@pytest.fixture(scope="module")
def redis_server():
    """A real redis-server (no persistence) on a free port, for differential tests."""
    need("redis-server")
    port = free_port()
    proc = subprocess.Popen(["redis-server", "--port", str(port), "--bind", "127.0.0.1",
                             "--save", "", "--appendonly", "no",
                             # pier has one database (db 0); compare against the same
                             "--databases", "1"],
                            stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    import redis
    r = redis.Redis(port=port)
    for _ in range(200):
        try:
            r.ping()
            break
        except redis.ConnectionError:
            time.sleep(0.05)  # waiting for a process to start listening, not for a timer
    yield port
    proc.terminate()
    proc.wait(timeout=10)


@pytest.fixture(scope="module")
def pier_cache():
    """A `pier cache` on free ports for a whole test module."""
    s = Server(["cache", "--listen", "127.0.0.1:0", "--http", "127.0.0.1:0"])
    yield s
    s.stop()


@pytest.fixture(scope="module")
def pier_two_threads():
    """A `pier cache` with two I/O threads (clients spread over both), its RESP port."""
    s = Server(["cache", "--listen", "127.0.0.1:0", "--http", "127.0.0.1:0", "--threads", "2"])
    yield s.addr("resp")[1]
    s.stop()


@pytest.fixture(params=["redis-server", "pier"])
def port(request, pier_two_threads):
    """Each test twice: against redis-server 7.0 (so the expectation is Redis's) and pier."""
    if request.param == "pier":
        return pier_two_threads
    need("redis-server")
    return request.getfixturevalue("redis_server")
