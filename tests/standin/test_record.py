"""<Record>: action, recording status callback, hang-up during recording, empty recordings."""

from __future__ import annotations

from twilio_standin import CallScript, hangup, press, silence, speak

from .conftest import ACCOUNT_SID, CALLER, NUMBER


def voicemail(app, **attrs):
    def build(r, hit):
        r.say("请在提示音后留言。")
        r.record(action="/recorded", max_length=60, timeout=5,
                 recording_status_callback="/recording-status", **attrs)
        r.say("没有录到留言。")

    app.twiml("/voice", build)
    app.twiml("/recorded", lambda r, hit: r.say("留言已收到。"))


def test_recording_reaches_action_and_status_callback(app, standin):
    voicemail(app)
    result = standin.call(CALLER, NUMBER, CallScript([speak(8)]), timeout=10)

    assert result.ok, result.error
    action = app.hits_for("/recorded")[0].form
    sid = action["RecordingSid"]
    assert sid.startswith("RE") and len(sid) == 34
    assert action["RecordingDuration"] == "8"
    assert action["Digits"] == ""
    assert action["RecordingUrl"] == (
        f"{standin.base_url}/2010-04-01/Accounts/{ACCOUNT_SID}/Recordings/{sid}")
    status = app.hits_for("/recording-status")[0].form
    assert status["RecordingStatus"] == "completed"
    assert status["RecordingSid"] == sid
    assert status["RecordingDuration"] == "8"
    assert status["RecordingChannels"] == "1"
    assert status["RecordingSource"] == "RecordVerb"
    assert status["CallSid"] == result.sid
    assert result.said() == ["请在提示音后留言。", "留言已收到。"]
    assert result.recording_sids == [sid]
    assert standin.recording(sid).duration == 8
    assert [e.kind.value for e in result.events()][:4] == ["webhook", "say", "beep", "record"]


def test_do_not_trim_keeps_the_trailing_silence(app, standin):
    voicemail(app, trim="do-not-trim")
    standin.call(CALLER, NUMBER, CallScript([speak(8)]), timeout=10)
    assert app.hits_for("/recorded")[0].form["RecordingDuration"] == "13"


def test_max_length_cuts_the_recording(app, standin):
    voicemail(app)
    standin.call(CALLER, NUMBER, CallScript([speak(75)]), timeout=10)
    assert app.hits_for("/recorded")[0].form["RecordingDuration"] == "60"


def test_finish_on_key_ends_the_recording(app, standin):
    voicemail(app, finish_on_key="#")
    result = standin.call(CALLER, NUMBER, CallScript([press("#")]), timeout=10)
    # Nothing was said before the key: the recording is empty, so no request is made.
    assert app.hits_for("/recorded") == []
    assert result.said()[-1] == "没有录到留言。"


def test_hangup_during_record_still_posts_the_action(app, standin):
    voicemail(app)
    result = standin.call(CALLER, NUMBER, CallScript([speak(6, then_hangup=True)]), timeout=10)

    assert result.hung_up_by == "caller"
    action = app.hits_for("/recorded")[0].form
    assert action["Digits"] == "hangup"
    assert action["RecordingDuration"] == "6"
    assert action["CallStatus"] == "completed"
    assert app.hits_for("/recording-status")[0].form["RecordingStatus"] == "completed"
    assert "留言已收到。" not in result.said()  # the action's TwiML is not played


def test_rest_hangup_during_record(app, standin, client):
    voicemail(app)
    handle = standin.start_call(CALLER, NUMBER, CallScript([speak(300)]))
    assert standin.wait_for_event(handle.sid, "beep")
    client.calls(handle.sid).update(status="completed")
    result = handle.wait(10)

    assert result.hung_up_by == "rest"
    action = app.hits_for("/recorded")[0].form
    assert action["Digits"] == "hangup"
    assert 0 < int(action["RecordingDuration"]) < 300


def test_silent_caller_gives_an_empty_recording(app, standin):
    voicemail(app, recording_status_callback_event="completed absent")
    result = standin.call(CALLER, NUMBER, CallScript([silence()]), timeout=10)

    assert app.hits_for("/recorded") == []
    assert result.said()[-1] == "没有录到留言。"
    assert result.events("record")[0].data["outcome"] == "empty"
    absent = app.hits_for("/recording-status")[0].form
    assert absent["RecordingStatus"] == "absent"
    assert absent["ErrorCode"] == "16101"
    assert standin.recordings == []


def test_scripted_hangup_before_recording(app, standin):
    voicemail(app)
    result = standin.call(CALLER, NUMBER, CallScript([hangup(after_hearing="留言")]),
                          timeout=10)
    assert result.hung_up_by == "caller"
    assert result.events("record") == []
    assert app.hits_for("/recorded") == []
