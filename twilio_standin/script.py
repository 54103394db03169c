"""Scripting the person on the phone.

A :class:`CallScript` is a list of caller actions consumed in order at the points where a
caller can act:

* ``press("12#")`` – keys at the next ``<Gather>`` that accepts DTMF (at a ``<Record>`` a key
  in ``finishOnKey`` ends the recording);
* ``say("投诉")`` – speech at the next ``<Gather>`` that accepts speech (at a ``<Record>`` the
  caller speaks for as long as the text takes);
* ``silence()`` – deliberately let the next ``<Gather>``/``<Record>`` time out;
* ``speak(seconds=8, then_hangup=False)`` – talk for a while at a ``<Record>``;
* ``wait(seconds)`` – stay on the line that long without giving input (on hold, talking to a
  seat, or letting prompts go by);
* ``hangup()`` – hang up as soon as this action is reached (any time, any verb).

Any action may carry ``after_hearing="text"``: it only becomes due once the caller has heard
a prompt containing that text after the previous action was done.  Input given at a point
that does not take it (keys at a speech-only ``<Gather>``) is consumed and ignored, as a real
keypad press would be.  ``wait`` and ``hangup`` are acted on wherever the call is; the other
actions wait for a ``<Gather>``/``<Record>``.

:class:`SeatBehaviour` describes a dialled party (an agent's client, a number, a SIP URI).
"""

from __future__ import annotations

from dataclasses import dataclass, field
from enum import StrEnum

DEFAULT_PATIENCE = 600.0


class ActionKind(StrEnum):
    """What a scripted caller does."""

    PRESS = "press"
    SAY = "say"
    SILENCE = "silence"
    SPEAK = "speak"
    WAIT = "wait"
    HANGUP = "hangup"


@dataclass(frozen=True)
class CallerAction:
    """One step of a caller script; build these with the helper functions."""

    kind: ActionKind
    digits: str = ""
    text: str = ""
    confidence: float = 0.9
    seconds: float = 0.0
    then_hangup: bool = False
    after_hearing: str | None = None

    def describe(self) -> str:
        """A short human form, used in transcripts and error messages."""
        match self.kind:
            case ActionKind.PRESS:
                core = f'press("{self.digits}")'
            case ActionKind.SAY:
                core = f'say("{self.text}")'
            case ActionKind.SPEAK:
                core = f"speak({self.seconds:g}s{', then hang up' if self.then_hangup else ''})"
            case ActionKind.WAIT:
                core = f"wait({self.seconds:g}s)"
            case _:
                core = f"{self.kind.value}()"
        if self.after_hearing:
            core += f' after hearing "{self.after_hearing}"'
        return core


_KEYS = set("0123456789*#")


def press(digits: str, *, after_hearing: str | None = None) -> CallerAction:
    """Press keys (``0-9``, ``*``, ``#``) at the next DTMF ``<Gather>``."""
    if not digits or set(digits) - _KEYS:
        raise ValueError(f"press() takes keys 0-9, * and #, got {digits!r}")
    return CallerAction(ActionKind.PRESS, digits=digits, after_hearing=after_hearing)


def say(text: str, *, confidence: float = 0.9, after_hearing: str | None = None) -> CallerAction:
    """Say something at the next speech ``<Gather>`` (reported as SpeechResult/Confidence)."""
    if not text.strip():
        raise ValueError("say() needs some text")
    if not 0.0 <= confidence <= 1.0:
        raise ValueError("confidence must be between 0 and 1")
    return CallerAction(ActionKind.SAY, text=text, confidence=confidence,
                        after_hearing=after_hearing)


def silence(*, after_hearing: str | None = None) -> CallerAction:
    """Give no input at the next ``<Gather>``/``<Record>`` so that it times out."""
    return CallerAction(ActionKind.SILENCE, after_hearing=after_hearing)


def speak(seconds: float, *, then_hangup: bool = False,
          after_hearing: str | None = None) -> CallerAction:
    """Talk for ``seconds`` at the next ``<Record>``; optionally hang up right after."""
    if seconds <= 0:
        raise ValueError("speak() needs a positive number of seconds")
    return CallerAction(ActionKind.SPEAK, seconds=float(seconds), then_hangup=then_hangup,
                        after_hearing=after_hearing)


def wait(seconds: float, *, after_hearing: str | None = None) -> CallerAction:
    """Stay on the line for ``seconds`` simulated seconds without giving input."""
    if seconds < 0:
        raise ValueError("wait() needs a non-negative number of seconds")
    return CallerAction(ActionKind.WAIT, seconds=float(seconds), after_hearing=after_hearing)


def hangup(*, after_hearing: str | None = None) -> CallerAction:
    """Hang up as soon as this action is reached."""
    return CallerAction(ActionKind.HANGUP, after_hearing=after_hearing)


@dataclass
class CallScript:
    """The caller's actions, in order, and how long they stay on hold once out of ideas.

    ``patience`` (simulated seconds) applies while the caller is on hold with nothing left
    to do: after that long they hang up.
    """

    actions: list[CallerAction] = field(default_factory=list)
    patience: float = DEFAULT_PATIENCE

    def __post_init__(self) -> None:
        self.actions = list(self.actions)
        if self.patience <= 0:
            raise ValueError("patience must be positive")


@dataclass
class SeatBehaviour:
    """How a dialled party behaves when a ``<Dial>`` rings it.

    ``answer_after`` and ``talk_for`` are simulated seconds.  ``busy`` makes the line busy,
    ``answer=False`` lets it ring out (no-answer), ``fail=True`` makes the attempt fail.
    ``whisper`` scripts the seat's side of a noun ``url`` document (e.g. press 1 to accept).
    """

    answer: bool = True
    answer_after: float = 2.0
    talk_for: float = 60.0
    busy: bool = False
    fail: bool = False
    whisper: CallScript | None = None


class Caller:
    """Runtime cursor over a script: what the caller will do next, given what they heard."""

    def __init__(self, script: CallScript | None) -> None:
        self.script = script or CallScript()
        self._index = 0
        self._heard: list[str] = []
        self.idle_until = 0.0

    @property
    def patience(self) -> float:
        return self.script.patience

    @property
    def exhausted(self) -> bool:
        """True once every action has been used."""
        return self._index >= len(self.script.actions)

    def peek(self) -> CallerAction | None:
        """The next action, due or not."""
        if self.exhausted:
            return None
        return self.script.actions[self._index]

    def hear(self, text: str) -> None:
        """Note a prompt the caller heard (matched by ``after_hearing``)."""
        if text:
            self._heard.append(text)

    def due(self, now: float) -> CallerAction | None:
        """The action the caller is ready to perform at simulated time ``now``.

        A due ``wait`` is performed here (the caller goes idle); ``None`` means the caller
        is idle, waiting for a prompt, or out of actions.
        """
        while True:
            if now < self.idle_until:
                return None
            action = self.peek()
            if action is None:
                return None
            if action.after_hearing and not any(action.after_hearing in t for t in self._heard):
                return None
            if action.kind is ActionKind.WAIT:
                self.consume()
                self.idle_until = now + action.seconds
                continue
            return action

    def consume(self) -> CallerAction:
        """Mark the next action as done."""
        action = self.script.actions[self._index]
        self._index += 1
        self._heard = []
        return action

    def next_change(self, now: float) -> float | None:
        """When the caller's state changes by itself (end of a wait), if in the future."""
        return self.idle_until if self.idle_until > now else None
