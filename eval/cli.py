"""`policyqa eval`: run the evaluation set, print tables, write the JSON report and the plot."""

from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path
from typing import Any

from eval.labels import DEFAULT_QUESTIONS_PATH, load_questions
from eval.run import ALL_MODES, format_breakdown, format_table, plot_hit_curve, run_eval, write_report
from policyqa.config import PACKAGE_ROOT, get_settings

FLOOR_FILE = Path(__file__).resolve().parent / "floor.json"
DEFAULT_REPORT_DIR = PACKAGE_ROOT / "var" / "eval"


def cmd_eval(args: argparse.Namespace) -> int:
    """Run the evaluation; exit 1 when --check-floor and hybrid test hit@5 is below the recorded floor."""
    from index.store import IndexLoadError
    from rag.engine import Engine

    index_dir = Path(args.index or get_settings().index)
    try:
        engine = Engine.from_dir(index_dir)
    except IndexLoadError as exc:
        sys.stderr.write(f"policyqa eval: cannot load the index: {exc}\n")
        return 1
    questions = load_questions(args.set)
    if args.split != "all":
        questions = [q for q in questions if q.split == args.split]
    modes = ALL_MODES if args.mode == "all" else (args.mode,)
    skipped = [m for m in modes if m == "vector" and "vector" not in engine.retrievers]
    runs = run_eval(engine, questions, modes, progress=not args.json)
    report_dir = Path(args.report_dir)
    extra: dict[str, Any] = {
        "question_set": str(args.set or DEFAULT_QUESTIONS_PATH),
        "questions": len(questions),
        "retrievers": list(engine.retrievers),
        "embed_model": engine.index.embed_model,
        "skipped_modes": skipped,
    }
    write_report(runs, report_dir / "report.json", extra)
    if runs:
        plot_hit_curve(runs, report_dir / "hit_at_k.png")
    summary = {
        mode: {split: s.to_dict() for split, s in {"all": r.report.overall, **r.report.by_split}.items()}
        for mode, r in runs.items()
    }
    if args.json:
        sys.stdout.write(json.dumps({**extra, "summary": summary}, ensure_ascii=False) + "\n")
    else:
        out = sys.stdout
        for mode in skipped:
            out.write(f"mode {mode}: skipped, no embedding model is live (BM25-only index)\n")
        out.write(format_table(runs) + "\n\n")
        main_mode = "hybrid" if "hybrid" in runs else next(iter(runs), None)
        if main_mode:
            out.write(f"{main_mode} by question kind:\n{format_breakdown(runs[main_mode], 'kind')}\n\n")
            out.write(f"{main_mode} by document:\n{format_breakdown(runs[main_mode], 'doc')}\n\n")
            failures = runs[main_mode].failures
            out.write(f"{main_mode} failures ({len(failures)}; expected vs what came back):\n")
            for failure in failures[: args.show_failures]:
                expected = failure["expected"]
                want = (
                    expected
                    if isinstance(expected, str)
                    else "; ".join(f"{g['doc_id']} {g['number'] or ''} {g['snippet'][:16]}" for g in expected)
                )
                got = (
                    "; ".join(f"{g['doc_id']} {g['number'] or ''} {g['text'][:16]}" for g in failure["got"])
                    or failure["status"]
                )
                out.write(f"  {failure['id']} [{failure['kind']}/{failure['split']}] {failure['question']}\n")
                out.write(f"      want: {want}\n      got:  {got}\n")
        out.write(f"\nreport: {report_dir / 'report.json'}  plot: {report_dir / 'hit_at_k.png'}\n")
    if args.check_floor:
        return check_floor(runs)
    return 0


def check_floor(runs: dict[str, Any]) -> int:
    """Compare hybrid hit@5 on the test split with eval/floor.json; return 1 when below."""
    floor = json.loads(FLOOR_FILE.read_text(encoding="utf-8"))
    mode = floor.get("mode", "hybrid")
    run = runs.get(mode)
    if run is None:
        sys.stderr.write(f"floor check: mode {mode} did not run\n")
        return 1
    value = run.report.by_split[floor.get("split", "test")].hit_at[5]
    ok = value >= floor["hit_at_5"]
    sys.stderr.write(
        f"floor check: {mode} hit@5 on {floor.get('split', 'test')} = {value:.3f}, "
        f"floor {floor['hit_at_5']:.3f}: "
        f"{'ok' if ok else 'BELOW FLOOR'}\n"
    )
    return 0 if ok else 1


def register(sub: Any) -> None:
    """Add the `eval` subcommand to the policyqa parser."""
    p = sub.add_parser("eval", help="evaluate retrieval on the question set")
    p.add_argument("--set", type=Path, help=f"questions file (default {DEFAULT_QUESTIONS_PATH.name})")
    p.add_argument("--index")
    p.add_argument("--mode", choices=("all", *ALL_MODES), default="all")
    p.add_argument("--split", choices=("all", "dev", "test"), default="all")
    p.add_argument("--json", action="store_true", help="print a JSON summary instead of tables")
    p.add_argument("--report-dir", default=str(DEFAULT_REPORT_DIR))
    p.add_argument("--show-failures", type=int, default=40)
    p.add_argument("--check-floor", action="store_true", help="exit 1 when below eval/floor.json")
    p.set_defaults(func=cmd_eval)
