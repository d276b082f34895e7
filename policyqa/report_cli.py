"""`policyqa report`: what staff read from the query log -- frequent unanswered questions, counts."""

from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path
from typing import Any

from config import get_settings

EXIT_FAILURE = 1
DEFAULT_TOP = 20


def cmd_report(args: argparse.Namespace) -> int:
    """Print the query log summary (table, or JSON with --json)."""
    from api.querylog import summarize

    log_path = args.log or get_settings().query_log
    if log_path is None:
        sys.stderr.write("policyqa: no query log: pass --log FILE or set POLICYQA_QUERY_LOG\n")
        return EXIT_FAILURE
    try:
        summary = summarize(Path(log_path), top=args.top)
    except FileNotFoundError as exc:
        sys.stderr.write(f"policyqa: {exc}\n")
        return EXIT_FAILURE
    if args.json:
        sys.stdout.write(json.dumps(summary.to_dict(), ensure_ascii=False) + "\n")
        return 0
    out = [
        f"查询日志 {log_path}: {summary.total} 条（{summary.first_ts or '-'} 至 {summary.last_ts or '-'}），"
        f"耗时中位数 {summary.p50_latency_ms if summary.p50_latency_ms is not None else '-'} ms",
        "按状态: " + ("，".join(f"{k} {v}" for k, v in summary.by_status.items()) or "无"),
        "按渠道: " + ("，".join(f"{k} {v}" for k, v in summary.by_channel.items()) or "无"),
        f"最常见的未答问题（前 {args.top} 个）:",
    ]
    out += [f"{count:>6}  {question}" for question, count in summary.unanswered] or ["     （无）"]
    sys.stdout.write("\n".join(out) + "\n")
    return 0


def register(sub: Any) -> None:
    """Add the `report` subcommand to the `policyqa` parser."""
    p = sub.add_parser(
        "report", help="query log: most frequent unanswered questions, counts per status/channel"
    )
    p.add_argument("--log", type=Path, help="query log file (default $POLICYQA_QUERY_LOG)")
    p.add_argument("--top", type=int, default=DEFAULT_TOP, help="how many unanswered questions to list")
    p.add_argument("--json", action="store_true")
    p.set_defaults(func=cmd_report)
