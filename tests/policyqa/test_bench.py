"""The benchmark runs end to end on a small synthetic corpus and reports what the README table shows."""

from __future__ import annotations

from pathlib import Path

from policyqa.bench import BenchOptions, run_bench
from policyqa.bench_cli import write_outputs


def test_small_benchmark_writes_its_table_and_plot(tmp_path: Path) -> None:
    out = tmp_path / "bench"
    results = run_bench(
        BenchOptions(sizes=(2000,), queries=10, ann_max=2000, out_dir=out, progress=lambda _: None)
    )
    write_outputs(results, out)
    table = (out / "bench.md").read_text(encoding="utf-8")
    for row in ("bm25 p95 ms", "hybrid p95 ms", "index size on disk MB", "recall@10", "cold start"):
        assert row in table
    assert "BM25 scores equal rank_bm25's (np.allclose): 2k: yes" in table
    assert (out / "bench.png").stat().st_size > 0 and (out / "bench.json").exists()
