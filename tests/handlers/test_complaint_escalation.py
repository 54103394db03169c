"""Escalation decisions under the default policy: routing, breaches, call-backs, major cases."""

from __future__ import annotations

from datetime import datetime, timedelta
from typing import Any
from zoneinfo import ZoneInfo

import pytest

from handlers.escalation import (
    BreachKey,
    Classification,
    ClassificationError,
    ComplaintState,
    TrackedClock,
    after_callback,
    clocks_for,
    deadline_rules,
    due_breaches,
    open_complaint,
    resolve_routing,
    start_optional,
)
from handlers.extensions import review_appeal, review_extension
from handlers.major import EarlierComplaint, MajorAssessment, assess_major
from handlers.policy import load_default_policy
from handlers.sla import Deadline, Duration, SlaClock, Unit

SH = ZoneInfo("Asia/Shanghai")
POLICY = load_default_policy()
CAL = POLICY.calendar.calendar()
PHONE_L2 = Classification("class_1", "L2", "normal", channel="phone")


def at(year: int, month: int, day: int, hour: int = 0, minute: int = 0) -> datetime:
    return datetime(year, month, day, hour, minute, tzinfo=SH)


def deadline_at(clock: SlaClock) -> datetime:
    deadline = clock.deadline(CAL)
    assert deadline is not None
    return deadline.at


MS, RL = "maintenance_room", "room_lead"
URGENT = ("room_lead", (MS, "deputy_gm"))


@pytest.mark.parametrize(
    ("cls", "level", "urgency", "start", "notify"),
    [
        ("class_1", "L1", "urgent", *URGENT),
        ("class_1", "L1", "important", "first_seat", (MS,)),
        ("class_1", "L1", "normal", "first_seat", (MS,)),
        ("class_1", "L2", "urgent", *URGENT),
        ("class_1", "L2", "important", "first_seat", (MS, RL)),
        ("class_1", "L2", "normal", "first_seat", (MS, RL)),
        ("class_1", "L3", "urgent", *URGENT),
        ("class_1", "L3", "important", "first_seat", (MS, RL)),
        ("class_1", "L3", "normal", "first_seat", (MS, RL)),
        ("class_2", "L1", "urgent", *URGENT),
        ("class_2", "L1", "important", "first_seat", (MS,)),
        ("class_2", "L1", "normal", "first_seat", (MS,)),
        ("class_2", "L2", "urgent", *URGENT),
        ("class_2", "L2", "important", "first_seat", (MS, RL)),
        ("class_2", "L2", "normal", "first_seat", (MS, RL)),
        ("class_2", "L3", "urgent", *URGENT),
        ("class_2", "L3", "important", "first_seat", (MS, RL)),
        ("class_2", "L3", "normal", "first_seat", (MS, RL)),
        ("grievance", "L1", "urgent", *URGENT),
        ("grievance", "L1", "important", "first_seat", ()),
        ("grievance", "L1", "normal", "first_seat", ()),
        ("grievance", "L2", "urgent", *URGENT),
        ("grievance", "L2", "important", "first_seat", (RL,)),
        ("grievance", "L2", "normal", "first_seat", (RL,)),
        ("grievance", "L3", "urgent", *URGENT),
        ("grievance", "L3", "important", "first_seat", (RL,)),
        ("grievance", "L3", "normal", "first_seat", (RL,)),
    ],
)
def test_routing_for_every_class_level_and_urgency(
    cls: str, level: str, urgency: str, start: str, notify: tuple[str, ...]
) -> None:
    routing = resolve_routing(POLICY, Classification(cls, level, urgency))
    assert (routing.start, routing.notify) == (start, notify)
    assert (routing.final_answer, routing.ceiling) == (MS, "gm")


def test_guidance_follows_the_cause_level() -> None:
    l2 = resolve_routing(POLICY, Classification("class_2", "L2", "normal")).guidance
    l3 = resolve_routing(POLICY, Classification("class_2", "L3", "normal")).guidance
    assert "首先向客户道歉" in l2 and "首先向客户道歉" not in l3
    assert any("查明事件后回复" in g for g in l3)
    assert l2[0] == "不得与投诉人发生争执"


def test_seat_severity_3_starts_at_the_maintenance_room_and_tells_the_gms() -> None:
    routing = resolve_routing(POLICY, Classification("class_1", "L2", "normal", severity="3"))
    assert routing.start == MS
    assert routing.notify == (RL, "deputy_gm", "gm")


def test_unknown_ids_are_refused() -> None:
    for bad in (
        Classification("class_9", "L1", "normal"),
        Classification("class_1", "L9", "normal"),
        Classification("class_1", "L1", "soon"),
        Classification("class_1", "L1", "normal", severity="5"),
        Classification("class_1", "L1", "normal", channel="fax"),
    ):
        with pytest.raises(ClassificationError):
            resolve_routing(POLICY, bad)
    with pytest.raises(ClassificationError):
        deadline_rules(POLICY, PHONE_L2, "nowhere")


def durations(classification: Classification, stage: str) -> dict[str, Duration]:
    return {d.id: d.duration for d in deadline_rules(POLICY, classification, stage)}


def test_deadlines_vary_by_channel_urgency_and_complexity() -> None:
    assert durations(PHONE_L2, "accept")["acknowledge"] == Duration(1, Unit.BUSINESS_HOURS)
    online = Classification("class_1", "L2", "normal", channel="wechat")
    assert durations(online, "accept")["acknowledge"] == Duration(30, Unit.BUSINESS_MINUTES)
    urgent = Classification("class_1", "L2", "urgent", channel="phone")
    assert durations(urgent, "accept")["handover"] == Duration(15, Unit.BUSINESS_MINUTES)
    assert durations(PHONE_L2, "accept")["handover"] == Duration(1, Unit.BUSINESS_HOURS)
    complex_case = Classification("class_1", "L2", "normal", complex=True)
    assert durations(complex_case, "verify")["start"] == Duration(2, Unit.WORKING_DAYS)
    assert durations(PHONE_L2, "verify")["start"] == Duration(1, Unit.WORKING_DAYS)
    outbound = Classification("class_2", "L1", "normal", channel="outbound")
    assert durations(outbound, "handle")["result"] == Duration(36, Unit.HOURS)
    assert durations(PHONE_L2, "handle")["result"] == Duration(48, Unit.HOURS)


def test_opening_a_complaint() -> None:
    opening = open_complaint(POLICY, PHONE_L2, at(2025, 3, 3, 10))
    assert (opening.stage, opening.role, opening.notify) == ("accept", "first_seat", (MS, RL))
    due = {(c.stage, c.deadline): deadline_at(c.clock) for c in opening.clocks}
    assert due == {
        ("accept", "acknowledge"): at(2025, 3, 3, 11),
        ("accept", "handover"): at(2025, 3, 3, 11),
        ("handle", "result"): at(2025, 3, 5, 10),
        ("callback", "callback"): at(2025, 3, 6, 10),
    }


def test_online_complaint_after_hours_is_acknowledged_after_opening() -> None:
    online = Classification("grievance", "L1", "normal", channel="online")
    opening = open_complaint(POLICY, online, at(2025, 3, 3, 22, 40))
    ack = next(c for c in opening.clocks if c.deadline == "acknowledge")
    assert ack.clock.deadline(CAL) == Deadline(at(2025, 3, 4, 9, 30), False)


def test_clocks_started_by_stage_entry_and_by_a_met_deadline() -> None:
    entered = clocks_for(POLICY, PHONE_L2, "verify", "stage_start", at(2025, 1, 27, 10))
    assert [(c.deadline, deadline_at(c.clock)) for c in entered] == [
        ("start", at(2025, 2, 5, 18))]
    after = clocks_for(POLICY, PHONE_L2, "accept", "met:handover", at(2025, 3, 3, 10, 20))
    assert [(c.deadline, deadline_at(c.clock)) for c in after] == [
        ("first_contact", at(2025, 3, 3, 12, 20))]
    visit = start_optional(POLICY, PHONE_L2, "verify", "site_visit", at(2025, 3, 3, 10))
    assert deadline_at(visit.clock) == at(2025, 3, 4, 10)
    with pytest.raises(ClassificationError):
        start_optional(POLICY, PHONE_L2, "verify", "lunch", at(2025, 3, 3, 10))


def accept_clocks() -> list[TrackedClock]:
    opening = open_complaint(POLICY, PHONE_L2, at(2025, 3, 3, 10))
    return [c for c in opening.clocks if c.stage == "accept"]


def test_first_breaches_escalate_one_step_each() -> None:
    state = ComplaintState("accept", "first_seat")
    assert due_breaches(POLICY, PHONE_L2, state, accept_clocks(), at(2025, 3, 3, 11), CAL) == ()
    decisions = due_breaches(POLICY, PHONE_L2, state, accept_clocks(), at(2025, 3, 3, 11, 30), CAL)
    assert [str(d.key) for d in decisions] == [
        "accept/acknowledge/20250303T020000.000000Z/1",
        "accept/handover/20250303T020000.000000Z/1",
    ]
    first, second = decisions
    assert (first.due_at, first.mark_overdue) == (at(2025, 3, 3, 11), True)
    assert not first.provisional
    assert (first.role_before, first.escalate_to, first.notify) == (
        "first_seat", RL, ("first_seat", RL))
    assert (second.role_before, second.escalate_to, second.notify) == (RL, MS, (RL, MS))
    assert second.role_after == MS and not second.at_ceiling


def test_each_breach_is_decided_once_and_repeats_per_working_day() -> None:
    clocks = accept_clocks()
    now = at(2025, 3, 3, 11, 30)
    state = ComplaintState("accept", "first_seat")
    first = due_breaches(POLICY, PHONE_L2, state, clocks, now, CAL)
    assert first == due_breaches(POLICY, PHONE_L2, state, clocks, now, CAL)  # deterministic
    state = ComplaintState("accept", MS, frozenset(str(d.key) for d in first))
    assert due_breaches(POLICY, PHONE_L2, state, clocks, now, CAL) == ()
    # The repeat falls due one working day after the deadline: Tuesday 18:00.
    assert due_breaches(POLICY, PHONE_L2, state, clocks, at(2025, 3, 4, 18), CAL) == ()
    second = due_breaches(POLICY, PHONE_L2, state, clocks, at(2025, 3, 4, 18, 1), CAL)
    assert [(d.key.deadline, d.key.n, d.due_at) for d in second] == [
        ("acknowledge", 2, at(2025, 3, 4, 18)), ("handover", 2, at(2025, 3, 4, 18))]
    assert [(d.escalate_to, d.notify, d.mark_overdue) for d in second] == [
        ("deputy_gm", ("deputy_gm",), False), ("gm", ("gm",), False)]
    state = ComplaintState("accept", "gm", state.handled | {str(d.key) for d in second})
    # Wednesday 18:00 (3rd) and Thursday 18:00 (4th and last) find the GM at the ceiling.
    later = due_breaches(POLICY, PHONE_L2, state, clocks, at(2025, 3, 10, 9), CAL)
    assert [(d.key.deadline, d.key.n, d.due_at.day) for d in later] == [
        ("acknowledge", 3, 5), ("handover", 3, 5), ("acknowledge", 4, 6), ("handover", 4, 6)]
    assert all(d.escalate_to is None and d.at_ceiling and d.notify == ("gm",) for d in later)


def test_breach_keys_change_when_a_clock_restarts() -> None:
    clock = SlaClock(at(2025, 3, 3, 10), Duration(1, Unit.WORKING_DAYS))
    tracked = TrackedClock("verify", "start", "启动核实", clock)
    state = ComplaintState("verify", "first_seat")
    before = due_breaches(POLICY, PHONE_L2, state, [tracked], at(2025, 3, 4, 19), CAL)
    restarted = clock.pause(at(2025, 3, 4, 19)).resume(at(2025, 3, 5, 10), restart=True)
    state = ComplaintState("verify", RL, frozenset(str(d.key) for d in before))
    after = due_breaches(
        POLICY, PHONE_L2, state, [TrackedClock("verify", "start", "启动核实", restarted)],
        at(2025, 3, 6, 19), CAL,
    )
    assert [d.key for d in before] == [BreachKey("verify", "start", at(2025, 3, 3, 10), 1)]
    assert [d.key for d in after] == [BreachKey("verify", "start", at(2025, 3, 5, 10), 1)]
    assert after[0].escalate_to == MS


def test_paused_clock_does_not_breach() -> None:
    clock = SlaClock(at(2025, 3, 3, 10), Duration(1, Unit.HOURS)).pause(at(2025, 3, 3, 10, 30))
    tracked = TrackedClock("verify", "request_info", "补充材料", clock)
    state = ComplaintState("verify", "first_seat")
    assert due_breaches(POLICY, PHONE_L2, state, [tracked], at(2025, 3, 9), CAL) == ()


def test_notify_only_plan_does_not_escalate_or_repeat() -> None:
    reject = start_optional(POLICY, PHONE_L2, "accept", "reject_notice", at(2025, 3, 3, 10))
    state = ComplaintState("accept", "first_seat")
    decisions = due_breaches(POLICY, PHONE_L2, state, [reject], at(2025, 3, 20), CAL)
    assert len(decisions) == 1
    only = decisions[0]
    assert (only.due_at, only.mark_overdue, only.escalate_to, only.notify) == (
        at(2025, 3, 3, 12), True, None, (RL,))


def test_repeats_reaching_an_uncovered_year_are_provisional() -> None:
    clock = SlaClock(at(2026, 12, 31, 9), Duration(8, Unit.HOURS))
    tracked = TrackedClock("handle", "result", "给出处理结果", clock)
    state = ComplaintState("handle", "first_seat")
    decisions = due_breaches(POLICY, PHONE_L2, state, [tracked], at(2027, 1, 4, 19), CAL)
    assert [(d.key.n, d.due_at, d.provisional) for d in decisions] == [
        (1, at(2026, 12, 31, 17), False), (2, at(2027, 1, 4, 18), True)]


def test_callback_satisfied_goes_to_archive() -> None:
    state = ComplaintState("callback", "first_seat")
    for kwargs in ({"rating": 5}, {"rating": 4, "solved": True}, {"solved": True}):
        decision = after_callback(POLICY, PHONE_L2, state, **kwargs)
        assert (decision.satisfied, decision.next_stage) == (True, "archive")
        assert not decision.reopen


@pytest.mark.parametrize("kwargs", [{"rating": 3}, {"rating": 5, "solved": False},
                                    {"solved": False}, {"rating": 1}])
def test_callback_unsatisfied_reopens_and_escalates(kwargs: dict[str, object]) -> None:
    state = ComplaintState("callback", RL, reopen_count=1)
    decision = after_callback(POLICY, PHONE_L2, state, **kwargs)  # type: ignore[arg-type]
    assert (decision.satisfied, decision.reopen, decision.next_stage) == (False, True, "reopen")
    assert (decision.escalate_to, decision.notify) == (MS, (MS,))
    assert decision.review_staff and not decision.reopen_limit_reached


def test_callback_after_the_reopen_limit() -> None:
    state = ComplaintState("callback", "deputy_gm", reopen_count=2)
    decision = after_callback(POLICY, PHONE_L2, state, rating=2)
    assert (decision.reopen, decision.next_stage, decision.reopen_limit_reached) == (
        False, "archive", True)
    assert (decision.escalate_to, decision.notify) == (None, ("deputy_gm", "gm"))


def test_callback_input_is_checked() -> None:
    state = ComplaintState("callback", "first_seat")
    cases: list[dict[str, Any]] = [{}, {"rating": 0}, {"rating": 6}]
    for kwargs in cases:
        with pytest.raises(ValueError):
            after_callback(POLICY, PHONE_L2, state, **kwargs)


def major(**kwargs: object) -> MajorAssessment:
    options = {"received_at": at(2025, 3, 3, 10), "at": at(2025, 3, 3, 10), "calendar": CAL}
    classification = kwargs.pop("classification", PHONE_L2)
    return assess_major(POLICY, classification, **{**options, **kwargs})  # type: ignore[arg-type]


def test_ordinary_complaint_is_not_major() -> None:
    result = major(earlier=[EarlierComplaint("T0001", at(2025, 1, 1, 10))], demands={"refund"})
    assert (result.major, result.reasons, result.report_by) == (False, (), None)


def test_second_complaint_within_30_days_is_major() -> None:
    earlier = [
        EarlierComplaint("T0007", at(2025, 2, 1, 10)),  # exactly 30 days before: counts
        EarlierComplaint("T0003", at(2025, 1, 20, 10)),  # too old
        EarlierComplaint("T0099", at(2025, 3, 5, 10)),  # later than this one: ignored
    ]
    result = major(earlier=earlier)
    assert result.major
    assert [(r.trigger, r.related) for r in result.reasons] == [("repeat", ("T0007",))]
    assert result.report_by == Deadline(at(2025, 3, 4, 10), False)
    assert (result.notify_at_once, result.report_to, result.convene) == (
        (RL, "gm"), ("management", "legal"), ("crisis_group",))
    later = major(earlier=earlier, received_at=at(2025, 3, 3, 10, 1))
    assert not later.major


@pytest.mark.parametrize(
    ("kwargs", "triggers"),
    [
        ({"flags": {"media"}}, ["media"]),
        ({"flags": {"regulator"}}, ["escalated"]),
        ({"flags": {"manufacturer", "disturbance"}}, ["escalated", "disturbance"]),
        ({"demands": {"exchange", "refund"}}, ["return_exchange"]),
        ({"flags": {"severe"}, "demands": {"return"}}, ["return_exchange", "severe"]),
        ({"classification": Classification("class_1", "L2", "normal", severity="3")},
         ["seat_severity_3"]),
    ],
)
def test_major_triggers(kwargs: dict[str, object], triggers: list[str]) -> None:
    result = major(**kwargs)
    assert [r.trigger for r in result.reasons] == triggers


def test_major_report_is_due_24_hours_after_the_assessment() -> None:
    result = major(flags={"media"}, at=at(2025, 3, 7, 16))
    assert result.report_by == Deadline(at(2025, 3, 8, 16), False)


def test_major_unknown_flag_or_demand() -> None:
    with pytest.raises(ClassificationError):
        major(flags={"tv"})
    with pytest.raises(ClassificationError):
        major(demands={"cash"})


def test_extension_granted_before_the_deadline() -> None:
    clock = SlaClock(at(2025, 3, 3, 10), Duration(48, Unit.HOURS))
    decision = review_extension(POLICY, clock, amount=24, reason="需厂家检测",
                                at=at(2025, 3, 4, 10), calendar=CAL)
    assert decision.granted and decision.problems == ()
    assert decision.deadline == Deadline(at(2025, 3, 6, 10), False)
    assert decision.notify == ("caller", MS)
    again = review_extension(POLICY, decision.clock, amount=1, reason="再延",
                             at=at(2025, 3, 5, 10), calendar=CAL)
    assert not again.granted and again.clock is decision.clock
    assert again.problems == ("at most 1 extension(s)",)


@pytest.mark.parametrize(
    ("amount", "reason", "when", "problem"),
    [
        (24, "", at(2025, 3, 4, 10), "a reason is required"),
        (24, "检测", at(2025, 3, 5, 10, 1), "the deadline has already passed"),
        (49, "检测", at(2025, 3, 4, 10), "extensions may add at most 1 of the original time"),
        (0, "检测", at(2025, 3, 4, 10), "the extension must be more than zero"),
    ],
)
def test_extension_refused(amount: int, reason: str, when: datetime, problem: str) -> None:
    clock = SlaClock(at(2025, 3, 3, 10), Duration(48, Unit.HOURS))
    decision = review_extension(POLICY, clock, amount=amount, reason=reason, at=when,
                                calendar=CAL)
    assert not decision.granted and decision.problems == (problem,)
    assert decision.deadline == Deadline(at(2025, 3, 5, 10), False)


def test_appeal_within_one_working_day() -> None:
    friday = at(2025, 3, 7, 15)
    ok = review_appeal(POLICY, assigned_at=friday, appealed_at=at(2025, 3, 10, 17), calendar=CAL)
    assert (ok.accepted, ok.window_ends, ok.return_to) == (
        True, Deadline(at(2025, 3, 10, 18), False), MS)
    late = review_appeal(POLICY, assigned_at=friday, appealed_at=at(2025, 3, 10, 18)
                         + timedelta(seconds=1), calendar=CAL)
    assert (late.accepted, late.return_to) == (False, None)
    holiday = review_appeal(POLICY, assigned_at=at(2025, 9, 30, 10),
                            appealed_at=at(2025, 10, 8, 10), calendar=CAL)
    assert holiday.accepted and holiday.window_ends.at == at(2025, 10, 9, 18)
