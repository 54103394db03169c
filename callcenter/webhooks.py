"""What every Twilio webhook view shares: the signature check, the delivery's parameters read
once, and the TwiML response.

Twilio signs each request with the account's auth token over the full URL it called
(our public address, not the address the proxy forwards to) plus the POSTed form.
A view decorated with ``twilio_webhook`` runs only for a genuine request, and takes the
delivery as a ``Webhook``: its form and query string as plain dicts, its idempotency key
and the services. Views read those, not Flask's ``request``.
"""

from __future__ import annotations

import base64
import functools
import hashlib
import hmac
import logging
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from typing import Any, Concatenate, ParamSpec, TypeVar, cast
from urllib.parse import unquote_plus

from flask import Request, Response, abort, request
from twilio.request_validator import RequestValidator
from twilio.twiml import TwiML
from werkzeug.datastructures import ImmutableMultiDict, MultiDict
from werkzeug.exceptions import RequestEntityTooLarge

from callcenter.services import Services, services
from callcenter.settings import Settings

log = logging.getLogger(__name__)

P = ParamSpec("P")
R = TypeVar("R")

# Twilio puts the same token on every retry of one webhook delivery, in the header
# I-Twilio-Idempotency-Token; read from the WSGI environ (cheaper than request.headers).
IDEMPOTENCY_ENVIRON = "HTTP_I_TWILIO_IDEMPOTENCY_TOKEN"
SIGNATURE_ENVIRON = "HTTP_X_TWILIO_SIGNATURE"

FORM_MAX_FIELDS = 1000
MAX_REQUEST_BYTES = 1024 * 1024  # the app's MAX_CONTENT_LENGTH; Twilio's forms are < 2 kB
_NO_FILES: ImmutableMultiDict[str, Any] = ImmutableMultiDict()
URLENCODED = "application/x-www-form-urlencoded"


@dataclass(slots=True)
class Webhook:
    """One Twilio webhook delivery whose signature checked out.

    ``form`` and ``query`` hold each field's first value, as ``request.form.get`` would
    give it; every value is the caller's or Twilio's text, to be checked before use.
    """

    form: dict[str, str]
    query: dict[str, str]
    key: str  # the same across Twilio's retries of this delivery (``request_key``)
    services: Services


class WebhookRequest(Request):
    """Flask's request, with Twilio's small url-encoded forms read by ``parse_form``.

    Every webhook reads its form; Werkzeug's general-purpose form parser costs several
    times as much for these, which the webhook benchmark shows. Anything
    else (multipart, no Content-Length, over the size limit) goes the usual way. The field
    limit holds for every url-encoded body: each field costs the signature check too.
    """

    def url_encoded_pairs(self) -> list[tuple[str, str]] | None:
        """The form's fields in order, read by ``parse_form``; None for a body that
        Werkzeug's parser must read (``request.form`` then)."""
        values = self.__dict__
        if "_pairs" in values:
            return values["_pairs"]  # type: ignore[no-any-return]
        environ = self.environ
        raw_length = environ.get("CONTENT_LENGTH", "")
        pairs = None
        if (environ.get("CONTENT_TYPE", "").startswith(URLENCODED)
                and raw_length.isascii() and raw_length.isdigit()
                and int(raw_length) <= MAX_REQUEST_BYTES  # above: Werkzeug answers 413
                and "_cached_data" not in values and "form" not in values):
            body = environ["wsgi.input"].read(int(raw_length))
            self._cached_data = body  # get_data() still answers the body
            pairs = parse_form(body.decode("utf-8", "replace"))
        values["_pairs"] = pairs
        return pairs

    def _load_form_data(self) -> None:
        if "form" in self.__dict__:
            return
        pairs = self.url_encoded_pairs()
        if pairs is None:
            super()._load_form_data()
            return
        self.__dict__["form"], self.__dict__["files"] = ImmutableMultiDict(pairs), _NO_FILES


def parse_form(text: str) -> list[tuple[str, str]]:
    """``parse_qsl(text, keep_blank_values=True)`` for Twilio's forms, at half the cost:
    only a name or value with an escape in it is unescaped (``parse_qsl`` unescapes
    every one). More than ``FORM_MAX_FIELDS`` fields: 413, before any is parsed."""
    if text.count("&") >= FORM_MAX_FIELDS:
        raise RequestEntityTooLarge(f"more than {FORM_MAX_FIELDS} fields")
    pairs = []
    for field in text.split("&"):
        if not field:
            continue
        name, _, value = field.partition("=")
        if "%" in name or "+" in name:
            name = unquote_plus(name)
        if "%" in value or "+" in value:
            value = _unescape(value)
        pairs.append((name, value))
    return pairs


def _unescape(value: str) -> str:
    # Twilio escapes the '+' of every phone number (From, To, Caller...) and nothing else
    # in most fields: that one escape alone is replaced without the general unquoting.
    if "+" not in value and value.count("%") == value.count("%2B"):
        return value.replace("%2B", "+")
    return unquote_plus(value)


def _form_pairs(req: Request) -> list[tuple[str, str]]:
    if req.method != "POST":
        return []  # Twilio signs the URL alone
    pairs = req.url_encoded_pairs() if isinstance(req, WebhookRequest) else None
    return list(req.form.items(multi=True)) if pairs is None else pairs


def public_request_url(req: Request, settings: Settings) -> str:
    """The URL Twilio signed: the public base plus this request's path and query string."""
    query = req.query_string.decode("latin-1")
    return settings.public_url(req.path + (f"?{query}" if query else ""))


def twilio_signature(auth_token: str, url: str, pairs: Iterable[tuple[str, str]]) -> str:
    """Twilio's signature of a request: HMAC-SHA1 over the URL, then each field's name and
    value, sorted by name then value, a repeated pair once; base64. As
    ``RequestValidator.compute_signature`` makes it, from a copy of an HMAC already keyed
    with the token (the SDK keys a new one and looks each field up twice, every webhook).
    """
    data = url + "".join([name + value for name, value in sorted(set(pairs))])
    mac = _keyed_hmac(auth_token).copy()
    mac.update(data.encode())
    return base64.b64encode(mac.digest()).decode()


@functools.lru_cache(maxsize=4)
def _keyed_hmac(auth_token: str) -> hmac.HMAC:
    return hmac.new(auth_token.encode(), digestmod=hashlib.sha1)


@functools.lru_cache(maxsize=4)
def _validator(auth_token: str) -> RequestValidator:
    return RequestValidator(auth_token)


def signature_is_valid(req: Request, settings: Settings, pairs: list[tuple[str, str]]) -> bool:
    signature = req.environ.get(SIGNATURE_ENVIRON, "")
    if not signature:
        return False
    url = public_request_url(req, settings)
    # Twilio signs the URL as we gave it: that one signature is checked first. The SDK's
    # validate() also tries the URL with and without an explicit port, for a base
    # configured either way.
    if hmac.compare_digest(twilio_signature(settings.twilio_auth_token, url, pairs), signature):
        return True
    validator = _validator(settings.twilio_auth_token)
    return bool(validator.validate(url, MultiDict(pairs), signature))


def verified_webhook(req: Request, svc: Services) -> Webhook:
    """The delivery ``req`` carries; 403 when Twilio did not sign it."""
    pairs = _form_pairs(req)
    if not signature_is_valid(req, svc.settings, pairs):
        log.warning("rejected unsigned or forged webhook to %s", req.path)
        abort(403, description="invalid or missing X-Twilio-Signature")
    query = parse_form(req.query_string.decode("utf-8", "replace"))
    # Each field's first value, as MultiDict.get gives it.
    return Webhook(dict(reversed(pairs)), dict(reversed(query)), request_key(req), svc)


def twilio_webhook(view: Callable[Concatenate[Webhook, P], R]) -> Callable[P, R]:
    """Reject any request not signed by Twilio with 403, before the view touches anything;
    hand the view the verified ``Webhook``."""

    @functools.wraps(view)
    def checked(*args: P.args, **kwargs: P.kwargs) -> R:
        # The request itself, not the proxy: each attribute read through the proxy costs
        # a context lookup, and a webhook reads a dozen.
        req: Request = cast(Any, request)._get_current_object()
        hook = verified_webhook(req, services())
        return view(hook, *args, **kwargs)

    return checked


def request_key(req: Request) -> str:
    """A stable key for this webhook delivery, identical across Twilio's retries."""
    token = req.environ.get(IDEMPOTENCY_ENVIRON)
    if token:
        return str(token)[:64]
    # Without the token, a retry is the same URL with the same body.
    digest = hashlib.sha256(req.full_path.encode())
    body = req.get_data()  # kept by WebhookRequest; empty if Werkzeug parsed the form
    if body:
        digest.update(b"\0" + body)
    else:
        for key, value in sorted(req.form.items(multi=True)):
            digest.update(f"\0{key}={value}".encode())
    return digest.hexdigest()[:64]


def twiml_response(twiml: TwiML | str) -> Response:
    """Serve a TwiML document (built, or already rendered) as Twilio expects it."""
    return Response(str(twiml), status=200, mimetype="text/xml")
