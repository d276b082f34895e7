"""The README's two commands (scripts/run.sh, scripts/test.sh) and scripts/install.sh, run for real by bash
with a fake `python3`, `apt-get` and `sudo` first on PATH (tests/scripts/fake_python.py): what the scripts
create, install, skip and call, without a real installation."""

from __future__ import annotations

import json
import os
import stat
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest

ROOT = Path(__file__).resolve().parents[2]
FAKE_PYTHON = Path(__file__).with_name("fake_python.py")
FAKE_TOOL = """#!/usr/bin/env bash
printf '%s\\n' "$0 $*" >> "$FAKE_STATE/tools.log"
if [[ "$(basename "$0")" == apt-get && " $* " == *" python3-venv "* ]]; then
  touch "$FAKE_STATE/apt-python3-venv"
fi
if [[ "$(basename "$0")" == apt-cache ]]; then exit 0; fi
if [[ "$(basename "$0")" == dpkg-query ]]; then exit 1; fi
if [[ "$(basename "$0")" == sudo ]]; then exec "$@"; fi
exit 0
"""


class Sandbox:
    """A fake base Python and Debian tools on PATH, a state folder, and a virtual environment path."""

    def __init__(self, tmp_path: Path) -> None:
        self.state = tmp_path / "state"
        self.state.mkdir()
        self.bin = tmp_path / "bin"
        self.bin.mkdir()
        self.venv = tmp_path / "venv"
        self.tmp = tmp_path / "tmp"
        self.tmp.mkdir()
        python = self.bin / "python3"
        python.write_text(f"#!{sys.executable}\n" + FAKE_PYTHON.read_text(encoding="utf-8"))
        python.chmod(python.stat().st_mode | stat.S_IEXEC)
        for tool in ("apt-get", "apt-cache", "dpkg-query", "sudo"):
            path = self.bin / tool
            path.write_text(FAKE_TOOL)
            path.chmod(0o755)

    def run(self, script: str, *args: str, **env: str) -> subprocess.CompletedProcess[str]:
        """Run `bash scripts/<script>` from the repository root with the fakes first on PATH."""
        self.clear_logs()
        environment = {
            k: v for k, v in os.environ.items() if k not in ("PYTHON", "VENV", "VIRTUAL_ENV", "PORT")
        }
        environment.update(
            PATH=f"{self.bin}:/usr/bin:/bin",
            FAKE_STATE=str(self.state),
            VENV=str(self.venv),
            TMPDIR=str(self.tmp),
            **env,
        )
        return subprocess.run(
            ["bash", str(ROOT / "scripts" / script), *args],
            cwd=ROOT,
            env=environment,
            capture_output=True,
            text=True,
            timeout=60,
        )

    def clear_logs(self) -> None:
        for name in ("calls.jsonl", "tools.log"):
            (self.state / name).unlink(missing_ok=True)

    def calls(self, role: str | None = None) -> list[list[str]]:
        path = self.state / "calls.jsonl"
        records: list[dict[str, Any]] = (
            [json.loads(line) for line in path.read_text().splitlines()] if path.exists() else []
        )
        return [r["args"] for r in records if role is None or r["role"] == role]

    def pip_installs(self) -> list[list[str]]:
        return [c[3:] for c in self.calls("venv") if c[:3] == ["-m", "pip", "install"]]

    def tools(self) -> str:
        path = self.state / "tools.log"
        return path.read_text() if path.exists() else ""


@pytest.fixture
def sandbox(tmp_path: Path) -> Sandbox:
    return Sandbox(tmp_path)


def test_first_install_makes_the_venv_and_installs_torch_cpu_first(sandbox: Sandbox) -> None:
    result = sandbox.run("install.sh")
    assert result.returncode == 0, result.stderr
    assert ["-m", "venv", str(sandbox.venv)] in sandbox.calls("base")
    installs = sandbox.pip_installs()
    assert installs[0] == ["--quiet", "torch==2.13.0+cpu"]
    assert installs[-1] == ["--quiet", "-e", "."]
    # Nothing but venv creation and probes ran on the base interpreter (PEP 668: it stays untouched).
    assert not [c for c in sandbox.calls("base") if c[:2] == ["-m", "pip"]]


def test_second_run_skips_pip_and_a_changed_pyproject_reinstalls(sandbox: Sandbox, tmp_path: Path) -> None:
    assert sandbox.run("install.sh").returncode == 0
    again = sandbox.run("install.sh")
    assert again.returncode == 0 and sandbox.pip_installs() == []
    assert "unchanged" in again.stderr
    # A stamp written for another pyproject.toml (what an edited dependency list looks like).
    stamp = sandbox.venv / ".policyqa-install"
    stamp.write_text("0" * 64 + stamp.read_text()[64:])
    assert sandbox.run("install.sh").returncode == 0
    assert sandbox.pip_installs() == [["--quiet", "-e", "."]]  # torch is importable: not reinstalled


def test_dev_install_adds_the_test_tools_and_satisfies_a_plain_install(sandbox: Sandbox) -> None:
    assert sandbox.run("install.sh").returncode == 0
    assert sandbox.run("install.sh", "--dev").returncode == 0
    assert sandbox.pip_installs() == [["--quiet", "-e", ".[dev]"]]
    assert "fonts-wqy-microhei" in sandbox.tools()  # by package name, whatever fonts are installed
    assert sandbox.run("install.sh").returncode == 0 and sandbox.pip_installs() == []


def test_missing_ensurepip_installs_python3_venv_with_apt(sandbox: Sandbox) -> None:
    (sandbox.state / "no-ensurepip").touch()
    result = sandbox.run("install.sh")
    assert result.returncode == 0, result.stderr
    assert "apt-get install -y -qq python3-venv python3.11-venv" in sandbox.tools()
    assert len([c for c in sandbox.calls("base") if c[:2] == ["-m", "venv"]]) == 2
    assert (sandbox.venv / "fake-pip").exists()


def test_torch_comes_from_the_cpu_index_when_no_local_wheel(sandbox: Sandbox) -> None:
    (sandbox.state / "no-local-torch").touch()
    assert sandbox.run("install.sh").returncode == 0
    assert sandbox.pip_installs()[:2] == [
        ["--quiet", "torch==2.13.0+cpu"],
        ["--quiet", "torch==2.13.0+cpu", "--index-url", "https://download.pytorch.org/whl/cpu"],
    ]


def test_no_torch_anywhere_stops_with_what_to_set(sandbox: Sandbox) -> None:
    (sandbox.state / "no-local-torch").touch()
    (sandbox.state / "no-torch-index").touch()
    result = sandbox.run("install.sh")
    assert result.returncode != 0
    assert "could not install torch==2.13.0+cpu" in result.stderr and "TORCH_INDEX_URL" in result.stderr
    assert [c for c in sandbox.pip_installs() if "-e" in c] == []  # stopped before the project


def test_another_base_interpreter_recreates_the_venv(sandbox: Sandbox) -> None:
    assert sandbox.run("install.sh").returncode == 0
    result = sandbox.run("install.sh", FAKE_BASE_ID="/opt/python3.12/bin/python3 3.12.3")
    assert result.returncode == 0 and "recreating" in result.stderr
    assert ["-m", "venv", str(sandbox.venv)] in sandbox.calls("base")


def test_python_chooses_the_base_interpreter(sandbox: Sandbox, tmp_path: Path) -> None:
    other = tmp_path / "elsewhere" / "python3.11"
    other.parent.mkdir()
    other.write_bytes((sandbox.bin / "python3").read_bytes())
    other.chmod(0o755)
    (sandbox.bin / "python3").unlink()  # no python3 on PATH at all
    result = sandbox.run("install.sh", PYTHON=str(other))
    assert result.returncode == 0, result.stderr
    assert (sandbox.venv / "bin" / "python").exists()


def test_no_python_says_what_to_install(sandbox: Sandbox) -> None:
    (sandbox.bin / "python3").unlink()
    result = sandbox.run("install.sh", PYTHON="python3-nonexistent")
    assert result.returncode != 0 and "install python3" in result.stderr


def test_run_serves_through_the_venv_interpreter_not_path(sandbox: Sandbox) -> None:
    # The repository root holds a `policyqa` folder; PATH holds no `policyqa`: neither may matter.
    result = sandbox.run("run.sh", "--workers", "2", PORT="18123")
    assert result.returncode == 0, result.stderr
    last = sandbox.calls()[-1]
    assert last == [
        "-m", "policyqa.cli", "serve", "--host", "127.0.0.1", "--port", "18123", "--workers", "2"
    ]  # fmt: skip
    assert sandbox.calls("venv")[-1] == last


def test_test_script_runs_every_check_in_the_venv_and_removes_its_index(sandbox: Sandbox) -> None:
    result = sandbox.run("test.sh", "-x", "tests/corpus")
    assert result.returncode == 0, result.stderr
    modules = [c[1] for c in sandbox.calls("venv") if c[:1] == ["-m"] and c[1] not in ("pip", "venv")]
    assert modules == ["ruff", "mypy", "policyqa.cli", "policyqa.cli", "pytest"]
    assert sandbox.calls("venv")[-1][-2:] == ["-x", "tests/corpus"]
    build = next(c for c in sandbox.calls("venv") if c[:3] == ["-m", "policyqa.cli", "build"])
    index = Path(build[build.index("--index") + 1])
    assert str(index).startswith(str(sandbox.tmp)) and not index.exists()
    assert list(sandbox.tmp.iterdir()) == []


def test_test_script_fails_when_a_check_fails_and_still_cleans_up(sandbox: Sandbox) -> None:
    result = sandbox.run("test.sh", FAKE_EXIT_mypy="1")
    assert result.returncode != 0
    assert not [c for c in sandbox.calls("venv") if c[:2] == ["-m", "pytest"]]
    assert list(sandbox.tmp.iterdir()) == []


def test_ci_entry_point_is_the_readme_test_command() -> None:
    ci = (ROOT / ".ci" / "run").read_text(encoding="utf-8")
    readme = (ROOT / "README.md").read_text(encoding="utf-8")
    assert "bash scripts/test.sh" in ci
    setup = readme.split("## Set-up", 1)[1].split("\n## ", 1)[0]
    assert [line for line in setup.splitlines() if line.startswith("bash ")] == [
        "bash scripts/run.sh",
        "bash scripts/test.sh",
    ]
