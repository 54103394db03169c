"""Skill queues, the widening rule and call priorities, as plain configuration data.

Every hold queue is named after a skill (``inquiry``, ``complaint``, ``repair``, ``lang_yue``
...). A :class:`SkillPolicy` says which seats may take a call of that queue and how that set
widens while the caller waits: first only seats with the queue's skill at ``min_level`` or
better, then (per :class:`WideningStep`) lower levels and seats of related skills.

The same policy object drives the pure rule in :mod:`queues.routing` and, encoded by
:meth:`RoutingPolicy.redis_fields`, the Lua scripts of :mod:`queues.index`, so both always
decide alike.
"""

from __future__ import annotations

import hashlib
import re
from collections.abc import Iterable, Iterator, Mapping
from dataclasses import dataclass, field

MIN_LEVEL = 1
MAX_LEVEL = 9
MIN_PRIORITY = 0
MAX_PRIORITY = 999

_SKILL_RE = re.compile(r"^[a-z][a-z0-9_]{0,31}$")


def check_skill(name: str) -> str:
    """Return ``name`` if it is a valid skill name (it becomes part of Redis keys)."""
    if not isinstance(name, str) or not _SKILL_RE.match(name):
        raise ValueError(f"skill names are lower-case letters, digits and _, got {name!r}")
    return name


def check_level(level: int, what: str = "level") -> int:
    """Return ``level`` if it lies in ``MIN_LEVEL..MAX_LEVEL``."""
    if isinstance(level, bool) or not isinstance(level, int):
        raise ValueError(f"{what} must be a whole number, got {level!r}")
    if not MIN_LEVEL <= level <= MAX_LEVEL:
        raise ValueError(f"{what} must be between {MIN_LEVEL} and {MAX_LEVEL}, got {level}")
    return level


@dataclass(frozen=True, slots=True)
class Pool:
    """Available seats having ``skill`` at ``min_level`` or better.

    ``group`` 0 is the queue's own skill, 1 a related skill: an own-skill seat always
    ranks before a related one, whatever the levels.
    """

    skill: str
    min_level: int
    group: int


@dataclass(frozen=True, slots=True)
class Tier:
    """The seats a call may be offered to once it has waited ``after_ms``."""

    after_ms: int
    pools: tuple[Pool, ...]


@dataclass(frozen=True, slots=True)
class WideningStep:
    """From ``after_s`` seconds of waiting on, widen the set of seats that may take the call.

    Steps only ever widen: ``min_level`` lowers the own-skill minimum (``None`` keeps it) and
    ``related`` adds seats of other skills (skill -> minimum level) to those already allowed.
    """

    after_s: int
    min_level: int | None = None
    related: Mapping[str, int] = field(default_factory=dict)


@dataclass(frozen=True, slots=True)
class SkillPolicy:
    """Routing configuration of one hold queue.

    ``wrap_up_s`` is how long a seat stays in wrap-up after a call of this queue (complaints
    need longer notes than inquiries); the scheduled release uses it.
    """

    skill: str
    min_level: int = MIN_LEVEL
    widening: tuple[WideningStep, ...] = ()
    wrap_up_s: int = 15
    tiers: tuple[Tier, ...] = field(init=False, repr=False, compare=False)

    def __post_init__(self) -> None:
        check_skill(self.skill)
        check_level(self.min_level, f"{self.skill}: min_level")
        if self.wrap_up_s < 0:
            raise ValueError(f"{self.skill}: wrap_up_s must not be negative")
        own = self.min_level
        related: dict[str, int] = {}
        tiers = [Tier(0, (Pool(self.skill, own, 0),))]
        for step in self.widening:
            if step.after_s * 1000 <= tiers[-1].after_ms:
                raise ValueError(f"{self.skill}: widening thresholds must rise and exceed 0 s")
            if step.min_level is not None:
                own = min(own, check_level(step.min_level, f"{self.skill}: step min_level"))
            for skill, level in step.related.items():
                if check_skill(skill) == self.skill:
                    raise ValueError(f"{self.skill}: a skill cannot be related to itself")
                check_level(level, f"{self.skill}: related {skill}")
                related[skill] = min(level, related.get(skill, level))
            pools = (Pool(self.skill, own, 0),) + tuple(
                Pool(skill, level, 1) for skill, level in related.items()
            )
            tiers.append(Tier(step.after_s * 1000, pools))
        object.__setattr__(self, "tiers", tuple(tiers))

    def tier_at(self, waited_ms: int) -> int:
        """Index of the widest tier a call that waited ``waited_ms`` has reached.

        Tier 0 applies to every call, even one whose entry time lies slightly in the future
        because the clocks of two machines disagree.
        """
        tier = 0
        while tier + 1 < len(self.tiers) and waited_ms >= self.tiers[tier + 1].after_ms:
            tier += 1
        return tier

    def pool_skills(self) -> Iterator[str]:
        """Every skill whose seats this queue may ever use."""
        return (pool.skill for pool in self.tiers[-1].pools)


@dataclass(frozen=True, slots=True)
class RoutingPolicy:
    """All hold queues of a deployment.

    ``lookahead_classes`` bounds how far past a queue head a decision looks for a call that
    has widened further (see :mod:`queues.routing`). ``recent_cap`` is the length of the
    rolling lists of recent wait/handling times kept per queue for announcements.
    """

    queues: tuple[SkillPolicy, ...]
    lookahead_classes: int = 8
    recent_cap: int = 200
    _by_skill: dict[str, SkillPolicy] = field(init=False, repr=False, compare=False)

    def __post_init__(self) -> None:
        by_skill = {queue.skill: queue for queue in self.queues}
        if len(by_skill) != len(self.queues):
            raise ValueError("each skill may have only one queue policy")
        if not self.queues:
            raise ValueError("a routing policy needs at least one queue")
        if not 1 <= self.lookahead_classes <= 64:
            raise ValueError("lookahead_classes must be between 1 and 64")
        if not 1 <= self.recent_cap <= 10_000:
            raise ValueError("recent_cap must be between 1 and 10000")
        object.__setattr__(self, "_by_skill", by_skill)

    def __getitem__(self, skill: str) -> SkillPolicy:
        return self._by_skill[skill]

    def __contains__(self, skill: object) -> bool:
        return skill in self._by_skill

    @property
    def queue_names(self) -> tuple[str, ...]:
        return tuple(queue.skill for queue in self.queues)

    def served_by(self, seat_skills: Iterable[str]) -> tuple[str, ...]:
        """Queues whose calls a seat with these skills could take at some tier, in policy order.

        A seat that becomes available only needs to look at these queues.
        """
        skills = set(seat_skills)
        return tuple(q.skill for q in self.queues if skills.intersection(q.pool_skills()))

    def redis_fields(self) -> dict[str, str]:
        """The policy as the flat hash the Lua scripts read (field ``@fingerprint`` included).

        ``q:<queue>``: tiers as ``after_ms:own_min:related=min,...`` joined by ``;``;
        ``s:<skill>``: queues that may use seats of that skill; ``w:<queue>``: wrap-up ms.
        """
        fields = {
            "@queues": ",".join(self.queue_names),
            "@lookahead": str(self.lookahead_classes),
            "@recent_cap": str(self.recent_cap),
        }
        users: dict[str, list[str]] = {}
        for queue in self.queues:
            fields[f"q:{queue.skill}"] = ";".join(
                f"{tier.after_ms}:{tier.pools[0].min_level}:"
                + ",".join(f"{pool.skill}={pool.min_level}" for pool in tier.pools[1:])
                for tier in queue.tiers
            )
            fields[f"w:{queue.skill}"] = str(queue.wrap_up_s * 1000)
            for skill in queue.pool_skills():
                users.setdefault(skill, []).append(queue.skill)
        fields.update({f"s:{skill}": ",".join(queues) for skill, queues in users.items()})
        text = "\n".join(f"{key}={value}" for key, value in sorted(fields.items()))
        fields["@fingerprint"] = hashlib.sha1(text.encode()).hexdigest()[:16]
        return fields


@dataclass(frozen=True, slots=True)
class PriorityRules:
    """How a call's queue priority is set: a base per menu choice plus bumps.

    The bumps add up (an urgent complaint from a caller who also asked for a call-back gets
    both) and the sum is capped at ``MAX_PRIORITY``.
    """

    base: Mapping[str, int]
    default_base: int = 100
    open_complaint: int = 100
    urgent_or_repeat_complaint: int = 300
    callback: int = 200

    def priority_for(
        self,
        skill: str,
        *,
        open_complaint: bool = False,
        urgent_or_repeat: bool = False,
        callback: bool = False,
    ) -> int:
        """Priority for a call entering ``skill``'s queue."""
        value = self.base.get(skill, self.default_base)
        value += self.open_complaint if open_complaint else 0
        value += self.urgent_or_repeat_complaint if urgent_or_repeat else 0
        value += self.callback if callback else 0
        return max(MIN_PRIORITY, min(MAX_PRIORITY, value))


def hotline_policy() -> RoutingPolicy:
    """The policy of the customer-service hotline, as described in the routing issue.

    Inquiries go to any inquiry seat at once. Complaints and repairs first wait for a
    level-2 seat, take any level after 60 s, and after 120 s also seats of a related skill.
    Cantonese callers (``lang_yue``) need a Cantonese speaker of level 2, any after 60 s.
    """
    return RoutingPolicy(
        queues=(
            SkillPolicy("inquiry", min_level=1, wrap_up_s=10),
            SkillPolicy(
                "complaint",
                min_level=2,
                wrap_up_s=60,
                widening=(
                    WideningStep(60, min_level=1),
                    WideningStep(120, related={"inquiry": 2}),
                ),
            ),
            SkillPolicy(
                "repair",
                min_level=2,
                wrap_up_s=30,
                widening=(
                    WideningStep(60, min_level=1),
                    WideningStep(120, related={"inquiry": 2}),
                ),
            ),
            SkillPolicy("lang_yue", min_level=2, wrap_up_s=15, widening=(WideningStep(60, 1),)),
        )
    )


HOTLINE_PRIORITIES = PriorityRules(base={"inquiry": 100, "repair": 150, "complaint": 200})
