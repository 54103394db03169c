"""Writing the routing index's changes to the database, and reading them back to rebuild it.

Every change the index makes has a sequence number. Each row keeps the number of the last
change written to it (``index_seq``), and a change is written only over an older one, so
two workers that finish in the opposite order of their index operations still leave the
row as the index has it. Final statuses of a queued call (completed, abandoned,
overflowed) are never overwritten.
"""

from __future__ import annotations

import logging
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta

from sqlalchemy import func, select, update
from sqlalchemy.orm import Session
from sqlalchemy.sql.expression import Update

from queues.models import LIVE_WAIT_STATUSES, QueuedCall, Seat, WaitStatus
from queues.routing import CallRecord, CallState, Offer, SeatRecord, SeatState

log = logging.getLogger(__name__)


def epoch_ms(moment: datetime) -> int:
    return int(moment.timestamp() * 1000)


def from_ms(ms: int) -> datetime:
    return datetime.fromtimestamp(ms / 1000, tz=UTC)


def seconds_between(start: datetime | None, end: datetime) -> int | None:
    return None if start is None else max(0, round((end - start).total_seconds()))


def _call(call_sid: str, seq: int, *, live_only: bool = True) -> Update:
    statement = update(QueuedCall).where(QueuedCall.call_sid == call_sid,
                                         QueuedCall.index_seq < seq)
    if live_only:
        statement = statement.where(QueuedCall.status.in_(list(LIVE_WAIT_STATUSES)))
    return statement


def _seat(seat_id: str, seq: int) -> Update:
    return update(Seat).where(Seat.id == seat_id, Seat.index_seq < seq)


def entered_at(session: Session, call_sid: str) -> datetime | None:
    return session.scalar(select(QueuedCall.entered_at).where(QueuedCall.call_sid == call_sid))


def offer_made(session: Session, offer: Offer, now: datetime) -> None:
    """The index offered ``offer.call_id`` to ``offer.seat_id``: call offered, seat reserved."""
    session.execute(_call(offer.call_id, offer.seq).values(
        status=WaitStatus.OFFERED, seat_id=offer.seat_id, offer_seq=offer.seq, offered_at=now,
        index_seq=offer.seq))
    session.execute(_seat(offer.seat_id, offer.seq).values(
        state=SeatState.RESERVED, state_since=now, current_call_sid=offer.call_id,
        wrap_up_due_at=None, index_seq=offer.seq))


def offer_answered(session: Session, call_sid: str, seat_id: str, seq: int,
                   now: datetime) -> None:
    """The seat picked up: call connected (its wait recorded), seat on a call."""
    waited = seconds_between(entered_at(session, call_sid), now)
    session.execute(_call(call_sid, seq).values(
        status=WaitStatus.CONNECTED, answered_at=now, waited_seconds=waited, index_seq=seq))
    session.execute(_seat(seat_id, seq).values(
        state=SeatState.ON_CALL, state_since=now, current_call_sid=call_sid, index_seq=seq))


def offer_unanswered(session: Session, call_sid: str, seat_id: str, seq: int,
                     now: datetime) -> None:
    """The seat let it ring out: seat missed, the call waits again at the front."""
    session.execute(_call(call_sid, seq).values(
        status=WaitStatus.WAITING, seat_id=None, offer_seq=0, offered_at=None,
        missed_offers=QueuedCall.missed_offers + 1, index_seq=seq))
    session.execute(_seat(seat_id, seq).values(
        state=SeatState.MISSED, state_since=now, current_call_sid=None, index_seq=seq))


def offer_retracted(session: Session, call_sid: str, seat_id: str, seq: int,
                    now: datetime) -> None:
    """The offer could not be delivered: the call waits, the seat is available again."""
    session.execute(_call(call_sid, seq).values(
        status=WaitStatus.WAITING, seat_id=None, offer_seq=0, offered_at=None, index_seq=seq))
    session.execute(_seat(seat_id, seq).values(
        state=SeatState.AVAILABLE, state_since=now, current_call_sid=None, index_seq=seq))


def call_left(session: Session, call_sid: str, was: CallState, seat_id: str, seq: int,
              wrap_up_due_ms: int, now: datetime) -> None:
    """The call left the index (hang-up, end of conversation, overflow).

    A call that never reached a seat is abandoned with the time it waited; a conversation
    is completed with its handling time and its seat goes to wrap-up; a seat that was
    ringing for it is available again.
    """
    if was is CallState.CONNECTED:
        answered = session.scalar(
            select(QueuedCall.answered_at).where(QueuedCall.call_sid == call_sid))
        session.execute(_call(call_sid, seq).values(
            status=WaitStatus.COMPLETED, ended_at=now, left_at=now,
            handle_seconds=seconds_between(answered, now), index_seq=seq))
    else:
        session.execute(_call(call_sid, seq).values(
            status=WaitStatus.ABANDONED, left_at=now,
            waited_seconds=seconds_between(entered_at(session, call_sid), now), index_seq=seq))
    if not seat_id:
        return
    if was is CallState.CONNECTED and wrap_up_due_ms:
        session.execute(_seat(seat_id, seq).values(
            state=SeatState.WRAP_UP, state_since=now, current_call_sid=None,
            wrap_up_due_at=from_ms(wrap_up_due_ms), index_seq=seq))
    elif was is CallState.OFFERED:
        session.execute(_seat(seat_id, seq).values(
            state=SeatState.AVAILABLE, state_since=now, current_call_sid=None, index_seq=seq))


def handle_time(session: Session, call_sid: str, seconds: int) -> None:
    """Twilio's own figure for the conversation (DialCallDuration) replaces ours."""
    session.execute(update(QueuedCall).where(QueuedCall.call_sid == call_sid)
                    .values(handle_seconds=seconds))


def seat_state(session: Session, seat_id: str, state: SeatState, seq: int,
               now: datetime) -> None:
    """A seat was set to ``state`` (by hand, or by the end of its wrap-up)."""
    values: dict[str, object] = {"state": state, "state_since": now, "current_call_sid": None,
                                 "wrap_up_due_at": None, "index_seq": seq}
    if state is SeatState.AVAILABLE:
        values["idle_since"] = now  # "longest idle" counts from now, as in the index
    session.execute(_seat(seat_id, seq).values(**values))


# --- reading the records back -----------------------------------------------------------

@dataclass(frozen=True, slots=True)
class Records:
    """The database's view of the index: live calls, all seats, and the highest sequence
    number written (the rebuilt index continues above it)."""

    calls: list[CallRecord]
    seats: list[SeatRecord]
    max_seq: int
    skipped: tuple[str, ...]


_CALL_STATES = {WaitStatus.WAITING: CallState.WAITING, WaitStatus.OFFERED: CallState.OFFERED,
                WaitStatus.CONNECTED: CallState.CONNECTED}


def load_records(session: Session, queues: Sequence[str]) -> Records:
    """Every live queued call of ``queues`` and every seat, as index records.

    A row that cannot be indexed (a queue no longer configured, a hand-edited skill) is
    left out and described in ``skipped``; nothing else is dropped.
    """
    skipped: list[str] = []
    calls: list[CallRecord] = []
    rows = session.scalars(select(QueuedCall).where(
        QueuedCall.status.in_(list(LIVE_WAIT_STATUSES))).order_by(QueuedCall.id))
    for row in rows:
        if row.skill not in queues:
            skipped.append(f"call {row.call_sid}: queue {row.skill!r} is not configured")
            continue
        state = _CALL_STATES[WaitStatus(row.status)]
        since = row.answered_at if state is CallState.CONNECTED else row.offered_at
        try:
            calls.append(CallRecord(
                row.call_sid, row.skill, row.priority, epoch_ms(row.entered_at), state,
                row.seat_id or "" if state is not CallState.WAITING else "",
                epoch_ms(since) if since else 0,
                row.offer_seq if state is CallState.OFFERED else 0))
        except ValueError as error:
            skipped.append(f"call {row.call_sid}: {error}")
    seats: list[SeatRecord] = []
    for seat in session.scalars(select(Seat).order_by(Seat.id)):
        try:
            seat_state = SeatState(seat.state)
            seats.append(SeatRecord(
                seat.id, dict(seat.skills or {}), seat_state, epoch_ms(seat.state_since),
                epoch_ms(seat.idle_since),
                seat.current_call_sid or "" if seat_state in (SeatState.RESERVED,
                                                              SeatState.ON_CALL) else "",
                epoch_ms(seat.wrap_up_due_at) if seat.wrap_up_due_at else 0))
        except ValueError as error:
            skipped.append(f"seat {seat.id}: {error}")
    max_seq = max(session.scalar(select(func.max(QueuedCall.index_seq))) or 0,
                  session.scalar(select(func.max(Seat.index_seq))) or 0)
    for issue in skipped:
        log.error("not indexed: %s", issue)
    return Records(calls, seats, max_seq, tuple(skipped))


def due_wrap_ups(session: Session, now: datetime, grace: timedelta) -> list[tuple[str, int]]:
    """Seats whose wrap-up should have ended ``grace`` ago: (seat id, due ms)."""
    rows = session.execute(select(Seat.id, Seat.wrap_up_due_at).where(
        Seat.state == SeatState.WRAP_UP, Seat.wrap_up_due_at <= now - grace))
    return [(seat_id, epoch_ms(due)) for seat_id, due in rows if due is not None]
