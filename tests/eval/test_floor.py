"""The evaluation floor: hybrid hit@5 on the test split must not fall below eval/floor.json."""

from __future__ import annotations

import json

from eval.cli import FLOOR_FILE
from eval.labels import load_questions
from eval.run import run_mode
from rag.engine import Engine


def test_hybrid_hit_at_5_on_test_split_meets_floor(engine: Engine) -> None:
    floor = json.loads(FLOOR_FILE.read_text(encoding="utf-8"))
    questions = [q for q in load_questions() if q.split == floor["split"]]
    run = run_mode(engine, questions, floor["mode"], progress=False)
    value = run.report.overall.hit_at[5]
    assert value >= floor["hit_at_5"], f"hit@5 {value:.3f} below the floor {floor['hit_at_5']:.3f}"
