"""What every Twilio webhook view shares: the signature check and the TwiML response.

Twilio signs each request with the account's auth token over the full URL it called
(our public address, not the address the proxy forwards to) plus the POSTed form.
"""

from __future__ import annotations

import functools
import hashlib
import logging
from collections.abc import Callable
from typing import ParamSpec, TypeVar

from flask import Response, abort, request
from twilio.request_validator import RequestValidator
from twilio.twiml import TwiML

from callcenter.services import services

log = logging.getLogger(__name__)

P = ParamSpec("P")
R = TypeVar("R")

# Twilio puts the same token on every retry of one webhook delivery.
IDEMPOTENCY_HEADER = "I-Twilio-Idempotency-Token"


def public_request_url() -> str:
    """The URL Twilio signed: the public base plus this request's path and query string."""
    query = request.query_string.decode("latin-1")
    path = request.path + (f"?{query}" if query else "")
    return services().settings.public_url(path)


def signature_is_valid() -> bool:
    signature = request.headers.get("X-Twilio-Signature", "")
    if not signature:
        return False
    validator = RequestValidator(services().settings.twilio_auth_token)
    params = request.form if request.method == "POST" else {}
    return bool(validator.validate(public_request_url(), params, signature))


def twilio_webhook(view: Callable[P, R]) -> Callable[P, R]:
    """Reject any request not signed by Twilio with 403, before the view touches anything."""

    @functools.wraps(view)
    def checked(*args: P.args, **kwargs: P.kwargs) -> R:
        if not signature_is_valid():
            log.warning("rejected unsigned or forged webhook to %s", request.path)
            abort(403, description="invalid or missing X-Twilio-Signature")
        return view(*args, **kwargs)

    return checked


def request_key() -> str:
    """A stable key for this webhook delivery, identical across Twilio's retries."""
    token = request.headers.get(IDEMPOTENCY_HEADER)
    if token:
        return token[:64]
    digest = hashlib.sha256(request.full_path.encode())
    for key in sorted(request.form):
        digest.update(f"\0{key}={request.form.get(key, '')}".encode())
    return digest.hexdigest()[:64]


def twiml_response(twiml: TwiML) -> Response:
    """Serve a TwiML document as Twilio expects it."""
    return Response(str(twiml), status=200, mimetype="text/xml")
