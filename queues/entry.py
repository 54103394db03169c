"""The IVR's doors into and out of the hold queues (called by ``ivr.flow``).

A webhook here only writes the database and, once that is committed, enqueues the routing
job: the decision, the offer and the REST redirect happen in an RQ worker, so the caller's
webhook answers in milliseconds whatever Redis or Twilio are doing. The call's row is
written before the job exists, so a lost job loses no caller (the reconcile sweep indexes
every waiting call the index does not know).
"""

from __future__ import annotations

import logging
from collections.abc import Callable, Sequence
from datetime import datetime
from typing import TYPE_CHECKING, Any

from redis.exceptions import RedisError
from sqlalchemy.orm import Session
from twilio.twiml.voice_response import VoiceResponse

from callcenter.db import after_commit
from callcenter.services import Services, services
from ivr import twiml
from ivr.prompts import Prompt
from queues import holding, jobs
from queues.context import routing_config
from queues.priority import caller_standing

if TYPE_CHECKING:
    from ivr.flow import CallContext

log = logging.getLogger(__name__)


def enter(session: Session, *, call_sid: str, caller_number: str, skill: str,
          now: datetime) -> int:
    """The caller goes on hold in ``skill``'s queue with the priority the routing file's
    rules give their standing; the routing job follows the commit. Returns the priority."""
    config = routing_config()
    priority = caller_standing(session, caller_number, now).priority(config.priorities, skill)
    if holding.enter_queue(session, call_sid=call_sid, caller_number=caller_number,
                           skill=skill, priority=priority, now=now):
        svc = services()
        after_commit(session, lambda: jobs.enqueue_call_queued(svc, call_sid))
    return priority


def caller_hung_up(session: Session, call_sid: str, now: datetime) -> None:
    """The status callback says the call ended: a caller still waiting (or ringing a seat)
    is counted as abandoned with the time waited, and the routing frees what it held."""
    if holding.hung_up(session, call_sid, now):
        svc = services()
        after_commit(session, lambda: jobs.enqueue_call_ended(svc, call_sid))


def hold_twiml(ctx: CallContext, skill: str, prompts: Sequence[Prompt]) -> VoiceResponse:
    """Put (or put back) the caller on hold in ``skill``'s Twilio queue."""
    return twiml.enqueue(
        prompts, ctx.prompts.voice, holding.queue_name(skill),
        wait_url=ctx.url("/queue/wait", skill=skill),
        action_url=ctx.url("/queue/left", skill=skill),
    )


def enqueue_quietly(svc: Services, enqueue: Callable[..., Any], *args: Any) -> bool:
    """Enqueue a routing job from a webhook; if Redis is unreachable, log and go on (the
    sweeps redo it: stale offers, reconcile). True if enqueued."""
    try:
        enqueue(svc, *args)
    except RedisError as error:
        log.warning("routing job %s%r not enqueued (%s); the sweeps will catch up",
                    getattr(enqueue, "__name__", enqueue), args, error)
        return False
    return True
