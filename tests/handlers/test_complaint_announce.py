"""Telling the caller the number and PIN: the TwiML, and what a seat hears when it fails."""

from __future__ import annotations

import xml.etree.ElementTree as ET
from collections.abc import Callable
from typing import Any

import pytest

from handlers import telephony
from handlers.announce import announcement
from handlers.telephony import CALL_NOT_IN_PROGRESS, TelephonyError
from ivr.prompts import load_prompts
from tests.handlers.conftest import Api


def test_the_announcement_spells_number_and_pin_twice_then_hangs_up() -> None:
    root = ET.fromstring(str(announcement(load_prompts(), "2611230001", "024680")))
    says = [node.text or "" for node in root.findall("./Say")]
    assert len(says) == 2
    for text in says:
        assert "投诉编号：2 6 1 1 2 3 0 0 0 1" in text and "查询密码：0 2 4 6 8 0" in text
    assert [child.tag for child in root] == ["Say", "Say", "Hangup"]
    assert root.find("./Say").get("language") == "cmn-CN"  # type: ignore[union-attr]


@pytest.fixture
def redirected(monkeypatch: pytest.MonkeyPatch) -> list[tuple[str, str]]:
    calls: list[tuple[str, str]] = []

    def redirect(client: object, call_sid: str, twiml: str) -> None:
        if call_sid.endswith("d" * 8):
            raise TelephonyError("Call is not in-progress", CALL_NOT_IN_PROGRESS)
        calls.append((call_sid, twiml))

    monkeypatch.setattr(telephony, "redirect_call", redirect)
    return calls


def test_the_live_call_is_redirected_with_the_pin_only_in_its_twiml(
        api: Api, complaint_call: Callable[..., str],
        redirected: list[tuple[str, str]]) -> None:
    sid = complaint_call()
    made: dict[str, Any] = api("seat", "POST", "/api/complaints", {
        "call_sid": sid, "description": "d", "class": "class_1", "level": "L1",
        "urgency": "normal", "announce": True}, expect=201)
    assert made["announced"] is True
    [(called, twiml)] = redirected
    assert called == sid and " ".join(made["pin"]) in twiml
    announced = [e for e in api.trail("seat", made["number"]) if e["action"] == "announced"]
    assert announced and made["pin"] not in str(announced)
    again = api.act("seat", made["number"], "announce", pin=made["pin"])
    assert again == {"number": made["number"], "announced": True}
    wrong = api.act("seat", made["number"], "announce", expect=409, pin="000000")
    assert "not the complaint's query PIN" in wrong["error"]


def test_an_ended_call_is_reported_and_the_complaint_still_made(
        api: Api, complaint_call: Callable[..., str], redirected: list[tuple[str, str]]) -> None:
    sid = complaint_call(sid="CA" + "d" * 32)
    made = api("seat", "POST", "/api/complaints", {
        "call_sid": sid, "description": "d", "class": "class_1", "level": "L1",
        "urgency": "normal", "announce": True}, expect=201)
    assert made["announced"] is False and "call has ended" in made["announce_error"]
    fresh = api.act("seat", made["number"], "pin")
    assert fresh["pin"] != made["pin"] and len(fresh["pin"]) == 6
    assert "pin_reissued" in [e["action"] for e in api.trail("seat", made["number"])]
    no_call = api.create()
    refused = api.act("seat", no_call["number"], "announce", expect=409, pin=no_call["pin"])
    assert "not registered from a call" in refused["error"]
