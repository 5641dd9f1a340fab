"""The Debian package (`cmake --build --preset release --target package`): lintian finds no
error, it holds what an operator needs, and the binary it installs serves."""
import io
import pathlib
import subprocess
import tarfile

import redis

from conftest import PIER, Server, need

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
