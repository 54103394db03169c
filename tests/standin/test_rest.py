"""The REST API through the real Twilio SDK: outbound calls, SMS, call control, errors."""

from __future__ import annotations

import pytest
import requests
from twilio.base.exceptions import TwilioRestException
from twilio.rest import Client

from twilio_standin import CallScript, CallStatus, press, rewrite_twilio_url, standin_http_client

from .conftest import ACCOUNT_SID, CALLER, NUMBER, PUBLIC


def test_sdk_urls_are_rewritten_to_the_stand_in():
    url = "https://api.twilio.com/2010-04-01/Accounts/AC1/Calls.json?PageSize=5"
    assert rewrite_twilio_url(url, "http://127.0.0.1:9999") == (
        "http://127.0.0.1:9999/2010-04-01/Accounts/AC1/Calls.json?PageSize=5")
    assert rewrite_twilio_url("https://example.com/x", "http://h") == "https://example.com/x"


def test_outbound_call_created_with_the_sdk(app, standin, client):
    app.twiml("/outbound", lambda r, hit: r.gather(num_digits=1, action="/confirm").say(
        "您有一个待确认的预约，确认请按1。"))
    app.twiml("/confirm", lambda r, hit: r.say("已确认"))
    callee = standin.expect_call("+8613811112222", CallScript([press("1")]), answer_after=5)
    call = client.calls.create(to="+8613811112222", from_=NUMBER, url=f"{PUBLIC}/outbound",
                               status_callback=f"{PUBLIC}/status",
                               status_callback_event=["initiated", "ringing", "answered",
                                                      "completed"])
    assert call.sid.startswith("CA")
    assert call.status == "queued"
    assert call.direction == "outbound-api"
    result = callee.wait(10)

    assert result.ok, result.error
    assert result.sid == call.sid
    assert result.said() == ["您有一个待确认的预约，确认请按1。", "已确认"]
    first = app.hits_for("/outbound")[0].form
    assert first["Direction"] == "outbound-api"
    assert first["CallStatus"] == "in-progress"
    assert first["To"] == "+8613811112222"
    statuses = [h.form["CallStatus"] for h in app.hits_for("/status")]
    assert statuses == ["initiated", "ringing", "in-progress", "completed"]
    assert [h.form["SequenceNumber"] for h in app.hits_for("/status")] == ["0", "1", "2", "3"]
    fetched = client.calls(call.sid).fetch()
    assert fetched.status == "completed"
    assert fetched.duration == str(result.duration)
    assert fetched.start_time is not None and fetched.end_time is not None


def test_unexpected_callee_does_not_answer(app, standin, client):
    call = client.calls.create(to="+8613800009999", from_=NUMBER, url=f"{PUBLIC}/outbound",
                               status_callback=f"{PUBLIC}/status", timeout=20)
    handle = standin.handle(call.sid)
    result = handle.wait(10)
    assert result.status is CallStatus.NO_ANSWER
    assert app.hits_for("/outbound") == []
    status = app.hits_for("/status")[0].form
    assert status["CallStatus"] == "no-answer"
    assert status["CallDuration"] == "0"


def test_outbound_call_with_inline_twiml(app, standin, client):
    callee = standin.expect_call("+8613811113333", answer_after=1)
    client.calls.create(to="+8613811113333", from_=NUMBER,
                        twiml="<Response><Say>您好，这是一条通知。</Say></Response>")
    result = callee.wait(10)
    assert result.said() == ["您好，这是一条通知。"]


def test_canceling_a_ringing_outbound_call(app, standin, client):
    standin.expect_call("+8613811114444", answer_after=50)
    call = client.calls.create(to="+8613811114444", from_=NUMBER, url=f"{PUBLIC}/outbound")
    updated = client.calls(call.sid).update(status="canceled")
    assert updated.status == "canceled"
    assert app.hits_for("/outbound") == []


def test_sms_through_the_sdk(app, standin, client):
    message = client.messages.create(to=CALLER, from_=NUMBER, body="您的工单号是 A123。",
                                     status_callback=f"{PUBLIC}/sms-status")
    assert message.sid.startswith("SM")
    assert message.status == "queued"
    assert message.body == "您的工单号是 A123。"
    assert [m.body for m in standin.messages] == ["您的工单号是 A123。"]
    assert standin.messages[0].to == CALLER
    standin.stop()  # joins the delivery thread
    assert [h.form["MessageStatus"] for h in app.hits_for("/sms-status")] == ["sent",
                                                                            "delivered"]
    assert app.hits_for("/sms-status")[0].form["MessageSid"] == message.sid


def test_sms_without_body_is_refused(standin, client):
    with pytest.raises(TwilioRestException) as caught:
        client.messages.create(to=CALLER, from_=NUMBER)
    assert caught.value.status == 400
    assert caught.value.code == 21602


def test_wrong_credentials_get_a_twilio_401(standin):
    http = standin_http_client(standin.base_url)
    try:
        with pytest.raises(TwilioRestException) as caught:
            Client(ACCOUNT_SID, "wrong-token", http_client=http).calls("CA" + "0" * 32).fetch()
    finally:
        http.close()
    assert caught.value.status == 401
    assert caught.value.code == 20003
    bare = requests.get(f"{standin.base_url}/2010-04-01/Accounts/{ACCOUNT_SID}/Calls/"
                        f"CA{'0' * 32}.json", timeout=5)
    assert bare.status_code == 401
    assert bare.json()["message"] == "Authenticate"
    assert bare.headers["WWW-Authenticate"].startswith("Basic")


def test_unknown_call_is_404(standin, client):
    with pytest.raises(TwilioRestException) as caught:
        client.calls("CA" + "f" * 32).fetch()
    assert caught.value.status == 404
    assert caught.value.code == 20404


def test_updating_an_ended_call_is_21220(app, standin, client):
    app.twiml("/voice", lambda r, hit: r.say("再见"))
    result = standin.call(CALLER, NUMBER, CallScript([]), timeout=10)
    with pytest.raises(TwilioRestException) as caught:
        client.calls(result.sid).update(url=f"{PUBLIC}/voice")
    assert caught.value.status == 400
    assert caught.value.code == 21220


def test_rest_hangup_of_a_live_call(app, standin, client):
    app.twiml("/voice", lambda r, hit: r.pause(length=600))
    handle = standin.start_call(CALLER, NUMBER, CallScript([]))
    assert standin.wait_for_event(handle.sid, "pause")
    updated = client.calls(handle.sid).update(status="completed")
    assert updated.status == "completed"
    result = handle.wait(10)
    assert result.hung_up_by == "rest"
    assert result.status is CallStatus.COMPLETED


def test_rest_redirect_with_inline_twiml_interrupts_a_say(app, standin, client):
    app.twiml("/voice", lambda r, hit: r.say("很长的公告" * 50))
    handle = standin.start_call(CALLER, NUMBER, CallScript([]))
    assert standin.wait_for_event(handle.sid, "say")
    client.calls(handle.sid).update(twiml="<Response><Say>紧急通知</Say></Response>")
    result = handle.wait(10)
    assert result.said()[-1] == "紧急通知"
    assert result.duration < 60  # the long announcement (62.5 s) was cut short


def test_pausing_a_dial_recording(app, standin, client):
    from twilio.twiml.voice_response import Dial

    def voice(r, hit):
        d = Dial(record="record-from-answer")
        d.client("seat-7")
        r.append(d)

    app.twiml("/voice", voice)
    from twilio_standin import SeatBehaviour

    standin.seats["client:seat-7"] = SeatBehaviour(answer_after=0, talk_for=400)
    handle = standin.start_call(CALLER, NUMBER, CallScript([]))
    assert standin.wait_for_event(handle.sid, "bridge")
    recording = client.calls(handle.sid).recordings("Twilio.CURRENT").update(status="paused")
    assert recording.status == "paused"
    client.calls(handle.sid).recordings(recording.sid).update(status="in-progress")
    client.calls(handle.sid).update(status="completed")
    handle.wait(10)
    stored = standin.recording(recording.sid)
    assert [status for _, status in stored.history] == ["paused", "in-progress"]
    assert stored.status.value == "completed"
    metadata = client.recordings(recording.sid).fetch()
    assert metadata.call_sid == handle.sid
    assert metadata.channels == 1
    assert metadata.source == "DialVerb"
    assert metadata.duration == str(stored.duration)
