"""What the registry benchmarks share: ports, waiting for a server, starting pier."""
import os
import subprocess
import sys
import time

import requests

sys.path.insert(0, os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
from benchutil import DEFAULT_PIER, ROOT, free_port  # noqa: E402,F401  (re-exported)


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
