"""The README's nginx example, tested (issue 15): its server block, as written in "The server on the internet"
with only the name, port, certificate paths and upstream port filled in, runs in a throwaway nginx of the test's
own (its own prefix and config, a loopback port, a certificate made by the test) in front of a real `caja serve`.
A real till made by `caja init` syncs through it over https with `[sync] ca_file`, and `/metrics` reached through
the proxy asks for its token (the proxy's X-Forwarded-For says the client is not on the server's machine)."""

from __future__ import annotations

import os
import re
import shutil
import subprocess
import time
from pathlib import Path

import pytest
import requests

from tests.certs import make_pki
from tests.pg import free_port
from tests.server.test_tls import _set_ca_file, _till
from tests.server_proc import ROOT, ServerProcess

NGINX = shutil.which("nginx") or ("/usr/sbin/nginx" if os.path.exists("/usr/sbin/nginx") else None)


def readme_nginx_block() -> str:
    """The `server { ... }` block that follows "nginx:" in the README's section on the server on the internet."""
    text = (ROOT / "README.md").read_text(encoding="utf-8")
    section = text[text.index("### The server on the internet") :]
    block = re.search(r"\nnginx[^\n]*(?:\n[^\n]+)*:\n\n```\n(server \{.*?\n\})\n```", section, re.S)
    assert block, "the README's nginx example is gone from 'The server on the internet'"
    return block.group(1)


def config_for(prefix: Path, port: int, upstream: int, cert: Path, key: Path) -> str:
    server = readme_nginx_block()
    for old, new in (
        ("listen 443 ssl;", f"listen 127.0.0.1:{port} ssl;"),
        ("server_name caja.example.com;", "server_name localhost;"),
        ("/etc/letsencrypt/live/caja.example.com/fullchain.pem", str(cert)),
        ("/etc/letsencrypt/live/caja.example.com/privkey.pem", str(key)),
        ("http://127.0.0.1:8765", f"http://127.0.0.1:{upstream}"),
    ):
        assert old in server, f"the README's nginx example no longer has {old!r}"
        server = server.replace(old, new)
    temp = "\n".join(
        f"    {kind}_temp_path {prefix / kind};" for kind in ("client_body", "proxy", "fastcgi", "uwsgi", "scgi")
    )
    user = "user root;\n" if os.geteuid() == 0 else ""  # its workers write the test's own temp folders
    return (
        f"{user}worker_processes 1;\npid {prefix / 'nginx.pid'};\nerror_log {prefix / 'error.log'};\n"
        f"events {{ worker_connections 64; }}\nhttp {{\n    access_log off;\n{temp}\n{server}\n}}\n"
    )


@pytest.mark.skipif(NGINX is None, reason="nginx is installed by `make test` (.ci/ensure-nginx)")
def test_a_till_syncs_through_the_readme_nginx_example_over_https(tmp_path):
    pki = make_pki(tmp_path / "pki")
    srv = ServerProcess(str(tmp_path / "server.db"), workers=1).start()  # plain HTTP on 127.0.0.1, as the README
    prefix, port = tmp_path / "nginx", free_port()
    prefix.mkdir()
    conf = prefix / "nginx.conf"
    conf.write_text(config_for(prefix, port, srv.port, pki.cert, pki.key))
    checked = subprocess.run([NGINX, "-t", "-p", str(prefix), "-c", str(conf)], capture_output=True, text=True)
    assert checked.returncode == 0, checked.stderr
    proxy = subprocess.Popen([NGINX, "-p", str(prefix), "-c", str(conf), "-g", "daemon off;"], stderr=subprocess.PIPE)
    try:
        url = f"https://127.0.0.1:{port}"
        deadline = time.monotonic() + 15
        while True:
            try:
                if requests.get(f"{url}/v1/health", verify=str(pki.ca), timeout=2).status_code == 200:
                    break
            except requests.RequestException:
                pass
            assert time.monotonic() < deadline and proxy.poll() is None, "nginx never answered"
            time.sleep(0.1)
        srv_through = type("Through", (), {"url": url, "enroll": srv.enroll})()
        cfg, caja, _ = _till(tmp_path, srv_through)
        _set_ca_file(cfg, pki.ca)
        once = caja("sync", "--once")
        assert once.returncode == 0, once.stdout + once.stderr
        assert re.search(r"pushed [1-9]\d*, pulled 0; pending 0, failed 0", once.stdout), once.stdout
        held = srv.caja("devices", "--json").stdout
        assert '"device_id": "T1"' in held and '"last_seq": 0' not in held  # through nginx, onto the server
        metrics = requests.get(f"{url}/metrics", verify=str(pki.ca), timeout=5)
        assert metrics.status_code == 401, metrics.status_code  # from beyond the proxy: the token is asked
    finally:
        proxy.terminate()
        proxy.wait(10)
        srv.stop()
