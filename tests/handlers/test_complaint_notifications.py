"""The outbox: the acknowledgment SMS through Twilio's REST API (the local stand-in), its
retries, and the staff inbox."""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import replace
from datetime import timedelta

import pytest
from flask import Flask
from sqlalchemy import select

from callcenter.services import Services
from callcenter.settings import Settings
from handlers.jobs import dispatch_due_work, send_notification
from handlers.models import ComplaintNotification
from handlers.telephony import TelephonyError
from tests.conftest import ACCOUNT_SID, AUTH_TOKEN
from tests.handlers.conftest import Api, run_jobs
from twilio_standin import StandIn


@pytest.fixture
def standin() -> Iterator[StandIn]:
    with StandIn(account_sid=ACCOUNT_SID, auth_token=AUTH_TOKEN) as running:
        yield running


@pytest.fixture
def settings(settings: Settings, standin: StandIn) -> Settings:
    """The app's Twilio REST client talks to the stand-in."""
    return replace(settings, twilio_api_base_url=standin.base_url)


def _sms(app_services: Services) -> ComplaintNotification:
    with app_services.database.session() as session:
        row = session.scalar(select(ComplaintNotification).where(
            ComplaintNotification.channel == "sms"))
        assert row is not None
        return row


def test_the_acknowledgment_is_sent_by_a_worker_and_meets_its_deadline(
        api: Api, app: Flask, standin: StandIn, app_services: Services) -> None:
    made = api.create(contact_number="+8613900000009")
    run_jobs(app)
    [message] = standin.messages
    assert message.to == "+8613900000009" and message.from_ == "+864000000000"
    assert made["number"] in message.body and made["pin"] not in message.body
    assert "11月23日10:00" in message.body and "11月25日10:00" in message.body
    row = _sms(app_services)
    assert row.status == "sent" and row.provider_sid == message.sid and row.attempts == 1
    shown = api.show("seat", made["number"])
    acknowledge = [d for d in shown["deadlines"] if d["deadline"] == "acknowledge"][0]
    assert acknowledge["status"] == "met"
    acknowledged = [e for e in api.trail("seat", made["number"]) if e["action"] == "acknowledged"]
    assert acknowledged[0]["details"]["message_sid"] == message.sid
    run_jobs(app)
    with app.app_context():
        assert send_notification(row.id).startswith("not sendable")
    assert len(standin.messages) == 1


def test_an_sms_that_cannot_be_sent_is_retried_then_given_up(
        api: Api, app: Flask, clock, app_services: Services,  # type: ignore[no-untyped-def]
        standin: StandIn) -> None:
    made = api.create()
    standin.stop()  # Twilio unreachable
    run_jobs(app)
    row = _sms(app_services)
    assert row.status == "failed" and row.attempts == 1 and "could not be reached" in row.last_error
    with app.app_context():
        assert dispatch_due_work()["sms"] == 0  # too soon to try again
        clock.now += timedelta(minutes=6)
        assert dispatch_due_work()["sms"] == 1
        for _ in range(4):
            with pytest.raises(TelephonyError):
                send_notification(row.id)
    row = _sms(app_services)
    assert row.status == "dead" and row.attempts == 5
    failed = [e for e in api.trail("seat", made["number"]) if e["action"] == "notification_failed"]
    assert failed[0]["details"]["attempts"] == 5


def test_staff_read_their_roles_inbox(api: Api) -> None:
    number = api.create()["number"]  # class_1: the maintenance room is told at once
    inbox = api("room", "GET", "/api/complaints/notifications")["notifications"]
    assert inbox == [{"complaint": number, "kind": "new_complaint",
                      "text": f"新投诉 {number}:扣费错误,要求退款",
                      "created_at": "2026-11-23T10:00:00+08:00"}]
    assert api("gm", "GET", "/api/complaints/notifications")["notifications"] == []
