"""Keeping the Redis index true to the database: rebuild, reconcile, and the sweeps that
finish what a lost callback or job left undone.

Redis is a fast index, not the only truth. When it comes back empty (a restart, a flush)
every index operation raises :class:`IndexLost`; the job layer then calls
:func:`ensure_index`, which rebuilds the index from the database under a lock (one worker
rebuilds, the others wait and find it rebuilt) and decides for everything that waits.
"""

from __future__ import annotations

import logging
import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from datetime import timedelta
from uuid import uuid4

from sqlalchemy import select

from ivr.models import FINAL_CALL_STATUSES, Call
from queues import mirror
from queues.index import IndexLost, PolicyMismatch, RebuildReport
from queues.models import LIVE_WAIT_STATUSES, QueuedCall, Seat, WaitStatus
from queues.router import Router
from queues.routing import SeatRecord, SeatState, WaitingCall

log = logging.getLogger(__name__)

LOCK_MS = 30_000
LOCK_WAIT_S = 30.0
NEW_CALL_GRACE = timedelta(seconds=10)  # the call_queued job of a new call may still run
MANUAL = (SeatState.AVAILABLE, SeatState.BREAK, SeatState.OFFLINE)


def index_present(router: Router) -> bool:
    """True if the index holds this worker's policy; a cheap read."""
    try:
        router.index.position("-")
    except (IndexLost, PolicyMismatch):
        return False
    return True


def ensure_index(router: Router, *, install_policy: bool = False) -> RebuildReport | None:
    """Rebuild the index from the database if it is lost; returns the report if rebuilt.

    With ``install_policy`` (a worker starting with a new routing file) an index built
    with another policy is rebuilt too; jobs never do that, so that during a rolling deploy
    old and new workers do not take the index from each other.
    """
    def needed() -> bool:
        try:
            router.index.position("-")
        except IndexLost:
            return True
        except PolicyMismatch:
            if install_policy:
                return True
            raise
        return False

    if not needed():
        return None
    with _rebuild_lock(router):
        if not needed():
            return None  # another worker rebuilt it while this one waited
        return rebuild(router)


def rebuild_now(router: Router) -> RebuildReport:
    """Rebuild whether or not the index is lost (``ivr queues rebuild``), under the lock."""
    with _rebuild_lock(router):
        return rebuild(router)


def rebuild(router: Router) -> RebuildReport:
    """Replace the index with the database's records, then decide for every waiting call.
    ``ivr queues rebuild`` runs this; no caller in the database is left out."""
    _, now_ms = router.now()
    with router.database.session() as session:
        records = mirror.load_records(session, router.config.policy.queue_names)
    report = router.index.rebuild(records.calls, records.seats, now_ms, min_seq=records.max_seq)
    for issue in report.repairs:
        log.warning("rebuild repaired: %s", issue)
    log.warning("routing index rebuilt: %d calls, %d seats, seq %d", len(records.calls),
                len(records.seats), report.seq)
    router.dispatch()
    return RebuildReport(report.seq, report.repairs + records.skipped)


@contextmanager
def _rebuild_lock(router: Router) -> Iterator[None]:
    """A Redis lock around a rebuild; waits for another worker's rebuild to finish."""
    client, key, token = router.index.client, router.index.prefix + "rebuild-lock", uuid4().hex
    deadline = time.monotonic() + LOCK_WAIT_S
    while not client.set(key, token, nx=True, px=LOCK_MS):
        if time.monotonic() > deadline:
            raise TimeoutError("another worker has held the routing rebuild lock too long")
        time.sleep(0.05)
    try:
        yield
    finally:
        # Delete only our own lock: it may have expired and been taken by another worker.
        client.eval("if redis.call('GET', KEYS[1]) == ARGV[1] then "
                    "return redis.call('DEL', KEYS[1]) end return 0", 1, key, token)


def expire_stale_offers(router: Router) -> int:
    """Offers ringing well past their ring timeout lost their no-answer callback: treat
    them as not answered. Returns how many."""
    _, now_ms = router.now()
    ring_ms = (router.config.longest_ring_s + router.config.stale_offer_grace_s) * 1000
    stale = router.index.stale_offers(now_ms, ring_ms)
    for offer in stale:
        router.offer_unanswered(offer.call_id, offer.seat_id, offer.offer_seq)
    return len(stale)


def release_due_wrap_ups(router: Router, grace_s: int = 2) -> int:
    """End wrap-ups whose scheduled release did not run. Returns how many ended."""
    moment, _ = router.now()
    with router.database.session() as session:
        due = mirror.due_wrap_ups(session, moment, timedelta(seconds=grace_s))
    for seat_id, due_ms in due:
        router.release_wrap_up(seat_id, due_ms)
    return len(due)


@dataclass
class Reconciliation:
    """What :func:`reconcile` changed, for the log and the command line."""

    indexed_calls: list[str] = field(default_factory=list)
    removed_calls: list[str] = field(default_factory=list)
    indexed_seats: list[str] = field(default_factory=list)
    problems: list[str] = field(default_factory=list)


def reconcile(router: Router) -> Reconciliation:
    """Compare the database with the index and make the index agree.

    A call waiting in the database that the index does not know (its job was lost) is
    indexed; a call the index still holds that has ended (its callback was lost) is hung
    up; a seat missing from the index, or whose skills differ, is put in with its state.
    """
    out = Reconciliation()
    snapshot = router.index.snapshot()
    moment, now_ms = router.now()
    with router.database.session() as session:
        live = session.execute(select(QueuedCall.call_sid, QueuedCall.status, QueuedCall.skill,
                                      QueuedCall.priority, QueuedCall.entered_at)
                               .where(QueuedCall.status.in_(list(LIVE_WAIT_STATUSES)))).all()
        ended = set(session.scalars(select(Call.call_sid).where(
            Call.call_sid.in_(list(snapshot.calls)),
            Call.status.in_(list(FINAL_CALL_STATUSES))))) if snapshot.calls else set()
        seats = session.execute(select(Seat.id, Seat.skills, Seat.state)).all()
    live_ids = {row.call_sid for row in live}
    for row in live:
        if (row.call_sid not in snapshot.calls and row.status == WaitStatus.WAITING
                and row.skill in router.config.policy
                and row.entered_at <= moment - NEW_CALL_GRACE):
            result = router.index.enqueue(WaitingCall(
                row.call_sid, row.skill, row.priority, mirror.epoch_ms(row.entered_at)), now_ms)
            out.indexed_calls.append(row.call_sid)
            router.deliver(result.offers)
    for call_sid in snapshot.calls:
        if call_sid in ended or call_sid not in live_ids:
            out.removed_calls.append(call_sid)
            router.call_ended(call_sid)
    for seat_id, skills, state in seats:
        held = snapshot.seats.get(seat_id)
        if held is not None and dict(held.skills) == dict(skills or {}):
            continue
        try:
            SeatRecord(seat_id, dict(skills or {}))
        except ValueError as error:
            out.problems.append(f"seat {seat_id}: {error}")
            continue
        change = router.index.upsert_seat(seat_id, skills or {}, now_ms, max_offers=0)
        out.indexed_seats.append(seat_id)
        if held is None and state in MANUAL and state != SeatState.OFFLINE:
            router.set_seat_state(seat_id, SeatState(state))
        elif change.previous is SeatState.AVAILABLE:
            router.seat_available(seat_id)
    out.problems += router.index.snapshot().problems()
    for line in out.problems:
        log.error("routing index: %s", line)
    return out
