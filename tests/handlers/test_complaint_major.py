"""Major complaints are detected on registration, on every new complaint from the same number,
and when a seat sets a flag, and are reported up the chain at once."""

from __future__ import annotations

from datetime import timedelta

from sqlalchemy import select

from callcenter.services import Services
from handlers.models import ComplaintNotification
from tests.handlers.conftest import Api


def _told(app_services: Services, kind: str = "major") -> list[tuple[str, str]]:
    with app_services.database.session() as session:
        return sorted(session.execute(
            select(ComplaintNotification.recipient_role, ComplaintNotification.body)
            .where(ComplaintNotification.kind == kind)).all())  # type: ignore[arg-type]


def test_a_demand_to_return_goods_is_major_and_reported_at_once(
        api: Api, app_services: Services) -> None:
    made = api.create(demands=["return"])
    assert made["is_major"] is True
    assert made["major_reasons"] == [{"trigger": "return_exchange", "reason": "退换货要求",
                                      "related": []}]
    roles = [role for role, _ in _told(app_services)]
    assert roles == sorted(["room_lead", "gm", "management", "legal", "crisis_group"])
    body = _told(app_services)[0][1]
    assert "重大投诉" in body and "11月24日10:00" in body  # reported within 24 h
    major = [e for e in api.trail("gm", made["number"]) if e["action"] == "major"][0]
    assert major["details"]["report_to"] == ["management", "legal"]


def test_a_second_complaint_from_the_same_number_is_a_repeat(
        api: Api, clock, app_services: Services) -> None:  # type: ignore[no-untyped-def]
    first = api.create()
    assert first["is_major"] is False
    clock.now += timedelta(days=10)
    second = api.create()
    assert second["is_major"] is True
    assert second["major_reasons"][0]["related"] == [first["number"]]
    earlier = api.show("supervisor", first["number"])
    assert earlier["is_major"] is True
    related = [e for e in api.trail("supervisor", first["number"])
               if e["action"] == "related_repeat"]
    assert related[0]["details"]["repeat_complaint"] == second["number"]
    other = api.create(caller_number="+8613800000777")
    assert other["is_major"] is False
    clock.now += timedelta(days=40)
    assert api.create(caller_number="+8613800000777")["is_major"] is False  # outside 30 days


def test_a_flag_set_later_makes_it_major_once(api: Api, app_services: Services) -> None:
    number = api.create()["number"]
    assert _told(app_services) == []
    api("seat", "PATCH", f"/api/complaints/{number}", {"flags": ["media"], "opinion": "媒体报道"})
    assert api.show("seat", number)["is_major"] is True
    reported = len(_told(app_services))
    api("seat", "PATCH", f"/api/complaints/{number}", {"flags": ["media"], "description": "补充"})
    assert len(_told(app_services)) == reported
