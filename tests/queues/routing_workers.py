"""A worker process of the concurrency test: random traffic against the shared index.

Each worker has its own Redis connection and does what the RQ jobs and webhooks of a
busy hotline would do, all at once with the other workers: callers enter and hang up,
agents become available or take a break, offers are answered or missed, wrap-ups end, and
sweeps run. It returns a log of every change it made, each with the index's sequence
number, so the test can put the logs of all workers in the one order Redis applied them.
"""

from __future__ import annotations

import random
import time

import redis

from queues.index import RedisIndex
from queues.routing import Offer, SeatState, WaitingCall
from queues.skills import RoutingPolicy, SkillPolicy, WideningStep

# Short thresholds, so that calls widen during a run of a few seconds.
POLICY = RoutingPolicy(
    queues=(
        SkillPolicy("complaint", 3, (WideningStep(1, 1), WideningStep(2, related={"inquiry": 2}))),
        SkillPolicy("inquiry", 1),
        SkillPolicy("repair", 2, (WideningStep(1, 1),)),
    ),
)
Event = tuple[str, int, tuple[str, ...]]  # kind, sequence number, ids and states


def now_ms() -> int:
    return time.time_ns() // 1_000_000


def run_worker(
    url: str,
    namespace: str,
    worker: int,
    seat_ids: list[str],
    calls: int,
    start_at: float,
    seconds: float,
) -> list[Event]:
    """Act until ``seconds`` after ``start_at`` (wall clock); return the change log."""
    client = redis.Redis.from_url(url)
    index = RedisIndex(client, POLICY, namespace=namespace)
    rng = random.Random(worker)
    log: list[Event] = []
    ringing: list[Offer] = []  # offers this worker made and settles
    talking: list[str] = []
    wrapping: list[tuple[str, int]] = []
    mine: list[str] = []

    def offered(offers: tuple[Offer, ...]) -> None:
        for offer in offers:
            log.append(("offer", offer.seq, (offer.call_id, offer.seat_id)))
            ringing.append(offer)

    time.sleep(max(0.0, start_at - time.time()))
    while time.time() < start_at + seconds:
        action = rng.random()
        if action < 0.25 and len(mine) < calls:
            call_id = f"w{worker}-{len(mine)}"
            mine.append(call_id)
            skill = rng.choice(POLICY.queue_names)
            priority = rng.choice([100, 200, 300])
            entered = index.enqueue(WaitingCall(call_id, skill, priority, now_ms()), now_ms())
            log.append(("enqueue", entered.seq, (call_id,)))
            offered(entered.offers)
        elif action < 0.45:
            seat_id = rng.choice(seat_ids)
            state = SeatState.BREAK if rng.random() < 0.15 else SeatState.AVAILABLE
            change = index.set_seat_state(seat_id, state, now_ms())
            if change.seq:
                log.append(("seat", change.seq, (seat_id, state.value, change.previous.value)))
            offered(change.offers)
        elif action < 0.65 and ringing:
            offer = ringing.pop(rng.randrange(len(ringing)))
            if rng.random() < 0.7:
                seq = index.answer(offer.call_id, offer.seat_id, now_ms(), offer_seq=offer.seq)
                if seq:
                    log.append(("answer", seq, (offer.call_id, offer.seat_id)))
                    talking.append(offer.call_id)
            else:
                missed = index.no_answer(offer.call_id, offer.seat_id, now_ms(),
                                         offer_seq=offer.seq)
                if missed.seq:
                    log.append(("no_answer", missed.seq, (offer.call_id, offer.seat_id)))
                offered(missed.offers)
        elif action < 0.8 and (talking or mine):
            # a conversation ends, or (less often) one of this worker's callers gives up
            if talking and (not mine or rng.random() < 0.7):
                ending = talking.pop(rng.randrange(len(talking)))
            else:
                ending = rng.choice(mine)
            ended = index.hangup(ending, now_ms())
            if ended.seq and ended.was:
                log.append(("hangup", ended.seq, (ending, ended.was.value, ended.seat_id)))
            if ended.wrap_up_due_ms:
                wrapping.append((ended.seat_id, ended.wrap_up_due_ms))
            offered(ended.offers)
        elif action < 0.9 and wrapping:
            seat_id, due = wrapping.pop(0)
            change = index.release_wrap_up(seat_id, now_ms(), due_ms=due)
            if change.seq:
                log.append(("seat", change.seq, (seat_id, "available", change.previous.value)))
            offered(change.offers)
        else:
            offered(index.dispatch(now_ms(), max_offers=20))
    client.close()
    return log
