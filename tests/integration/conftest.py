"""Helpers for end-to-end tests: they drive the built `pier` binary as a user would."""
import os
import shutil
import signal
import subprocess
import time

import pytest

PIER = os.environ.get("PIER_BIN") or os.path.join(
    os.path.dirname(__file__), "..", "..", "build", "release", "bin", "pier")


def run_pier(*args, timeout=120, **kw):
    """Runs pier to completion; returns CompletedProcess with text output."""
    return subprocess.run([PIER, *args], capture_output=True, text=True, timeout=timeout, **kw)


class Server:
    """A pier server started with port 0; `ports` maps names (resp, http) to HOST:PORT."""

    def __init__(self, args):
        self.proc = subprocess.Popen([PIER, *args], stdout=subprocess.PIPE, stderr=subprocess.PIPE,
                                     text=True)
        line = self.proc.stdout.readline()
        if not line.startswith("listening "):
            self.proc.kill()
            err = self.proc.stderr.read()
            raise RuntimeError(f"pier did not start: {line!r} {err}")
        self.ports = dict(kv.split("=", 1) for kv in line.split()[1:])

    def addr(self, name):
        host, port = self.ports[name].rsplit(":", 1)
        return host, int(port)

    def url(self, path):
        return f"http://{self.ports['http']}{path}"

    def stop(self, sig=signal.SIGTERM, timeout=20):
        if self.proc.poll() is None:
            self.proc.send_signal(sig)
            try:
                self.proc.wait(timeout=timeout)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait()
        return self.proc.returncode


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


def need(tool):
    if shutil.which(tool) is None:
        pytest.fail(f"{tool} is not installed: run scripts/install-deps test")
