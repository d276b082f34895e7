"""The live engine of a server: held, loaded again from its index folder, swapped without dropping
requests."""

from __future__ import annotations

import threading
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

from rag.engine import Engine


class EngineHolder:
    """Holds the live engine and the index folder it serves.

    `reload` loads the folder again and swaps the new engine in atomically: requests already running
    finish on the old one. Changes to the folder and reloads happen one at a time (`changing`).
    """

    def __init__(
        self,
        engine: Engine,
        index_dir: Path,
        *,
        expected_model: str | None = None,
        embed_threads: int | None = None,
    ) -> None:
        self._engine = engine
        self.index_dir = Path(index_dir)
        self.expected_model = expected_model
        self.embed_threads = embed_threads
        self._swap_lock = threading.Lock()
        self._change_lock = threading.RLock()

    @property
    def engine(self) -> Engine:
        """The engine serving now."""
        return self._engine

    def swap(self, engine: Engine) -> Engine:
        """Install `engine`; return the previous one."""
        with self._swap_lock:
            previous, self._engine = self._engine, engine
        return previous

    def reload(self) -> tuple[Engine, Engine]:
        """Load the index folder into a new engine and swap it in; return (previous, current).

        Conversations carry over, so a follow-up asked across the reload keeps its context. Raises
        `IndexLoadError` (the engine serving now keeps serving) when the folder cannot be loaded.
        """
        with self.changing():
            fresh = Engine.from_dir(
                self.index_dir,
                self._engine.conversations,
                expected_model=self.expected_model,
                embed_threads=self.embed_threads,
            )
            return self.swap(fresh), fresh

    @contextmanager
    def changing(self) -> Iterator[None]:
        """Hold the right to change the index folder and reload it (one change or reload at a time)."""
        with self._change_lock:
            yield
