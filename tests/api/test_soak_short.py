"""CI's short soak: 10 clients for 10 s against a real server; zero 5xx, bounded memory (scripts/soak.py)."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]


def test_short_soak_passes(built_index: Path, tmp_path: Path) -> None:
    done = subprocess.run(
        [
            sys.executable,
            str(ROOT / "scripts" / "soak.py"),
            "--clients",
            "10",
            "--duration",
            "10",
            "--index",
            str(built_index),
            "--query-log",
            str(tmp_path / "queries.sqlite"),
            "--json",
        ],
        cwd=ROOT,
        capture_output=True,
        text=True,
        timeout=240,
    )
    assert done.returncode == 0, done.stdout + done.stderr
    summary = json.loads(done.stdout.strip().splitlines()[-1])
    assert summary["failures"] == []
    assert all(kind["count"] > 0 and kind["server_errors"] == 0 for kind in summary["kinds"].values())
    assert summary["kinds"]["ask"]["statuses"] == {"200": summary["kinds"]["ask"]["count"]}
