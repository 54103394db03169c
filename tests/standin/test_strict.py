"""Strictness: what Twilio refuses makes the call fail with a clear message."""

from __future__ import annotations

from flask import Response

from twilio_standin import CallScript, CallStatus, press

from .conftest import CALLER, NUMBER, PUBLIC


def call_with(app, standin, body, status=200, script=None, mimetype="text/xml"):
    app.on("/voice", lambda hit: Response(body, status=status, mimetype=mimetype))
    app.on("/fallback", lambda hit: Response("<Response><Say>fallback</Say></Response>",
                                             mimetype="text/xml"))
    return standin.call(CALLER, NUMBER, script or CallScript([]), timeout=10)


def test_unknown_verb_fails(app, standin):
    standin.add_number(NUMBER, voice_url=app.url("/voice"), public_base_url=PUBLIC)
    result = call_with(app, standin, "<Response><Speak>hi</Speak></Response>")
    assert not result.ok
    assert result.status is CallStatus.FAILED
    assert result.error == f"{PUBLIC}/voice: unknown TwiML verb <Speak>"
    assert result.events("error")[0].data["code"] == 12100


def test_bad_attribute_values_fail(app, standin):
    standin.add_number(NUMBER, voice_url=app.url("/voice"), public_base_url=PUBLIC)
    cases = {
        '<Gather numDigits="x"/>': "attribute numDigits='x' is invalid, expected an integer",
        '<Gather input="keyboard"/>': "attribute input='keyboard' is invalid",
        '<Dial record="yes">+8613900000000</Dial>': "attribute record='yes' is invalid",
        '<Redirect method="PUT">/x</Redirect>': "attribute method='PUT' is invalid",
        '<Pause length="-1"/>': "attribute length='-1' is invalid",
    }
    for verb, message in cases.items():
        result = call_with(app, standin, f"<Response>{verb}</Response>")
        assert not result.ok
        assert message in result.error, result.error
        assert f"in {PUBLIC}/voice" in result.error


def test_wrong_nesting_fails(app, standin):
    standin.add_number(NUMBER, voice_url=app.url("/voice"), public_base_url=PUBLIC)
    result = call_with(app, standin, "<Response><Gather><Dial>+86139</Dial></Gather></Response>")
    assert "<Dial> cannot be nested in <Gather>" in result.error
    result = call_with(app, standin, "<Response><Leave/></Response>")
    assert "<Leave> is not allowed in the call's TwiML" in result.error


def test_non_xml_and_wrong_root_fail(app, standin):
    standin.add_number(NUMBER, voice_url=app.url("/voice"), public_base_url=PUBLIC)
    assert "not valid XML" in call_with(app, standin, "hello", mimetype="text/plain").error
    assert "needs <Response>" in call_with(app, standin, "<Reply><Say>x</Say></Reply>").error
    assert "body is empty" in call_with(app, standin, "").error


def test_http_500_fails(app, standin):
    standin.add_number(NUMBER, voice_url=app.url("/voice"), public_base_url=PUBLIC)
    result = call_with(app, standin, "oops", status=500)
    assert result.error == f"voice: POST {PUBLIC}/voice answered HTTP 500"
    assert result.status is CallStatus.FAILED


def test_unreachable_action_url_fails(app, standin):
    standin.add_number(NUMBER, voice_url=app.url("/voice"), public_base_url=PUBLIC)
    body = ('<Response><Gather numDigits="1" action="http://127.0.0.1:9/nowhere">'
            "<Say>按1</Say></Gather></Response>")
    result = call_with(app, standin, body, script=CallScript([press("1")]))
    assert not result.ok
    assert result.error.startswith("gather action: POST http://127.0.0.1:9/nowhere: "
                                   "connection failed")
    assert result.events("error")[0].data["code"] == 11205


def test_fallback_url_is_used_when_the_voice_url_fails(app, standin):
    result = call_with(app, standin, "oops", status=503)
    assert result.said() == ["fallback"]
    fallback = app.hits_for("/fallback")[0].form
    assert fallback["ErrorCode"] == "11200"
    assert fallback["ErrorUrl"] == f"{PUBLIC}/voice"
    assert result.status is CallStatus.COMPLETED
    assert not result.ok  # the voice URL did fail
    assert "answered HTTP 503" in result.error


def test_endless_redirect_loop_is_cut(app, standin):
    app.twiml("/voice", lambda r, hit: r.redirect("/voice"))
    result = standin.call(CALLER, NUMBER, CallScript([]), timeout=10)
    assert not result.ok
    assert "without any caller input" in result.error
    assert len(app.hits_for("/voice")) == 51


def test_maximum_call_life(app, standin):
    standin.settings.max_call_seconds = 100
    app.twiml("/voice", lambda r, hit: r.pause(length=500))
    result = standin.call(CALLER, NUMBER, CallScript([]), timeout=10)
    assert "maximum life of 100s" in result.error
    assert result.duration == 100


def test_unknown_attribute_is_only_a_warning(app, standin):
    result = call_with(app, standin, '<Response><Say colour="red">好</Say></Response>')
    assert result.ok
    assert "unknown attribute 'colour'" in result.warnings[0]
    assert result.said() == ["好"]


def test_reject_as_first_verb(app, standin):
    result = call_with(app, standin, '<Response><Reject reason="busy"/></Response>')
    assert result.status is CallStatus.BUSY
    assert result.duration == 0
    assert app.hits_for("/status")[0].form["CallStatus"] == "busy"
