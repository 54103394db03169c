"""Turning a Twilio webhook request into a ``CallContext`` (the Flask side of the IVR)."""

from __future__ import annotations

from dataclasses import dataclass
from urllib.parse import urlencode

from flask import Flask, current_app, request
from sqlalchemy.orm import Session

from callcenter.services import services
from callcenter.settings import Settings
from callcenter.webhooks import request_key
from ivr.calls import CallFacts
from ivr.flow import CallContext
from ivr.hours import BusinessHours
from ivr.lookup_guard import LookupGuard
from ivr.menu import Menu
from ivr.prompts import Prompts, load_prompts

EXTENSION_KEY = "ivr"


@dataclass(frozen=True)
class IvrConfig:
    """Loaded once per app: the prompts file, the menu tree and the opening hours."""

    prompts: Prompts
    menu: Menu
    hours: BusinessHours
    menu_enabled: bool


def init_app(app: Flask, settings: Settings) -> None:
    opens, closes = settings.opening_hours
    app.extensions[EXTENSION_KEY] = IvrConfig(
        prompts=load_prompts(settings.prompts_path or None),
        menu=Menu(),
        hours=BusinessHours(opens, closes, settings.zone),
        menu_enabled=settings.ivr_menu_enabled,
    )


def ivr_config() -> IvrConfig:
    return current_app.extensions[EXTENSION_KEY]  # type: ignore[no-any-return]


def public_url(path: str, **params: str) -> str:
    """An absolute URL under the public base, as Twilio must be told it."""
    query = urlencode(params)
    return services().settings.public_url(path + (f"?{query}" if query else ""))


def call_context(session: Session) -> CallContext:
    config, svc = ivr_config(), services()
    settings = svc.settings
    return CallContext(
        session=session,
        facts=CallFacts.from_form(request.form),
        request_key=request_key(),
        now=svc.now(),
        hours=config.hours,
        menu_enabled=config.menu_enabled,
        prompts=config.prompts,
        menu=config.menu,
        guard=LookupGuard(svc.redis, settings.lookup_max_failures,
                          settings.lookup_lockout_seconds),
        pin_secret=settings.secret_key,
        url=public_url,
    )
