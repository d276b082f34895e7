"""Shared test fixtures: the bundled corpus (path, parsed once), its index, the engine, a tiny model.

The repository root goes on sys.path so tests import the packages uninstalled.
"""

from __future__ import annotations

import os
import sys
from pathlib import Path
from typing import TYPE_CHECKING

import pytest
from hypothesis import settings as hypothesis_settings

if TYPE_CHECKING:
    from corpus.models import Document

ROOT = Path(__file__).resolve().parent.parent
if str(ROOT) not in sys.path:
    sys.path.insert(0, str(ROOT))

# The bundled policy documents every test of real text reads (tests import it from here).
CORPUS_DIR = ROOT / "corpus" / "data"

# CI explores the same examples on every run (a landing must not hang on a lucky draw); local runs keep
# hypothesis's random exploration, which is how new failures are found.
hypothesis_settings.register_profile("ci", derandomize=True, deadline=None)
if os.environ.get("CI"):
    hypothesis_settings.load_profile("ci")


# --- index: a tiny sentence-transformers model built locally (no network) -----------------------
# Used by tests of index/, rag/ and api/ to exercise the real sentence-transformers + faiss path.


@pytest.fixture(scope="session")
def tiny_embed_model(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """Return the folder of a randomly initialised 32-d BERT sentence-transformers model.

    Its vocabulary is every character of the bundled corpus plus ASCII, so Chinese text is not
    mapped to [UNK]; the weights are random (seeded), so vectors are deterministic but carry no
    meaning: identical texts match exactly, that is all a test may rely on.
    """
    import torch
    from sentence_transformers import SentenceTransformer
    from sentence_transformers.models import Pooling, Transformer
    from transformers import BertConfig, BertModel, BertTokenizer

    root = tmp_path_factory.mktemp("tiny_embed_model")
    bert_dir = root / "bert"
    bert_dir.mkdir()
    corpus_chars = {ch for path in CORPUS_DIR.glob("*.txt") for ch in path.read_text(encoding="utf-8")}
    ascii_chars = {chr(c) for c in range(33, 127)}
    specials = ["[PAD]", "[UNK]", "[CLS]", "[SEP]", "[MASK]"]
    vocab = specials + sorted(ch for ch in (corpus_chars | ascii_chars) if not ch.isspace())
    (bert_dir / "vocab.txt").write_text("\n".join(vocab) + "\n", encoding="utf-8")
    tokenizer = BertTokenizer(str(bert_dir / "vocab.txt"), do_lower_case=True)
    torch.manual_seed(0)
    config = BertConfig(
        vocab_size=len(vocab),
        hidden_size=32,
        num_hidden_layers=1,
        num_attention_heads=2,
        intermediate_size=64,
        max_position_embeddings=512,
    )
    BertModel(config).save_pretrained(bert_dir)
    tokenizer.save_pretrained(bert_dir)
    transformer = Transformer(str(bert_dir), max_seq_length=256)
    get_dimension = getattr(transformer, "get_embedding_dimension", None) or (
        transformer.get_word_embedding_dimension
    )
    pooling = Pooling(get_dimension(), "mean")
    model_dir = root / "tiny-zh-st"
    SentenceTransformer(modules=[transformer, pooling], device="cpu").save(str(model_dir))
    return model_dir


# --- the bundled corpus parsed once, indexed once per session --------------------------------------


@pytest.fixture(scope="session")
def corpus_documents() -> tuple[Document, ...]:
    """The bundled documents as `corpus.load.load_corpus` parses them (sorted by id)."""
    from corpus.load import load_corpus

    return tuple(load_corpus(CORPUS_DIR))


@pytest.fixture(scope="session")
def built_index(tmp_path_factory: pytest.TempPathFactory, corpus_documents: tuple[Document, ...]) -> Path:
    """Return the folder of a BM25-only index of the bundled corpus, built as `policyqa build` does."""
    from index.build import build_index

    out = tmp_path_factory.mktemp("index") / "bundled"
    build_index(corpus_documents, out, embed_model=None, progress=False)
    return out


@pytest.fixture()
def served_index(built_index: Path, tmp_path: Path) -> Path:
    """A private copy of the bundled index, so a test may change, replace or damage it."""
    import shutil

    target = tmp_path / "index"
    shutil.copytree(built_index, target)
    return target


@pytest.fixture(scope="session")
def engine(built_index: Path):  # type: ignore[no-untyped-def]
    """Return an engine over the bundled index (shared: tests must use their own session ids)."""
    from rag.engine import Engine

    return Engine.from_dir(built_index)
