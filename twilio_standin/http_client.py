"""Pointing the real Twilio SDK at the stand-in.

The SDK builds URLs on ``https://api.twilio.com`` (and other ``*.twilio.com`` hosts);
:class:`StandInHttpClient` rewrites those to the stand-in's base URL and otherwise behaves
exactly like the SDK's own :class:`~twilio.http.http_client.TwilioHttpClient`::

    from twilio.rest import Client
    from twilio_standin import standin_http_client

    http = standin_http_client(standin.base_url)
    client = Client(account_sid, auth_token, http_client=http)
    client.calls.create(to="+86…", from_="+86…", url="https://ivr.example.com/voice/out")
    http.close()
"""

from __future__ import annotations

from typing import Any
from urllib.parse import urlsplit, urlunsplit

from twilio.http.http_client import TwilioHttpClient
from twilio.http.response import Response


def rewrite_twilio_url(url: str, base_url: str) -> str:
    """Send a ``*.twilio.com`` URL to ``base_url`` instead (other URLs are unchanged)."""
    parts = urlsplit(url)
    host = (parts.hostname or "").lower()
    if host != "twilio.com" and not host.endswith(".twilio.com"):
        return url
    base = urlsplit(base_url)
    path = base.path.rstrip("/") + parts.path
    return urlunsplit((base.scheme, base.netloc, path, parts.query, parts.fragment))


class StandInHttpClient(TwilioHttpClient):
    """A :class:`TwilioHttpClient` whose requests go to a stand-in."""

    def __init__(self, base_url: str, **kwargs: Any) -> None:
        super().__init__(**kwargs)
        self.base_url = base_url.rstrip("/")

    def request(self, method: str, url: str, *args: Any, **kwargs: Any) -> Response:
        return super().request(method, rewrite_twilio_url(url, self.base_url), *args, **kwargs)

    def close(self) -> None:
        """Close the pooled connections (the SDK never does it by itself)."""
        if self.session is not None:
            self.session.close()


def standin_http_client(base_url: str, **kwargs: Any) -> StandInHttpClient:
    """An SDK HTTP client for ``Client(sid, token, http_client=…)`` that talks to a stand-in."""
    return StandInHttpClient(base_url, **kwargs)
