"""Escalation decisions: where a complaint starts, what a missed deadline or an unhappy
call-back sets off, and who may read it (major complaints: ``handlers.major``; extensions
and appeals: ``handlers.extensions``).

Everything here is a pure function of the policy, the complaint's classification and state,
and an explicit ``now``; the caller performs the decisions (writes, notifications, jobs).
Each breach carries a stable ``BreachKey``: the caller records the keys it has acted on and
passes them back, so a breach is acted on exactly once however often the scan runs.
"""

from __future__ import annotations

from collections.abc import Iterable, Iterator
from dataclasses import dataclass, replace
from datetime import UTC, datetime
from typing import TYPE_CHECKING

from handlers.calendar import WorkingCalendar
from handlers.sla import Deadline, SlaClock, deadline

if TYPE_CHECKING:
    from handlers.policy import ActionSet, DeadlineSpec, Policy, Routing, Stage


class ClassificationError(ValueError):
    """A classification, flag, demand, stage or role the policy does not define."""


@dataclass(frozen=True)
class Classification:
    """How a complaint was classified; ids are those of the policy file."""

    complaint_class: str
    level: str
    urgency: str
    severity: str | None = None  # seat-caused complaints only
    channel: str | None = None
    complex: bool = False  # needs several departments or a third party

    def facts(self, policy: Policy) -> dict[str, object]:
        """The values rule conditions match on; raises for ids the policy does not know."""
        for value, known, what in (
            (self.complaint_class, policy.classes, "class"),
            (self.level, policy.levels, "level"),
            (self.urgency, policy.urgencies, "urgency"),
            (self.severity, policy.severities, "severity"),
            (self.channel, policy.channels, "channel"),
        ):
            if value is not None and value not in known:
                raise ClassificationError(f"unknown {what} {value!r}")
        online = self.channel is not None and policy.channels[self.channel].online
        return {
            "class": self.complaint_class, "level": self.level, "urgency": self.urgency,
            "severity": self.severity, "channel": self.channel, "complex": self.complex,
            "online": online,
        }


def resolve_routing(policy: Policy, classification: Classification) -> Routing:
    """The default routing with every matching rule applied in file order.

    Later rules win for start, final answer and ceiling; notify lists and guidance add up.
    """
    facts = classification.facts(policy)
    routing = policy.routing
    notify, guidance = list(routing.notify), list(routing.guidance)
    for rule in policy.routing_rules:
        if rule.when.matches(facts):
            routing = replace(
                routing,
                start=rule.start or routing.start,
                final_answer=rule.final_answer or routing.final_answer,
                ceiling=rule.ceiling or routing.ceiling,
            )
            notify += [r for r in rule.notify if r not in notify]
            guidance += [g for g in rule.guidance if g not in guidance]
    # A complaint that starts high may always stay where it started.
    if policy.chain.index(routing.ceiling) < policy.chain.index(routing.start):
        routing = replace(routing, ceiling=routing.start)
    # The starting role receives the complaint; it is not also "notified".
    notify = [r for r in notify if r != routing.start]
    return replace(routing, notify=tuple(notify), guidance=tuple(guidance))


def deadline_rules(
    policy: Policy, classification: Classification, stage: str
) -> tuple[DeadlineSpec, ...]:
    """The stage's deadlines with the durations of every matching override (later wins)."""
    facts = classification.facts(policy)
    spec = _stage(policy, stage)
    durations = {d.id: d.duration for d in spec.deadlines}
    for override in spec.overrides:
        if override.when.matches(facts):
            durations.update(override.durations)
    return tuple(replace(d, duration=durations[d.id]) for d in spec.deadlines)


def _stage(policy: Policy, stage: str) -> Stage:
    if stage not in policy.stages:
        raise ClassificationError(f"unknown stage {stage!r}")
    return policy.stages[stage]


@dataclass(frozen=True)
class TrackedClock:
    """A running deadline of a complaint, as the caller stores it."""

    stage: str
    deadline: str
    name: str
    clock: SlaClock
    on_breach: str = "default"


def _track(stage: str, spec: DeadlineSpec, at: datetime) -> TrackedClock:
    return TrackedClock(stage, spec.id, spec.name, SlaClock(at, spec.duration), spec.on_breach)


def clocks_for(
    policy: Policy, classification: Classification, stage: str, anchor: str, at: datetime
) -> tuple[TrackedClock, ...]:
    """Clocks to start in ``stage`` when ``anchor`` happens at ``at``: "stage_start" on entering
    the stage, "met:<deadline>" once that deadline of the stage was met. Optional deadlines
    are left out; start them with ``start_optional`` when the situation arises."""
    return tuple(
        _track(stage, spec, at)
        for spec in deadline_rules(policy, classification, stage)
        if spec.anchor == anchor and not spec.optional
    )


def start_optional(
    policy: Policy, classification: Classification, stage: str, deadline_id: str, at: datetime
) -> TrackedClock:
    """Start an optional deadline (a site visit, a request for missing material...)."""
    for spec in deadline_rules(policy, classification, stage):
        if spec.id == deadline_id:
            return _track(stage, spec, at)
    raise ClassificationError(f"stage {stage!r} has no deadline {deadline_id!r}")


@dataclass(frozen=True)
class Opening:
    """What to do when a complaint is registered."""

    stage: str
    role: str
    notify: tuple[str, ...]
    routing: Routing
    clocks: tuple[TrackedClock, ...]  # every "created" deadline, plus the first stage's own


def open_complaint(policy: Policy, classification: Classification, created_at: datetime) -> Opening:
    routing = resolve_routing(policy, classification)
    first = policy.flow.initial
    clocks = [
        clock
        for stage in policy.stages
        for clock in clocks_for(policy, classification, stage, "created", created_at)
    ]
    clocks += clocks_for(policy, classification, first, "stage_start", created_at)
    return Opening(first, routing.start, routing.notify, routing, tuple(clocks))


@dataclass(frozen=True, order=True)
class BreachKey:
    """Identifies one breach: the ``n``th of a deadline whose clock started at ``clock_start``.

    A reopened complaint or a restarted clock starts new clocks and so gets new keys.
    """

    stage: str
    deadline: str
    clock_start: datetime
    n: int

    def __str__(self) -> str:
        start = self.clock_start.astimezone(UTC).strftime("%Y%m%dT%H%M%S.%fZ")
        return f"{self.stage}/{self.deadline}/{start}/{self.n}"


@dataclass(frozen=True)
class ComplaintState:
    """Where a complaint stands; ``handled`` holds ``str(BreachKey)`` of breaches acted on."""

    stage: str
    role: str
    handled: frozenset[str] = frozenset()
    reopen_count: int = 0


@dataclass(frozen=True)
class BreachDecision:
    """What to do for one breach; decisions come in the order to apply them."""

    key: BreachKey
    name: str
    due_at: datetime
    provisional: bool
    mark_overdue: bool
    role_before: str
    escalate_to: str | None  # None: no step asked, or none possible
    at_ceiling: bool  # a step was asked but the role is already as high as it may go
    notify: tuple[str, ...]
    review_staff: bool = False

    @property
    def role_after(self) -> str:
        return self.escalate_to or self.role_before


def _step(policy: Policy, routing: Routing, role: str) -> str | None:
    """The next role up the chain, or None at the ceiling (or for a role outside the chain)."""
    if role not in policy.chain:
        return None
    here, top = policy.chain.index(role), policy.chain.index(routing.ceiling)
    return policy.chain[here + 1] if here < top else None


def _act(
    policy: Policy, routing: Routing, actions: ActionSet, role: str
) -> tuple[str | None, bool, tuple[str, ...]]:
    """Escalation target, whether the ceiling stopped it, and the roles to notify."""
    target = _step(policy, routing, role) if actions.escalate else None
    after = target or role
    notify: list[str] = []
    for name in actions.notify:
        resolved = {"@current": role, "@next": after}.get(name, name)
        if resolved not in notify:
            notify.append(resolved)
    return target, actions.escalate and target is None, tuple(notify)


def breach_schedule(
    policy: Policy, tracked: TrackedClock, calendar: WorkingCalendar
) -> Iterator[tuple[BreachKey, Deadline, ActionSet | None]]:
    """Every breach a clock can have, in order: the first at its deadline, then the plan's
    repeats every ``repeat_every``. Nothing while a timely pause stops the clock."""
    if tracked.on_breach not in policy.breach_plans:
        raise ClassificationError(f"unknown breach plan {tracked.on_breach!r}")
    plan = policy.breach_plans[tracked.on_breach]
    due = tracked.clock.deadline(calendar)
    for n in range(1, plan.max_repeats + 2):
        if due is None:
            return
        key = BreachKey(tracked.stage, tracked.deadline, tracked.clock.started_at, n)
        yield key, due, plan.first if n == 1 else plan.repeat
        if plan.repeat_every is None:
            return
        nxt = deadline(due.at, plan.repeat_every, calendar)
        due = Deadline(nxt.at, due.provisional or nxt.provisional)


def next_breach(
    policy: Policy, tracked: TrackedClock, calendar: WorkingCalendar, handled: frozenset[str]
) -> Deadline | None:
    """When the clock's next breach not yet acted on falls due; None if there is none left.

    A scan only needs to look at a clock again once this instant has passed.
    """
    for key, due, actions in breach_schedule(policy, tracked, calendar):
        if actions is not None and str(key) not in handled:
            return due
    return None


def due_breaches(
    policy: Policy,
    classification: Classification,
    state: ComplaintState,
    clocks: Iterable[TrackedClock],
    now: datetime,
    calendar: WorkingCalendar,
) -> tuple[BreachDecision, ...]:
    """Every breach due by ``now`` that is not yet in ``state.handled``, oldest first.

    Pass only the clocks still running (a met deadline no longer breaches). A breach is due
    once ``now`` is past the deadline; the plan's repeats fall due every ``repeat_every``
    after it. Escalations chain: the second decision starts from the first one's role.
    """
    routing = resolve_routing(policy, classification)
    order = {s: i for i, s in enumerate(policy.flow.order)}
    pending = []
    for tracked in clocks:
        for key, due, actions in breach_schedule(policy, tracked, calendar):
            if not now > due.at:
                break
            if str(key) not in state.handled and actions is not None:
                rank = (due.at, order.get(tracked.stage, len(order)), tracked.deadline, key.n)
                pending.append((rank, key, tracked.name, due, actions))
    decisions, role = [], state.role
    for _, key, name, due, actions in sorted(pending, key=lambda item: item[0]):
        target, stopped, notify = _act(policy, routing, actions, role)
        decisions.append(
            BreachDecision(
                key, name, due.at, due.provisional, actions.mark_overdue, role, target, stopped,
                notify, actions.review_staff,
            )
        )
        role = target or role
    return tuple(decisions)


def escalation_target(policy: Policy, classification: Classification, role: str) -> str | None:
    """The role one step above ``role`` on the chain for this complaint; None at its ceiling."""
    return _step(policy, resolve_routing(policy, classification), role)


def reader_roles(
    policy: Policy, classification: Classification, holders: Iterable[str],
    notified: Iterable[str] = (),
) -> frozenset[str]:
    """The roles that may read a complaint: every role that held it or was told of it, the
    role that gives the final answer, and each chain role from the lowest holder up to the
    complaint's ceiling (those a breach could escalate it to)."""
    routing = resolve_routing(policy, classification)
    holders = tuple(holders)
    roles = {*holders, *notified, routing.start, routing.final_answer}
    on_chain = [policy.chain.index(r) for r in (*holders, routing.start) if r in policy.chain]
    top = policy.chain.index(routing.ceiling)
    if on_chain:
        roles.update(policy.chain[min(on_chain): top + 1])
    return frozenset(roles)


@dataclass(frozen=True)
class CallbackDecision:
    satisfied: bool
    next_stage: str
    reopen: bool
    escalate_to: str | None
    notify: tuple[str, ...]
    review_staff: bool
    reopen_limit_reached: bool = False


def after_callback(
    policy: Policy,
    classification: Classification,
    state: ComplaintState,
    *,
    rating: int | None = None,
    solved: bool | None = None,
) -> CallbackDecision:
    """Judge the call-back: satisfied goes on (to archive); unsatisfied reopens and escalates
    one step, until ``max_reopens`` is used up and the reopen-limit actions apply instead."""
    rules = policy.callback
    if rating is None and solved is None:
        raise ValueError("a call-back needs a rating or a solved answer")
    if rating is not None and not 1 <= rating <= rules.rating_scale:
        raise ValueError(f"rating {rating} is outside 1..{rules.rating_scale}")
    unhappy = (rating is not None and rating < rules.satisfied_from) or (
        solved is False and (rules.unsolved_is_unsatisfied or rating is None)
    )
    after = _stage(policy, policy.flow.callback).next or policy.flow.archive
    if not unhappy:
        return CallbackDecision(True, after, False, None, (), False)
    routing = resolve_routing(policy, classification)
    limit = state.reopen_count >= rules.max_reopens
    actions = rules.on_reopen_limit if limit else rules.on_unsatisfied
    target, _, notify = _act(policy, routing, actions, state.role)
    reopen = actions.reopen and not limit
    stage = policy.flow.reopen if reopen else (rules.after_reopen_limit if limit else after)
    return CallbackDecision(False, stage, reopen, target, notify, actions.review_staff, limit)
