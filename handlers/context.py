"""The complaint side of one app: its policy, loaded once when the app is built.

A policy file with an error stops the app from starting, with the file, line and key in the
message; a running service never meets a policy it cannot read.
"""

from __future__ import annotations

from dataclasses import dataclass

from flask import Flask, current_app
from sqlalchemy.orm import Session

from handlers.calendar import WorkingCalendar
from handlers.calendar_store import load_calendar
from handlers.policy import DEFAULT_POLICY_PATH, Policy, load_policy
from handlers.repeat_callers import RepeatCallers

EXTENSION_KEY = "complaints"


@dataclass(frozen=True)
class ComplaintConfig:
    policy: Policy
    repeat_callers: RepeatCallers


def init_app(app: Flask, policy_path: str) -> None:
    from callcenter.services import EXTENSION_KEY as SERVICES_KEY

    svc = app.extensions[SERVICES_KEY]
    repeat = RepeatCallers(svc.database, lambda: svc.redis)
    svc.upkeep.add("complaint caller numbers", repeat.refresh)
    app.extensions[EXTENSION_KEY] = ComplaintConfig(
        load_policy(policy_path or DEFAULT_POLICY_PATH), repeat)


def complaint_policy() -> Policy:
    config: ComplaintConfig = current_app.extensions[EXTENSION_KEY]
    return config.policy


def repeat_callers() -> RepeatCallers:
    config: ComplaintConfig = current_app.extensions[EXTENSION_KEY]
    return config.repeat_callers


def working_calendar(session: Session) -> WorkingCalendar:
    """The policy's calendar with the operator's entered years from the database over it."""
    return load_calendar(session, complaint_policy())
