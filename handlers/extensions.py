"""What a handling unit may ask for: more time on a deadline (延期) and an appeal (申诉).

Pure functions of the policy's ``[extension]`` and ``[appeal]`` rules and an explicit time;
the caller stores the decision and tells the people named in it.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import TYPE_CHECKING

from handlers.calendar import WorkingCalendar
from handlers.sla import Deadline, SlaClock, deadline

if TYPE_CHECKING:
    from handlers.policy import Policy


@dataclass(frozen=True)
class ExtensionDecision:
    granted: bool
    problems: tuple[str, ...]  # why it was refused, in plain words
    clock: SlaClock  # extended when granted, else unchanged
    deadline: Deadline | None  # the clock's deadline after the decision
    notify: tuple[str, ...] = ()


def review_extension(
    policy: Policy,
    clock: SlaClock,
    *,
    amount: int | float,
    reason: str,
    at: datetime,
    calendar: WorkingCalendar,
) -> ExtensionDecision:
    """Grant more time on ``clock`` (in its own unit) if the extension rules allow it."""
    rules, problems = policy.extension, []
    current = clock.deadline(calendar)
    if not rules.allowed:
        problems.append("extensions are not allowed")
    if amount <= 0:
        problems.append("the extension must be more than zero")
    if rules.reason_required and not reason.strip():
        problems.append("a reason is required")
    if len(clock.extensions) >= rules.max_count:
        problems.append(f"at most {rules.max_count} extension(s)")
    if sum(e.amount for e in clock.extensions) + amount > rules.max_ratio * clock.duration.amount:
        problems.append(f"extensions may add at most {rules.max_ratio:g} of the original time")
    if rules.request_before_deadline and current is not None and at > current.at:
        problems.append("the deadline has already passed")
    if problems:
        return ExtensionDecision(False, tuple(problems), clock, current)
    extended = clock.extend(amount, at, reason)
    return ExtensionDecision(True, (), extended, extended.deadline(calendar), rules.notify)


@dataclass(frozen=True)
class AppealDecision:
    accepted: bool
    window_ends: Deadline
    return_to: str | None  # where the ticket goes back to when accepted


def review_appeal(
    policy: Policy, *, assigned_at: datetime, appealed_at: datetime, calendar: WorkingCalendar
) -> AppealDecision:
    """A unit that is not responsible appeals; in time, the ticket goes back."""
    ends = deadline(assigned_at, policy.appeal.window, calendar)
    accepted = appealed_at <= ends.at
    return AppealDecision(accepted, ends, policy.appeal.return_to if accepted else None)
