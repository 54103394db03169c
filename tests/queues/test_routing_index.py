"""The Redis index: every operation against a real Redis (database 14)."""

from __future__ import annotations

import pytest
import redis

from queues.index import IndexLost, PolicyMismatch, RedisIndex, UnknownName
from queues.routing import (
    MAX_TIME_MS,
    CallRecord,
    CallState,
    SeatRecord,
    SeatState,
    WaitingCall,
    call_score,
    seat_score,
)
from queues.skills import hotline_policy
from tests.queues.routing_cases import NOW, QUEUE_REDIS_URL, IndexFactory, call, drop_namespace


def available(seat_id: str, idle_s: float = 0, **skills: int) -> SeatRecord:
    idle = NOW - int(idle_s * 1000)
    return SeatRecord(seat_id, skills, SeatState.AVAILABLE, idle, idle)


def offline(seat_id: str, **skills: int) -> SeatRecord:
    return SeatRecord(seat_id, skills, SeatState.OFFLINE, NOW, NOW)


def built(make_index: IndexFactory, *seats: SeatRecord, **options: object) -> RedisIndex:
    index = make_index(**options)
    index.rebuild([], seats, NOW)
    return index


def consistent(index: RedisIndex) -> None:
    assert index.snapshot().problems() == []


def test_refuses_until_built_and_after_a_flush(
    make_index: IndexFactory, queue_redis: redis.Redis, namespace: str
) -> None:
    index = make_index()
    with pytest.raises(IndexLost):
        index.enqueue(call("c1", "inquiry"), NOW)
    index.rebuild([], [], NOW)
    index.enqueue(call("c1", "inquiry"), NOW)
    drop_namespace(queue_redis, namespace)  # what FLUSHDB or an empty restart does to it
    with pytest.raises(IndexLost):
        index.dispatch(NOW)


def test_other_policy_is_refused(make_index: IndexFactory) -> None:
    built(make_index)
    with pytest.raises(PolicyMismatch):
        make_index(hotline_policy()).dispatch(NOW)


def test_unknown_queue_and_seat(make_index: IndexFactory) -> None:
    index = built(make_index)
    with pytest.raises(UnknownName):
        index.enqueue(call("c1", "billing"), NOW)
    with pytest.raises(UnknownName):
        index.set_seat_state("nobody", SeatState.AVAILABLE, NOW)
    with pytest.raises(ValueError):
        index.set_seat_state("nobody", SeatState.MISSED, NOW)


def test_queue_order_positions_and_stats(make_index: IndexFactory) -> None:
    index = built(make_index)
    entries = [("c1", 100, 10), ("c2", 100, 40), ("vip", 300, 1), ("c3", 200, 5)]
    for call_id, priority, waited in entries:
        result = index.enqueue(call(call_id, "complaint", priority, waited), NOW)
        assert result.seq > 0 and not result.offers
    assert index.snapshot().waiting("complaint") == ["vip", "c3", "c2", "c1"]
    assert [index.position(c) for c in ("vip", "c3", "c2", "c1", "nope")] == [0, 1, 2, 3, None]
    again = index.enqueue(call("c2", "complaint", 100, 40), NOW)  # a retried job
    assert (again.seq, again.position) == (0, 2)
    stats = index.queue_stats()["complaint"]
    assert (stats.waiting, stats.oldest_entered_ms) == (4, NOW - 40_000)
    assert stats.longest_wait_ms(NOW) == 40_000
    assert index.queue_stats()["inquiry"].oldest_entered_ms is None
    consistent(index)


def test_enqueue_offers_to_the_best_seat(make_index: IndexFactory) -> None:
    index = built(
        make_index,
        available("lvl3_long", 90, complaint=3),
        available("lvl3_short", 10, complaint=3),
        available("lvl5", 1, complaint=5),
    )
    first = index.enqueue(call("c1", "complaint"), NOW)
    assert first.position is None and [o.seat_id for o in first.offers] == ["lvl5"]
    assert first.offers[0].seq > first.seq
    second = index.enqueue(call("c2", "complaint"), NOW)
    assert [o.seat_id for o in second.offers] == ["lvl3_long"]
    snap = index.snapshot()
    assert snap.seats["lvl5"].state is SeatState.RESERVED and snap.seats["lvl5"].call_id == "c1"
    assert snap.calls["c1"].state is CallState.OFFERED and snap.pools["complaint"] == [
        ("lvl3_short", seat_score(3, NOW - 10_000))
    ]
    consistent(index)


def test_seat_becoming_available_takes_the_best_head_of_its_queues(
    make_index: IndexFactory,
) -> None:
    index = built(make_index, offline("s1", complaint=3, inquiry=1))
    index.enqueue(call("inq", "inquiry", 100, 100), NOW)
    index.enqueue(call("cmp", "complaint", 200, 5), NOW)
    index.enqueue(call("rep", "repair", 900, 500), NOW)  # not a skill of s1
    change = index.set_seat_state("s1", SeatState.AVAILABLE, NOW)
    assert change.previous is SeatState.OFFLINE
    assert [(o.call_id, o.seat_id, o.queue) for o in change.offers] == [("cmp", "s1", "complaint")]
    consistent(index)


def test_answer_connects_once(make_index: IndexFactory) -> None:
    index = built(make_index, available("s1", inquiry=1))
    offer = index.enqueue(call("c1", "inquiry", waited_s=12), NOW).offers[0]
    assert index.answer("c1", "s1", NOW + 5000, offer_seq=offer.seq + 1) == 0  # other offer
    assert index.answer("c1", "s2", NOW + 5000) == 0  # other seat
    assert index.answer("c1", "s1", NOW + 5000, offer_seq=offer.seq) > 0
    assert index.answer("c1", "s1", NOW + 5000, offer_seq=offer.seq) == 0  # retried callback
    snap = index.snapshot()
    assert snap.seats["s1"].state is SeatState.ON_CALL and snap.calls["c1"].state == "connected"
    assert index.recent_times("inquiry") == ([17_000], [])
    consistent(index)


def test_no_answer_puts_the_call_back_in_front(make_index: IndexFactory) -> None:
    index = built(make_index, available("s1", repair=2))
    offer = index.enqueue(call("c1", "repair", waited_s=30), NOW).offers[0]
    index.enqueue(call("c2", "repair", waited_s=20), NOW)
    index.enqueue(call("c3", "repair", waited_s=0), NOW)
    result = index.no_answer("c1", "s1", NOW + 20_000, offer_seq=offer.seq)
    assert result.seq > 0 and result.offers == ()  # the only seat is now "missed"
    snap = index.snapshot()
    assert snap.waiting("repair") == ["c1", "c2", "c3"]
    assert dict(snap.queues["repair"])["c1"] == call_score(100, NOW - 30_000)
    assert snap.seats["s1"].state is SeatState.MISSED and not snap.pools["repair"]
    assert index.no_answer("c1", "s1", NOW + 20_000).seq == 0  # late duplicate callback
    back = index.set_seat_state("s1", SeatState.AVAILABLE, NOW + 25_000)
    assert [(o.call_id, o.seat_id) for o in back.offers] == [("c1", "s1")]
    consistent(index)


def test_no_answer_offers_the_call_to_another_free_seat(make_index: IndexFactory) -> None:
    index = built(make_index, available("s1", 60, repair=3))
    index.enqueue(call("c1", "repair"), NOW)
    index.upsert_seat("s2", {"repair": 2}, NOW)
    index.set_seat_state("s2", SeatState.AVAILABLE, NOW)
    result = index.no_answer("c1", "s1", NOW + 1000)
    assert [(o.call_id, o.seat_id) for o in result.offers] == [("c1", "s2")]
    consistent(index)


def test_hang_up_while_waiting(make_index: IndexFactory) -> None:
    index = built(make_index)
    index.enqueue(call("c1", "inquiry"), NOW)
    index.enqueue(call("c2", "inquiry"), NOW)
    result = index.hangup("c1", NOW + 1000)
    assert (result.was, result.seat_id, result.offers) == (CallState.WAITING, "", ())
    assert index.position("c1") is None and index.position("c2") == 0
    assert index.hangup("c1", NOW + 1000).was is None  # unknown by now
    assert index.queue_stats(["inquiry"])["inquiry"].waiting == 1
    consistent(index)


def test_hang_up_while_offered_frees_the_seat_with_its_idle_time(
    make_index: IndexFactory,
) -> None:
    index = built(make_index, available("s1", 300, inquiry=2))
    index.enqueue(call("c1", "inquiry"), NOW)
    result = index.hangup("c1", NOW + 3000)
    assert (result.was, result.seat_id, result.offers) == (CallState.OFFERED, "s1", ())
    snap = index.snapshot()
    assert snap.seats["s1"].state is SeatState.AVAILABLE
    assert snap.pools["inquiry"] == [("s1", seat_score(2, NOW - 300_000))]
    index.enqueue(call("c2", "inquiry"), NOW)
    index.enqueue(call("c3", "inquiry"), NOW)  # waits: s1 rings for c2
    again = index.hangup("c2", NOW + 4000)
    assert [(o.call_id, o.seat_id) for o in again.offers] == [("c3", "s1")]
    consistent(index)


def test_hang_up_while_talking_then_wrap_up_release(make_index: IndexFactory) -> None:
    index = built(make_index, available("s1", complaint=4))
    index.enqueue(call("c1", "complaint"), NOW)
    index.answer("c1", "s1", NOW + 2000)
    index.enqueue(call("c2", "complaint"), NOW + 3000)
    refused = index.set_seat_state("s1", SeatState.BREAK, NOW + 4000)
    assert (refused.seq, refused.previous) == (0, SeatState.ON_CALL)
    ended = index.hangup("c1", NOW + 92_000)
    assert (ended.was, ended.seat_id, ended.wrap_up_due_ms) == ("connected", "s1", NOW + 152_000)
    assert index.recent_times("complaint")[1] == [90_000]
    assert index.snapshot().seats["s1"].state is SeatState.WRAP_UP
    stale = index.release_wrap_up("s1", NOW + 152_000, due_ms=NOW + 1)  # an older job
    assert stale.seq == 0
    released = index.release_wrap_up("s1", NOW + 152_000, due_ms=ended.wrap_up_due_ms)
    assert released.previous is SeatState.WRAP_UP
    assert [(o.call_id, o.seat_id) for o in released.offers] == [("c2", "s1")]
    assert index.release_wrap_up("s1", NOW + 152_001).seq == 0  # reserved now
    index.answer("c2", "s1", NOW + 153_000)
    assert index.hangup("c2", NOW + 160_000, wrap_up_ms=5000).wrap_up_due_ms == NOW + 165_000
    consistent(index)


def test_seat_states_and_skills(make_index: IndexFactory) -> None:
    index = built(make_index)
    assert index.upsert_seat("s1", {"repair": 1}, NOW).previous is SeatState.OFFLINE
    assert index.upsert_seat("s1", {"repair": 1}, NOW).seq == 0
    assert index.set_seat_state("s1", SeatState.BREAK, NOW).previous is SeatState.OFFLINE
    assert index.set_seat_state("s1", SeatState.AVAILABLE, NOW + 5).previous is SeatState.BREAK
    assert index.set_seat_state("s1", SeatState.AVAILABLE, NOW + 9).seq == 0  # keeps idle time
    index.enqueue(call("c1", "repair", waited_s=0), NOW + 10)  # needs level 2
    assert index.snapshot().calls["c1"].state is CallState.WAITING
    offers = index.upsert_seat("s1", {"repair": 2, "inquiry": 1}, NOW + 20).offers
    assert [(o.call_id, o.seat_id, o.seat_level) for o in offers] == [("c1", "s1", 2)]
    consistent(index)


def test_widening_is_applied_by_dispatch(make_index: IndexFactory) -> None:
    index = built(make_index, available("junior", complaint=1), available("desk", inquiry=2))
    result = index.enqueue(call("c1", "complaint"), NOW)
    assert result.offers == () and result.widens_at_ms == (NOW + 60_000, NOW + 120_000)
    assert index.dispatch(NOW + 59_999) == ()
    offers = index.dispatch(NOW + 60_000)
    assert [(o.seat_id, o.tier) for o in offers] == [("junior", 1)]
    index.enqueue(call("c2", "complaint"), NOW)
    assert index.dispatch(NOW + 119_999, queues=["complaint"]) == ()
    offers = index.dispatch(NOW + 120_000)
    assert [(o.seat_id, o.seat_skill, o.tier) for o in offers] == [("desk", "inquiry", 2)]
    consistent(index)


def test_stale_offers_are_listed(make_index: IndexFactory) -> None:
    index = built(make_index, available("s1", inquiry=1))
    offer = index.enqueue(call("c1", "inquiry"), NOW).offers[0]
    assert index.stale_offers(NOW + 10_000, 30_000) == []
    [stale] = index.stale_offers(NOW + 30_000, 30_000)
    assert (stale.call_id, stale.seat_id, stale.offer_seq, stale.offered_ms) == (
        "c1", "s1", offer.seq, NOW,
    )


def test_rebuild_after_flushdb_forgets_no_caller(
    make_index: IndexFactory, queue_redis: redis.Redis, namespace: str
) -> None:
    index = built(
        make_index,
        available("s1", 10, complaint=3),
        available("s2", 20, repair=2, inquiry=1),
        available("s3", 30, inquiry=1),
        offline("s4", repair=1),
    )
    for i in range(6):
        index.enqueue(call(f"w{i}", ["complaint", "repair", "inquiry"][i % 3], 100 + i, i), NOW)
    index.answer("w0", "s1", NOW + 1000)
    index.hangup("w0", NOW + 5000)  # s1 in wrap-up
    index.answer("w1", "s2", NOW + 1000)  # s2 talking, s3 ringing for w2
    index.set_seat_state("s4", SeatState.BREAK, NOW)
    before = index.snapshot()
    assert before.problems() == []
    assert {c.state for c in before.calls.values()} == {"waiting", "offered", "connected"}
    drop_namespace(queue_redis, namespace)  # every key of the index gone, as after FLUSHDB
    with pytest.raises(IndexLost):
        index.position("w3")
    report = index.rebuild(before.calls.values(), before.seats.values(), NOW + 6000)
    # sequence numbers go on above every offer the records know, so callbacks stay apart
    assert report.repairs == () and report.seq > max(c.offer_seq for c in before.calls.values())
    after = index.snapshot()
    assert after.problems() == []
    assert (after.calls, after.seats) == (before.calls, before.seats)
    assert (after.queues, after.pools, after.offers) == (before.queues, before.pools, before.offers)
    offer = index.hangup("w2", NOW + 7000)  # the restored offer still frees its seat
    assert offer.was is CallState.OFFERED and offer.seat_id == "s3"
    consistent(index)


def test_rebuild_replaces_everything(make_index: IndexFactory, queue_redis: redis.Redis) -> None:
    index = built(make_index, available("s1", repair=2))
    index.enqueue(call("old", "inquiry"), NOW)
    index.rebuild([CallRecord("new", "inquiry", 100, NOW)], [offline("s9", inquiry=1)], NOW)
    snap = index.snapshot()
    assert list(snap.calls) == ["new"] and list(snap.seats) == ["s9"]
    assert not queue_redis.exists(f"{index.prefix}seat:s1")
    assert snap.pools.get("repair", []) == [] and snap.problems() == []


def test_scores_are_exact_in_redis(make_index: IndexFactory, queue_redis: redis.Redis) -> None:
    index = built(make_index)
    extremes = [
        WaitingCall("late", "inquiry", 0, MAX_TIME_MS),
        WaitingCall("early", "inquiry", 999, 0),
    ]
    for waiting in extremes:
        index.enqueue(waiting, NOW)
        score = queue_redis.zscore(f"{index.prefix}wait:inquiry", waiting.call_id)
        assert score is not None and int(score) == call_score(waiting.priority, waiting.entered_ms)
    assert index.snapshot().waiting("inquiry") == ["early", "late"]


def test_each_operation_is_one_round_trip(
    make_index: IndexFactory, queue_redis: redis.Redis
) -> None:
    index = built(make_index, available("s1", inquiry=1))
    index.load_scripts()
    sent: list[str] = []
    original = queue_redis.execute_command

    def counting(*args: object, **options: object) -> object:
        sent.append(str(args[0]))
        return original(*args, **options)

    queue_redis.execute_command = counting  # type: ignore[method-assign]
    index.enqueue(call("c1", "inquiry"), NOW)
    index.answer("c1", "s1", NOW)
    index.hangup("c1", NOW)
    index.release_wrap_up("s1", NOW)
    index.dispatch(NOW)
    assert sent == ["EVALSHA"] * 5


def test_works_with_decoded_responses(make_index: IndexFactory) -> None:
    client = redis.Redis.from_url(QUEUE_REDIS_URL, decode_responses=True)
    try:
        index = built(make_index, available("s1", inquiry=1), client=client)
        offer = index.enqueue(call("c1", "inquiry"), NOW).offers[0]
        assert (offer.call_id, offer.seat_id) == ("c1", "s1")
        assert index.snapshot().problems() == []
    finally:
        client.close()


def test_dispatch_scope_and_time_are_checked(make_index: IndexFactory) -> None:
    index = built(make_index, available("s1", inquiry=1))
    index.enqueue(call("c1", "repair"), NOW)  # no repair seat
    assert index.dispatch(NOW, queues=[]) == ()
    with pytest.raises(ValueError):
        index.dispatch(NOW, queues=["Bad Name"])
    with pytest.raises(TypeError):
        index.dispatch(float(NOW))  # type: ignore[arg-type]


def test_offer_taken_back_keeps_the_callers_place_and_the_seats(
        make_index: IndexFactory) -> None:
    index = built(make_index, available("s1", idle_s=30, complaint=3), available("s2"))
    index.set_seat_state("s1", SeatState.BREAK, NOW)
    index.set_seat_state("s2", SeatState.BREAK, NOW)
    index.enqueue(call("c0", "complaint", 100, 50), NOW)
    index.enqueue(call("c1", "complaint", 300, 10), NOW)
    (offer,) = index.set_seat_state("s1", SeatState.AVAILABLE, NOW - 30_000).offers
    assert index.offer_held("c1", "s1", offer.seq)
    assert not index.offer_held("c1", "s1", offer.seq + 1)
    assert index.retract("c1", "s1", NOW + 5, offer_seq=offer.seq + 1) == 0  # not that offer
    assert index.retract("c1", "s1", NOW + 5, offer_seq=offer.seq) > 0
    assert not index.offer_held("c1", "s1", offer.seq)
    snap = index.snapshot()
    assert snap.waiting("complaint") == ["c1", "c0"]
    assert snap.seats["s1"].state is SeatState.AVAILABLE
    assert snap.seats["s1"].idle_since_ms == NOW - 30_000  # still the longest idle
    assert index.dispatch(NOW + 6)[0].call_id == "c1"  # no decision until the next one
    consistent(index)


def test_withdraw_takes_out_only_a_waiting_call(make_index: IndexFactory) -> None:
    index = built(make_index)
    index.enqueue(call("c1", "complaint"), NOW)
    index.enqueue(call("c2", "complaint"), NOW)
    gone = index.withdraw("c1", NOW)
    assert gone.seq > 0 and gone.was is CallState.WAITING
    assert index.snapshot().waiting("complaint") == ["c2"]
    assert index.withdraw("c1", NOW).was is None
    index.upsert_seat("s1", {"complaint": 3}, NOW)
    index.set_seat_state("s1", SeatState.AVAILABLE, NOW)
    stays = index.withdraw("c2", NOW)
    assert (stays.seq, stays.was) == (0, CallState.OFFERED)
    consistent(index)


def test_rebuild_continues_above_the_given_sequence(make_index: IndexFactory) -> None:
    index = make_index()
    assert index.rebuild([], [], NOW, min_seq=5_000).seq == 5_001
    assert index.rebuild([], [], NOW, min_seq=10).seq == 5_002  # never goes back
