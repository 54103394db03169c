"""What callers read in SMS, from the prompts file (so operators change it without code).

Pure: prompts, the complaint's values and the time zone in, text out. The query PIN is
never put in an SMS: it exists only as a hash once the call that told it has ended.
"""

from __future__ import annotations

from datetime import datetime
from zoneinfo import ZoneInfo

from ivr.prompts import Prompts


def local_text(moment: datetime | None, zone: ZoneInfo) -> str:
    """``11月25日10:30`` in the center's zone; empty for no time."""
    if moment is None:
        return ""
    local = moment.astimezone(zone)
    return f"{local.month}月{local.day}日{local.strftime('%H:%M')}"


def _text(prompts: Prompts, key: str, **values: object) -> str:
    prompt = prompts.get(key, **values)
    return prompt.text.strip()


def acknowledgment(prompts: Prompts, *, number: str, received_at: datetime,
                   expected_at: datetime | None, handler: str, missing: str,
                   zone: ZoneInfo) -> str:
    """The acknowledgment: number, time received, expected completion, handler, and the
    materials still missing (POLICY: 受理确认函)."""
    missing_text = _text(prompts, "sms_missing_materials", materials=missing) if missing else ""
    expected = local_text(expected_at, zone) or "处理完毕"
    return _text(prompts, "sms_acknowledgment", number=number,
                 received=local_text(received_at, zone), expected=expected, handler=handler,
                 missing=missing_text)


def extension(prompts: Prompts, *, number: str, due_at: datetime | None, reason: str,
              zone: ZoneInfo) -> str:
    return _text(prompts, "sms_extension", number=number, due=local_text(due_at, zone),
                 reason=reason)


def materials_requested(prompts: Prompts, *, number: str, missing: str) -> str:
    return _text(prompts, "sms_materials_requested", number=number, materials=missing)
