"""Per-client rate limiting of /api/v1/*: fixed windows, 429 with Retry-After and a Chinese message."""

from __future__ import annotations

import pytest
from fastapi.testclient import TestClient

from api.main import create_app
from api.ratelimit import InMemoryRateLimitStore
from config import Settings
from rag.engine import Engine


class FakeClock:
    def __init__(self) -> None:
        self.now = 1000.0

    def __call__(self) -> float:
        return self.now


def test_store_counts_per_key_and_resets_after_the_window() -> None:
    clock = FakeClock()
    store = InMemoryRateLimitStore(clock=clock)
    assert [store.hit("a", 3, 60)[0] for _ in range(3)] == [True, True, True]
    allowed, retry_after = store.hit("a", 3, 60)
    assert not allowed and retry_after == 60
    assert store.hit("b", 3, 60) == (True, 0)  # another client has its own budget
    clock.now += 45.2
    assert store.hit("a", 3, 60) == (False, 15)  # ceil(14.8)
    clock.now += 15
    assert store.hit("a", 3, 60) == (True, 0)


def test_store_forgets_idle_clients() -> None:
    clock = FakeClock()
    store = InMemoryRateLimitStore(clock=clock)
    for i in range(500):
        store.hit(f"client{i}", 5, 60)
    clock.now += 61
    for _ in range(1100):  # enough hits to trigger a sweep
        store.hit("steady", 10_000, 60)
    assert len(store) == 1


def _client(engine: Engine, limit: int) -> TestClient:
    return TestClient(create_app(settings=Settings(POLICYQA_RATE_LIMIT=limit), engine=engine))


def test_429_with_retry_after_and_chinese_message(engine: Engine) -> None:
    with _client(engine, 3) as client:
        codes = [client.post("/api/v1/search", json={"query": "托育"}).status_code for _ in range(3)]
        assert codes == [200, 200, 200]
        refused = client.post("/api/v1/ask", json={"question": "托育"})
        assert refused.status_code == 429
        assert 1 <= int(refused.headers["retry-after"]) <= 60
        assert "请求过于频繁" in refused.json()["detail"]
        assert client.get("/api/v1/documents").status_code == 429  # every /api/v1/ path shares the budget
        # Pages, health and the WeChat endpoint are not limited (WeChat's servers share a few IPs).
        assert client.get("/health").status_code == 200
        assert client.get("/").status_code == 200
        assert (
            client.get("/wechat", params={"signature": "x", "timestamp": "1", "nonce": "1"}).status_code
            != 429
        )


def test_zero_disables_the_limit(engine: Engine) -> None:
    with _client(engine, 0) as client:
        assert all(client.get("/api/v1/documents").status_code == 200 for _ in range(30))


def test_store_can_be_replaced_on_app_state(engine: Engine) -> None:
    calls: list[tuple[str, int, int]] = []

    class RefuseAll:
        def hit(self, key: str, limit: int, window_s: int) -> tuple[bool, int]:
            calls.append((key, limit, window_s))
            return False, 7

    app = create_app(settings=Settings(POLICYQA_RATE_LIMIT=5), engine=engine)
    app.state.rate_limit_store = RefuseAll()
    with TestClient(app) as client:
        response = client.get("/api/v1/documents")
    assert response.status_code == 429 and response.headers["retry-after"] == "7"
    assert calls == [("ip:testclient", 5, 60)]


@pytest.mark.parametrize("limit", [1, 2])
def test_limit_is_exact(engine: Engine, limit: int) -> None:
    with _client(engine, limit) as client:
        codes = [client.get("/api/v1/documents").status_code for _ in range(limit + 2)]
    assert codes == [200] * limit + [429, 429]
