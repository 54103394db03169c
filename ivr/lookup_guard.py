"""Lock-out of repeated wrong status lookups, per calling number and per complaint number.

Counters live in Redis with a time-to-live: they are throttles, not records (every lookup
is also written to the ``status_lookups`` table).
"""

from __future__ import annotations

from redis import Redis
from redis.exceptions import RedisError

KEY_PREFIX = "ivr:lookup-failures"


class LookupGuard:
    def __init__(self, redis: Redis, max_failures: int, lockout_seconds: int) -> None:
        self.redis = redis
        self.max_failures = max_failures
        self.lockout_seconds = lockout_seconds

    @staticmethod
    def _keys(caller_number: str, complaint_number: str) -> list[str]:
        keys = [f"{KEY_PREFIX}:caller:{caller_number or 'unknown'}"]
        if complaint_number:
            keys.append(f"{KEY_PREFIX}:complaint:{complaint_number}")
        return keys

    def caller_locked(self, caller_number: str) -> bool:
        """Whether this phone may not try again yet; fails closed when Redis is down."""
        try:
            count = self.redis.get(self._keys(caller_number, "")[0])
        except RedisError:
            return True
        return count is not None and int(count) >= self.max_failures

    def complaint_locked(self, complaint_number: str) -> bool:
        try:
            count = self.redis.get(f"{KEY_PREFIX}:complaint:{complaint_number}")
        except RedisError:
            return True
        return count is not None and int(count) >= self.max_failures

    def record_failure(self, caller_number: str, complaint_number: str) -> None:
        try:
            pipe = self.redis.pipeline()
            for key in self._keys(caller_number, complaint_number):
                pipe.incr(key)
                pipe.expire(key, self.lockout_seconds)
            pipe.execute()
        except RedisError:
            pass  # the lookup already failed; nothing more to protect
