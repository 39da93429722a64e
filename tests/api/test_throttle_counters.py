"""Window counters: in the cache, and on Redis counted per process and added in batches."""

import logging
import os
import threading
import time
import uuid

import pytest
import redis
from django.core.cache.backends.redis import RedisCache
from redis.backoff import NoBackoff
from redis.retry import Retry

from musicsite.throttle_counters import Counter, SharedCounters, window_counts, window_counts_flush
from tests.conftest import REQUIRE_SERVICES

BIG = 1_000_000  # a limit no test comes near


def _redis_url() -> str:
    location = os.environ.get("CACHE_URL", "")
    return (
        location if location.startswith(("redis://", "rediss://")) else "redis://127.0.0.1:6379/14"
    )


@pytest.fixture
def client():
    """A Redis client on the test server; skipped without one, except under CI."""
    client = redis.Redis.from_url(_redis_url(), socket_timeout=2)
    try:
        client.ping()
    except redis.RedisError:
        if REQUIRE_SERVICES:
            raise
        pytest.skip("no Redis on 127.0.0.1:6379")
    return client


@pytest.fixture
def keys(client):
    made = [f"test-counter-{uuid.uuid4().hex}" for _ in range(2)]
    yield made
    client.delete(*made)


@pytest.fixture(params=["locmem", "redis"])
def cache(request, settings):
    """The default cache on the per-process backend, or on Redis (shared, as deployed)."""
    if request.param == "redis":
        request.getfixturevalue("client")  # skips without Redis
        backend = {
            "BACKEND": "django.core.cache.backends.redis.RedisCache",
            "LOCATION": _redis_url(),
        }
    else:
        backend = {"BACKEND": "django.core.cache.backends.locmem.LocMemCache"}
    settings.CACHES = {"default": {**backend, "KEY_PREFIX": f"test-{uuid.uuid4().hex[:12]}"}}
    from django.core.cache import caches

    return caches["default"]


def test_window_counters_count_together_and_expire_with_their_window(cache):
    short, long = f"short-{uuid.uuid4().hex}", f"long-{uuid.uuid4().hex}"
    assert window_counts(cache, [Counter(short, 5, BIG)]) == [1]
    assert window_counts(cache, [Counter(short, 5, BIG), Counter(long, 60, BIG)]) == [2, 1]
    assert window_counts(cache, [Counter(long, 60, BIG), Counter(short, 5, BIG)]) == [2, 3]
    assert window_counts(cache, []) == []
    if isinstance(cache, RedisCache):  # in Redis once added, each expiring with its window
        window_counts_flush(cache)
        server = cache._cache.get_client(write=True)
        assert int(server.get(cache.make_and_validate_key(short))) == 3
        assert int(server.get(cache.make_and_validate_key(long))) == 2
        assert 0 < server.pttl(cache.make_and_validate_key(short)) <= 5000
        assert 5000 < server.pttl(cache.make_and_validate_key(long)) <= 60_000


def test_far_from_its_limit_a_request_is_counted_in_redis_later(client, keys):
    process = SharedCounters(client, background=False)
    key = keys[0]
    assert [process.count([Counter(key, 60, 100)])[0] for _ in range(3)] == [1, 2, 3]
    assert client.get(key) is None  # no round trip yet
    assert process.flush() == 1
    assert int(client.get(key)) == 3
    assert process.flush() == 0  # nothing counted twice
    assert int(client.get(key)) == 3


def test_near_its_limit_processes_share_the_budget_exactly(client, keys):
    """Two gunicorn workers, a sync interval passing between requests: a client alternating
    between them gets its limit, no more."""
    first, second = (SharedCounters(client, background=False) for _ in range(2))
    allowed = 0
    for i in range(30):
        process, other = (first, second) if i % 2 else (second, first)
        if process.count([Counter(keys[0], 60, 10)])[0] <= 10:
            allowed += 1
        other.flush()  # a sync interval passes between requests
    assert allowed == 10
    assert int(client.get(keys[0])) == 30  # refused requests count, as DRF's throttles do


def test_without_syncs_the_overshoot_is_what_the_other_process_held(client, keys):
    first, second = (SharedCounters(client, background=False) for _ in range(2))
    held = [second.count([Counter(keys[0], 60, 10)])[0] for _ in range(5)]  # under half: not sent
    assert held == [1, 2, 3, 4, 5]
    counts = [first.count([Counter(keys[0], 60, 10)])[0] for _ in range(12)]
    assert sum(n <= 10 for n in counts) == 10  # the first process alone allows its limit
    assert [second.count([Counter(keys[0], 60, 10)])[0] for _ in range(2)] == [
        18,
        19,
    ]  # then it sends


def test_near_one_of_its_limits_a_request_is_counted_in_redis_in_every_window(client, keys):
    process = SharedCounters(client, background=False)
    process.count([Counter(keys[0], 60, 100), Counter(keys[1], 5, 100)])
    assert process.count([Counter(keys[0], 60, 100), Counter(keys[1], 5, 3)]) == [2, 2]
    assert int(client.get(keys[0])) == 2 and int(client.get(keys[1])) == 2
    assert 5000 < client.pttl(keys[0]) <= 60_000 and 0 < client.pttl(keys[1]) <= 5000


def test_without_redis_each_process_counts_alone_and_loses_nothing(client, keys, caplog):
    unreachable = redis.Redis(host="127.0.0.1", port=1, retry=Retry(NoBackoff(), 0))
    process = SharedCounters(unreachable, background=False)
    with caplog.at_level(logging.WARNING, logger="musicsite.throttle_counters"):
        counts = [process.count([Counter(keys[0], 60, 4)])[0] for _ in range(6)]
    assert counts == [1, 2, 3, 4, 5, 6]  # the 5th and 6th are refused, per process
    assert "counting per process" in caplog.text
    with pytest.raises(redis.ConnectionError):
        process.flush()
    process.client = client  # Redis is back
    assert process.flush() == 1
    assert int(client.get(keys[0])) == 6
    assert process.count([Counter(keys[0], 60, 4)]) == [7]  # counted in Redis again
    assert int(client.get(keys[0])) == 7


class HeldClient:
    """The test Redis, with each pipeline's round trip held open until ``release`` is set."""

    def __init__(self, client):
        self.client, self.sending, self.release = client, threading.Event(), threading.Event()

    def pipeline(self, transaction):
        pipe = self.client.pipeline(transaction=transaction)
        execute = pipe.execute

        def held():
            self.sending.set()
            assert self.release.wait(5)
            return execute()

        pipe.execute = held
        return pipe


def test_counts_on_their_way_to_redis_still_count(client, keys):
    held = HeldClient(client)
    process = SharedCounters(held, background=False)
    for _ in range(5):
        process.count([Counter(keys[0], 60, 100)])
    sync = threading.Thread(target=process.flush)
    sync.start()
    assert held.sending.wait(5)
    assert process.count([Counter(keys[0], 60, 100)]) == [6]  # not 1 while 5 are in flight
    held.release.set()
    sync.join(5)
    process.client = client
    process.flush()
    assert int(client.get(keys[0])) == 6


def test_a_flush_waits_for_one_under_way(client, keys):
    held = HeldClient(client)
    process = SharedCounters(held, background=False)
    process.count([Counter(keys[0], 60, 100)])
    first = threading.Thread(target=process.flush)
    first.start()
    assert held.sending.wait(5)
    second = threading.Thread(target=process.flush)
    second.start()
    second.join(0.3)
    assert second.is_alive()  # it does not return before the counts are in Redis
    held.release.set()
    first.join(5), second.join(5)
    assert int(client.get(keys[0])) == 1


def test_the_background_thread_adds_the_counts(client, keys, settings):
    settings.API_THROTTLE_SYNC_SECONDS = 0.01
    process = SharedCounters(client)
    try:
        process.count([Counter(keys[0], 60, 100)])
        process.count([Counter(keys[0], 60, 100)])
        deadline = time.monotonic() + 5
        while client.get(keys[0]) is None and time.monotonic() < deadline:
            time.sleep(0.01)
        assert int(client.get(keys[0])) == 2
    finally:
        thread = process.thread
        process.close()
    assert thread is not None and not thread.is_alive()


def test_a_zero_sync_interval_counts_every_request_in_redis(client, keys, settings):
    settings.API_THROTTLE_SYNC_SECONDS = 0
    process = SharedCounters(client, background=False)
    assert process.count([Counter(keys[0], 60, 100)]) == [1]
    assert int(client.get(keys[0])) == 1
