"""The one Twilio REST client factory.

With ``TWILIO_API_BASE_URL`` set (the local Twilio stand-in), every request the SDK makes
to a ``*.twilio.com`` host is sent to that address instead; the SDK itself is unchanged.
"""

from __future__ import annotations

from typing import Any
from urllib.parse import urlsplit, urlunsplit

from twilio.http.http_client import TwilioHttpClient
from twilio.http.response import Response
from twilio.rest import Client


class RedirectedHttpClient(TwilioHttpClient):
    """A ``TwilioHttpClient`` that sends Twilio API requests to another base URL."""

    def __init__(self, base_url: str, timeout: float = 10.0) -> None:
        super().__init__(timeout=timeout)
        self.base_url = base_url

    def request(self, method: str, url: str, *args: Any, **kwargs: Any) -> Response:
        return super().request(method, twilio_host_url(self.base_url, url), *args, **kwargs)


def make_twilio_client(account_sid: str, auth_token: str, api_base_url: str = "") -> Client:
    """Build the REST client; pointed at ``api_base_url`` when one is configured."""
    http_client = RedirectedHttpClient(api_base_url) if api_base_url else TwilioHttpClient(
        timeout=10.0
    )
    return Client(account_sid, auth_token, http_client=http_client)


def twilio_host_url(api_base_url: str, url: str) -> str:
    """Rewrite a Twilio media URL (e.g. a RecordingUrl) to the configured API base."""
    if not api_base_url:
        return url
    target, parts = urlsplit(api_base_url), urlsplit(url)
    if parts.hostname and parts.hostname.endswith("twilio.com"):
        return urlunsplit((target.scheme, target.netloc, parts.path, parts.query, ""))
    return url
