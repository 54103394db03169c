"""Signed HTTP requests to the application, as Twilio sends them.

Every request carries ``X-Twilio-Signature`` computed with the SDK's own
:class:`~twilio.request_validator.RequestValidator` over the *public* URL (plus the POST
parameters; GET parameters travel in the query string and are part of the signed URL).
"""

from __future__ import annotations

from dataclasses import dataclass

import requests
from twilio.request_validator import RequestValidator

from .urls import UrlMap, with_query

USER_AGENT = "TwilioProxy/1.1"


class WebhookError(Exception):
    """The application could not be reached (Twilio error 11205) or timed out (11200)."""

    def __init__(self, message: str, code: int) -> None:
        super().__init__(message)
        self.message = message
        self.code = code


@dataclass(frozen=True)
class WebhookResponse:
    """What the application answered."""

    status: int
    body: bytes
    content_type: str
    public_url: str
    local_url: str


class WebhookClient:
    """Sends signed webhooks for one call; close it when the call ends."""

    def __init__(self, auth_token: str, url_map: UrlMap, timeout: float) -> None:
        self._validator = RequestValidator(auth_token)
        self._map = url_map
        self._timeout = timeout
        self._session = requests.Session()

    def close(self) -> None:
        self._session.close()

    def signature(self, public_url: str, params: dict[str, str]) -> str:
        return self._validator.compute_signature(public_url, params)

    def send(self, url: str, method: str, params: dict[str, str]) -> WebhookResponse:
        """Request ``url`` (public or local) with Twilio's parameters and signature."""
        public = self._map.to_public(url)
        local = self._map.to_local(url)
        headers = {"User-Agent": USER_AGENT, "Accept": "*/*",
                   "Cache-Control": "max-age=259200"}
        try:
            if method == "GET":
                public = with_query(public, params)
                local = with_query(local, params)
                headers["X-Twilio-Signature"] = self.signature(public, {})
                response = self._session.get(local, headers=headers, timeout=self._timeout,
                                             allow_redirects=False)
            else:
                headers["X-Twilio-Signature"] = self.signature(public, params)
                response = self._session.post(local, data=params, headers=headers,
                                              timeout=self._timeout, allow_redirects=False)
        except requests.Timeout:
            raise WebhookError(f"{method} {public}: no response within {self._timeout:g}s",
                               11200) from None
        except requests.RequestException as exc:
            raise WebhookError(f"{method} {public}: connection failed "
                               f"({type(exc).__name__}: {exc})", 11205) from None
        with response:
            body = response.content
        return WebhookResponse(status=response.status_code, body=body,
                               content_type=response.headers.get("Content-Type", ""),
                               public_url=public, local_url=local)
