"""Operator commands: the policy in plain words and its check, and entering a year's calendar
(deadlines in a year nobody published are provisional, and move once it is entered)."""

from __future__ import annotations

from dataclasses import replace
from datetime import datetime
from pathlib import Path
from zoneinfo import ZoneInfo

import pytest
from flask import Flask

from app import create_app
from callcenter.settings import Settings
from handlers.policy import DEFAULT_POLICY_PATH, PolicyError
from tests.handlers.conftest import Api

SH = ZoneInfo("Asia/Shanghai")


def test_policy_show_describes_the_policy_in_use_or_a_file(app: Flask, tmp_path: Path) -> None:
    runner = app.test_cli_runner()
    shown = runner.invoke(args=["policy", "show"])
    assert shown.exit_code == 0, shown.output
    assert "1. 第一客服(first_seat) → 2. 室负责人(room_lead)" in shown.output
    assert "发送投诉受理确认函(acknowledge)" in shown.output
    assert "受理确认短信发出即完成" in shown.output
    assert "回访电话在服务时间内拨打,最多 3 次" in shown.output
    broken = tmp_path / "broken.toml"
    broken.write_text(DEFAULT_POLICY_PATH.read_text(encoding="utf-8").replace(
        'start = "first_seat"', 'start = "janitor"'), encoding="utf-8")
    refused = runner.invoke(args=["policy", "show", str(broken)])
    assert refused.exit_code == 1 and "routing.default.start" in refused.output


def test_policy_check_names_the_line_and_key(app: Flask, tmp_path: Path) -> None:
    runner = app.test_cli_runner()
    good = runner.invoke(args=["policy", "check", str(DEFAULT_POLICY_PATH)])
    assert good.exit_code == 0 and good.output.startswith("ok: ")
    text = DEFAULT_POLICY_PATH.read_text(encoding="utf-8")
    line = text[:text.index("attempts = 3")].count("\n") + 1
    broken = tmp_path / "p.toml"
    broken.write_text(text.replace("attempts = 3", "attempts = 0"), encoding="utf-8")
    bad = runner.invoke(args=["policy", "check", str(broken)])
    assert bad.exit_code == 1
    assert f"p.toml, line {line}: callback.attempts: expected a whole number >= 1" in bad.output


def test_a_year_without_a_schedule_is_shown_as_provisional(app: Flask) -> None:
    runner = app.test_cli_runner()
    shown = runner.invoke(args=["calendar", "show", "2027"])
    assert shown.exit_code == 0, shown.output
    assert "2027: NO SCHEDULE" in shown.output
    assert "2027-01-01 五 休息(节假日) (provisional)" in shown.output
    official = runner.invoke(args=["calendar", "show", "2026"])
    assert "official schedule from chinese_calendar" in official.output
    assert "2026-02-14 六 调休上班" in official.output


def test_entering_a_year_recomputes_provisional_deadlines(app: Flask, api: Api, clock,  # type: ignore[no-untyped-def]
                                                          tmp_path: Path) -> None:
    clock.now = datetime(2027, 2, 3, 10, 0, tzinfo=SH)  # Wednesday before 春节 2027
    number = api.create(complex=True)["number"]
    api.act("seat", number, "advance", opinion="转核实")
    verify = api.show("seat", number)
    start = [d for d in verify["deadlines"] if d["deadline"] == "start"][0]
    assert start["provisional"] is True and verify["provisional"] is True
    assert start["due_at"] == "2027-02-05T18:00:00+08:00"  # 2 working days, as far as known
    schedule = tmp_path / "2027.toml"
    schedule.write_text('holidays = ["2027-01-01", "2027-02-05..2027-02-11"]\n'
                        'workdays = ["2027-02-13"]\n', encoding="utf-8")
    runner = app.test_cli_runner()
    entered = runner.invoke(args=["calendar", "set-year", "2027", "--file", str(schedule),
                                  "--holiday", "2027-10-01..2027-10-07", "--by", "ops"])
    assert entered.exit_code == 0, entered.output
    assert "2027: 15 holidays, 1 workdays entered by ops" in entered.output
    assert "recomputed" in entered.output
    after = api.show("seat", number)
    start = [d for d in after["deadlines"] if d["deadline"] == "start"][0]
    # Thu 4 Feb is the first working day, then 春节 until Thu 11, Fri 12 the second.
    assert start["due_at"] == "2027-02-12T18:00:00+08:00"
    assert start["provisional"] is False and after["provisional"] is False
    moved = [e for e in api.trail("seat", number) if e["action"] == "deadlines_recomputed"]
    assert moved and moved[0]["actor"] == {"kind": "operator", "id": "ops", "name": "ops",
                                           "role": "operator"}
    shown = runner.invoke(args=["calendar", "show", "2027"])
    assert "2027: schedule entered by ops" in shown.output
    assert "2027-02-13 六 调休上班" in shown.output and "provisional" not in shown.output


def test_a_bad_schedule_is_refused_without_changes(app: Flask) -> None:
    runner = app.test_cli_runner()
    for args, message in (
        (["2027", "--holiday", "2028-01-01"], "2028-01-01 is not in 2027"),
        (["2027", "--holiday", "tomorrow"], "is not a date"),
        (["2027", "--holiday", "2027-01-05..2027-01-01"], "ends before it starts"),
        (["2027", "--holiday", "2027-01-01", "--workday", "2027-01-01"], "listed both"),
        (["2027", "--workday", "2027-02-13"], "needs its holidays"),
    ):
        refused = runner.invoke(args=["calendar", "set-year", *args])
        assert refused.exit_code == 1 and message in refused.output, refused.output
    assert "NO SCHEDULE" in runner.invoke(args=["calendar", "show", "2027"]).output


def test_the_app_refuses_to_start_with_a_broken_policy(settings: Settings,
                                                       tmp_path: Path) -> None:
    broken = tmp_path / "policy.toml"
    broken.write_text(DEFAULT_POLICY_PATH.read_text(encoding="utf-8").replace(
        'return_to = "maintenance_room"', 'return_to = "nobody"'), encoding="utf-8")
    with pytest.raises(PolicyError, match=r"policy.toml, line \d+: appeal.return_to"):
        create_app(replace(settings, policy_path=str(broken)))
