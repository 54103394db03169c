"""Say, Gather (digits, speech, timeouts, finishOnKey) and Redirect, end to end."""

from __future__ import annotations

from twilio.request_validator import RequestValidator
from twilio.twiml.voice_response import Gather

from twilio_standin import CallScript, CallStatus, hangup, press, say, silence, wait

from .conftest import ACCOUNT_SID, AUTH_TOKEN, CALLER, NUMBER, PUBLIC


def menu(app, **gather_attrs):
    def build(r, hit):
        g = Gather(action="/menu", **gather_attrs)
        g.say("欢迎致电。查询请按1，投诉请按2。", voice="Polly.Zhiyu", language="cmn-CN")
        r.append(g)
        r.say("没有收到您的选择，再见。", language="cmn-CN")
        r.hangup()

    app.twiml("/voice", build)
    app.twiml("/menu", lambda r, hit: r.say(f"您按了{hit.form.get('Digits', '')}"))


def test_digits_reach_the_action_with_twilio_parameters(app, standin):
    menu(app, num_digits=1)
    result = standin.call(CALLER, NUMBER, CallScript([press("2")]), timeout=10)

    assert result.ok, result.error
    assert result.status is CallStatus.COMPLETED
    assert result.said() == ["欢迎致电。查询请按1，投诉请按2。", "您按了2"]
    assert result.pressed() == ["2"]
    first = app.hits_for("/voice")[0].form
    assert first["CallStatus"] == "ringing"
    assert first["Direction"] == "inbound"
    assert first["From"] == first["Caller"] == CALLER
    assert first["To"] == first["Called"] == NUMBER
    assert first["AccountSid"] == ACCOUNT_SID
    assert first["ApiVersion"] == "2010-04-01"
    assert first["FromCountry"] == "CN"
    action = app.hits_for("/menu")[0].form
    assert action["Digits"] == "2"
    assert action["CallStatus"] == "in-progress"
    assert action["CallSid"] == result.sid
    say_event = result.events("say")[0]
    assert say_event.data["voice"] == "Polly.Zhiyu"
    assert say_event.data["language"] == "cmn-CN"


def test_every_webhook_is_signed_for_the_public_url(app, standin):
    menu(app, num_digits=1)
    standin.call(CALLER, NUMBER, CallScript([press("1")]), timeout=10)

    validator = RequestValidator(AUTH_TOKEN)
    hits = app.hits_for("/voice") + app.hits_for("/menu") + app.hits_for("/status")
    assert len(hits) == 3
    for hit in hits:
        public = PUBLIC + hit.path
        assert validator.validate(public, hit.form, hit.headers["X-Twilio-Signature"])
        assert not validator.validate(hit.url, hit.form, hit.headers["X-Twilio-Signature"])


def test_final_status_callback_reports_duration(app, standin):
    menu(app, num_digits=1)
    result = standin.call(CALLER, NUMBER, CallScript([press("1")]), timeout=10)

    status = app.hits_for("/status")[0].form
    assert status["CallStatus"] == "completed"
    assert status["CallDuration"] == str(result.duration)
    # 3.88 s of prompt (15 CJK characters at 4/s, 2 digits), 0.2 s key, 0.815 s reply
    assert result.duration == 5
    assert status["CallbackSource"] == "call-progress-events"
    assert "Timestamp" in status


def test_multi_digit_entry_stops_at_finish_on_key(app, standin):
    menu(app, finish_on_key="#", timeout=4)
    result = standin.call(CALLER, NUMBER, CallScript([press("12345#")]), timeout=10)

    assert app.hits_for("/menu")[0].form["Digits"] == "12345"
    assert app.hits_for("/menu")[0].form["FinishedOnKey"] == "#"
    assert result.pressed() == ["12345"]


def test_num_digits_cuts_extra_keys(app, standin):
    menu(app, num_digits=3)
    standin.call(CALLER, NUMBER, CallScript([press("98765")]), timeout=10)
    assert app.hits_for("/menu")[0].form["Digits"] == "987"


def test_digits_without_finish_key_wait_for_the_timeout(app, standin):
    menu(app, timeout=3)
    result = standin.call(CALLER, NUMBER, CallScript([press("42")]), timeout=10)
    gather = result.events("gather")[0]
    assert gather.data["digits"] == "42"
    # submitted after prompt 3.88 s + two keys 0.4 s + the 3 s inter-digit timeout
    assert gather.at == 7.28
    assert result.events("webhook")[1].at == 7.28


def test_timeout_falls_through_to_the_next_verb(app, standin):
    menu(app, num_digits=1, timeout=3)
    result = standin.call(CALLER, NUMBER, CallScript([silence()]), timeout=10)

    assert app.hits_for("/menu") == []
    assert result.said()[-1] == "没有收到您的选择，再见。"
    assert result.events("gather")[0].data["outcome"] == "timeout"
    assert result.hung_up_by == "app"


def test_only_the_finish_key_counts_as_no_input(app, standin):
    menu(app)
    result = standin.call(CALLER, NUMBER, CallScript([press("#")]), timeout=10)
    assert app.hits_for("/menu") == []
    assert result.said()[-1] == "没有收到您的选择，再见。"


def test_action_on_empty_result_posts_empty_digits(app, standin):
    menu(app, timeout=2, action_on_empty_result=True)
    standin.call(CALLER, NUMBER, CallScript([]), timeout=10)
    assert app.hits_for("/menu")[0].form["Digits"] == ""


def test_speech_result_and_confidence(app, standin):
    menu(app, input="speech", language="cmn-CN", speech_timeout="auto")
    result = standin.call(CALLER, NUMBER, CallScript([say("投诉", confidence=0.87)]), timeout=10)

    form = app.hits_for("/menu")[0].form
    assert form["SpeechResult"] == "投诉"
    assert form["Confidence"] == "0.87"
    assert "Digits" not in form
    assert result.spoke() == ["投诉"]


def test_keys_at_a_speech_only_gather_are_ignored(app, standin):
    menu(app, input="speech", timeout=2)
    result = standin.call(CALLER, NUMBER, CallScript([press("1")]), timeout=10)
    assert app.hits_for("/menu") == []
    assert result.events("input-ignored")[0].data["action"] == 'press("1")'


def test_dtmf_speech_gather_takes_either(app, standin):
    menu(app, input="dtmf speech", num_digits=1)
    standin.call(CALLER, NUMBER, CallScript([say("查询")]), timeout=10)
    assert app.hits_for("/menu")[0].form["SpeechResult"] == "查询"


def test_redirect_follows_relative_urls_and_methods(app, standin):
    app.twiml("/voice", lambda r, hit: r.redirect("next?step=2", method="GET"))
    app.twiml("/next", lambda r, hit: r.say(f"第{hit.args['step']}步"))
    result = standin.call(CALLER, NUMBER, CallScript([]), timeout=10)

    assert result.ok, result.error
    assert result.said() == ["第2步"]
    hit = app.hits_for("/next")[0]
    assert hit.method == "GET"
    assert hit.args["CallSid"] == result.sid
    redirect = result.events("redirect")[0]
    assert redirect.data == {"url": f"{PUBLIC}/next?step=2", "method": "GET", "by": "twiml"}
    signed = hit.url.replace(app.base_url, PUBLIC)
    assert RequestValidator(AUTH_TOKEN).validate(signed, {}, hit.headers["X-Twilio-Signature"])


def test_caller_acts_after_hearing_a_prompt(app, standin):
    def voice(r, hit):
        r.say("请稍候")
        g = Gather(action="/menu", num_digits=1)
        g.say("第一段")
        g.say("查询请按1")
        g.say("这一段不会播放")
        r.append(g)

    app.twiml("/voice", voice)
    app.twiml("/menu", lambda r, hit: r.hangup())
    result = standin.call(CALLER, NUMBER, CallScript([press("1", after_hearing="查询")]),
                          timeout=10)
    assert result.said() == ["请稍候", "第一段", "查询请按1"]
    assert result.pressed() == ["1"]


def test_caller_hangs_up_mid_menu(app, standin):
    menu(app, num_digits=1)
    result = standin.call(CALLER, NUMBER, CallScript([wait(1), hangup()]), timeout=10)
    assert result.hung_up_by == "caller"
    assert result.duration == 1
    assert app.hits_for("/menu") == []
    assert app.hits_for("/status")[0].form["CallDuration"] == "1"


def test_transcript_renders_readably(app, standin):
    menu(app, num_digits=1)
    text = standin.call(CALLER, NUMBER, CallScript([press("2")]), timeout=10).render()
    assert "欢迎致电。查询请按1，投诉请按2。" in text
    assert "caller pressed 2" in text
    assert f"POST {PUBLIC}/menu -> 200 (gather action)" in text
