"""Is a built index still the corpus folder's? `policyqa serve` asks before it starts.

The index manifest records the checksum of the corpus it was built from (`corpus_checksum`, over the
documents' source checksums). The folder on disk is parsed the way `policyqa build` parses it and its
checksum compared. An index that staff changed in place (`policyqa add/remove/supersede` or the admin
API) legitimately differs from the folder; rebuilding it would silently drop those changes, so it is
reported, not rebuilt.
"""

from __future__ import annotations

import json
from collections.abc import Sequence
from contextlib import suppress
from dataclasses import dataclass
from enum import Enum
from pathlib import Path
from typing import Any

from corpus.load import CorpusError, load_corpus
from corpus.models import STATUS_IN_FORCE, DocumentMeta
from index.store import corpus_checksum, edited_in_place
from index.tokenize import TOKENIZER_VERSION

# Written into the index folder by `policyqa build` (not part of the manifest): the corpus folder it read,
# so that `serve` without --corpus or POLICYQA_CORPUS compares the index with the folder it came from.
BUILT_FROM_FILE = "built_from.json"


def record_corpus_folder(index_dir: Path, corpus_dir: Path) -> None:
    """Note in the index folder which corpus folder it was just built from."""
    (index_dir / BUILT_FROM_FILE).write_text(
        json.dumps({"corpus": str(corpus_dir.resolve())}, ensure_ascii=False), encoding="utf-8"
    )


def recorded_corpus_folder(index_dir: Path) -> Path | None:
    """Return the corpus folder the index was built from, if `record_corpus_folder` noted one."""
    with suppress(OSError, ValueError, KeyError, TypeError):
        return Path(json.loads((index_dir / BUILT_FROM_FILE).read_text(encoding="utf-8"))["corpus"])
    return None


class Freshness(Enum):
    """How an index relates to the corpus folder."""

    CURRENT = "current"  # built from exactly these files
    STALE = "stale"  # the folder changed since the build, or the build predates this program's: rebuild
    CHANGED_IN_PLACE = "changed_in_place"  # differs, but staff edited the index itself: keep it
    NO_CORPUS = "no_corpus"  # no readable folder to compare with: serve what is built


@dataclass(frozen=True)
class FreshnessReport:
    """The verdict, with the document counts on both sides (None where unknown) and why, in words."""

    freshness: Freshness
    corpus_documents: int | None
    index_documents: int
    reason: str = ""


def changed_in_place(manifest: dict[str, Any], documents: Sequence[DocumentMeta]) -> bool:
    """Return True when the index was edited after its build (documents added, removed or re-marked).

    The manifest of an index that `index/update.py` changed says so; a status other than 有效 is set
    only by `supersede` or the admin API.
    """
    if edited_in_place(manifest):
        return True
    return any(d.status != STATUS_IN_FORCE or d.superseded_by for d in documents)


def built_by_an_older_program(manifest: dict[str, Any]) -> str:
    """Return why an index predates how this program indexes (its tokenizer version; clause vectors
    without sentence vectors), or "" when it does not. Such an index still loads; a build brings it up to
    date unless staff edited it in place."""
    version = (manifest.get("tokenizer") or {}).get("version")
    if version != TOKENIZER_VERSION:
        return (
            f"built with tokenizer version {version}, this program cuts text with version {TOKENIZER_VERSION}"
        )
    embedding = manifest.get("embedding")
    if isinstance(embedding, dict) and embedding.get("sentences") is None:
        return "built before sentences had vectors of their own"
    return ""


def check_freshness(
    manifest: dict[str, Any], documents: Sequence[DocumentMeta], corpus_dir: Path
) -> FreshnessReport:
    """Compare an index (its manifest and documents) with the corpus folder `corpus_dir`."""
    indexed = len(documents)
    if not corpus_dir.is_dir():
        return FreshnessReport(Freshness.NO_CORPUS, None, indexed, f"corpus folder {corpus_dir} not found")
    try:
        on_disk = load_corpus(corpus_dir)
    except (CorpusError, OSError) as error:
        return FreshnessReport(Freshness.NO_CORPUS, None, indexed, f"corpus folder unreadable: {error}")
    if not on_disk:
        return FreshnessReport(Freshness.NO_CORPUS, 0, indexed, f"no policy documents in {corpus_dir}")
    if corpus_checksum([d.meta for d in on_disk]) == manifest.get("corpus_checksum"):
        older = built_by_an_older_program(manifest)
        if older and not changed_in_place(manifest, documents):
            return FreshnessReport(Freshness.STALE, len(on_disk), indexed, older)
        return FreshnessReport(Freshness.CURRENT, len(on_disk), indexed)
    files = {d.meta.source_file: d.meta.checksum for d in on_disk}
    built = {d.source_file: d.checksum for d in documents}
    changes = {
        "added": len(set(files) - set(built)),
        "removed": len(set(built) - set(files)),
        "edited": sum(1 for name in set(files) & set(built) if files[name] != built[name]),
    }
    what = ", ".join(f"{count} {change}" for change, count in changes.items() if count)
    reason = f"{len(on_disk)} documents in {corpus_dir}, {indexed} in the index: {what or 'different files'}"
    verdict = Freshness.CHANGED_IN_PLACE if changed_in_place(manifest, documents) else Freshness.STALE
    return FreshnessReport(verdict, len(on_disk), indexed, reason)
