"""What the caller hears from the hold queue on: the hold loop, the way out after the
maximum wait, the ringing of a seat, and the end of the conversation.

Views parse Twilio's request into the IVR's ``CallContext`` and call one function here;
each answers with TwiML whatever happened. Routing events found here (a seat answered, did
not answer, hung up) become RQ jobs; only the caller's choice to leave the queue touches
the index directly, so that no seat can be offered a caller who is on the way out.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass

from redis.exceptions import RedisError
from sqlalchemy import select
from twilio.twiml.voice_response import VoiceResponse

from callcenter.services import services
from ivr import callbacks, twiml
from ivr.flow import CallContext, overflow_to_voicemail
from ivr.models import FINAL_CALL_STATUSES
from ivr.prompts import Prompt
from queues import entry, hold, holding, jobs
from queues.context import routing_config, routing_index
from queues.index import IndexLost, RoutingIndexError
from queues.jobs import current_router
from queues.models import OverflowChoice, QueuedCall, Seat, WaitStatus
from queues.routing import SeatState
from queues.seats import SeatError, parse_reach

log = logging.getLogger(__name__)

WORKING = (SeatState.AVAILABLE, SeatState.RESERVED, SeatState.ON_CALL, SeatState.WRAP_UP)
ANSWERED = ("completed", "answered")


@dataclass(frozen=True, slots=True)
class HoldRequest:
    """What Twilio tells the hold loop: the queue, its own figures, and the loop's state."""

    skill: str
    queue_time: int
    twilio_position: int
    state: hold.HoldState


def _position(ctx: CallContext, fallback: int) -> int | None:
    """1-based place in the routing's queue order; Twilio's own (first come, first served)
    when the index cannot say; ``None`` when neither can."""
    try:
        rank = routing_index().position(ctx.facts.call_sid)
    except IndexLost:
        entry.enqueue_quietly(services(), jobs.enqueue_rebuild)
        rank = None
    except (RoutingIndexError, RedisError) as error:
        log.warning("hold loop without the routing index: %s", error)
        rank = None
    return rank + 1 if rank is not None else (fallback or None)


def _staffed(ctx: CallContext, skill: str) -> int:
    skills = ctx.session.scalars(select(Seat.skills).where(Seat.state.in_(list(WORKING))))
    return sum(1 for seat_skills in skills if skill in (seat_skills or {}))


def _announcement(ctx: CallContext, skill: str, row: QueuedCall | None,
                  twilio_position: int) -> list[Prompt]:
    """Position and expected wait; while a seat is being rung, that it is."""
    if row is not None and row.status == WaitStatus.OFFERED:
        return [ctx.p("queue_connecting")]
    position = _position(ctx, twilio_position)
    if position is None:
        return []
    out = [ctx.p("queue_position", position=position)]
    recent = holding.recent_handle_seconds(ctx.session, skill, hold.ETA_SAMPLE)
    eta = hold.expected_wait_s(position, recent, _staffed(ctx, skill))
    if eta is not None:
        out.append(ctx.p("queue_expected_wait", minutes=hold.minutes(eta)) if eta >= 60
                   else ctx.p("queue_expected_wait_short"))
    return out


def hold_turn(ctx: CallContext, request: HoldRequest, music_url: str) -> VoiceResponse:
    """One turn of the hold loop (see :mod:`queues.hold`)."""
    config = routing_config()
    row = holding.waiting_call(ctx.session, ctx.facts.call_sid) if ctx.persisted else None
    since_entry = int((ctx.now - row.entered_at).total_seconds()) if row else 0
    waited = hold.waited_seconds(request.queue_time, since_entry)
    can_leave = row is None or row.status == WaitStatus.WAITING
    turn = hold.plan_turn(waited, request.state, config.hold_for(request.skill),
                          config.hold_music_s, can_leave=can_leave)
    prompts: list[Prompt] = []
    if turn.announce:
        prompts = _announcement(ctx, request.skill, row, request.twilio_position)
    params = {"skill": request.skill, **turn.next_state.to_params()}
    choice = [ctx.p("queue_overflow_choice")] if turn.offer_choice else []
    return twiml.hold_turn(prompts, ctx.prompts.voice, music_url, turn.music_plays,
                           ctx.url("/queue/wait", **params), choice=choice,
                           choice_url=ctx.url("/queue/choice", **params))


def overflow_choice(ctx: CallContext, skill: str, digits: str,
                    state: hold.HoldState) -> VoiceResponse:
    """The caller answered the way-out menu: 1 voicemail, 2 call-back, else keep waiting."""
    choice = {"1": OverflowChoice.VOICEMAIL, "2": OverflowChoice.CALLBACK}.get(digits[:1])
    back = ctx.url("/queue/wait", skill=skill, **state.to_params())
    if choice is None or not ctx.persisted:
        return twiml.speak_and_redirect([], ctx.prompts.voice, back)
    try:
        held = current_router().withdraw(ctx.facts.call_sid)
    except (RoutingIndexError, RedisError) as error:
        # The choice stands; the routing forgets the call once it can (call_ended job).
        log.warning("withdrawing %s from the index failed: %s", ctx.facts.call_sid, error)
        entry.enqueue_quietly(services(), jobs.enqueue_call_ended, ctx.facts.call_sid)
        held = None
    if held is not None:  # a seat is already ringing for the caller: stay for it
        return twiml.speak_and_redirect([ctx.p("queue_connecting")], ctx.prompts.voice, back)
    holding.choose_overflow(ctx.session, ctx.facts.call_sid, choice, ctx.now)
    ctx.step("queue_choice", digits[:1], choice.value)
    return twiml.leave_queue()


def left(ctx: CallContext, result: str) -> VoiceResponse:
    """The <Enqueue> ended: the caller left (way out, hang-up, queue failure) or was moved
    to a seat by the routing (``redirected``: nothing to do)."""
    if not ctx.persisted:
        return twiml.empty()
    holding.leave_queue(ctx.session, ctx.facts.call_sid, result, ctx.now)
    ctx.step("queue_left", outcome=result)
    if result == "leave":
        row = holding.waiting_call(ctx.session, ctx.facts.call_sid)
        if row is not None and row.overflow_choice == OverflowChoice.CALLBACK:
            return _book_callback(ctx)
        return overflow_to_voicemail(ctx)
    if result in ("queue-full", "error", "system-error"):
        entry.enqueue_quietly(services(), jobs.enqueue_call_ended, ctx.facts.call_sid)
        return overflow_to_voicemail(ctx)
    return twiml.empty()


def _book_callback(ctx: CallContext) -> VoiceResponse:
    due = callbacks.create_callback_task(
        ctx.session, call_sid=ctx.facts.call_sid, caller_number=ctx.facts.from_number,
        reason="overflow", recording_sid=None, has_message=False, hours=ctx.hours,
        now=ctx.now)
    ctx.set_outcome("callback")
    if due <= ctx.now:
        return twiml.speak_and_hang_up([ctx.p("queue_callback_booked")], ctx.prompts.voice)
    local = due.astimezone(ctx.hours.zone)
    when = f"{local.month}月{local.day}日{local.strftime('%H:%M')}"
    return twiml.speak_and_hang_up([ctx.p("queue_callback_booked_later", callback_time=when)],
                                   ctx.prompts.voice)


def _offer_held(call_sid: str, seat_id: str, seq: int) -> bool:
    """Whether the index still holds the offer. The redirect that brought the caller here
    was ours (Twilio signed the URL), so when the index cannot be asked, it is trusted."""
    try:
        return routing_index().offer_held(call_sid, seat_id, seq)
    except (RoutingIndexError, RedisError) as error:
        log.warning("offer %s of %s not checked (%s); ringing the seat", seq, call_sid, error)
        return True


def connect(ctx: CallContext, skill: str, seat_id: str, seq: int) -> VoiceResponse:
    """The routing redirected the caller here to ring ``seat_id`` (offer ``seq``). An offer
    the index no longer holds sends the caller back on hold."""
    seat = ctx.session.get(Seat, seat_id) if ctx.persisted and seat_id else None
    if seat is None or not _offer_held(ctx.facts.call_sid, seat_id, seq):
        log.warning("stale offer %s of %s to %s; back on hold", seq, ctx.facts.call_sid, seat_id)
        return entry.hold_twiml(ctx, skill, [])
    try:
        reach = parse_reach(seat.reach)
    except SeatError:
        log.error("seat %s cannot be rung: reach %r", seat_id, seat.reach)
        entry.enqueue_quietly(services(), jobs.enqueue_offer_unanswered, ctx.facts.call_sid,
                              seat_id, seq)
        return entry.hold_twiml(ctx, skill, [])
    ctx.step("seat_offer", outcome=seat_id)
    offer = {"skill": skill, "seat": seat_id, "seq": str(seq)}
    return twiml.dial_seat(
        reach.kind, reach.address,
        ring_timeout=routing_config().hold_for(skill).ring_timeout_s,
        action_url=ctx.url("/queue/seat-done", **offer),
        answered_url=ctx.url("/queue/seat-answered", call=ctx.facts.call_sid, **offer),
        recording_status_url=ctx.url("/recordings/status", kind="conversation", seat=seat_id),
    )


def seat_answered(call_sid: str, seat_id: str, seq: int, status: str) -> None:
    """The seat leg's status callback: on the answer, the routing connects the call."""
    if status == "in-progress":
        entry.enqueue_quietly(services(), jobs.enqueue_offer_answered, call_sid, seat_id, seq)


def seat_done(ctx: CallContext, skill: str, seat_id: str, seq: int, dial_status: str,
              talked_s: int | None) -> VoiceResponse:
    """The Dial to the seat ended (its action): after a conversation the seat wraps up and
    the caller hears the end; unanswered, the caller goes back to the front of the queue."""
    call_sid, svc = ctx.facts.call_sid, services()
    if dial_status in ANSWERED:
        entry.enqueue_quietly(svc, jobs.enqueue_conversation_ended, call_sid, seat_id, seq,
                              talked_s)
        ctx.step("seat_done", outcome=f"talked:{seat_id}")
        return after_seat_leg(ctx, skill)
    if ctx.facts.status in FINAL_CALL_STATUSES:  # the caller hung up while the seat was ringing
        entry.enqueue_quietly(svc, jobs.enqueue_call_ended, call_sid)
        return twiml.empty()
    entry.enqueue_quietly(svc, jobs.enqueue_offer_unanswered, call_sid, seat_id, seq)
    ctx.step("seat_done", outcome=f"{dial_status or 'unknown'}:{seat_id}"[:64])
    return entry.hold_twiml(ctx, skill, [ctx.p("queue_seat_missed")])


def after_seat_leg(ctx: CallContext, skill: str) -> VoiceResponse:
    """What the caller hears once the seat has hung up: thanks and goodbye (for a complaint,
    a word on how it will be handled). The one place to extend, e.g. to speak the number of
    a complaint the seat registered during the call."""
    key = "seat_call_ended_complaint" if skill == "complaint" else "goodbye"
    return twiml.speak_and_hang_up([ctx.p(key)], ctx.prompts.voice)
