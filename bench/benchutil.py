"""What every benchmark script shares: the repository root, free ports, waiting for a server.

Scripts in bench/<module>/ import it after putting bench/ on sys.path:
  sys.path.insert(0, os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
"""
import os
import socket
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
