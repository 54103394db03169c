"""What the IVR does at each webhook: decide with the pure menu, record the path, build TwiML.

Views parse Twilio's request into a ``CallContext`` and call one function here. Every
function answers with TwiML, whatever the caller did; none raises for caller input.
"""

from __future__ import annotations

import functools
import logging
from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime

from sqlalchemy.orm import Session

from callcenter.numbers import is_ascii_number
from handlers import lookup as complaint_lookup
from handlers.models import Complaint
from handlers.repeat_callers import RepeatCallers
from ivr import callbacks, calls, twiml
from ivr.hours import BusinessHours
from ivr.journal import CallJournal, StepLine, batch_of
from ivr.lookup_guard import LookupGuard
from ivr.menu import QUEUE_SKILLS, Action, CallerInput, Menu, Node, Skill, Step
from ivr.models import FINAL_CALL_STATUSES, StatusLookup
from ivr.prompts import Prompt, Prompts
from queues import entry as queue_entry

log = logging.getLogger(__name__)


@dataclass
class CallContext:
    """Everything one webhook needs, gathered by the view."""

    open_session: Callable[[], Session]
    journal: CallJournal
    repeat_callers: RepeatCallers
    facts: calls.CallFacts
    request_key: str
    now: datetime
    hours: BusinessHours
    menu_enabled: bool
    prompts: Prompts
    menu: Menu
    guard: LookupGuard
    pin_secret: str
    url: Callable[..., str]

    @property
    def session(self) -> Session:
        """The webhook's unit of work, begun on first use: most menu steps never need it."""
        return self.open_session()

    @functools.cached_property
    def is_open(self) -> bool:
        return self.hours.is_open(self.now)

    @property
    def persisted(self) -> bool:
        return bool(self.facts.call_sid)

    def p(self, key: str, **values: object) -> Prompt:
        return self.prompts.get(key, **values)

    def step(self, node: str, caller_input: str = "", outcome: str = "") -> None:
        """Add a step to the call's path, through the journal (see ``ivr.journal``)."""
        if self.persisted:
            facts = self.facts
            line = StepLine(facts.call_sid, self.request_key, self.now, node, caller_input,
                            outcome, facts.from_number, facts.to_number, facts.direction,
                            not self.is_open)
            try:
                self.journal.append(line)
            except OSError:
                # The journal cannot be written (disk full, directory gone): the step goes
                # to the database at once, the slow way, rather than being lost.
                log.exception("call journal not writable; step of %s written directly",
                              facts.call_sid)
                calls.record_steps(self.session, batch_of([line.encode()]))

    def set_outcome(self, outcome: str) -> None:
        if self.persisted:
            calls.set_outcome(self.session, self.facts, outcome, after_hours=not self.is_open,
                              now=self.now)

    def caller_has_open_complaint(self) -> bool:
        number = self.facts.from_number
        return bool(number) and self.repeat_callers.might_have_open_complaint(number) \
            and complaint_lookup.has_open_complaint(self.session, number)

    def menu_url(self, node: Node, attempt: int = 1, **extra: str) -> str:
        return self.url("/ivr/menu", node=node.value, attempt=str(attempt), **extra)


def incoming(ctx: CallContext) -> twiml.Document:
    """The first answer to a call: greeting, then the menu (or straight to a queue)."""
    entry = ctx.menu.entry(ctx.is_open)
    ctx.step("incoming", outcome=entry.value)
    if ctx.is_open and not ctx.menu_enabled:
        return _enter_queue(ctx, Skill.INQUIRY, [ctx.p("welcome")])
    intro = [ctx.p("welcome")]
    if not ctx.is_open:
        opens, closes = ctx.hours.opens, ctx.hours.closes
        intro = [ctx.p("after_hours", opens=opens.strftime("%H:%M"),
                       closes=closes.strftime("%H:%M"))]
    if ctx.caller_has_open_complaint():
        intro.append(ctx.p("open_complaint_notice"))
    return _play(ctx, entry, 1, intro)


MENU_PROMPTS = {
    Node.MAIN: "main_menu", Node.AFTER_HOURS: "after_hours_menu",
    Node.LOOKUP_MENU: "lookup_menu", Node.LOOKUP_NUMBER: "lookup_enter_number",
    Node.LOOKUP_PIN: "lookup_enter_pin",
}


def _play(ctx: CallContext, node: Node, attempt: int, intro: list[Prompt] | None = None,
          **extra: str) -> twiml.Document:
    prompts = list(intro or [])
    prompts.append(ctx.p(MENU_PROMPTS[node]))
    action = ctx.menu_url(node, attempt, **extra)
    if node in (Node.LOOKUP_NUMBER, Node.LOOKUP_PIN):
        return twiml.keyed_entry(prompts, ctx.prompts.voice, action)
    return twiml.menu(prompts, ctx.prompts.voice, action)


def answer(ctx: CallContext, node: Node, attempt: int, caller: CallerInput,
           complaint_number: str = "") -> twiml.Document:
    """The caller answered (or did not answer) the menu ``node``."""
    step = ctx.menu.decide(node, attempt, caller)
    ctx.step(node.value, caller.describe(), _describe(step))
    if step.kind == "play":
        intro = [ctx.p("reprompt")] if step.reprompt else []
        extra = {"number": complaint_number} if node is Node.LOOKUP_PIN else {}
        return _play(ctx, step.node, step.attempt, intro, **extra)
    if step.kind == "give_up":
        return _give_up(ctx, node)
    if node is Node.LOOKUP_NUMBER:
        return _play(ctx, Node.LOOKUP_PIN, 1, number=step.value)
    if node is Node.LOOKUP_PIN:
        return _lookup_by_number(ctx, complaint_number, step.value)
    return _act(ctx, step)


def _describe(step: Step) -> str:
    if step.kind == "action":
        return step.action.value if step.action else "keyed"
    return "reprompt" if step.reprompt else step.kind


def _act(ctx: CallContext, step: Step) -> twiml.Document:
    action = step.action
    if action in QUEUE_SKILLS:
        skill = QUEUE_SKILLS[action]  # type: ignore[index]
        if not ctx.is_open:  # the menu was heard in hours but answered after closing
            return _voicemail(ctx, [])
        return _enter_queue(ctx, skill, [])
    if action is Action.VOICEMAIL:
        return _voicemail(ctx, [])
    if action is Action.STATUS_BY_CALLER_ID:
        return _lookup_by_caller(ctx)
    if action is Action.KEY_COMPLAINT_NUMBER:
        return _play(ctx, Node.LOOKUP_NUMBER, 1)
    return _play(ctx, ctx.menu.entry(ctx.is_open), 1)  # Action.BACK


def _give_up(ctx: CallContext, node: Node) -> twiml.Document:
    """Too many failed tries: never a dead end — a seat in hours, voicemail after hours."""
    if node in (Node.LOOKUP_MENU, Node.LOOKUP_NUMBER, Node.LOOKUP_PIN):
        return _play(ctx, ctx.menu.entry(ctx.is_open), 1)
    if ctx.is_open:
        return _enter_queue(ctx, Skill.INQUIRY, [ctx.p("give_up_to_queue")])
    return _voicemail(ctx, [ctx.p("give_up_to_voicemail")])


def _enter_queue(ctx: CallContext, skill: Skill, intro: list[Prompt]) -> twiml.Document:
    """On hold in the skill's queue, with the priority the routing rules give the caller;
    the routing (a worker) offers the call to a seat as soon as one can take it."""
    if ctx.persisted:  # the call record exists: every path here records its step first
        queue_entry.enter(ctx.session, call_sid=ctx.facts.call_sid,
                          caller_number=ctx.facts.from_number, skill=skill.value, now=ctx.now)
        ctx.set_outcome(f"queued:{skill.value}")
    prompts = [*intro, ctx.p("queue_entered", skill_name=ctx.prompts.skill_name(skill))]
    return queue_entry.hold_twiml(ctx, skill.value, prompts)


def _voicemail(ctx: CallContext, intro: list[Prompt]) -> twiml.Document:
    ctx.set_outcome("voicemail")
    return twiml.voicemail(
        [*intro, ctx.p("voicemail_instructions")], ctx.prompts.voice,
        action_url=ctx.url("/ivr/voicemail"),
        recording_status_url=ctx.url("/recordings/status", kind="voicemail"),
    )


def _log_lookup(ctx: CallContext, method: str, number: str, outcome: str) -> None:
    if ctx.persisted:
        ctx.session.add(StatusLookup(call_sid=ctx.facts.call_sid,
                                     caller_number=ctx.facts.from_number, method=method,
                                     complaint_number=number[:32], outcome=outcome, at=ctx.now))


def _status_prompts(ctx: CallContext, complaint: Complaint) -> list[Prompt]:
    return [ctx.p("lookup_item", number=spell_digits(complaint.number),
                  stage_text=stage_sentence(ctx.prompts, complaint, ctx.hours))]


def _lookup_by_caller(ctx: CallContext) -> twiml.Document:
    found = complaint_lookup.complaints_for_caller(ctx.session, ctx.facts.from_number)
    _log_lookup(ctx, "caller_id", "", f"found:{len(found)}")
    if not found:
        intro = [ctx.p("lookup_none_for_caller")]
    else:
        intro = [ctx.p("lookup_intro", count=len(found))]
        for complaint in found:
            intro.extend(_status_prompts(ctx, complaint))
    return _play(ctx, Node.LOOKUP_MENU, 1, intro)


def _lookup_by_number(ctx: CallContext, complaint_number: str, pin: str) -> twiml.Document:
    caller = ctx.facts.from_number
    if ctx.guard.caller_locked(caller):
        _log_lookup(ctx, "number", complaint_number, "locked")
        return twiml.speak_and_redirect([ctx.p("lookup_locked")], ctx.prompts.voice,
                                        ctx.menu_url(ctx.menu.entry(ctx.is_open)))
    complaint = None
    if is_ascii_number(complaint_number) and not ctx.guard.complaint_locked(complaint_number):
        complaint = complaint_lookup.complaint_by_number_and_pin(
            ctx.session, ctx.pin_secret, complaint_number, pin)
    if complaint is None:
        ctx.guard.record_failure(caller, complaint_number)
        _log_lookup(ctx, "number", complaint_number, "denied")
        return _play(ctx, Node.LOOKUP_MENU, 1, [ctx.p("lookup_not_found")])
    _log_lookup(ctx, "number", complaint_number, "found")
    return _play(ctx, Node.LOOKUP_MENU, 1, _status_prompts(ctx, complaint))


def spell_digits(number: str) -> str:
    """'2611230001' read digit by digit: a Mandarin voice would say 二十六亿… otherwise."""
    return " ".join(number)


def stage_sentence(prompts: Prompts, complaint: Complaint,
                   hours: BusinessHours) -> str:
    text = prompts.stage_text(complaint.stage)
    if complaint.result and complaint.stage in ("feedback", "archive"):
        text += f"处理结果：{complaint.result}"
    elif complaint.expected_completion_at is not None:
        due = complaint.expected_completion_at.astimezone(hours.zone)
        text += f"预计{due.month}月{due.day}日前办结。"
    return text


def voicemail_done(ctx: CallContext, recording_sid: str, duration: int | None,
                   digits: str) -> twiml.Document:
    """The Record verb ended: keep a call-back task either way, thank or apologise."""
    has_message = bool(recording_sid) and (duration or 0) > 0
    ctx.step("voicemail", f"seconds:{duration or 0}", "message" if has_message else "empty")
    if ctx.persisted:
        ctx.journal.catch_up()  # the task keeps the menu path: this process's steps go first
        due = callbacks.create_callback_task(
            ctx.session, call_sid=ctx.facts.call_sid, caller_number=ctx.facts.from_number,
            reason="voicemail" if has_message else "voicemail_empty",
            recording_sid=recording_sid if has_message else None,
            has_message=has_message, hours=ctx.hours, now=ctx.now)
        ctx.set_outcome("voicemail" if has_message else "voicemail_empty")
    else:
        due = ctx.hours.next_opening(ctx.now)
    if not has_message:
        return twiml.speak_and_hang_up([ctx.p("voicemail_empty")], ctx.prompts.voice)
    local = due.astimezone(ctx.hours.zone)
    when = f"{local.month}月{local.day}日{local.strftime('%H:%M')}"
    return twiml.speak_and_hang_up([ctx.p("voicemail_thanks", callback_time=when)],
                                   ctx.prompts.voice)


def fallback(ctx: CallContext) -> twiml.Document:
    """Twilio could not use our primary answer: apologise and take a message."""
    ctx.step("fallback", outcome="voicemail")
    return _voicemail(ctx, [ctx.p("sorry_error")])


def call_ended(ctx: CallContext, duration: int | None) -> None:
    """Twilio's status callback: close the record; a caller still on hold abandoned.

    The journal is shipped first (before the session writes: SQLite has one writer), so
    that a call served by one process ends with its whole path in the database.
    """
    ctx.journal.catch_up()
    calls.close_call(ctx.session, ctx.facts, duration, ctx.now)
    if ctx.facts.status in FINAL_CALL_STATUSES:
        queue_entry.caller_hung_up(ctx.session, ctx.facts.call_sid, ctx.now)


def overflow_to_voicemail(ctx: CallContext) -> twiml.Document:
    """The caller left the hold queue (waited too long, or the queue failed): take a message."""
    return _voicemail(ctx, [ctx.p("give_up_to_voicemail")])
