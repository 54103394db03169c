"""The router: index, database and Twilio together, on real Redis and both databases.

Twilio's REST client is a fake that records redirects (and can say a call is gone or
fail); everything else is real. Jobs run in a real RQ worker in burst mode.
"""

from __future__ import annotations

from datetime import timedelta
from urllib.parse import parse_qs, urlsplit

import pytest
from flask import Flask
from redis import Redis
from rq.registry import ScheduledJobRegistry
from sqlalchemy import select

from callcenter.jobs import ROUTING, make_worker
from callcenter.services import Services
from queues import holding, jobs, recovery, seats
from queues.models import QueuedCall, Seat
from queues.router import Router
from queues.routing import CallState, SeatState
from tests.conftest import PUBLIC_BASE_URL
from tests.queues.conftest import FakeTwilio
from tests.queues.routing_app import add_seat, consistent, row, seat_row, waiting_call


def offer_of(redirect_url: str) -> dict[str, str]:
    parts = urlsplit(redirect_url)
    assert f"{parts.scheme}://{parts.netloc}" == PUBLIC_BASE_URL
    assert parts.path == "/queue/connect"
    return {key: values[0] for key, values in parse_qs(parts.query).items()}


def test_call_entering_while_a_seat_is_free_is_redirected_to_ring_it(
        router: Router, app_services: Services, fake_twilio: FakeTwilio) -> None:
    add_seat(router, app_services, "s1")
    call = waiting_call(router, 1)
    assert fake_twilio.redirected() == [call]
    offer = offer_of(fake_twilio.redirects[0][1])
    assert offer["skill"] == "complaint" and offer["seat"] == "s1"
    queued = row(router, call)
    assert (queued.status, queued.seat_id, queued.offer_seq) == ("offered", "s1",
                                                                 int(offer["seq"]))
    seat = seat_row(router, "s1")
    assert (seat.state, seat.current_call_sid) == ("reserved", call)
    assert router.index.offer_held(call, "s1", int(offer["seq"]))
    consistent(router)


def test_answered_call_then_hang_up_gives_the_seat_its_wrap_up(
        router: Router, app_services: Services, fake_twilio: FakeTwilio) -> None:
    add_seat(router, app_services, "s1", wrap_up=30)
    first, second = waiting_call(router, 1, ago_s=12), waiting_call(router, 2)
    seq = int(offer_of(fake_twilio.redirects[0][1])["seq"])
    assert router.offer_answered(first, "s1", seq)
    assert not router.offer_answered(first, "s1", seq)  # a repeated callback changes nothing
    talking = row(router, first)
    assert talking.status == "connected" and talking.waited_seconds == pytest.approx(12, abs=1)
    assert seat_row(router, "s1").state == "on_call"
    router.conversation_ended(first, "s1", seq, 95)
    done, seat = row(router, first), seat_row(router, "s1")
    assert (done.status, done.handle_seconds) == ("completed", 95)  # Twilio's own figure
    assert seat.state == "wrap_up" and seat.wrap_up_due_at is not None
    due = seat.wrap_up_due_at - seat.state_since
    assert due == pytest.approx(timedelta(seconds=30), abs=timedelta(seconds=1))
    scheduled = ScheduledJobRegistry(ROUTING, connection=app_services.redis).get_job_ids()
    assert [job_id for job_id in scheduled if job_id.startswith("routing-wrap-up-s1-")]
    assert fake_twilio.redirected() == [first]  # the second caller waits for the wrap-up
    due_ms = int(seat.wrap_up_due_at.timestamp() * 1000)
    assert router.release_wrap_up("s1", due_ms - 1) == 0  # not this wrap-up's release
    assert router.release_wrap_up("s1", due_ms) == 1
    assert fake_twilio.redirected() == [first, second]
    consistent(router)


def test_seat_that_does_not_answer_is_missed_and_the_caller_keeps_the_front(
        router: Router, app_services: Services, fake_twilio: FakeTwilio) -> None:
    add_seat(router, app_services, "s1")
    first = waiting_call(router, 1)
    second = waiting_call(router, 2)
    seq = int(offer_of(fake_twilio.redirects[0][1])["seq"])
    router.offer_unanswered(first, "s1", seq)
    assert seat_row(router, "s1").state == "missed"
    queued = row(router, first)
    assert (queued.status, queued.seat_id, queued.missed_offers) == ("waiting", None, 1)
    assert router.index.position(first) == 0 and router.index.position(second) == 1
    assert router.offer_unanswered(first, "s1", seq) == 0  # late duplicate: ignored
    add_seat(router, app_services, "s2")
    router.seat_available("s2")
    assert fake_twilio.redirected() == [first, first]
    assert offer_of(fake_twilio.redirects[1][1])["seat"] == "s2"
    consistent(router)


def test_caller_hanging_up_while_a_seat_rings_frees_the_seat(
        router: Router, app_services: Services, fake_twilio: FakeTwilio) -> None:
    add_seat(router, app_services, "s1")
    first = waiting_call(router, 1, ago_s=7)
    second = waiting_call(router, 2)
    router.call_ended(first)
    gone = row(router, first)
    assert gone.status == "abandoned" and gone.waited_seconds == pytest.approx(7, abs=1)
    assert fake_twilio.redirected() == [first, second]  # the freed seat took the next call
    assert seat_row(router, "s1").current_call_sid == second
    assert router.call_ended(first) == 0  # the status callback after the Dial action
    consistent(router)


def test_call_gone_when_redirected_counts_as_a_hang_up(
        router: Router, app_services: Services, fake_twilio: FakeTwilio) -> None:
    first = waiting_call(router, 1)
    second = waiting_call(router, 2)
    fake_twilio.gone.add(first)
    add_seat(router, app_services, "s1")
    assert router.seat_available("s1") == 1
    assert fake_twilio.redirected() == [second]
    assert row(router, first).status == "abandoned"
    assert row(router, second).status == "offered"
    consistent(router)


def test_redirect_twilio_refuses_gives_the_offer_back(
        router: Router, app_services: Services, fake_twilio: FakeTwilio) -> None:
    first = waiting_call(router, 1)
    fake_twilio.failing.add(first)
    add_seat(router, app_services, "s1")
    assert router.seat_available("s1") == 0
    assert (row(router, first).status, seat_row(router, "s1").state) == ("waiting", "available")
    assert router.index.position(first) == 0
    fake_twilio.failing.clear()
    assert router.dispatch() == 1  # the next sweep
    consistent(router)


def test_caller_who_leaves_for_voicemail_is_withdrawn_unless_a_seat_rings(
        router: Router, app_services: Services, fake_twilio: FakeTwilio) -> None:
    first = waiting_call(router, 1)
    assert router.withdraw(first) is None
    assert router.index.position(first) is None
    second = waiting_call(router, 2)
    add_seat(router, app_services, "s1")
    router.seat_available("s1")
    assert router.withdraw(second) is CallState.OFFERED
    assert router.withdraw("CA-unknown") is None


def test_jobs_run_in_a_real_worker(app: Flask, router: Router, app_services: Services,
                                   fake_twilio: FakeTwilio) -> None:
    add_seat(router, app_services, "s1")
    call = waiting_call(router, 1, index=False)
    jobs.enqueue_call_queued(app_services, call)
    make_worker(app, [ROUTING], simple=True).work(burst=True)
    assert fake_twilio.redirected() == [call]
    seq = int(offer_of(fake_twilio.redirects[0][1])["seq"])
    jobs.enqueue_offer_answered(app_services, call, "s1", seq)
    jobs.enqueue_conversation_ended(app_services, call, "s1", seq, 40)
    make_worker(app, [ROUTING], simple=True).work(burst=True)
    assert (row(router, call).status, seat_row(router, "s1").state) == ("completed", "wrap_up")


def flush(app_services: Services) -> None:
    Redis.from_url(app_services.settings.redis_url).flushdb()  # Redis restarted empty


def test_a_lost_index_is_rebuilt_by_the_next_job_with_every_caller(
        router: Router, app_services: Services, fake_twilio: FakeTwilio) -> None:
    add_seat(router, app_services, "s1")
    add_seat(router, app_services, "s2", available=False, inquiry=2)
    talking = waiting_call(router, 1, ago_s=30)
    seq = int(offer_of(fake_twilio.redirects[0][1])["seq"])
    router.offer_answered(talking, "s1", seq)
    held = [waiting_call(router, n, ago_s=20 - n) for n in range(2, 6)]
    before = router.index.snapshot()
    flush(app_services)
    newcomer = waiting_call(router, 6, index=False)
    assert jobs.call_queued(newcomer) == 0  # the job rebuilds the index, then goes on
    after = router.index.snapshot()
    assert set(after.calls) == {*before.calls, newcomer}  # nobody forgotten
    assert after.calls[talking].state is CallState.CONNECTED
    assert after.waiting("complaint") == [*held, newcomer]
    assert after.seats["s1"].state is SeatState.ON_CALL
    assert after.seats["s2"].state is SeatState.OFFLINE
    with router.database.session() as session:  # new changes are newer than any written
        written = max(session.scalars(select(QueuedCall.index_seq)))
        assert after.seq > max(written, *session.scalars(select(Seat.index_seq)))
    consistent(router)


def test_worker_start_rebuilds_a_lost_index(app: Flask, router: Router,
                                            app_services: Services) -> None:
    calls = [waiting_call(router, n) for n in range(3)]
    flush(app_services)
    with pytest.raises(recovery.IndexLost):
        router.index.position(calls[0])
    make_worker(app, [ROUTING], simple=True).work(burst=True)  # no job at all
    assert router.index.snapshot().waiting("complaint") == calls


def test_ivr_queues_rebuild(app: Flask, router: Router, app_services: Services) -> None:
    calls = [waiting_call(router, n) for n in range(2)]
    flush(app_services)
    result = app.test_cli_runner().invoke(args=["queues", "rebuild"])
    assert result.exit_code == 0, result.output
    assert "routing index rebuilt" in result.output
    assert router.index.snapshot().waiting("complaint") == calls


def test_reconcile_indexes_lost_entries_and_drops_ended_calls(
        router: Router, app_services: Services, fake_twilio: FakeTwilio) -> None:
    kept = waiting_call(router, 1, ago_s=60)
    lost = waiting_call(router, 2, ago_s=60, index=False)  # its job never ran
    fresh = waiting_call(router, 3, index=False)  # its job may still be on its way
    ended = waiting_call(router, 4, ago_s=60)
    with router.database.session() as session:
        holding.leave_queue(session, ended, "hangup", router.clock())  # callback, job lost
    result = recovery.reconcile(router)
    assert result.indexed_calls == [lost] and result.removed_calls == [ended]
    assert router.index.snapshot().waiting("complaint") == [kept, lost]
    assert fresh not in router.index.snapshot().calls
    assert result.problems == []


def test_sweeps_end_lost_offers_and_wrap_ups(
        router: Router, app_services: Services, fake_twilio: FakeTwilio,
        monkeypatch: pytest.MonkeyPatch) -> None:
    add_seat(router, app_services, "s1")
    add_seat(router, app_services, "s2", wrap_up=5)
    first, second = waiting_call(router, 1), waiting_call(router, 2)
    assert [offer_of(url)["seat"] for _, url in fake_twilio.redirects] == ["s1", "s2"]
    assert recovery.expire_stale_offers(router) == 0
    seq = int(offer_of(fake_twilio.redirects[1][1])["seq"])
    router.offer_answered(second, "s2", seq)
    router.call_ended(second)
    start = router.clock()
    monkeypatch.setattr(app_services, "clock", lambda: start + timedelta(seconds=60))
    assert recovery.expire_stale_offers(router) == 1  # s1's no-answer callback was lost
    assert (seat_row(router, "s1").state, row(router, first).status) == ("missed", "waiting")
    assert recovery.release_due_wrap_ups(router) == 1  # s2's scheduled release was lost
    assert seat_row(router, "s2").state == "reserved"
    assert fake_twilio.redirected() == [first, second, first]
    consistent(router)


def test_changed_skills_take_effect(router: Router, app_services: Services,
                                    fake_twilio: FakeTwilio) -> None:
    add_seat(router, app_services, "s1", repair=2)
    call = waiting_call(router, 1)
    assert fake_twilio.redirected() == []
    seats.update_seat(router, app_services, "s1", {"skills": {"complaint": 2}})
    router.seat_available("s1")
    assert fake_twilio.redirected() == [call]
