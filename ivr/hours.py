"""Business hours of a hotline: when seats answer, and when the next opening is."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, time, timedelta
from zoneinfo import ZoneInfo


@dataclass(frozen=True)
class BusinessHours:
    """Daily opening hours in the call center's zone; ``closes`` before ``opens`` spans midnight.

    Open from ``opens`` inclusive to ``closes`` exclusive: at 09:00:00 a caller reaches the
    menu, at 21:00:00 the after-hours greeting.
    """

    opens: time
    closes: time
    zone: ZoneInfo

    def is_open(self, moment: datetime) -> bool:
        local = moment.astimezone(self.zone).time()
        if self.opens < self.closes:
            return self.opens <= local < self.closes
        return local >= self.opens or local < self.closes

    def next_opening(self, moment: datetime) -> datetime:
        """The first opening at or after ``moment`` (``moment`` itself when open)."""
        if self.is_open(moment):
            return moment
        local = moment.astimezone(self.zone)
        candidate = datetime.combine(local.date(), self.opens, tzinfo=self.zone)
        if candidate <= local:
            candidate = datetime.combine(
                local.date() + timedelta(days=1), self.opens, tzinfo=self.zone
            )
        return candidate
