"""Validated TwiML verbs, as produced by :mod:`twilio_standin.twiml`.

Attribute names follow Twilio's in snake_case; defaults are Twilio's documented defaults.
"""

from __future__ import annotations

from dataclasses import dataclass, field

DIAL_RECORD_VALUES = ("do-not-record", "record-from-answer", "record-from-ringing",
                      "record-from-answer-dual", "record-from-ringing-dual")


@dataclass(frozen=True)
class Say:
    text: str
    voice: str | None = None
    language: str | None = None
    loop: int = 1
    name = "Say"


@dataclass(frozen=True)
class Play:
    url: str | None
    loop: int = 1
    digits: str | None = None
    name = "Play"


@dataclass(frozen=True)
class Pause:
    length: int = 1
    name = "Pause"


@dataclass(frozen=True)
class Gather:
    action: str | None
    method: str
    timeout: int
    num_digits: int | None
    finish_on_key: str
    input: frozenset[str]
    speech_timeout: str
    speech_model: str | None
    hints: str | None
    language: str | None
    action_on_empty_result: bool
    children: list[Say | Play | Pause] = field(default_factory=list)
    name = "Gather"


@dataclass(frozen=True)
class Record:
    action: str | None
    method: str
    timeout: int
    max_length: int
    finish_on_key: str
    play_beep: bool
    trim: str
    status_callback: str | None
    status_callback_method: str
    status_callback_events: frozenset[str]
    name = "Record"


@dataclass(frozen=True)
class Redirect:
    url: str
    method: str = "POST"
    name = "Redirect"


@dataclass(frozen=True)
class Enqueue:
    queue: str
    action: str | None
    method: str
    wait_url: str | None
    wait_url_method: str
    name = "Enqueue"


@dataclass(frozen=True)
class Leave:
    name = "Leave"


@dataclass(frozen=True)
class Hangup:
    name = "Hangup"


@dataclass(frozen=True)
class Reject:
    reason: str = "rejected"
    name = "Reject"


@dataclass(frozen=True)
class DialTarget:
    """A ``<Dial>`` noun: ``kind`` is client, number, sip or queue."""

    kind: str
    address: str
    url: str | None = None
    method: str = "POST"
    status_callback: str | None = None
    status_callback_method: str = "POST"
    status_callback_events: frozenset[str] = frozenset()

    @property
    def seat_key(self) -> str:
        """The key of :attr:`StandIn.seats` for this party (``client:NAME``, …)."""
        if self.kind == "sip":
            return self.address
        return f"{self.kind}:{self.address}"

    @property
    def to(self) -> str:
        """The ``To`` of the dialled leg, as Twilio reports it."""
        return f"client:{self.address}" if self.kind == "client" else self.address


@dataclass(frozen=True)
class Dial:
    action: str | None
    method: str
    timeout: int
    time_limit: int
    caller_id: str | None
    record: str
    trim: str
    status_callback: str | None
    status_callback_method: str
    status_callback_events: frozenset[str]
    targets: list[DialTarget] = field(default_factory=list)
    name = "Dial"

    @property
    def records(self) -> bool:
        return self.record != "do-not-record"

    @property
    def dual(self) -> bool:
        return self.record.endswith("-dual")

    @property
    def from_ringing(self) -> bool:
        return self.record.startswith("record-from-ringing")


Verb = Say | Play | Pause | Gather | Record | Redirect | Enqueue | Leave | Hangup | Reject | Dial
