"""Which calling numbers have an open complaint, answered from memory on the webhook path.

Every incoming call asks, and almost every answer is no: a query per call would make the
database what limits the hotline. Each web process keeps the set of numbers that have a
complaint not yet archived. The upkeep thread reloads it when the version in Redis moves
(registering a complaint, or correcting its number, moves it) and at least every minute.
A number in the set is confirmed by a query, since its complaint may have been archived
since the load; a number not in it is answered at once.
"""

from __future__ import annotations

import logging
import threading
import time
from collections.abc import Callable

from redis import Redis
from redis.exceptions import RedisError
from sqlalchemy import select
from sqlalchemy.orm import Session

from callcenter.db import Database, after_commit
from handlers.models import COMPLAINT_IS_OPEN, Complaint

log = logging.getLogger(__name__)

VERSION_KEY = "complaints:caller-numbers:version"
RELOAD_AT_LEAST_EVERY_SECONDS = 60.0


class RepeatCallers:
    def __init__(self, database: Database, redis: Callable[[], Redis]) -> None:
        self.database = database
        self.redis = redis
        self._numbers: frozenset[str] | None = None
        self._version: bytes | None = None
        self._loaded_at = 0.0
        self._lock = threading.Lock()

    def might_have_open_complaint(self, number: str) -> bool:
        numbers = self._numbers
        if numbers is None:  # the process's first call: load now rather than guess
            numbers = self.reload()
        return number in numbers

    def refresh(self) -> None:
        """The upkeep task: reload if the version moved or the set is a minute old."""
        stale = time.monotonic() - self._loaded_at > RELOAD_AT_LEAST_EVERY_SECONDS
        try:
            version = self.redis().get(VERSION_KEY)
        except RedisError as error:
            if stale:  # without the version, the age alone decides
                log.warning("complaint numbers version unreadable (%s); reloading", error)
                self.reload(self._version)
            return
        assert version is None or isinstance(version, bytes)
        if self._numbers is None or stale or version != self._version:
            self.reload(version)

    def reload(self, version: bytes | None = None) -> frozenset[str]:
        with self._lock:
            with self.database.session() as session:
                numbers = frozenset(session.scalars(
                    select(Complaint.caller_number).distinct()
                    .where(COMPLAINT_IS_OPEN, Complaint.caller_number != "")))
            self._numbers, self._version = numbers, version
            self._loaded_at = time.monotonic()
            return numbers

    def number_added(self, session: Session, number: str) -> None:
        """``number`` has a complaint in ``session``: once committed, every process learns it
        (this one at once, the others at their next upkeep)."""
        if number:
            after_commit(session, lambda: self._announce(number))

    def _announce(self, number: str) -> None:
        with self._lock:
            if self._numbers is not None:
                self._numbers = self._numbers | {number}
        try:
            self.redis().incr(VERSION_KEY)
        except RedisError as error:
            log.warning("complaint numbers version not moved (%s); other web processes "
                        "learn of %s within %.0f s", error, number,
                        RELOAD_AT_LEAST_EVERY_SECONDS)
