"""What every Twilio webhook view shares: the signature check and the TwiML response.

Twilio signs each request with the account's auth token over the full URL it called
(our public address, not the address the proxy forwards to) plus the POSTed form.
"""

from __future__ import annotations

import functools
import hashlib
import hmac
import logging
from collections.abc import Callable, Mapping
from typing import Any, ParamSpec, TypeVar
from urllib.parse import unquote_plus

from flask import Request, Response, abort, request
from twilio.request_validator import RequestValidator
from twilio.twiml import TwiML
from werkzeug.datastructures import ImmutableMultiDict
from werkzeug.exceptions import RequestEntityTooLarge

from callcenter.services import services
from callcenter.settings import Settings

log = logging.getLogger(__name__)

P = ParamSpec("P")
R = TypeVar("R")

# Twilio puts the same token on every retry of one webhook delivery, in the header
# I-Twilio-Idempotency-Token; read from the WSGI environ (cheaper than request.headers).
IDEMPOTENCY_ENVIRON = "HTTP_I_TWILIO_IDEMPOTENCY_TOKEN"


def public_request_url(settings: Settings | None = None) -> str:
    """The URL Twilio signed: the public base plus this request's path and query string."""
    query = request.query_string.decode("latin-1")
    path = request.path + (f"?{query}" if query else "")
    return (settings or services().settings).public_url(path)


FORM_MAX_FIELDS = 1000
MAX_REQUEST_BYTES = 1024 * 1024  # the app's MAX_CONTENT_LENGTH; Twilio's forms are < 2 kB
_NO_FILES: ImmutableMultiDict[str, Any] = ImmutableMultiDict()
URLENCODED = "application/x-www-form-urlencoded"


class WebhookRequest(Request):
    """Flask's request, with Twilio's small url-encoded forms read by ``parse_form``.

    Every webhook reads its form; Werkzeug's general-purpose form parser costs several
    times as much for these, which the webhook benchmark shows. Anything
    else (multipart, no Content-Length, over the size limit) goes the usual way. The field
    limit holds for every url-encoded body: each field costs the signature check too.
    """

    def _load_form_data(self) -> None:
        if "form" in self.__dict__:
            return
        environ = self.environ
        raw_length = environ.get("CONTENT_LENGTH", "")
        if (not environ.get("CONTENT_TYPE", "").startswith(URLENCODED)
                or not (raw_length.isascii() and raw_length.isdigit())
                or int(raw_length) > MAX_REQUEST_BYTES  # Werkzeug answers 413
                or "_cached_data" in self.__dict__):
            super()._load_form_data()
            return
        body = environ["wsgi.input"].read(int(raw_length))
        self._cached_data = body  # get_data() still answers the body
        pairs = parse_form(body.decode("utf-8", "replace"))
        values = self.__dict__
        values["form"], values["files"] = ImmutableMultiDict(pairs), _NO_FILES
        by_name = values["_signed_form"] = _SignedForm()
        for name, value in pairs:
            by_name.setdefault(name, []).append(value)

    def signed_form(self) -> Mapping[str, Any]:
        """The form as the signature check reads it (see ``_SignedForm``)."""
        form = self.form
        signed: _SignedForm | None = self.__dict__.get("_signed_form")
        return form if signed is None else signed


def parse_form(text: str) -> list[tuple[str, str]]:
    """``parse_qsl(text, keep_blank_values=True)`` for Twilio's forms, at half the cost:
    only a field with an escape in it is unescaped (``parse_qsl`` unescapes every name and
    value). More than ``FORM_MAX_FIELDS`` fields: 413, before any is parsed."""
    if text.count("&") >= FORM_MAX_FIELDS:
        raise RequestEntityTooLarge(f"more than {FORM_MAX_FIELDS} form fields")
    pairs = []
    for field in text.split("&"):
        if not field:
            continue
        name, _, value = field.partition("=")
        if "%" in field or "+" in field:
            name, value = unquote_plus(name), unquote_plus(value)
        pairs.append((name, value))
    return pairs


class _SignedForm(dict[str, list[str]]):
    """The SDK's signature check asks each field's values for ``getall`` first; a MultiDict
    answers that with an exception per field, which doubles the cost of the check."""

    def getall(self, name: str) -> list[str]:
        return self[name]


@functools.lru_cache(maxsize=4)
def _validator(auth_token: str) -> RequestValidator:
    return RequestValidator(auth_token)


def signature_is_valid() -> bool:
    signature = request.environ.get("HTTP_X_TWILIO_SIGNATURE", "")
    if not signature:
        return False
    settings = services().settings
    validator = _validator(settings.twilio_auth_token)
    signed_form = getattr(request, "signed_form", None)
    params: Mapping[str, Any] = (
        {} if request.method != "POST" else signed_form() if signed_form else request.form)
    url = public_request_url(settings)
    # Twilio signs the URL as we gave it; computing that one signature first halves the
    # cost of a genuine request. The SDK's validate() also tries the URL with and without
    # an explicit port, for a base configured either way.
    if hmac.compare_digest(validator.compute_signature(url, params), signature):
        return True
    return bool(validator.validate(url, params, signature))


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
    token = request.environ.get(IDEMPOTENCY_ENVIRON)
    if token:
        return token[:64]
    # Without the token, a retry is the same URL with the same body.
    digest = hashlib.sha256(request.full_path.encode())
    body = request.get_data()  # kept by WebhookRequest; empty if Werkzeug parsed the form
    if body:
        digest.update(b"\0" + body)
    else:
        for key, value in sorted(request.form.items(multi=True)):
            digest.update(f"\0{key}={value}".encode())
    return digest.hexdigest()[:64]


def twiml_response(twiml: TwiML | str) -> Response:
    """Serve a TwiML document (built, or already rendered) as Twilio expects it."""
    return Response(str(twiml), status=200, mimetype="text/xml")
