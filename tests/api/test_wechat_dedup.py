"""Retry de-duplication (one computation per key, shared while running, expiring after the window) and
OpenID hashing."""

from __future__ import annotations

import threading
from concurrent.futures import ThreadPoolExecutor

from api.wechat.dedup import InMemoryReplyStore, dedup_key, hash_openid
from api.wechat.nonce import InMemoryNonceStore

OPENID = "o6_bmjrPTlm6_2sgVt7hMZOPfL2M"


class FakeClock:
    def __init__(self) -> None:
        self.now = 1000.0

    def __call__(self) -> float:
        return self.now


def test_second_submit_while_running_shares_the_first_computation() -> None:
    release = threading.Event()
    calls: list[int] = []

    def compute() -> str:
        calls.append(1)
        release.wait(5)
        return "reply"

    store = InMemoryReplyStore(executor=ThreadPoolExecutor(2))
    first = store.submit("msg:1", compute)
    second = store.submit("msg:1", compute)
    assert second is first and not first.done()
    release.set()
    assert first.result(5) == second.result(5) == "reply"
    assert store.submit("msg:1", compute).result(5) == "reply"
    assert calls == [1]


def test_finished_entries_expire_after_the_window_but_running_ones_stay() -> None:
    clock = FakeClock()
    store = InMemoryReplyStore(ttl_seconds=60, executor=ThreadPoolExecutor(2), clock=clock)
    counter = iter(range(100))
    first = store.submit("msg:1", lambda: f"r{next(counter)}")
    assert first.result(5) == "r0"
    clock.now += 59
    assert store.submit("msg:1", lambda: "again").result(5) == "r0"
    clock.now += 2
    assert store.submit("msg:1", lambda: "again").result(5) == "again"

    release = threading.Event()
    slow = store.submit("msg:2", lambda: "slow" if release.wait(5) else "timeout")
    clock.now += 3600  # long past the window, but still computing: a retry must still join it
    assert store.submit("msg:2", lambda: "duplicate") is slow
    release.set()
    assert slow.result(5) == "slow"


def test_store_is_bounded() -> None:
    store = InMemoryReplyStore(max_entries=10, executor=ThreadPoolExecutor(2))
    for number in range(50):
        store.submit(f"msg:{number}", lambda: "r").result(5)
    assert len(store) <= 10


def test_openid_hash_is_salted_stable_and_hides_the_openid() -> None:
    hashed = hash_openid(OPENID, "salt-a")
    assert hashed == hash_openid(OPENID, "salt-a")
    assert hashed != hash_openid(OPENID, "salt-b") and hashed != hash_openid(OPENID + "x", "salt-a")
    assert OPENID not in hashed and len(hashed) == 32


def test_keys_hash_the_sender_and_tell_followers_apart() -> None:
    key = dedup_key(("event", OPENID, "1700000000"), "salt")
    assert OPENID not in key and key.endswith(":1700000000")
    message = dedup_key(("msg", OPENID, "6054768590064713728"), "salt")
    assert OPENID not in message and message.endswith(":6054768590064713728")
    # The same MsgId from another follower is another message.
    assert dedup_key(("msg", OPENID + "x", "6054768590064713728"), "salt") != message


def test_nonce_store_binds_a_timestamp_and_nonce_to_one_body_for_the_window() -> None:
    now = [1000.0]
    store = InMemoryNonceStore(clock=lambda: now[0])
    assert store.claim("1700000000", "n1", "body-a", ttl_seconds=601)
    assert store.claim("1700000000", "n1", "body-a", ttl_seconds=601)  # a retry of the same request
    assert not store.claim("1700000000", "n1", "body-b", ttl_seconds=601)  # a replay with a new body
    assert store.claim("1700000000", "n2", "body-b", ttl_seconds=601)  # another nonce is another request
    now[0] += 602  # the timestamp has left the window on both sides: the pair is forgotten
    assert store.claim("1700000000", "n1", "body-b", ttl_seconds=601) and len(store) == 1


def test_nonce_store_is_bounded() -> None:
    store = InMemoryNonceStore(max_entries=10)
    for number in range(50):
        assert store.claim(str(number), "n", "d", ttl_seconds=601)
    assert len(store) <= 10
