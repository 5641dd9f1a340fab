"""What the registry benchmarks share: ports, waiting for a server, starting pier."""
import os
import socket
import subprocess
import time

import requests

ROOT = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
DEFAULT_PIER = os.path.join(ROOT, "build", "release", "bin", "pier")


def free_port():
    s = socket.socket()
    s.bind(("127.0.0.1", 0))
    p = s.getsockname()[1]
    s.close()
    return p


def wait_http(url):
    """Returns once `url` answers at all (any status)."""
    for _ in range(400):
        try:
            requests.get(url, timeout=1)
            return
        except requests.ConnectionError:
            time.sleep(0.025)  # waiting for a server process to listen
    raise RuntimeError(f"{url} did not answer")


def start_pier_registry(pier, data_dir, *extra):
    """`pier registry` on a free port; returns (process, HOST:PORT)."""
    p = subprocess.Popen([pier, "registry", "--http", "127.0.0.1:0", "--data-dir", data_dir,
                          "--log-level", "warn", *extra],
                         stdout=subprocess.PIPE, stderr=subprocess.DEVNULL, text=True)
    line = p.stdout.readline()
    return p, dict(kv.split("=", 1) for kv in line.split()[1:])["http"]
