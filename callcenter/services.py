"""The outside systems one deployment talks to, built once by the app factory.

Views and jobs reach them through ``services()``; nothing connects until first use.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import UTC, datetime
from functools import cached_property

from flask import current_app
from redis import Redis
from rq import Queue
from twilio.rest import Client

from callcenter.db import Database
from callcenter.settings import Settings
from callcenter.twilio_client import make_twilio_client
from callcenter.upkeep import Upkeep

EXTENSION_KEY = "callcenter"


def system_clock() -> datetime:
    return datetime.now(UTC)


@dataclass
class Services:
    """Settings plus lazily connected database, Redis, RQ queues and Twilio client, and the
    web process's upkeep thread."""

    settings: Settings
    database: Database
    upkeep: Upkeep
    clock: Callable[[], datetime] = field(default=system_clock)

    @classmethod
    def create(cls, settings: Settings) -> Services:
        return cls(settings=settings, database=Database(settings.database_url),
                   upkeep=Upkeep(settings.upkeep_interval_ms / 1000))

    @cached_property
    def redis(self) -> Redis:
        return Redis.from_url(self.settings.redis_url, socket_timeout=5, socket_connect_timeout=2)

    def queue(self, name: str) -> Queue:
        """The RQ queue ``name`` (one of ``callcenter.jobs.QUEUES``) on this Redis."""
        return Queue(name, connection=self.redis)

    @cached_property
    def twilio(self) -> Client:
        settings = self.settings
        return make_twilio_client(
            settings.twilio_account_sid, settings.twilio_auth_token, settings.twilio_api_base_url
        )

    def now(self) -> datetime:
        return self.clock()

    def close(self) -> None:
        self.upkeep.stop()
        self.database.dispose()
        if "redis" in self.__dict__:
            self.redis.close()


def services() -> Services:
    """The services of the current Flask app (request, CLI command or RQ job)."""
    return current_app.extensions[EXTENSION_KEY]  # type: ignore[no-any-return]
