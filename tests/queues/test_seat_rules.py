"""Seat input rules and the live-figure arithmetic, as pure functions."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest

from queues.figures import CallRow, summarize
from queues.seats import Reach, SeatError, parse_reach, parse_skills

NOW = datetime(2026, 11, 23, 2, 30, tzinfo=UTC)


@pytest.mark.parametrize(("text", "reach", "stored"), [
    ("client:wang_fang", Reach("client", "wang_fang"), "client:wang_fang"),
    (" +8613900000001 ", Reach("number", "+8613900000001"), "number:+8613900000001"),
    ("number:+861012345678", Reach("number", "+861012345678"), "number:+861012345678"),
    ("sip:8001@pbx.example.cn", Reach("sip", "sip:8001@pbx.example.cn"),
     "sip:8001@pbx.example.cn"),
])
def test_reach(text: str, reach: Reach, stored: str) -> None:
    assert parse_reach(text) == reach and str(reach) == stored
    assert parse_reach(stored) == reach


@pytest.mark.parametrize("text", ["", "client:", "client:a b", "13900000001", "+0123",
                                  "tel:+8613900000001", "sip:<x>", 7])
def test_bad_reach(text: object) -> None:
    with pytest.raises(SeatError) as error:
        parse_reach(text)
    assert error.value.status == 400


def test_skills() -> None:
    assert parse_skills("complaint:3, repair:1,lang_yue:2") == {
        "complaint": 3, "repair": 1, "lang_yue": 2}
    assert parse_skills({"inquiry": 2}) == {"inquiry": 2}
    for bad in ("complaint", "complaint:x", {"complaint": 0}, {"complaint": True},
                {"Complaint": 1}, ["complaint"]):
        with pytest.raises(SeatError):
            parse_skills(bad)


def call(status: str, entered_ago: int, *, answered_after: int | None = None,
         left_ago: int | None = None, handle: int | None = None,
         skill: str = "complaint") -> CallRow:
    entered = NOW - timedelta(seconds=entered_ago)
    answered = entered + timedelta(seconds=answered_after) if answered_after is not None else None
    left = NOW - timedelta(seconds=left_ago) if left_ago is not None else None
    waited = answered_after if answered_after is not None else (
        entered_ago - left_ago if left_ago is not None else None)
    return CallRow(skill, status, entered, answered, left, left if handle else None, waited,
                   handle)


def test_figures_of_the_last_hour() -> None:
    rows = [
        call("waiting", 75), call("offered", 30), call("waiting", 500, skill="inquiry"),
        call("completed", 600, answered_after=10, left_ago=400, handle=190),
        call("completed", 900, answered_after=50, left_ago=600, handle=250),
        call("connected", 100, answered_after=15),
        call("abandoned", 200, left_ago=140),
        call("completed", 9000, answered_after=5, left_ago=8000, handle=100),  # too old
    ]
    figures = summarize("complaint", rows, NOW, timedelta(hours=1), 20, available_seats=2)
    assert (figures.waiting, figures.longest_wait_s) == (2, 75)
    assert figures.answered == 3 and figures.average_wait_s == 25.0
    assert figures.average_handle_s == 220.0
    assert (figures.abandoned, figures.abandoned_average_wait_s) == (1, 60.0)
    assert figures.service_level == 0.5  # 2 of 3 answered in 20 s, of 4 answered or abandoned
    assert figures.available_seats == 2
    empty = summarize("repair", rows, NOW, timedelta(hours=1), 20)
    assert (empty.waiting, empty.service_level, empty.average_wait_s) == (0, None, None)
