"""The vocabulary shared by the engine and the verb modules.

Transitions say where a call goes after a verb; the exceptions say why a verb stopped;
:class:`Leg` is the party a document is played to; :class:`Context` says which verbs a
document may use (Twilio restricts waitUrl, ``<Queue url>`` and whisper documents).
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from enum import StrEnum

from .script import Caller
from .twiml import Document


class Context(StrEnum):
    """Where a document runs; decides which verbs it may use."""

    MAIN = "the call's TwiML"
    WAIT = "a waitUrl document"
    ANNOUNCE = "a <Queue> url document"
    WHISPER = "a <Dial> noun url document"


ALLOWED = {
    Context.MAIN: frozenset({"Say", "Play", "Pause", "Gather", "Record", "Redirect", "Enqueue",
                             "Dial", "Hangup", "Reject"}),
    Context.WAIT: frozenset({"Play", "Say", "Pause", "Hangup", "Redirect", "Leave", "Gather"}),
    Context.ANNOUNCE: frozenset({"Play", "Say", "Pause", "Redirect"}),
    Context.WHISPER: frozenset({"Play", "Say", "Pause", "Gather", "Hangup", "Redirect"}),
}


@dataclass(frozen=True)
class Fetch:
    """Request a document (``url`` is absolute, as Twilio would request it)."""

    url: str
    method: str
    purpose: str
    params: dict[str, str] = field(default_factory=dict)


@dataclass(frozen=True)
class Inline:
    """Run TwiML given directly (REST ``Twiml`` parameter)."""

    twiml: str
    base_url: str | None = None


@dataclass(frozen=True)
class Loaded:
    """A document already fetched (an action whose callbacks had to follow its request)."""

    doc: Document


class End:
    """The document ended the call (``<Hangup>``, ``<Reject>``)."""


class LeaveQueue:
    """A ``<Leave>`` in a waitUrl document."""


Transition = Fetch | Inline | Loaded | End | LeaveQueue


class TwimlFailure(Exception):
    """A webhook or document failed in a way that ends the call with an error."""

    def __init__(self, message: str, code: int, url: str | None = None) -> None:
        super().__init__(message)
        self.message = message
        self.code = code
        self.url = url


class SeatHungUp(Exception):
    """The dialled party hung up during its whisper document."""


class HoldInterrupted(Exception):
    """The hold ended (the call was dequeued) in the middle of a waitUrl verb."""


@dataclass
class Hold:
    """The call waits in a queue since ``since``; ``wake()`` turns true when dequeued."""

    since: float
    wake: Callable[[], bool]


@dataclass
class Leg:
    """The party a document is played to: the call itself or a dialled seat."""

    name: str
    call_sid: str
    caller: Caller
    params: Callable[[], dict[str, str]]

    @property
    def is_main(self) -> bool:
        return self.name == "caller"


_COUNTRIES = {"+86": "CN", "+852": "HK", "+853": "MO", "+886": "TW", "+1": "US", "+44": "GB",
              "+81": "JP", "+82": "KR", "+65": "SG", "+61": "AU", "+49": "DE", "+33": "FR"}


def country_of(number: str) -> str:
    """ISO country of an E.164 number (best effort, as in Twilio's FromCountry)."""
    for prefix in sorted(_COUNTRIES, key=len, reverse=True):
        if number.startswith(prefix):
            return _COUNTRIES[prefix]
    return ""


def speech_seconds(text: str) -> float:
    """How long a TTS voice takes to say ``text``: ~4 CJK characters or ~15 letters a second."""
    cjk = sum(1 for ch in text if "\u2e80" <= ch <= "\u9fff" or "\uac00" <= ch <= "\ud7af"
              or "\uff00" <= ch <= "\uffef")
    other = len("".join(text.split())) - cjk
    return max(0.5, round(cjk * 0.25 + other * 0.065, 2))
