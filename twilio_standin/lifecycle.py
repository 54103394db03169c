"""A call from first ring to final status callback, inbound or created through REST.

Inbound: the number's voice URL is requested with ``CallStatus=ringing``; the call is
answered when its first verb (other than ``<Reject>``) plays.  If that first request fails
(connection error, non-200, not TwiML) the number's fallback URL is requested with ErrorCode
and ErrorUrl, as Twilio does.  Outbound (``Calls.json``): the callee scripted with
``expect_call`` answers (or not); call progress callbacks go to StatusCallback for the
requested StatusCallbackEvent values.  Either way the call's final status is posted to its
status callback with CallDuration, Timestamp, CallbackSource and SequenceNumber.
"""

from __future__ import annotations

from .calls import ExpectedCall
from .control import CallEnded, LimitExceeded, Redirected
from .engine import Engine
from .flow import Context, End, Fetch, Inline, LeaveQueue, Transition, TwimlFailure
from .ids import rfc2822, shifted
from .recorder import RecordingCallback, begin, finish
from .transcript import CallResult, CallStatus, EventKind


def drive(engine: Engine, first: Fetch | Inline, fallback: tuple[str, str] | None) -> None:
    """Follow the call's TwiML until it ends; errors end it as ``failed``."""
    call = engine.call
    step: Transition = first
    first_document = True
    while True:
        try:
            if isinstance(step, End | LeaveQueue):
                _ended(engine, "app")
                return
            try:
                doc = engine.load(step, Context.MAIN)
            except TwimlFailure as failure:
                if not (first_document and fallback):
                    raise
                doc = _fallback(engine, failure, fallback)
            first_document = False
            if isinstance(step, Fetch):
                engine.fetches_without_input += 1
                if engine.fetches_without_input > engine.board.settings.max_fetches_without_input:
                    nxt = call.caller.peek()
                    raise LimitExceeded(
                        f"{engine.fetches_without_input - 1} documents were requested in a row "
                        "without any caller input (endless loop?); the script's next action is "
                        + (nxt.describe() if nxt else "none (script finished)"))
            outcome = engine.run_document(doc, Context.MAIN)
            if outcome is None:
                engine.log(EventKind.HANGUP, "end of TwiML: Twilio hangs up", by="app",
                           reason="end of document")
                _ended(engine, "app")
                return
            step = outcome
        except Redirected as moved:
            target = moved.target
            if target.twiml is not None:
                engine.log(EventKind.REDIRECT, "REST update with inline TwiML", url=None,
                           method=None, by="rest")
                step = Inline(target.twiml, None)
            else:
                assert target.url is not None
                engine.log(EventKind.REDIRECT, f"REST update: {target.method} {target.url}",
                           url=target.url, method=target.method, by="rest")
                step = Fetch(target.url, target.method, "rest redirect")
            first_document = False
        except CallEnded as ended:
            if ended.by != "app":
                engine.log(EventKind.HANGUP, f"by {ended.by}" + (f" ({ended.reason})"
                                                                  if ended.reason else ""),
                           by=ended.by, reason=ended.reason)
            _ended(engine, ended.by)
            return
        except (TwimlFailure, LimitExceeded) as failure:
            message = failure.message if isinstance(failure, TwimlFailure) else str(failure)
            code = failure.code if isinstance(failure, TwimlFailure) else 0
            engine.log(EventKind.ERROR, message, message=message, code=code)
            call.errors.append(message)
            call.status = CallStatus.FAILED
            _ended(engine, "system")
            return


def _ended(engine: Engine, by: str) -> None:
    call = engine.call
    call.hung_up_by = call.hung_up_by or by
    if call.status in (CallStatus.IN_PROGRESS, CallStatus.RINGING, CallStatus.QUEUED,
                       CallStatus.INITIATED):
        call.status = CallStatus.COMPLETED if engine.answered else (
            CallStatus.CANCELED if by == "rest" else CallStatus.COMPLETED)


def _fallback(engine: Engine, failure: TwimlFailure, fallback: tuple[str, str]):
    """Request the fallback URL after the voice URL failed (Twilio's ErrorCode/ErrorUrl)."""
    url, method = fallback
    engine.log(EventKind.WARNING, f"voice URL failed ({failure.message}); using the fallback",
               message=failure.message, code=failure.code)
    engine.call.errors.append(failure.message)
    step = Fetch(url, method, "fallback", {"ErrorCode": str(failure.code),
                                           "ErrorUrl": failure.url or ""})
    return engine.load(step, Context.MAIN)


def run_inbound(engine: Engine) -> CallResult:
    """Play an inbound call to one of the stand-in's numbers."""
    call, number = engine.call, engine.number
    assert number is not None
    call.status = CallStatus.RINGING
    fallback = (number.fallback_url, number.fallback_method) if number.fallback_url else None
    try:
        drive(engine, Fetch(number.voice_url, number.voice_method, "voice"), fallback)
        return _finish(engine, number.status_callback, number.status_callback_method,
                       frozenset({"completed"}))
    finally:
        engine.close()


def run_outbound(engine: Engine, expected: ExpectedCall | None) -> CallResult:
    """Play a call created through ``POST Calls.json``."""
    call = engine.call
    spec = call.outbound
    assert spec is not None
    try:
        call.status = CallStatus.INITIATED
        _progress(engine, "initiated")
        outcome = _ring(engine, expected)
        if outcome == "answer":
            recording = None
            callback = RecordingCallback(spec.recording_status_callback,
                                         spec.recording_status_callback_method,
                                         spec.recording_status_callback_events)
            engine.answer()
            _progress(engine, "answered")
            if spec.record:
                recording = begin(engine, "OutboundAPI",
                                  2 if spec.recording_channels == "dual" else 1, callback)
            first = (Fetch(spec.url, spec.method, "url") if spec.url
                     else Inline(spec.twiml or "", None))
            fallback = (spec.fallback_url, spec.fallback_method) if spec.fallback_url else None
            drive(engine, first, fallback)
            if recording is not None:
                finish(engine, recording, callback)
        return _finish(engine, spec.status_callback, spec.status_callback_method,
                       spec.status_callback_events)
    finally:
        engine.close()


def _ring(engine: Engine, expected: ExpectedCall | None) -> str:
    call = engine.call
    spec = call.outbound
    assert spec is not None
    if expected is not None and expected.busy:
        call.status = CallStatus.BUSY
        engine.log(EventKind.STATUS, "callee is busy", status="busy")
        return "busy"
    call.status = CallStatus.RINGING
    _progress(engine, "ringing")
    answers = expected is not None and expected.answer and expected.answer_after < spec.timeout
    ring_for = expected.answer_after if answers and expected else float(spec.timeout)
    try:
        engine.control.sleep(ring_for)
    except CallEnded as ended:
        call.status = CallStatus.CANCELED
        call.hung_up_by = ended.by
        engine.log(EventKind.HANGUP, f"canceled while ringing (by {ended.by})", by=ended.by,
                   reason="canceled")
        return "canceled"
    except Redirected as moved:  # a ringing call only changes the URL it will fetch
        if moved.target.url:
            spec.url, spec.method, spec.twiml = moved.target.url, moved.target.method, None
        elif moved.target.twiml:
            spec.url, spec.twiml = None, moved.target.twiml
        return _ring(engine, expected)
    if not answers:
        call.status = CallStatus.NO_ANSWER
        engine.log(EventKind.STATUS, f"no answer after {spec.timeout}s", status="no-answer")
        return "no-answer"
    return "answer"


def _progress(engine: Engine, event: str) -> None:
    spec = engine.call.outbound
    if spec is None or event not in spec.status_callback_events:
        return
    _status_callback(engine, spec.status_callback, spec.status_callback_method, event)


def _status_callback(engine: Engine, url: str | None, method: str, event: str) -> None:
    if not url:
        return
    call = engine.call
    params = engine.call_params()
    params.update({"Timestamp": rfc2822(shifted(call.created_at, engine.control.now)) or "",
                   "CallbackSource": "call-progress-events",
                   "SequenceNumber": str(engine.status_sequence)})
    engine.status_sequence += 1
    if event == "completed":
        params["CallDuration"] = str(call.duration)
    engine.notify(url, method, params, f"status callback ({params['CallStatus']})")


def _finish(engine: Engine, url: str | None, method: str, events: frozenset[str]
            ) -> CallResult:
    call = engine.call
    with engine.board.cond:
        call.ended_at = engine.control.now
        call.control.finished = True
    if call.status in (CallStatus.IN_PROGRESS, CallStatus.RINGING, CallStatus.QUEUED,
                       CallStatus.INITIATED):
        call.status = CallStatus.COMPLETED
    if "completed" in events:
        _status_callback(engine, url, method, "completed")
    return call.finish()
