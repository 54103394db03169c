"""The hold-queue and seat-leg webhooks, with the TwiML parsed as Twilio would read it."""

from __future__ import annotations

import xml.etree.ElementTree as ET
from urllib.parse import parse_qs, urlsplit

import pytest
from redis import Redis
from rq import Queue
from sqlalchemy import select

from callcenter.jobs import ROUTING
from callcenter.services import Services
from ivr.models import CallbackTask
from queues.router import Router
from tests.conftest import PUBLIC_BASE_URL, TwilioSigner, call_params
from tests.queues.conftest import FakeTwilio
from tests.queues.routing_app import add_seat, row, sid, waiting_call

CALL = sid(1)


def twiml(response) -> ET.Element:  # type: ignore[no-untyped-def]
    assert response.status_code == 200, response.data
    assert response.mimetype == "text/xml"
    return ET.fromstring(response.data)


def spoken(root: ET.Element) -> str:
    return " ".join(element.text or "" for element in root.iter("Say"))


def query(url: str) -> dict[str, str]:
    assert url.startswith(PUBLIC_BASE_URL), url
    return {key: values[0] for key, values in parse_qs(urlsplit(url).query).items()}


def path(url: str) -> str:
    return urlsplit(url).path


def enqueued(app_services: Services) -> list[tuple[str, tuple[object, ...]]]:
    jobs = Queue(ROUTING, connection=app_services.redis).get_jobs()
    return [((job.func_name or "").rpartition(".")[2], tuple(job.args)) for job in jobs]


def wait_turn(twilio: TwilioSigner, url: str = "/queue/wait?skill=complaint",
              **form: str) -> ET.Element:
    return twiml(twilio.post(url, call_params(CALL, **form)))


def test_hold_turn_announces_position_then_plays_music_until_the_next(
        twilio: TwilioSigner, router: Router, app_services: Services) -> None:
    waiting_call(router, 0)  # ahead of ours
    waiting_call(router, 1)
    root = wait_turn(twilio, QueueTime="0", QueuePosition="5")
    assert "第2位" in spoken(root)  # from the routing index, not Twilio's first-come order
    play = root.find("./Play")
    assert play is not None and play.get("loop") == "9"  # 45 s of 5-second music
    redirect = root.find("./Redirect")
    assert redirect is not None and path(redirect.text or "") == "/queue/wait"
    state = query(redirect.text or "")
    assert state == {"skill": "complaint", "next": "45", "choice": "240"}
    quiet = wait_turn(twilio, "/queue/wait?skill=complaint&next=45&choice=240", QueueTime="20")
    assert spoken(quiet) == "" and quiet.find("./Play").get("loop") == "5"  # type: ignore[union-attr]


def test_hold_turn_tells_the_expected_wait_from_recent_handling_times(
        twilio: TwilioSigner, router: Router, app_services: Services,
        fake_twilio: FakeTwilio) -> None:
    add_seat(router, app_services, "s1")
    done = waiting_call(router, 7)
    seq = int(query(fake_twilio.redirects[0][1])["seq"])
    router.conversation_ended(done, "s1", seq, 200)
    waiting_call(router, 0)
    waiting_call(router, 1)
    root = wait_turn(twilio, QueueTime="0")
    assert "第2位" in spoken(root) and "约7分钟" in spoken(root)  # 2 x 200 s, one seat


def test_after_the_maximum_wait_the_caller_is_offered_a_way_out(
        twilio: TwilioSigner, router: Router) -> None:
    waiting_call(router, 1)
    root = wait_turn(twilio, "/queue/wait?skill=complaint&next=270&choice=240",
                     QueueTime="250")
    gather = root.find("./Gather")
    assert gather is not None and gather.get("numDigits") == "1"
    assert path(gather.get("action", "")) == "/queue/choice"
    assert "预约回电请按2" in spoken(gather)
    assert query(gather.get("action", ""))["choice"] == "490"  # asked again after 240 s more
    assert root.find("./Play") is not None  # no key: the caller keeps waiting


def test_without_the_index_the_hold_loop_goes_on_with_twilios_position(
        twilio: TwilioSigner, router: Router, app_services: Services) -> None:
    waiting_call(router, 1)
    Redis.from_url(app_services.settings.redis_url).flushdb()
    root = wait_turn(twilio, QueueTime="0", QueuePosition="3")
    assert "第3位" in spoken(root)
    assert ("rebuild_index_if_lost", ()) in enqueued(app_services)


@pytest.mark.parametrize(("digit", "hears"), [("1", "Record"), ("2", "Hangup")])
def test_way_out_leaves_the_queue_for_voicemail_or_a_callback(
        twilio: TwilioSigner, router: Router, app_services: Services, digit: str,
        hears: str) -> None:
    waiting_call(router, 1)
    root = twiml(twilio.post("/queue/choice?skill=complaint&next=290&choice=480",
                             call_params(CALL, Digits=digit)))
    assert root.find("./Leave") is not None
    assert router.index.position(CALL) is None  # no seat will be offered this caller
    assert row(router, CALL).status == "overflowed"
    after = twiml(twilio.post("/queue/left?skill=complaint",
                              call_params(CALL, QueueResult="leave", QueueTime="250")))
    assert after.find(f"./{hears}") is not None
    if digit == "2":
        assert "已为您登记回电" in spoken(after)
        with app_services.database.session() as session:
            task = session.scalar(select(CallbackTask))
            assert task is not None and task.reason == "overflow"


def test_other_keys_or_a_ringing_seat_keep_the_caller_waiting(
        twilio: TwilioSigner, router: Router, app_services: Services,
        fake_twilio: FakeTwilio) -> None:
    waiting_call(router, 1)
    stay = twiml(twilio.post("/queue/choice?skill=complaint&next=290&choice=480",
                             call_params(CALL, Digits="9")))
    redirect = stay.findtext("./Redirect") or ""
    assert path(redirect) == "/queue/wait" and query(redirect)["choice"] == "480"
    add_seat(router, app_services, "s1")
    router.seat_available("s1")
    ringing = twiml(twilio.post("/queue/choice?skill=complaint", call_params(CALL, Digits="1")))
    assert ringing.find("./Leave") is None and "正在为您接通" in spoken(ringing)
    assert row(router, CALL).status == "offered"


def test_connect_rings_the_seat_recording_both_channels(
        twilio: TwilioSigner, router: Router, app_services: Services,
        fake_twilio: FakeTwilio) -> None:
    add_seat(router, app_services, "s1")
    waiting_call(router, 1)
    url = fake_twilio.redirects[0][1]
    local = url[len(PUBLIC_BASE_URL):]
    root = twiml(twilio.post(local, call_params(CALL)))
    dial = root.find("./Dial")
    assert dial is not None
    assert dial.get("record") == "record-from-answer-dual" and dial.get("timeout") == "20"
    assert dial.get("recordingStatusCallbackEvent") == "in-progress completed absent"
    callback = dial.get("recordingStatusCallback", "")
    assert path(callback) == "/recordings/status"
    assert query(callback) == {"kind": "conversation", "seat": "s1"}
    assert path(dial.get("action", "")) == "/queue/seat-done"
    client = dial.find("./Client")
    assert client is not None and client.text == "s1"
    assert client.get("statusCallbackEvent") == "answered"
    assert query(client.get("statusCallback", ""))["call"] == CALL
    stale = twiml(twilio.post(local.replace("seq=", "seq=9"), call_params(CALL)))
    assert stale.findtext("./Enqueue") == "hold-complaint"  # not this offer: back on hold


def test_seat_leg_answer_and_end_become_routing_jobs(
        twilio: TwilioSigner, router: Router, app_services: Services,
        fake_twilio: FakeTwilio) -> None:
    twilio.post(f"/queue/seat-answered?call={CALL}&skill=complaint&seat=s1&seq=4",
                call_params("CA" + "9" * 32, CallStatus="in-progress", ParentCallSid=CALL))
    done = twiml(twilio.post("/queue/seat-done?skill=complaint&seat=s1&seq=4", call_params(
        CALL, DialCallStatus="completed", DialCallDuration="83")))
    assert "按规定时限处理" in spoken(done) and done.find("./Hangup") is not None
    missed = twiml(twilio.post("/queue/seat-done?skill=inquiry&seat=s1&seq=5", call_params(
        CALL, DialCallStatus="no-answer")))
    assert "坐席暂时未能接听" in spoken(missed) and missed.findtext("./Enqueue") == "hold-inquiry"
    gone = twiml(twilio.post("/queue/seat-done?skill=inquiry&seat=s1&seq=6", call_params(
        CALL, DialCallStatus="canceled", CallStatus="completed")))
    assert list(gone) == []
    assert enqueued(app_services) == [
        ("offer_answered", (CALL, "s1", 4)),
        ("conversation_ended", (CALL, "s1", 4, 83)),
        ("offer_unanswered", (CALL, "s1", 5)),
        ("call_ended", (CALL, None)),
    ]


def test_queue_webhooks_are_signed(twilio: TwilioSigner) -> None:
    for url in ("/queue/wait?skill=complaint", "/queue/connect?seat=s1&seq=1",
                "/queue/seat-done?seat=s1&seq=1", "/queue/choice?skill=complaint"):
        assert twilio.client.post(url, data=call_params(CALL)).status_code == 403
