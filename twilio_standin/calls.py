"""Live call state shared between a call's thread and the REST API, and call handles."""

from __future__ import annotations

import threading
from dataclasses import dataclass, field
from datetime import datetime

from .control import CallControl
from .ids import new_sid, shifted, utc_now, whole_seconds
from .script import Caller, CallScript
from .transcript import CallResult, CallStatus, Transcript


@dataclass
class PhoneNumber:
    """A number of the account and its voice webhooks (as configured in Twilio's console)."""

    number: str
    voice_url: str
    voice_method: str = "POST"
    status_callback: str | None = None
    status_callback_method: str = "POST"
    fallback_url: str | None = None
    fallback_method: str = "POST"
    public_base_url: str | None = None
    sid: str = field(default_factory=lambda: new_sid("PN"))


@dataclass
class OutboundSpec:
    """What the REST ``Calls.json`` request asked for."""

    url: str | None
    method: str
    twiml: str | None
    fallback_url: str | None
    fallback_method: str
    status_callback: str | None
    status_callback_method: str
    status_callback_events: frozenset[str]
    timeout: int
    record: bool
    recording_channels: str
    recording_status_callback: str | None
    recording_status_callback_method: str
    recording_status_callback_events: frozenset[str]


@dataclass(eq=False)
class Call:
    """One call (leg) as the stand-in runs it and the REST API reports it."""

    account_sid: str
    from_: str
    to: str
    direction: str
    control: CallControl
    caller: Caller
    sid: str = field(default_factory=lambda: new_sid("CA"))
    parent_sid: str | None = None
    phone_number_sid: str | None = None
    status: CallStatus = CallStatus.QUEUED
    created_at: datetime = field(default_factory=utc_now)
    answered_at: float | None = None
    ended_at: float | None = None
    hung_up_by: str | None = None
    queue_time: int = 0
    outbound: OutboundSpec | None = None
    transcript: Transcript = field(default_factory=Transcript)
    errors: list[str] = field(default_factory=list)
    recording_sids: list[str] = field(default_factory=list)
    done: threading.Event = field(default_factory=threading.Event)
    result: CallResult | None = None

    @property
    def duration(self) -> int:
        """Seconds from answer to end (simulated), 0 if never answered."""
        if self.answered_at is None:
            return 0
        end = self.ended_at if self.ended_at is not None else self.control.live_now()
        return whole_seconds(end - self.answered_at)

    @property
    def start_time(self) -> datetime | None:
        if self.answered_at is None:
            return None
        return shifted(self.created_at, self.answered_at)

    @property
    def end_time(self) -> datetime | None:
        if self.ended_at is None:
            return None
        return shifted(self.created_at, self.ended_at)

    def finish(self) -> CallResult:
        """Freeze the outcome (called once, by the call's own thread)."""
        self.result = CallResult(
            sid=self.sid, from_=self.from_, to=self.to, direction=self.direction,
            status=self.status, duration=self.duration, hung_up_by=self.hung_up_by,
            transcript=self.transcript, errors=list(self.errors),
            recording_sids=list(self.recording_sids))
        self.done.set()
        return self.result


class CallHandle:
    """A call running in the background: ``handle.wait(timeout)`` returns its result."""

    def __init__(self, call: Call) -> None:
        self._call = call

    @property
    def sid(self) -> str:
        return self._call.sid

    @property
    def status(self) -> CallStatus:
        return self._call.status

    @property
    def done(self) -> bool:
        return self._call.done.is_set()

    @property
    def transcript(self) -> Transcript:
        """The live transcript (grows while the call runs)."""
        return self._call.transcript

    def wait(self, timeout: float | None = None) -> CallResult:
        """Block until the call ends (real seconds); raises ``TimeoutError`` if it does not."""
        if not self._call.done.wait(timeout):
            raise TimeoutError(f"call {self.sid} still running after {timeout}s")
        assert self._call.result is not None
        return self._call.result


@dataclass(eq=False)
class ExpectedCall:
    """A scripted callee for outbound calls to ``to`` (see :meth:`StandIn.expect_call`)."""

    to: str
    script: CallScript | None
    answer: bool = True
    answer_after: float = 3.0
    busy: bool = False
    claimed: threading.Event = field(default_factory=threading.Event)
    call: Call | None = None

    def wait(self, timeout: float | None = None) -> CallResult:
        """Wait for the outbound call to be placed and to end (real seconds)."""
        if not self.claimed.wait(timeout):
            raise TimeoutError(f"no call to {self.to} was placed within {timeout}s")
        assert self.call is not None
        return CallHandle(self.call).wait(timeout)

    @property
    def sid(self) -> str | None:
        return self.call.sid if self.call else None
