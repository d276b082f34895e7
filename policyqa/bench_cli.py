"""`policyqa bench`: run policyqa/bench.py and write bench.md (tables), bench.json and bench.png."""

from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path
from typing import Any

from policyqa.bench import DEFAULT_SIZES, FETCH, REF_QUERIES, ROOT, BenchOptions, run_bench

MB = 1024 * 1024
RETRIEVERS = ("bm25", "vector", "hybrid")


def _ms(value: float) -> str:
    return f"{value:.2f}" if value < 10 else f"{value:.0f}"


def _ratio(reference: float, ours: float) -> str:
    return f"{reference / ours:.1f}x" if ours > 0 else "-"


def _size_label(n: int) -> str:
    return f"{n // 1_000_000}M" if n >= 1_000_000 and n % 1_000_000 == 0 else f"{n // 1000}k"


def render_markdown(results: dict[str, Any]) -> str:
    """Return the benchmark report: the main side-by-side table, index types, and the service figures."""
    sizes = results["sizes"]
    header = ["metric"]
    for row in sizes:
        label = _size_label(row["clauses"])
        header += [f"{label} ours", f"{label} reference", f"{label} ref/ours"]
    lines = ["| " + " | ".join(header) + " |", "|" + "---|" * len(header)]

    def add(name: str, pick: Any, fmt: Any, ratio: bool = True) -> None:
        cells = [name]
        for row in sizes:
            ours = pick(row["ours"])
            reference = row["reference"]
            skipped = f"skipped: > {results['ref_max']:,} clauses"
            cells.append(fmt(ours))
            cells.append(fmt(pick(reference)) if reference else skipped)
            cells.append(_ratio(pick(reference), ours) if reference and ratio else "-")
        lines.append("| " + " | ".join(cells) + " |")

    tokenise = ["tokenise s (real jieba, 2 processes; the same for both stacks)"]
    for row in sizes:
        measured = row["tokenize"]["measured_on"]
        scaled = "" if measured >= row["clauses"] else f" (~ scaled from {_size_label(measured)})"
        tokenise += [f"{row['tokenize']['seconds']:.1f}{scaled}", "same", "-"]
    lines.append("| " + " | ".join(tokenise) + " |")
    add("build s: BM25", lambda r: r["bm25_build_s"], lambda v: f"{v:.2f}")
    add(
        "build s: vectors (ours: flat <=50k, HNSW above; ref: flat)",
        lambda r: r["dense_build_s"],
        lambda v: f"{v:.2f}",
    )
    add("index size on disk MB", lambda r: r["disk_bytes"] / MB, lambda v: f"{v:.0f}")
    add("peak memory MB (RSS delta, build)", lambda r: r["peak_rss_bytes"] / MB, lambda v: f"{v:.0f}")
    for retriever in RETRIEVERS:
        for p in ("p50", "p95", "p99"):
            add(f"{retriever} {p} ms", lambda r, a=retriever, b=p: r[a][b], _ms)
    matches = ", ".join(
        f"{_size_label(r['clauses'])}: {'yes' if r.get('scores_match') else 'no'}"
        for r in sizes
        if r["reference"]
    )
    out = [
        "### Retrieval: ours vs the usual stack (rank_bm25 BM25Okapi + faiss IndexFlatIP)",
        "",
        *lines,
        "",
        f"Synthetic clauses recombine {results['sentences']} real sentences of the bundled corpus. Vectors: "
        f"{results['vectors']}; query encoding is excluded. Latencies over {results['queries']} queries "
        f"(reference: {min(results['queries'], REF_QUERIES)}; the eval set's questions), "
        f"{FETCH} candidates per retriever, hybrid = both + RRF. BM25 scores equal "
        f"rank_bm25's (np.allclose): {matches or 'not checked'}. Machine: {results['machine']['cpus']} CPUs.",
        "",
    ]
    ann = results["index_types"]
    out += [
        f"### Vector index types at {ann['clauses']:,} clauses (recall@10 against exact search)",
        "",
        "| index | build s | size MB | recall@10 | p50 ms | p95 ms | p99 ms |",
        "|---|---|---|---|---|---|---|",
    ]
    for r in ann["rows"]:
        out.append(
            f"| {r['index']} | {r['build_s']:.1f} | {r['disk_bytes'] / MB:.0f} | {r['recall_at_10']:.3f} | "
            f"{_ms(r['p50'])} | {_ms(r['p95'])} | {_ms(r['p99'])} |"
        )
    service = results["service"]
    out += ["", "### Service on the bundled corpus", "", "| measure | value |", "|---|---|"]
    cold, local, http = service.get("cold_start"), service.get("in_process"), service.get("http")
    cold_label = "cold start: `policyqa ask` process start to answer (median of 3)"
    local_label = "POST /api/v1/ask in process (ASGI, no socket) p50 / p95 / p99"
    if cold and "error" not in cold:
        out.append(f"| {cold_label} | {cold['median_s']:.2f} s |")
    else:
        out.append(f"| {cold_label} | failed: {cold['error'] if cold else 'not run'} |")
    if local and "error" not in local:
        out.append(f"| {local_label} | {_ms(local['p50'])} / {_ms(local['p95'])} / {_ms(local['p99'])} ms |")
    else:
        out.append(f"| {local_label} | failed: {local['error'] if local else 'not run'} |")
    if http and "error" not in http:
        marks = [p for p in ("p50", "p90", "p95", "p99") if p in http]
        out.append(
            f"| HTTP /api/v1/ask, uvicorn --workers {http['workers']}, {http['concurrency']} clients, "
            f"{http['requests']} requests ({http.get('client', 'httpx')}) | {http['rps']:.0f} req/s, "
            f"{' / '.join(marks)} {' / '.join(_ms(http[p]) for p in marks)} ms, {http['errors']} errors |"
        )
    else:
        out.append(
            f"| HTTP /api/v1/ask | {'failed: ' + http['error'] if http else 'not run (pass --http)'} |"
        )
    return "\n".join(out) + "\n"


def write_plot(results: dict[str, Any], path: Path) -> None:
    """Write a PNG: p95 latency and build time against corpus size, log-log, both stacks."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    sizes = results["sizes"]
    figure, (latency, build) = plt.subplots(1, 2, figsize=(11, 4.2))
    for stack, style in (("ours", "-o"), ("reference", "--s")):
        rows = [r for r in sizes if r[stack]]
        if not rows:
            continue
        xs = [r["clauses"] for r in rows]
        for retriever in RETRIEVERS:
            latency.plot(xs, [r[stack][retriever]["p95"] for r in rows], style, label=f"{stack} {retriever}")
        build.plot(xs, [r[stack]["bm25_build_s"] for r in rows], style, label=f"{stack} BM25")
        build.plot(xs, [r[stack]["dense_build_s"] for r in rows], style, label=f"{stack} faiss")
    build.plot(
        [r["clauses"] for r in sizes],
        [r["tokenize"]["seconds"] for r in sizes],
        ":^",
        label="tokenise (2 procs)",
    )
    for axis, title, unit in ((latency, "query latency p95", "ms"), (build, "build time", "s")):
        axis.set_xscale("log")
        axis.set_yscale("log")
        axis.set_xlabel("clauses")
        axis.set_ylabel(unit)
        axis.set_title(title)
        axis.grid(True, which="both", alpha=0.3)
        axis.legend(fontsize=7)
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


def _sizes(text: str) -> tuple[int, ...]:
    try:
        sizes = tuple(int(part.replace("_", "")) for part in text.split(",") if part.strip())
    except ValueError as error:
        raise argparse.ArgumentTypeError(f"sizes must be integers separated by commas: {text!r}") from error
    if not sizes or min(sizes) < 100:
        raise argparse.ArgumentTypeError("each size must be at least 100 clauses")
    return sizes


def cmd_bench(args: argparse.Namespace) -> int:
    """Run the benchmark, print the markdown table (or JSON) and write the files."""
    options = BenchOptions(
        sizes=args.sizes,
        out_dir=Path(args.out),
        queries=args.queries,
        dim=args.dim,
        embed_model=args.embed_model,
        ref_max=args.ref_max,
        ann_max=args.ann_max,
        http=args.http,
        http_requests=args.http_requests,
        http_concurrency=args.http_concurrency,
        workers=args.workers,
    )
    results = run_bench(options)
    paths = write_outputs(results, options.out_dir)
    if args.json:
        sys.stdout.write(json.dumps(results, ensure_ascii=False) + "\n")
    else:
        sys.stdout.write(render_markdown(results))
    sys.stderr.write("wrote " + ", ".join(str(p) for p in paths) + "\n")
    return 0


def register(sub: Any) -> None:
    """Add the `bench` subcommand to the `policyqa` parser."""
    p = sub.add_parser("bench", help="benchmark retrieval against rank_bm25 + faiss flat, and the service")
    p.add_argument(
        "--sizes",
        type=_sizes,
        default=DEFAULT_SIZES,
        help="corpus sizes in clauses, e.g. 10000,100000,1000000",
    )
    p.add_argument("--out", default=str(ROOT / "var" / "bench"), help="output folder (default var/bench)")
    p.add_argument("--queries", type=int, default=200, help="queries per retriever and size")
    p.add_argument(
        "--dim", type=int, default=512, help="dimension of the random vectors (without --embed-model)"
    )
    p.add_argument("--embed-model", help="local sentence-transformers folder for sentence vectors")
    p.add_argument("--ref-max", type=int, default=100_000, help="largest size at which rank_bm25 is run")
    p.add_argument("--ann-max", type=int, default=100_000, help="largest size for the index-type comparison")
    p.add_argument("--http", action="store_true", help="also measure HTTP throughput with uvicorn workers")
    p.add_argument("--http-requests", type=int, default=2000)
    p.add_argument("--http-concurrency", type=int, default=32)
    p.add_argument("--workers", type=int, default=2, help="uvicorn workers and tokenising processes")
    p.add_argument("--json", action="store_true", help="print the results as JSON instead of the table")
    p.set_defaults(func=cmd_bench)
