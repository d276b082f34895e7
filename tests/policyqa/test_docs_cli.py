"""`policyqa add/remove/supersede` on folders that are not a readable index: one line, exit 1, nothing
written."""

from __future__ import annotations

import shutil
from pathlib import Path

import pytest

from policyqa.cli import main
from tests.conftest import CORPUS_DIR


def _snapshot(folder: Path) -> dict[str, bytes]:
    return {p.name: p.read_bytes() for p in sorted(folder.iterdir())}


def test_add_refuses_a_damaged_index_folder(
    built_index: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    index_dir = tmp_path / "index"
    shutil.copytree(built_index, index_dir)
    (index_dir / "manifest.json").unlink()  # the library's files are all still there
    before = _snapshot(index_dir)
    source = CORPUS_DIR / "guangxi-plan.txt"
    assert main(["add", str(source), "--index", str(index_dir), "--id", "gx2", "--yes"]) == 1
    assert "no manifest.json" in capsys.readouterr().err
    assert main(["remove", "guangxi-plan", "--index", str(index_dir)]) == 1
    assert main(["supersede", "guangxi-plan", "--repeal", "--index", str(index_dir)]) == 1
    assert _snapshot(index_dir) == before


def test_remove_from_a_missing_index_says_there_is_none(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    assert main(["remove", "guangxi-plan", "--index", str(tmp_path / "none")]) == 1
    assert "there is no index" in capsys.readouterr().err
    assert not (tmp_path / "none").exists()


def test_an_id_with_a_line_break_is_refused_as_in_the_admin_api(capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["add", str(CORPUS_DIR / "guangxi-plan.txt"), "--id", "gx\n", "--dry-run"]) == 2
    assert "not a usable document id" in capsys.readouterr().err
