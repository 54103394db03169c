"""The TwiML interpreter for one call: fetching documents, running verbs, passing time.

An :class:`Engine` runs in the call's own thread.  It requests documents with signed
webhooks, validates them, and plays their verbs one by one; ``Gather``/``Record``,
``Enqueue``/``Leave`` and ``Dial`` live in their own modules and are called from here.
A verb either finishes (the next verb runs) or returns a *transition*: fetch another
document (an action, a ``Redirect``), run inline TwiML, end the call, or leave a queue.
"""

from __future__ import annotations

from collections.abc import Callable

from . import dial_verbs, input_verbs, queue_verbs
from .calls import Call, PhoneNumber
from .control import CallEnded, LimitExceeded
from .flow import (
    ALLOWED,
    Context,
    End,
    Fetch,
    Hold,
    HoldInterrupted,
    Inline,
    LeaveQueue,
    Leg,
    Loaded,
    SeatHungUp,
    Transition,
    TwimlFailure,
    country_of,
    speech_seconds,
)
from .ids import API_VERSION
from .script import ActionKind
from .switchboard import Switchboard
from .transcript import CallStatus, Event, EventKind
from .twiml import Document, check_allowed, parse_document
from .twiml_attrs import TwimlError
from .urls import resolve
from .verbs import (
    Dial,
    Enqueue,
    Gather,
    Hangup,
    Leave,
    Pause,
    Play,
    Record,
    Redirect,
    Reject,
    Say,
    Verb,
)
from .webhooks import WebhookClient, WebhookError


def check_or_fail(doc: Document, context: Context) -> None:
    try:
        check_allowed(doc, ALLOWED[context], context.value)
    except TwimlError as exc:
        raise TwimlFailure(exc.message, exc.code, doc.url) from None


class Engine:
    """Runs the TwiML of one call (in that call's thread)."""

    def __init__(self, board: Switchboard, call: Call, number: PhoneNumber | None) -> None:
        self.board = board
        self.call = call
        self.number = number
        self.control = call.control
        self.webhooks = WebhookClient(board.settings.auth_token, board.url_map,
                                      board.settings.webhook_timeout)
        self.fetches_without_input = 0
        self.answered = False
        self.main_leg = Leg("caller", call.sid, call.caller, self.call_params)
        self.hold: Hold | None = None
        self.status_sequence = 0

    def close(self) -> None:
        self.webhooks.close()

    @property
    def call_recordings(self) -> list[str]:
        return self.call.recording_sids

    # ----------------------------------------------------------------- transcript
    def log(self, kind: EventKind, summary: str, *, leg: str = "caller", **data: object) -> None:
        self.call.transcript.add(Event(kind, round(self.control.now, 3), summary, leg,
                                       dict(data)))

    def warn(self, message: str, code: int = 12200, *, leg: str = "caller") -> None:
        self.log(EventKind.WARNING, message, leg=leg, message=message, code=code)

    # ------------------------------------------------------------------- params
    def call_params(self) -> dict[str, str]:
        """Twilio's standard voice request parameters for the call itself."""
        call = self.call
        params = {
            "AccountSid": call.account_sid, "ApiVersion": API_VERSION, "CallSid": call.sid,
            "CallStatus": call.status.value, "Direction": call.direction,
            "From": call.from_, "To": call.to, "Caller": call.from_, "Called": call.to,
        }
        for prefix, number in (("From", call.from_), ("To", call.to), ("Caller", call.from_),
                               ("Called", call.to)):
            params[f"{prefix}Country"] = country_of(number)
            params[f"{prefix}State"] = params[f"{prefix}City"] = params[f"{prefix}Zip"] = ""
        if call.parent_sid:
            params["ParentCallSid"] = call.parent_sid
        return params

    # ------------------------------------------------------------------- time
    @property
    def max_life(self) -> float:
        return self.board.settings.max_call_seconds

    def poll_hangup(self) -> None:
        """End the call if the caller's next due action is to hang up."""
        action = self.call.caller.due(self.control.now)
        if action is not None and action.kind is ActionKind.HANGUP:
            self.call.caller.consume()
            raise self.caller_hangs_up()

    def caller_hangs_up(self, reason: str = "") -> CallEnded:
        """Record that the caller hung up; returns the exception to raise."""
        self.control.request_hangup("caller", reason)
        return CallEnded("caller", reason)

    def pause(self, seconds: float, wake: Callable[[], bool] | None = None) -> bool:
        """Let ``seconds`` of simulated time pass; True if ``wake()`` cut it short.

        The caller may hang up meanwhile (script), a REST request may interrupt, and the
        call's maximum life is enforced.  While the call is on hold (:attr:`hold`), a caller
        with nothing left to do gives up after their patience, and the hold's own wake-up
        (a dequeue) raises :class:`HoldInterrupted` from whatever verb is playing.
        """
        end = self.control.now + seconds
        hold = self.hold
        if wake is None and hold is not None:
            wake = hold.wake
        while True:
            self.control.check()
            self.poll_hangup()
            now = self.control.now
            if now >= self.max_life - 1e-9:
                raise LimitExceeded(f"the call reached its maximum life of {self.max_life:g}s")
            if end - now <= 1e-9:
                return False
            step = min(end - now, self.max_life - now)
            change = self.call.caller.next_change(now)
            if change is not None:
                step = min(step, change - now)
            if hold is not None:
                deadline = max(hold.since, self.call.caller.idle_until) + self.patience
                if deadline <= now + 1e-9:
                    raise self.caller_hangs_up(f"gave up after {self.patience:g}s on hold")
                step = min(step, deadline - now)
            if self.control.sleep(step, wake):
                if hold is not None and wake is hold.wake:
                    raise HoldInterrupted()
                return True

    @property
    def patience(self) -> float:
        return self.call.caller.patience

    def guard_documents(self, count: int, where: str) -> None:
        """Cut a document loop that plays nothing to anyone (endless Redirects)."""
        limit = self.board.settings.max_fetches_without_input
        if count > limit:
            raise LimitExceeded(f"{where}: more than {limit} documents in a row (endless loop?)")

    def note_input(self) -> None:
        """The caller did something: resets the endless-loop guard."""
        self.fetches_without_input = 0

    # ---------------------------------------------------------------- webhooks
    def resolve(self, doc: Document | None, reference: str, what: str) -> str:
        try:
            url = resolve(doc.url if doc else None, reference)
        except ValueError as exc:
            raise TwimlFailure(f"{what}: {exc}", 11100) from None
        if self.board.url_map.hidden_behind_proxy(url):
            self.warn(f"{what}: {url} is a local address; Twilio could only reach the public "
                      "base URL", 11100)
        return url

    def fetch(self, step: Fetch, context: Context, leg: Leg | None = None) -> Document:
        """Request a TwiML document and validate it for ``context``."""
        leg = leg or self.main_leg
        url = self.board.url_map.to_public(step.url)
        params = {**leg.params(), **step.params}
        try:
            response = self.webhooks.send(url, step.method, params)
        except WebhookError as exc:
            self._log_webhook(step.method, url, None, step.purpose, params, leg.name)
            raise TwimlFailure(f"{step.purpose}: {exc.message}", exc.code, url) from None
        self._log_webhook(step.method, url, response.status, step.purpose, params, leg.name)
        if response.status != 200:
            raise TwimlFailure(f"{step.purpose}: {step.method} {url} answered HTTP "
                               f"{response.status}", 11200, url)
        if "xml" not in response.content_type and "html" not in response.content_type:
            self.warn(f"{url}: Content-Type {response.content_type!r} is not XML", 12300,
                      leg=leg.name)
        try:
            doc = parse_document(response.body, url)
            check_allowed(doc, ALLOWED[context], context.value)
        except TwimlError as exc:
            raise TwimlFailure(exc.message, exc.code, url) from None
        for warning in doc.warnings:
            self.warn(warning, leg=leg.name)
        return doc

    def _log_webhook(self, method: str, url: str, status: int | None, purpose: str,
                     params: dict[str, str], leg: str) -> None:
        outcome = "failed" if status is None else str(status)
        self.log(EventKind.WEBHOOK, f"{method} {url} -> {outcome} ({purpose})", leg=leg,
                 method=method, url=url, status=status, purpose=purpose, params=params)

    def load(self, step: Fetch | Inline | Loaded, context: Context, leg: Leg | None = None
             ) -> Document:
        """The document a transition leads to."""
        if isinstance(step, Fetch):
            return self.fetch(step, context, leg)
        if isinstance(step, Inline):
            return self.inline(step, context)
        check_or_fail(step.doc, context)
        return step.doc

    def inline(self, step: Inline, context: Context) -> Document:
        try:
            doc = parse_document(step.twiml, None)
            check_allowed(doc, ALLOWED[context], context.value)
        except TwimlError as exc:
            raise TwimlFailure(exc.message, exc.code) from None
        doc.url = step.base_url
        return doc

    def notify(self, url: str | None, method: str, params: dict[str, str], purpose: str,
               *, leg: str = "caller") -> None:
        """A callback whose answer is ignored (status callbacks); failures are warnings."""
        if not url:
            return
        url = self.board.url_map.to_public(url)
        try:
            response = self.webhooks.send(url, method, params)
        except WebhookError as exc:
            self._log_webhook(method, url, None, purpose, params, leg)
            self.warn(f"{purpose}: {exc.message}", exc.code, leg=leg)
            return
        self._log_webhook(method, url, response.status, purpose, params, leg)
        if not 200 <= response.status < 300:
            self.warn(f"{purpose}: {method} {url} answered HTTP {response.status}", 11200,
                      leg=leg)

    def post_ignored(self, step: Fetch) -> None:
        """Request an action whose TwiML cannot be played any more.

        After a hang-up the request reports the call as ``completed``; after a REST redirect
        the call is still in progress.
        """
        params = {**self.call_params(), **step.params}
        if self.control.hangup_pending:
            params["CallStatus"] = CallStatus.COMPLETED.value
        self.notify(step.url, step.method, params, step.purpose)

    # ---------------------------------------------------------------- documents
    def run_document(self, doc: Document, context: Context, leg: Leg | None = None
                     ) -> Transition | None:
        """Play a document's verbs; a transition, or ``None`` when it ran to its end."""
        leg = leg or self.main_leg
        for verb in doc.verbs:
            self.control.check()
            self.poll_hangup()
            if context is Context.MAIN and not self.answered and not isinstance(verb, Reject):
                self.answer()
            outcome = self.run_verb(verb, doc, context, leg)
            if outcome is not None:
                return outcome
        return None

    def answer(self) -> None:
        self.answered = True
        self.call.status = CallStatus.IN_PROGRESS
        if self.call.answered_at is None:
            self.call.answered_at = self.control.now

    def run_verb(self, verb: Verb, doc: Document, context: Context, leg: Leg
                 ) -> Transition | None:
        match verb:
            case Say():
                self.say(verb, leg)
            case Play():
                self.play(verb, leg)
            case Pause():
                self.log(EventKind.PAUSE, f"{verb.length}s", leg=leg.name, seconds=verb.length)
                self.pause(verb.length)
            case Redirect():
                url = self.resolve(doc, verb.url, "<Redirect>")
                self.log(EventKind.REDIRECT, f"{verb.method} {url}", leg=leg.name, url=url,
                         method=verb.method, by="twiml")
                return Fetch(url, verb.method, "redirect")
            case Hangup():
                if not leg.is_main:
                    raise SeatHungUp()
                self.log(EventKind.HANGUP, "by the application", by="app", reason="<Hangup>")
                return End()
            case Reject():
                return self.reject(verb)
            case Leave():
                return LeaveQueue()
            case _:
                return self.run_complex_verb(verb, doc, context, leg)
        return None

    def run_complex_verb(self, verb: Verb, doc: Document, context: Context, leg: Leg
                         ) -> Transition | None:
        match verb:
            case Gather():
                return input_verbs.run_gather(self, verb, doc, leg)
            case Record():
                return input_verbs.run_record(self, verb, doc)
            case Enqueue():
                return queue_verbs.run_enqueue(self, verb, doc)
            case Dial() if verb.targets[0].kind == "queue":
                return queue_verbs.run_dial_queue(self, verb, doc)
            case Dial():
                return dial_verbs.run_dial(self, verb, doc)
        raise TwimlFailure(f"<{verb.name}> cannot be played here", 12100, doc.url)

    def say(self, verb: Say, leg: Leg) -> None:
        repeats = verb.loop or 1000
        details = ", ".join(x for x in (verb.voice, verb.language) if x)
        self.log(EventKind.SAY, (f"({details}) " if details else "") + verb.text, leg=leg.name,
                 text=verb.text, voice=verb.voice, language=verb.language, loop=verb.loop)
        for _ in range(repeats):
            self.pause(speech_seconds(verb.text))
            leg.caller.hear(verb.text)
            self.poll_hangup()

    def play(self, verb: Play, leg: Leg) -> None:
        repeats = verb.loop or 1000
        what = f"digits {verb.digits}" if verb.digits else str(verb.url)
        self.log(EventKind.PLAY, what, leg=leg.name, url=verb.url, digits=verb.digits,
                 loop=verb.loop)
        if verb.digits:
            seconds = sum(0.5 if d in "wW" else 0.2 for d in verb.digits)
        else:
            seconds = self.board.settings.play_seconds
        for _ in range(repeats):
            self.pause(seconds)
            if verb.url:
                leg.caller.hear(verb.url)

    def reject(self, verb: Reject) -> End:
        if self.answered:
            self.warn("<Reject> after the call was answered just hangs up", 12100)
            self.log(EventKind.HANGUP, "by the application (<Reject> after answer)", by="app",
                     reason="<Reject>")
            return End()
        self.call.status = CallStatus.BUSY if verb.reason == "busy" else CallStatus.NO_ANSWER
        self.log(EventKind.REJECT, verb.reason, reason=verb.reason)
        return End()
