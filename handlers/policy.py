"""The complaint-handling policy: read from TOML, checked, and held in frozen dataclasses.

Every number and name the handling rules use lives in the policy file, so an operator changes
the rules without touching code. ``load_policy`` and ``parse_policy`` refuse a file they cannot
fully understand with a ``PolicyError`` naming the file, the line, the key path and what was
expected. ``default_policy.toml`` documents the format and reproduces the service's own rules.

Each field's ``_spec`` says how it is written in the file, so one reader checks them all.
"""

from __future__ import annotations

import re
import tomllib
from collections.abc import Mapping
from dataclasses import dataclass, replace
from enum import StrEnum
from pathlib import Path
from types import MappingProxyType
from typing import Any

from handlers.calendar_settings import CalendarSettings, SettingError, read_settings
from handlers.policy_reader import CONDITION_FIELDS as CONDITION_FIELDS
from handlers.policy_reader import Condition as Condition
from handlers.policy_reader import Path_, SpecReader
from handlers.policy_reader import PolicyError as PolicyError
from handlers.policy_reader import spec as _spec
from handlers.sla import Duration

DEFAULT_POLICY_PATH = Path(__file__).with_name("default_policy.toml")
ROLE_TOKENS = ("@current", "@next")  # in an action's notify list: the holder before / after it


class Anchor(StrEnum):
    """When a deadline's clock starts; ``met:<deadline>`` (another deadline of the same stage
    was met) is accepted as well."""

    CREATED = "created"
    STAGE_START = "stage_start"


class ResumeMode(StrEnum):
    CONTINUE = "continue"  # the paused span is left out, the rest of the period remains
    RESTART = "restart"  # the period starts again when the awaited material arrives


class MetOn(StrEnum):
    """What meets a deadline by itself; a person may always mark one met as well."""

    STAGE_END = "stage_end"  # the complaint leaves the deadline's stage
    ACKNOWLEDGED = "acknowledged"  # the acknowledgment SMS reached the SMS provider


@dataclass(frozen=True, kw_only=True)
class Entry:
    """A named thing: a role, class, level, urgency, severity, channel, flag or demand."""

    id: str
    name: str = _spec("text")
    description: str = _spec("text", "")

    def label(self) -> str:
        return f"{self.name}({self.id})"


@dataclass(frozen=True, kw_only=True)
class Channel(Entry):
    online: bool = _spec("bool", False)  # online channels get the shorter acknowledgment


@dataclass(frozen=True, kw_only=True)
class Routing:
    """Where a complaint starts, who hears of it at once, who answers, how high it may go."""

    start: str = _spec("ref", of="chain")
    notify: tuple[str, ...] = _spec("refs", (), of="roles")
    final_answer: str = _spec("ref", of="roles")
    ceiling: str = _spec("ref", of="chain")
    guidance: tuple[str, ...] = _spec("texts", ())


@dataclass(frozen=True, kw_only=True)
class RoutingRule:
    """Changes to the default routing for matching complaints, applied in file order: a later
    rule's start, final_answer and ceiling win; notify and guidance add up."""

    when: Condition = _spec("when")
    start: str | None = _spec("ref", None, of="chain")
    notify: tuple[str, ...] = _spec("refs", (), of="roles")
    final_answer: str | None = _spec("ref", None, of="roles")
    ceiling: str | None = _spec("ref", None, of="chain")
    guidance: tuple[str, ...] = _spec("texts", ())


@dataclass(frozen=True, kw_only=True)
class ActionSet:
    """What to do at a breach or an unsatisfied call-back, in this order."""

    mark_overdue: bool = _spec("bool", False)
    reopen: bool = _spec("bool", False)
    escalate: bool = _spec("bool", False)  # one step along the chain, never past the ceiling
    notify: tuple[str, ...] = _spec("refs", (), of="roles+tokens")
    review_staff: bool = _spec("bool", False)  # re-judge and, if at fault, penalise staff


@dataclass(frozen=True, kw_only=True)
class BreachPlan:
    """Actions at the first breach, then again every ``repeat_every`` up to ``max_repeats``."""

    id: str
    first: ActionSet = _spec("table", of="ActionSet")
    repeat: ActionSet | None = _spec("table", None, of="ActionSet")
    repeat_every: Duration | None = _spec("duration", None)
    max_repeats: int = _spec("int", 0)


@dataclass(frozen=True, kw_only=True)
class DeadlineSpec:
    """One deadline of a stage: what is due, how long, from which event."""

    id: str
    name: str = _spec("text")
    duration: Duration = _spec("amount_unit")
    anchor: str = _spec("ref", of="anchors", key="from")
    optional: bool = _spec("bool", False)  # started only when the situation arises
    on_breach: str = _spec("ref", "default", of="plans")
    resume: str = _spec("ref", ResumeMode.CONTINUE, of="resume")
    met_on: str = _spec("ref", MetOn.STAGE_END, of="met_on")


@dataclass(frozen=True)
class StageOverride:
    """Other durations for some deadlines of a stage, for matching complaints."""

    when: Condition
    durations: tuple[tuple[str, Duration], ...]


@dataclass(frozen=True)
class Stage:
    id: str
    name: str
    next: str | None
    deadlines: tuple[DeadlineSpec, ...] = ()
    overrides: tuple[StageOverride, ...] = ()


@dataclass(frozen=True, kw_only=True)
class Flow:
    """The special stages; ``order`` is the path from ``initial`` along each stage's next."""

    initial: str = _spec("ref", of="stages")
    callback: str = _spec("ref", of="stages")
    reopen: str = _spec("ref", of="stages")
    archive: str = _spec("ref", of="stages")
    order: tuple[str, ...] = ()


@dataclass(frozen=True, kw_only=True)
class CallbackRules:
    """How a call-back rating is judged and what an unsatisfied caller sets off."""

    rating_scale: int = _spec("int", least=1)
    satisfied_from: int = _spec("int", least=1)
    unsolved_is_unsatisfied: bool = _spec("bool")
    on_unsatisfied: ActionSet = _spec("table", of="ActionSet")
    max_reopens: int = _spec("int")
    on_reopen_limit: ActionSet = _spec("table", of="ActionSet")
    after_reopen_limit: str = _spec("ref", of="stages")
    attempts: int = _spec("int", least=1)  # survey calls before a seat is asked to call
    retry_after: Duration = _spec("duration")  # between two unanswered survey calls


@dataclass(frozen=True, kw_only=True)
class ExtensionRules:
    """Who may get more time: asked before the deadline, with a reason, within limits."""

    allowed: bool = _spec("bool")
    request_before_deadline: bool = _spec("bool")
    reason_required: bool = _spec("bool")
    max_count: int = _spec("int")
    max_ratio: float = _spec("number")  # all extensions together, as a share of the original
    notify: tuple[str, ...] = _spec("refs", (), of="roles")


@dataclass(frozen=True, kw_only=True)
class AppealRules:
    """A unit that is not responsible may appeal (申诉) within the window; the ticket returns."""

    window: Duration = _spec("duration")
    return_to: str = _spec("ref", of="roles")


@dataclass(frozen=True, kw_only=True)
class RepeatRule:
    count: int = _spec("int", least=2)  # the caller's Nth complaint, this one included
    within: Duration = _spec("duration")  # measured from each earlier complaint


@dataclass(frozen=True, kw_only=True)
class MajorTrigger:
    """A reason a complaint is major; every condition it lists must hold (any listed flag,
    any listed demand, the classification, the repeat count)."""

    id: str = _spec("text")
    reason: str = _spec("text")
    flags: tuple[str, ...] = _spec("refs", (), of="flags")
    demands: tuple[str, ...] = _spec("refs", (), of="demands")
    when: Condition | None = _spec("when", None)
    repeat: RepeatRule | None = _spec("table", None, of="RepeatRule")


@dataclass(frozen=True, kw_only=True)
class MajorRules:
    notify_at_once: tuple[str, ...] = _spec("refs", (), of="roles")
    report_to: tuple[str, ...] = _spec("refs", of="roles")
    report_within: Duration = _spec("duration")
    convene: tuple[str, ...] = _spec("refs", (), of="roles")
    triggers: tuple[MajorTrigger, ...] = _spec("tables", (), of="MajorTrigger")


@dataclass(frozen=True)
class Policy:
    name: str
    source: str
    roles: Mapping[str, Entry]
    chain: tuple[str, ...]
    classes: Mapping[str, Entry]
    levels: Mapping[str, Entry]
    urgencies: Mapping[str, Entry]
    severities: Mapping[str, Entry]
    channels: Mapping[str, Channel]
    flags: Mapping[str, Entry]
    demands: Mapping[str, Entry]
    routing: Routing
    routing_rules: tuple[RoutingRule, ...]
    flow: Flow
    stages: Mapping[str, Stage]
    breach_plans: Mapping[str, BreachPlan]
    callback: CallbackRules
    extension: ExtensionRules
    appeal: AppealRules
    major: MajorRules
    calendar: CalendarSettings

    def role_label(self, role: str) -> str:
        return self.roles[role].label() if role in self.roles else role


def load_policy(path: str | Path) -> Policy:
    path = Path(path)
    try:
        text = path.read_text(encoding="utf-8")
    except (OSError, UnicodeDecodeError) as exc:
        raise PolicyError(str(path), "", None, f"cannot read the file ({exc})") from exc
    return parse_policy(text, str(path))


def load_default_policy() -> Policy:
    return load_policy(DEFAULT_POLICY_PATH)


def parse_policy(text: str, source_name: str) -> Policy:
    """Read and check a policy; any problem is a PolicyError naming key and line."""
    try:
        data = tomllib.loads(text)
    except tomllib.TOMLDecodeError as exc:
        found = re.search(r"at line (\d+)", str(exc))
        line = int(found.group(1)) if found else text.count("\n") + 1
        raise PolicyError(source_name, "", line, f"invalid TOML: {exc}") from exc
    return _PolicyReader(data, text, source_name).policy()


_TOP = (
    "policy", "calendar", "roles", "escalation", "classes", "levels", "urgencies", "severities",
    "channels", "flags", "demands", "routing", "flow", "stages", "breach_plans", "callback",
    "extension", "appeal", "major",
)
_WHAT = {
    "roles+tokens": "role ids or tokens", "chain": "roles of the escalation chain",
    "plans": "breach plans", "anchors": "start events", "resume": "resume modes",
    "met_on": "events", "units": "units", "stages": "stage ids", "flags": "flag ids",
    "demands": "demand ids", "roles": "role ids",
}
_NESTED = {"RepeatRule": RepeatRule, "MajorTrigger": MajorTrigger, "ActionSet": ActionSet}


class _PolicyReader(SpecReader):
    """The policy's own structure: sections, ids defined before they are referred to."""

    def __init__(self, data: dict[str, Any], text: str, source: str) -> None:
        super().__init__(data, text, source, _NESTED, _WHAT)
        self.ids["resume"] = list(ResumeMode)
        self.ids["met_on"] = list(MetOn)

    def policy(self) -> Policy:
        self.table((), _TOP)
        self.table(("policy",), ("name",))
        roles = self.entries(("roles",), Entry)
        self.ids["roles"] = list(roles)
        self.ids["roles+tokens"] = [*roles, *ROLE_TOKENS]
        self.table(("escalation",), ("chain",))
        chain = self.value({"kind": "refs", "of": "roles"}, ("escalation", "chain"))
        if not chain or len(set(chain)) != len(chain):
            self.fail(("escalation", "chain"), "expected a non-empty list of distinct role ids")
        self.ids["chain"] = list(chain)
        cats = {"class": "classes", "level": "levels", "urgency": "urgencies"}
        cats |= {"severity": "severities", "channel": "channels", "flags": "flags"}
        found = {}
        for field_name, section in (*cats.items(), ("demands", "demands")):
            found[section] = self.entries((section,), Channel if section == "channels" else Entry)
            self.ids[field_name] = list(found[section])
        self.ids["stages"] = list(self.table(("stages",)))
        plans = MappingProxyType({
            p: self.build(BreachPlan, ("breach_plans", p), id=p)
            for p in self.table(("breach_plans",))
        })
        self.ids["plans"] = list(plans)
        for plan in plans.values():
            if plan.repeat is not None and plan.repeat_every is None:
                self.fail(("breach_plans", plan.id, "repeat_every"), "missing; needed with repeat")
        if "default" not in plans:
            self.fail(("breach_plans", "default"), "missing; the plan used when none is named")
        self.table(("routing",), ("default", "rules"))
        rules = self.typed(("routing", "rules"), list, "a list of tables", [])
        callback = self.build(CallbackRules, ("callback",))
        if callback.satisfied_from > callback.rating_scale:
            self.fail(("callback", "satisfied_from"), f"expected 1 to {callback.rating_scale}")
        major = self.build(MajorRules, ("major",))
        for i, trigger in enumerate(major.triggers):
            if not (trigger.flags or trigger.demands or trigger.when or trigger.repeat):
                self.fail(("major", "triggers", i), "expected flags, demands, when or repeat")
        return Policy(
            name=self.typed(("policy", "name"), str, "a string"),
            source=self.source,
            roles=roles,
            chain=chain,
            **found,
            routing=self.build(Routing, ("routing", "default")),
            routing_rules=tuple(
                self.build(RoutingRule, ("routing", "rules", i)) for i in range(len(rules))
            ),
            flow=self.flow(),
            stages=MappingProxyType({s: self.stage(s) for s in self.ids["stages"]}),
            breach_plans=plans,
            callback=callback,
            extension=self.build(ExtensionRules, ("extension",)),
            appeal=self.build(AppealRules, ("appeal",)),
            major=major,
            calendar=self.calendar(),
        )

    def flow(self) -> Flow:
        flow: Flow = self.build(Flow, ("flow",))
        order, stage = [], flow.initial
        while stage is not None and stage not in order:
            order.append(stage)
            stage = self.get(("stages", stage, "next"), None)
            if stage is not None:
                stage = self.ref(("stages", order[-1], "next"), "stages")
        if stage is not None:
            self.fail(("stages", order[-1], "next"), f"the stages loop back to {stage!r}")
        if flow.archive not in order:
            self.fail(("flow", "archive"), "expected a stage reached from the initial stage")
        return replace(flow, order=tuple(order))

    def stage(self, stage_id: str) -> Stage:
        path: Path_ = ("stages", stage_id)
        self.table(path, ("name", "next", "deadlines", "overrides"))
        kinds = list(self.table((*path, "deadlines"), default={}))
        deadlines = []
        for kind in kinds:
            self.ids["anchors"] = [*Anchor, *(f"met:{k}" for k in kinds if k != kind)]
            deadlines.append(self.build(DeadlineSpec, (*path, "deadlines", kind), id=kind))
        overrides = []
        for i in range(len(self.typed((*path, "overrides"), list, "a list of tables", []))):
            sub: Path_ = (*path, "overrides", i)
            self.table(sub, ["when", *kinds])
            changes = tuple((k, self.duration((*sub, k))) for k in self.get(sub) if k != "when")
            overrides.append(StageOverride(self.when((*sub, "when")), changes))
        nxt = self.ref((*path, "next"), "stages") if self.get((*path, "next"), None) else None
        name = self.typed((*path, "name"), str, "a string")
        return Stage(stage_id, name, nxt, tuple(deadlines), tuple(overrides))

    def calendar(self) -> CalendarSettings:
        table = self.typed(("calendar",), dict, "a table")
        try:
            return read_settings(table)
        except SettingError as exc:
            self.fail(("calendar", *exc.path), exc.problem, exc.hint)
