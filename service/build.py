"""Building the index of a corpus folder: load and parse the folder, build the index, note where it came
from (service/freshness.py). Calibration needs the eval set, so the command line runs it afterwards."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

from corpus.load import CorpusError, load_corpus
from index.build import BuildReport, build_index
from service.freshness import record_corpus_folder


class BuildError(Exception):
    """The corpus folder cannot be built (missing, unreadable, empty); the index is left unchanged."""


class CorpusNotFound(BuildError):
    """There is no corpus folder."""


class CorpusUnreadable(BuildError):
    """A document of the folder cannot be read or parsed."""


class EmptyCorpus(BuildError):
    """The folder holds no policy documents."""


@dataclass(frozen=True)
class BuiltCorpus:
    """What a build of a corpus folder produced: the index report and how many documents it read."""

    report: BuildReport
    documents: int


def build_corpus(
    corpus_dir: Path,
    index_dir: Path,
    embed_model: str | None,
    *,
    embed_threads: int | None = None,
    warn: Callable[[str], None],
    progress: bool = True,
) -> BuiltCorpus:
    """Build the index folder `index_dir` from the documents of `corpus_dir` and return what was built;
    `warn` receives the one-line warning when the embedding model cannot be loaded."""
    if not corpus_dir.is_dir():
        raise CorpusNotFound(f"corpus folder not found: {corpus_dir}")
    try:
        documents = load_corpus(corpus_dir)
    except CorpusError as error:
        raise CorpusUnreadable(str(error)) from error
    if not documents:
        raise EmptyCorpus(f"no policy documents in {corpus_dir}")
    report = build_index(
        documents,
        index_dir,
        embed_model=embed_model,
        warn=warn,
        embed_threads=embed_threads,
        progress=progress,
    )
    record_corpus_folder(index_dir, corpus_dir)
    return BuiltCorpus(report, len(documents))
