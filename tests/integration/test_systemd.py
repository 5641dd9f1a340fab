"""pier under systemd: the units in packaging/systemd pass `systemd-analyze verify`, and a
server speaks the Type=notify protocol (READY=1, watchdog pings, STOPPING=1) to the socket
systemd names in NOTIFY_SOCKET (a socket of the test's here)."""
import os
import pathlib
import socket
import subprocess

from conftest import PIER, Server, need

UNITS = pathlib.Path(__file__).resolve().parents[2] / "packaging" / "systemd"


def test_units_verify_cleanly(tmp_path):
    need("systemd-analyze")
    bindir = os.path.dirname(os.path.abspath(PIER))
    names = []
    for template in sorted(UNITS.glob("*.service.in")):
        name = template.name[:-3].replace("@.", "@demo.")  # a template needs an instance
        (tmp_path / name).write_text(template.read_text().replace("@PIER_BINDIR@", bindir))
        names.append(name)
    assert len(names) == 5
    r = subprocess.run(["systemd-analyze", "verify", *names], cwd=tmp_path,
                       capture_output=True, text=True)
    # Warnings (an unknown key, a bad value) come out on stderr with status 0: none allowed.
    assert r.returncode == 0 and r.stderr == "" and r.stdout == "", r.stderr + r.stdout
    for name in names:
        assert "Type=notify" in (tmp_path / name).read_text()


def test_a_server_tells_systemd_it_is_ready_alive_and_stopping(tmp_path):
    path = str(tmp_path / "notify")
    sock = socket.socket(socket.AF_UNIX, socket.SOCK_DGRAM)
    sock.bind(path)
    sock.settimeout(20)
    env = dict(os.environ, NOTIFY_SOCKET=path, WATCHDOG_USEC="200000")
    s = Server(["cache", "--listen", "127.0.0.1:0", "--http", "127.0.0.1:0"], env=env)
    try:
        ready = sock.recv(256).decode()
        assert ready.startswith("READY=1\n") and f"MAINPID={s.proc.pid}" in ready
        # A ping at half the watchdog interval, from the loop that takes the signals.
        assert sock.recv(256) == b"WATCHDOG=1"
    finally:
        assert s.stop() == 0
    messages = []
    sock.settimeout(0)
    while True:
        try:
            messages.append(sock.recv(256))
        except BlockingIOError:
            break
    assert messages and messages[-1] == b"STOPPING=1", messages
    sock.close()

