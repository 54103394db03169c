"""Twilio's webhooks as ``callcenter.webhooks`` serves them: forms read as Werkzeug reads
them, limits answered with 413, signatures as the SDK makes them, the key that makes a
retried webhook count once, and what the dispatcher answers besides TwiML."""

from __future__ import annotations

import io
import random
from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any
from urllib.parse import parse_qsl

import pytest
from flask import Flask
from sqlalchemy import select
from twilio.request_validator import RequestValidator
from werkzeug.datastructures import MultiDict
from werkzeug.exceptions import RequestEntityTooLarge
from werkzeug.test import EnvironBuilder
from werkzeug.wrappers import Request

from callcenter.webhooks import (
    FORM_MAX_FIELDS,
    MAX_REQUEST_BYTES,
    WebhookRoutes,
    add_webhooks,
    parse_form,
    read_form,
    request_key,
    twilio_signature,
)
from ivr.models import CallStep
from tests.conftest import PUBLIC_BASE_URL, TwilioSigner, call_params

URLENCODED = "application/x-www-form-urlencoded"
MIB = 1024 * 1024
# Mandarin both percent-escaped and raw, '+' for a space, %2B for a plus, %25 for a percent,
# an empty value, a repeated key, a key without '='.
TRICKY_BODY = ("SpeechResult=%E6%88%91%E8%A6%81%E6%8A%95%E8%AF%89+%E6%89%A3%E8%B4%B9&"
               "From=%2B8613800000001&Note=100%25+%E6%BB%A1%E6%84%8F&Raw=我要退款&"
               "Empty=&Dup=1&Dup=2&Bare&%2B=%2B").encode()
TRICKY_FORM = [
    ("SpeechResult", ["我要投诉 扣费"]), ("From", ["+8613800000001"]), ("Note", ["100% 满意"]),
    ("Raw", ["我要退款"]), ("Empty", [""]), ("Dup", ["1", "2"]), ("Bare", [""]), ("+", ["+"]),
]


@contextmanager
def environ(data: Any, content_type: str | None = URLENCODED, path: str = "/voice/incoming",
            **overrides: str) -> Iterator[dict[str, Any]]:
    builder = EnvironBuilder(path=path, method="POST", data=data, content_type=content_type)
    made = builder.get_environ()
    made.update(overrides)
    try:
        yield made
    finally:
        made["wsgi.input"].close()  # a large multipart body is a temporary file
        builder.close()


def read(data: Any, content_type: str | None = URLENCODED,
         **overrides: str) -> tuple[list[tuple[str, str]], bytes]:
    with environ(data, content_type, **overrides) as made:
        return read_form(made)


def grouped(pairs: list[tuple[str, str]]) -> list[tuple[str, list[str]]]:
    return list(MultiDict(pairs).lists())


def ours(data: Any, content_type: str | None = URLENCODED,
         **overrides: str) -> list[tuple[str, list[str]]]:
    return grouped(read(data, content_type, **overrides)[0])


def werkzeugs(data: Any, content_type: str | None = URLENCODED,
              **overrides: str) -> list[tuple[str, list[str]]]:
    with environ(data, content_type, **overrides) as made, Request(made) as request:
        return list(request.form.lists())


# --- reading the form --------------------------------------------------------------------


def test_a_form_is_read_as_werkzeug_reads_it() -> None:
    assert ours(TRICKY_BODY) == werkzeugs(TRICKY_BODY) == TRICKY_FORM


def test_the_body_read_is_handed_back_for_the_key() -> None:
    assert read(TRICKY_BODY)[1] == TRICKY_BODY


def test_a_content_type_with_a_charset_is_read_the_same() -> None:
    content_type = f"{URLENCODED}; charset=utf-8"
    assert ours(TRICKY_BODY, content_type) == werkzeugs(TRICKY_BODY, content_type) == TRICKY_FORM


def test_a_multipart_form_goes_werkzeugs_way() -> None:
    def data() -> dict[str, Any]:
        return {"SpeechResult": "我要投诉 100%+", "Dup": ["1", "2"],
                "file": (io.BytesIO(b"voice"), "message.wav")}

    fields = ours(data(), None)
    assert fields == werkzeugs(data(), None)
    assert ("SpeechResult", ["我要投诉 100%+"]) in fields and ("Dup", ["1", "2"]) in fields
    assert "file" not in dict(fields)  # a file is no field of Twilio's


def test_a_json_body_has_no_fields() -> None:
    assert read('{"SpeechResult": "我要投诉"}', "application/json") == ([], b"")


def test_a_form_without_content_length_goes_werkzeugs_way() -> None:
    assert ours(TRICKY_BODY, CONTENT_LENGTH="") == werkzeugs(TRICKY_BODY, CONTENT_LENGTH="")


# --- limits ------------------------------------------------------------------------------


def fields(count: int, value: str = "v") -> bytes:
    return "&".join(f"k{n}={value}" for n in range(count)).encode()


def test_as_many_fields_as_the_limit_are_accepted() -> None:
    assert len(ours(fields(FORM_MAX_FIELDS))) == FORM_MAX_FIELDS


def test_more_fields_than_the_limit_are_refused_with_413() -> None:
    with pytest.raises(RequestEntityTooLarge):
        read(fields(FORM_MAX_FIELDS + 1))


def test_more_fields_than_the_limit_in_a_large_body_are_refused_too() -> None:
    body = fields(FORM_MAX_FIELDS * 10, value="v" * 4)
    assert len(body) > 100_000
    with pytest.raises(RequestEntityTooLarge):
        read(body)


@pytest.mark.parametrize("content_type", [URLENCODED, "multipart/form-data"])
def test_an_oversize_form_is_refused_with_413(content_type: str) -> None:
    data: Any = {"a": "x" * MAX_REQUEST_BYTES}
    if content_type == URLENCODED:
        data = b"a=" + b"x" * MAX_REQUEST_BYTES
    with pytest.raises(RequestEntityTooLarge):
        read(data, content_type)


def test_a_signed_webhook_with_too_many_fields_is_refused_with_413(  # type: ignore[no-untyped-def]
        twilio: TwilioSigner) -> None:
    data = {**call_params(), **{f"k{n}": "v" for n in range(FORM_MAX_FIELDS)}}
    assert twilio.post("/voice/incoming", data).status_code == 413


@pytest.mark.parametrize("path", ["/voice/incoming", "/ivr/menu?node=main&attempt=1",
                                  "/voice/status", "/queue/wait?skill=complaint",
                                  "/recordings/status"])
@pytest.mark.parametrize("content_type", [URLENCODED, "multipart/form-data; boundary=x"])
def test_an_oversize_webhook_is_refused_with_413_never_500(  # type: ignore[no-untyped-def]
        client, path, content_type) -> None:
    body = b"CallSid=CA" + b"a" * MIB
    assert len(body) > MIB  # the app's MAX_CONTENT_LENGTH
    response = client.post(path, data=body, headers={
        "Content-Type": content_type, "X-Twilio-Signature": "Zm9yZ2Vk"})
    assert response.status_code == 413


# --- through the app, signed -------------------------------------------------------------


def test_a_signed_raw_form_with_mandarin_and_escapes_is_accepted(  # type: ignore[no-untyped-def]
        client, twilio, call_journal, app_services) -> None:
    params = call_params(SpeechResult="我要投诉 扣费", Note="100% 满意", Digits="")
    raw = "&".join(f"{key}={value}" for key, value in {
        **call_params(From="%2B8613800000001", To="%2B864001234567"),
        "SpeechResult": "%E6%88%91%E8%A6%81%E6%8A%95%E8%AF%89+%E6%89%A3%E8%B4%B9",
        "Note": "100%25+%E6%BB%A1%E6%84%8F", "Digits": "",
    }.items()).encode()
    path = "/ivr/menu?node=main&attempt=1"
    response = client.post(path, data=raw, headers={
        "Content-Type": URLENCODED, "X-Twilio-Signature": twilio.signature(path, params)})
    assert response.status_code == 200, response.data
    call_journal.ship()
    with app_services.database.session() as session:
        steps = list(session.scalars(select(CallStep)))
        assert [step.caller_input for step in steps] == ["speech:我要投诉 扣费"]


def test_a_signed_multipart_webhook_is_accepted(client, twilio) -> None:  # type: ignore[no-untyped-def]
    params = call_params(SpeechResult="我要投诉")
    response = client.post("/voice/incoming", data=params, content_type="multipart/form-data",
                           headers={"X-Twilio-Signature": twilio.signature(
                               "/voice/incoming", params)})
    assert response.status_code == 200


def test_a_signature_over_the_url_with_its_port_is_accepted(  # type: ignore[no-untyped-def]
        client) -> None:
    """Twilio may sign ``https://host:443/...`` for a base configured without the port: the
    SDK's check of both forms still runs when the URL as configured does not match."""
    ported = TwilioSigner(client, base_url=PUBLIC_BASE_URL + ":443")
    data = MultiDict([*call_params(Digits="1").items(), ("Dup", "b"), ("Dup", "a")])
    path = "/ivr/menu?node=main&attempt=1"
    signature = ported.validator.compute_signature(ported.base_url + path, data)
    response = client.post(path, data=data, headers={"X-Twilio-Signature": signature})
    assert response.status_code == 200, response.data
    forged = client.post(path, data=MultiDict([*data.items(multi=True), ("Dup", "c")]),
                         headers={"X-Twilio-Signature": signature})
    assert forged.status_code == 403


def test_a_signature_over_other_mandarin_is_refused(client, twilio) -> None:  # type: ignore[no-untyped-def]
    signed = call_params(SpeechResult="我要投诉")
    sent = call_params(SpeechResult="我要退款")
    response = client.post("/ivr/menu?node=main&attempt=1", data=sent, headers={
        "X-Twilio-Signature": twilio.signature("/ivr/menu?node=main&attempt=1", signed)})
    assert response.status_code == 403


# --- the dispatcher ----------------------------------------------------------------------


def test_a_webhook_answers_twiml_as_xml(twilio) -> None:  # type: ignore[no-untyped-def]
    response = twilio.post("/voice/incoming", call_params())
    assert response.status_code == 200
    assert response.headers["Content-Type"] == "text/xml; charset=utf-8"
    assert int(response.headers["Content-Length"]) == len(response.data)
    assert response.data.startswith(b"<?xml")


@pytest.mark.parametrize("method", ["GET", "HEAD", "PUT"])
def test_a_webhook_asked_with_another_method_is_refused_with_405(  # type: ignore[no-untyped-def]
        client, method) -> None:
    response = client.open("/voice/incoming", method=method)
    assert response.status_code == 405
    assert response.headers["Allow"] == "POST"
    assert (response.data == b"") is (method == "HEAD")


def test_a_forged_webhook_is_refused_in_plain_words(client) -> None:  # type: ignore[no-untyped-def]
    response = client.post("/voice/incoming", data=call_params(),
                           headers={"X-Twilio-Signature": "Zm9yZ2Vk"})
    assert response.status_code == 403
    assert response.mimetype == "text/plain"
    assert b"X-Twilio-Signature" in response.data


def test_other_paths_are_flasks(client) -> None:  # type: ignore[no-untyped-def]
    assert client.get("/healthz").data == b"ok\n"
    assert client.post("/voice/nowhere").status_code == 404


def test_a_path_served_twice_is_refused_when_the_app_is_built(app: Flask) -> None:
    def view(hook: object) -> str:
        return "<Response/>"

    routes = WebhookRoutes(on_error=lambda error, hook: "<Response/>")
    routes.post("/voice/incoming")(view)
    with pytest.raises(ValueError, match="/voice/incoming"):
        add_webhooks(app, routes)
    with pytest.raises(ValueError, match="/voice/extra"):
        routes.post("/voice/extra")(view)
        routes.post("/voice/extra")(view)


# --- request keys ------------------------------------------------------------------------


def key_of(data: Any, path: str = "/ivr/menu?node=main&attempt=1",
           content_type: str | None = URLENCODED, **headers: str) -> str:
    with environ(data, content_type, path, **{
            "HTTP_" + name.upper().replace("-", "_"): value
            for name, value in headers.items()}) as made:
        pairs, body = read_form(made)
        return request_key(made, body, pairs)


def test_a_retry_without_the_token_gets_the_same_key() -> None:
    assert key_of(TRICKY_BODY) == key_of(TRICKY_BODY)
    assert len(key_of(TRICKY_BODY)) <= 64


def test_a_different_body_or_url_gets_a_different_key() -> None:
    keys = {
        key_of(TRICKY_BODY),
        key_of(TRICKY_BODY.replace(b"Dup=2", b"Dup=3")),
        key_of(TRICKY_BODY, path="/ivr/menu?node=main&attempt=2"),
        key_of(b""),
    }
    assert len(keys) == 4


def test_the_idempotency_token_is_the_key_when_present() -> None:
    token = "t" * 80
    first = key_of(TRICKY_BODY, **{"I-Twilio-Idempotency-Token": token})
    other_body = key_of(b"Dup=9", **{"I-Twilio-Idempotency-Token": token})
    assert first == other_body == token[:64]


def test_a_multipart_retry_gets_the_same_key_and_other_fields_another() -> None:
    def send(**form: str) -> str:
        return key_of(form, content_type="multipart/form-data")

    assert send(Digits="1", CallSid="CA1") == send(Digits="1", CallSid="CA1")
    assert send(Digits="1", CallSid="CA1") != send(Digits="2", CallSid="CA1")


def test_a_retried_webhook_without_the_token_is_one_step(  # type: ignore[no-untyped-def]
        twilio, call_journal, app_services) -> None:
    answer = call_params(Digits="7")
    twilio.post("/ivr/menu?node=main&attempt=1", answer)
    twilio.post("/ivr/menu?node=main&attempt=1", answer)
    twilio.post("/ivr/menu?node=main&attempt=1", call_params(Digits="8"))
    call_journal.ship()
    with app_services.database.session() as session:
        inputs = sorted(step.caller_input for step in session.scalars(select(CallStep)))
        assert inputs == ["dtmf:7", "dtmf:8"]


@pytest.mark.parametrize("text", [
    "", "a", "a=", "=x", "a=1&&b=2", "a=1&", "&a=1", "a=b=c", "k=%E6%88%91&k=%E4%BD%A0",
    "From=%2B8613800000001&To=+864001234567", "x=%zz&y=%", "SpeechResult=我要+投诉%21",
    "a=%FF", "From=%2B8613800000001", "a=%2b1", "a=%2B%2B", "a=%2B%41", "a=%2B+1", "a=%2B%",
    "a=%2B%2", "%2B=%2B",
])
def test_the_form_parser_reads_what_parse_qsl_reads(text: str) -> None:
    assert parse_form(text) == parse_qsl(text, keep_blank_values=True)


# --- signatures --------------------------------------------------------------------------


def test_the_signature_is_the_sdks_for_any_form() -> None:
    """Names and values with Mandarin, escapes, repeats and empties; fields in any order."""
    rnd = random.Random(7)
    alphabet = "aZ09我要投诉+%&= é"
    validator = RequestValidator("token-我")

    def text(most: int) -> str:
        return "".join(rnd.choice(alphabet) for _ in range(rnd.randrange(most + 1)))

    for _ in range(500):
        form: dict[str, list[str]] = {}
        for _ in range(rnd.randrange(6)):
            form.setdefault(text(4), []).extend(text(5) for _ in range(rnd.randrange(1, 4)))
        url = f"https://ivr.example.test/ivr/menu?node={text(3)}"
        pairs = [(name, value) for name, values in form.items() for value in values]
        rnd.shuffle(pairs)  # the order Twilio sent the fields in does not matter
        expected = validator.compute_signature(url, MultiDict(pairs))
        assert twilio_signature("token-我", url, pairs) == expected
