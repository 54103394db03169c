"""End-to-end routing latency: from "a call enters the queue while a seat is free" to "the
REST redirect reaches the Twilio stand-in", with the whole system running.

The system is the one ``ivr demo`` runs (``callcenter.localrun.LocalSystem``): the app
served over HTTP, real ``ivr worker`` processes and the local Twilio stand-in. Seats are
always free (several seats, no wrap-up). Each simulated caller presses 2 (complaint) and is
put through; the clock starts when the app receives that key press (the webhook that puts
the call on hold) and stops when the stand-in's REST API receives the redirect of that
call. In between: the webhook's database write and RQ enqueue, a worker picking the job,
the decision in Redis, the offer written to the database, the REST request. Prints p50,
p99 and max, and whether the target (p99 <= 30 ms) is met, or by how much it is missed.

    .venv/bin/python bench/routing_e2e.py [--calls 300] [--concurrency 1] [--workers 2]
        [--database-url URL] [--redis-url redis://127.0.0.1:6379/14]

Both stores are emptied first: the Redis database given (default 14, or TEST_REDIS_URL) is
FLUSHED before and after, and the database (default: PostgreSQL database bench_routing,
created if missing; ``sqlite:///path`` works too) has its schema dropped and re-created.
"""

from __future__ import annotations

import argparse
import os
import re
import statistics
import sys
import tempfile
import threading
import time
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from flask import request  # noqa: E402
from redis import Redis  # noqa: E402

from bench.webhooks import prepare_database  # noqa: E402
from callcenter.localrun import LocalSystem, wait_until  # noqa: E402
from callcenter.settings import Settings  # noqa: E402
from queues import seats  # noqa: E402
from queues.jobs import current_router  # noqa: E402
from queues.routing import SeatState  # noqa: E402
from twilio_standin import CallScript, SeatBehaviour, press, wait  # noqa: E402

TARGET_P99_MS = 30.0
WARM_UP_CALLS = 20
REDIRECT_PATH = re.compile(r"/Calls/(CA\w+)\.json$")


def percentile(values: list[float], share: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, int(share * len(ordered)))]


class Stopwatch:
    """Start times from the app's key-press webhook, stop times from the stand-in's REST."""

    def __init__(self) -> None:
        self.lock = threading.Lock()
        self.started: dict[str, float] = {}
        self.stopped: dict[str, float] = {}

    def start(self) -> None:
        if request.path == "/ivr/menu" and request.form.get("Digits") == "2":
            with self.lock:
                self.started.setdefault(request.form.get("CallSid", ""), time.perf_counter())

    def stop(self, method: str, path: str, has_url: bool) -> None:
        match = REDIRECT_PATH.search(path)
        if method == "POST" and match and has_url:
            with self.lock:
                self.stopped.setdefault(match.group(1), time.perf_counter())

    def latencies_ms(self, sids: list[str]) -> list[float]:
        with self.lock:
            return [(self.stopped[s] - self.started[s]) * 1000 for s in sids
                    if s in self.started and s in self.stopped]


def instrument(system: LocalSystem, watch: Stopwatch) -> None:
    assert system.app is not None
    system.app.before_request(watch.start)
    # The stand-in has no public hook for "a REST request arrived": wrap its dispatcher.
    server = system.standin._server._httpd  # noqa: SLF001 - benchmark instrumentation
    dispatch = server.dispatch

    def timed(api_request):  # type: ignore[no-untyped-def]
        watch.stop(api_request.method, api_request.path, bool(api_request.value("Url")))
        return dispatch(api_request)

    server.dispatch = timed


def add_seats(system: LocalSystem, count: int) -> None:
    with system.app.app_context():  # type: ignore[union-attr]
        router = current_router()
        for n in range(count):
            seat_id = f"bench-seat-{n:02d}"
            seats.create_seat(router, seat_id=seat_id, name=seat_id, reach=f"client:{seat_id}",
                              skills={"complaint": 3}, wrap_up_seconds=0)
            seats.set_state(router, system.services, seat_id, SeatState.AVAILABLE)
            system.standin.seats[f"client:{seat_id}"] = SeatBehaviour(answer_after=1,
                                                                      talk_for=2)


def place(system: LocalSystem, n: int) -> str:
    handle = system.standin.start_call(f"+86139{n:08d}", "+864001234567",
                                       CallScript([press("2"), wait(3600)], patience=3600))
    result = handle.wait(60)
    if not result.ok:
        raise RuntimeError(f"call {n} failed: {result.error}\n{result.render()}")
    return handle.sid


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--calls", type=int, default=300)
    parser.add_argument("--concurrency", type=int, default=1)
    parser.add_argument("--workers", type=int, default=2)
    parser.add_argument("--seats", type=int, default=8)
    parser.add_argument("--database-url",
                        default="postgresql+psycopg://postgres@127.0.0.1:5432/bench_routing")
    parser.add_argument("--redis-url",
                        default=os.environ.get("TEST_REDIS_URL", "redis://127.0.0.1:6379/14"))
    args = parser.parse_args()
    tmp = tempfile.TemporaryDirectory(prefix="bench-routing-")
    database_url = args.database_url
    if database_url.startswith("sqlite:///"):
        Path(database_url[len("sqlite:///"):]).unlink(missing_ok=True)
    prepare_database(database_url)
    redis = Redis.from_url(args.redis_url)
    redis.flushdb()
    settings = Settings(environment="development", database_url=database_url,
                        redis_url=args.redis_url, business_hours="00:00-23:59",
                        recordings_dir=f"{tmp.name}/recordings",
                        call_journal_dir=f"{tmp.name}/journal")
    watch = Stopwatch()
    try:
        with LocalSystem(settings, workers=args.workers, time_scale=0.002,
                         worker_queues=("routing",)) as system:
            instrument(system, watch)
            add_seats(system, args.seats)
            print(f"{args.workers} worker processes (routing queue), {args.seats} free seats, "
                  f"database {system.services.database.dialect}, Redis {args.redis_url}")
            for n in range(WARM_UP_CALLS):  # also waits for the workers to have started
                place(system, n)
            with ThreadPoolExecutor(args.concurrency) as pool:
                sids = list(pool.map(lambda n: place(system, n),
                                     range(WARM_UP_CALLS, WARM_UP_CALLS + args.calls)))
            wait_until(lambda: len(watch.latencies_ms(sids)) == len(sids), timeout=5)
    finally:
        redis.flushdb()
        tmp.cleanup()
    report(watch.latencies_ms(sids), args)


def report(latencies: list[float], args: argparse.Namespace) -> None:
    if not latencies:
        print("no call was redirected: nothing to report")
        sys.exit(1)
    p50, p99 = statistics.median(latencies), percentile(latencies, 0.99)
    print(f"\n{len(latencies)} calls, {args.concurrency} at a time; key press -> REST redirect:")
    print(f"  p50 {p50:7.2f} ms   p99 {p99:7.2f} ms   max {max(latencies):7.2f} ms   "
          f"mean {statistics.fmean(latencies):7.2f} ms")
    if p99 <= TARGET_P99_MS:
        print(f"target p99 <= {TARGET_P99_MS:g} ms: met ({TARGET_P99_MS - p99:.1f} ms to spare)")
    else:
        print(f"target p99 <= {TARGET_P99_MS:g} ms: MISSED by {p99 - TARGET_P99_MS:.1f} ms "
              f"({p99 / TARGET_P99_MS:.1f}x the target)")


if __name__ == "__main__":
    main()
