"""<Dial> to seats: recorded dual-channel calls, action parameters, busy/no-answer, whisper."""

from __future__ import annotations

import io
import wave

import requests
from twilio.twiml.voice_response import Dial

from twilio_standin import CallScript, SeatBehaviour, hangup, press, wait

from .conftest import ACCOUNT_SID, AUTH_TOKEN, CALLER, NUMBER


def dial_app(app, *, record="record-from-answer-dual", timeout=20, noun_url=None):
    def voice(r, hit):
        r.say("正在为您接通坐席。")
        d = Dial(action="/dial-done", record=record, timeout=timeout,
                 recording_status_callback="/dial-recording", caller_id="+864001234567")
        d.client("seat-7", status_callback="/seat-status",
                 status_callback_event="initiated ringing answered completed",
                 **({"url": noun_url} if noun_url else {}))
        r.append(d)
        r.say("这句不会播放。")

    app.twiml("/voice", voice)
    app.twiml("/dial-done", lambda r, hit: r.say(f"通话状态{hit.form['DialCallStatus']}"))


def test_answered_dial_is_recorded_in_two_channels(app, standin):
    dial_app(app)
    standin.seats["client:seat-7"] = SeatBehaviour(answer_after=4, talk_for=30)
    result = standin.call(CALLER, NUMBER, CallScript([]), timeout=10)

    assert result.ok, result.error
    done = app.hits_for("/dial-done")[0].form
    assert done["DialCallStatus"] == "completed"
    assert done["DialCallDuration"] == "30"
    assert done["DialBridged"] == "true"
    assert done["DialCallSid"].startswith("CA") and done["DialCallSid"] != result.sid
    recording_status = app.hits_for("/dial-recording")[0].form
    assert recording_status["RecordingStatus"] == "completed"
    assert recording_status["RecordingChannels"] == "2"
    assert recording_status["RecordingSource"] == "DialVerb"
    assert recording_status["RecordingDuration"] == "30"
    assert done["RecordingUrl"] == recording_status["RecordingUrl"]
    assert result.said() == ["正在为您接通坐席。", "通话状态completed"]
    dial = result.events("dial")[-1]
    assert dial.data["status"] == "completed" and dial.data["duration"] == 30
    assert result.events("bridge")[-1].data["ended_by"] == "seat"
    # 2.25 s prompt + 4 s ringing + 30 s talk + 1.585 s closing prompt
    assert result.duration == 38

    media = requests.get(recording_status["RecordingUrl"], auth=(ACCOUNT_SID, AUTH_TOKEN),
                         timeout=5)
    with wave.open(io.BytesIO(media.content)) as wav:
        assert wav.getnchannels() == 2
        assert wav.getframerate() == 8000
        assert wav.getsampwidth() == 2
        assert wav.getnframes() == 30 * 8000


def test_seat_status_callbacks_follow_the_child_call(app, standin):
    dial_app(app)
    standin.seats["client:seat-7"] = SeatBehaviour(answer_after=2, talk_for=10)
    result = standin.call(CALLER, NUMBER, CallScript([]), timeout=10)

    statuses = [h.form["CallStatus"] for h in app.hits_for("/seat-status")]
    assert statuses == ["initiated", "ringing", "in-progress", "completed"]
    last = app.hits_for("/seat-status")[-1].form
    assert last["ParentCallSid"] == result.sid
    assert last["To"] == "client:seat-7"
    assert last["From"] == "+864001234567"
    assert last["Direction"] == "outbound-dial"
    assert last["CallDuration"] == "10"


def test_unknown_seat_rings_out(app, standin):
    dial_app(app, timeout=15)
    result = standin.call(CALLER, NUMBER, CallScript([]), timeout=10)

    done = app.hits_for("/dial-done")[0].form
    assert done["DialCallStatus"] == "no-answer"
    assert done["DialBridged"] == "false"
    assert "DialCallDuration" not in done
    assert "RecordingUrl" not in done
    assert app.hits_for("/dial-recording") == []
    assert standin.recordings == []
    assert result.said()[-1] == "通话状态no-answer"
    assert result.duration == 19  # 2.25 s prompt + 15 s ringing + closing prompt


def test_seat_answering_after_the_timeout_is_no_answer(app, standin):
    dial_app(app, timeout=5)
    standin.seats["client:seat-7"] = SeatBehaviour(answer_after=8)
    standin.call(CALLER, NUMBER, CallScript([]), timeout=10)
    assert app.hits_for("/dial-done")[0].form["DialCallStatus"] == "no-answer"


def test_busy_seat(app, standin):
    dial_app(app)
    standin.seats["client:seat-7"] = SeatBehaviour(busy=True)
    standin.call(CALLER, NUMBER, CallScript([]), timeout=10)
    assert app.hits_for("/dial-done")[0].form["DialCallStatus"] == "busy"


def test_caller_hangs_up_while_talking(app, standin):
    dial_app(app, record="record-from-answer")
    standin.seats["client:seat-7"] = SeatBehaviour(answer_after=1, talk_for=100)
    result = standin.call(CALLER, NUMBER, CallScript([wait(13.25), hangup()]), timeout=10)

    assert result.hung_up_by == "caller"
    done = app.hits_for("/dial-done")[0].form
    assert done["DialCallStatus"] == "completed"
    assert done["DialCallDuration"] == "10"  # answered at 3.25 s, caller left at 13.25 s
    assert done["CallStatus"] == "completed"
    assert app.hits_for("/dial-recording")[0].form["RecordingChannels"] == "1"
    assert "通话状态completed" not in result.said()


def test_dial_number_as_text_and_without_action(app, standin):
    def voice(r, hit):
        r.dial("+8613912345678", timeout=10)
        r.say("坐席已挂机。")

    app.twiml("/voice", voice)
    standin.seats["number:+8613912345678"] = SeatBehaviour(answer_after=1, talk_for=5)
    result = standin.call(CALLER, NUMBER, CallScript([]), timeout=10)
    assert result.said() == ["坐席已挂机。"]
    assert result.events("dial")[-1].data["targets"] == ["+8613912345678"]


def test_whisper_lets_the_seat_decline(app, standin):
    dial_app(app, noun_url="/whisper")

    def whisper(r, hit):
        g = r.gather(num_digits=1, action="/whisper-choice", timeout=3)
        g.say("来电来自热线，接听请按1。")
        r.hangup()

    app.twiml("/whisper", whisper)
    app.twiml("/whisper-choice", lambda r, hit: r.say("接通中") if hit.form["Digits"] == "1"
              else r.hangup())
    standin.seats["client:seat-7"] = SeatBehaviour(answer_after=1, talk_for=5,
                                                    whisper=CallScript([press("2")]))
    result = standin.call(CALLER, NUMBER, CallScript([]), timeout=10)

    assert app.hits_for("/whisper")[0].form["ParentCallSid"] == result.sid
    assert app.hits_for("/dial-done")[0].form["DialCallStatus"] == "no-answer"
    assert result.events("say", leg="seat")[0].data["text"] == "来电来自热线，接听请按1。"


def test_whisper_accepted_connects(app, standin):
    dial_app(app, noun_url="/whisper")

    def whisper(r, hit):
        g = r.gather(num_digits=1, action="/whisper-choice", timeout=3)
        g.say("接听请按1。")
        r.hangup()

    app.twiml("/whisper", whisper)
    app.twiml("/whisper-choice", lambda r, hit: r.say("接通中"))
    standin.seats["client:seat-7"] = SeatBehaviour(answer_after=1, talk_for=5,
                                                    whisper=CallScript([press("1")]))
    standin.call(CALLER, NUMBER, CallScript([]), timeout=10)
    done = app.hits_for("/dial-done")[0].form
    assert done["DialCallStatus"] == "completed"
    assert done["DialCallDuration"] == "5"


def test_caller_hanging_up_while_ringing_cancels(app, standin):
    dial_app(app)
    standin.seats["client:seat-7"] = SeatBehaviour(answer_after=15)
    result = standin.call(CALLER, NUMBER, CallScript([wait(5), hangup()]), timeout=10)
    done = app.hits_for("/dial-done")[0].form
    assert done["DialCallStatus"] == "canceled"
    assert done["CallStatus"] == "completed"
    assert result.hung_up_by == "caller"
    assert app.hits_for("/seat-status")[-1].form["CallStatus"] == "canceled"


def test_seat_leg_hung_up_through_the_api(app, standin, client):
    dial_app(app, record="do-not-record")
    standin.seats["client:seat-7"] = SeatBehaviour(answer_after=1, talk_for=500)
    handle = standin.start_call(CALLER, NUMBER, CallScript([]))
    assert standin.wait_for_event(handle.sid, "bridge")
    seat_sid = handle.transcript.events("dial")[0].data["call_sid"]
    assert client.calls(seat_sid).fetch().status == "in-progress"
    assert client.calls(seat_sid).fetch().parent_call_sid == handle.sid
    client.calls(seat_sid).update(status="completed")
    result = handle.wait(10)
    assert result.events("bridge")[-1].data["ended_by"] == "rest"
    assert result.said()[-1] == "通话状态completed"
    assert client.calls(seat_sid).fetch().status == "completed"
