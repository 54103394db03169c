"""The acceptance form (投诉受理单) as the API receives it: read, checked against the policy.

Pure: a JSON object and the policy in, model attribute values out, or an ``InvalidRequest``
naming the field. Used for a new complaint (required fields enforced) and for corrections
(only the fields sent).
"""

from __future__ import annotations

import re
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from datetime import datetime
from typing import Any
from zoneinfo import ZoneInfo

from handlers.errors import InvalidRequest
from handlers.policy import Policy

PHONE_RE = re.compile(r"^\+?[0-9]{3,20}$")
SID_RE = re.compile(r"^CA[0-9a-fA-F]{32}$")
REQUIRED = ("description", "class", "level", "urgency")


def _text(limit: int) -> Callable[[str, Any, Policy, ZoneInfo], Any]:
    def read(key: str, value: Any, _policy: Policy, _zone: ZoneInfo) -> str:
        if not isinstance(value, str):
            raise InvalidRequest(f"{key}: expected text")
        value = value.strip()
        if len(value) > limit:
            raise InvalidRequest(f"{key}: at most {limit} characters")
        return value
    return read


def _phone(key: str, value: Any, _policy: Policy, _zone: ZoneInfo) -> str:
    if not isinstance(value, str) or (value and not PHONE_RE.match(value.strip())):
        raise InvalidRequest(f"{key}: expected a phone number such as +8613800000000")
    return value.strip()


def _flag(key: str, value: Any, _policy: Policy, _zone: ZoneInfo) -> bool:
    if not isinstance(value, bool):
        raise InvalidRequest(f"{key}: expected true or false")
    return value


def _time(key: str, value: Any, _policy: Policy, zone: ZoneInfo) -> datetime | None:
    """ISO 8601; a time without an offset is the call center's local time."""
    if value is None:
        return None
    try:
        moment = datetime.fromisoformat(value) if isinstance(value, str) else None
    except ValueError:
        moment = None
    if moment is None:
        raise InvalidRequest(f"{key}: expected a time like 2026-11-23T10:30:00+08:00")
    return moment if moment.tzinfo else moment.replace(tzinfo=zone)


def _ref(section: str, empty: bool = False) -> Callable[[str, Any, Policy, ZoneInfo], Any]:
    def read(key: str, value: Any, policy: Policy, _zone: ZoneInfo) -> str:
        known = getattr(policy, section)
        if empty and value in ("", None):
            return ""
        if not isinstance(value, str) or value not in known:
            raise InvalidRequest(f"{key}: expected one of {', '.join(known)}", allowed=list(known))
        return value
    return read


def _refs(section: str) -> Callable[[str, Any, Policy, ZoneInfo], Any]:
    def read(key: str, value: Any, policy: Policy, _zone: ZoneInfo) -> list[str]:
        known = getattr(policy, section)
        if not isinstance(value, list) or any(v not in known for v in value):
            raise InvalidRequest(f"{key}: expected a list of {', '.join(known)}",
                                 allowed=list(known))
        return list(dict.fromkeys(value))
    return read


@dataclass(frozen=True)
class Field:
    attribute: str
    read: Callable[[str, Any, Policy, ZoneInfo], Any]


FIELDS: dict[str, Field] = {
    "caller_number": Field("caller_number", _phone),
    "contact_name": Field("contact_name", _text(64)),
    "contact_number": Field("contact_number", _phone),
    "channel": Field("channel", _ref("channels")),
    "subject": Field("subject", _text(128)),
    "target_product": Field("target_product", _text(128)),
    "target_branch": Field("target_branch", _text(128)),
    "target_employee_id": Field("target_employee_id", _text(32)),
    "occurred_at": Field("occurred_at", _time),
    "occurred_place": Field("occurred_place", _text(128)),
    "description": Field("description", _text(4000)),
    "demands": Field("demands", _refs("demands")),
    "demand_text": Field("demand_text", _text(1000)),
    "missing_materials": Field("missing_materials", _text(1000)),
    "class": Field("complaint_class", _ref("classes")),
    "level": Field("level", _ref("levels")),
    "urgency": Field("urgency", _ref("urgencies")),
    "severity": Field("severity", _ref("severities", empty=True)),
    "complex": Field("complex", _flag),
    "flags": Field("flags", _refs("flags")),
}
CLASSIFICATION = frozenset({"complaint_class", "level", "urgency", "severity", "channel",
                            "complex"})
# Keys of a new complaint that are not form fields.
CREATE_ONLY = frozenset({"call_sid", "evidence", "announce"})


def read_fields(body: Mapping[str, Any], policy: Policy, zone: ZoneInfo, *,
                extra: frozenset[str] = frozenset()) -> dict[str, Any]:
    """The form fields present in ``body`` as model attributes; unknown keys are refused so
    that a misspelt field is not silently dropped."""
    unknown = sorted(set(body) - set(FIELDS) - extra)
    if unknown:
        raise InvalidRequest(f"unknown field(s): {', '.join(unknown)}",
                             fields=sorted([*FIELDS, *extra]))
    return {
        FIELDS[key].attribute: FIELDS[key].read(key, value, policy, zone)
        for key, value in body.items() if key in FIELDS
    }


@dataclass(frozen=True)
class NewComplaint:
    """A complaint to register: the form, the call it came from, its attachments."""

    fields: dict[str, Any]
    call_sid: str | None
    evidence: tuple[dict[str, str], ...]
    announce: bool


def read_new(body: Mapping[str, Any], policy: Policy, zone: ZoneInfo) -> NewComplaint:
    fields = read_fields(body, policy, zone, extra=CREATE_ONLY)
    missing = [key for key in REQUIRED if FIELDS[key].attribute not in fields]
    if missing:
        raise InvalidRequest(f"required: {', '.join(missing)}")
    call_sid = body.get("call_sid")
    if call_sid is not None and (not isinstance(call_sid, str) or not SID_RE.match(call_sid)):
        raise InvalidRequest("call_sid: expected a Twilio CallSid (CA + 32 hex digits)")
    if not call_sid and not fields.get("caller_number"):
        raise InvalidRequest("caller_number is required when the complaint has no call_sid")
    announce = body.get("announce", False)
    if not isinstance(announce, bool):
        raise InvalidRequest("announce: expected true or false")
    if announce and not call_sid:
        raise InvalidRequest("announce needs the call_sid of the caller's live call")
    evidence = tuple(read_evidence(item) for item in _list(body.get("evidence", []), "evidence"))
    return NewComplaint(fields, call_sid, evidence, announce)


def _list(value: Any, key: str) -> list[Any]:
    if not isinstance(value, list):
        raise InvalidRequest(f"{key}: expected a list")
    return value


def read_evidence(item: Any) -> dict[str, str]:
    """An attachment: ``name`` and ``url`` required, ``content_type`` and ``sha256`` optional."""
    if not isinstance(item, dict):
        raise InvalidRequest("evidence: each item must be an object with name and url")
    unknown = sorted(set(item) - {"name", "url", "content_type", "sha256"})
    if unknown:
        raise InvalidRequest(f"evidence: unknown key(s) {', '.join(unknown)}")
    values = {key: item.get(key, "") for key in ("name", "url", "content_type", "sha256")}
    if not all(isinstance(v, str) for v in values.values()):
        raise InvalidRequest("evidence: name, url, content_type and sha256 are text")
    if not values["name"].strip() or len(values["name"]) > 128:
        raise InvalidRequest("evidence: name is required (at most 128 characters)")
    if not values["url"].startswith(("https://", "http://")) or len(values["url"]) > 1024:
        raise InvalidRequest("evidence: url must be an http(s) address")
    if values["sha256"] and not re.fullmatch(r"[0-9a-f]{64}", values["sha256"]):
        raise InvalidRequest("evidence: sha256 must be 64 lowercase hex digits")
    if len(values["content_type"]) > 64:
        raise InvalidRequest("evidence: content_type is at most 64 characters")
    return values
