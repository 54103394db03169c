"""Each IVR branch through the webhooks, with the TwiML parsed as Twilio would read it."""

from __future__ import annotations

import xml.etree.ElementTree as ET
from datetime import datetime, timedelta
from urllib.parse import parse_qs, urlsplit
from zoneinfo import ZoneInfo

import pytest
from sqlalchemy import func, select

from callcenter.services import Services
from handlers.lookup import hash_pin
from handlers.models import Complaint
from ivr.models import Call, CallbackTask, CallStep, StatusLookup
from queues.models import QueuedCall
from tests.conftest import PUBLIC_BASE_URL, TwilioSigner, call_params

SHANGHAI = ZoneInfo("Asia/Shanghai")
IN_HOURS = datetime(2026, 11, 23, 10, 30, tzinfo=SHANGHAI)
AFTER_HOURS = datetime(2026, 11, 23, 22, 15, tzinfo=SHANGHAI)
CALLER = "+8613800000001"


@pytest.fixture
def clock(app_services: Services, monkeypatch: pytest.MonkeyPatch):  # type: ignore[no-untyped-def]
    class Clock:
        now = IN_HOURS

        def set(self, moment: datetime) -> None:
            self.now = moment

    fixed = Clock()
    monkeypatch.setattr(app_services, "clock", lambda: fixed.now)
    return fixed


def twiml(response) -> ET.Element:  # type: ignore[no-untyped-def]
    assert response.status_code == 200, response.data
    assert response.mimetype == "text/xml"
    root = ET.fromstring(response.data)
    assert root.tag == "Response"
    return root


def spoken(root: ET.Element) -> str:
    return " ".join(element.text or "" for element in root.iter("Say"))


def local_path(url: str) -> str:
    assert url.startswith(PUBLIC_BASE_URL), url
    return url[len(PUBLIC_BASE_URL):]


def gather_action(root: ET.Element) -> str:
    gather = root.find("./Gather")
    assert gather is not None, ET.tostring(root)
    redirect = root.find("./Redirect")
    assert redirect is not None and redirect.text == gather.get("action")
    return local_path(gather.get("action", ""))


def press(twilio: TwilioSigner, action: str, digits: str, **extra: str) -> ET.Element:
    return twiml(twilio.post(action, call_params(Digits=digits, **extra)))


def count(app_services: Services, model) -> int:  # type: ignore[no-untyped-def]
    with app_services.database.session() as session:
        return int(session.scalar(select(func.count()).select_from(model)) or 0)


def add_complaint(app_services: Services, number: str, caller: str = CALLER, stage: str = "handle",
                  pin: str = "246810", created: datetime = IN_HOURS, result: str = "") -> None:
    with app_services.database.session() as session:
        session.add(Complaint(
            number=number, caller_number=caller, stage=stage, result=result,
            query_pin_hash=hash_pin("test-secret", number, pin), created_at=created,
            expected_completion_at=created + timedelta(days=10)))


def test_welcome_menu_in_hours(twilio, clock) -> None:  # type: ignore[no-untyped-def]
    root = twiml(twilio.post("/voice/incoming", call_params()))
    gather = root.find("./Gather")
    assert gather is not None
    assert gather.get("numDigits") == "1"
    assert gather.get("input") == "dtmf speech"
    assert gather.get("language") == "cmn-CN" and "投诉" in gather.get("hints", "")
    say = gather.find("./Say")
    assert say is not None and say.get("language") == "cmn-CN"
    assert "欢迎致电" in spoken(root) and "投诉请按2" in spoken(root)
    assert parse_qs(urlsplit(gather.get("action", "")).query) == {
        "node": ["main"], "attempt": ["1"]}


def test_after_hours_greeting_offers_voicemail_and_lookup(  # type: ignore[no-untyped-def]
        twilio, clock) -> None:
    clock.set(AFTER_HOURS)
    root = twiml(twilio.post("/voice/incoming", call_params()))
    text = spoken(root)
    assert "非人工服务时间" in text and "09:00" in text and "21:00" in text
    assert "留言请按1" in text and "查询投诉处理结果请按4" in text
    assert "node=after_hours" in gather_action(root)


@pytest.mark.parametrize(("digit", "skill", "priority"), [
    ("1", "inquiry", 100), ("2", "complaint", 200), ("3", "repair", 150)])
def test_keys_one_to_three_enter_the_skill_queue(twilio, clock, app_services, digit, skill,  # type: ignore[no-untyped-def]
                                                 priority) -> None:
    action = gather_action(twiml(twilio.post("/voice/incoming", call_params())))
    root = press(twilio, action, digit)
    enqueue = root.find("./Enqueue")
    assert enqueue is not None and enqueue.text == f"hold-{skill}"
    assert local_path(enqueue.get("waitUrl", "")) == f"/queue/wait?skill={skill}"
    with app_services.database.session() as session:
        queued = session.scalar(select(QueuedCall))
        assert queued is not None
        assert (queued.skill, queued.priority, queued.status) == (skill, priority, "waiting")
        call = session.scalar(select(Call))
        assert call is not None and call.outcome == f"queued:{skill}"


def test_wrong_keys_reprompt_then_go_to_the_inquiry_queue(  # type: ignore[no-untyped-def]
        twilio, clock, app_services, call_journal) -> None:
    action = gather_action(twiml(twilio.post("/voice/incoming", call_params())))
    first = press(twilio, action, "7")
    assert "没有听清" in spoken(first)
    second = twiml(twilio.post(gather_action(first), call_params()))  # silence
    assert "attempt=3" in gather_action(second)
    third = press(twilio, gather_action(second), "*")
    assert third.find("./Enqueue") is not None and third.findtext("./Enqueue") == "hold-inquiry"
    call_journal.ship()
    with app_services.database.session() as session:
        path = [(s.node, s.caller_input, s.outcome) for s in session.scalars(
            select(CallStep).order_by(CallStep.id))]
    assert path == [("incoming", "", "main"), ("main", "dtmf:7", "reprompt"),
                    ("main", "none", "reprompt"), ("main", "dtmf:*", "give_up")]


def test_failures_after_hours_end_in_voicemail(  # type: ignore[no-untyped-def]
        twilio, clock) -> None:
    clock.set(AFTER_HOURS)
    root = twiml(twilio.post("/voice/incoming", call_params()))
    for _ in range(3):
        root = press(twilio, gather_action(root), "8")
    record = root.find("./Record")
    assert record is not None
    assert record.get("finishOnKey") == "#" and record.get("maxLength") == "120"


def test_voicemail_becomes_a_callback_task_due_at_opening(  # type: ignore[no-untyped-def]
        twilio, clock, app_services) -> None:
    clock.set(AFTER_HOURS)
    root = press(twilio, gather_action(twiml(twilio.post("/voice/incoming", call_params()))), "1")
    record = root.find("./Record")
    assert record is not None
    assert local_path(record.get("recordingStatusCallback", "")) == (
        "/recordings/status?kind=voicemail")
    done = twiml(twilio.post(local_path(record.get("action", "")), call_params(
        RecordingSid="RE" + "1" * 32, RecordingDuration="14",
        RecordingUrl="https://api.twilio.com/2010-04-01/Accounts/AC1/Recordings/RE1")))
    assert "留言已收到" in spoken(done) and "11月24日09:00" in spoken(done)
    assert done.find("./Hangup") is not None
    with app_services.database.session() as session:
        task = session.scalar(select(CallbackTask))
        assert task is not None
        assert (task.caller_number, task.reason, task.has_message) == (CALLER, "voicemail", True)
        assert task.recording_sid == "RE" + "1" * 32
        assert task.due_at == datetime(2026, 11, 24, 9, tzinfo=SHANGHAI)
        assert "after_hours:dtmf:1" in task.menu_path


def test_empty_voicemail_keeps_a_record_that_the_caller_called(  # type: ignore[no-untyped-def]
        twilio, clock, app_services) -> None:
    clock.set(AFTER_HOURS)
    twilio.post("/voice/incoming", call_params())
    done = twiml(twilio.post("/ivr/voicemail", call_params(RecordingDuration="0")))
    assert "没有收到您的留言" in spoken(done)
    twiml(twilio.post("/ivr/voicemail", call_params(RecordingDuration="0")))
    with app_services.database.session() as session:
        tasks = list(session.scalars(select(CallbackTask)))
        assert [(t.reason, t.has_message, t.recording_sid) for t in tasks] == [
            ("voicemail_empty", False, None)]
        call = session.scalar(select(Call))
        assert call is not None and call.outcome == "voicemail_empty"


def test_line_without_menu_goes_straight_to_the_queue(  # type: ignore[no-untyped-def]
        app, twilio, clock, monkeypatch) -> None:
    from dataclasses import replace

    config = app.extensions["ivr"]
    monkeypatch.setitem(app.extensions, "ivr", replace(config, menu_enabled=False))
    root = twiml(twilio.post("/voice/incoming", call_params()))
    assert root.find("./Gather") is None
    assert root.findtext("./Enqueue") == "hold-inquiry"
    clock.set(AFTER_HOURS)
    night = twiml(twilio.post("/voice/incoming", call_params(CallSid="CA" + "b" * 32)))
    assert "node=after_hours" in gather_action(night)


def test_caller_with_an_open_complaint_hears_it_first(  # type: ignore[no-untyped-def]
        twilio, clock, app_services) -> None:
    add_complaint(app_services, "2611230001")
    root = twiml(twilio.post("/voice/incoming", call_params()))
    assert "尚未办结的投诉" in spoken(root)
    action = gather_action(root)
    twilio.post(action, call_params(Digits="2"))
    with app_services.database.session() as session:
        queued = session.scalar(select(QueuedCall))
        assert queued is not None and queued.priority == 300
    other = twiml(twilio.post("/voice/incoming", call_params(
        CallSid="CA" + "c" * 32, From="+8613900000009")))
    assert "尚未办结的投诉" not in spoken(other)


def test_lookup_by_caller_id_reads_own_complaints_newest_first(  # type: ignore[no-untyped-def]
        twilio, clock, app_services) -> None:
    for day, number in enumerate(["2611010001", "2611020002", "2611030003", "2611040004"]):
        add_complaint(app_services, number, created=IN_HOURS - timedelta(days=30 - day))
    add_complaint(app_services, "2611059999", caller="+8613900000009")
    root = press(twilio, gather_action(twiml(twilio.post("/voice/incoming", call_params()))), "4")
    text = spoken(root)
    assert "3件" in text
    assert text.index("2 6 1 1 0 4 0 0 0 4") < text.index("2 6 1 1 0 3 0 0 0 3")
    assert "2 6 1 1 0 1 0 0 0 1" not in text  # at most three
    assert "9 9 9 9" not in text  # never another caller's
    assert "node=lookup_menu" in gather_action(root)
    with app_services.database.session() as session:
        log = session.scalar(select(StatusLookup))
        assert log is not None and (log.method, log.outcome) == ("caller_id", "found:3")


def test_lookup_of_a_closed_complaint_tells_the_result(  # type: ignore[no-untyped-def]
        twilio, clock, app_services) -> None:
    add_complaint(app_services, "2611230001", stage="archive", result="已为您办理退款")
    root = press(twilio, gather_action(twiml(twilio.post("/voice/incoming", call_params()))), "4")
    assert "已办结" in spoken(root) and "已为您办理退款" in spoken(root)


def _key_number_and_pin(twilio: TwilioSigner, number: str, pin: str, from_: str) -> ET.Element:
    params = {"From": from_}
    root = twiml(twilio.post("/ivr/menu?node=lookup_menu&attempt=1", call_params(
        Digits="1", **params)))
    root = twiml(twilio.post(gather_action(root), call_params(Digits=number + "#", **params)))
    assert "查询密码" in spoken(root)
    return twiml(twilio.post(gather_action(root), call_params(Digits=pin + "#", **params)))


def test_lookup_by_number_and_pin_from_another_phone(  # type: ignore[no-untyped-def]
        twilio, clock, app_services) -> None:
    add_complaint(app_services, "2611230001", caller="+8613700000000")
    root = _key_number_and_pin(twilio, "2611230001", "246810", CALLER)
    assert "正在处理中" in spoken(root) and "预计12月3日前办结" in spoken(root)


def test_wrong_pin_and_unknown_number_sound_the_same(  # type: ignore[no-untyped-def]
        twilio, clock, app_services) -> None:
    add_complaint(app_services, "2611230001", caller="+8613700000000")
    wrong_pin = _key_number_and_pin(twilio, "2611230001", "000000", CALLER)
    unknown = _key_number_and_pin(twilio, "2699999999", "246810", "+8613600000000")
    assert spoken(wrong_pin) == spoken(unknown)
    assert "未查询到" in spoken(wrong_pin) and "2 6 1 1" not in spoken(wrong_pin)


def test_lookups_lock_out_after_repeated_failures(  # type: ignore[no-untyped-def]
        twilio, clock, app_services) -> None:
    add_complaint(app_services, "2611230001", caller="+8613700000000")
    for _ in range(5):
        _key_number_and_pin(twilio, "2611230001", "111111", CALLER)
    # This phone is now locked out, even with the right PIN.
    locked = _key_number_and_pin(twilio, "2611230001", "246810", CALLER)
    assert "查询次数过多" in spoken(locked)
    # Another phone with the right PIN: the complaint itself is locked, and it says nothing.
    other = _key_number_and_pin(twilio, "2611230001", "246810", "+8613600000000")
    assert "未查询到" in spoken(other) and "正在处理" not in spoken(other)
    with app_services.database.session() as session:
        outcomes = [log.outcome for log in session.scalars(
            select(StatusLookup).order_by(StatusLookup.id))]
    assert outcomes == ["denied"] * 5 + ["locked", "denied"]


@pytest.mark.parametrize("params", [
    {"CallSid": ""}, {"Digits": "9" * 5000}, {"SpeechResult": "投诉" * 5000},
    {"Digits": "\x00\x01"}, {"UnknownParam": "x", "Foo": "bar"}, {"From": "+86" + "1" * 500},
    {"CallSid": "../../etc/passwd"},
])
def test_absurd_input_gets_sensible_twiml(  # type: ignore[no-untyped-def]
        twilio, clock, params) -> None:
    for path in ("/voice/incoming", "/ivr/menu?node=main&attempt=1",
                 "/ivr/menu?node=nowhere&attempt=x", "/ivr/voicemail",
                 "/ivr/menu?node=lookup_pin&attempt=1&number=abc"):
        root = twiml(twilio.post(path, call_params(**params)))
        assert len(root) > 0


def test_an_internal_failure_still_answers_twiml(  # type: ignore[no-untyped-def]
        twilio, clock, monkeypatch) -> None:
    from ivr import flow

    def broken(*args: object, **kwargs: object) -> None:
        raise RuntimeError("database on fire")

    monkeypatch.setattr(flow, "answer", broken)
    root = twiml(twilio.post("/ivr/menu?node=main&attempt=1", call_params(Digits="2")))
    assert "系统繁忙" in spoken(root) and root.find("./Record") is not None


def test_fallback_url_takes_a_message(twilio, clock) -> None:  # type: ignore[no-untyped-def]
    root = twiml(twilio.post("/voice/fallback", call_params(ErrorCode="11200")))
    assert root.find("./Record") is not None


def test_hold_announces_position_and_plays_music(  # type: ignore[no-untyped-def]
        twilio, clock) -> None:
    root = twiml(twilio.post("/queue/wait?skill=complaint", call_params(
        QueuePosition="3", QueueTime="40")))
    assert "第3位" in spoken(root)
    play = root.findtext("./Play")
    assert play and local_path(play) == "/media/hold-music.wav"
    music = twilio.client.get("/media/hold-music.wav")
    assert music.status_code == 200 and music.data[:4] == b"RIFF"


@pytest.mark.parametrize(("result", "status", "voicemail"), [
    ("hangup", "abandoned", False), ("leave", "overflowed", True),
    ("bridged", "connected", False), ("queue-full", "overflowed", True)])
def test_leaving_the_queue(  # type: ignore[no-untyped-def]
        twilio, clock, app_services, result, status, voicemail) -> None:
    press(twilio, gather_action(twiml(twilio.post("/voice/incoming", call_params()))), "2")
    root = twiml(twilio.post("/queue/left?skill=complaint", call_params(QueueResult=result)))
    assert (root.find("./Record") is not None) is voicemail
    with app_services.database.session() as session:
        queued = session.scalar(select(QueuedCall))
        assert queued is not None and queued.status == status


def test_hanging_up_on_hold_counts_as_abandoned(  # type: ignore[no-untyped-def]
        twilio, clock, app_services) -> None:
    press(twilio, gather_action(twiml(twilio.post("/voice/incoming", call_params()))), "3")
    twilio.post("/voice/status", call_params(CallStatus="completed", CallDuration="95"))
    with app_services.database.session() as session:
        queued = session.scalar(select(QueuedCall))
        assert queued is not None and queued.status == "abandoned"
        assert queued.left_at is not None
    assert count(app_services, Call) == 1
