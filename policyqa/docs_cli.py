"""`policyqa add`, `policyqa remove`, `policyqa supersede`: change the documents of a built index.

`add` extracts the text (HTML, DOCX, PDF, TXT), parses it, prints the outline and metadata, and adds
the document to the index without rebuilding it (the workflows are service/ingest.py's, which the admin
API shares; a damaged index folder is refused and left as it is). The index keeps the documents
(clauses.jsonl, documents.json), so the source file is not needed afterwards; `--corpus DIR` also
writes the extracted text to DIR/<id>.txt so that a later `policyqa build` from that folder includes
the document (statuses set with `supersede` live in the index only and are not kept by a rebuild).
"""

from __future__ import annotations

import argparse
import json
import sys
from collections.abc import Callable
from pathlib import Path
from typing import Any

from config import get_settings

EXIT_FAILURE = 1
EXIT_USAGE = 2
META_FIELDS = (
    ("title", "标题"),
    ("issuer", "发文机关"),
    ("doc_number", "发文字号"),
    ("date_written", "成文日期"),
    ("date_published", "发布日期"),
    ("region", "地区"),
    ("type", "类型"),
)


def register(sub: Any) -> None:
    """Add the `add`, `remove` and `supersede` subcommands to the `policyqa` parser."""
    p = sub.add_parser("add", help="add policy files (html, docx, pdf, txt) to the index")
    p.add_argument("files", nargs="+", metavar="FILE", help="source files or folders")
    p.add_argument("--index", help="index folder (default $POLICYQA_INDEX)")
    p.add_argument("--id", dest="doc_id", help="document id (default: the file name without suffix)")
    p.add_argument("--dry-run", action="store_true", help="show the outline and metadata, change nothing")
    p.add_argument("--yes", "-y", action="store_true", help="do not ask for confirmation")
    p.add_argument("--corpus", help="also write the extracted text to this folder as <id>.txt")
    p.add_argument("--json", action="store_true", help="print the update report as JSON")
    p.set_defaults(func=cmd_add)

    p = sub.add_parser("remove", help="remove a document and its clauses from the index")
    p.add_argument("doc_id", metavar="ID")
    p.add_argument("--index")
    p.add_argument("--json", action="store_true")
    p.set_defaults(func=cmd_remove)

    p = sub.add_parser("supersede", help="mark a document replaced (--by NEWID), repealed or in force")
    p.add_argument("doc_id", metavar="ID")
    group = p.add_mutually_exclusive_group(required=True)
    group.add_argument("--by", metavar="NEWID", help="the indexed document that replaces it")
    group.add_argument("--repeal", action="store_true", help="mark it 失效 with no replacement")
    group.add_argument("--restore", action="store_true", help="mark it 有效 again")
    p.add_argument("--index")
    p.add_argument("--json", action="store_true")
    p.set_defaults(func=cmd_supersede)


def describe_document(document: Any) -> str:
    """Return the outline of a parsed document followed by its metadata, one field per line, each
    with the source line it was read from."""
    from corpus.outline import format_tree

    meta = document.meta
    lines = [format_tree(document), "", "metadata:"]
    for name, label in META_FIELDS:
        value = getattr(meta, name)
        where = f"  (line {meta.evidence[name]})" if name in meta.evidence else ""
        lines.append(f"  {label} {name}: {value if value is not None else '—'}{where}")
    lines.append(f"  clauses: {len(document.clauses)}  dropped lines: {len(document.dropped)}")
    return "\n".join(lines)


def cmd_add(args: argparse.Namespace) -> int:
    """Extract, parse, show, and (unless --dry-run) add each file to the index."""
    from corpus.extract import iter_sources
    from service import ingest

    paths = list(iter_sources(Path(f) for f in args.files))
    if args.doc_id and len(paths) != 1:
        sys.stderr.write("policyqa: --id needs exactly one FILE\n")
        return EXIT_USAGE
    prepared = []
    for path in paths:
        try:
            item = ingest.prepare_file(path, args.doc_id)
        except ingest.BadDocumentId as exc:
            sys.stderr.write(f"policyqa: {exc.doc_id!r} is not a usable document id; give one with --id\n")
            return EXIT_USAGE
        except ingest.IngestError as exc:
            sys.stderr.write(f"policyqa: {exc}\n")
            return EXIT_FAILURE
        sys.stderr.write(f"== {path} ({item.format}) ==\n{describe_document(item.document)}\n\n")
        prepared.append(item)
    if args.dry_run:
        return 0
    if not args.yes and sys.stdin.isatty():
        reply = input(f"add {len(prepared)} document(s) to the index? [y/N] ").strip().lower()
        if reply not in ("y", "yes"):
            sys.stderr.write("policyqa: nothing added\n")
            return EXIT_FAILURE
    settings = get_settings()
    corpus_dir = Path(args.corpus) if args.corpus else None
    return _run(
        lambda: ingest.add_documents(
            Path(args.index or settings.index),
            prepared,
            create=True,  # a missing index is created with the model `policyqa build` would use
            embed_model=settings.embed_model,
            corpus_dir=corpus_dir,
        ).to_dict(),
        args.json,
    )


def cmd_remove(args: argparse.Namespace) -> int:
    """Remove one document from the index."""
    from service import ingest

    index_dir = Path(args.index or get_settings().index)
    return _run(lambda: ingest.remove_document(index_dir, args.doc_id).to_dict(), args.json)


def cmd_supersede(args: argparse.Namespace) -> int:
    """Mark a document superseded, repealed (失效) or in force again."""
    from service import ingest

    def change() -> dict[str, Any]:
        meta = ingest.change_status(
            Path(args.index or get_settings().index),
            args.doc_id,
            superseded_by=args.by,
            repealed=args.repeal,
            in_force=args.restore,
        )
        return {"id": meta.id, "status": meta.status, "superseded_by": meta.superseded_by}

    return _run(change, args.json)


def _run(change: Callable[[], dict[str, Any]], as_json: bool) -> int:
    """Run a change of the index and print what changed; a refused change is one line and exit 1."""
    from service.ingest import IngestError

    try:
        report = change()
    except IngestError as exc:
        sys.stderr.write(f"policyqa: {exc}\n")
        return EXIT_FAILURE
    _print_report(report, as_json)
    return 0


def _print_report(report: dict[str, Any], as_json: bool) -> None:
    if as_json:
        sys.stdout.write(json.dumps(report, ensure_ascii=False) + "\n")
        return
    parts = [f"{key}: {value}" for key, value in report.items() if value not in ((), [], None, "")]
    sys.stderr.write("; ".join(parts) + "\n")
