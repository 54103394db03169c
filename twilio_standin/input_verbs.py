"""``<Gather>`` and ``<Record>``: the verbs where the scripted caller gives input.

Gather, as Twilio plays it: nested prompts play first (a caller whose next action waits for
a prompt barges in as soon as it is heard); then the caller acts or Gather waits ``timeout``
seconds.  Digits stop at ``numDigits`` or ``finishOnKey`` (which is not reported); otherwise
Gather waits ``timeout`` after the last key.  No input (or only ``finishOnKey``) falls
through to the next verb, unless ``actionOnEmptyResult`` posts empty Digits to the action.

Record, as Twilio plays it: an optional beep, then the caller speaks; the recording ends
after ``timeout`` seconds of silence, at ``maxLength``, on a ``finishOnKey`` key, or when the
caller hangs up.  The action gets RecordingUrl, RecordingSid, RecordingDuration and Digits
(``hangup`` if the caller hung up, in which case the answer can no longer be played).  An
empty recording makes no request and the call continues with the next verb.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from .control import CallEnded, Redirected
from .flow import (
    Context,
    Fetch,
    Leg,
    Loaded,
    SeatHungUp,
    Transition,
    TwimlFailure,
    speech_seconds,
)
from .recorder import RecordingCallback, announce_final, begin, finish
from .recordings import Recording
from .script import ActionKind, CallerAction
from .transcript import EventKind
from .twiml import Document
from .verbs import Gather, Pause, Play, Record, Say

if TYPE_CHECKING:
    from .engine import Engine

KEY_SECONDS = 0.2
AUTO_SPEECH_TIMEOUT = 1.0


def _due(engine: Engine, leg: Leg) -> CallerAction | None:
    """The leg's next due action; a due hang-up ends the call (or the seat's whisper)."""
    action = leg.caller.due(engine.control.now)
    if action is not None and action.kind is ActionKind.HANGUP:
        leg.caller.consume()
        if leg.is_main:
            raise engine.caller_hangs_up()
        raise SeatHungUp()
    return action


def run_gather(engine: Engine, verb: Gather, doc: Document, leg: Leg) -> Transition | None:
    action_url = engine.resolve(doc, verb.action, "<Gather action>") if verb.action else doc.url
    if action_url is None:
        raise TwimlFailure("<Gather> has no action and its inline document has no URL", 13320)
    for child in verb.children:
        barge = _due(engine, leg)
        if barge is not None and barge.after_hearing and barge.kind is not ActionKind.SPEAK:
            break
        if isinstance(child, Say):
            engine.say(child, leg)
        elif isinstance(child, Play):
            engine.play(child, leg)
        elif isinstance(child, Pause):
            engine.log(EventKind.PAUSE, f"{child.length}s", leg=leg.name, seconds=child.length)
            engine.pause(child.length)
    params = _listen(engine, verb, leg)
    if params is None:
        if not verb.action_on_empty_result:
            return None
        params = {"Digits": ""}
    return Fetch(action_url, verb.method, "gather action", params)


def _listen(engine: Engine, verb: Gather, leg: Leg) -> dict[str, str] | None:
    modes = " ".join(m for m in ("dtmf", "speech") if m in verb.input)
    deadline = engine.control.now + verb.timeout
    while True:
        action = _due(engine, leg)
        if action is not None and action.kind is not ActionKind.SPEAK:
            leg.caller.consume()
            engine.note_input()
            result = _use(engine, verb, leg, action, modes)
            if result is not None:
                return result or None
            if action.kind is ActionKind.SILENCE:
                engine.pause(max(0.0, deadline - engine.control.now))
                break
            continue
        now = engine.control.now
        if now >= deadline - 1e-9:
            break
        change = leg.caller.next_change(now)
        engine.pause(min(deadline, change) - now if change is not None else deadline - now)
    engine.log(EventKind.GATHER, f"[{modes}] no input after {verb.timeout}s", leg=leg.name,
               input=modes, outcome="timeout", digits="", speech=None, confidence=None)
    return None


def _use(engine: Engine, verb: Gather, leg: Leg, action: CallerAction, modes: str
         ) -> dict[str, str] | None:
    """Apply one caller action; params for the action URL, {} for 'no input', None to go on."""
    if action.kind is ActionKind.PRESS:
        if "dtmf" not in verb.input:
            engine.log(EventKind.INPUT_IGNORED, f"{action.describe()} at a speech-only Gather",
                       leg=leg.name, action=action.describe())
            return None
        return _keys(engine, verb, leg, action.digits, modes)
    if action.kind is ActionKind.SAY:
        if "speech" not in verb.input:
            engine.log(EventKind.INPUT_IGNORED, f"{action.describe()} at a DTMF-only Gather",
                       leg=leg.name, action=action.describe())
            return None
        engine.pause(speech_seconds(action.text))
        timeout = verb.speech_timeout
        engine.pause(AUTO_SPEECH_TIMEOUT if timeout == "auto" else float(timeout))
        confidence = f"{action.confidence:.7f}".rstrip("0").rstrip(".")
        engine.log(EventKind.GATHER, f"[{modes}] caller said \"{action.text}\"", leg=leg.name,
                   input=modes, outcome="speech", digits="", speech=action.text,
                   confidence=action.confidence)
        return {"SpeechResult": action.text, "Confidence": confidence}
    return None


def _keys(engine: Engine, verb: Gather, leg: Leg, pressed: str, modes: str
          ) -> dict[str, str]:
    collected, finished_by, used = "", None, 0
    for key in pressed:
        used += 1
        if verb.finish_on_key and key == verb.finish_on_key:
            finished_by = key
            break
        collected += key
        if verb.num_digits and len(collected) >= verb.num_digits:
            finished_by = ""
            break
    engine.pause(used * KEY_SECONDS)
    if finished_by is None:
        engine.pause(verb.timeout)
    if not collected:
        engine.log(EventKind.GATHER, f"[{modes}] only the finish key was pressed", leg=leg.name,
                   input=modes, outcome="timeout", digits="", speech=None, confidence=None)
        return {}
    engine.log(EventKind.GATHER, f"[{modes}] caller pressed {collected}", leg=leg.name,
               input=modes, outcome="digits", digits=collected, speech=None, confidence=None)
    params = {"Digits": collected}
    if finished_by:
        params["FinishedOnKey"] = finished_by
    return params


def run_record(engine: Engine, verb: Record, doc: Document) -> Transition | None:
    action_url = engine.resolve(doc, verb.action, "<Record action>") if verb.action else doc.url
    callback = None
    if verb.status_callback:
        callback = RecordingCallback(engine.resolve(doc, verb.status_callback,
                                                    "<Record recordingStatusCallback>"),
                                     verb.status_callback_method, verb.status_callback_events)
    if verb.play_beep:
        engine.log(EventKind.BEEP, "beep")
    recording = begin(engine, "RecordVerb", 1, callback)
    state = _RecordState()
    try:
        _capture(engine, verb, state)
    except CallEnded:
        state.stop_talking(engine)
        state.digits = "hangup"
        step = _conclude(engine, verb, recording, callback, state, action_url, hung_up=True)
        if step is not None:
            engine.post_ignored(step)
        announce_final(engine, recording, callback)
        raise
    except Redirected:
        state.stop_talking(engine)
        finish(engine, recording, callback, state.duration(verb))
        raise
    step = _conclude(engine, verb, recording, callback, state, action_url, hung_up=False)
    loaded = Loaded(engine.fetch(step, Context.MAIN)) if step is not None else None
    announce_final(engine, recording, callback)
    return loaded


class _RecordState:
    """What the caller put on the recording so far."""

    def __init__(self) -> None:
        self.talked = 0.0
        self.silence = 0.0
        self.digits = ""
        self.talk_start: float | None = None

    def stop_talking(self, engine: Engine) -> None:
        if self.talk_start is not None:
            self.talked = engine.control.now - self.talk_start
            self.talk_start = None

    def duration(self, verb: Record) -> float:
        extra = self.silence if verb.trim == "do-not-trim" and self.talked else 0.0
        return self.talked + extra


def _capture(engine: Engine, verb: Record, state: _RecordState) -> None:
    """Let the caller fill the recording; returns when it ends, raises on hang-up."""
    silence_limit = float(verb.timeout or verb.max_length)
    action = engine.call.caller.due(engine.control.now)
    kind = action.kind if action else None
    if action is not None and kind in (ActionKind.PRESS, ActionKind.SAY, ActionKind.SPEAK,
                                       ActionKind.SILENCE):
        engine.call.caller.consume()
        engine.note_input()
    if action is not None and kind is ActionKind.PRESS and action.digits[0] in verb.finish_on_key:
        engine.pause(KEY_SECONDS)
        state.digits = action.digits[0]
        return
    if action is not None and kind in (ActionKind.SAY, ActionKind.SPEAK):
        seconds = action.seconds if kind is ActionKind.SPEAK else speech_seconds(action.text)
        talk = min(seconds, float(verb.max_length))
        state.talk_start = engine.control.now
        engine.pause(talk)
        state.talked, state.talk_start = talk, None
        if seconds >= verb.max_length:
            return
        if action.then_hangup:
            raise engine.caller_hangs_up("hung up after speaking")
        silence_limit = min(silence_limit, verb.max_length - talk)
    engine.pause(silence_limit)
    state.silence = silence_limit


def _conclude(engine: Engine, verb: Record, recording: Recording,
              callback: RecordingCallback | None, state: _RecordState, action_url: str | None,
              *, hung_up: bool) -> Fetch | None:
    """Close the recording and log it; the action request to make, if any."""
    finish(engine, recording, callback, state.duration(verb), announce=False)
    if recording.duration == 0:
        engine.log(EventKind.RECORD, "empty recording: no request, next verb", outcome="empty",
                   sid=None, duration=0, digits=state.digits)
        return None
    engine.log(EventKind.RECORD, f"{recording.duration}s recorded ({recording.sid})"
               + (f", ended by {state.digits}" if state.digits else ""),
               outcome="hangup" if hung_up else "recorded", sid=recording.sid,
               duration=recording.duration, digits=state.digits)
    if not action_url:
        return None
    return Fetch(action_url, verb.method, "record action", {
        "RecordingUrl": engine.board.recording_url(recording.sid),
        "RecordingSid": recording.sid, "RecordingDuration": str(recording.duration),
        "Digits": state.digits})
