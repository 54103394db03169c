"""The :class:`StandIn` itself: configuration, calls, and the REST server."""

from __future__ import annotations

import time
from collections.abc import Callable
from typing import Any

from twilio.request_validator import RequestValidator

from .calls import Call, CallHandle, ExpectedCall, OutboundSpec, PhoneNumber
from .control import CallControl, RedirectTarget
from .engine import Engine
from .faults import Faults
from .lifecycle import run_inbound, run_outbound
from .messages import MessageStore, SentMessage, deliver
from .recordings import Recording, RecordingStore
from .rest_api import RestApi
from .rest_server import RestServer
from .script import Caller, CallScript, SeatBehaviour
from .switchboard import Settings, Switchboard
from .transcript import CallResult, EventKind
from .urls import UrlMap, origin

DEFAULT_ACCOUNT_SID = "AC" + "0" * 32
DEFAULT_AUTH_TOKEN = "standin-auth-token"


class StandIn:
    """A local Twilio: plays calls against your webhooks and serves Twilio's REST API.

    ``time_scale`` is real seconds per simulated second (0.01: one simulated second takes
    10 ms).  Use as a context manager or call :meth:`start` / :meth:`stop`.
    """

    def __init__(self, account_sid: str = DEFAULT_ACCOUNT_SID,
                 auth_token: str = DEFAULT_AUTH_TOKEN, *, time_scale: float = 0.01,
                 host: str = "127.0.0.1", port: int = 0, **settings: Any) -> None:
        if time_scale <= 0:
            raise ValueError("time_scale must be positive")
        self.settings = Settings(account_sid=account_sid, auth_token=auth_token,
                                 time_scale=time_scale, **settings)
        self.url_map = UrlMap()
        self.faults = Faults()
        self._recordings = RecordingStore()
        self._messages = MessageStore()
        self._board = Switchboard(self.settings, self.url_map, self._recordings,
                                  lambda: self.base_url)
        self._api = RestApi(self._board, self._messages, self.faults, self._place_outbound,
                            self._send_message)
        self._server = RestServer(self._api.dispatch, self.faults, host, port)
        self._started = False

    # ---------------------------------------------------------------- lifecycle
    def start(self) -> StandIn:
        """Serve the REST API (and recording media) in a background thread."""
        if not self._started:
            self._server.start()
            self._started = True
        return self

    def stop(self) -> None:
        """Hang up every call, stop the server and join all threads."""
        if not self._started:
            return
        self._board.hang_up_everything()
        self._board.join_all(timeout=10.0)
        self._server.stop()
        self._board.join_all(timeout=10.0)
        self._started = False

    def __enter__(self) -> StandIn:
        return self.start()

    def __exit__(self, *exc: object) -> None:
        self.stop()

    @property
    def base_url(self) -> str:
        """Where the REST API is served, e.g. ``http://127.0.0.1:54321``."""
        return self._server.base_url

    @property
    def account_sid(self) -> str:
        return self.settings.account_sid

    @property
    def auth_token(self) -> str:
        return self.settings.auth_token

    def validator(self) -> RequestValidator:
        """A validator for the signatures this stand-in puts on webhooks."""
        return RequestValidator(self.settings.auth_token)

    # ------------------------------------------------------------ configuration
    def add_number(self, number: str, voice_url: str, *, voice_method: str = "POST",
                   status_callback: str | None = None, status_callback_method: str = "POST",
                   fallback_url: str | None = None, fallback_method: str = "POST",
                   public_base_url: str | None = None) -> PhoneNumber:
        """Configure a number's webhooks (local URLs of the app under test).

        With ``public_base_url`` requests are signed as sent to that base (the app sits
        behind a proxy) and TwiML URLs under it are delivered to the local address.
        """
        config = PhoneNumber(number, voice_url, voice_method.upper(), status_callback,
                             status_callback_method.upper(), fallback_url,
                             fallback_method.upper(), public_base_url)
        if public_base_url:
            self.url_map.add(public_base_url, origin(voice_url))
        with self._board.cond:
            self._board.numbers[number] = config
        return config

    def map_url(self, public_base_url: str, local_base_url: str) -> None:
        """Add a public→local proxy rule without a number."""
        self.url_map.add(public_base_url, local_base_url)

    @property
    def seats(self) -> dict[str, SeatBehaviour]:
        """Dialled parties by ``client:NAME``, ``number:+86…`` or ``sip:…``."""
        return self._board.seats

    # -------------------------------------------------------------------- calls
    def call(self, from_: str, to: str, script: CallScript | None = None, *,
             timeout: float | None = None) -> CallResult:
        """Place an inbound call to one of the numbers and wait for it to end."""
        return self.start_call(from_, to, script).wait(timeout)

    def start_call(self, from_: str, to: str, script: CallScript | None = None) -> CallHandle:
        """Place an inbound call in the background."""
        with self._board.cond:
            number = self._board.numbers.get(to)
        if number is None:
            raise ValueError(f"{to} is not a number of this stand-in (use add_number)")
        call = self._new_call(from_, to, "inbound", script)
        call.phone_number_sid = number.sid
        engine = Engine(self._board, call, number)
        self._board.spawn(f"call-{call.sid}", lambda: self._run(run_inbound, engine))
        return CallHandle(call)

    def _new_call(self, from_: str, to: str, direction: str, script: CallScript | None) -> Call:
        control = CallControl(self._board.cond, self.settings.time_scale)
        call = Call(account_sid=self.account_sid, from_=from_, to=to, direction=direction,
                    control=control, caller=Caller(script))
        self._board.register(call)
        return call

    @staticmethod
    def _run(runner: Any, engine: Engine, *args: Any) -> None:
        try:
            runner(engine, *args)
        except BaseException as exc:  # never leave a waiting test hanging
            engine.call.errors.append(f"stand-in internal error: {exc!r}")
            engine.call.control.finished = True
            engine.call.finish()
            raise

    def hangup(self, call_sid: str) -> bool:
        """The caller hangs up now (False if the call is unknown or over)."""
        call = self._board.get(call_sid)
        return bool(call and call.control.request_hangup("caller"))

    def redirect(self, call_sid: str, url: str, method: str = "POST") -> bool:
        """Redirect a live call like ``calls(sid).update(url=…)`` does."""
        call = self._board.get(call_sid)
        return bool(call and call.control.request_redirect(RedirectTarget(url, method.upper())))

    def handle(self, call_sid: str) -> CallHandle:
        call = self._board.get(call_sid)
        if call is None:
            raise KeyError(call_sid)
        return CallHandle(call)

    def expect_call(self, to: str, script: CallScript | None = None, *, answer: bool = True,
                    answer_after: float = 3.0, busy: bool = False) -> ExpectedCall:
        """Script the callee of the next REST-created call to ``to``."""
        expected = ExpectedCall(to, script, answer, answer_after, busy)
        with self._board.cond:
            self._board.expected.append(expected)
        return expected

    def _place_outbound(self, from_: str, to: str, spec: OutboundSpec,
                        ignored_events: list[str]) -> tuple[Call, Callable[[], None]]:
        """Create the call; the returned function starts it (after the 201 is built)."""
        expected = self._board.claim_expected(to)
        call = self._new_call(from_, to, "outbound-api", expected.script if expected else None)
        call.outbound = spec
        engine = Engine(self._board, call, None)
        for name in ignored_events:
            engine.warn(f"Calls.json: unknown status callback event {name!r} ignored", 21626)

        def begin() -> None:
            if expected is not None:
                expected.call = call
                expected.claimed.set()
            self._board.spawn(f"call-{call.sid}",
                              lambda: self._run(run_outbound, engine, expected))

        return call, begin

    # ------------------------------------------------------- messages, media
    def _send_message(self, message: SentMessage) -> None:
        self._board.spawn(f"sms-{message.sid}", lambda: deliver(
            message, self.account_sid, self.auth_token, self.url_map,
            self.settings.webhook_timeout))

    @property
    def messages(self) -> list[SentMessage]:
        """SMS sent through the REST API, oldest first."""
        return self._messages.all()

    @property
    def recordings(self) -> list[Recording]:
        """Recordings made (and not deleted), oldest first."""
        return self._recordings.all()

    def recording(self, sid: str) -> Recording:
        found = self._recordings.get(sid)
        if found is None:
            raise KeyError(sid)
        return found

    def queue_size(self, name: str) -> int:
        """How many calls wait in a queue now."""
        queue = self._board.queue(name, create=False)
        with self._board.cond:
            return len(queue.members) if queue else 0

    def wait_for_queue(self, name: str, size: int, timeout: float = 5.0) -> bool:
        """Block (real seconds) until a queue holds at least ``size`` calls."""
        with self._board.cond:
            return self._board.cond.wait_for(
                lambda: (q := self._board.queues.get(name)) is not None and len(q.members) >= size,
                timeout)

    def wait_for_event(self, call_sid: str, kind: EventKind | str, timeout: float = 5.0) -> bool:
        """Block (real seconds) until a call's transcript has an event of ``kind``."""
        call = self._board.get(call_sid)
        if call is None:
            raise KeyError(call_sid)
        deadline = time.monotonic() + timeout
        while not call.transcript.events(kind):
            if call.done.is_set() or time.monotonic() >= deadline:
                return bool(call.transcript.events(kind))
            time.sleep(0.002)
        return True
