"""`policyqa add`, `policyqa remove`, `policyqa supersede`: change the documents of a built index.

`add` extracts the text (HTML, DOCX, PDF, TXT), parses it, prints the outline and metadata, and adds
the document to the index without rebuilding it (see index/update.py). The index keeps the documents
(clauses.jsonl, documents.json), so the source file is not needed afterwards; `--corpus DIR` also
writes the extracted text to DIR/<id>.txt so that a later `policyqa build` from that folder includes
the document (statuses set with `supersede` live in the index only and are not kept by a rebuild).
"""

from __future__ import annotations

import argparse
import json
import sys
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
    from corpus.extract import DOC_ID_PATTERN, ExtractionError, extract_file, iter_sources, parse_extracted
    from index.update import UpdateError, add_documents

    paths = list(iter_sources(Path(f) for f in args.files))
    if args.doc_id and len(paths) != 1:
        sys.stderr.write("policyqa: --id needs exactly one FILE\n")
        return EXIT_USAGE
    documents = []
    texts = {}
    for path in paths:
        doc_id = args.doc_id or path.stem
        if not DOC_ID_PATTERN.match(doc_id):
            sys.stderr.write(f"policyqa: {doc_id!r} is not a usable document id; give one with --id\n")
            return EXIT_USAGE
        try:
            extracted = extract_file(path)
        except (OSError, ExtractionError) as exc:
            sys.stderr.write(f"policyqa: {exc}\n")
            return EXIT_FAILURE
        document = parse_extracted(extracted, doc_id)
        if not document.clauses:
            sys.stderr.write(f"policyqa: no clauses found in {path}\n")
            return EXIT_FAILURE
        sys.stderr.write(f"== {path} ({extracted.format}) ==\n{describe_document(document)}\n\n")
        documents.append(document)
        texts[doc_id] = extracted.text
    if args.dry_run:
        return 0
    if not args.yes and sys.stdin.isatty():
        reply = input(f"add {len(documents)} document(s) to the index? [y/N] ").strip().lower()
        if reply not in ("y", "yes"):
            sys.stderr.write("policyqa: nothing added\n")
            return EXIT_FAILURE
    index_dir = Path(args.index or get_settings().index)

    try:
        report = add_documents(index_dir, documents)
    except UpdateError as exc:
        sys.stderr.write(f"policyqa: {exc}\n")
        return EXIT_FAILURE
    if args.corpus:
        corpus_dir = Path(args.corpus)
        corpus_dir.mkdir(parents=True, exist_ok=True)
        for doc_id, text in texts.items():
            (corpus_dir / f"{doc_id}.txt").write_text(text, encoding="utf-8")
    _print_report(report.to_dict(), args.json)
    return 0


def cmd_remove(args: argparse.Namespace) -> int:
    """Remove one document from the index."""
    from index.update import UpdateError, remove_documents

    try:
        report = remove_documents(Path(args.index or get_settings().index), [args.doc_id])
    except UpdateError as exc:
        sys.stderr.write(f"policyqa: {exc}\n")
        return EXIT_FAILURE
    _print_report(report.to_dict(), args.json)
    return 0


def cmd_supersede(args: argparse.Namespace) -> int:
    """Mark a document superseded, repealed (失效) or in force again."""
    from index.update import UpdateError, set_status

    try:
        meta = set_status(
            Path(args.index or get_settings().index),
            args.doc_id,
            superseded_by=args.by,
            repealed=args.repeal,
            in_force=args.restore,
        )
    except UpdateError as exc:
        sys.stderr.write(f"policyqa: {exc}\n")
        return EXIT_FAILURE
    summary = {"id": meta.id, "status": meta.status, "superseded_by": meta.superseded_by}
    _print_report(summary, args.json)
    return 0


def _print_report(report: dict[str, Any], as_json: bool) -> None:
    if as_json:
        sys.stdout.write(json.dumps(report, ensure_ascii=False) + "\n")
        return
    parts = [f"{key}: {value}" for key, value in report.items() if value not in ((), [], None, "")]
    sys.stderr.write("; ".join(parts) + "\n")
