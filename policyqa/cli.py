"""The `policyqa` command line: build, clauses, ask, search, serve, eval, report, bench, add, remove."""

from __future__ import annotations

import argparse
import json
import sys
from collections.abc import Callable, Iterator
from importlib import import_module
from pathlib import Path
from typing import Any

from config import ConfigError, get_settings

EXIT_USAGE = 2
EXIT_FAILURE = 1
# A new worker (after SIGHUP: `systemctl reload`) loads the index and the model before it serves; uvicorn's
# default of 5 s is too short for that on a small machine, and then the reload is abandoned.
WORKER_START_TIMEOUT_S = 120


def _print_json(obj: Any) -> None:
    sys.stdout.write(json.dumps(obj, ensure_ascii=False) + "\n")


def _print_result(args: argparse.Namespace, result: Any, render: Callable[[Any], str]) -> None:
    """Print an answer or a search result: a JSON line with --json or --batch, else readable text."""
    if args.json or args.batch:
        _print_json(result.to_dict())
    else:
        sys.stdout.write(render(result) + "\n")


def _questions(args: argparse.Namespace, single: str | None) -> Iterator[str]:
    if args.batch == "-":
        yield from (line.strip() for line in sys.stdin if line.strip())
    elif args.batch:
        with Path(args.batch).open(encoding="utf-8") as source:
            yield from (line.strip() for line in source if line.strip())
    elif single:
        yield single


def _load_engine(index_dir: Path) -> Any:
    from index.store import IndexLoadError
    from rag.engine import Engine

    try:
        settings = get_settings()
        engine = Engine.from_dir(
            index_dir, expected_model=settings.embed_model, embed_threads=settings.embed_threads
        )
    except IndexLoadError as exc:
        sys.stderr.write(f"policyqa: cannot load the index at {index_dir}: {exc}\n")
        sys.stderr.write("policyqa: build it with `policyqa build` first.\n")
        raise SystemExit(EXIT_FAILURE) from exc
    # The vector warning belongs to `build` and `serve` (once each); here the live retrievers are in every
    # --json output, and `search --mode vector` says so when it cannot run. Other warnings (a changed
    # tokenizer) still show.
    for warning in engine.index.warnings:
        if "vector" not in warning.lower():
            sys.stderr.write(f"{warning}\n")
    return engine


def _vectors_off_reason(engine: Any) -> str:
    """Return why the vector retriever is off for a loaded engine, in one short clause."""
    manifest = engine.index.manifest
    if "vector" not in manifest.get("retrievers", ()):
        missed = manifest.get("vectors_unavailable") or {}
        why = f": model {missed['model']!r} could not be loaded" if missed.get("model") else ""
        return f"the index was built without vectors{why}"
    model = (manifest.get("embedding") or {}).get("model")
    return f"its embedding model {model!r} cannot be loaded here"


# ---------------------------------------------------------------------------------------------------
def cmd_build(args: argparse.Namespace) -> int:
    """Parse the corpus folder and build the index folder."""
    settings = get_settings()
    corpus_dir = Path(args.corpus or settings.corpus)
    index_dir = Path(args.index or settings.index)
    return _build(corpus_dir, index_dir, args.embed_model or settings.embed_model, as_json=args.json)


def _build(corpus_dir: Path, index_dir: Path, embed_model: str, *, as_json: bool, warn: bool = True) -> int:
    """Build `index_dir` from `corpus_dir`, then calibrate it; return the exit status. `warn=False` leaves
    the vector warning to the server, which shows it once when it loads the index."""
    from service.build import BuildError, CorpusUnreadable, build_corpus

    try:
        built = build_corpus(
            corpus_dir,
            index_dir,
            embed_model,
            embed_threads=get_settings().embed_threads,
            warn=_print_line if warn else _ignore,
        )
    except CorpusUnreadable as exc:
        sys.stderr.write(f"policyqa: cannot build, the index is unchanged: {exc}\n")
        return EXIT_FAILURE
    except BuildError as exc:  # no folder, or no documents in it
        sys.stderr.write(f"policyqa: {exc}\n")
        return EXIT_FAILURE
    report = built.report
    calibration = _calibrate(index_dir, progress=not as_json)
    summary = {
        "fusion_weights": calibration["weights"] if calibration else None,
        "answer_thresholds": calibration["policy"] if calibration else None,
        "index": str(index_dir),
        "documents": built.documents,
        "clauses": report.clause_count,
        "retrievers": list(report.retrievers),
        "seconds": round(report.seconds, 2),
    }
    if as_json:
        _print_json(summary)
    else:
        sys.stderr.write(
            f"built {index_dir}: {built.documents} documents, {report.clause_count} clauses, "
            f"retrievers {', '.join(report.retrievers)} in {report.seconds:.1f}s\n"
        )
    return 0


def _print_line(message: str) -> None:
    sys.stderr.write(message + "\n")


def _ignore(_: str) -> None:
    pass


def _calibrate(index_dir: Path, progress: bool) -> dict[str, Any] | None:
    """Choose the hybrid's fusion weights (with vectors), the re-ranking weights and the answer thresholds
    of a new index on the bundled eval set's dev split, printing the sweep."""
    from eval.calibrate import calibrate_index
    from eval.labels import load_questions

    def report(line: str) -> None:
        if progress:
            sys.stderr.write(line + "\n")

    return calibrate_index(index_dir, load_questions(), progress=progress, report=report)


def cmd_clauses(args: argparse.Namespace) -> int:
    """Print clauses as JSON lines, or a document's outline."""
    from corpus.load import load_corpus
    from corpus.outline import format_tree

    settings = get_settings()
    documents = load_corpus(Path(args.corpus or settings.corpus))
    if args.doc:
        documents = [d for d in documents if d.meta.id == args.doc]
        if not documents:
            sys.stderr.write(f"policyqa: no document with id {args.doc!r}\n")
            return EXIT_FAILURE
    for document in documents:
        if args.tree:
            sys.stdout.write(format_tree(document) + "\n")
            continue
        meta = document.meta.to_dict()
        for clause in document.clauses:
            _print_json({**clause.to_dict(), "doc": meta})
    return 0


def cmd_ask(args: argparse.Namespace) -> int:
    """Answer questions with verbatim clauses and citations."""
    from rag.render import render_answer

    engine = _load_engine(Path(args.index or get_settings().index))
    session = args.session
    for question in _questions(args, args.question):
        _print_result(args, engine.ask(question, session_id=session), render_answer)
    return 0


def cmd_search(args: argparse.Namespace) -> int:
    """Rank clauses for a query."""
    from rag.render import render_search

    engine = _load_engine(Path(args.index or get_settings().index))
    if args.mode == "vector" and "vector" not in engine.retrievers:
        sys.stderr.write(
            f"policyqa: the vector retriever is off: {_vectors_off_reason(engine)}; search with --mode "
            "hybrid or bm25, or set POLICYQA_EMBED_MODEL and rebuild (`policyqa build`)\n"
        )
        return EXIT_FAILURE
    for query in _questions(args, args.query):
        result = engine.search(query, top_k=args.top_k, mode=args.mode, doc_id=args.doc, region=args.region)
        _print_result(args, result, render_search)
    return 0


def cmd_serve(args: argparse.Namespace) -> int:
    """Serve the API and the pages; (re)build the index first when it is missing or out of date."""
    import gc

    from api.server import AppFactory, serve

    index_dir = _index_to_serve(args)
    if index_dir is None:
        return EXIT_FAILURE
    gc.collect()  # what the checks loaded is not kept beside the workers' (or the one worker's) index
    # Each worker reads the settings itself; the index chosen here is laid over them.
    app = AppFactory(overrides=(("POLICYQA_INDEX", str(index_dir)),))
    started = serve(
        app,
        get_settings(),
        host=args.host,
        port=args.port,
        workers=args.workers,
        log_level="info",
        timeout_worker_healthcheck=WORKER_START_TIMEOUT_S,
    )
    return 0 if started else EXIT_FAILURE


def _index_to_serve(args: argparse.Namespace) -> Path | None:
    """Return the index folder to serve, built or rebuilt if needed; None (said why) when it cannot be."""
    from index.store import INDEX_DAMAGED, IndexLoadError, index_exists, index_state, load_index

    settings = get_settings()
    index_dir = Path(args.index or settings.index)
    if index_state(index_dir) == INDEX_DAMAGED:  # files but no manifest: never build over them silently
        sys.stderr.write(
            f"policyqa: refusing to serve: {index_dir} holds files but no manifest.json (a damaged index?); "
            "move it away or delete it, then run `policyqa build`\n"
        )
        return None
    corpus_dir = _corpus_to_compare(args, index_dir)
    build_command = f"{_program()} build --corpus {corpus_dir} --index {index_dir}"
    if index_exists(index_dir):
        try:  # refuse to start on a corrupt or mismatched index, with one line naming the problem
            loaded = load_index(index_dir, load_vectors=False)
        except IndexLoadError as exc:
            sys.stderr.write(f"policyqa: refusing to serve: {exc}\n")
            return None
        rebuild = _out_of_date(loaded, corpus_dir, index_dir, build_command, args.no_build)
        if rebuild is None:
            return None
    elif args.no_build:
        sys.stderr.write(f"policyqa: refusing to serve: no index at {index_dir}; run `{build_command}`\n")
        return None
    else:
        sys.stderr.write(f"policyqa: no index at {index_dir}; building it from {corpus_dir}\n")
        rebuild = True
    if rebuild:
        if _build(corpus_dir, index_dir, settings.embed_model, as_json=False, warn=False) != 0:
            return None
        try:
            load_index(index_dir, load_vectors=False)
        except IndexLoadError as exc:
            sys.stderr.write(f"policyqa: refusing to serve: {exc}\n")
            return None
    return index_dir


def _corpus_to_compare(args: argparse.Namespace, index_dir: Path) -> Path:
    """Return the corpus folder the served index must match: --corpus, else POLICYQA_CORPUS when it is set,
    else the folder the index was built from, else the default."""
    from service.freshness import recorded_corpus_folder

    settings = get_settings()
    if args.corpus:
        return Path(args.corpus)
    recorded = recorded_corpus_folder(index_dir)
    if "corpus" in settings.model_fields_set or recorded is None:
        return Path(settings.corpus)
    if recorded != Path(settings.corpus).resolve():
        sys.stderr.write(
            f"policyqa: serving the index of {recorded} (built from it; --corpus or POLICYQA_CORPUS "
            "chooses another folder)\n"
        )
    return recorded


def _program() -> str:
    """Return how to call `policyqa` from a shell here: its name if PATH finds this one, else its path."""
    import shutil

    beside = Path(sys.executable).parent / "policyqa"  # the console script of this environment
    if not beside.is_file() or shutil.which("policyqa") == str(beside):
        return "policyqa"
    return str(beside)


def _out_of_date(
    loaded: Any, corpus_dir: Path, index_dir: Path, build_command: str, no_build: bool
) -> bool | None:
    """Return True to rebuild, False to serve as is, None to refuse (--no-build); say why in one line."""
    from service.freshness import Freshness, check_freshness

    report = check_freshness(loaded.manifest, loaded.documents, corpus_dir)
    if report.freshness is Freshness.STALE:
        if no_build:
            sys.stderr.write(
                f"policyqa: refusing to serve: the index at {index_dir} is out of date "
                f"({report.reason}); run `{build_command}`, or serve without --no-build\n"
            )
            return None
        sys.stderr.write(f"policyqa: the index is out of date ({report.reason}); rebuilding\n")
        return True
    if report.freshness is Freshness.CHANGED_IN_PLACE:
        sys.stderr.write(
            f"policyqa: serving {index_dir} as edited in place (add/remove/supersede); it differs from the "
            f"corpus ({report.reason}), and `{build_command}` would drop those edits\n"
        )
    return False


# ---------------------------------------------------------------------------------------------------
def build_parser() -> argparse.ArgumentParser:
    """Return the argument parser with every subcommand."""
    parser = argparse.ArgumentParser(prog="policyqa", description="政策问答: policy clauses with provenance")
    sub = parser.add_subparsers(dest="command", required=True)

    p = sub.add_parser("build", help="parse the corpus and build the index")
    p.add_argument("--corpus", help="folder of policy texts (default $POLICYQA_CORPUS or bundled)")
    p.add_argument("--index", help="index folder (default $POLICYQA_INDEX)")
    p.add_argument("--embed-model", help="sentence-transformers model name or path ($POLICYQA_EMBED_MODEL)")
    p.add_argument("--json", action="store_true")
    p.set_defaults(func=cmd_build)

    p = sub.add_parser("clauses", help="print parsed clauses (JSON lines) or an outline (--tree)")
    p.add_argument("--corpus")
    p.add_argument("--doc", help="only this document id")
    p.add_argument("--json", action="store_true", help="JSON lines (the default output)")
    p.add_argument("--tree", action="store_true", help="print each document's outline")
    p.set_defaults(func=cmd_clauses)

    for name, func, arg in (("ask", cmd_ask, "question"), ("search", cmd_search, "query")):
        p = sub.add_parser(name, help=f"{name} ({'answer' if name == 'ask' else 'rank clauses'})")
        p.add_argument(arg, nargs="?")
        p.add_argument("--index")
        p.add_argument("--json", action="store_true")
        p.add_argument("--batch", metavar="FILE", help="one per line ('-' for stdin); writes JSON lines")
        if name == "ask":
            p.add_argument("--session", help="conversation id for follow-ups within one run")
        else:
            p.add_argument("--top-k", type=int, default=5)
            p.add_argument("--mode", choices=("hybrid", "bm25", "vector"), default="hybrid")
            p.add_argument("--doc", help="only this document id")
            p.add_argument("--region", help="only documents about this place")
        p.set_defaults(func=func)

    p = sub.add_parser("serve", help="serve the chat page, staff page, JSON API and WeChat endpoint")
    p.add_argument("--host", default="127.0.0.1")
    p.add_argument("--port", type=int, default=8000)
    p.add_argument("--index")
    p.add_argument("--workers", type=int, default=1)
    p.add_argument("--corpus", help="corpus folder the index must match (default $POLICYQA_CORPUS)")
    p.add_argument(
        "--no-build", action="store_true", help="refuse to start when the index is missing or out of date"
    )
    p.set_defaults(func=cmd_serve)

    for module_name in EXTRA_COMMAND_MODULES:
        import_module(module_name).register(sub)
    return parser


# Subcommands owned by their own modules (each has `register(subparsers)`), imported when the CLI starts.
EXTRA_COMMAND_MODULES = ("eval.cli", "policyqa.report_cli", "policyqa.docs_cli", "bench.cli")


def main(argv: list[str] | None = None) -> int:
    """Entry point of the `policyqa` console script."""
    parser = build_parser()
    args = parser.parse_args(argv)
    has_text = getattr(args, "question", None) or getattr(args, "query", None)
    if args.command in ("ask", "search") and not has_text and not args.batch:
        parser.error(f"{args.command} needs a question or --batch FILE")
    try:  # bad settings stop every command, one line per variable, before any work
        get_settings()
        return int(args.func(args) or 0)
    except ConfigError as exc:
        for problem in exc.problems:
            sys.stderr.write(f"policyqa: {problem}\n")
        return EXIT_USAGE


if __name__ == "__main__":
    raise SystemExit(main())
