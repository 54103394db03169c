"""Routing decision speed and memory of the Redis index, against the targets.

Builds 20 skill queues and 2,000 seats (3 skills each, levels 1-5) in Redis database 14,
fills the queues with 100, 1,000 and 10,000 waiting calls (6 priorities, entries spread
over the last 3 minutes so every widening tier is present), and times the decision made
when a seat becomes available: one EVALSHA that frees the seat, looks at the heads of the
up to 9 queues it may serve and offers the best call. Decisions per second on one worker
is 1 / mean latency (a worker that does nothing but decide, one after another). Also
timed: a call entering a queue no seat can serve, and a sweep of all 20 queues. Prints the
figures and, for each target, met or missed and by how much.

    .venv/bin/python bench/routing_decision.py [--redis-url URL] [--rounds 3000]

Runs in Redis database 14 (or TEST_REDIS_URL) under its own namespaces, whose keys it
deletes before and after; nothing else in the database is touched. The three sizes are
measured in turns, batch by batch, so the load of a shared machine weighs on all alike.
"""

from __future__ import annotations

import argparse
import os
import random
import statistics
import sys
import time
from collections.abc import Callable
from pathlib import Path

import redis

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from queues.index import IndexLost, RedisIndex  # noqa: E402
from queues.routing import CallRecord, Offer, SeatRecord, SeatState, WaitingCall  # noqa: E402
from queues.skills import RoutingPolicy, SkillPolicy, WideningStep  # noqa: E402

SKILLS = [f"skill{i:02d}" for i in range(20)]
SEATS = 2_000
SIZES = (100, 1_000, 10_000)
PRIORITIES = (100, 150, 200, 300, 400, 500)
BATCH = 200

TARGET_P99_MS = 1.0
TARGET_GROWTH = 1.5
TARGET_RATE = 1_000.0
TARGET_BYTES = 1_024.0


def policy() -> RoutingPolicy:
    """Level 2 at first, any level after 60 s, the two next skills (level 2) after 120 s."""
    return RoutingPolicy(
        queues=tuple(
            SkillPolicy(
                skill,
                min_level=2,
                widening=(
                    WideningStep(60, min_level=1),
                    WideningStep(120, related={SKILLS[(i + 1) % 20]: 2, SKILLS[(i + 2) % 20]: 2}),
                ),
            )
            for i, skill in enumerate(SKILLS)
        )
    )


def now_ms() -> int:
    return time.time_ns() // 1_000_000


def percentile(values: list[float], share: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, int(share * len(ordered)))]


class Bench:
    """One index of ``size`` waiting calls and 2,000 seats, in its own namespace."""

    def __init__(self, client: redis.Redis, size: int) -> None:
        self.client = client
        self.size = size
        self.rng = random.Random(size)
        self.index = RedisIndex(client, policy(), namespace=f"bench-routing-{size}")
        self.next_call = 0
        self.seat_ids: list[str] = []
        self.next_seat = 0
        self.latencies: list[float] = []
        self.offered = 0

    def new_call(self, at: int) -> WaitingCall:
        self.next_call += 1
        entered = at - self.rng.randint(0, 180_000)
        return WaitingCall(f"CA{self.next_call:032x}", self.rng.choice(SKILLS),
                           self.rng.choice(PRIORITIES), entered)

    def build(self) -> None:
        """A fresh index: ``size`` calls waiting, every seat on a break."""
        at = now_ms()
        seats = [
            SeatRecord(f"seat{i:04d}",
                       {s: self.rng.randint(1, 5) for s in self.rng.sample(SKILLS, 3)},
                       SeatState.BREAK, at, at)
            for i in range(SEATS)
        ]
        waiting = [self.new_call(at) for _ in range(self.size)]
        records = [CallRecord(c.call_id, c.skill, c.priority, c.entered_ms) for c in waiting]
        self.drop()
        self.index.rebuild(records, seats, at)
        self.index.load_scripts()
        self.seat_ids = [s.seat_id for s in seats]
        self.latencies, self.offered = [], 0

    def drop(self) -> None:
        """Delete every key of this index."""
        keys = list(self.client.scan_iter(match=f"{self.index.prefix}*", count=1000))
        for start in range(0, len(keys), 1000):
            self.client.delete(*keys[start:start + 1000])

    def batch(self, record: bool = True) -> None:
        """BATCH decisions made as seats become available, one after another (timed).

        Each offered call is replaced at once by a new one (not timed), so the number of
        waiting calls stays the same; then the offers are settled and the seats sent back
        to a break.
        """
        batch = [self.seat_ids[(self.next_seat + i) % SEATS] for i in range(BATCH)]
        self.next_seat += BATCH
        offers: list[Offer] = []
        for seat_id in batch:
            t0 = time.perf_counter()
            change = self.index.set_seat_state(seat_id, SeatState.AVAILABLE, now_ms())
            if record:
                self.latencies.append((time.perf_counter() - t0) * 1000)
                self.offered += len(change.offers)
            offers += change.offers
            for _ in change.offers:
                offers += self.index.enqueue(self.new_call(now_ms()), now_ms()).offers
        for offer in offers:
            self.index.answer(offer.call_id, offer.seat_id, now_ms())
            self.index.hangup(offer.call_id, now_ms())
        for seat_id in {*batch, *(offer.seat_id for offer in offers)}:
            self.index.set_seat_state(seat_id, SeatState.BREAK, now_ms())

    def timed(self, rounds: int, action: Callable[[], object]) -> list[float]:
        latencies = []
        for _ in range(rounds):
            t0 = time.perf_counter()
            action()
            latencies.append((time.perf_counter() - t0) * 1000)
        return latencies

    def round_trips(self) -> int:
        sent = 0
        original = self.client.execute_command

        def counting(*args: object, **options: object) -> object:
            nonlocal sent
            sent += 1
            return original(*args, **options)

        self.client.execute_command = counting  # type: ignore[method-assign]
        try:
            self.index.set_seat_state(self.seat_ids[0], SeatState.AVAILABLE, now_ms())
        finally:
            del self.client.execute_command
        return sent

    def memory_per_call(self) -> float:
        keys = [f"{self.index.prefix}calls"] + [f"{self.index.prefix}wait:{s}" for s in SKILLS]
        total = sum(self.client.memory_usage(k, samples=0) or 0 for k in keys)
        waiting = sum(stats.waiting for stats in self.index.queue_stats().values())
        return total / waiting


def verdict(name: str, value: float, target: float, unit: str, lower_is_better: bool) -> str:
    met = value <= target if lower_is_better else value >= target
    margin = abs(target - value) / target * 100
    side = ("under" if lower_is_better else "over") if met else (
        "over" if lower_is_better else "under")
    sign = "<=" if lower_is_better else ">="
    return (f"  {name:<42} {value:10.3f} {unit:<6} target {sign} {target:g} {unit}: "
            f"{'MET' if met else 'MISSED'} ({margin:.0f}% {side})")


def measure(benches: list[Bench], rounds: int) -> dict[int, dict[str, float]]:
    """Figures per size. The sizes take turns batch by batch, so that whatever else the
    machine is doing at the time weighs on all of them alike."""
    for bench in benches:
        bench.build()
        bench.batch(record=False)  # warm-up
    client = benches[0].client
    floor: list[float] = []  # a bare PING in the same turns: what the machine allows
    for _ in range(rounds // BATCH):
        for bench in benches:
            bench.batch()
        floor += benches[0].timed(BATCH, client.ping)
    print(f"{'PING':>8} {statistics.median(floor):>8.3f} {percentile(floor, 0.99):>8.3f} "
          f"{max(floor):>8.3f}   (one bare round trip, for comparison)")
    figures: dict[int, dict[str, float]] = {}
    for bench in benches:
        if bench.offered < len(bench.latencies) * 0.95:
            raise SystemExit(f"{bench.size}: only {bench.offered} decisions made an offer")
        # every seat is on a break: nothing can be offered, this is the cost of looking
        index = bench.index
        enqueue = bench.timed(500, lambda: index.enqueue(bench.new_call(now_ms()), now_ms()))
        sweep = bench.timed(500, lambda: index.dispatch(now_ms()))
        latencies = bench.latencies
        row = figures[bench.size] = {
            "p50": statistics.median(latencies), "p99": percentile(latencies, 0.99),
            "rate": 1000 / statistics.mean(latencies),  # one worker deciding back to back
            "bytes": bench.memory_per_call(), "trips": bench.round_trips(),
        }
        print(f"{bench.size:>8} {row['p50']:>8.3f} {row['p99']:>8.3f} {max(latencies):>8.3f} "
              f"{row['rate']:>8.0f} "
              f"{statistics.median(enqueue):>7.3f}/{percentile(enqueue, .99):<8.3f} "
              f"{statistics.median(sweep):>7.3f}/{percentile(sweep, .99):<8.3f} "
              f"{row['bytes']:>10.0f}")
    return figures


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--redis-url", default=os.environ.get(
        "TEST_REDIS_URL", "redis://127.0.0.1:6379/14"))
    parser.add_argument("--rounds", type=int, default=3_000)
    args = parser.parse_args()
    client = redis.Redis.from_url(args.redis_url)
    benches = [Bench(client, size) for size in SIZES]
    print(f"Redis {client.info('server')['redis_version']} at {args.redis_url}; "
          f"{SEATS} seats, {len(SKILLS)} skills, {args.rounds} decisions per size; "
          f"load average {os.getloadavg()[0]:.2f} on {os.cpu_count()} CPUs\n")
    print(f"{'waiting':>8} {'p50 ms':>8} {'p99 ms':>8} {'max ms':>8} {'dec/s':>8} "
          f"{'enqueue p50/p99':>16} {'sweep20 p50/p99':>16} {'bytes/call':>10}")
    try:
        for attempt in range(5):
            try:
                figures = measure(benches, args.rounds)
                break
            except IndexLost:  # someone flushed the database under us: measure again
                print(f"database flushed by another client; measuring again ({attempt + 1})")
        else:
            raise SystemExit("the database keeps being flushed: run on a quiet one")
        for bench in benches[:-1]:
            bench.drop()
        used_before = client.info("memory")["used_memory"]
        benches[-1].drop()
        used_after = client.info("memory")["used_memory"]
    finally:
        for bench in benches:
            bench.drop()
    print(f"load average {os.getloadavg()[0]:.2f} at the end")
    big, small = figures[SIZES[-1]], figures[SIZES[0]]
    print(f"\nRedis round trips per decision: {big['trips']:.0f} (EVALSHA)")
    print(f"INFO used_memory freed by deleting 10,000 calls + 2,000 seats: "
          f"{(used_before - used_after) / 1024:.0f} KiB (server-wide, other databases move it)")
    print("\nTargets at 10,000 calls x 2,000 seats x 20 skills:")
    print(verdict("decision p99", big["p99"], TARGET_P99_MS, "ms", True))
    print(verdict("p50 at 10,000 / p50 at 100 calls", big["p50"] / small["p50"],
                  TARGET_GROWTH, "x", True))
    print(verdict("p99 at 10,000 / p99 at 100 calls", big["p99"] / small["p99"],
                  TARGET_GROWTH, "x", True))
    print(verdict("decisions per second, one worker", big["rate"], TARGET_RATE, "/s", False))
    print(verdict("Redis memory per waiting call", big["bytes"], TARGET_BYTES, "bytes", True))


if __name__ == "__main__":
    main()
