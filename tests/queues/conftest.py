"""Fixtures of the queue-routing tests, on Redis database 14 (``TEST_REDIS_URL`` overrides).

Each test gets its own index namespace and removes only that namespace's keys afterwards:
nothing is flushed, so test runs that overlap on the same database cannot disturb each other.
"""

from __future__ import annotations

import uuid
from collections.abc import Iterator

import pytest
import redis

from queues.index import RedisIndex
from queues.skills import RoutingPolicy
from tests.queues.routing_cases import POLICY, QUEUE_REDIS_URL, IndexFactory, drop_namespace


@pytest.fixture
def queue_redis() -> Iterator[redis.Redis]:
    client = redis.Redis.from_url(QUEUE_REDIS_URL)
    yield client
    client.close()


@pytest.fixture
def namespace(queue_redis: redis.Redis) -> Iterator[str]:
    name = f"test-{uuid.uuid4().hex[:12]}"
    yield name
    drop_namespace(queue_redis, name)


@pytest.fixture
def make_index(queue_redis: redis.Redis, namespace: str) -> IndexFactory:
    """``make_index(policy=POLICY, client=queue_redis)``: an index in this test's namespace."""

    def make(policy: RoutingPolicy = POLICY, client: redis.Redis | None = None) -> RedisIndex:
        return RedisIndex(client or queue_redis, policy, namespace=namespace)

    return make
