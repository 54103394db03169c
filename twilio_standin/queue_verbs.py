"""``<Enqueue>``, ``<Leave>`` and ``<Dial><Queue>``: call queues, hold and dequeue.

The queued caller hears the ``waitUrl`` document in a loop; it is requested with
QueuePosition, QueueSid, QueueTime, AvgQueueTime, CurrentQueueSize and MaxQueueSize and may
only use Play, Say, Pause, Hangup, Redirect, Leave and Gather.  Without a waitUrl the caller
hears Twilio's default hold music.  When the caller leaves the queue the Enqueue action gets
QueueResult (bridged, queue-full, redirected, hangup, leave, error), QueueSid and QueueTime:
at once for ``<Leave>``, a REST redirect or a hang-up (the answer is then not played), and
only after the conversation for a caller bridged to an agent.

``<Dial><Queue>`` takes the front caller of the queue (waiting up to the Dial timeout for
one), plays the noun's ``url`` document to that caller (QueueSid, QueueTime,
DequeingCallSid; Play, Say, Pause, Redirect only) and bridges the two calls.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from .control import CallEnded, Interrupt, LimitExceeded, Redirected
from .dial_verbs import abort, conclude, recording_callback
from .flow import (
    Context,
    End,
    Fetch,
    Hold,
    HoldInterrupted,
    LeaveQueue,
    Transition,
    TwimlFailure,
)
from .ids import whole_seconds
from .recorder import RecordingCallback, begin
from .switchboard import Bridge, Queue, QueueMember
from .transcript import EventKind
from .twiml import Document
from .verbs import Dial, Enqueue

if TYPE_CHECKING:
    from .engine import Engine

DEFAULT_HOLD_MUSIC = "http://com.twilio.music.classical.s3.amazonaws.com/BusyStrings.mp3"
MAX_SILENT_WAIT_DOCUMENTS = 20


def queue_params(engine: Engine, queue: Queue, member: QueueMember) -> dict[str, str]:
    with engine.board.cond:
        return {"QueueSid": queue.sid, "QueuePosition": str(queue.position(member)),
                "QueueTime": str(whole_seconds(engine.control.now - member.enqueued_at)),
                "AvgQueueTime": str(queue.average_wait()),
                "CurrentQueueSize": str(len(queue.members)), "MaxQueueSize": str(queue.max_size)}


def run_enqueue(engine: Engine, verb: Enqueue, doc: Document) -> Transition | None:
    board = engine.board
    action_url = engine.resolve(doc, verb.action, "<Enqueue action>") if verb.action else None
    wait_url = engine.resolve(doc, verb.wait_url, "<Enqueue waitUrl>") if verb.wait_url else None
    queue = board.queue(verb.queue, create=True)
    assert queue is not None
    member = QueueMember(engine.call, engine.control.now, queue.sid)
    with board.cond:
        full = len(queue.members) >= queue.max_size
        if not full:
            queue.members.append(member)
            board.cond.notify_all()
    if full:
        engine.log(EventKind.QUEUE_RESULT, f'"{queue.name}": queue-full', queue=queue.name,
                   result="queue-full", queue_time=0)
        if action_url:
            return Fetch(action_url, verb.method, "enqueue action", {"QueueResult": "queue-full"})
        return None
    engine.log(EventKind.ENQUEUE, f'"{queue.name}" at position {queue.position(member)}',
               queue=queue.name, queue_sid=queue.sid)
    try:
        result = _hold(engine, verb, queue, member, wait_url)
    except Interrupt as exc:
        result = "bridged" if member.claim else (
            "redirected" if isinstance(exc, Redirected) else "hangup")
        params = _left(engine, queue, member, result, by=_who(exc))
        if action_url:
            engine.post_ignored(Fetch(action_url, verb.method, "enqueue action", params))
        raise
    except (TwimlFailure, LimitExceeded):
        _left(engine, queue, member, "error", by="system")
        raise
    params = _left(engine, queue, member, result, by=None)
    if action_url:
        return Fetch(action_url, verb.method, "enqueue action", params)
    return None


def _who(exc: Interrupt) -> str:
    return exc.by if isinstance(exc, CallEnded) else "redirect"


def _left(engine: Engine, queue: Queue, member: QueueMember, result: str, by: str | None
          ) -> dict[str, str]:
    """Take the member out (if still in), end its bridge, log and give the action params."""
    board = engine.board
    with board.cond:
        if member in queue.members:
            queue.members.remove(member)
            queue.waited.append(engine.control.now - member.enqueued_at)
        if member.claim is not None and not member.claim.ended:
            member.claim.ended_by = by or "caller"
        board.cond.notify_all()
    left_at = member.dequeued_at if member.dequeued_at is not None else engine.control.now
    queue_time = whole_seconds(left_at - member.enqueued_at)
    engine.call.queue_time = queue_time
    engine.log(EventKind.QUEUE_RESULT, f'"{queue.name}": {result} after {queue_time}s',
               queue=queue.name, result=result, queue_time=queue_time)
    return {"QueueResult": result, "QueueSid": queue.sid, "QueueTime": str(queue_time)}


def _hold(engine: Engine, verb: Enqueue, queue: Queue, member: QueueMember,
          wait_url: str | None) -> str:
    """Keep the caller on hold until dequeued ("bridged") or a ``<Leave>`` ("leave")."""
    engine.hold = Hold(since=engine.control.now, wake=lambda: member.claim is not None)
    silent = 0
    try:
        if wait_url is None:
            engine.log(EventKind.PLAY, f"{DEFAULT_HOLD_MUSIC} (default hold music)",
                       url=DEFAULT_HOLD_MUSIC, digits=None, loop=0)
        while member.claim is None:
            if wait_url is None:
                engine.pause(engine.max_life)
                continue
            started = engine.control.now
            step = Fetch(wait_url, verb.wait_url_method, "waitUrl",
                         queue_params(engine, queue, member))
            if _run_wait(engine, step, queue, member):
                engine.log(EventKind.LEAVE, f'left "{queue.name}"', queue=queue.name)
                return "leave"
            silent = silent + 1 if engine.control.now - started < 0.01 else 0
            if silent > MAX_SILENT_WAIT_DOCUMENTS:
                raise LimitExceeded(f"waitUrl {wait_url} was requested {silent} times in a row "
                                    "and played nothing")
    except HoldInterrupted:
        pass
    finally:
        engine.hold = None
    return _bridged(engine, member)


def _run_wait(engine: Engine, step: Transition, queue: Queue, member: QueueMember) -> bool:
    """Play one waitUrl document (following its Redirects/Gathers); True on ``<Leave>``."""
    while True:
        assert not isinstance(step, End | LeaveQueue)
        page = engine.load(step, Context.WAIT)
        outcome = engine.run_document(page, Context.WAIT)
        if outcome is None:
            return False
        if isinstance(outcome, LeaveQueue):
            return True
        if isinstance(outcome, End):
            raise CallEnded("app", "<Hangup> in the waitUrl document")
        if isinstance(outcome, Fetch):
            outcome = Fetch(outcome.url, outcome.method, outcome.purpose,
                            {**queue_params(engine, queue, member), **outcome.params})
        step = outcome


def _bridged(engine: Engine, member: QueueMember) -> str:
    """Dequeued: hear the agent's ``<Queue url>`` document, then talk until one side leaves."""
    bridge = member.claim
    assert bridge is not None
    board = engine.board
    member.dequeued_at = engine.control.now
    if member.announce_url:
        step: Transition | None = Fetch(member.announce_url, member.announce_method,
                                        "queue url", {
                                            "QueueSid": member.queue_sid,
                                            "QueueTime": str(whole_seconds(
                                                member.dequeued_at - member.enqueued_at)),
                                            "DequeingCallSid": member.dequeuer_sid or ""})
        documents = 0
        while isinstance(step, Fetch):
            documents += 1
            engine.guard_documents(documents, "<Queue url> documents")
            page = engine.load(step, Context.ANNOUNCE)
            step = engine.run_document(page, Context.ANNOUNCE)
    with board.cond:
        bridge.connected = True
        board.cond.notify_all()
    engine.log(EventKind.BRIDGE, f"talking to {bridge.b_sid}", **{"with": bridge.b_sid},
               state="connected", ended_by=None)
    engine.pause(engine.max_life, wake=lambda: bridge.ended)
    engine.log(EventKind.BRIDGE, f"ended by {bridge.ended_by}", **{"with": bridge.b_sid},
               state="ended", ended_by=bridge.ended_by)
    return "bridged"


def run_dial_queue(engine: Engine, verb: Dial, doc: Document) -> Transition | None:
    board = engine.board
    target = verb.targets[0]
    action_url = engine.resolve(doc, verb.action, "<Dial action>") if verb.action else None
    callback = recording_callback(engine, verb, doc)
    announce = engine.resolve(doc, target.url, "<Queue url>") if target.url else None
    queue = board.queue(target.address, create=False)
    if queue is None:
        engine.log(EventKind.DIAL, f'queue "{target.address}" does not exist: failed',
                   targets=[f"queue:{target.address}"], status="failed", call_sid=None,
                   duration=None, bridged=False, recording_sid=None)
        return conclude(engine, verb, action_url, "failed", "", None, None, callback)
    bridge = Bridge(a_sid="", b_sid=engine.call.sid)
    taken: list[QueueMember] = []

    def take_front() -> bool:  # runs with board.cond held
        if taken:
            return True
        for member in queue.members:
            if member.claim is None:
                member.claim, member.dequeuer_sid = bridge, engine.call.sid
                member.announce_url, member.announce_method = announce, target.method
                queue.members.remove(member)
                queue.waited.append(member.call.control.live_now() - member.enqueued_at)
                bridge.a_sid = member.call.sid
                taken.append(member)
                board.cond.notify_all()
                return True
        return False

    engine.log(EventKind.DIAL, f'dialling queue "{queue.name}"',
               targets=[f"queue:{queue.name}"], status="ringing", call_sid=None, duration=None,
               bridged=False, recording_sid=None)
    with board.cond:
        found = take_front()
    if not found and not engine.pause(verb.timeout, wake=take_front):
        engine.log(EventKind.DIAL, f'queue "{queue.name}": nobody waiting', status="no-answer",
                   targets=[f"queue:{queue.name}"], call_sid=None, duration=None,
                   bridged=False, recording_sid=None)
        return conclude(engine, verb, action_url, "no-answer", "", None, None, callback)
    return _talk_to_member(engine, verb, action_url, bridge, callback)


def _talk_to_member(engine: Engine, verb: Dial, action_url: str | None, bridge: Bridge,
                    callback: RecordingCallback | None) -> Transition | None:
    board = engine.board
    recording = None
    start = engine.control.now
    try:
        engine.pause(engine.max_life, wake=lambda: bridge.connected or bridge.ended)
        if not bridge.connected:
            engine.log(EventKind.DIAL, "the queued caller left before being connected",
                       status="no-answer", targets=[bridge.a_sid], call_sid=bridge.a_sid,
                       duration=None, bridged=False, recording_sid=None)
            return conclude(engine, verb, action_url, "no-answer", bridge.a_sid, None, None,
                            callback)
        start = engine.control.now
        if verb.records:
            recording = begin(engine, "DialVerb", 2 if verb.dual else 1, callback)
        engine.log(EventKind.BRIDGE, f"talking to {bridge.a_sid}", **{"with": bridge.a_sid},
                   state="connected", ended_by=None)
        if not engine.pause(float(verb.time_limit), wake=lambda: bridge.ended):
            with board.cond:
                bridge.ended_by = bridge.ended_by or "time-limit"
                board.cond.notify_all()
    except Interrupt as exc:
        with board.cond:
            bridge.ended_by = bridge.ended_by or _who(exc)
            board.cond.notify_all()
        abort(engine, verb, action_url, "completed", bridge.a_sid, engine.control.now - start,
              recording, callback, bridged=bridge.connected)
        raise
    duration = engine.control.now - start
    engine.log(EventKind.BRIDGE, f"ended by {bridge.ended_by}", **{"with": bridge.a_sid},
               state="ended", ended_by=bridge.ended_by)
    engine.log(EventKind.DIAL, f"queue caller {bridge.a_sid}: completed after "
               f"{whole_seconds(duration)}s", targets=[bridge.a_sid], status="completed",
               call_sid=bridge.a_sid, duration=whole_seconds(duration), bridged=True,
               recording_sid=recording.sid if recording else None)
    return conclude(engine, verb, action_url, "completed", bridge.a_sid, duration, recording,
                    callback, bridged=True)
