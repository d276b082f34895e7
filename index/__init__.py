"""Index stage: clauses -> BM25 + vector indexes saved as a folder of files with a manifest."""

from index.bm25 import BM25Index
from index.build import BuildReport, build_index, indexed_text
from index.dense import DenseIndex, Embedder, SentenceTransformerEmbedder, load_embedder
from index.store import IndexContents, IndexLoadError, LoadedIndex, index_exists, load_index, save_index
from index.tokenize import ChineseTokenizer

__all__ = [
    "BM25Index",
    "BuildReport",
    "ChineseTokenizer",
    "DenseIndex",
    "Embedder",
    "IndexContents",
    "IndexLoadError",
    "LoadedIndex",
    "SentenceTransformerEmbedder",
    "build_index",
    "index_exists",
    "indexed_text",
    "load_embedder",
    "load_index",
    "save_index",
]
