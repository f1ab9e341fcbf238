"""The Redis cache backend reuses one client per pool and behaves as Django's own (against the real Redis)."""

from __future__ import annotations

import secrets
import threading

import pytest

from medtutor.core.cache import ReusingRedisCache

LOCATION = "redis://127.0.0.1:6379/0"


@pytest.fixture
def cache():
    backend = ReusingRedisCache(LOCATION, {"KEY_PREFIX": f"test-cache-{secrets.token_hex(4)}"})
    try:
        backend.set("probe", 1)
    except Exception as error:  # noqa: BLE001 - no Redis on this machine
        pytest.skip(f"Redis not reachable: {error}")
    yield backend
    backend.clear()


def test_every_call_uses_the_same_client_and_pool(cache):
    first = cache._cache.get_client(write=True)
    assert cache._cache.get_client(write=False) is first
    assert cache._cache.get_client("any key", write=True) is first
    assert first.connection_pool is cache._cache._pools[0]


def test_values_round_trip_expire_and_delete(cache):
    cache.set("answer", {"seq": 3, "choice": 2}, timeout=60)
    assert cache.get("answer") == {"seq": 3, "choice": 2}
    assert cache.add("answer", "other") is False
    assert cache.incr(cache.set("n", 1) or "n") == 2
    cache.set("gone", 1, timeout=0)  # a non-positive timeout deletes at once, as in Django's backend
    assert cache.get("gone") is None
    assert cache.delete("answer") is True and cache.get("answer") is None


def test_threads_share_the_pool_safely(cache):
    errors = []

    def work(n):
        try:
            for i in range(50):
                cache.set(f"t{n}-{i}", i)
                assert cache.get(f"t{n}-{i}") == i
        except Exception as error:  # noqa: BLE001
            errors.append(error)

    threads = [threading.Thread(target=work, args=(n,)) for n in range(4)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert errors == []
