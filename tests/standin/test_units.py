"""Unit tests of the pieces that need no server: scripts, TwiML parsing, ranges, WAV, URLs."""

from __future__ import annotations

import io
import wave
from datetime import UTC, datetime

import pytest
from twilio.twiml.voice_response import Dial, Gather, VoiceResponse

from twilio_standin import CallScript, Recording, hangup, press, say, speak, wait
from twilio_standin.rest_api import parse_range
from twilio_standin.script import ActionKind, Caller
from twilio_standin.twiml import parse_document
from twilio_standin.twiml_attrs import TwimlError
from twilio_standin.urls import UrlMap, resolve


def test_script_helpers_validate_their_arguments():
    with pytest.raises(ValueError):
        press("12a")
    with pytest.raises(ValueError):
        say("  ")
    with pytest.raises(ValueError):
        speak(0)
    with pytest.raises(ValueError):
        CallScript([], patience=0)
    assert press("1", after_hearing="查询").describe() == 'press("1") after hearing "查询"'


def test_caller_waits_then_waits_for_a_prompt():
    caller = Caller(CallScript([wait(10), hangup(after_hearing="再见")]))
    assert caller.due(0.0) is None  # the wait starts now
    assert caller.next_change(0.0) == 10.0
    assert caller.due(10.0) is None  # has not heard "再见" yet
    caller.hear("感谢来电，再见")
    action = caller.due(10.0)
    assert action is not None and action.kind is ActionKind.HANGUP


def test_parse_full_document():
    response = VoiceResponse()
    gather = Gather(input="dtmf speech", num_digits=2, finish_on_key="*", timeout=7,
                    speech_timeout=3, action="/next", method="GET")
    gather.say("请说出或输入", language="cmn-CN", loop=2)
    response.append(gather)
    dial = Dial(record="record-from-ringing-dual", timeout=12, time_limit=600)
    dial.number("+8613900000000", status_callback_event="answered completed")
    response.append(dial)
    response.enqueue("vip", wait_url="/hold", wait_url_method="GET")
    doc = parse_document(str(response), "https://ivr.example.com/voice")

    gather_verb, dial_verb, enqueue_verb = doc.verbs
    assert gather_verb.input == frozenset({"dtmf", "speech"})
    assert (gather_verb.num_digits, gather_verb.finish_on_key, gather_verb.timeout) == (2, "*", 7)
    assert gather_verb.speech_timeout == "3" and gather_verb.method == "GET"
    assert gather_verb.children[0].loop == 2
    assert dial_verb.dual and dial_verb.from_ringing and dial_verb.time_limit == 600
    assert dial_verb.targets[0].seat_key == "number:+8613900000000"
    assert dial_verb.targets[0].status_callback_events == frozenset({"answered", "completed"})
    assert enqueue_verb.queue == "vip" and enqueue_verb.wait_url_method == "GET"
    assert doc.warnings == []


@pytest.mark.parametrize("twiml, message", [
    ('<Response><Gather finishOnKey="##"/></Response>', "finishOnKey='##'"),
    ('<Response><Gather timeout="soon"/></Response>', "timeout='soon'"),
    ('<Response><Record trim="yes"/></Response>', "trim='yes'"),
    ('<Response><Say/></Response>', "<Say> has no text"),
    ('<Response><Play/></Response>', "needs a URL or a digits attribute"),
    ('<Response><Dial timeout="0">+86</Dial></Response>', "between 1 and 600"),
    ('<Response><Dial><Conference>x</Conference></Dial></Response>', "not played"),
    ('<Response><Dial><Client>a</Client><Queue>q</Queue></Dial></Response>', "only noun"),
    ('<Response><Dial><Sip>agent@pbx</Sip></Dial></Response>', "must start with sip:"),
    ('<Response><Reject reason="nope"/></Response>', "reason='nope'"),
    ('<Response><Connect/></Response>', "does not play"),
    ('<Response><Say>a<Pause/></Say></Response>', "<Pause> cannot be nested in <Say>"),
])
def test_invalid_documents(twiml, message):
    with pytest.raises(TwimlError) as caught:
        parse_document(twiml, "https://ivr.example.com/x")
    assert message in caught.value.message


def test_ssml_inside_say_is_kept_as_text():
    doc = parse_document('<Response><Say>你好<break time="1s"/>再见</Say></Response>', None)
    assert doc.verbs[0].text == "你好再见"


@pytest.mark.parametrize("header, expected", [
    ("bytes=0-9", (0, 9)), ("bytes=90-", (90, 99)), ("bytes=-5", (95, 99)),
    ("bytes=50-500", (50, 99)), ("bytes=100-", None), ("bytes=9-3", None),
    ("items=0-1", None), ("bytes=0-1,5-6", (0, 1)),
])
def test_parse_range(header, expected):
    assert parse_range(header, 100) == expected


def test_wav_media_and_silent_pauses():
    recording = Recording(account_sid="AC1", call_sid="CA1", source="DialVerb", channels=2,
                          started_at=0.0, start_time=datetime.now(UTC))
    recording.set_status("paused", 1.0)
    recording.set_status("in-progress", 2.0)
    recording.finish(3.0)
    assert recording.duration == 3
    data = recording.wav_bytes()
    assert len(data) == recording.media_size == 44 + 3 * 8000 * 4
    with wave.open(io.BytesIO(data)) as wav:
        assert wav.getnchannels() == 2 and wav.getnframes() == 24000
        first = wav.readframes(8000)
        second = wav.readframes(8000)
    assert any(first) and not any(second)


def test_skipped_pause_shortens_the_recording():
    recording = Recording(account_sid="AC1", call_sid="CA1", source="DialVerb", channels=1,
                          started_at=10.0, start_time=datetime.now(UTC))
    recording.set_status("paused", 12.0, pause_behavior="skip")
    recording.set_status("in-progress", 20.0)
    recording.finish(25.0)
    assert recording.duration == 7


def test_url_mapping_and_resolution():
    urls = UrlMap()
    urls.add("https://ivr.example.com", "http://127.0.0.1:5000")
    assert urls.to_local("https://ivr.example.com/voice?x=1") == "http://127.0.0.1:5000/voice?x=1"
    assert urls.to_public("http://127.0.0.1:5000/a") == "https://ivr.example.com/a"
    assert urls.to_local("https://ivr.example.community/a") == "https://ivr.example.community/a"
    assert urls.hidden_behind_proxy("http://127.0.0.1:5000/a")
    assert resolve("https://ivr.example.com/voice/menu", "next") == (
        "https://ivr.example.com/voice/next")
    assert resolve("https://ivr.example.com/voice/menu", "/queue") == (
        "https://ivr.example.com/queue")
    with pytest.raises(ValueError):
        resolve(None, "relative")
