"""The pure routing rule: the specification the Redis scripts must follow."""

from __future__ import annotations

import pytest

from queues.routing import (
    SCORE_SHIFT,
    AvailableSeat,
    CallRecord,
    CallState,
    SeatRecord,
    SeatState,
    WaitingCall,
    call_score,
    decide,
    decide_all,
    reconcile,
    seat_score,
    split_call_score,
)
from queues.skills import (
    HOTLINE_PRIORITIES,
    MAX_PRIORITY,
    RoutingPolicy,
    SkillPolicy,
    WideningStep,
    hotline_policy,
)
from tests.queues.routing_cases import NOW, POLICY, call, seat


def pair(offer: object) -> tuple[str, str] | None:
    return None if offer is None else (offer.call_id, offer.seat_id)  # type: ignore[attr-defined]


def test_empty_queue_and_no_seat_make_no_offer() -> None:
    assert decide([], [seat("s1", complaint=3)], POLICY, NOW) is None
    assert decide([call("c1", "complaint")], [], POLICY, NOW) is None


def test_higher_priority_first_then_longest_waiting() -> None:
    seats = [seat("s1", complaint=3)]
    calls = [call("old", "complaint", 100, 50), call("vip", "complaint", 300, 1)]
    assert pair(decide(calls, seats, POLICY, NOW)) == ("vip", "s1")
    calls = [call("new", "complaint", 100, 10), call("old", "complaint", 100, 50)]
    assert pair(decide(calls, seats, POLICY, NOW)) == ("old", "s1")


def test_priority_is_compared_across_the_queues_a_seat_serves() -> None:
    seats = [seat("s1", complaint=3, inquiry=1)]
    calls = [call("inq", "inquiry", 100, 100), call("cmp", "complaint", 200, 1)]
    assert pair(decide(calls, seats, POLICY, NOW)) == ("cmp", "s1")


def test_best_level_then_longest_idle() -> None:
    calls = [call("c1", "complaint")]
    seats = [seat("lvl3", 500, complaint=3), seat("lvl5", 1, complaint=5)]
    offer = decide(calls, seats, POLICY, NOW)
    assert offer is not None and (offer.seat_id, offer.seat_level) == ("lvl5", 5)
    seats = [seat("short", 10, complaint=4), seat("long", 90, complaint=4)]
    assert pair(decide(calls, seats, POLICY, NOW)) == ("c1", "long")


def test_minimum_level_holds_until_the_first_threshold() -> None:
    seats = [seat("junior", 100, complaint=1)]
    assert decide([call("c1", "complaint", waited_s=59.999)], seats, POLICY, NOW) is None
    offer = decide([call("c1", "complaint", waited_s=60)], seats, POLICY, NOW)
    assert offer is not None and offer.tier == 1 and offer.seat_id == "junior"


def test_related_skill_only_after_the_second_threshold() -> None:
    seats = [seat("helpdesk", 100, inquiry=2)]
    assert decide([call("c1", "complaint", waited_s=119)], seats, POLICY, NOW) is None
    offer = decide([call("c1", "complaint", waited_s=120)], seats, POLICY, NOW)
    assert offer is not None
    assert (offer.seat_skill, offer.seat_level, offer.tier) == ("inquiry", 2, 2)
    low = [seat("trainee", 100, inquiry=1)]  # related skill below its minimum
    assert decide([call("c1", "complaint", waited_s=500)], low, POLICY, NOW) is None


def test_own_skill_seat_beats_a_better_related_seat() -> None:
    seats = [seat("expert", 900, inquiry=9), seat("junior", 1, complaint=1)]
    offer = decide([call("c1", "complaint", waited_s=300)], seats, POLICY, NOW)
    assert offer is not None and (offer.seat_id, offer.seat_skill) == ("junior", "complaint")


def test_look_ahead_serves_a_widened_call_behind_an_unservable_head() -> None:
    seats = [seat("junior", complaint=1)]
    calls = [call("vip", "complaint", 300, 5), call("patient", "complaint", 100, 70)]
    assert pair(decide(calls, seats, POLICY, NOW)) == ("patient", "junior")
    # among calls of the served priority, the oldest comes first
    calls.append(call("older", "complaint", 100, 80))
    assert pair(decide(calls, seats, POLICY, NOW)) == ("older", "junior")


def test_look_ahead_is_bounded_by_priority_classes() -> None:
    seats = [seat("junior", complaint=1)]
    young = [call(f"p{p}", "complaint", p, 1) for p in (500, 400, 300)]  # 3 = the bound
    patient = call("patient", "complaint", 100, 70)
    assert decide([*young, patient], seats, POLICY, NOW) is None
    assert pair(decide([*young[:2], patient], seats, POLICY, NOW)) == ("patient", "junior")


def test_ties_break_by_id_in_byte_order() -> None:
    calls = [call("cB", "complaint", 100, 30), call("cA", "complaint", 100, 30)]
    seats = [seat("s2", 30, complaint=4), seat("s10", 30, complaint=4)]
    # "s10" < "s2" in byte order, as in a Redis sorted set
    assert pair(decide(calls, seats, POLICY, NOW)) == ("cA", "s10")
    across = [call("zz", "inquiry", 100, 30), call("aa", "complaint", 100, 30)]
    both = [seat("s1", 30, complaint=3, inquiry=3)]
    assert pair(decide(across, both, POLICY, NOW)) == ("aa", "s1")


def test_scope_limits_the_queues_looked_at() -> None:
    calls = [call("cmp", "complaint", 300), call("inq", "inquiry", 100)]
    seats = [seat("s1", complaint=3, inquiry=1)]
    assert pair(decide(calls, seats, POLICY, NOW, queues=["inquiry"])) == ("inq", "s1")
    assert decide([call("x", "billing")], seats, POLICY, NOW) is None  # unknown queue


def test_decide_all_matches_each_seat_once() -> None:
    calls = [call(f"c{i}", "repair", 100, i) for i in range(5)]
    seats = [seat("a", repair=2), seat("b", repair=3), seat("c", repair=1)]
    offers = decide_all(calls, seats, POLICY, NOW)
    assert [pair(o) for o in offers] == [("c4", "b"), ("c3", "a")]


def test_scores_fit_a_double_exactly() -> None:
    top = call_score(0, SCORE_SHIFT - 1)  # lowest priority, latest time: the largest score
    assert top < 2**53 and float(top) == top
    assert split_call_score(float(call_score(MAX_PRIORITY, 0))) == (MAX_PRIORITY, 0)
    assert split_call_score(float(call_score(123, NOW))) == (123, NOW)
    assert call_score(200, NOW + 10**6) < call_score(199, NOW)
    assert seat_score(9, NOW + 10**6) < seat_score(8, NOW) and float(seat_score(1, NOW)) < 2**53


def test_policy_tiers_only_widen() -> None:
    tiers = POLICY["complaint"].tiers
    assert [(t.after_ms, [(p.skill, p.min_level, p.group) for p in t.pools]) for t in tiers] == [
        (0, [("complaint", 3, 0)]),
        (60_000, [("complaint", 1, 0)]),
        (120_000, [("complaint", 1, 0), ("inquiry", 2, 1)]),
    ]
    assert POLICY["complaint"].tier_at(-5) == 0 and POLICY["complaint"].tier_at(10**9) == 2
    assert POLICY.served_by(["inquiry"]) == ("complaint", "inquiry")
    with pytest.raises(ValueError):
        SkillPolicy("repair", widening=(WideningStep(60), WideningStep(60)))
    with pytest.raises(ValueError):
        SkillPolicy("repair", widening=(WideningStep(60, related={"repair": 1}),))
    with pytest.raises(ValueError):
        SkillPolicy("repair", min_level=10)
    with pytest.raises(ValueError):
        RoutingPolicy(queues=(SkillPolicy("a"), SkillPolicy("a")))


def test_policy_fingerprint_follows_content() -> None:
    assert hotline_policy().redis_fields() == hotline_policy().redis_fields()
    other = RoutingPolicy(queues=hotline_policy().queues, lookahead_classes=4)
    assert other.redis_fields()["@fingerprint"] != hotline_policy().redis_fields()["@fingerprint"]
    assert hotline_policy().redis_fields()["q:complaint"] == "0:2:;60000:1:;120000:1:inquiry=2"


def test_priorities_by_menu_choice_and_bumps() -> None:
    rules = HOTLINE_PRIORITIES
    assert rules.priority_for("inquiry") == 100
    assert rules.priority_for("complaint", open_complaint=True) == 300
    assert rules.priority_for("complaint", urgent_or_repeat=True, callback=True) == 700
    assert rules.priority_for("unknown") == rules.default_base


def test_input_is_validated() -> None:
    with pytest.raises(ValueError):
        WaitingCall("has space", "inquiry", 1, NOW)
    with pytest.raises(ValueError):
        WaitingCall("c1", "inquiry", MAX_PRIORITY + 1, NOW)
    with pytest.raises(ValueError):
        WaitingCall("c1", "Inquiry", 1, NOW)
    with pytest.raises(ValueError):
        AvailableSeat("s1", {"inquiry": 0}, NOW)
    with pytest.raises(ValueError):
        WaitingCall("c1", "inquiry", 1, SCORE_SHIFT)


def test_reconcile_repairs_offers_without_losing_callers() -> None:
    calls = [
        CallRecord("ok", "inquiry", 100, NOW, CallState.OFFERED, "s1", NOW),
        CallRecord("lost", "inquiry", 100, NOW, CallState.OFFERED, "s2", NOW),
    ]
    seats = [
        SeatRecord("s1", {"inquiry": 1}, SeatState.RESERVED, NOW, NOW, "ok"),
        SeatRecord("s2", {"inquiry": 1}, SeatState.AVAILABLE, NOW, NOW),
        SeatRecord("s3", {"inquiry": 1}, SeatState.RESERVED, NOW, NOW, "gone"),
    ]
    fixed_calls, fixed_seats, issues = reconcile(calls, seats, POLICY)
    assert [c.state for c in fixed_calls] == [CallState.OFFERED, CallState.WAITING]
    assert [s.state for s in fixed_seats] == [SeatState.RESERVED] + [SeatState.AVAILABLE] * 2
    assert len(issues) == 2
    with pytest.raises(ValueError):
        reconcile([CallRecord("x", "billing", 1, NOW)], [], POLICY)
    with pytest.raises(ValueError):
        reconcile(calls + calls[:1], seats, POLICY)
