"""The routing configuration file: hold queues, widening, waits, announcements, priorities.

Configuration is data, kept in a TOML file (the shipped ``queues/routing.toml`` unless a
path is given) so that operators change it without touching code. :func:`load_routing_config`
reads and checks the whole file and raises :class:`RoutingConfigError` naming the file and
the key at fault; nothing here connects anywhere.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from callcenter.config_files import read_toml
from queues.skills import (
    MAX_PRIORITY,
    MIN_PRIORITY,
    PriorityRules,
    RoutingPolicy,
    SkillPolicy,
    WideningStep,
)

DEFAULT_ROUTING_CONFIG = Path(__file__).with_name("routing.toml")
ANNOUNCE_RANGE = (30, 60)  # the caller hears position and expected wait every 30-60 s


class RoutingConfigError(ValueError):
    """The routing file is unreadable or invalid; the message names the file and key."""


@dataclass(frozen=True, slots=True)
class HoldSettings:
    """What one queue's callers live through: ring time of an offer, longest wait before
    voicemail or a call-back is offered, how often position and wait are announced."""

    ring_timeout_s: int = 20
    max_wait_s: int = 300
    announce_every_s: int = 45


@dataclass(frozen=True, slots=True)
class RoutingConfig:
    """The whole routing configuration of a deployment."""

    policy: RoutingPolicy
    priorities: PriorityRules
    hold: Mapping[str, HoldSettings]
    service_level_s: int = 20
    figures_window_s: int = 3600
    stale_offer_grace_s: int = 15
    hold_music_s: int = 5

    def hold_for(self, skill: str) -> HoldSettings:
        """The hold settings of ``skill``'s queue (defaults for a queue not configured)."""
        return self.hold.get(skill, HoldSettings())

    def wrap_up_s(self, skill: str) -> int:
        return self.policy[skill].wrap_up_s if skill in self.policy else 0

    @property
    def longest_ring_s(self) -> int:
        return max((hold.ring_timeout_s for hold in self.hold.values()), default=20)


def load_routing_config(path: str | Path | None = None) -> RoutingConfig:
    """Read and check a routing file (default: the one shipped with the service)."""
    source = Path(path) if path else DEFAULT_ROUTING_CONFIG
    return parse_routing_config(read_toml(source, "routing file", RoutingConfigError),
                                str(source))


def parse_routing_config(data: Mapping[str, Any], source: str = "routing file") -> RoutingConfig:
    """Build a :class:`RoutingConfig` from parsed TOML; every error names its key."""
    reader = _Reader(source)
    routing = reader.table(data, "routing", required=False)
    reader.only(routing, "routing", {"lookahead_classes", "recent_cap", "service_level_seconds",
                                     "figures_window_seconds", "stale_offer_grace_seconds",
                                     "hold_music_seconds"})
    reader.only(data, "the file", {"routing", "priorities", "queues"})
    priorities = reader.table(data, "priorities", required=False)
    reader.only(priorities, "priorities", {"default", "open_complaint",
                                           "urgent_or_repeat_complaint", "callback"})
    queues = reader.table(data, "queues")
    if not queues:
        raise RoutingConfigError(f"{source}: [queues] must define at least one queue")
    skill_policies, holds, bases = [], {}, {}
    for skill, raw in queues.items():
        where = f"queues.{skill}"
        table = reader.table(queues, skill, where=where)
        reader.only(table, where, {"priority", "min_level", "wrap_up_seconds", "widening",
                                   "ring_timeout_seconds", "max_wait_seconds",
                                   "announce_every_seconds"})
        steps = []
        widening = table.get("widening", [])
        if not isinstance(widening, list):
            raise RoutingConfigError(f"{source}: {where}.widening must be a list of tables")
        for n, step in enumerate(widening):
            step_where = f"{where}.widening[{n}]"
            if not isinstance(step, dict):
                raise RoutingConfigError(f"{source}: {step_where} must be a table")
            reader.only(step, step_where, {"after_seconds", "min_level", "related"})
            related = reader.table(step, "related", where=f"{step_where}.related",
                                   required=False)
            steps.append(WideningStep(
                after_s=reader.int(step, "after_seconds", step_where, 1, 86_400),
                min_level=reader.int(step, "min_level", step_where, 1, 9, None),
                related={name: reader.int(related, name, f"{step_where}.related", 1, 9)
                         for name in related},
            ))
        try:
            skill_policies.append(SkillPolicy(
                skill, min_level=reader.int(table, "min_level", where, 1, 9, 1),
                widening=tuple(steps),
                wrap_up_s=reader.int(table, "wrap_up_seconds", where, 0, 3600, 15)))
        except ValueError as error:
            raise RoutingConfigError(f"{source}: {where}: {error}") from None
        bases[skill] = reader.int(table, "priority", where, MIN_PRIORITY, MAX_PRIORITY, 100)
        holds[skill] = HoldSettings(
            ring_timeout_s=reader.int(table, "ring_timeout_seconds", where, 5, 120, 20),
            max_wait_s=reader.int(table, "max_wait_seconds", where, 30, 7200, 300),
            announce_every_s=reader.int(table, "announce_every_seconds", where,
                                        *ANNOUNCE_RANGE, 45),
        )
    try:
        policy = RoutingPolicy(
            queues=tuple(skill_policies),
            lookahead_classes=reader.int(routing, "lookahead_classes", "routing", 1, 64, 8),
            recent_cap=reader.int(routing, "recent_cap", "routing", 1, 10_000, 200),
        )
    except ValueError as error:
        raise RoutingConfigError(f"{source}: {error}") from None
    bump = (0, MAX_PRIORITY)
    return RoutingConfig(
        policy=policy,
        priorities=PriorityRules(
            base=bases,
            default_base=reader.int(priorities, "default", "priorities", *bump, 100),
            open_complaint=reader.int(priorities, "open_complaint", "priorities", *bump, 100),
            urgent_or_repeat_complaint=reader.int(
                priorities, "urgent_or_repeat_complaint", "priorities", *bump, 300),
            callback=reader.int(priorities, "callback", "priorities", *bump, 200),
        ),
        hold=holds,
        service_level_s=reader.int(routing, "service_level_seconds", "routing", 1, 600, 20),
        figures_window_s=reader.int(routing, "figures_window_seconds", "routing", 60, 86_400,
                                    3600),
        stale_offer_grace_s=reader.int(routing, "stale_offer_grace_seconds", "routing", 1,
                                       600, 15),
        hold_music_s=reader.int(routing, "hold_music_seconds", "routing", 1, 600, 5),
    )


_MISSING = object()


class _Reader:
    """Typed reads from parsed TOML that fail with the file and key in the message."""

    def __init__(self, source: str) -> None:
        self.source = source

    def table(self, data: Mapping[str, Any], key: str, *, where: str | None = None,
              required: bool = True) -> dict[str, Any]:
        value = data.get(key, _MISSING)
        if value is _MISSING and not required:
            return {}
        if not isinstance(value, dict):
            raise RoutingConfigError(f"{self.source}: [{where or key}] must be a table")
        return value

    def only(self, table: Mapping[str, Any], where: str, allowed: set[str]) -> None:
        unknown = sorted(set(table) - allowed)
        if unknown:
            raise RoutingConfigError(
                f"{self.source}: {where} has unknown keys {unknown}; allowed: {sorted(allowed)}")

    def int(self, table: Mapping[str, Any], key: str, where: str, low: int, high: int,
            default: Any = _MISSING) -> Any:
        value = table.get(key, _MISSING)
        if value is _MISSING:
            if default is _MISSING:
                raise RoutingConfigError(f"{self.source}: {where}.{key} is missing")
            return default
        if isinstance(value, bool) or not isinstance(value, int) or not low <= value <= high:
            raise RoutingConfigError(
                f"{self.source}: {where}.{key} must be a whole number from {low} to {high}, "
                f"got {value!r}")
        return value
