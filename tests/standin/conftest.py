"""Fixtures: the test app over real HTTP, and a running stand-in wired to it."""

from __future__ import annotations

from collections.abc import Iterator

import pytest
from twilio.rest import Client

from twilio_standin import StandIn, standin_http_client

from .app_server import AppServer

ACCOUNT_SID = "AC" + "1" * 32
AUTH_TOKEN = "test-auth-token"
NUMBER = "+864001234567"
CALLER = "+8613800000001"
PUBLIC = "https://ivr.example.com"


@pytest.fixture(scope="session")
def app_server() -> Iterator[AppServer]:
    server = AppServer()
    server.start()
    yield server
    server.stop()


@pytest.fixture
def app(app_server: AppServer) -> Iterator[AppServer]:
    app_server.reset()
    yield app_server
    app_server.reset()


@pytest.fixture
def standin(app: AppServer) -> Iterator[StandIn]:
    with StandIn(ACCOUNT_SID, AUTH_TOKEN, time_scale=0.002) as running:
        running.add_number(NUMBER, voice_url=app.url("/voice"),
                           status_callback=app.url("/status"),
                           fallback_url=app.url("/fallback"), public_base_url=PUBLIC)
        yield running


@pytest.fixture
def client(standin: StandIn) -> Iterator[Client]:
    """The real Twilio SDK, pointed at the stand-in."""
    http = standin_http_client(standin.base_url)
    yield Client(ACCOUNT_SID, AUTH_TOKEN, http_client=http)
    http.close()
