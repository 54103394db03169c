"""SMS sent through the REST API, and their status callbacks.

A message is stored as ``queued``; if it has a StatusCallback, the stand-in then reports
``sent`` and ``delivered`` to it (MessageSid, SmsSid, MessageStatus, SmsStatus, From, To,
AccountSid, ApiVersion), signed like every webhook.
"""

from __future__ import annotations

import threading
from dataclasses import dataclass, field
from datetime import datetime

from .ids import API_VERSION, new_sid, utc_now
from .urls import UrlMap
from .webhooks import WebhookClient, WebhookError


@dataclass
class SentMessage:
    """One message created with ``POST Messages.json``."""

    to: str
    from_: str
    body: str
    status_callback: str | None = None
    media_urls: list[str] = field(default_factory=list)
    messaging_service_sid: str | None = None
    sid: str = field(default_factory=lambda: new_sid("SM"))
    status: str = "queued"
    date_created: datetime = field(default_factory=utc_now)
    date_sent: datetime | None = None
    callbacks: list[tuple[str, int | None]] = field(default_factory=list)


class MessageStore:
    """Messages in creation order; thread-safe."""

    def __init__(self) -> None:
        self._items: list[SentMessage] = []
        self._lock = threading.Lock()

    def add(self, message: SentMessage) -> None:
        with self._lock:
            self._items.append(message)

    def all(self) -> list[SentMessage]:
        with self._lock:
            return list(self._items)

    def get(self, sid: str) -> SentMessage | None:
        with self._lock:
            return next((m for m in self._items if m.sid == sid), None)


def deliver(message: SentMessage, account_sid: str, auth_token: str, url_map: UrlMap,
            timeout: float) -> None:
    """Mark a message sent then delivered, telling its StatusCallback each time."""
    client = WebhookClient(auth_token, url_map, timeout)
    try:
        for status in ("sent", "delivered"):
            message.status = status
            if status == "sent":
                message.date_sent = utc_now()
            if not message.status_callback:
                continue
            params = {"AccountSid": account_sid, "ApiVersion": API_VERSION,
                      "MessageSid": message.sid, "SmsSid": message.sid,
                      "MessageStatus": status, "SmsStatus": status,
                      "From": message.from_, "To": message.to}
            try:
                answer = client.send(message.status_callback, "POST", params)
                message.callbacks.append((status, answer.status))
            except WebhookError:
                message.callbacks.append((status, None))
    finally:
        client.close()
