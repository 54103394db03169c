"""Several processes deciding at once never double-offer a seat or a call, nor lose one.

Four OS processes, each with its own Redis connection, run random hotline traffic on the
same index for a few seconds (see ``routing_workers``). Their logs carry the index's
sequence numbers, which Redis hands out inside the atomic scripts, so merged and sorted they
give the real order of every change. Replaying that order on a plain model of seats and
calls checks each offer: the seat must have been available and the call waiting at that
moment. At the end the model must equal the index, with no caller missing.
"""

from __future__ import annotations

import multiprocessing
import random
import time
from collections import Counter

from queues.routing import CallState, SeatRecord, SeatState
from tests.queues.routing_cases import QUEUE_REDIS_URL, IndexFactory
from tests.queues.routing_workers import POLICY, Event, run_worker

WORKERS = 4
SEATS = 200
CALLS_PER_WORKER = 150
SECONDS = 4.0


State = dict[str, tuple[str, str]]


def replay(events: list[Event], seat_ids: list[str]) -> tuple[State, State, Counter[str]]:
    """Apply the merged log to a model; fail on any change the rules do not allow."""
    seats: State = {s: ("offline", "") for s in seat_ids}  # seat -> (state, call)
    calls: State = {}  # call -> (state, seat); state "gone" once ended
    counts: Counter[str] = Counter()
    for kind, seq, rest in events:
        counts[kind] += 1
        where = f"event {seq} {kind} {rest}"
        if kind == "enqueue":
            assert rest[0] not in calls, where
            calls[rest[0]] = ("waiting", "")
        elif kind == "offer":
            call_id, seat_id = rest
            assert calls[call_id] == ("waiting", ""), f"{where}: call is {calls[call_id]}"
            assert seats[seat_id] == ("available", ""), f"{where}: seat is {seats[seat_id]}"
            calls[call_id], seats[seat_id] = ("offered", seat_id), ("reserved", call_id)
        elif kind == "seat":
            seat_id, new, previous = rest
            assert seats[seat_id][0] == previous, f"{where}: model has {seats[seat_id]}"
            assert previous not in ("reserved", "on_call"), where
            seats[seat_id] = (new, "")
        elif kind == "answer":
            call_id, seat_id = rest
            assert calls[call_id] == ("offered", seat_id), where
            calls[call_id], seats[seat_id] = ("connected", seat_id), ("on_call", call_id)
        elif kind == "no_answer":
            call_id, seat_id = rest
            assert calls[call_id] == ("offered", seat_id), where
            calls[call_id], seats[seat_id] = ("waiting", ""), ("missed", "")
        else:
            call_id, was, seat_id = rest
            assert calls[call_id] == (was, seat_id), f"{where}: model has {calls[call_id]}"
            if was == "offered":
                assert seats[seat_id] == ("reserved", call_id), where
                seats[seat_id] = ("available", "")
            elif was == "connected":
                assert seats[seat_id] == ("on_call", call_id), where
                seats[seat_id] = ("wrap_up", "")
            calls[call_id] = ("gone", "")
    return calls, seats, counts


def test_concurrent_workers_keep_offers_exclusive(make_index: IndexFactory, namespace: str) -> None:
    rng = random.Random(7)
    seat_ids = [f"seat{i:03d}" for i in range(SEATS)]
    seats = [
        SeatRecord(
            seat_id,
            {s: rng.randint(1, 4) for s in rng.sample(["complaint", "inquiry", "repair"], 2)},
        )
        for seat_id in seat_ids
    ]
    index = make_index(POLICY)
    index.rebuild([], seats, time.time_ns() // 1_000_000)

    start_at = time.time() + 1.5  # spawned interpreters need a moment to start
    jobs = [(QUEUE_REDIS_URL, namespace, w, seat_ids, CALLS_PER_WORKER, start_at, SECONDS)
            for w in range(WORKERS)]
    with multiprocessing.get_context("spawn").Pool(WORKERS) as pool:
        logs = pool.starmap(run_worker, jobs)
        pool.close()
        pool.join()

    events = sorted((e for log in logs for e in log), key=lambda e: e[1])
    seqs = [e[1] for e in events]
    assert len(set(seqs)) == len(seqs) and 0 not in seqs, "sequence numbers must be unique"
    model_calls, model_seats, counts = replay(events, seat_ids)

    snap = index.snapshot()
    assert snap.problems() == []
    assert counts["enqueue"] == WORKERS * CALLS_PER_WORKER  # every caller got in
    assert counts["offer"] > 300 and counts["no_answer"] > 10 and counts["seat"] > 300, counts
    for call_id, (state, seat_id) in model_calls.items():
        if state == "gone":
            assert call_id not in snap.calls
        else:  # none lost: still waiting, or ringing / talking at exactly the seat logged
            call = snap.calls[call_id]
            assert (call.state, call.seat_id) == (CallState(state), seat_id), call_id
    assert set(snap.calls) <= set(model_calls)
    for seat_id, (state, call_id) in model_seats.items():
        seat = snap.seats[seat_id]
        assert (seat.state, seat.call_id) == (SeatState(state), call_id), seat_id
