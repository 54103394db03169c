"""Pure rules added for complaint records: the breach schedule a scan relies on, who may read
a complaint, one manual escalation step, the acceptance form's checks, and SMS wording."""

from __future__ import annotations

from datetime import datetime, timedelta
from zoneinfo import ZoneInfo

import pytest

from handlers.errors import InvalidRequest
from handlers.escalation import (
    BreachKey,
    Classification,
    TrackedClock,
    breach_schedule,
    escalation_target,
    next_breach,
    reader_roles,
)
from handlers.forms import read_fields, read_new
from handlers.policy import load_default_policy
from handlers.sla import Duration, SlaClock, Unit
from handlers.wording import acknowledgment, local_text
from ivr.prompts import load_prompts

SH = ZoneInfo("Asia/Shanghai")
POLICY = load_default_policy()
CAL = POLICY.calendar.calendar()
L1 = Classification("class_1", "L1", "normal", channel="phone")
MONDAY = datetime(2026, 11, 23, 10, 0, tzinfo=SH)


def _handover(start: datetime = MONDAY) -> TrackedClock:
    return TrackedClock("accept", "handover", "工单传递处理部门",
                        SlaClock(start, Duration(1, Unit.BUSINESS_HOURS)))


def test_the_breach_schedule_is_the_first_breach_then_each_repeat() -> None:
    schedule = list(breach_schedule(POLICY, _handover(), CAL))
    assert [key.n for key, _, _ in schedule] == [1, 2, 3, 4]
    assert [due.at for _, due, _ in schedule] == [
        datetime(2026, 11, 23, 11, 0, tzinfo=SH), datetime(2026, 11, 24, 18, 0, tzinfo=SH),
        datetime(2026, 11, 25, 18, 0, tzinfo=SH), datetime(2026, 11, 26, 18, 0, tzinfo=SH)]
    assert schedule[0][2] is POLICY.breach_plans["default"].first
    assert all(actions is POLICY.breach_plans["default"].repeat for _, _, actions in schedule[1:])


def test_the_next_breach_skips_those_acted_on_and_ends_with_the_plan() -> None:
    clock = _handover()
    keys = [str(BreachKey("accept", "handover", MONDAY, n)) for n in (1, 2, 3, 4)]
    first = next_breach(POLICY, clock, CAL, frozenset())
    assert first is not None and first.at == datetime(2026, 11, 23, 11, 0, tzinfo=SH)
    second = next_breach(POLICY, clock, CAL, frozenset(keys[:1]))
    assert second is not None and second.at == datetime(2026, 11, 24, 18, 0, tzinfo=SH)
    assert next_breach(POLICY, clock, CAL, frozenset(keys)) is None


def test_a_paused_clock_has_no_next_breach_until_it_resumes() -> None:
    paused = TrackedClock("accept", "handover", "x",
                          _handover().clock.pause(MONDAY + timedelta(minutes=10)))
    assert next_breach(POLICY, paused, CAL, frozenset()) is None
    resumed = TrackedClock("accept", "handover", "x",
                           paused.clock.resume(MONDAY + timedelta(hours=2)))
    due = next_breach(POLICY, resumed, CAL, frozenset())
    assert due is not None and due.at == MONDAY + timedelta(hours=2, minutes=50)  # 50 min left


def test_the_notify_only_plan_breaches_once() -> None:
    notice = TrackedClock("accept", "reject_notice", "不予受理的说明",
                          SlaClock(MONDAY, Duration(2, Unit.BUSINESS_HOURS)), "notify_only")
    assert [key.n for key, _, _ in breach_schedule(POLICY, notice, CAL)] == [1]


@pytest.mark.parametrize(("role", "target"), [
    ("first_seat", "room_lead"), ("room_lead", "maintenance_room"),
    ("maintenance_room", "deputy_gm"), ("deputy_gm", "gm"), ("gm", None), ("legal", None)])
def test_a_manual_escalation_is_one_step_up_to_the_ceiling(role: str, target: str | None) -> None:
    assert escalation_target(POLICY, L1, role) == target


def test_readers_are_the_chain_from_the_lowest_holder_to_the_ceiling() -> None:
    assert reader_roles(POLICY, L1, ["first_seat"]) == frozenset(
        {"first_seat", "room_lead", "maintenance_room", "deputy_gm", "gm"})
    urgent = Classification("class_1", "L1", "urgent")
    assert "first_seat" not in reader_roles(POLICY, urgent, ["room_lead"])
    assert "legal" in reader_roles(POLICY, L1, ["first_seat"], notified=["legal"])
    assert "legal" not in reader_roles(POLICY, L1, ["first_seat"])


BASE = {"description": "d", "class": "class_1", "level": "L1", "urgency": "normal",
        "caller_number": "+8613800000001"}


def test_the_form_is_read_into_model_attributes() -> None:
    new = read_new({**BASE, "severity": "", "complex": True, "flags": ["media", "media"],
                    "occurred_at": "2026-11-20T15:00:00"}, POLICY, SH)
    assert new.fields["complaint_class"] == "class_1" and new.fields["complex"] is True
    assert new.fields["flags"] == ["media"]
    assert new.fields["occurred_at"] == datetime(2026, 11, 20, 15, 0, tzinfo=SH)
    assert new.call_sid is None and new.announce is False and new.evidence == ()


@pytest.mark.parametrize(("body", "message"), [
    ({"complex": "yes"}, "complex: expected true or false"),
    ({"contact_name": "x" * 65}, "contact_name: at most 64 characters"),
    ({"severity": "9"}, "severity: expected one of 1, 2, 3"),
    ({"channel": 3}, "channel: expected one of"),
    ({"description": 5}, "description: expected text"),
])
def test_bad_fields_are_named(body: dict[str, object], message: str) -> None:
    with pytest.raises(InvalidRequest, match=message):
        read_fields(body, POLICY, SH)


def test_announce_needs_the_live_call() -> None:
    with pytest.raises(InvalidRequest, match="announce needs the call_sid"):
        read_new({**BASE, "announce": True}, POLICY, SH)


def test_the_acknowledgment_names_number_times_handler_and_missing_material() -> None:
    text = acknowledgment(load_prompts(), number="2611230001", received_at=MONDAY,
                          expected_at=MONDAY + timedelta(days=2), handler="第一客服(工号 s001)",
                          missing="缴费凭证", zone=SH)
    assert text == ("【客服热线】您的投诉已于11月23日10:00受理，投诉编号2611230001，预计11月25日"
                    "10:00前处理完毕，处理人：第一客服(工号 s001)。请补充以下材料：缴费凭证。"
                    "查询处理进度请致电本热线按4。")
    assert local_text(None, SH) == ""
