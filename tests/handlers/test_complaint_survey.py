"""The call-back survey: placing the call, what the caller hears, what a rating does, and
what happens when nobody answers. Twilio's side is played with signed webhooks."""

from __future__ import annotations

import xml.etree.ElementTree as ET
from datetime import timedelta
from typing import Any

import pytest
from flask import Flask
from sqlalchemy import select

from callcenter.services import Services
from handlers import telephony
from handlers.jobs import dispatch_due_work
from handlers.models import ComplaintCallback
from handlers.survey import read_rating
from ivr.models import CallbackTask
from tests.conftest import TwilioSigner, call_params
from tests.handlers.conftest import Api, run_jobs

CALLER = "+8613800000001"


@pytest.fixture
def placed(monkeypatch: pytest.MonkeyPatch) -> list[dict[str, Any]]:
    """Calls the survey job asks Twilio for (each gets a new CallSid); SMS are accepted."""
    calls: list[dict[str, Any]] = []

    def place_call(client: object, **options: Any) -> str:
        calls.append(options)
        return "CA" + f"{len(calls):032x}"

    monkeypatch.setattr(telephony, "place_call", place_call)
    monkeypatch.setattr(telephony, "send_sms", lambda client, **options: "SM" + "0" * 32)
    return calls


def _to_feedback(api: Api, result: str = "已退还多扣的 30 元") -> str:
    number: str = api.create()["number"]
    for opinion in ("转核实", "核实属实"):
        api.act("seat", number, "advance", opinion=opinion)
    api.act("seat", number, "advance", opinion="处理完毕", result=result)
    return number


def _attempt(app_services: Services, n: int = -1) -> ComplaintCallback:
    with app_services.database.session() as session:
        return list(session.scalars(select(ComplaintCallback).order_by(ComplaintCallback.id)))[n]


def _say(xml: bytes) -> str:
    return " ".join(node.text or "" for node in ET.fromstring(xml).iter("Say"))


def _post(twilio: TwilioSigner, path: str, sid: str, **form: str) -> Any:
    params = call_params(call_sid=sid, from_="+864000000000", To=CALLER,
                         Direction="outbound-api", **form)
    answer = twilio.post(path, params)
    assert answer.status_code == 200, answer.data
    return answer


def test_ratings_are_read_from_keys() -> None:
    assert read_rating("5", 5) == (5, None)
    assert read_rating("1", 5) == (1, None)
    assert read_rating("0", 5) == (None, False)
    for bad in ("", "6", "9", "*", "#", "12", "a"):
        assert read_rating(bad, 5) is None


def test_the_result_reaching_feedback_places_the_survey_call(
        api: Api, app: Flask, app_services: Services, placed: list[dict[str, Any]]) -> None:
    number = _to_feedback(api)
    run_jobs(app)
    assert len(placed) == 1
    call = placed[0]
    assert call["to"] == CALLER and call["from_"] == "+864000000000"
    assert call["url"] == f"https://ivr.example.test/complaints/survey?callback={_attempt(app_services).id}"
    assert call["status_callback"].startswith("https://ivr.example.test/complaints/survey/status")
    attempt = _attempt(app_services)
    assert attempt.status == "calling" and attempt.call_sid == "CA" + f"{1:032x}"
    actions = [e["action"] for e in api.trail("seat", number)]
    assert "callback_scheduled" in actions and "callback_placed" in actions
    run_jobs(app)  # enqueued once more by nobody: nothing is placed twice
    with app.app_context():
        assert dispatch_due_work()["calls"] == 0
    assert len(placed) == 1


def test_a_satisfied_caller_closes_the_complaint(api: Api, app: Flask, twilio: TwilioSigner,
                                                 app_services: Services,
                                                 placed: list[dict[str, Any]]) -> None:
    number = _to_feedback(api)
    run_jobs(app)
    attempt = _attempt(app_services)
    sid = attempt.call_sid or ""
    answer = _post(twilio, f"/complaints/survey?callback={attempt.id}", sid)
    root = ET.fromstring(answer.data)
    gather = root.find("./Gather")
    assert gather is not None and gather.get("input") == "dtmf" and gather.get("numDigits") == "1"
    assert gather.get("action") == (f"https://ivr.example.test/complaints/survey/answer"
                                    f"?callback={attempt.id}&attempt=1")
    said = _say(answer.data)
    assert "2 6 1 1 2 3 0 0 0 1" in said and "已退还多扣的 30 元" in said and "请按0" in said
    assert api.show("seat", number)["stage"] == "callback"
    thanks = _post(twilio, f"/complaints/survey/answer?callback={attempt.id}&attempt=1", sid,
                   Digits="5")
    assert "感谢您的评价" in _say(thanks.data)
    assert ET.fromstring(thanks.data).find("./Hangup") is not None
    again = _post(twilio, f"/complaints/survey/answer?callback={attempt.id}&attempt=1", sid,
                  Digits="5")  # Twilio retried the webhook
    assert "感谢您的评价" in _say(again.data)
    _post(twilio, f"/complaints/survey/status?callback={attempt.id}", sid,
          CallStatus="completed", CallDuration="40")
    shown = api.show("seat", number)
    assert shown["stage"] == "archive" and shown["closed_at"] is not None
    assert all(d["status"] != "running" for d in shown["deadlines"])
    assert shown["callbacks"][0]["rating"] == 5 and shown["callbacks"][0]["status"] == "rated"
    rated = [e for e in api.trail("seat", number) if e["action"] == "callback_rated"]
    assert len(rated) == 1 and rated[0]["actor"]["kind"] == "caller"
    assert rated[0]["details"]["satisfied"] is True


@pytest.mark.parametrize("key", ["2", "0"])
def test_a_low_rating_or_not_solved_reopens_one_step_higher(
        api: Api, app: Flask, twilio: TwilioSigner, app_services: Services,
        placed: list[dict[str, Any]], key: str) -> None:
    number = _to_feedback(api)
    run_jobs(app)
    attempt = _attempt(app_services)
    sid = attempt.call_sid or ""
    _post(twilio, f"/complaints/survey?callback={attempt.id}", sid)
    sorry = _post(twilio, f"/complaints/survey/answer?callback={attempt.id}&attempt=1", sid,
                  Digits=key)
    assert "重新处理" in _say(sorry.data)
    shown = api.show("lead", number)
    assert shown["stage"] == "reopen" and shown["reopen_count"] == 1
    assert shown["role"] == "room_lead"
    assert [d["deadline"] for d in shown["deadlines"] if d["status"] == "running"] == ["rejudge"]
    actions = [e["action"] for e in api.trail("lead", number)]
    assert {"callback_rated", "escalated", "staff_review", "reopened"} <= set(actions)
    # Handled again, the new result goes to a new survey round.
    api.act("lead", number, "advance", opinion="重新处理", result="补偿 50 元话费")
    run_jobs(app)
    assert len(placed) == 2
    second = _attempt(app_services)
    assert (second.round, second.attempt) == (1, 1)


def test_bad_keys_are_asked_again_then_a_seat_is_asked_to_call(
        api: Api, app: Flask, twilio: TwilioSigner, app_services: Services,
        placed: list[dict[str, Any]]) -> None:
    number = _to_feedback(api)
    run_jobs(app)
    attempt = _attempt(app_services)
    sid = attempt.call_sid or ""
    _post(twilio, f"/complaints/survey?callback={attempt.id}", sid)
    for try_number, digits in ((1, "9"), (2, "")):
        again = _post(twilio, f"/complaints/survey/answer?callback={attempt.id}"
                              f"&attempt={try_number}", sid, Digits=digits)
        assert "没有听清" in _say(again.data)
        action = ET.fromstring(again.data).find("./Gather")
        assert action is not None
        assert action.get("action", "").endswith(f"attempt={try_number + 1}")
    gave_up = _post(twilio, f"/complaints/survey/answer?callback={attempt.id}&attempt=3", sid,
                    Digits="7")
    assert "稍后将由客服人员与您联系" in _say(gave_up.data)
    assert _attempt(app_services, 0).status == "unreached"
    second = _attempt(app_services)
    assert second.attempt == 2 and second.status == "scheduled"
    assert api.show("seat", number)["stage"] == "callback"


def test_no_answer_is_retried_then_handed_to_a_seat(
        api: Api, app: Flask, clock, twilio: TwilioSigner,  # type: ignore[no-untyped-def]
        app_services: Services, placed: list[dict[str, Any]]) -> None:
    number = _to_feedback(api)
    for n in (1, 2, 3):
        run_jobs(app)
        assert len(placed) == n
        attempt = _attempt(app_services)
        _post(twilio, f"/complaints/survey/status?callback={attempt.id}", attempt.call_sid or "",
              CallStatus="no-answer" if n != 2 else "busy", CallDuration="0")
        assert _attempt(app_services, n - 1).status == "unreached"
        if n < 3:
            later = _attempt(app_services)
            assert later.attempt == n + 1
            assert later.due_at == clock.now + timedelta(hours=2)  # 2 business hours
            clock.now += timedelta(hours=2, minutes=1)
            with app.app_context():
                assert dispatch_due_work()["calls"] == 1
    with app_services.database.session() as session:
        task = session.scalar(select(CallbackTask))
        assert task is not None and task.reason == "complaint_callback"
        assert task.caller_number == CALLER
    actions = [e["action"] for e in api.trail("seat", number)]
    assert actions.count("callback_unreached") == 3 and "callback_to_seat" in actions
    assert api.show("seat", number)["stage"] == "feedback"
    # The seat calls by hand and records the verdict.
    closed = api.act("seat", number, "callback-result", rating=4, solved=True,
                     opinion="电话回访,客户满意")
    assert closed["stage"] == "archive"


def test_survey_calls_wait_for_business_hours(api: Api, app: Flask, clock,  # type: ignore[no-untyped-def]
                                              app_services: Services,
                                              placed: list[dict[str, Any]]) -> None:
    number: str = api.create()["number"]
    api.act("seat", number, "advance", opinion="a")
    api.act("seat", number, "advance", opinion="b")
    clock.now = clock.now.replace(hour=22, minute=30)
    api.act("seat", number, "advance", opinion="c", result="已处理")
    run_jobs(app)
    assert placed == []
    assert _attempt(app_services).due_at == clock.now.replace(day=24, hour=9, minute=0)


def test_a_failure_inside_a_survey_webhook_still_answers_twiml(
        twilio: TwilioSigner, monkeypatch: pytest.MonkeyPatch, api: Api) -> None:
    from handlers import survey

    monkeypatch.setattr(survey, "answered", lambda *a, **k: 1 / 0)
    answer = _post(twilio, "/complaints/survey?callback=1", "CA" + "e" * 32)
    assert "系统繁忙" in _say(answer.data)
    unsigned = twilio.client.post("/complaints/survey?callback=1", data={})
    assert unsigned.status_code == 403
