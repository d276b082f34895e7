"""Incremental index updates: adding the bundled documents one by one equals the bundled build,
re-adding is a no-op, removal and superseding change what is answered, vectors are appended."""

from __future__ import annotations

import json
import shutil
from pathlib import Path

import numpy as np
import pytest

from corpus.extract import extract_file, parse_extracted
from corpus.load import load_corpus
from corpus.models import Document
from corpus.parse import parse_text
from index.build import build_index, indexed_text
from index.dense import Embedder
from index.sentences import passages_of
from index.store import MANIFEST_FILE, TOKENS_FILE, load_index, read_tokens
from index.update import (
    DamagedIndexError,
    NoIndexError,
    UnknownDocumentError,
    UpdateError,
    add_documents,
    remove_documents,
    set_status,
)
from rag.engine import Engine
from tests.conftest import CORPUS_DIR

QUERIES = (
    "托育服务机构",
    "儿童友好医院建设",
    "渝中府办〔2024〕7号",
    "广西壮族自治区儿童之家",
    "新生儿死亡率",
)


def _source_documents() -> list[Document]:
    """The bundled files read through the add path (extract + parse), in file-name order."""
    return [parse_extracted(extract_file(p), p.stem) for p in sorted(CORPUS_DIR.glob("*.txt"))]


@pytest.fixture(scope="module")
def incremental_index(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """An index made by adding the five bundled documents one at a time to an empty index."""
    out = tmp_path_factory.mktemp("incremental") / "index"
    for document in _source_documents():
        report = add_documents(out, [document])
        assert report.added == (document.meta.id,) and report.written
    return out


def _bm25_scores(index_dir: Path, query: str) -> dict[str, float]:
    loaded = load_index(index_dir, load_vectors=False)
    scores = loaded.bm25.scores(loaded.tokenizer(query))
    return {c.id: float(s) for c, s in zip(loaded.clauses, scores, strict=True)}


def test_adding_one_by_one_equals_the_bundled_build(incremental_index: Path, built_index: Path) -> None:
    added, bundled = load_index(incremental_index), load_index(built_index)
    assert added.clauses == bundled.clauses
    assert [d.to_dict() for d in added.documents] == [d.to_dict() for d in bundled.documents]
    assert added.tokenizer.settings() == bundled.tokenizer.settings()
    assert added.bm25.vocabulary == bundled.bm25.vocabulary
    assert np.array_equal(added.bm25.doc_lengths, bundled.bm25.doc_lengths)
    assert (added.bm25.weights != bundled.bm25.weights).nnz == 0
    for query in QUERIES:
        assert _bm25_scores(incremental_index, query) == pytest.approx(_bm25_scores(built_index, query))
    assert added.manifest["corpus_checksum"] == bundled.manifest["corpus_checksum"]
    # One writer: the same files, the same stored tokens; only the in-place change says it is one.
    assert set(added.manifest["files"]) == set(bundled.manifest["files"])
    count = len(bundled.clauses)
    assert read_tokens(incremental_index, added.manifest, count) == read_tokens(
        built_index, bundled.manifest, count
    )
    assert (added.manifest["edited"], bundled.manifest["edited"]) == (True, False)


def test_eval_numbers_do_not_move(incremental_index: Path, engine: Engine) -> None:
    from eval.labels import load_questions
    from eval.run import run_mode

    questions = load_questions()
    added = run_mode(Engine.from_dir(incremental_index), questions, "hybrid", progress=False).report.overall
    bundled = run_mode(engine, questions, "hybrid", progress=False).report.overall
    assert added.hit_at[5] == bundled.hit_at[5] and added.mrr == bundled.mrr
    assert bundled.hit_at[5] > 0.5  # the comparison is between working engines


def test_re_adding_unchanged_documents_is_a_no_op(incremental_index: Path, tmp_path: Path) -> None:
    index_dir = tmp_path / "index"
    shutil.copytree(incremental_index, index_dir)
    before = {p.name: p.read_bytes() for p in index_dir.iterdir()}
    report = add_documents(index_dir, _source_documents())
    assert report.unchanged == tuple(sorted(p.stem for p in CORPUS_DIR.glob("*.txt"))) and not report.written
    assert {p.name: p.read_bytes() for p in index_dir.iterdir()} == before


def test_replacing_a_document_keeps_ids_of_unchanged_clauses_and_its_status(
    incremental_index: Path, tmp_path: Path
) -> None:
    index_dir = tmp_path / "index"
    shutil.copytree(incremental_index, index_dir)
    set_status(index_dir, "guangxi-plan", repealed=True)
    old_ids = [c.id for c in load_index(index_dir).clauses if c.doc_id == "guangxi-plan"]
    text = (CORPUS_DIR / "guangxi-plan.txt").read_text(encoding="utf-8")
    changed = text.replace("到2025年,在全区推进2—3个", "到2026年,在全区推进3—5个", 1)
    assert changed != text
    report = add_documents(index_dir, [parse_text(changed, "guangxi-plan", "guangxi-plan.txt")])
    assert report.replaced == ("guangxi-plan",) and report.tokenized == 1  # only the edited clause
    loaded = load_index(index_dir)
    new_ids = [c.id for c in loaded.clauses if c.doc_id == "guangxi-plan"]
    assert len(set(old_ids) - set(new_ids)) == 1  # only the edited clause has a new id
    assert next(d for d in loaded.documents if d.id == "guangxi-plan").status == "失效"


def test_remove_equals_a_build_without_the_document(incremental_index: Path, tmp_path: Path) -> None:
    index_dir, reference = tmp_path / "index", tmp_path / "reference"
    shutil.copytree(incremental_index, index_dir)
    report = remove_documents(index_dir, ["yuzhong-plan"])
    assert report.removed == ("yuzhong-plan",)
    corpus = tmp_path / "corpus"
    corpus.mkdir()
    for source in CORPUS_DIR.glob("*.txt"):
        if source.stem != "yuzhong-plan":
            shutil.copy(source, corpus / source.name)
    build_index(load_corpus(corpus), reference, embed_model=None, progress=False)
    removed, rebuilt = load_index(index_dir), load_index(reference)
    assert removed.clauses == rebuilt.clauses
    # The 政策解读 no longer links to the removed plan, exactly as in a build without it.
    assert [d.to_dict() for d in removed.documents] == [d.to_dict() for d in rebuilt.documents]
    for query in QUERIES:
        assert _bm25_scores(index_dir, query) == pytest.approx(_bm25_scores(reference, query))
    with pytest.raises(UpdateError, match="no document"):
        remove_documents(index_dir, ["yuzhong-plan"])


def test_superseded_and_repealed_documents_are_not_answered_but_still_found(
    incremental_index: Path, tmp_path: Path
) -> None:
    index_dir = tmp_path / "index"
    shutil.copytree(incremental_index, index_dir)
    question = "长宁区宝宝屋建设"
    assert Engine.from_dir(index_dir).ask(question).hits[0].clause.doc_id == "changning-plan"

    meta = set_status(index_dir, "changning-plan", superseded_by="yuzhong-plan")
    assert (meta.status, meta.superseded_by) == ("失效", "yuzhong-plan")
    engine = Engine.from_dir(index_dir)
    assert all(h.clause.doc_id != "changning-plan" for h in engine.ask(question).hits)
    found = engine.search(question, doc_id="changning-plan").hits
    assert found and found[0].doc.superseded_by == "yuzhong-plan"
    from rag.render import render_search

    assert "已失效或被替代" in render_search(engine.search(question, doc_id="changning-plan"))

    set_status(index_dir, "changning-plan", in_force=True)
    assert Engine.from_dir(index_dir).ask(question).hits[0].clause.doc_id == "changning-plan"
    with pytest.raises(UpdateError, match="not in the index"):
        set_status(index_dir, "changning-plan", superseded_by="beijing-plan")


def test_a_built_index_keeps_its_tokens_so_existing_clauses_are_not_re_cut(
    built_index: Path, tmp_path: Path
) -> None:
    index_dir = tmp_path / "index"
    shutil.copytree(built_index, index_dir)
    documents = _source_documents()
    report = remove_documents(index_dir, ["dadukou-plan"])
    assert report.tokenized < 20  # only clauses holding a place name the removed document brought
    dadukou = next(d for d in documents if d.meta.id == "dadukou-plan")
    report = add_documents(index_dir, [dadukou])
    # Only the new clauses, plus the few that contain a place name the new document brings.
    assert len(dadukou.clauses) <= report.tokenized < len(dadukou.clauses) + 20
    assert report.clause_count == sum(len(d.clauses) for d in documents)


def test_an_index_without_stored_tokens_is_cut_once_by_its_first_change(
    built_index: Path, tmp_path: Path
) -> None:
    index_dir = tmp_path / "index"
    shutil.copytree(built_index, index_dir)
    # As written before the tokens were kept: no token file, no "edited" in the manifest.
    manifest = json.loads((index_dir / MANIFEST_FILE).read_text(encoding="utf-8"))
    del manifest["files"][TOKENS_FILE], manifest["edited"]
    (index_dir / MANIFEST_FILE).write_text(json.dumps(manifest), encoding="utf-8")
    (index_dir / TOKENS_FILE).unlink()
    set_status(index_dir, "guangxi-plan", repealed=True)
    changed = load_index(index_dir)
    assert read_tokens(index_dir, changed.manifest, len(changed.clauses)) == read_tokens(
        built_index, load_index(built_index).manifest, len(changed.clauses)
    )
    assert changed.manifest["edited"] is True


def test_changes_refuse_a_damaged_folder_and_leave_it_as_it_is(tmp_path: Path) -> None:
    damaged = tmp_path / "index"
    damaged.mkdir()
    (damaged / "clauses.jsonl").write_text("left over\n", encoding="utf-8")  # files, but no manifest
    document = _source_documents()[0]
    with pytest.raises(DamagedIndexError, match="no manifest"):
        add_documents(damaged, [document])
    with pytest.raises(DamagedIndexError):
        remove_documents(damaged, [document.meta.id])
    assert [p.name for p in damaged.iterdir()] == ["clauses.jsonl"]
    with pytest.raises(NoIndexError):
        set_status(tmp_path / "nothing", "x", repealed=True)
    assert not (tmp_path / "nothing").exists()


def test_a_change_keeps_the_files_beside_the_index(incremental_index: Path, tmp_path: Path) -> None:
    index_dir = tmp_path / "index"
    shutil.copytree(incremental_index, index_dir)
    (index_dir / "fusion.json").write_text('{"weights": {}}', encoding="utf-8")
    set_status(index_dir, "guangxi-plan", repealed=True)
    remove_documents(index_dir, ["yuzhong-interpretation"])
    assert (index_dir / "fusion.json").read_text(encoding="utf-8") == '{"weights": {}}'
    with pytest.raises(UnknownDocumentError):
        remove_documents(index_dir, ["yuzhong-interpretation"])


def test_duplicate_clause_ids_are_refused(incremental_index: Path, tmp_path: Path) -> None:
    index_dir = tmp_path / "index"
    shutil.copytree(incremental_index, index_dir)
    text = "某某县托育办法\n第一条　为规范托育服务，制定本办法。\n第一条　为规范托育服务，制定本办法。\n"
    document = parse_text(text, "copy", "copy.txt")
    assert len({c.id for c in document.clauses}) == len(document.clauses)  # the parser de-duplicates
    with pytest.raises(UpdateError, match="same document id"):
        add_documents(index_dir, [document, document])


def test_vectors_are_appended_not_recomputed(tmp_path: Path, tiny_embed_model: Path) -> None:
    from index.dense import load_embedder

    embedder, reason = load_embedder(str(tiny_embed_model))
    assert embedder is not None, reason
    documents = _source_documents()
    index_dir = tmp_path / "index"
    build_index(documents[:2], index_dir, embed_model=None, progress=False, embedder=embedder)
    before = load_index(index_dir, embedder=embedder)
    assert before.dense is not None
    old_vectors = before.dense.index.reconstruct_n(0, before.dense.size)

    report = add_documents(index_dir, [documents[2]], embedder=embedder)
    assert report.embedded == len(documents[2].clauses) and report.retrievers == ("bm25", "vector")
    after = load_index(index_dir, embedder=embedder)
    assert after.dense is not None and after.dense.size == len(after.clauses)
    vectors = after.dense.index.reconstruct_n(0, after.dense.size)
    assert np.array_equal(vectors[: len(old_vectors)], old_vectors)
    expected = embedder.encode_passages([indexed_text(c) for c in documents[2].clauses])
    assert np.allclose(vectors[len(old_vectors) :], expected, atol=1e-5)

    remove_documents(index_dir, [documents[0].meta.id])
    kept = load_index(index_dir, embedder=embedder)
    assert kept.dense is not None and kept.dense.size == len(kept.clauses)
    first_kept = len(documents[0].clauses)
    assert np.array_equal(kept.dense.index.reconstruct_n(0, kept.dense.size), vectors[first_kept:])


def _sentences(index_dir: Path, embedder: Embedder) -> tuple[np.ndarray, np.ndarray]:
    sentences = load_index(index_dir, embedder=embedder).sentences
    assert sentences is not None
    return sentences.dense.vectors(range(sentences.size)), sentences.owner


def test_sentence_vectors_follow_their_clauses_through_add_and_remove(
    tmp_path: Path, tiny_embed_model: Path
) -> None:
    from index.dense import load_embedder

    embedder, reason = load_embedder(str(tiny_embed_model))
    assert embedder is not None, reason
    documents = _source_documents()
    index_dir = tmp_path / "index"
    build_index(documents[:2], index_dir, embed_model=None, progress=False, embedder=embedder)
    old_vectors, old_owner = _sentences(index_dir, embedder)
    assert len(old_owner) > len(documents[0].clauses)  # most clauses have several sentences

    add_documents(index_dir, [documents[2]], embedder=embedder)
    vectors, owner = _sentences(index_dir, embedder)
    texts, new_owner = passages_of(documents[2].clauses)
    assert np.array_equal(vectors[: len(old_owner)], old_vectors)  # not encoded again
    assert np.allclose(vectors[len(old_owner) :], embedder.encode_passages(texts), atol=1e-5)
    first_new = sum(len(d.clauses) for d in documents[:2])
    assert np.array_equal(owner, np.concatenate([old_owner, new_owner + first_new]))

    # Removing the first document renumbers the owners: the same as a build without it.
    remove_documents(index_dir, [documents[0].meta.id])
    reference = tmp_path / "reference"
    build_index(documents[1:3], reference, embed_model=None, progress=False, embedder=embedder)
    kept_vectors, kept_owner = _sentences(index_dir, embedder)
    built_vectors, built_owner = _sentences(reference, embedder)
    assert np.array_equal(kept_owner, built_owner)
    assert np.allclose(kept_vectors, built_vectors, atol=1e-5)


def test_cli_add_dry_run_then_add_remove_supersede(
    incremental_index: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    from policyqa.cli import main

    index_dir = tmp_path / "index"
    shutil.copytree(incremental_index, index_dir)
    source = tmp_path / "policy.txt"
    source.write_text(
        "某某县儿童托育服务管理办法\n第一条　为规范托育服务，制定本办法。\n"
        "第二条　县卫生健康局负责监督管理。\n",
        encoding="utf-8",
    )
    before = (index_dir / "manifest.json").read_bytes()
    assert main(["add", str(source), "--index", str(index_dir), "--dry-run", "--id", "tuoyu"]) == 0
    shown = capsys.readouterr().err
    assert "第二条" in shown and "发文字号" in shown and "tuoyu" in shown
    assert (index_dir / "manifest.json").read_bytes() == before

    assert main(["add", str(source), "--index", str(index_dir), "--id", "tuoyu", "--yes", "--json"]) == 0
    assert '"added": ["tuoyu"]' in capsys.readouterr().out
    assert "tuoyu" in {d.id for d in load_index(index_dir).documents}
    assert main(["supersede", "tuoyu", "--repeal", "--index", str(index_dir)]) == 0
    assert main(["remove", "tuoyu", "--index", str(index_dir)]) == 0
    assert "tuoyu" not in {d.id for d in load_index(index_dir).documents}
    assert main(["remove", "tuoyu", "--index", str(index_dir)]) == 1
    assert main(["add", str(source), "--index", str(index_dir), "--id", "../x", "--yes"]) == 2


def test_an_index_built_without_its_model_still_says_so_after_a_change(
    paragraph_documents: list[Document], tmp_path: Path
) -> None:
    index_dir = tmp_path / "index"
    build_index(paragraph_documents, index_dir, str(tmp_path / "missing-model"), False, warn=lambda _: None)
    warnings = load_index(index_dir).warnings
    assert warnings and "vector retrieval is off" in warnings[0]
    set_status(index_dir, paragraph_documents[0].meta.id, repealed=True)
    assert load_index(index_dir).warnings == warnings
