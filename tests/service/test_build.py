"""Building a corpus folder: a folder that cannot be built is named by its error and leaves the index as it
was; a built index remembers the folder it came from."""

from __future__ import annotations

import shutil
from pathlib import Path

import pytest

from index.store import load_index
from service.build import CorpusNotFound, CorpusUnreadable, EmptyCorpus, build_corpus
from service.freshness import recorded_corpus_folder
from tests.conftest import CORPUS_DIR


def _build(corpus: Path, index_dir: Path) -> object:
    return build_corpus(corpus, index_dir, None, warn=lambda _: None, progress=False)


def test_a_build_records_its_corpus_folder(tmp_path: Path) -> None:
    built = build_corpus(CORPUS_DIR, tmp_path / "index", None, warn=lambda _: None, progress=False)
    assert built.documents == len(list(CORPUS_DIR.glob("*.txt")))
    assert built.report.clause_count == len(load_index(tmp_path / "index").clauses)
    assert recorded_corpus_folder(tmp_path / "index") == CORPUS_DIR.resolve()


def test_folders_that_cannot_be_built_leave_the_index_unchanged(built_index: Path, tmp_path: Path) -> None:
    index_dir = tmp_path / "index"
    shutil.copytree(built_index, index_dir)
    before = {p.name: p.read_bytes() for p in index_dir.iterdir()}
    with pytest.raises(CorpusNotFound):
        _build(tmp_path / "nowhere", index_dir)
    (tmp_path / "empty").mkdir()
    with pytest.raises(EmptyCorpus):
        _build(tmp_path / "empty", index_dir)
    broken = tmp_path / "broken"
    broken.mkdir()
    (broken / "plan.txt").write_bytes("第一条　托育。".encode("gbk"))
    with pytest.raises(CorpusUnreadable, match="UTF-8"):
        _build(broken, index_dir)
    assert {p.name: p.read_bytes() for p in index_dir.iterdir()} == before
