"""Fixtures of the queue-routing tests, on Redis database 14 (``TEST_REDIS_URL`` overrides).

Index tests get their own index namespace and remove only that namespace's keys afterwards.
Tests of the routing wired into the app use the app fixtures of ``tests/conftest.py`` (the
database flushed around each test) and a fake Twilio REST client.
"""

from __future__ import annotations

import uuid
from collections.abc import Iterator

import pytest
import redis
from flask import Flask
from twilio.base.exceptions import TwilioRestException

from callcenter.services import Services
from queues import recovery
from queues.index import RedisIndex
from queues.jobs import current_router
from queues.router import Router
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


# --- the routing wired into the app: fixtures over the app's services ---------------------

class FakeTwilio:
    """Twilio's REST client as the router uses it (``calls(sid).update(url=, method=)``):
    records redirects; calls in ``gone`` have ended (404), in ``failing`` Twilio errs."""

    def __init__(self) -> None:
        self.redirects: list[tuple[str, str]] = []
        self.gone: set[str] = set()
        self.failing: set[str] = set()

    def calls(self, sid: str) -> _FakeCall:
        return _FakeCall(self, sid)

    def redirected(self) -> list[str]:
        return [sid for sid, _ in self.redirects]


class _FakeCall:
    def __init__(self, twilio: FakeTwilio, sid: str) -> None:
        self.twilio, self.sid = twilio, sid

    def update(self, *, url: str, method: str) -> None:
        uri = f"/2010-04-01/Accounts/AC/Calls/{self.sid}.json"
        if self.sid in self.twilio.gone:
            raise TwilioRestException(404, uri, "The requested resource was not found", 20404)
        if self.sid in self.twilio.failing:
            raise TwilioRestException(503, uri, "Service unavailable", 20503)
        assert method == "POST"
        self.twilio.redirects.append((self.sid, url))


@pytest.fixture
def fake_twilio(app_services: Services, monkeypatch: pytest.MonkeyPatch) -> FakeTwilio:
    fake = FakeTwilio()
    monkeypatch.setattr(app_services, "twilio", fake)
    return fake


@pytest.fixture
def router(app: Flask, fake_twilio: FakeTwilio) -> Iterator[Router]:
    """The app's router with its index built, inside an app context (as in a job), with a
    fake Twilio."""
    with app.app_context():
        built = current_router()
        recovery.ensure_index(built)
        yield built
