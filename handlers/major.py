"""Major complaints (重大投诉): whether a complaint is one, why, and whom to tell by when.

A pure function of the policy's ``[major]`` rules, the classification, the seat's flags and
the caller's demands, and the caller's earlier complaints; the caller of ``assess_major``
stores the result and sends the reports.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import TYPE_CHECKING

from handlers.calendar import WorkingCalendar
from handlers.escalation import Classification, ClassificationError
from handlers.sla import Deadline, deadline

if TYPE_CHECKING:
    from handlers.policy import Policy


@dataclass(frozen=True)
class EarlierComplaint:
    """Another complaint from the same number."""

    complaint_id: str
    received_at: datetime


@dataclass(frozen=True)
class MajorReason:
    trigger: str
    reason: str
    related: tuple[str, ...] = ()  # the earlier complaints that made it a repeat


@dataclass(frozen=True)
class MajorAssessment:
    """Whether a complaint is major, why, and whom to tell by when."""

    major: bool
    reasons: tuple[MajorReason, ...]
    notify_at_once: tuple[str, ...] = ()
    report_to: tuple[str, ...] = ()
    report_by: Deadline | None = None  # counted from the assessment
    convene: tuple[str, ...] = ()
    provisional: bool = False


def assess_major(
    policy: Policy,
    classification: Classification,
    *,
    received_at: datetime,
    at: datetime,
    calendar: WorkingCalendar,
    earlier: Sequence[EarlierComplaint] = (),
    flags: Iterable[str] = (),
    demands: Iterable[str] = (),
) -> MajorAssessment:
    """Judge at ``at`` (registration, or when a seat sets a flag) whether the complaint is major.

    A repeat counts the earlier complaints of the same number received before this one and
    within the trigger's window of it; this complaint is the (count + 1)th.
    """
    facts = classification.facts(policy)
    flags, demands = frozenset(flags), frozenset(demands)
    for value in flags - set(policy.flags):
        raise ClassificationError(f"unknown flag {value!r}")
    for value in demands - set(policy.demands):
        raise ClassificationError(f"unknown demand {value!r}")
    reasons, provisional = [], False
    for trigger in policy.major.triggers:
        related: tuple[str, ...] = ()
        if trigger.repeat is not None:
            within = []
            for other in earlier:
                if other.received_at < received_at:
                    window = deadline(other.received_at, trigger.repeat.within, calendar)
                    provisional = provisional or window.provisional
                    if received_at <= window.at:
                        within.append(other.complaint_id)
            related = tuple(within)
        if (
            (not trigger.flags or flags & set(trigger.flags))
            and (not trigger.demands or demands & set(trigger.demands))
            and (trigger.when is None or trigger.when.matches(facts))
            and (trigger.repeat is None or len(related) + 1 >= trigger.repeat.count)
        ):
            reasons.append(MajorReason(trigger.id, trigger.reason, related))
    if not reasons:
        return MajorAssessment(False, (), provisional=provisional)
    rules = policy.major
    report_by = deadline(at, rules.report_within, calendar)
    return MajorAssessment(
        True, tuple(reasons), rules.notify_at_once, rules.report_to, report_by, rules.convene,
        provisional or report_by.provisional,
    )

