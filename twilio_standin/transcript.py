"""What happened on a call, in order, and the final :class:`CallResult`.

Each :class:`Event` has a kind, the simulated second it happened at, the leg it concerns
(``"caller"`` for the call itself, ``"seat"`` for a dialled party's whisper), a one-line
summary and structured ``data`` for tests.  Data keys by kind:

* ``say``: text, voice, language, loop · ``play``: url, digits, loop · ``pause``: seconds
* ``gather``: input, outcome (``digits``/``speech``/``timeout``), digits, speech, confidence
* ``record``: sid, duration, digits, outcome (``recorded``/``empty``/``hangup``)
* ``enqueue``: queue, queue_sid · ``queue-result``: queue, result, queue_time
* ``dial``: targets, status, call_sid, duration, bridged, recording_sid
* ``bridge``: with (the other party), state (``connected``/``ended``), ended_by
* ``redirect``: url, method, by (``twiml``/``rest``) · ``webhook``: method, url, status, purpose
* ``hangup``: by (``caller``/``app``/``rest``/``seat``/``system``), reason
* ``reject``: reason · ``error``/``warning``: message, code · ``input-ignored``: action
"""

from __future__ import annotations

import threading
from collections.abc import Iterator
from dataclasses import dataclass, field
from enum import StrEnum
from typing import Any


class EventKind(StrEnum):
    """Kinds of transcript events."""

    SAY = "say"
    PLAY = "play"
    PAUSE = "pause"
    GATHER = "gather"
    RECORD = "record"
    BEEP = "beep"
    ENQUEUE = "enqueue"
    QUEUE_RESULT = "queue-result"
    LEAVE = "leave"
    DIAL = "dial"
    BRIDGE = "bridge"
    REDIRECT = "redirect"
    WEBHOOK = "webhook"
    HANGUP = "hangup"
    REJECT = "reject"
    ERROR = "error"
    WARNING = "warning"
    INPUT_IGNORED = "input-ignored"
    STATUS = "status"


@dataclass(frozen=True)
class Event:
    """One transcript entry."""

    kind: EventKind
    at: float
    summary: str
    leg: str = "caller"
    data: dict[str, Any] = field(default_factory=dict)

    def render(self) -> str:
        leg = "" if self.leg == "caller" else f"[{self.leg}] "
        return f"[{self.at:8.1f}s] {leg}{self.kind.value:<12} {self.summary}"


class Transcript:
    """Thread-safe, append-only list of events for one call."""

    def __init__(self) -> None:
        self._events: list[Event] = []
        self._lock = threading.Lock()

    def add(self, event: Event) -> None:
        with self._lock:
            self._events.append(event)

    def __iter__(self) -> Iterator[Event]:
        with self._lock:
            return iter(list(self._events))

    def __len__(self) -> int:
        with self._lock:
            return len(self._events)

    def events(self, kind: EventKind | str | None = None, *, leg: str | None = None) -> list[Event]:
        """Events of a kind (all kinds when ``None``), optionally for one leg only."""
        wanted = EventKind(kind) if kind is not None else None
        return [e for e in self if (wanted is None or e.kind is wanted)
                and (leg is None or e.leg == leg)]

    def render(self) -> str:
        """A readable multi-line account of the call (text kept as said, e.g. Chinese)."""
        return "\n".join(e.render() for e in self)


class CallStatus(StrEnum):
    """Twilio call statuses."""

    QUEUED = "queued"
    INITIATED = "initiated"
    RINGING = "ringing"
    IN_PROGRESS = "in-progress"
    COMPLETED = "completed"
    BUSY = "busy"
    FAILED = "failed"
    NO_ANSWER = "no-answer"
    CANCELED = "canceled"

    @property
    def is_final(self) -> bool:
        return self in _FINAL


_FINAL = {CallStatus.COMPLETED, CallStatus.BUSY, CallStatus.FAILED, CallStatus.NO_ANSWER,
          CallStatus.CANCELED}


@dataclass
class CallResult:
    """How a call ended and everything that happened on it."""

    sid: str
    from_: str
    to: str
    direction: str
    status: CallStatus
    duration: int
    hung_up_by: str | None
    transcript: Transcript
    errors: list[str] = field(default_factory=list)
    recording_sids: list[str] = field(default_factory=list)

    @property
    def ok(self) -> bool:
        """True when the call ran without any TwiML/webhook error."""
        return not self.errors

    @property
    def error(self) -> str | None:
        """The first error, if any."""
        return self.errors[0] if self.errors else None

    @property
    def warnings(self) -> list[str]:
        return [e.data.get("message", e.summary) for e in self.transcript.events("warning")]

    def events(self, kind: EventKind | str | None = None, *, leg: str | None = "caller"
               ) -> list[Event]:
        """Events of a kind on the caller's leg (``leg=None`` for every leg)."""
        return self.transcript.events(kind, leg=leg)

    def said(self) -> list[str]:
        """Every text said to the caller, in order (each loop counted once)."""
        return [e.data["text"] for e in self.events(EventKind.SAY)]

    def pressed(self) -> list[str]:
        """Digits the caller entered at each ``<Gather>`` that took them."""
        return [e.data["digits"] for e in self.events(EventKind.GATHER)
                if e.data.get("outcome") == "digits"]

    def spoke(self) -> list[str]:
        """Speech results the caller gave at ``<Gather>``s."""
        return [e.data["speech"] for e in self.events(EventKind.GATHER)
                if e.data.get("outcome") == "speech"]

    def webhooks(self, purpose: str | None = None) -> list[Event]:
        """Webhook events (every leg), optionally only those of one purpose."""
        return [e for e in self.transcript.events(EventKind.WEBHOOK)
                if purpose is None or e.data.get("purpose") == purpose]

    def render(self) -> str:
        head = (f"Call {self.sid} {self.from_} -> {self.to} ({self.direction}): "
                f"{self.status.value}, {self.duration}s")
        if self.hung_up_by:
            head += f", hung up by {self.hung_up_by}"
        if self.errors:
            head += f"\n  ERROR: {self.errors[0]}"
        return head + "\n" + self.transcript.render()
