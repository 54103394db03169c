"""Shared state of one stand-in: settings, calls, queues, bridges, seats and numbers.

Everything here is guarded by the switchboard's condition variable (``board.cond``); any
change that another call may be waiting for ends with ``cond.notify_all()``.
"""

from __future__ import annotations

import threading
from collections.abc import Callable
from dataclasses import dataclass, field

from .calls import Call, ExpectedCall, PhoneNumber
from .ids import new_sid
from .recordings import RecordingStore
from .script import SeatBehaviour
from .urls import UrlMap


@dataclass
class Settings:
    """Tunables of a stand-in (times are simulated seconds unless stated)."""

    account_sid: str
    auth_token: str
    time_scale: float = 0.01
    max_call_seconds: float = 4 * 3600
    max_fetches_without_input: int = 50
    webhook_timeout: float = 10.0  # real seconds
    play_seconds: float = 5.0
    queue_max_size: int = 100
    media_requires_auth: bool = True


@dataclass(eq=False)
class Bridge:
    """Two parties talking; ends when either side leaves."""

    a_sid: str
    b_sid: str
    connected: bool = False
    ended_by: str | None = None

    @property
    def ended(self) -> bool:
        return self.ended_by is not None


@dataclass(eq=False)
class QueueMember:
    """A call waiting in a queue; ``claim`` is set by the call that dequeues it."""

    call: Call
    enqueued_at: float
    queue_sid: str = ""
    claim: Bridge | None = None
    dequeued_at: float | None = None
    dequeuer_sid: str | None = None
    announce_url: str | None = None
    announce_method: str = "POST"


@dataclass(eq=False)
class Queue:
    """A named call queue (created on first use, as Twilio does)."""

    name: str
    max_size: int
    sid: str = field(default_factory=lambda: new_sid("QU"))
    members: list[QueueMember] = field(default_factory=list)
    waited: list[float] = field(default_factory=list)

    def position(self, member: QueueMember) -> int:
        return self.members.index(member) + 1 if member in self.members else 0

    def average_wait(self) -> int:
        times = self.waited + [m.call.control.live_now() - m.enqueued_at for m in self.members]
        return int(sum(times) / len(times) + 0.5) if times else 0


class Switchboard:
    """The stand-in's shared state."""

    def __init__(self, settings: Settings, url_map: UrlMap, recordings: RecordingStore,
                 base_url: Callable[[], str]) -> None:
        self.settings = settings
        self.url_map = url_map
        self.recordings = recordings
        self._base_url = base_url
        self.cond = threading.Condition()
        self.calls: dict[str, Call] = {}
        self.child_bridges: dict[str, Bridge] = {}
        self.queues: dict[str, Queue] = {}
        self.seats: dict[str, SeatBehaviour] = {}
        self.numbers: dict[str, PhoneNumber] = {}
        self.expected: list[ExpectedCall] = []
        self._threads: list[threading.Thread] = []

    @property
    def base_url(self) -> str:
        return self._base_url()

    def recording_url(self, recording_sid: str) -> str:
        """The RecordingUrl Twilio sends: the media resource, without an extension."""
        return (f"{self.base_url}/2010-04-01/Accounts/{self.settings.account_sid}"
                f"/Recordings/{recording_sid}")

    def register(self, call: Call) -> None:
        with self.cond:
            self.calls[call.sid] = call

    def get(self, sid: str) -> Call | None:
        with self.cond:
            return self.calls.get(sid)

    def queue(self, name: str, create: bool) -> Queue | None:
        with self.cond:
            if name not in self.queues and create:
                self.queues[name] = Queue(name=name, max_size=self.settings.queue_max_size)
            return self.queues.get(name)

    def claim_expected(self, to: str) -> ExpectedCall | None:
        """Take the oldest expectation for calls to ``to`` (each serves one call)."""
        with self.cond:
            for expectation in self.expected:
                if expectation.to == to:
                    self.expected.remove(expectation)
                    return expectation
        return None

    def spawn(self, name: str, target: Callable[[], None]) -> threading.Thread:
        """Run ``target`` in a tracked thread (joined by :meth:`join_all`)."""
        thread = threading.Thread(target=target, name=name, daemon=True)
        with self.cond:
            self._threads = [t for t in self._threads if t.is_alive()]
            self._threads.append(thread)
        thread.start()
        return thread

    def hang_up_everything(self) -> None:
        with self.cond:
            calls = list(self.calls.values())
        for call in calls:
            call.control.request_hangup("system", "stand-in stopped")

    def join_all(self, timeout: float) -> None:
        with self.cond:
            threads = list(self._threads)
        for thread in threads:
            if thread is not threading.current_thread():
                thread.join(timeout)
