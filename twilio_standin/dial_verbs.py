"""``<Dial>`` to seats: ``<Client>``, ``<Number>``, ``<Sip>`` (or a number as text).

Every noun becomes a child call (``outbound-dial``) that rings simultaneously; the first
seat to answer wins and the others are canceled.  How each seat behaves comes from
``standin.seats`` (``client:NAME``, ``number:+86…``, ``sip:…``); unknown seats ring out.
A noun ``url`` (whisper) runs on the seat's side before the parties are connected.  The
action gets DialCallStatus, DialCallSid, DialCallDuration, DialBridged and RecordingUrl
when the Dial was recorded; if the caller hangs up or the call is redirected meanwhile,
the action is still requested but its answer is not played.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING

from .calls import Call
from .control import CallControl, CallEnded, Interrupt
from .flow import Context, Fetch, Leg, Loaded, SeatHungUp, Transition
from .ids import API_VERSION, rfc2822, shifted, whole_seconds
from .recorder import RecordingCallback, announce_final, begin, finish
from .recordings import Recording
from .script import Caller, SeatBehaviour
from .switchboard import Bridge
from .transcript import CallStatus, EventKind
from .twiml import Document
from .verbs import Dial, DialTarget

if TYPE_CHECKING:
    from .engine import Engine

_EVENT_OF_STATUS = {CallStatus.INITIATED: "initiated", CallStatus.RINGING: "ringing",
                    CallStatus.IN_PROGRESS: "answered"}


@dataclass(eq=False)
class Attempt:
    """One dialled party: its seat behaviour, child call and how the ringing ends."""

    target: DialTarget
    seat: SeatBehaviour | None
    child: Call
    outcome: str
    at: float
    callback_url: str | None
    sequence: int = 0


def recording_callback(engine: Engine, verb: Dial, doc: Document) -> RecordingCallback | None:
    if not verb.status_callback:
        return None
    url = engine.resolve(doc, verb.status_callback, "<Dial recordingStatusCallback>")
    return RecordingCallback(url, verb.status_callback_method, verb.status_callback_events)


def run_dial(engine: Engine, verb: Dial, doc: Document) -> Transition | None:
    action_url = engine.resolve(doc, verb.action, "<Dial action>") if verb.action else None
    callback = recording_callback(engine, verb, doc)
    attempts = [_start(engine, verb, doc, target) for target in verb.targets]
    names = ", ".join(a.target.to for a in attempts)
    engine.log(EventKind.DIAL, f"dialling {names}", targets=[a.target.to for a in attempts],
               status="ringing", call_sid=attempts[0].child.sid, duration=None, bridged=False,
               recording_sid=None)
    recording = None
    if verb.records and verb.from_ringing:
        recording = begin(engine, "DialVerb", 2 if verb.dual else 1, callback)
    answering = sorted((a for a in attempts if a.outcome == "answer"), key=lambda a: a.at)
    ringing = any(a.outcome == "no-answer" for a in attempts)
    ring_for = answering[0].at if answering else (verb.timeout if ringing else 0.0)
    try:
        engine.pause(ring_for)
    except Interrupt:
        for attempt in attempts:
            _end_child(engine, attempt, CallStatus.CANCELED)
        abort(engine, verb, action_url, "canceled", attempts[0].child.sid, None, recording,
              callback)
        raise
    if not answering:
        outcomes = {a.outcome for a in attempts}
        status = "busy" if outcomes == {"busy"} else "failed" if outcomes == {"failed"} else (
            "no-answer")
        for attempt in attempts:
            _end_child(engine, attempt, CallStatus(attempt.outcome if attempt.outcome != "answer"
                                                   else "no-answer"))
        return _unanswered(engine, verb, action_url, status, attempts[0], recording, callback)
    winner = answering[0]
    for attempt in attempts:
        if attempt is not winner:
            _end_child(engine, attempt, CallStatus.CANCELED)
    _set_status(engine, winner, CallStatus.IN_PROGRESS)
    winner.child.answered_at = engine.control.now
    if winner.target.url and not _whisper(engine, winner, doc):
        _end_child(engine, winner, CallStatus.COMPLETED)
        return _unanswered(engine, verb, action_url, "no-answer", winner, recording, callback)
    return _talk(engine, verb, action_url, winner, recording, callback)


def _unanswered(engine: Engine, verb: Dial, action_url: str | None, status: str,
                attempt: Attempt, recording: Recording | None,
                callback: RecordingCallback | None) -> Transition | None:
    engine.log(EventKind.DIAL, f"{attempt.target.to}: {status}", targets=[attempt.target.to],
               status=status, call_sid=attempt.child.sid, duration=None, bridged=False,
               recording_sid=None)
    return conclude(engine, verb, action_url, status, attempt.child.sid, None, recording,
                    callback)


def _talk(engine: Engine, verb: Dial, action_url: str | None, winner: Attempt,
          recording: Recording | None, callback: RecordingCallback | None
          ) -> Transition | None:
    board = engine.board
    bridge = Bridge(engine.call.sid, winner.child.sid, connected=True)
    with board.cond:
        board.child_bridges[winner.child.sid] = bridge
    if verb.records and recording is None:
        recording = begin(engine, "DialVerb", 2 if verb.dual else 1, callback)
    engine.log(EventKind.BRIDGE, f"talking to {winner.target.to}", **{"with": winner.target.to},
               state="connected", ended_by=None)
    start = engine.control.now
    talk_for = winner.seat.talk_for if winner.seat else 60.0
    talk = min(talk_for, float(verb.time_limit))
    try:
        woke = engine.pause(talk, wake=lambda: bridge.ended)
    except Interrupt as exc:
        with board.cond:
            bridge.ended_by = bridge.ended_by or (exc.by if isinstance(exc, CallEnded)
                                                  else "redirect")
            board.cond.notify_all()
        _end_child(engine, winner, CallStatus.COMPLETED)
        abort(engine, verb, action_url, "completed", winner.child.sid,
              engine.control.now - start, recording, callback, bridged=True)
        raise
    with board.cond:
        if not woke:
            bridge.ended_by = "seat" if talk_for <= verb.time_limit else "time-limit"
        ended_by = bridge.ended_by
        board.cond.notify_all()
    duration = engine.control.now - start
    _end_child(engine, winner, CallStatus.COMPLETED)
    engine.log(EventKind.BRIDGE, f"ended by {ended_by}", **{"with": winner.target.to},
               state="ended", ended_by=ended_by)
    engine.log(EventKind.DIAL, f"{winner.target.to}: completed after {whole_seconds(duration)}s",
               targets=[winner.target.to], status="completed", call_sid=winner.child.sid,
               duration=whole_seconds(duration), bridged=True,
               recording_sid=recording.sid if recording else None)
    return conclude(engine, verb, action_url, "completed", winner.child.sid, duration,
                    recording, callback, bridged=True)


def dial_params(engine: Engine, status: str, sid: str, duration: float | None,
                recording: Recording | None, bridged: bool) -> dict[str, str]:
    params = {"DialCallStatus": status, "DialCallSid": sid,
              "DialBridged": "true" if bridged else "false"}
    if duration is not None:
        params["DialCallDuration"] = str(whole_seconds(duration))
    if recording is not None and recording.duration:
        params["RecordingUrl"] = engine.board.recording_url(recording.sid)
    return params


def conclude(engine: Engine, verb: Dial, action_url: str | None, status: str, sid: str,
             duration: float | None, recording: Recording | None,
             callback: RecordingCallback | None, *, bridged: bool = False
             ) -> Transition | None:
    """End the Dial normally: request the action (if any), then the recording callback."""
    if recording is not None:
        finish(engine, recording, callback, announce=False)
    loaded = None
    if action_url:
        step = Fetch(action_url, verb.method, "dial action",
                     dial_params(engine, status, sid, duration, recording, bridged))
        loaded = Loaded(engine.fetch(step, Context.MAIN))
    if recording is not None:
        announce_final(engine, recording, callback)
    return loaded


def abort(engine: Engine, verb: Dial, action_url: str | None, status: str, sid: str,
          duration: float | None, recording: Recording | None,
          callback: RecordingCallback | None, *, bridged: bool = False) -> None:
    """End the Dial because the call ended or moved on: the action's answer is not played."""
    if recording is not None:
        finish(engine, recording, callback, announce=False)
    if action_url:
        engine.post_ignored(Fetch(action_url, verb.method, "dial action",
                                  dial_params(engine, status, sid, duration, recording,
                                              bridged)))
    if recording is not None:
        announce_final(engine, recording, callback)


def _start(engine: Engine, verb: Dial, doc: Document, target: DialTarget) -> Attempt:
    board = engine.board
    with board.cond:
        seat = board.seats.get(target.seat_key)
    parent = engine.call
    child = Call(account_sid=parent.account_sid, from_=verb.caller_id or parent.from_,
                 to=target.to, direction="outbound-dial",
                 control=CallControl(board.cond, board.settings.time_scale),
                 caller=Caller(seat.whisper if seat else None), parent_sid=parent.sid,
                 created_at=parent.created_at)
    board.register(child)
    if seat is None or (not seat.busy and not seat.fail and not seat.answer):
        outcome, at = "no-answer", float(verb.timeout)
    elif seat.busy:
        outcome, at = "busy", 0.0
    elif seat.fail:
        outcome, at = "failed", 0.0
    elif seat.answer_after < verb.timeout:
        outcome, at = "answer", seat.answer_after
    else:
        outcome, at = "no-answer", float(verb.timeout)
    url = (engine.resolve(doc, target.status_callback, f"<{target.kind}> statusCallback")
           if target.status_callback else None)
    attempt = Attempt(target, seat, child, outcome, at, url)
    _set_status(engine, attempt, CallStatus.INITIATED)
    if outcome in ("answer", "no-answer"):
        _set_status(engine, attempt, CallStatus.RINGING)
    return attempt


def child_params(engine: Engine, child: Call) -> dict[str, str]:
    return {"AccountSid": child.account_sid, "ApiVersion": API_VERSION, "CallSid": child.sid,
            "ParentCallSid": child.parent_sid or "", "CallStatus": child.status.value,
            "Direction": child.direction, "From": child.from_, "To": child.to,
            "Caller": child.from_, "Called": child.to}


def _set_status(engine: Engine, attempt: Attempt, status: CallStatus) -> None:
    child = attempt.child
    child.status = status
    event = "completed" if status.is_final else _EVENT_OF_STATUS[status]
    if attempt.callback_url and event in attempt.target.status_callback_events:
        params = child_params(engine, child)
        params.update({"Timestamp": rfc2822(shifted(child.created_at, engine.control.now)) or "",
                       "CallbackSource": "call-progress-events",
                       "SequenceNumber": str(attempt.sequence)})
        if status.is_final:
            params["CallDuration"] = str(child.duration)
        attempt.sequence += 1
        engine.notify(attempt.callback_url, attempt.target.status_callback_method, params,
                      f"dialled call status ({event})", leg="seat")


def _end_child(engine: Engine, attempt: Attempt, status: CallStatus) -> None:
    child = attempt.child
    if child.status.is_final:
        return
    child.ended_at = engine.control.now
    child.control.finished = True
    _set_status(engine, attempt, status)
    with engine.board.cond:
        engine.board.child_bridges.pop(child.sid, None)
    child.finish()


def _whisper(engine: Engine, attempt: Attempt, doc: Document) -> bool:
    """Run the noun's url document on the seat's side; False if the seat hung up."""
    child = attempt.child
    leg = Leg("seat", child.sid, child.caller, lambda: child_params(engine, child))
    url = engine.resolve(doc, attempt.target.url or "", f"<{attempt.target.kind}> url")
    step: Transition | None = Fetch(url, attempt.target.method, "dial noun url")
    documents = 0
    try:
        while isinstance(step, Fetch | Loaded):
            documents += 1
            engine.guard_documents(documents, f"<{attempt.target.kind}> url documents")
            page = engine.load(step, Context.WHISPER, leg)
            step = engine.run_document(page, Context.WHISPER, leg)
    except SeatHungUp:
        engine.log(EventKind.HANGUP, "the dialled party hung up during the whisper", leg="seat",
                   by="seat", reason="whisper")
        return False
    return True
