"""`policyqa serve`'s question before it starts: is the index still the corpus folder's?"""

from __future__ import annotations

import json
import shutil
from pathlib import Path

import pytest

from corpus.load import load_corpus
from index.build import build_index
from index.store import load_index
from index.tokenize import TOKENIZER_VERSION
from index.update import remove_documents, set_status
from service.freshness import (
    Freshness,
    built_by_an_older_program,
    check_freshness,
    record_corpus_folder,
    recorded_corpus_folder,
)

CORPUS = Path(__file__).resolve().parents[2] / "corpus" / "data"


@pytest.fixture
def corpus(tmp_path: Path) -> Path:
    folder = tmp_path / "corpus"
    shutil.copytree(CORPUS, folder)
    return folder


@pytest.fixture
def index(corpus: Path, tmp_path: Path) -> Path:
    out = tmp_path / "index"
    build_index(load_corpus(corpus), out, embed_model=None, progress=False)
    return out


def verdict(index: Path, corpus: Path):  # type: ignore[no-untyped-def]
    loaded = load_index(index, load_vectors=False)
    return check_freshness(loaded.manifest, loaded.documents, corpus)


def test_an_index_built_from_the_folder_is_current(index: Path, corpus: Path) -> None:
    report = verdict(index, corpus)
    assert report.freshness is Freshness.CURRENT
    assert report.corpus_documents == report.index_documents == 5


def test_a_removed_document_makes_it_stale(index: Path, corpus: Path) -> None:
    (corpus / "yuzhong-interpretation.txt").unlink()
    report = verdict(index, corpus)
    assert report.freshness is Freshness.STALE
    assert (report.corpus_documents, report.index_documents) == (4, 5)
    assert "1 removed" in report.reason


def test_an_edited_document_makes_it_stale(index: Path, corpus: Path) -> None:
    path = corpus / "guangxi-plan.txt"
    text = path.read_text(encoding="utf-8")
    path.write_text(text.replace("儿童", "少年儿童", 1), encoding="utf-8")
    report = verdict(index, corpus)
    assert report.freshness is Freshness.STALE and "1 edited" in report.reason


def test_a_new_document_makes_it_stale(index: Path, corpus: Path) -> None:
    shutil.copy(corpus / "guangxi-plan.txt", corpus / "guangxi-plan-copy.txt")
    assert "1 added" in verdict(index, corpus).reason


def test_an_index_edited_in_place_is_kept_not_rebuilt(index: Path, corpus: Path) -> None:
    remove_documents(index, ["yuzhong-interpretation"])  # what `policyqa remove` and the admin API do
    report = verdict(index, corpus)
    assert report.freshness is Freshness.CHANGED_IN_PLACE
    assert (report.corpus_documents, report.index_documents) == (5, 4)


def test_a_status_set_by_staff_counts_as_an_edit_in_place(index: Path, corpus: Path) -> None:
    set_status(index, "yuzhong-plan", repealed=True)
    (corpus / "guangxi-plan.txt").unlink()
    assert verdict(index, corpus).freshness is Freshness.CHANGED_IN_PLACE


def test_no_corpus_folder_serves_what_is_built(index: Path, tmp_path: Path) -> None:
    report = verdict(index, tmp_path / "missing")
    assert report.freshness is Freshness.NO_CORPUS and report.index_documents == 5


def test_the_corpus_folder_of_a_build_is_recorded_in_the_index(index: Path, corpus: Path) -> None:
    assert (
        recorded_corpus_folder(index) is None
    )  # build_index alone does not record it; `policyqa build` does
    record_corpus_folder(index, corpus)
    assert recorded_corpus_folder(index) == corpus.resolve()
    assert load_index(index, load_vectors=False).manifest["document_count"] == 5  # the index still loads


def _rewrite_manifest(index: Path, change) -> None:  # type: ignore[no-untyped-def]
    path = index / "manifest.json"
    manifest = json.loads(path.read_text(encoding="utf-8"))
    change(manifest)
    path.write_text(json.dumps(manifest), encoding="utf-8")


def test_an_index_cut_by_an_older_tokenizer_is_stale(index: Path, corpus: Path) -> None:
    _rewrite_manifest(index, lambda m: m["tokenizer"].update(version=TOKENIZER_VERSION - 1))
    report = verdict(index, corpus)
    assert report.freshness is Freshness.STALE and "tokenizer version" in report.reason


def test_clause_vectors_without_sentence_vectors_are_stale(index: Path, corpus: Path) -> None:
    embedding = {"model": "m", "model_version": None, "dimension": 8, "index_kind": "flat", "sentences": None}
    _rewrite_manifest(index, lambda m: m.update(embedding=embedding))
    assert built_by_an_older_program(json.loads((index / "manifest.json").read_text(encoding="utf-8")))
    embedding["sentences"] = 12
    _rewrite_manifest(index, lambda m: m.update(embedding=embedding))
    assert not built_by_an_older_program(json.loads((index / "manifest.json").read_text(encoding="utf-8")))


def test_an_older_index_edited_in_place_is_still_kept(index: Path, corpus: Path) -> None:
    set_status(index, "guangxi-plan", repealed=True)
    _rewrite_manifest(index, lambda m: m["tokenizer"].update(version=TOKENIZER_VERSION - 1))
    # Served as it is: a build would drop the staff's edit.
    assert verdict(index, corpus).freshness is Freshness.CURRENT
