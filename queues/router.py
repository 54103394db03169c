"""Carrying routing events through the index, the database and Twilio.

The RQ jobs of :mod:`queues.jobs` call one method of :class:`Router` each. A method makes
one atomic change in the Redis index (which may decide offers), writes what changed to the
database (:mod:`queues.mirror`), and carries out every offer the index made: record it,
then redirect the caller's live call to the TwiML that rings the seat. Offers are carried
out whichever event made them, so none is ever left undelivered: a call already gone is a
hang-up (which may free the seat for the next call), and a redirect Twilio refuses for any
other reason gives the offer back to the index (the call keeps its place at the front).
"""

from __future__ import annotations

import logging
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from datetime import datetime
from typing import Protocol
from urllib.parse import urlencode

from sqlalchemy import select
from twilio.rest import Client

from callcenter.db import Database
from queues import mirror
from queues.config import RoutingConfig
from queues.index import RedisIndex, SeatChange
from queues.models import QueuedCall, Seat, WaitStatus
from queues.routing import CallState, Offer, SeatState, WaitingCall
from queues.telephony import Redirect, redirect_call

log = logging.getLogger(__name__)

CONNECT_PATH = "/queue/connect"


class FollowUps(Protocol):
    """Work the router asks to be done later (RQ's scheduled jobs in production)."""

    def release_wrap_up_at(self, seat_id: str, due_ms: int) -> None: ...

    def dispatch_at(self, skill: str, at_ms: int) -> None: ...


def connect_path(offer: Offer) -> str:
    """Where the caller's call is redirected to ring the seat: names the offer exactly."""
    query = urlencode({"skill": offer.queue, "seat": offer.seat_id, "seq": str(offer.seq)})
    return f"{CONNECT_PATH}?{query}"


@dataclass
class Router:
    """The routing side of one deployment; every dependency is passed in."""

    index: RedisIndex
    database: Database
    config: RoutingConfig
    twilio: Callable[[], Client]
    public_url: Callable[[str], str]
    follow_ups: FollowUps
    clock: Callable[[], datetime]

    def now(self) -> tuple[datetime, int]:
        moment = self.clock()
        return moment, mirror.epoch_ms(moment)

    # --- events ---------------------------------------------------------------------------

    def call_queued(self, call_sid: str) -> int:
        """A caller entered a hold queue (row written by the webhook): index it and decide.
        Returns how many offers were made. A retried job changes nothing."""
        with self.database.session() as session:
            row = session.scalar(select(QueuedCall).where(QueuedCall.call_sid == call_sid))
            if row is None:
                log.warning("queued call %s has no record; ignored", call_sid)
                return 0
            status, call = row.status, WaitingCall(
                call_sid, row.skill, row.priority, mirror.epoch_ms(row.entered_at))
        if status != WaitStatus.WAITING:
            if status not in (WaitStatus.OFFERED, WaitStatus.CONNECTED):
                self.call_ended(call_sid)  # gone before the job ran: make sure it is not indexed
            return 0
        _, now_ms = self.now()
        result = self.index.enqueue(call, now_ms)
        delivered = self.deliver(result.offers)  # first: the caller is waiting for it
        for at_ms in result.widens_at_ms:  # also for an offered call: it may come back
            self.follow_ups.dispatch_at(call.skill, at_ms)
        return delivered

    def dispatch(self, queues: Iterable[str] | None = None) -> int:
        """Decide until no seat can take a call: after widening, a rebuild, a sweep."""
        _, now_ms = self.now()
        return self.deliver(self.index.dispatch(now_ms, queues=queues))

    def seat_available(self, seat_id: str) -> int:
        """A seat became available: decide over the queues it may serve."""
        with self.database.session() as session:
            skills = session.scalar(select(Seat.skills).where(Seat.id == seat_id))
        if skills is None:
            return 0
        queues = self.config.policy.served_by(skills)
        return self.dispatch(queues) if queues else 0

    def offer_answered(self, call_sid: str, seat_id: str, offer_seq: int) -> bool:
        """The seat picked up the offer; False if that offer was no longer held."""
        moment, now_ms = self.now()
        seq = self.index.answer(call_sid, seat_id, now_ms, offer_seq=offer_seq or None)
        if seq:
            with self.database.session() as session:
                mirror.offer_answered(session, call_sid, seat_id, seq, moment)
        return bool(seq)

    def offer_unanswered(self, call_sid: str, seat_id: str, offer_seq: int) -> int:
        """The seat did not answer (no answer, busy, failed): the seat is marked missed and
        the call goes back to the front of its queue, maybe straight to another seat."""
        moment, now_ms = self.now()
        change = self.index.no_answer(call_sid, seat_id, now_ms, offer_seq=offer_seq or None)
        if not change.seq:
            return 0
        with self.database.session() as session:
            mirror.offer_unanswered(session, call_sid, seat_id, change.seq, moment)
        log.info("seat %s missed call %s", seat_id, call_sid)
        return self.deliver(change.offers)

    def call_ended(self, call_sid: str, handle_seconds: int | None = None) -> int:
        """The call ended or left the queue, whoever hung up; idempotent."""
        return self.deliver(self._hang_up(call_sid, handle_seconds))

    def conversation_ended(self, call_sid: str, seat_id: str, offer_seq: int,
                           handle_seconds: int | None) -> int:
        """The seat leg ended after an answer. The answer is applied first in case its own
        callback was lost, so the seat gets its wrap-up either way."""
        self.offer_answered(call_sid, seat_id, offer_seq)
        return self.call_ended(call_sid, handle_seconds)

    def release_wrap_up(self, seat_id: str, due_ms: int | None) -> int:
        """End a seat's wrap-up (only the one due at ``due_ms``, if given) and decide."""
        moment, now_ms = self.now()
        change = self.index.release_wrap_up(seat_id, now_ms, due_ms=due_ms)
        if not change.seq:
            return 0
        with self.database.session() as session:
            mirror.seat_state(session, seat_id, SeatState.AVAILABLE, change.seq, moment)
        return self.deliver(change.offers)

    def set_seat_state(self, seat_id: str, state: SeatState) -> SeatChange:
        """A seat's own or a supervisor's change (available, break, offline).

        Decides nothing: a seat that became available is given calls by the
        ``seat_available`` job, so that no web request waits on Twilio.
        """
        moment, now_ms = self.now()
        change = self.index.set_seat_state(seat_id, state, now_ms, max_offers=0)
        if change.seq:
            with self.database.session() as session:
                mirror.seat_state(session, seat_id, state, change.seq, moment)
        return change

    def withdraw(self, call_sid: str) -> CallState | None:
        """Take a call that still waits out of its queue (the caller chose voicemail or a
        call-back; the webhook records that). Returns ``None`` if the call no longer waits
        in the index, else the state that kept it there: a seat is already ringing or
        talking, and the caller stays with it."""
        _, now_ms = self.now()
        withdrawal = self.index.withdraw(call_sid, now_ms)
        return None if withdrawal.seq or withdrawal.was is None else withdrawal.was

    # --- carrying out offers -------------------------------------------------------------

    def deliver(self, offers: Iterable[Offer]) -> int:
        """Carry out offers, and those that follow from calls found gone; returns the count
        of offers delivered to a live call."""
        pending, delivered = list(offers), 0
        while pending:
            offer = pending.pop(0)
            outcome, more = self._deliver_one(offer)
            delivered += outcome is Redirect.DONE
            pending.extend(more)
        return delivered

    def _deliver_one(self, offer: Offer) -> tuple[Redirect, tuple[Offer, ...]]:
        """Redirect the caller to ring the seat, then record the offer. Twilio is asked
        first because a caller is waiting for it; the TwiML it fetches checks the offer
        against the index, which holds it already, not against this record."""
        url = self.public_url(connect_path(offer))
        outcome = redirect_call(self.twilio(), offer.call_id, url)
        if outcome is Redirect.FAILED:  # one more try: most failures are a dropped connection
            outcome = redirect_call(self.twilio(), offer.call_id, url)
        if outcome is Redirect.GONE:
            log.info("call %s was gone when offered to %s: a hang-up", offer.call_id,
                     offer.seat_id)
            return outcome, self._hang_up(offer.call_id, None)
        if outcome is Redirect.FAILED:
            self._retract(offer)
            return outcome, ()
        moment, _ = self.now()
        with self.database.session() as session:
            mirror.offer_made(session, offer, moment)
        return outcome, ()

    def _retract(self, offer: Offer) -> None:
        moment, now_ms = self.now()
        seq = self.index.retract(offer.call_id, offer.seat_id, now_ms, offer_seq=offer.seq)
        if seq:
            with self.database.session() as session:
                mirror.offer_retracted(session, offer.call_id, offer.seat_id, seq, moment)
        log.warning("offer of %s to %s taken back; the next sweep decides again",
                    offer.call_id, offer.seat_id)

    def _hang_up(self, call_sid: str, handle_seconds: int | None) -> tuple[Offer, ...]:
        with self.database.session() as session:
            seat_id = session.scalar(
                select(QueuedCall.seat_id).where(QueuedCall.call_sid == call_sid))
            own_wrap_up = session.scalar(
                select(Seat.wrap_up_seconds).where(Seat.id == seat_id)) if seat_id else None
        moment, now_ms = self.now()
        result = self.index.hangup(
            call_sid, now_ms, wrap_up_ms=None if own_wrap_up is None else own_wrap_up * 1000)
        with self.database.session() as session:
            if result.seq and result.was is not None:
                mirror.call_left(session, call_sid, result.was, result.seat_id, result.seq,
                                 result.wrap_up_due_ms, moment)
            if handle_seconds is not None:
                mirror.handle_time(session, call_sid, handle_seconds)
        if result.wrap_up_due_ms:
            self.follow_ups.release_wrap_up_at(result.seat_id, result.wrap_up_due_ms)
        return result.offers
