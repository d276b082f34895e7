"""Resumable encoding: chunks are written as they finish, a killed build resumes where it stopped, and a
sentence-transformers model goes to the GPU only when torch sees one."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import textwrap
import time
from pathlib import Path

import numpy as np
import pytest

import index.encode as encode_module
from corpus.load import load_corpus
from index.build import build_index, indexed_text
from index.dense import DenseIndex, choose_device, load_embedder
from index.encode import encode_chunks, encode_resumable, encoding_dir, load_chunks
from index.sentences import passages_of
from tests.conftest import CORPUS_DIR, ROOT

# A stand-in model: each text's vector is a fixed function of the text (so a resumed run must give exactly
# the vectors of an uninterrupted one); `delay` seconds per call makes the build slow enough to kill.
HASH_EMBEDDER = textwrap.dedent(
    """
    import hashlib, time
    import numpy as np

    class HashEmbedder:
        name = "hash-embedder"
        dimension = 8

        def __init__(self, delay=0.0):
            self.delay = delay
            self.encoded = []

        def encode_passages(self, texts, *, show_progress=False):
            time.sleep(self.delay)
            self.encoded.extend(texts)
            out = np.empty((len(texts), 8), dtype=np.float32)
            for row, text in enumerate(texts):
                seed = int.from_bytes(hashlib.sha256(text.encode()).digest()[:8], "little")
                vector = np.random.default_rng(seed).standard_normal(8)
                out[row] = vector / np.linalg.norm(vector)
            return out

        def encode_query(self, text):
            return self.encode_passages([text])[0]
    """
)
namespace: dict[str, object] = {}
exec(HASH_EMBEDDER, namespace)
HashEmbedder = namespace["HashEmbedder"]

KILLED_BUILD = HASH_EMBEDDER + textwrap.dedent(
    """
    import sys
    import index.encode
    from corpus.load import load_corpus
    from index.build import build_index

    index.encode.CHUNK_PASSAGES = 16
    build_index(load_corpus(sys.argv[1]), sys.argv[2], None, progress=False, embedder=HashEmbedder(0.1))
    """
)


def test_chunks_are_reused_and_only_missing_ones_encoded(tmp_path: Path) -> None:
    texts = [f"第{i}条 儿童友好城市建设" for i in range(50)]
    embedder = HashEmbedder()
    whole = embedder.encode_passages(texts)
    first = HashEmbedder()
    encode_chunks(first, texts, tmp_path, chunk_size=16, only=[1, 3])
    assert len(first.encoded) == 16 + 2  # chunk 1 (16 texts) and chunk 3 (the last 2)
    second = HashEmbedder()
    vectors = encode_resumable(second, texts, tmp_path, chunk_size=16)
    assert len(second.encoded) == 32  # chunks 0 and 2 only
    np.testing.assert_array_equal(vectors, whole)
    # An edited text re-encodes its chunk alone; the stale file of the old text is removed.
    edited = [*texts[:20], "第20条 已修改", *texts[21:]]
    third = HashEmbedder()
    encode_resumable(third, edited, tmp_path, chunk_size=16)
    assert third.encoded == edited[16:32]
    assert len(list(tmp_path.glob("chunk-*.npy"))) == 4


def test_a_missing_chunk_is_reported_not_filled_with_zeros(tmp_path: Path) -> None:
    texts = ["托育", "宝宝屋", "母婴室"]
    encode_chunks(HashEmbedder(), texts, tmp_path, chunk_size=2, only=[0])
    with pytest.raises(FileNotFoundError):
        load_chunks(HashEmbedder(), texts, tmp_path, chunk_size=2)


def test_a_killed_build_resumes_where_it_stopped(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    index_dir = tmp_path / "index"
    chunks_dir = encoding_dir(index_dir)
    env = {**os.environ, "PYTHONPATH": str(ROOT)}
    build = subprocess.Popen(
        [sys.executable, "-c", KILLED_BUILD, str(CORPUS_DIR), str(index_dir)], cwd=ROOT, env=env
    )
    try:
        deadline = time.monotonic() + 120
        while len(list(chunks_dir.glob("chunk-*.npy"))) < 3:
            assert build.poll() is None, "the build ended before it could be killed"
            assert time.monotonic() < deadline, "no chunk was written"
            time.sleep(0.02)
    finally:
        build.send_signal(signal.SIGKILL)
        build.wait()
    assert build.returncode == -signal.SIGKILL
    assert not index_dir.exists()  # the kill came before the index was written
    done = len(list(chunks_dir.glob("chunk-*.npy")))

    documents = load_corpus(CORPUS_DIR)
    clauses = [c for d in documents for c in d.clauses]
    # Clause texts first, then the sentences of the clauses (index/sentences.py), in one resumable run.
    texts = [indexed_text(c) for c in clauses] + passages_of(clauses)[0]
    monkeypatch.setattr(encode_module, "CHUNK_PASSAGES", 16)
    resumed = HashEmbedder()
    build_index(documents, index_dir, None, progress=False, embedder=resumed)
    assert len(resumed.encoded) == len(texts) - 16 * done  # only what the killed build had not finished
    assert resumed.encoded == texts[16 * done :]
    dense = DenseIndex.load(index_dir)  # (loading the whole index would look for the stand-in model)
    np.testing.assert_allclose(
        dense.vectors(range(len(clauses))), HashEmbedder().encode_passages(texts)[: len(clauses)]
    )
    assert not chunks_dir.exists()  # the finished index holds the vectors; the chunks are gone


def test_the_device_is_the_gpu_only_when_torch_sees_one() -> None:
    assert choose_device(lambda: True) == "cuda"
    assert choose_device(lambda: False) == "cpu"

    def broken() -> bool:
        raise RuntimeError("CUDA driver version is insufficient")

    assert choose_device(broken) == "cpu"
    import torch

    assert choose_device() == ("cuda" if torch.cuda.is_available() else "cpu")


def test_a_sentence_transformers_model_loads_on_the_chosen_device(tiny_embed_model: Path) -> None:
    embedder, reason = load_embedder(str(tiny_embed_model))
    assert embedder is not None, reason
    assert embedder.device == choose_device()  # type: ignore[attr-defined]
    assert embedder.model.device.type == choose_device()  # type: ignore[attr-defined]
    assert embedder.batch_size == 32  # type: ignore[attr-defined]
