"""RQ jobs of the routing queue, and where they are enqueued.

Every job is a top-level function taking ids, run on the ``routing`` queue inside the
app's context, and does one :class:`queues.router.Router` event. If the Redis index was
lost (Redis restarted empty), the job rebuilds it from the database and runs again
(:func:`_routed`); a worker that starts rebuilds it before taking any job
(:func:`on_worker_start`). Timeouts, TTLs and retries are set here, where jobs are
enqueued; the periodic sweeps are declared in :mod:`queues.schedule`.
"""

from __future__ import annotations

import logging
from collections.abc import Callable, Sequence
from typing import Any, TypeVar

from rq import Retry
from rq.job import Job

from callcenter.jobs import ROUTING, enqueue
from callcenter.services import Services, services
from queues import recovery
from queues.context import extension
from queues.index import IndexLost
from queues.mirror import epoch_ms, from_ms
from queues.router import Router

log = logging.getLogger(__name__)

T = TypeVar("T")

JOB_TIMEOUT = 30  # seconds: a routing job is a few Redis, SQL and REST round trips
RESULT_TTL = 600
FAILURE_TTL = 7 * 86400
EVENT_RETRY = Retry(max=3, interval=[1, 2, 5])


# --- enqueueing ---------------------------------------------------------------------------

def _enqueue(svc: Services, func: Callable[..., Any], *args: Any,
             job_id: str | None = None) -> Job:
    return enqueue(svc, ROUTING, func, *args, job_id=job_id, retry=EVENT_RETRY,
                   timeout=JOB_TIMEOUT, result_ttl=RESULT_TTL, failure_ttl=FAILURE_TTL)


def enqueue_call_queued(svc: Services, call_sid: str) -> Job:
    return _enqueue(svc, call_queued, call_sid)


def enqueue_call_ended(svc: Services, call_sid: str, handle_seconds: int | None = None) -> Job:
    return _enqueue(svc, call_ended, call_sid, handle_seconds)


def enqueue_offer_answered(svc: Services, call_sid: str, seat_id: str, seq: int) -> Job:
    return _enqueue(svc, offer_answered, call_sid, seat_id, seq)


def enqueue_offer_unanswered(svc: Services, call_sid: str, seat_id: str, seq: int) -> Job:
    return _enqueue(svc, offer_unanswered, call_sid, seat_id, seq)


def enqueue_conversation_ended(svc: Services, call_sid: str, seat_id: str, seq: int,
                               handle_seconds: int | None) -> Job:
    return _enqueue(svc, conversation_ended, call_sid, seat_id, seq, handle_seconds)


def enqueue_seat_available(svc: Services, seat_id: str) -> Job:
    return _enqueue(svc, seat_available, seat_id)


def enqueue_rebuild(svc: Services) -> Job:
    """One rebuild at a time is enough: a fixed job id folds repeated requests together."""
    return _enqueue(svc, rebuild_index_if_lost, job_id="routing-rebuild-index")


class RqFollowUps:
    """Scheduled routing jobs (RQ's scheduler runs inside every ``ivr worker``)."""

    def __init__(self, svc: Services) -> None:
        self.svc = svc

    def _at(self, at_ms: int, job_id: str, func: Callable[..., Any], *args: Any) -> None:
        if at_ms <= epoch_ms(self.svc.now()):  # due already: RQ's scheduler polls each second
            _enqueue(self.svc, func, *args, job_id=job_id)
            return
        self.svc.queue(ROUTING).enqueue_at(
            from_ms(at_ms), func, *args, job_id=job_id, job_timeout=JOB_TIMEOUT,
            result_ttl=RESULT_TTL, failure_ttl=FAILURE_TTL, retry=EVENT_RETRY)

    def release_wrap_up_at(self, seat_id: str, due_ms: int) -> None:
        self._at(due_ms, f"routing-wrap-up-{seat_id}-{due_ms}", release_wrap_up, seat_id,
                 due_ms)

    def dispatch_at(self, skill: str, at_ms: int) -> None:
        # Calls widening within the same second share one decision, at the end of it.
        second_end = (at_ms // 1000 + 1) * 1000
        self._at(second_end, f"routing-widen-{skill}-{second_end}", dispatch_queues, skill)


def current_router() -> Router:
    """The router of the current app (request, command or job)."""
    svc = services()
    ext = extension()
    return Router(index=ext.index(svc), database=svc.database, config=ext.config,
                  twilio=lambda: svc.twilio, public_url=svc.settings.public_url,
                  follow_ups=RqFollowUps(svc), clock=svc.now)


def _routed(action: Callable[[Router], T]) -> T:
    """Run ``action``; if the index was lost, rebuild it from the database and run again."""
    router = current_router()
    try:
        return action(router)
    except IndexLost:
        log.warning("routing index lost; rebuilding it from the database")
        recovery.ensure_index(router)
        return action(router)


# --- jobs ---------------------------------------------------------------------------------

def call_queued(call_sid: str) -> int:
    """Job: a caller entered a hold queue; index it, decide, offer. Returns offers made."""
    return _routed(lambda router: router.call_queued(call_sid))


def call_ended(call_sid: str, handle_seconds: int | None = None) -> int:
    """Job: the call ended (or left its queue); free whatever it held."""
    return _routed(lambda router: router.call_ended(call_sid, handle_seconds))


def offer_answered(call_sid: str, seat_id: str, seq: int) -> bool:
    """Job: the seat answered the offer ``seq``."""
    return _routed(lambda router: router.offer_answered(call_sid, seat_id, seq))


def offer_unanswered(call_sid: str, seat_id: str, seq: int) -> int:
    """Job: the seat did not answer the offer ``seq``; the call goes back to the front."""
    return _routed(lambda router: router.offer_unanswered(call_sid, seat_id, seq))


def conversation_ended(call_sid: str, seat_id: str, seq: int,
                       handle_seconds: int | None) -> int:
    """Job: the seat leg of an answered offer ended; the seat goes to wrap-up."""
    return _routed(lambda router: router.conversation_ended(call_sid, seat_id, seq,
                                                            handle_seconds))


def seat_available(seat_id: str) -> int:
    """Job: a seat became available; offer it a call if one waits."""
    return _routed(lambda router: router.seat_available(seat_id))


def release_wrap_up(seat_id: str, due_ms: int | None = None) -> int:
    """Job (scheduled at the due time): end the seat's wrap-up and offer it a call."""
    return _routed(lambda router: router.release_wrap_up(seat_id, due_ms))


def dispatch_queues(*skills: str) -> int:
    """Job: decide for these queues (all when none are named): when waiting calls widen."""
    return _routed(lambda router: router.dispatch(skills or None))


def rebuild_index_if_lost() -> bool:
    """Job: rebuild the index if it is lost (a webhook noticed). True if rebuilt."""
    return recovery.ensure_index(current_router()) is not None


# --- periodic sweeps (see queues.schedule) -----------------------------------------------

def sweep_dispatch() -> int:
    """Periodic: decide for every queue (calls widen as they wait; lost events)."""
    return dispatch_queues()


def sweep_stale_offers() -> int:
    """Periodic: offers whose no-answer callback was lost count as not answered."""
    return _routed(recovery.expire_stale_offers)


def sweep_wrap_ups() -> int:
    """Periodic: wrap-ups whose scheduled release was lost end now."""
    return _routed(recovery.release_due_wrap_ups)


def sweep_reconcile() -> dict[str, list[str]]:
    """Periodic: make the index agree with the database (lost jobs and callbacks)."""
    result = _routed(recovery.reconcile)
    return {"indexed_calls": result.indexed_calls, "removed_calls": result.removed_calls,
            "indexed_seats": result.indexed_seats, "problems": result.problems}


def on_worker_start(queue_names: Sequence[str]) -> None:
    """Worker start: a worker of the routing queue rebuilds a lost index (and installs its
    routing file's policy) before it takes any job, so no caller waits for a first event."""
    if ROUTING not in queue_names:
        return
    report = recovery.ensure_index(current_router(), install_policy=True)
    if report is not None:
        log.warning("worker start rebuilt the routing index (seq %d)", report.seq)
