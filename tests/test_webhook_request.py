"""Twilio's forms parsed by ``WebhookRequest``: what Werkzeug would give, limits answered with
413, and the key that makes a retried webhook count once."""

from __future__ import annotations

import io
import random
from typing import Any
from urllib.parse import parse_qsl

import pytest
from flask import Flask, Request, jsonify, request
from flask.testing import FlaskClient
from sqlalchemy import select
from twilio.request_validator import RequestValidator
from werkzeug.datastructures import MultiDict

from callcenter.webhooks import (
    FORM_MAX_FIELDS,
    MAX_REQUEST_BYTES,
    WebhookRequest,
    parse_form,
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


def echo_app(request_class: type[Request]) -> FlaskClient:
    """A bare app with ``request_class`` that answers what it parsed."""
    app = Flask(__name__)
    app.request_class = request_class
    app.config.update(MAX_CONTENT_LENGTH=MIB)

    @app.post("/echo")
    def echo() -> Any:
        form = [[key, values] for key, values in request.form.lists()]
        files = sorted(request.files)
        return jsonify(form=form, files=files, key=request_key(request),
                       body=len(request.get_data()))

    @app.post("/json")
    def json_echo() -> Any:
        assert not request.form
        return jsonify(json=request.get_json(), key=request_key(request))

    return app.test_client()


@pytest.fixture
def fast() -> FlaskClient:
    return echo_app(WebhookRequest)


@pytest.fixture
def werkzeug() -> FlaskClient:
    return echo_app(Request)


def post_form(client: FlaskClient, body: bytes, path: str = "/echo", **headers: str) -> Any:
    return client.post(path, data=body, headers={"Content-Type": URLENCODED, **headers})


# --- parsing -----------------------------------------------------------------------------


def test_a_form_is_parsed_as_werkzeug_parses_it(fast, werkzeug) -> None:  # type: ignore[no-untyped-def]
    ours, theirs = post_form(fast, TRICKY_BODY), post_form(werkzeug, TRICKY_BODY)
    assert ours.status_code == theirs.status_code == 200
    assert ours.json["form"] == theirs.json["form"]
    assert [(key, values) for key, values in ours.json["form"]] == TRICKY_FORM
    assert ours.json["files"] == []


def test_the_body_can_still_be_read_after_the_form(fast) -> None:  # type: ignore[no-untyped-def]
    assert post_form(fast, TRICKY_BODY).json["body"] == len(TRICKY_BODY)


def test_a_content_type_with_a_charset_is_parsed_the_same(fast, werkzeug) -> None:  # type: ignore[no-untyped-def]
    headers = {"Content-Type": f"{URLENCODED}; charset=utf-8"}
    ours = fast.post("/echo", data=TRICKY_BODY, headers=headers)
    theirs = werkzeug.post("/echo", data=TRICKY_BODY, headers=headers)
    assert ours.json["form"] == theirs.json["form"] == [list(item) for item in TRICKY_FORM]


def test_a_multipart_form_goes_werkzeugs_way(fast, werkzeug) -> None:  # type: ignore[no-untyped-def]
    def send(client: FlaskClient) -> Any:
        data = {"SpeechResult": "我要投诉 100%+", "Dup": ["1", "2"],
                "file": (io.BytesIO(b"voice"), "message.wav")}
        return client.post("/echo", data=data, content_type="multipart/form-data")

    ours, theirs = send(fast), send(werkzeug)
    assert ours.status_code == 200
    assert ours.json["form"] == theirs.json["form"]
    assert ["SpeechResult", ["我要投诉 100%+"]] in ours.json["form"]
    assert ours.json["files"] == theirs.json["files"] == ["file"]


def test_a_json_body_is_left_for_get_json(fast) -> None:  # type: ignore[no-untyped-def]
    response = fast.post("/json", json={"SpeechResult": "我要投诉"})
    assert response.status_code == 200
    assert response.json["json"] == {"SpeechResult": "我要投诉"}


def test_a_body_over_the_fast_limit_goes_werkzeugs_way(fast, werkzeug) -> None:  # type: ignore[no-untyped-def]
    body = b"Big=" + b"%E6%88%91" * (MAX_REQUEST_BYTES // 9 + 1) + b"&Dup=1&Dup=2"
    assert len(body) > MAX_REQUEST_BYTES
    ours, theirs = post_form(fast, body), post_form(werkzeug, body)
    assert ours.status_code == theirs.status_code == 413  # Werkzeug's form memory limit


def test_a_form_without_content_length_goes_werkzeugs_way(fast, werkzeug) -> None:  # type: ignore[no-untyped-def]
    def send(client: FlaskClient) -> Any:
        return client.post("/echo", data=TRICKY_BODY, headers={"Content-Type": URLENCODED},
                           environ_overrides={"CONTENT_LENGTH": ""})

    ours, theirs = send(fast), send(werkzeug)
    assert ours.status_code == theirs.status_code
    assert ours.json["form"] == theirs.json["form"]


# --- limits ------------------------------------------------------------------------------


def fields(count: int, value: str = "v") -> bytes:
    return "&".join(f"k{n}={value}" for n in range(count)).encode()


def test_as_many_fields_as_the_limit_are_accepted(fast) -> None:  # type: ignore[no-untyped-def]
    response = post_form(fast, fields(FORM_MAX_FIELDS))
    assert response.status_code == 200
    assert len(response.json["form"]) == FORM_MAX_FIELDS


def test_more_fields_than_the_limit_are_refused_with_413(fast) -> None:  # type: ignore[no-untyped-def]
    assert post_form(fast, fields(FORM_MAX_FIELDS + 1)).status_code == 413


def test_more_fields_than_the_limit_in_a_large_body_are_refused_too(fast) -> None:  # type: ignore[no-untyped-def]
    body = fields(FORM_MAX_FIELDS * 10, value="v" * 4)
    assert len(body) > 100_000
    assert post_form(fast, body).status_code == 413


def test_an_oversize_form_is_refused_with_413(fast) -> None:  # type: ignore[no-untyped-def]
    assert post_form(fast, b"a=" + b"x" * MIB).status_code == 413


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


# --- request keys ------------------------------------------------------------------------


def test_a_retry_without_the_token_gets_the_same_key(fast) -> None:  # type: ignore[no-untyped-def]
    first, retry = post_form(fast, TRICKY_BODY), post_form(fast, TRICKY_BODY)
    assert first.json["key"] == retry.json["key"]
    assert len(first.json["key"]) <= 64


def test_a_different_body_or_url_gets_a_different_key(fast) -> None:  # type: ignore[no-untyped-def]
    keys = {
        post_form(fast, TRICKY_BODY).json["key"],
        post_form(fast, TRICKY_BODY.replace(b"Dup=2", b"Dup=3")).json["key"],
        post_form(fast, TRICKY_BODY, path="/echo?attempt=2").json["key"],
        post_form(fast, b"").json["key"],
    }
    assert len(keys) == 4


def test_the_idempotency_token_is_the_key_when_present(fast) -> None:  # type: ignore[no-untyped-def]
    token = "t" * 80
    first = post_form(fast, TRICKY_BODY, **{"I-Twilio-Idempotency-Token": token})
    other_body = post_form(fast, b"Dup=9", **{"I-Twilio-Idempotency-Token": token})
    assert first.json["key"] == other_body.json["key"] == token[:64]


def test_a_multipart_retry_gets_the_same_key_and_other_fields_another(fast) -> None:  # type: ignore[no-untyped-def]
    def send(**form: str) -> str:
        response = fast.post("/echo", data=form, content_type="multipart/form-data")
        return str(response.json["key"])

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
