"""Policies and builders shared by the queue-routing tests."""

from __future__ import annotations

import os
from collections.abc import Callable

import redis

from queues.index import RedisIndex
from queues.routing import AvailableSeat, WaitingCall
from queues.skills import RoutingPolicy, SkillPolicy, WideningStep

QUEUE_REDIS_URL = os.environ.get("TEST_REDIS_URL", "redis://127.0.0.1:6379/14")
NOW = 1_800_000_000_000  # epoch ms of the tests' "now"

IndexFactory = Callable[..., RedisIndex]  # the make_index fixture


def drop_namespace(client: redis.Redis, namespace: str) -> None:
    """Delete every key of one index namespace: what FLUSHDB does to that index."""
    keys = list(client.scan_iter(match=f"{{{namespace}}}:*", count=1000))
    if keys:
        client.delete(*keys)

# Complaints want a level-3 seat, any complaint seat after 60 s, and inquiry seats of
# level 2 or better after 120 s. Repairs want level 2, any level after 60 s.
POLICY = RoutingPolicy(
    queues=(
        SkillPolicy(
            "complaint",
            min_level=3,
            wrap_up_s=60,
            widening=(
                WideningStep(60, min_level=1),
                WideningStep(120, related={"inquiry": 2}),
            ),
        ),
        SkillPolicy("inquiry", min_level=1, wrap_up_s=10),
        SkillPolicy("repair", min_level=2, wrap_up_s=30, widening=(WideningStep(60, 1),)),
    ),
    lookahead_classes=3,
)


def call(call_id: str, skill: str, priority: int = 100, waited_s: float = 0) -> WaitingCall:
    """A call that has waited ``waited_s`` seconds at ``NOW``."""
    return WaitingCall(call_id, skill, priority, NOW - int(waited_s * 1000))


def seat(seat_id: str, idle_s: float = 0, **skills: int) -> AvailableSeat:
    """An available seat idle for ``idle_s`` seconds at ``NOW``."""
    return AvailableSeat(seat_id, skills, NOW - int(idle_s * 1000))
