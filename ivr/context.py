"""Turning a Twilio webhook request into a ``CallContext`` (the Flask side of the IVR)."""

from __future__ import annotations

import functools
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any
from urllib.parse import urlencode

from flask import Flask, current_app
from sqlalchemy.orm import Session

from callcenter.db import Database
from callcenter.services import EXTENSION_KEY as SERVICES_KEY
from callcenter.services import services
from callcenter.settings import Settings, join_url
from callcenter.webhooks import Webhook
from handlers.context import EXTENSION_KEY as COMPLAINTS_KEY
from handlers.repeat_callers import RepeatCallers
from ivr import calls
from ivr.calls import CallFacts
from ivr.flow import CallContext
from ivr.hours import BusinessHours
from ivr.journal import CallJournal
from ivr.lookup_guard import LookupGuard
from ivr.menu import Menu
from ivr.prompts import Prompts, load_prompts

EXTENSION_KEY = "ivr"


@dataclass(frozen=True)
class IvrConfig:
    """Built once per app: the prompts file, the menu tree, the opening hours, the journal
    the calls' paths are written to, the lookup lock-outs, the public URL builder and the
    numbers with an open complaint."""

    prompts: Prompts
    menu: Menu
    hours: BusinessHours
    menu_enabled: bool
    journal: CallJournal
    guard: LookupGuard
    url: Callable[..., str]
    repeat_callers: RepeatCallers


def init_app(app: Flask, settings: Settings) -> None:
    opens, closes = settings.opening_hours
    svc = app.extensions[SERVICES_KEY]
    journal = CallJournal(settings.call_journal_dir,
                          apply=lambda lines: _write_steps(svc.database, lines))
    svc.upkeep.add("call journal", journal.ship, last=journal.close)
    app.extensions[EXTENSION_KEY] = IvrConfig(
        prompts=load_prompts(settings.prompts_path or None),
        menu=Menu(),
        hours=BusinessHours(opens, closes, settings.zone),
        menu_enabled=settings.ivr_menu_enabled,
        journal=journal,
        guard=LookupGuard(svc.redis, settings.lookup_max_failures,
                          settings.lookup_lockout_seconds),
        url=functools.partial(absolute_url, settings.public_base_url),
        repeat_callers=app.extensions[COMPLAINTS_KEY].repeat_callers,
    )


def _write_steps(database: Database, batch: bytes) -> None:
    with database.session() as session:
        calls.record_steps(session, batch)


def ivr_config() -> IvrConfig:
    return current_app.extensions[EXTENSION_KEY]  # type: ignore[no-any-return]


def public_url(path: str, **params: str) -> str:
    """An absolute URL under the public base, as Twilio must be told it."""
    return absolute_url(services().settings.public_base_url, path, **params)


def absolute_url(base: str, path: str, **params: str) -> str:
    return _absolute_url(base, path, tuple(params.items()))


@functools.lru_cache(maxsize=4096)
def _absolute_url(base: str, path: str, params: tuple[tuple[str, str], ...]) -> str:
    # The same few menu URLs are built on every step; urlencode is most of a step's cost.
    query = urlencode(params)
    return join_url(base, path + (f"?{query}" if query else ""))


def call_context(hook: Webhook) -> WebhookScope:
    """``with call_context(hook) as ctx``: the context of one webhook. Its database session
    opens only if the step needs one, and commits when the block ends."""
    return WebhookScope(hook)


class WebhookScope:
    """What ``call_context`` returns: a plain class, because it wraps every webhook."""

    __slots__ = ("_hook", "_session")

    def __init__(self, hook: Webhook) -> None:
        self._hook = hook
        self._session = hook.services.database.session_on_demand()

    def __enter__(self) -> CallContext:
        return _context(self._hook, ivr_config(), self._session)

    def __exit__(self, *exc: Any) -> bool | None:
        return self._session.__exit__(*exc)


def _context(hook: Webhook, config: IvrConfig,
             open_session: Callable[[], Session]) -> CallContext:
    svc = hook.services
    svc.upkeep.ensure_running()
    settings = svc.settings
    return CallContext(
        open_session=open_session,
        journal=config.journal,
        repeat_callers=config.repeat_callers,
        facts=CallFacts.from_form(hook.form),
        request_key=hook.key,
        now=svc.now(),
        hours=config.hours,
        menu_enabled=config.menu_enabled,
        prompts=config.prompts,
        menu=config.menu,
        guard=config.guard,
        pin_secret=settings.secret_key,
        url=config.url,
    )
