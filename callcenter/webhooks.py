"""The Twilio webhooks: served by a small WSGI layer in front of Flask.

Twilio signs each request with the account's auth token over the full URL it called
(our public address, not the address the proxy forwards to) plus the POSTed form, and
wants TwiML back within milliseconds. A webhook needs none of what Flask builds for every
request (request and response objects, URL matching, sessions, signals), and that costs as
much as the webhook's own work, which ``bench/webhooks.py`` shows. So each package declares
its webhooks in a ``WebhookRoutes`` (as it would a blueprint), and the app's
``WebhookDispatcher`` serves them: it refuses any request Twilio did not sign with 403,
hands the view the delivery as a ``Webhook`` (form and query string as plain dicts, the
delivery's idempotency key, the services) inside the app context, and answers its TwiML.
Every other path goes on to Flask.
"""

from __future__ import annotations

import base64
import functools
import hashlib
import hmac
import logging
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from typing import TYPE_CHECKING, TypeAlias
from urllib.parse import unquote_plus

from flask import Flask
from twilio.request_validator import RequestValidator
from twilio.twiml import TwiML
from werkzeug.datastructures import MultiDict
from werkzeug.exceptions import (
    BadRequest,
    Forbidden,
    HTTPException,
    MethodNotAllowed,
    RequestEntityTooLarge,
)
from werkzeug.wrappers import Request

from callcenter.services import Services

if TYPE_CHECKING:
    from _typeshed.wsgi import StartResponse, WSGIApplication, WSGIEnvironment

log = logging.getLogger(__name__)

# Twilio puts the same token on every retry of one webhook delivery, in the header
# I-Twilio-Idempotency-Token.
IDEMPOTENCY_ENVIRON = "HTTP_I_TWILIO_IDEMPOTENCY_TOKEN"
SIGNATURE_ENVIRON = "HTTP_X_TWILIO_SIGNATURE"

FORM_MAX_FIELDS = 1000
MAX_REQUEST_BYTES = 1024 * 1024  # the app's MAX_CONTENT_LENGTH; Twilio's forms are < 2 kB
URLENCODED = "application/x-www-form-urlencoded"
TWIML_CONTENT_TYPE = "text/xml; charset=utf-8"
EXTENSION_KEY = "webhooks"

Answer: TypeAlias = TwiML | str
"""What a webhook view returns: TwiML, built or already rendered."""


@dataclass(slots=True)
class Webhook:
    """One Twilio webhook delivery whose signature checked out.

    ``form`` and ``query`` hold each field's first value; every value is the caller's or
    Twilio's text, to be checked before use.
    """

    form: dict[str, str]
    query: dict[str, str]
    key: str  # the same across Twilio's retries of this delivery (``request_key``)
    path: str
    services: Services


View: TypeAlias = Callable[[Webhook], Answer]
OnError: TypeAlias = Callable[[Exception, Webhook], Answer]
"""Answers a view's unexpected failure: no webhook may answer 5xx, or the caller hears
Twilio's 'application error'. Runs in the app context; logs what failed."""


class WebhookRoutes:
    """One package's webhooks, declared at import as a blueprint's views are, and the
    answer each of them gives when its view fails."""

    def __init__(self, on_error: OnError) -> None:
        self.on_error = on_error
        self.views: dict[str, View] = {}

    def post(self, path: str) -> Callable[[View], View]:
        def register(view: View) -> View:
            if path in self.views:
                raise ValueError(f"two webhooks for {path}")
            self.views[path] = view
            return view

        return register


def add_webhooks(app: Flask, routes: WebhookRoutes) -> None:
    """Serve ``routes`` in ``app`` (its ``WebhookDispatcher``, installed by the factory)."""
    dispatcher: WebhookDispatcher = app.extensions[EXTENSION_KEY]
    dispatcher.add(routes)


class WebhookDispatcher:
    """The WSGI layer in front of Flask's own: serves the webhooks, passes the rest on."""

    def __init__(self, app: Flask, services: Services) -> None:
        self._app = app
        self._flask: WSGIApplication = app.wsgi_app
        self._services = services
        self._routes: dict[str, tuple[View, OnError]] = {}

    def add(self, routes: WebhookRoutes) -> None:
        for path, view in routes.views.items():
            if path in self._routes:
                raise ValueError(f"two webhooks for {path}")
            self._routes[path] = (view, routes.on_error)

    @property
    def paths(self) -> list[str]:
        return sorted(self._routes)

    def __call__(self, environ: WSGIEnvironment,
                 start_response: StartResponse) -> Iterable[bytes]:
        route = self._routes.get(environ.get("PATH_INFO", ""))
        if route is None:
            return self._flask(environ, start_response)
        status, headers, body = self._answer(environ, *route)
        start_response(status, headers)
        return [body if environ.get("REQUEST_METHOD") != "HEAD" else b""]

    def _answer(self, environ: WSGIEnvironment, view: View,
                on_error: OnError) -> tuple[str, list[tuple[str, str]], bytes]:
        try:
            if environ.get("REQUEST_METHOD") != "POST":
                raise MethodNotAllowed(valid_methods=["POST"])
            hook = verified_webhook(environ, self._services)
        except HTTPException as refusal:
            return refused(refusal)
        with self._app.app_context():
            try:
                answer = view(hook)
            except HTTPException as refusal:
                return refused(refusal)
            except Exception as error:
                answer = on_error(error, hook)
        body = str(answer).encode()
        return "200 OK", [("Content-Type", TWIML_CONTENT_TYPE),
                          ("Content-Length", str(len(body)))], body


def refused(refusal: HTTPException) -> tuple[str, list[tuple[str, str]], bytes]:
    """A 4xx as plain text: Twilio logs the body in its debugger."""
    body = f"{refusal.code} {refusal.name}: {refusal.description}\n".encode()
    headers = [(name, value) for name, value in refusal.get_headers()
               if name != "Content-Type"]
    headers += [("Content-Type", "text/plain; charset=utf-8"),
                ("Content-Length", str(len(body)))]
    return f"{refusal.code} {refusal.name}", headers, body


def verified_webhook(environ: WSGIEnvironment, services: Services) -> Webhook:
    """The delivery ``environ`` carries; 403 when Twilio did not sign it, 413 for a form
    over the limits."""
    path = environ.get("PATH_INFO", "")
    # WSGI hands the query string over as latin-1 text of its bytes.
    query = environ.get("QUERY_STRING", "")
    pairs, body = read_form(environ)
    settings = services.settings
    url = settings.public_url(path + (f"?{query}" if query else ""))
    if not signature_is_valid(settings.twilio_auth_token, url, pairs,
                              environ.get(SIGNATURE_ENVIRON, "")):
        log.warning("rejected unsigned or forged webhook to %s", path)
        raise Forbidden("invalid or missing X-Twilio-Signature")
    query_pairs = parse_form(query if query.isascii()
                             else query.encode("latin-1", "replace").decode("utf-8", "replace"))
    # Each field's first value, as MultiDict.get gives it.
    return Webhook(dict(reversed(pairs)), dict(reversed(query_pairs)),
                   request_key(environ, body, pairs), path, services)


class _FormRequest(Request):
    max_content_length = MAX_REQUEST_BYTES
    max_form_memory_size = MAX_REQUEST_BYTES
    max_form_parts = FORM_MAX_FIELDS


def read_form(environ: WSGIEnvironment) -> tuple[list[tuple[str, str]], bytes]:
    """The POSTed form's fields in order, and its body when read whole (empty otherwise).

    Twilio's small url-encoded forms are read by ``parse_form``, at a fraction of what
    Werkzeug's general-purpose parser costs. Anything else (multipart, no Content-Length)
    goes Werkzeug's way, with the same limits. Over a limit: 413.
    """
    raw_length = environ.get("CONTENT_LENGTH", "")
    if (environ.get("CONTENT_TYPE", "").startswith(URLENCODED)
            and raw_length.isascii() and raw_length.isdigit()):
        length = int(raw_length)
        if length > MAX_REQUEST_BYTES:
            raise RequestEntityTooLarge(f"more than {MAX_REQUEST_BYTES} bytes")
        body: bytes = environ["wsgi.input"].read(length) if length else b""
        return parse_form(body.decode("utf-8", "replace")), body
    request = _FormRequest(environ)
    try:
        return list(request.form.items(multi=True)), b""
    except ValueError as error:  # a multipart body Werkzeug cannot make sense of
        raise BadRequest(f"unreadable form: {error}") from error
    finally:
        request.close()  # a file sent along is no field of Twilio's


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


def signature_is_valid(auth_token: str, url: str, pairs: list[tuple[str, str]],
                       signature: str) -> bool:
    if not signature:
        return False
    # Twilio signs the URL as we gave it: that one signature is checked first. The SDK's
    # validate() also tries the URL with and without an explicit port, for a base
    # configured either way.
    if hmac.compare_digest(twilio_signature(auth_token, url, pairs), signature):
        return True
    return bool(_validator(auth_token).validate(url, MultiDict(pairs), signature))


def request_key(environ: WSGIEnvironment, body: bytes, pairs: list[tuple[str, str]]) -> str:
    """A stable key for this webhook delivery, identical across Twilio's retries."""
    token = environ.get(IDEMPOTENCY_ENVIRON)
    if token:
        return str(token)[:64]
    # Without the token, a retry is the same URL with the same body.
    url = f"{environ.get('PATH_INFO', '')}?{environ.get('QUERY_STRING', '')}"
    digest = hashlib.sha256(url.encode())
    if body:
        digest.update(b"\0" + body)
    else:  # a form Werkzeug read: its fields
        for key, value in sorted(pairs):
            digest.update(f"\0{key}={value}".encode())
    return digest.hexdigest()[:64]
