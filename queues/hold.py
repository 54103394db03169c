"""The hold experience, as pure functions: when to announce, when to offer a way out, how
long the music plays, and the expected wait.

Twilio requests the waitUrl again each time its document ends. Each document here is one
*turn*: maybe an announcement (position and expected wait), maybe the one-key choice of
voicemail or a call-back (once the caller has waited the queue's maximum), then music until
the next thing is due, then a Redirect back to the loop carrying :class:`HoldState` in its
query string. Turn by turn the caller hears their position every ``announce_every_s``.
"""

from __future__ import annotations

import math
from collections.abc import Mapping, Sequence
from dataclasses import dataclass

from callcenter.numbers import whole_number
from queues.config import HoldSettings

MAX_MUSIC_PLAYS = 24
ETA_SAMPLE = 20  # the latest handling times an expected wait is based on
_MAX_STATE_S = 7 * 86400


@dataclass(frozen=True, slots=True)
class HoldState:
    """What the loop remembers between turns: when (in seconds waited) the next
    announcement and the next offer of a way out are due; 0 = the defaults."""

    next_announce_s: int = 0
    next_choice_s: int = 0

    def to_params(self) -> dict[str, str]:
        return {"next": str(self.next_announce_s), "choice": str(self.next_choice_s)}

    @classmethod
    def from_params(cls, params: Mapping[str, str]) -> HoldState:
        """Read it back; anything unreadable starts over (an announcement at once)."""
        return cls(whole_number(params, "next", _MAX_STATE_S, 0),
                   whole_number(params, "choice", _MAX_STATE_S, 0))


@dataclass(frozen=True, slots=True)
class HoldTurn:
    """One document of the hold loop: what to say, then how many plays of the music."""

    announce: bool
    offer_choice: bool
    music_plays: int
    next_state: HoldState


def plan_turn(waited_s: int, state: HoldState, hold: HoldSettings, music_s: int, *,
              can_leave: bool) -> HoldTurn:
    """The turn for a caller who has waited ``waited_s``.

    ``can_leave`` is false while a seat is being rung for the caller: no way out is offered
    then. A caller who declines the way out is offered it again after another maximum wait.
    """
    announce = waited_s >= state.next_announce_s
    next_announce = waited_s + hold.announce_every_s if announce else state.next_announce_s
    choice_due = state.next_choice_s or hold.max_wait_s
    offer = can_leave and waited_s >= choice_due
    next_choice = waited_s + hold.max_wait_s if offer else choice_due
    until = min(next_announce, next_choice) - waited_s
    plays = max(1, min(MAX_MUSIC_PLAYS, math.ceil(until / max(1, music_s))))
    return HoldTurn(announce, offer, plays, HoldState(next_announce, next_choice))


def waited_seconds(queue_time: int, since_entry: int) -> int:
    """How long the caller has waited: Twilio's QueueTime restarts when a caller goes back
    on hold after a seat did not answer, our entry time does not; the larger counts."""
    return max(0, queue_time, since_entry)


def expected_wait_s(position: int, handle_s: Sequence[int], staffed_seats: int) -> int | None:
    """Expected wait of the caller at 1-based ``position``: the mean of the queue's latest
    handling times (newest first), times the callers to be served up to this one, over the
    seats working the queue. ``None`` without a handling time to go by or a seat at work:
    no figure is better than a made-up one."""
    recent = [seconds for seconds in handle_s[:ETA_SAMPLE] if seconds >= 0]
    if position < 1 or not recent or staffed_seats < 1:
        return None
    mean_s = sum(recent) / len(recent)
    return math.ceil(position * mean_s / staffed_seats)


def minutes(seconds: int) -> int:
    """Whole minutes as announced, rounded up: a caller told 2 minutes should not wait 3."""
    return max(1, math.ceil(seconds / 60))
