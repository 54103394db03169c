"""The hold experience as pure functions: turns, announcements, way out, expected wait."""

from __future__ import annotations

import pytest

from queues.config import HoldSettings
from queues.hold import HoldState, expected_wait_s, minutes, plan_turn, waited_seconds

HOLD = HoldSettings(ring_timeout_s=20, max_wait_s=240, announce_every_s=45)


def test_a_caller_hears_an_announcement_every_interval_and_music_in_between() -> None:
    state, heard, waited = HoldState(), [], 0
    while waited < 600:
        turn = plan_turn(waited, state, HOLD, 5, can_leave=False)
        if turn.announce:
            heard.append(waited)
        waited += turn.music_plays * 5 + (4 if turn.announce else 0)  # speech takes time
        state = turn.next_state
    assert heard[0] == 0
    assert all(30 <= b - a <= 60 for a, b in zip(heard, heard[1:], strict=False))


def test_the_way_out_comes_at_the_maximum_wait_and_again_after_another() -> None:
    early = plan_turn(200, HoldState(200, 0), HOLD, 5, can_leave=True)
    assert not early.offer_choice and early.music_plays == 8  # until 240 s
    due = plan_turn(241, early.next_state, HOLD, 5, can_leave=True)
    assert due.offer_choice and due.next_state.next_choice_s == 481
    declined = plan_turn(300, due.next_state, HOLD, 5, can_leave=True)
    assert not declined.offer_choice
    ringing = plan_turn(500, HoldState(0, 240), HOLD, 5, can_leave=False)
    assert ringing.announce and not ringing.offer_choice


def test_state_round_trips_and_junk_starts_over() -> None:
    state = HoldState(135, 480)
    assert HoldState.from_params(state.to_params()) == state
    assert HoldState.from_params({"next": "-5", "choice": "9" * 12}) == HoldState()


def test_waited_counts_the_longer_of_twilios_figure_and_ours() -> None:
    assert waited_seconds(30, 95) == 95  # back on hold after a seat missed: QueueTime restarted
    assert waited_seconds(30, -4) == 30  # clocks a little apart


@pytest.mark.parametrize(("position", "handled", "seats", "expected"), [
    (1, [120, 180], 1, 150), (3, [120, 180], 2, 225), (2, [60], 0, None),
    (1, [], 3, None), (0, [60], 1, None), (1, [30] * 20 + [3000] * 5, 1, 30),
])
def test_expected_wait(position: int, handled: list[int], seats: int,
                       expected: int | None) -> None:
    assert expected_wait_s(position, handled, seats) == expected


def test_minutes_are_rounded_up() -> None:
    assert [minutes(s) for s in (1, 60, 61, 150)] == [1, 1, 2, 3]
