"""The benchmark's default sizes and folders (a module of its own so `policyqa` starts without the bench)."""

from __future__ import annotations

from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
OUT_DIR = ROOT / "var" / "bench"
DEFAULT_SIZES = (10_000, 100_000)
REF_MAX_CLAUSES = 100_000  # rank_bm25 takes ~1 s per query at 10^5 clauses and minutes to build beyond
VECTOR_CLAUSES = 100_000
CONNECTIONS = (32, 64)
