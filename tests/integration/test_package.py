"""The Debian package (`cmake --build --preset release --target package`): lintian finds no
error, it holds what an operator needs, the binary it installs serves, and the container image
built from it (packaging/container/build-image: a Debian 12 root from Debian's archive, so it
needs dockerd and the archive) serves and reports healthy."""
import io
import json
import os
import pathlib
import subprocess
import tarfile
import time

import redis

from conftest import PIER, Server, free_port, need

DEB_DIR = pathlib.Path(PIER).resolve().parents[1]  # build/release/bin/pier -> build/release


def deb():
    found = sorted(DEB_DIR.glob("pier_*_amd64.deb"))
    assert found, f"no package in {DEB_DIR}: cmake --build --preset release --target package"
    return found[-1]


def test_lintian_reports_no_error():
    need("lintian")
    r = subprocess.run(["lintian", str(deb())], capture_output=True, text=True)
    errors = [line for line in r.stdout.splitlines() if line.startswith("E:")]
    assert r.returncode == 0 and not errors, r.stdout + r.stderr


def test_the_package_holds_binary_library_units_man_pages_and_completion():
    listing = subprocess.run(["dpkg-deb", "-c", str(deb())], capture_output=True, text=True,
                             check=True).stdout
    files = {line.split()[-1].lstrip(".") for line in listing.splitlines()}
    for path in ["/usr/bin/pier", "/usr/include/pier/net/resp_server.h",
                 "/usr/lib/cmake/pier/pierConfig.cmake", "/usr/lib/libpier_cache.a",
                 "/usr/lib/systemd/system/pier-cache.service",
                 "/usr/lib/systemd/system/pier@.service",
                 "/usr/share/man/man1/pier.1.gz", "/usr/share/man/man1/pier-proxy.1.gz",
                 "/usr/share/bash-completion/completions/pier",
                 "/usr/share/doc/pier/copyright"]:
        assert path in files, path
    tar = subprocess.run(["dpkg-deb", "--fsys-tarfile", str(deb())], capture_output=True,
                         check=True).stdout
    with tarfile.open(fileobj=io.BytesIO(tar)) as t:
        unit = t.extractfile("./usr/lib/systemd/system/pier-cache.service").read().decode()
    assert "\nExecStart=/usr/bin/pier cache " in unit  # the installed binary's path
    control = subprocess.run(["dpkg-deb", "-f", str(deb()), "Depends"], capture_output=True,
                             text=True, check=True).stdout
    assert "libssl3" in control and "liblua5.1-0" in control


def test_the_packaged_binary_serves(tmp_path):
    subprocess.run(["dpkg-deb", "-x", str(deb()), str(tmp_path)], check=True)
    binary = tmp_path / "usr/bin/pier"
    version = subprocess.run([str(binary), "--version"], capture_output=True, text=True)
    assert version.stdout.startswith("pier ")
    import conftest
    saved, conftest.PIER = conftest.PIER, str(binary)
    try:
        s = Server(["cache", "--listen", "127.0.0.1:0", "--http", "127.0.0.1:0"])
    finally:
        conftest.PIER = saved
    try:
        r = redis.Redis(*s.addr("resp"))
        assert r.set("packaged", "yes") and r.get("packaged") == b"yes"
    finally:
        assert s.stop() == 0


def docker(*args, timeout=120):
    r = subprocess.run(["docker", *args], capture_output=True, text=True, timeout=timeout)
    assert r.returncode == 0, r.stderr
    return r.stdout.strip()


def test_the_image_built_from_the_package_serves_and_reports_healthy():
    """packaging/container/build-image: apt installs the .deb in a pristine Debian 12 root
    (so its Depends are right), and the image's health check is `pier health`."""
    need("mmdebstrap")
    need("docker")
    root = pathlib.Path(__file__).resolve().parents[2]
    tag = "local/pier-package:test"
    built = subprocess.run([str(root / "packaging/container/build-image"), str(deb()), tag],
                           capture_output=True, text=True, timeout=900)
    assert built.returncode == 0 and built.stdout.strip().endswith(tag), built.stderr[-3000:]
    config = json.loads(docker("inspect", "--format", "{{json .Config}}", tag))
    assert config["Healthcheck"]["Test"] == ["CMD", "pier", "health"]
    assert config["User"] == "pier" and config["Entrypoint"] == ["pier"]
    assert docker("run", "--rm", tag, "--version").startswith("pier ")
    assert "Status: install ok installed" in docker("run", "--rm", "--entrypoint", "dpkg", tag,
                                                     "-s", "pier")
    resp, http = free_port(), free_port()
    name = f"pier-package-test-{os.getpid()}"
    # Host networking keeps every byte on loopback; the health check follows the --http given.
    docker("run", "-d", "--name", name, "--network", "host", "--health-interval", "1s",
           "--health-cmd", f"pier health --http 127.0.0.1:{http}", tag, "cache", "--listen",
           f"127.0.0.1:{resp}", "--http", f"127.0.0.1:{http}")
    try:
        deadline = time.time() + 60
        status = ""
        while time.time() < deadline and status != "healthy":
            status = docker("inspect", "--format", "{{.State.Health.Status}}", name)
            time.sleep(0.2)  # docker runs the health check on its own timer
        assert status == "healthy", docker("logs", name)
        r = redis.Redis("127.0.0.1", resp)
        assert r.set("from-the-image", "yes") and r.get("from-the-image") == b"yes"
        assert docker("exec", name, "id", "-un") == "pier"
    finally:
        subprocess.run(["docker", "rm", "-f", name], capture_output=True)
