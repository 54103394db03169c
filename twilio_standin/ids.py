"""Identifiers and timestamps in the formats Twilio uses.

Twilio SIDs are a two-letter prefix and 32 hex digits (``CA…`` calls, ``RE…`` recordings,
``SM…`` messages, ``QU…`` queues); REST payloads carry RFC 2822 dates.
"""

from __future__ import annotations

import uuid
from datetime import UTC, datetime, timedelta
from email.utils import format_datetime

API_VERSION = "2010-04-01"


def new_sid(prefix: str) -> str:
    """Return a fresh SID such as ``CA3f…`` (prefix + 32 lowercase hex digits)."""
    return prefix + uuid.uuid4().hex


def utc_now() -> datetime:
    """The current wall-clock time, timezone-aware."""
    return datetime.now(UTC)


def shifted(start: datetime, seconds: float) -> datetime:
    """``start`` moved by a number of (simulated) seconds."""
    return start + timedelta(seconds=seconds)


def rfc2822(moment: datetime | None) -> str | None:
    """Format like Twilio's REST API: ``Tue, 31 Aug 2010 20:36:28 +0000``."""
    if moment is None:
        return None
    return format_datetime(moment.astimezone(UTC).replace(microsecond=0))


def whole_seconds(seconds: float) -> int:
    """Round a simulated duration to the whole seconds Twilio reports."""
    return int(seconds + 0.5) if seconds > 0 else 0
