"""The engine holder: a reload swaps in a new engine over the folder, conversations carry over, and a
folder that cannot be loaded leaves the serving engine in place."""

from __future__ import annotations

from pathlib import Path

import pytest

from index.store import IndexLoadError
from rag.engine import Engine
from service.engines import EngineHolder


@pytest.fixture()
def holder(served_index: Path) -> EngineHolder:
    return EngineHolder(Engine.from_dir(served_index), served_index)


def test_a_reload_swaps_in_a_new_engine_and_keeps_the_conversations(holder: EngineHolder) -> None:
    first = holder.engine
    first.ask("长宁区宝宝屋建设", session_id="holder-test")
    previous, current = holder.reload()
    assert previous is first and current is holder.engine and current is not first
    follow_up = current.ask("那广西呢", session_id="holder-test")
    assert follow_up.resolved_question != "那广西呢" and "follow_up" in follow_up.rewrites


def test_a_folder_that_cannot_be_loaded_leaves_the_engine_serving(holder: EngineHolder) -> None:
    serving = holder.engine
    (holder.index_dir / "manifest.json").unlink()
    with pytest.raises(IndexLoadError, match=r"manifest\.json"):
        holder.reload()
    assert holder.engine is serving
