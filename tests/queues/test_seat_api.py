"""The seats and queues JSON API, and the seats, staff and queues commands."""

from __future__ import annotations

from dataclasses import replace
from typing import Any

import pytest
from flask import Flask
from flask.testing import FlaskClient
from sqlalchemy import select
from werkzeug.test import TestResponse

from app import create_app
from callcenter.services import Services
from callcenter.settings import Settings
from queues.router import Router
from queues.routing import SeatState
from staff.auth import token_hash
from staff.models import Role, Staff
from tests.queues.conftest import FakeTwilio
from tests.queues.routing_app import add_seat, seat_row, waiting_call

SEAT_BODY = {"id": "s1", "name": "王芳", "reach": "client:wang", "skills": {"complaint": 3}}


def body(response: TestResponse) -> dict[str, Any]:
    payload = response.get_json()
    assert isinstance(payload, dict), response.data
    return payload


def person(app_services: Services, staff_id: str, role: Role) -> dict[str, str]:
    token = f"token-{staff_id}"
    with app_services.database.session() as session:
        session.add(Staff(id=staff_id, name=staff_id, role=role, token_hash=token_hash(token)))
    return {"Authorization": f"Bearer {token}"}


@pytest.fixture
def supervisor(app_services: Services) -> dict[str, str]:
    return person(app_services, "lead", Role.SUPERVISOR)


@pytest.fixture
def agent(app_services: Services) -> dict[str, str]:
    return person(app_services, "wang", Role.SEAT)


def test_every_request_needs_a_known_token(client: FlaskClient) -> None:
    for method, url in (("GET", "/api/seats"), ("POST", "/api/seats"),
                        ("POST", "/api/seats/s1/state"), ("GET", "/api/queues")):
        response = client.open(url, method=method, headers={"Authorization": "Bearer nope"})
        assert response.status_code == 401 and "token" in body(response)["error"]
    assert client.get("/api/seats").status_code == 401


def test_supervisor_creates_and_changes_seats(client: FlaskClient, supervisor: dict[str, str],
                                              agent: dict[str, str]) -> None:
    created = client.post("/api/seats", json={**SEAT_BODY, "staff_id": "wang",
                                              "wrap_up_seconds": 20}, headers=supervisor)
    assert created.status_code == 201, created.data
    assert body(created) | {"state_since": None} == {
        "id": "s1", "name": "王芳", "reach": "client:wang", "skills": {"complaint": 3},
        "staff_id": "wang", "state": "offline", "state_since": None, "seconds_in_state": 0,
        "current_call_sid": None, "wrap_up_seconds": 20}
    again = client.post("/api/seats", json=SEAT_BODY, headers=supervisor)
    assert again.status_code == 409
    changed = client.patch("/api/seats/s1", json={"skills": "complaint:2,lang_yue:3",
                                                  "reach": "+8613900000001"},
                           headers=supervisor)
    assert changed.status_code == 200, changed.data
    assert body(changed)["skills"] == {"complaint": 2, "lang_yue": 3}
    assert body(changed)["reach"] == "number:+8613900000001"
    assert client.post("/api/seats", json={**SEAT_BODY, "id": "s2"},
                       headers=agent).status_code == 403
    listed = client.get("/api/seats", headers=agent)
    assert [seat["id"] for seat in body(listed)["seats"]] == ["s1"]
    assert client.get("/api/seats/nobody", headers=agent).status_code == 404


@pytest.mark.parametrize(("payload", "message"), [
    ({**SEAT_BODY, "reach": "tel:123"}, "reach"),
    ({**SEAT_BODY, "skills": {"complaint": 12}}, "between 1 and 9"),
    ({**SEAT_BODY, "skills": "complaint:²"}, "name:level"),
    ({**SEAT_BODY, "skills": {"Bad Skill": 1}}, "skill names"),
    ({**SEAT_BODY, "id": "has space"}, "seat id"),
    ({**SEAT_BODY, "colour": "red"}, "unknown fields"),
    ({"id": "s1"}, "missing fields"),
    ({**SEAT_BODY, "wrap_up_seconds": -1}, "wrap_up_seconds"),
    ({**SEAT_BODY, "staff_id": "ghost"}, "no staff member"),
    ([1, 2], "JSON object"),
])
def test_malformed_seats_are_refused_with_a_message(client: FlaskClient,
                                                    supervisor: dict[str, str],
                                                    payload: object, message: str) -> None:
    response = client.post("/api/seats", json=payload, headers=supervisor)
    assert response.status_code == 400 and message in body(response)["error"], response.data


def test_not_json_is_refused(client: FlaskClient, supervisor: dict[str, str]) -> None:
    response = client.post("/api/seats", data="id=s1", headers=supervisor)
    assert response.status_code == 415 and "JSON" in body(response)["error"]
    broken = client.post("/api/seats", data="{", headers={**supervisor,
                                                          "Content-Type": "application/json"})
    assert broken.status_code == 400


def test_a_seat_changes_only_its_own_state_a_supervisor_any(
        client: FlaskClient, app_services: Services, supervisor: dict[str, str],
        agent: dict[str, str], router: Router) -> None:
    client.post("/api/seats", json={**SEAT_BODY, "staff_id": "wang"}, headers=supervisor)
    client.post("/api/seats", json={**SEAT_BODY, "id": "s2"}, headers=supervisor)
    login = client.post("/api/seats/s1/login", headers=agent)
    assert login.status_code == 200 and body(login)["state"] == "available"
    assert body(login)["previous_state"] == "offline"
    brk = client.post("/api/seats/s1/state", json={"state": "break"}, headers=agent)
    assert brk.status_code == 200 and body(brk)["state"] == "break"
    assert client.post("/api/seats/s2/login", headers=agent).status_code == 403
    assert client.post("/api/seats/s2/login", headers=supervisor).status_code == 200
    assert router.index.snapshot().seats["s2"].state is SeatState.AVAILABLE
    bad = client.post("/api/seats/s1/state", json={"state": "on_call"}, headers=agent)
    assert bad.status_code == 400 and "state must be" in body(bad)["error"]
    logout = client.post("/api/seats/s1/logout", headers=agent)
    assert logout.status_code == 200 and body(logout)["state"] == "offline"


def test_a_seat_on_a_call_cannot_be_set_away(client: FlaskClient, app_services: Services,
                                             supervisor: dict[str, str], router: Router,
                                             fake_twilio: FakeTwilio) -> None:
    add_seat(router, app_services, "s1")
    waiting_call(router, 1)
    assert seat_row(router, "s1").state == "reserved"
    response = client.post("/api/seats/s1/logout", headers=supervisor)
    assert response.status_code == 409 and "reserved" in body(response)["error"]


def test_unreachable_redis(settings: Settings, app_services: Services,
                           supervisor: dict[str, str]) -> None:
    broken = create_app(replace(settings, redis_url="redis://127.0.0.1:1/0"))
    try:
        client = broken.test_client()
        created = client.post("/api/seats", json=SEAT_BODY, headers=supervisor)
        assert created.status_code == 201  # saved: the reconcile sweep indexes it later
        response = client.post("/api/seats/s1/login", headers=supervisor)
        assert response.status_code == 503 and "unreachable" in body(response)["error"]
    finally:
        broken.extensions["callcenter"].close()


def test_live_figures(client: FlaskClient, app_services: Services, agent: dict[str, str],
                      router: Router, fake_twilio: FakeTwilio) -> None:
    add_seat(router, app_services, "s1")
    talked = waiting_call(router, 1, ago_s=15)
    router.conversation_ended(talked, "s1", 0, 120)
    waiting_call(router, 2, ago_s=40)
    gone = waiting_call(router, 3, ago_s=30)
    router.call_ended(gone)
    figures = client.get("/api/queues", headers=agent)
    assert figures.status_code == 200
    complaint = next(q for q in body(figures)["queues"] if q["queue"] == "complaint")
    assert complaint["waiting"] == 1 and complaint["longest_wait_s"] == pytest.approx(40, abs=2)
    assert complaint["answered"] == 1 and complaint["average_handle_s"] == 120
    assert complaint["abandoned"] == 1
    assert complaint["abandoned_average_wait_s"] == pytest.approx(30, abs=2)
    assert complaint["service_level"] == 0.5  # answered within 20 s: 1 of 2
    assert body(figures)["seats"][0]["seat_id"] == "s1"
    assert body(figures)["seats"][0]["state"] == "wrap_up"


def test_commands(app: Flask, app_services: Services, fake_twilio: FakeTwilio) -> None:
    runner = app.test_cli_runner()
    made = runner.invoke(args=["staff", "add", "li.lei", "--name", "李雷", "--role", "supervisor"])
    assert made.exit_code == 0, made.output
    token = made.output.strip().splitlines()[-1]
    with app_services.database.session() as session:
        staff = session.scalar(select(Staff))
        assert staff is not None and staff.token_hash == token_hash(token)
    assert runner.invoke(args=["staff", "add", "li.lei", "--name", "x"]).exit_code == 1
    added = runner.invoke(args=["seats", "add", "s1", "--name", "李雷", "--reach",
                                "sip:lilei@pbx.example.cn", "--skill", "complaint:3",
                                "--skill", "repair:1", "--staff", "li.lei"])
    assert added.exit_code == 0, added.output
    bad = runner.invoke(args=["seats", "add", "s2", "--name", "x", "--reach", "nowhere",
                              "--skill", "complaint:3"])
    assert bad.exit_code == 1 and "reach must be" in bad.output
    state = runner.invoke(args=["seats", "set-state", "s1", "available"])
    assert state.exit_code == 0 and "offline -> available" in state.output, state.output
    listed = runner.invoke(args=["seats", "list"])
    assert "s1" in listed.output and "complaint:3,repair:1" in listed.output
    table = runner.invoke(args=["queues"])
    assert table.exit_code == 0 and "complaint" in table.output and "available" in table.output
