"""The files docs/deploy.md installs: the nginx site passes `nginx -t`, the systemd unit passes
`systemd-analyze verify` (each where the tool is installed), and the guide names what it ships."""

from __future__ import annotations

import re
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]
DEPLOY = ROOT / "deploy"


def _tool(name: str) -> str:
    path = shutil.which(name) or (f"/usr/sbin/{name}" if Path(f"/usr/sbin/{name}").exists() else None)
    if path is None:
        pytest.skip(f"{name} is not installed")
    return path


def test_the_nginx_site_passes_nginx_t(tmp_path: Path) -> None:
    nginx = _tool("nginx")
    openssl = _tool("openssl")
    subprocess.run(
        [openssl, "req", "-x509", "-newkey", "rsa:2048", "-nodes", "-subj", "/CN=qa.example.gov.cn",
         "-keyout", str(tmp_path / "key.pem"), "-out", str(tmp_path / "cert.pem"), "-days", "1"],
        check=True, capture_output=True,
    )  # fmt: skip
    site = (DEPLOY / "nginx-policyqa.conf").read_text(encoding="utf-8")
    # The same file with the certificate and log paths of this test (the real ones do not exist here).
    site = re.sub(r"/etc/letsencrypt/live/[^;]+/fullchain.pem", str(tmp_path / "cert.pem"), site)
    site = re.sub(r"/etc/letsencrypt/live/[^;]+/privkey.pem", str(tmp_path / "key.pem"), site)
    site = site.replace("/var/log/nginx/", f"{tmp_path}/")
    (tmp_path / "site.conf").write_text(site, encoding="utf-8")
    (tmp_path / "nginx.conf").write_text(
        f"pid {tmp_path}/nginx.pid;\nerror_log {tmp_path}/error.log;\nevents {{}}\n"
        f"http {{ include {tmp_path}/site.conf; }}\n",
        encoding="utf-8",
    )
    result = subprocess.run(
        [nginx, "-t", "-c", str(tmp_path / "nginx.conf"), "-p", str(tmp_path)], capture_output=True, text=True
    )
    assert result.returncode == 0, result.stderr
    assert "syntax is ok" in result.stderr


def test_the_systemd_unit_passes_systemd_analyze_verify(tmp_path: Path) -> None:
    analyze = _tool("systemd-analyze")
    unit = (DEPLOY / "policyqa.service").read_text(encoding="utf-8")
    assert "ExecStart=/opt/policyqa/.venv/bin/python -m policyqa.cli serve " in unit
    # verify checks that ExecStart's program exists: point it at this checkout's interpreter.
    unit = unit.replace("/opt/policyqa/.venv/bin/python", sys.executable).replace("/opt/policyqa", str(ROOT))
    path = tmp_path / "policyqa.service"
    path.write_text(unit, encoding="utf-8")
    result = subprocess.run([analyze, "verify", str(path)], capture_output=True, text=True)
    assert result.returncode == 0, result.stderr
    assert "policyqa.service" not in result.stderr, result.stderr  # no warnings about our unit


def test_the_guide_is_linked_and_names_what_it_installs() -> None:
    guide = (ROOT / "docs" / "deploy.md").read_text(encoding="utf-8")
    assert "docs/deploy.md" in (ROOT / "README.md").read_text(encoding="utf-8")
    for shipped in DEPLOY.iterdir():
        assert f"deploy/{shipped.name}" in guide, shipped.name
    for topic in ("REDIS_URL", "--workers", "systemctl reload policyqa", "/wechat", ".backup", "journalctl"):
        assert topic in guide, topic
