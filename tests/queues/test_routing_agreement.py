"""The Lua decision agrees with the pure rule on random small states.

Each seeded case draws a policy (minimum levels, widening thresholds, related skills, the
look-ahead bound) and a state (calls with few priorities and coarse entry times, so ties and
several priority classes are common; seats with overlapping skills and equal idle times),
then compares the pure rule with the Redis scripts for the three ways a decision starts:
a sweep, a seat becoming available, and a call entering its queue.
"""

from __future__ import annotations

import random
from dataclasses import replace

from queues.routing import (
    AvailableSeat,
    CallRecord,
    Offer,
    SeatRecord,
    SeatState,
    WaitingCall,
    decide,
    decide_all,
)
from queues.skills import RoutingPolicy, SkillPolicy, WideningStep
from tests.queues.routing_cases import NOW, IndexFactory

SKILLS = ("sa", "sb", "sc", "sd")  # "sd" is never a queue, only a related skill
CASES = 300


def random_policy(rng: random.Random) -> RoutingPolicy:
    queues = []
    for skill in rng.sample(SKILLS[:3], rng.randint(1, 3)):
        steps, after = [], 0
        for _ in range(rng.randint(0, 2)):
            after += rng.choice([1, 2, 5])
            others = [s for s in SKILLS if s != skill]
            related = {s: rng.randint(1, 3) for s in rng.sample(others, rng.randint(0, 2))}
            steps.append(WideningStep(after, rng.choice([None, 1, 2]), related))
        queues.append(SkillPolicy(skill, rng.randint(1, 4), tuple(steps)))
    return RoutingPolicy(tuple(queues), lookahead_classes=rng.randint(1, 4))


def random_id(rng: random.Random, prefix: str, taken: set[str]) -> str:
    while True:  # mixed case and digits: byte order differs from numeric order
        value = prefix + rng.choice(["", "A", "b", "Z"]) + str(rng.randint(0, 30))
        if value not in taken:
            taken.add(value)
            return value


def random_call(rng: random.Random, policy: RoutingPolicy, taken: set[str]) -> WaitingCall:
    waited = rng.randint(-1, 12) * 1000 + rng.choice([0, 0, 500])  # -1: a clock ahead
    priority = rng.choice([100, 200, 300, 400, 500])
    return WaitingCall(random_id(rng, "c", taken), rng.choice(policy.queue_names), priority,
                       NOW - waited)


def random_seat(rng: random.Random, taken: set[str]) -> SeatRecord:
    skills = {s: rng.randint(1, 4) for s in rng.sample(SKILLS, rng.randint(1, 3))}
    state = rng.choice([SeatState.AVAILABLE] * 4 + [SeatState.BREAK, SeatState.OFFLINE])
    idle = NOW - rng.randint(0, 4) * 1000
    return SeatRecord(random_id(rng, "s", taken), skills, state, idle, idle)


def as_available(record: SeatRecord, idle_ms: int | None = None) -> AvailableSeat:
    idle = record.idle_since_ms if idle_ms is None else idle_ms
    return AvailableSeat(record.seat_id, record.skills, idle)


def unsequenced(offers: tuple[Offer, ...] | list[Offer]) -> list[Offer]:
    return [replace(offer, seq=0) for offer in offers]


def test_lua_decisions_agree_with_the_pure_rule(make_index: IndexFactory) -> None:
    offers_seen = 0
    for seed in range(CASES):
        rng = random.Random(seed)
        policy = random_policy(rng)
        taken: set[str] = set()
        calls = [random_call(rng, policy, taken) for _ in range(rng.randint(0, 12))]
        seats = [random_seat(rng, taken) for _ in range(rng.randint(0, 8))]
        records = [CallRecord(c.call_id, c.skill, c.priority, c.entered_ms) for c in calls]
        free = [as_available(s) for s in seats if s.state is SeatState.AVAILABLE]
        index = make_index(policy)
        context = f"seed {seed}: {policy}\ncalls {calls}\nseats {seats}"

        index.rebuild(records, seats, NOW)
        expected = decide_all(calls, free, policy, NOW)
        assert unsequenced(index.dispatch(NOW, max_offers=100)) == expected, context
        assert index.snapshot().problems() == [], context
        offers_seen += len(expected)

        resting = [s for s in seats if s.state is not SeatState.AVAILABLE]
        if resting:
            index.rebuild(records, seats, NOW)
            seat = rng.choice(resting)
            scope = policy.served_by(seat.skills)
            want = decide(calls, [*free, as_available(seat, NOW)], policy, NOW, scope)
            got = index.set_seat_state(seat.seat_id, SeatState.AVAILABLE, NOW).offers
            assert unsequenced(got) == ([] if want is None else [want]), context

        index.rebuild(records, seats, NOW)
        new = random_call(rng, policy, taken)
        want = decide([*calls, new], free, policy, NOW, [new.skill])
        got = index.enqueue(new, NOW).offers
        assert unsequenced(got) == ([] if want is None else [want]), f"{context}\nnew {new}"
    assert offers_seen > CASES  # the cases did exercise matching, not only empty states
