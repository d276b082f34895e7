"""`policyqa eval`: run the evaluation set, print tables, write the JSON report and the plot."""

from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path
from typing import Any

from config import PACKAGE_ROOT, get_settings
from eval.floor import FloorError, evaluate, load_floor
from eval.labels import DEFAULT_QUESTIONS_PATH, load_questions
from eval.run import (
    ALL_MODES,
    FAILURE_REASONS,
    ModeRun,
    format_breakdown,
    format_table,
    format_typos,
    plot_hit_curve,
    run_eval,
    write_report,
)

DEFAULT_REPORT_DIR = PACKAGE_ROOT / "var" / "eval"


def cmd_eval(args: argparse.Namespace) -> int:
    """Run the evaluation; exit 1 when --check-floor and a check of eval/floor.json fails."""
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
    if args.cross_validate:
        from eval.calibrate import cross_validate_policy

        cv = cross_validate_policy(engine, questions, shuffles=args.cross_validate, progress=not args.json)
        sys.stdout.write((json.dumps(cv, indent=1) if args.json else format_cross_validation(cv)) + "\n")
        return 0
    if args.ablation:
        from eval.ablation import format_ablation, run_ablation

        sys.stdout.write(format_ablation(run_ablation(engine, questions, progress=not args.json)) + "\n")
        return 0
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
    by_kind = {
        mode: {
            split: {kind: s.to_dict() for kind, s in kinds.items()}
            for split, kinds in r.report.by_split_kind.items()
        }
        for mode, r in runs.items()
    }
    breakdown_split = args.split if args.split != "all" else "test"
    if args.json:
        sys.stdout.write(
            json.dumps({**extra, "summary": summary, "by_kind": by_kind}, ensure_ascii=False) + "\n"
        )
    else:
        _print_tables(runs, skipped, breakdown_split, args.show_failures)
        sys.stdout.write(f"\nreport: {report_dir / 'report.json'}  plot: {report_dir / 'hit_at_k.png'}\n")
    if args.check_floor:
        return check_floor(runs)
    return 0


def _print_tables(runs: dict[str, ModeRun], skipped: list[str], split: str, show_failures: int) -> None:
    out = sys.stdout
    for mode in skipped:
        out.write(f"mode {mode}: skipped, no embedding model is live (BM25-only index)\n")
    out.write(format_table(runs) + "\n")
    out.write(
        "refuse P/R: expects not_found vs answered not_found; partial P/R: expects partial vs answered"
        " partial;\nheld back: share of detail questions answered partial or not_found (target >= 0.80);"
        "\nwrong NF: share of answerable questions answered anything but found (target <= 0.03)\n\n"
    )
    try:
        targets = load_floor().targets
    except FloorError as exc:
        targets = ()
        out.write(f"floor.json: {exc}\n")
    if targets:
        out.write("targets (reported, not enforced):\n")
        for result in evaluate(targets, _summaries(runs)):
            out.write(f"  {result.line()}\n")
        out.write("\n")
    for mode, run in runs.items():
        out.write(f"{mode} by question kind ({split} split):\n{format_breakdown(run, 'kind', split)}\n\n")
    main_mode = "hybrid" if "hybrid" in runs else next(iter(runs), None)
    if not main_mode:
        return
    out.write(
        f"{main_mode} by document ({split} split):\n{format_breakdown(runs[main_mode], 'doc', split)}\n\n"
    )
    out.write(f"typo correction (resolved question holds the intended words):\n{format_typos(runs)}\n\n")
    failures = runs[main_mode].failures
    counts = {reason: sum(f["reason"] == reason for f in failures) for reason in FAILURE_REASONS}
    out.write(
        f"{main_mode} failures ({len(failures)}: "
        + ", ".join(f"{n} {reason}" for reason, n in counts.items() if n)
        + f"; at most {show_failures} of each shown):\n"
    )
    for reason in FAILURE_REASONS:
        listed = [f for f in failures if f["reason"] == reason][:show_failures]
        if listed:
            out.write(f" {reason}:\n")
        for failure in listed:
            _print_failure(failure)


def format_cross_validation(cv: dict[str, dict[str, float]]) -> str:
    """The cross-validation of the threshold selection as a table (one row per selection)."""
    halves = int(next(iter(cv.values()))["halves"]) if cv else 0
    lines = [
        f"answer thresholds chosen on one half of the dev split, scored on the other ({halves} halves):",
        "selection  wrong NF  worst wrong NF  held back  worst held back  hit@1  status accuracy",
    ]
    for name, f in cv.items():
        lines.append(
            f"{name:<9}  {f['wrongly_not_found']:.4f}    {f['worst_wrongly_not_found']:.4f}          "
            f"{f['held_back']:.3f}      {f['worst_held_back']:.3f}            {f['hit_at_1']:.3f}  "
            f"{f['status_accuracy']:.3f}"
        )
    return "\n".join(lines)


def _print_failure(failure: dict[str, Any]) -> None:
    expected = failure["expected"]
    want = (
        expected
        if isinstance(expected, str)
        else "; ".join(f"{g['doc_id']} {g['number'] or ''} {g['snippet'][:16]}" for g in expected)
    )
    got = "; ".join(f"{g['doc_id']} {g['number'] or ''} {g['text'][:20]}" for g in failure["got"])
    context = f" (after {' / '.join(failure['context'])})" if failure["context"] else ""
    resolved = failure["resolved_question"]
    # Shown where a rewrite is expected or reported; not for punctuation the engine normalised.
    rewritten = failure["rewrites"] or failure["kind"] == "typo" or failure["context"]
    searched = f"  [searched as {resolved}]" if rewritten and resolved != failure["question"] else ""
    sys.stdout.write(
        f"  {failure['id']} [{failure['kind']}/{failure['split']}] {failure['question']}{context}{searched}\n"
    )
    sys.stdout.write(f"      want: {want}\n      got:  {failure['status']}: {got or '-'}\n")


def _summaries(runs: dict[str, ModeRun]) -> dict[str, dict[str, Any]]:
    return {mode: {"all": r.report.overall, **r.report.by_split} for mode, r in runs.items()}


def check_floor(runs: dict[str, ModeRun], floor_path: Path | None = None) -> int:
    """Evaluate the checks of eval/floor.json against the runs; print one line each; 1 when any fails."""
    try:
        floor = load_floor(floor_path)
    except FloorError as exc:
        sys.stderr.write(f"floor check: {exc}\n")
        return 1
    # A check of a mode this run left out (`--mode hybrid`) is reported, not failed; CI runs every mode.
    checks = [c for c in floor.checks if c.mode in runs]
    for check in floor.checks:
        if check.mode not in runs:
            name = f"{check.mode} {check.split} {check.metric}"
            sys.stderr.write(f"floor check: {name}: skipped, mode not run\n")
    results = evaluate(checks, _summaries(runs))
    for result in results:
        sys.stderr.write(f"floor check: {result.line(failed='BELOW FLOOR')}\n")
    return 0 if results and all(r.ok for r in results) else 1


def register(sub: Any) -> None:
    """Add the `eval` subcommand to the policyqa parser."""
    p = sub.add_parser("eval", help="evaluate retrieval on the question set")
    p.add_argument("--set", type=Path, help=f"questions file (default {DEFAULT_QUESTIONS_PATH.name})")
    p.add_argument("--index")
    p.add_argument("--mode", choices=("all", *ALL_MODES), default="all")
    p.add_argument("--split", choices=("all", "dev", "test"), default="all")
    p.add_argument("--json", action="store_true", help="print a JSON summary instead of tables")
    p.add_argument("--report-dir", default=str(DEFAULT_REPORT_DIR))
    p.add_argument("--show-failures", type=int, default=15, help="failures listed per reason")
    p.add_argument("--check-floor", action="store_true", help="exit 1 when a check of eval/floor.json fails")
    p.add_argument(
        "--ablation",
        action="store_true",
        help="hybrid runs with one part taken out at a time (model, re-ranking, answer step, typos)",
    )
    p.add_argument(
        "--cross-validate",
        type=int,
        metavar="SHUFFLES",
        default=0,
        help="two-fold cross-validation of the answer thresholds on the dev split (raw best vs smoothed)",
    )
    p.set_defaults(func=cmd_eval)
