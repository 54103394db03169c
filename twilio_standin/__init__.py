"""A local Twilio stand-in: plays Twilio's side of phone calls over real HTTP.

It lets an IVR built on Twilio webhooks and TwiML be tested end to end with no internet:
calls are placed against the app's real HTTP endpoints with signed webhooks, the returned
TwiML is played verb by verb (strictly, as Twilio validates it), a scripted caller presses
keys, speaks, waits on hold or hangs up, and Twilio's REST API (calls, messages,
recordings with real WAV media) is served for the app's ``twilio`` SDK client.

Quick start::

    from twilio_standin import StandIn, CallScript, press, say, wait, hangup, SeatBehaviour

    with StandIn(account_sid="AC…", auth_token="…", time_scale=0.01) as standin:
        standin.add_number("+864001234567",
                           voice_url="http://127.0.0.1:5000/voice/incoming",
                           status_callback="http://127.0.0.1:5000/voice/status",
                           fallback_url="http://127.0.0.1:5000/voice/fallback",
                           public_base_url="https://ivr.example.com")
        standin.seats["client:seat-7"] = SeatBehaviour(answer_after=2, talk_for=30)
        result = standin.call(from_="+8613800000001", to="+864001234567",
                              script=CallScript([press("2"), wait(30), hangup()]))
        assert result.ok, result.error
        print(result.render())

Public API
----------
``StandIn(account_sid, auth_token, *, time_scale=0.01, host="127.0.0.1", port=0, **settings)``
    ``settings``: ``max_call_seconds`` (4 h), ``max_fetches_without_input`` (50),
    ``webhook_timeout`` (10 real s), ``play_seconds`` (5, length of a ``<Play>``),
    ``queue_max_size`` (100), ``media_requires_auth`` (True).
    ``.start()`` / ``.stop()`` / context manager; ``.base_url``; ``.validator()``.
    ``.add_number(number, voice_url, *, voice_method, status_callback,
    status_callback_method, fallback_url, fallback_method, public_base_url)``;
    ``.map_url(public_base_url, local_base_url)``.
    ``.call(from_, to, script=None, *, timeout=None) -> CallResult`` (blocks);
    ``.start_call(from_, to, script=None) -> CallHandle`` (``.sid``, ``.wait(timeout)``).
    ``.hangup(call_sid)``, ``.redirect(call_sid, url, method)``, ``.handle(call_sid)``.
    ``.seats[key] = SeatBehaviour(...)`` with keys ``client:NAME``, ``number:+86…``,
    ``sip:…``; unknown seats ring until the Dial times out (no-answer).
    ``.expect_call(to, script=None, *, answer=True, answer_after=3.0, busy=False)
    -> ExpectedCall`` scripts the callee of a REST-created call (``.wait(timeout)``).
    ``.messages``, ``.recordings``, ``.recording(sid)``, ``.queue_size(name)``,
    ``.wait_for_queue(name, size, timeout)``, ``.wait_for_event(call_sid, kind, timeout)``,
    ``.faults.recording_media(sid_or_"*", ["500", "timeout", "truncate", "reset"])``.
Caller script (:mod:`.script`)
    ``CallScript([...], patience=600)`` of ``press(digits)``, ``say(text, confidence=0.9)``,
    ``silence()``, ``speak(seconds, then_hangup=False)``, ``wait(seconds)``, ``hangup()``,
    each with an optional ``after_hearing="text"``.
Results (:mod:`.transcript`)
    ``CallResult``: ``.ok``, ``.error``, ``.errors``, ``.warnings``, ``.status``,
    ``.duration``, ``.hung_up_by``, ``.recording_sids``, ``.transcript``, ``.said()``,
    ``.pressed()``, ``.spoke()``, ``.events(kind)``, ``.webhooks(purpose)``, ``.render()``.
SDK against the stand-in (:mod:`.http_client`)
    ``Client(sid, token, http_client=standin_http_client(standin.base_url))``.

Time is simulated: every duration (speech, pauses, timeouts, hold, ringing, talk, recording)
is in simulated seconds and really lasts ``seconds × time_scale``; reported figures
(CallDuration, QueueTime, RecordingDuration, DialCallDuration) are the simulated ones.
A call's own figures are exact; figures measured across two calls (an agent dequeuing a
caller) also include the real webhook latency, scaled up.

Behaviour notes (where Twilio's documentation leaves room, what the stand-in does)
---------------------------------------------------------------------------------
* Speech takes ~0.25 s per CJK character and ~0.065 s per other character; a ``<Play>``
  lasts ``play_seconds``; a key press 0.2 s; ``speechTimeout="auto"`` 1 s.
* An error (unreachable URL, non-200, not TwiML, invalid TwiML, endless loop, maximum
  life) ends the call as ``failed`` and is reported in ``result.errors``; the fallback URL
  is only used for the number's (or the REST call's) first document.
* When the call has ended or moved on (hang-up, REST redirect) during ``<Record>``,
  ``<Dial>`` or ``<Enqueue>``, their action is still requested, with ``CallStatus``
  ``completed`` after a hang-up, and its answer is not played.
* Unknown attribute names are warnings (Twilio's 12200), never failures.
* ``<Dial record>`` accepts only the five documented values (not the legacy true/false).
* A dialled party's ``url`` document may use Play, Say, Pause, Gather, Hangup, Redirect;
  hanging up there counts as no-answer.  A queued caller leaving before the agent is
  connected gives the agent ``DialCallStatus=no-answer``.
* Recording media are WAV only; ``.mp3`` answers 404.  Fetching an ended call returns it
  (as Twilio does); updating it answers 400 with code 21220.  ``TimeLimit`` on
  ``Calls.json`` is ignored; ``<Dial timeLimit>`` is honoured.
"""

from __future__ import annotations

from .calls import CallHandle, ExpectedCall, PhoneNumber
from .faults import MediaFault
from .http_client import StandInHttpClient, rewrite_twilio_url, standin_http_client
from .messages import SentMessage
from .recordings import Recording, RecordingStatus
from .script import (
    ActionKind,
    CallerAction,
    CallScript,
    SeatBehaviour,
    hangup,
    press,
    say,
    silence,
    speak,
    wait,
)
from .standin import DEFAULT_ACCOUNT_SID, DEFAULT_AUTH_TOKEN, StandIn
from .transcript import CallResult, CallStatus, Event, EventKind, Transcript

__all__ = [
    "DEFAULT_ACCOUNT_SID", "DEFAULT_AUTH_TOKEN", "ActionKind", "CallHandle", "CallResult",
    "CallScript", "CallStatus", "CallerAction", "Event", "EventKind", "ExpectedCall",
    "MediaFault", "PhoneNumber", "Recording", "RecordingStatus", "SeatBehaviour",
    "SentMessage", "StandIn", "StandInHttpClient", "Transcript", "hangup", "press",
    "rewrite_twilio_url", "say", "silence", "speak", "standin_http_client", "wait",
]
