"""Bounded soak test on loopback: a real uvicorn server, N concurrent clients for D seconds.

    python scripts/soak.py                       # 50 clients, 120 s, builds a BM25 index in a temp folder
    python scripts/soak.py --clients 10 --duration 10 --index var/index

Traffic mix (weights in MIX): chat asks (half of them follow-ups in a session), searches, WeChat URL
checks with bad signatures, and bad requests (empty / over-long / control-character questions, broken
JSON, wrong Content-Type, oversized bodies, unknown clause and document ids). Each kind has the status it
must get. Prints a table (count, p50/p99/max latency, statuses per kind), requests/s and the server's RSS
after warm-up and at the end; exits 1 on any 5xx, transport error, unexpected status, or RSS growth
above --max-rss-growth-mb (default 64 MB: the bounded caches -- conversations, rate-limit counters,
WeChat replies -- hold far less than that at their caps on this corpus).
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import random
import statistics
import subprocess
import sys
import tempfile
import time
from collections import Counter, defaultdict
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field
from pathlib import Path

import httpx
import psutil

ROOT = Path(__file__).resolve().parent.parent
if str(ROOT) not in sys.path:  # run as `python scripts/soak.py`: the repository is not installed
    sys.path.insert(0, str(ROOT))

from policyqa import localserver  # noqa: E402
from policyqa.localserver import free_port  # noqa: E402  (tests call soak.free_port)

WARMUP_S = 3.0
RSS_SAMPLE_S = 1.0
REQUEST_TIMEOUT_S = 60.0
START_TIMEOUT_S = 120.0
DEFAULT_MAX_RSS_GROWTH_MB = 64.0
SOAK_WECHAT_TOKEN = "soak-token"  # lets /wechat run its signature check (every signature sent is wrong)

QUESTIONS = [
    "渝中区托育服务有什么政策？",
    "长宁区宝宝屋建设",
    "广西儿童友好城市建设的目标是什么",
    "大渡口区儿童发展规划的主要指标",
    "儿童友好学校建设",
    "普惠托育服务",
    "儿童公园和游乐设施",
    "北京市的托育补贴标准",  # refused: the corpus has nothing on Beijing
    "学生近视防控",
    "校外活动场所免费开放",
]
FOLLOW_UPS = ["那长宁区呢？", "下一条", "广西呢"]
SEARCHES = ["广西方案第17条", "托育", "儿童之家", "长宁区行动计划第(20)条", "母婴室", "心理健康"]


@dataclass
class Outcome:
    """Results of one kind of request."""

    latencies_ms: list[float] = field(default_factory=list)
    statuses: Counter[str] = field(default_factory=Counter)
    unexpected: int = 0
    server_errors: int = 0
    transport_errors: int = 0


# --- the server -------------------------------------------------------------------------------------


def build_index(index_dir: Path) -> None:
    """Build the bundled corpus into `index_dir` with `policyqa build` (BM25-only, offline)."""
    env = {**os.environ, "HF_HUB_OFFLINE": "1", "PYTHONPATH": str(ROOT)}
    subprocess.run(
        [sys.executable, "-m", "policyqa.cli", "build", "--index", str(index_dir)],
        cwd=ROOT,
        env=env,
        check=True,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )


def start_server(
    index_dir: Path, port: int, extra_env: dict[str, str] | None = None, log_path: Path | None = None
) -> subprocess.Popen[bytes]:
    """Start `uvicorn api.main:create_app` over `index_dir`; return once /health answers."""
    env = {
        "HF_HUB_OFFLINE": "1",
        "POLICYQA_INDEX": str(index_dir),
        "WECHAT_TOKEN": SOAK_WECHAT_TOKEN,
        **(extra_env or {}),
    }
    # Without a log file the output is dropped (not piped) so a long soak never fills a pipe.
    process, base_url = localserver.start_server(env, port=port, log_path=log_path or Path(os.devnull))
    try:
        localserver.wait_until_healthy(base_url, process, START_TIMEOUT_S, log_path=log_path)
    except RuntimeError:
        localserver.stop_server(process)
        raise
    return process


# --- the clients ------------------------------------------------------------------------------------

Request = Callable[[httpx.AsyncClient, random.Random], Awaitable[httpx.Response]]


async def _ask(client: httpx.AsyncClient, rng: random.Random) -> httpx.Response:
    session = f"soak{rng.randrange(1000)}"
    question = rng.choice(FOLLOW_UPS) if rng.random() < 0.3 else rng.choice(QUESTIONS)
    return await client.post("/api/v1/ask", json={"question": question, "session_id": session})


async def _search(client: httpx.AsyncClient, rng: random.Random) -> httpx.Response:
    return await client.post(
        "/api/v1/search", json={"query": rng.choice(SEARCHES), "top_k": rng.randint(1, 10)}
    )


async def _wechat_bad_signature(client: httpx.AsyncClient, rng: random.Random) -> httpx.Response:
    params = {
        "signature": f"{rng.getrandbits(160):040x}",
        "timestamp": str(int(time.time())),
        "nonce": str(rng.randrange(10**9)),
        "echostr": "soak",
    }
    return await client.get("/wechat", params=params)


_JSON = {"content-type": "application/json"}
BAD_REQUESTS: list[Callable[[httpx.AsyncClient, random.Random], Awaitable[httpx.Response]]] = [
    lambda c, r: c.post("/api/v1/ask", json={"question": "   "}),
    lambda c, r: c.post("/api/v1/ask", json={"question": "托育" * 400}),
    lambda c, r: c.post("/api/v1/ask", json={"question": "托育\x00服务"}),
    lambda c, r: c.post("/api/v1/ask", content=b"{not json", headers=_JSON),
    lambda c, r: c.post("/api/v1/ask", content=b'{"question": "\xff\xfe"}', headers=_JSON),
    lambda c, r: c.post("/api/v1/ask", content=b"question=x", headers={"content-type": "text/plain"}),
    lambda c, r: c.post("/api/v1/ask", content=b"{}" + b" " * 70_000, headers=_JSON),
    lambda c, r: c.post("/api/v1/ask", json=[1, 2, 3]),
    lambda c, r: c.post("/api/v1/search", json={"query": "托育", "top_k": 10_000}),
    lambda c, r: c.get(f"/api/v1/clauses/no-such-{r.randrange(10**6)}"),
    lambda c, r: c.get("/api/v1/documents/no-such-doc"),
]


async def _bad(client: httpx.AsyncClient, rng: random.Random) -> httpx.Response:
    return await rng.choice(BAD_REQUESTS)(client, rng)


# kind -> (weight, request, accepted statuses)
MIX: dict[str, tuple[int, Request, frozenset[int]]] = {
    "ask": (45, _ask, frozenset({200})),
    "search": (25, _search, frozenset({200})),
    "wechat_bad_sig": (10, _wechat_bad_signature, frozenset({401, 403})),
    "bad_request": (20, _bad, frozenset({400, 404, 413, 415, 422})),
}


async def _client_loop(
    client: httpx.AsyncClient, seed: int, stop_at: float, outcomes: dict[str, Outcome], rate_limited: bool
) -> None:
    rng = random.Random(seed)
    kinds = list(MIX)
    weights = [MIX[k][0] for k in kinds]
    while time.monotonic() < stop_at:
        kind = rng.choices(kinds, weights)[0]
        _, request, accepted = MIX[kind]
        outcome = outcomes[kind]
        started = time.perf_counter()
        try:
            response = await request(client, rng)
        except httpx.HTTPError:
            outcome.transport_errors += 1
            continue
        outcome.latencies_ms.append((time.perf_counter() - started) * 1000)
        outcome.statuses[str(response.status_code)] += 1
        if response.status_code >= 500:
            outcome.server_errors += 1
        elif response.status_code not in accepted and not (rate_limited and response.status_code == 429):
            outcome.unexpected += 1


async def _sample_rss(process: psutil.Process, stop_at: float, samples: list[tuple[float, int]]) -> None:
    started = time.monotonic()
    while time.monotonic() < stop_at:
        samples.append((time.monotonic() - started, process.memory_info().rss))
        await asyncio.sleep(RSS_SAMPLE_S)


async def run_soak(
    base_url: str, server_pid: int, clients: int, duration_s: float, rate_limited: bool
) -> dict:
    """Drive the server for `duration_s`; return the measurements (see `report`)."""
    outcomes: dict[str, Outcome] = defaultdict(Outcome)
    limits = httpx.Limits(max_connections=clients, max_keepalive_connections=clients)
    server = psutil.Process(server_pid)
    async with httpx.AsyncClient(base_url=base_url, timeout=REQUEST_TIMEOUT_S, limits=limits) as client:
        # Warm-up: every kind once per client, so caches and thread pools exist before the baseline.
        warmup_end = time.monotonic() + WARMUP_S
        await asyncio.gather(
            *(_client_loop(client, -i, warmup_end, defaultdict(Outcome), True) for i in range(clients))
        )
        rss_start = server.memory_info().rss
        samples: list[tuple[float, int]] = []
        started = time.monotonic()
        stop_at = started + duration_s
        await asyncio.gather(
            _sample_rss(server, stop_at, samples),
            *(_client_loop(client, i, stop_at, outcomes, rate_limited) for i in range(clients)),
        )
        elapsed = time.monotonic() - started
    rss_end = server.memory_info().rss
    return {
        "clients": clients,
        "duration_s": round(elapsed, 1),
        "requests": sum(len(o.latencies_ms) for o in outcomes.values()),
        "outcomes": outcomes,
        "rss_start_mb": rss_start / 2**20,
        "rss_end_mb": rss_end / 2**20,
        "rss_peak_mb": max([rss_end, *(rss for _, rss in samples)]) / 2**20,
    }


def _percentile(values: list[float], q: float) -> float:
    if not values:
        return float("nan")
    if len(values) == 1:
        return values[0]
    return statistics.quantiles(values, n=100, method="inclusive")[int(q) - 1]


def summarize(result: dict, max_rss_growth_mb: float) -> tuple[dict, list[str]]:
    """Return (JSON-ready summary, list of failures)."""
    outcomes: dict[str, Outcome] = result["outcomes"]
    kinds = {}
    failures = []
    for kind in MIX:
        outcome = outcomes.get(kind, Outcome())
        kinds[kind] = {
            "count": len(outcome.latencies_ms),
            "p50_ms": round(_percentile(outcome.latencies_ms, 50), 1),
            "p99_ms": round(_percentile(outcome.latencies_ms, 99), 1),
            "max_ms": round(max(outcome.latencies_ms, default=float("nan")), 1),
            "statuses": dict(sorted(outcome.statuses.items())),
            "server_errors": outcome.server_errors,
            "unexpected": outcome.unexpected,
            "transport_errors": outcome.transport_errors,
        }
        for label in ("server_errors", "unexpected", "transport_errors"):
            if kinds[kind][label]:
                failures.append(f"{kind}: {kinds[kind][label]} {label.replace('_', ' ')}")
    growth = result["rss_end_mb"] - result["rss_start_mb"]
    if growth > max_rss_growth_mb:
        failures.append(f"server RSS grew {growth:.1f} MB (bound {max_rss_growth_mb:.0f} MB)")
    if result["requests"] == 0:
        failures.append("no request completed")
    summary = {
        "clients": result["clients"],
        "duration_s": result["duration_s"],
        "requests": result["requests"],
        "requests_per_s": round(result["requests"] / max(result["duration_s"], 1e-9), 1),
        "kinds": kinds,
        "rss_start_mb": round(result["rss_start_mb"], 1),
        "rss_end_mb": round(result["rss_end_mb"], 1),
        "rss_peak_mb": round(result["rss_peak_mb"], 1),
        "rss_growth_mb": round(growth, 1),
        "rss_growth_bound_mb": max_rss_growth_mb,
        "failures": failures,
    }
    return summary, failures


def render(summary: dict) -> str:
    """Return the printed report table."""
    lines = [
        f"soak: {summary['clients']} clients, {summary['duration_s']} s, {summary['requests']} requests, "
        f"{summary['requests_per_s']} req/s",
        f"{'kind':<16}{'count':>8}{'p50 ms':>10}{'p99 ms':>10}{'max ms':>10}  statuses",
    ]
    for kind, row in summary["kinds"].items():
        statuses = " ".join(f"{code}x{n}" for code, n in row["statuses"].items())
        latencies = f"{row['p50_ms']:>10.1f}{row['p99_ms']:>10.1f}{row['max_ms']:>10.1f}"
        lines.append(f"{kind:<16}{row['count']:>8}{latencies}  {statuses}")
    lines.append(
        f"server RSS: {summary['rss_start_mb']} MB after warm-up -> {summary['rss_end_mb']} MB at end "
        f"(peak {summary['rss_peak_mb']} MB, growth {summary['rss_growth_mb']} MB, bound "
        f"{summary['rss_growth_bound_mb']:.0f} MB)"
    )
    lines.append("PASS" if not summary["failures"] else "FAIL: " + "; ".join(summary["failures"]))
    return "\n".join(lines)


def main(argv: list[str] | None = None) -> int:
    """Run the soak; return 0 when it passed, 1 otherwise."""
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--clients", type=int, default=50)
    parser.add_argument("--duration", type=float, default=120.0, help="seconds of load after warm-up")
    parser.add_argument("--index", type=Path, help="built index folder (default: build one in a temp folder)")
    parser.add_argument("--max-rss-growth-mb", type=float, default=DEFAULT_MAX_RSS_GROWTH_MB)
    parser.add_argument(
        "--rate-limit", type=int, default=0, help="POLICYQA_RATE_LIMIT for the server (0: off)"
    )
    parser.add_argument("--query-log", type=Path, help="POLICYQA_QUERY_LOG for the server (default: none)")
    parser.add_argument("--json", action="store_true", help="print the summary as JSON after the table")
    args = parser.parse_args(argv)

    with tempfile.TemporaryDirectory(prefix="policyqa-soak-") as tmp:
        index_dir = args.index
        if index_dir is None:
            index_dir = Path(tmp) / "index"
            build_index(index_dir)
        extra_env = {"POLICYQA_RATE_LIMIT": str(args.rate_limit)}
        if args.query_log:
            extra_env["POLICYQA_QUERY_LOG"] = str(args.query_log)
        port = free_port()
        server_log = Path(tmp) / "server.log"
        server = start_server(index_dir, port, extra_env, server_log)
        try:
            result = asyncio.run(
                run_soak(
                    f"http://127.0.0.1:{port}", server.pid, args.clients, args.duration, args.rate_limit > 0
                )
            )
        finally:
            localserver.stop_server(server, timeout_s=15)
        summary, failures = summarize(result, args.max_rss_growth_mb)
        print(render(summary))
        if args.json:
            print(json.dumps(summary, ensure_ascii=False))
        if failures:
            tail = server_log.read_text(encoding="utf-8", errors="replace")[-3000:]
            if tail.strip():
                print("--- server log (tail) ---\n" + tail, file=sys.stderr)
    return 1 if failures else 0


if __name__ == "__main__":
    raise SystemExit(main())
