"""The menu tree, exhaustively: every node, every key, every failure path."""

from __future__ import annotations

import itertools
from datetime import UTC, datetime, time
from zoneinfo import ZoneInfo

import pytest

from ivr.hours import BusinessHours
from ivr.menu import Action, CallerInput, Menu, Node, spoken_digits

MENU = Menu()
SHANGHAI = ZoneInfo("Asia/Shanghai")
ALL_KEYS = "0123456789*#"

EXPECTED_ACTIONS = {
    Node.MAIN: {"1": Action.QUEUE_INQUIRY, "2": Action.QUEUE_COMPLAINT,
                "3": Action.QUEUE_REPAIR, "4": Action.STATUS_BY_CALLER_ID},
    Node.AFTER_HOURS: {"1": Action.VOICEMAIL, "4": Action.STATUS_BY_CALLER_ID},
    Node.LOOKUP_MENU: {"1": Action.KEY_COMPLAINT_NUMBER, "9": Action.BACK},
}
REPEAT_KEYS = {Node.MAIN: "9", Node.AFTER_HOURS: "9"}


@pytest.mark.parametrize(("node", "key", "attempt"), list(itertools.product(
    EXPECTED_ACTIONS, ALL_KEYS, (1, 2, 3))))
def test_every_key_of_every_menu_node(node: Node, key: str, attempt: int) -> None:
    step = MENU.decide(node, attempt, CallerInput(digits=key))
    if key in EXPECTED_ACTIONS[node]:
        assert (step.kind, step.action) == ("action", EXPECTED_ACTIONS[node][key])
    elif REPEAT_KEYS.get(node) == key:
        assert (step.kind, step.node, step.attempt, step.reprompt) == ("play", node, 1, False)
    elif attempt < 3:
        assert (step.kind, step.node, step.attempt, step.reprompt) == (
            "play", node, attempt + 1, True)
    else:
        assert (step.kind, step.node) == ("give_up", node)


@pytest.mark.parametrize("node", list(EXPECTED_ACTIONS))
def test_silence_reprompts_twice_then_gives_up(node: Node) -> None:
    first = MENU.decide(node, 1, CallerInput())
    second = MENU.decide(node, first.attempt, CallerInput())
    third = MENU.decide(node, second.attempt, CallerInput())
    assert [first.kind, second.kind, third.kind] == ["play", "play", "give_up"]
    assert [first.attempt, second.attempt] == [2, 3]


@pytest.mark.parametrize(("speech", "action"), [
    ("我要投诉", Action.QUEUE_COMPLAINT), ("咨询一下", Action.QUEUE_INQUIRY),
    ("报修。", Action.QUEUE_REPAIR), ("维修热水器", Action.QUEUE_REPAIR),
    ("查询投诉结果", Action.STATUS_BY_CALLER_ID), ("二", Action.QUEUE_COMPLAINT),
    ("4", Action.STATUS_BY_CALLER_ID),
])
def test_spoken_choices_in_hours(speech: str, action: Action) -> None:
    step = MENU.decide(Node.MAIN, 1, CallerInput.from_webhook(None, speech))
    assert step.action is action


def test_spoken_choices_after_hours() -> None:
    assert MENU.decide(Node.AFTER_HOURS, 1, CallerInput(speech="我想留言")).action is (
        Action.VOICEMAIL)
    assert MENU.decide(Node.AFTER_HOURS, 1, CallerInput(speech="投诉")).kind == "play"


@pytest.mark.parametrize("speech", ["嗯", "hello", "一二三", "", "。。。"])
def test_unrecognised_speech_reprompts(speech: str) -> None:
    step = MENU.decide(Node.MAIN, 1, CallerInput.from_webhook(None, speech))
    assert (step.kind, step.reprompt) == ("play", True)


@pytest.mark.parametrize("digits", ["12", "22", "*", "#", "2#2", "99999999999999999999"])
def test_several_keys_at_a_one_key_menu_reprompt(digits: str) -> None:
    step = MENU.decide(Node.MAIN, 1, CallerInput.from_webhook(digits, None))
    assert (step.kind, step.reprompt) == ("play", True)


def test_a_key_ended_by_hash_counts() -> None:
    assert MENU.decide(Node.MAIN, 1, CallerInput(digits="2#")).action is (
        Action.QUEUE_COMPLAINT)


@pytest.mark.parametrize(("node", "digits", "ok"), [
    (Node.LOOKUP_NUMBER, "2611230001#", True), (Node.LOOKUP_NUMBER, "2611230001", True),
    (Node.LOOKUP_NUMBER, "123#", False), (Node.LOOKUP_NUMBER, "#", False),
    (Node.LOOKUP_NUMBER, "1" * 16 + "#", True), (Node.LOOKUP_NUMBER, "1" * 17 + "#", False),
    (Node.LOOKUP_NUMBER, "12*34#", False), (Node.LOOKUP_PIN, "123456#", True),
    (Node.LOOKUP_PIN, "12#", False), (Node.LOOKUP_PIN, "", False),
])
def test_keyed_numbers(node: Node, digits: str, ok: bool) -> None:
    step = MENU.decide(node, 1, CallerInput.from_webhook(digits, None))
    if ok:
        assert (step.kind, step.value) == ("action", digits.rstrip("#"))
    else:
        assert (step.kind, step.reprompt, step.attempt) == ("play", True, 2)
    assert MENU.decide(node, 3, CallerInput(digits="1#")).kind == "give_up"


def test_keyed_number_may_be_spoken() -> None:
    step = MENU.decide(Node.LOOKUP_NUMBER, 1, CallerInput(speech="二六一一二三零零零一"))
    assert step.value == "2611230001"


@pytest.mark.parametrize("attempt", [-5, 0, 1, 3, 99])
def test_absurd_attempt_numbers_are_clamped(attempt: int) -> None:
    step = MENU.decide(Node.MAIN, attempt, CallerInput())
    assert step.kind in {"play", "give_up"}
    assert 1 <= step.attempt <= 3


def test_webhook_input_is_cleaned_and_bounded() -> None:
    caller = CallerInput.from_webhook("2<script>", "投" * 10_000)
    assert caller.digits == "2"
    assert len(caller.speech) == 200
    assert CallerInput.from_webhook(None, None).empty
    assert CallerInput.from_webhook("ＡＢ２", "").digits == ""


def test_spoken_digits() -> None:
    assert spoken_digits("幺三八，零零") == "13800"
    assert spoken_digits("没有数字") == ""


def test_entry_node_by_hours() -> None:
    assert MENU.entry(True) is Node.MAIN
    assert MENU.entry(False) is Node.AFTER_HOURS


def at(hour: int, minute: int = 0, second: int = 0, day: int = 23) -> datetime:
    return datetime(2026, 11, day, hour, minute, second, tzinfo=SHANGHAI)


DAY_HOURS = BusinessHours(time(9), time(21), SHANGHAI)
NIGHT_HOURS = BusinessHours(time(21), time(9), SHANGHAI)  # a night line spanning midnight


@pytest.mark.parametrize(("moment", "open_"), [
    (at(8, 59, 59), False), (at(9), True), (at(9, 0, 1), True), (at(20, 59, 59), True),
    (at(21), False), (at(23, 59), False), (at(0), False), (at(12), True),
])
def test_opening_and_closing_on_the_minute(moment: datetime, open_: bool) -> None:
    assert DAY_HOURS.is_open(moment) is open_
    assert NIGHT_HOURS.is_open(moment) is not open_


def test_hours_are_in_the_call_centers_zone() -> None:
    assert DAY_HOURS.is_open(datetime(2026, 11, 23, 1, 0, tzinfo=UTC))  # 09:00 in Shanghai
    assert not DAY_HOURS.is_open(datetime(2026, 11, 23, 0, 59, tzinfo=UTC))


@pytest.mark.parametrize(("moment", "expected"), [
    (at(20, 59), at(20, 59)), (at(21), at(9, day=24)), (at(23, 30), at(9, day=24)),
    (at(0, 10), at(9)), (at(8, 59, 59), at(9)),
])
def test_next_opening(moment: datetime, expected: datetime) -> None:
    assert DAY_HOURS.next_opening(moment) == expected


def test_next_opening_of_a_line_open_across_midnight() -> None:
    assert NIGHT_HOURS.next_opening(at(12)) == at(21)
    assert NIGHT_HOURS.next_opening(at(23)) == at(23)
