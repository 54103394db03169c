"""Registering complaints through the API: the form, the number and PIN, the call it came from."""

from __future__ import annotations

import threading
from collections.abc import Callable

import pytest
from flask import Flask
from sqlalchemy import select

from callcenter.services import Services
from handlers.lookup import complaint_by_number_and_pin, hash_pin
from handlers.models import (
    Complaint,
    ComplaintClock,
    ComplaintEvent,
    ComplaintNotification,
    TrailError,
)
from tests.handlers.conftest import Api


def test_a_complaint_gets_a_keyable_number_a_pin_a_holder_and_its_deadlines(
        api: Api, app_services: Services) -> None:
    made = api.create(
        contact_name="陈先生", contact_number="+8613900000009", subject="多扣月费",
        target_product="宽带套餐", target_branch="徐汇营业厅", target_employee_id="E1024",
        occurred_at="2026-11-20T15:00:00", occurred_place="徐汇营业厅", demands=["refund"],
        demand_text="退还多扣的 30 元", missing_materials="缴费凭证")
    assert made["number"] == "2611230001" and made["number"].isdigit()
    assert len(made["pin"]) == 6 and made["pin"].isdigit()
    assert made["stage"] == "accept" and made["role"] == "first_seat"
    assert made["assignee_id"] == "s001" and made["accepted_by"] == "s001"
    assert made["occurred_at"] == "2026-11-20T15:00:00+08:00"
    assert made["routing"]["final_answer"] == "maintenance_room"
    deadlines = {d["deadline"]: d for d in made["deadlines"]}
    assert deadlines["acknowledge"]["due_at"] == "2026-11-23T11:00:00+08:00"
    assert deadlines["handover"]["due_at"] == "2026-11-23T11:00:00+08:00"
    assert deadlines["result"]["due_at"] == "2026-11-25T10:00:00+08:00"
    assert deadlines["callback"]["due_at"] == "2026-11-26T10:00:00+08:00"
    assert made["expected_completion_at"] == "2026-11-25T10:00:00+08:00"
    assert "pin" not in api.show("seat", made["number"])
    with app_services.database.session() as session:
        stored = session.scalar(select(Complaint))
        assert stored is not None and made["pin"] not in stored.query_pin_hash
        assert stored.query_pin_hash == hash_pin("test-secret", stored.number, made["pin"])
        found = complaint_by_number_and_pin(session, "test-secret", made["number"], made["pin"])
        assert found is not None and found.id == stored.id


def test_numbers_follow_the_local_day_and_never_repeat(api: Api, clock) -> None:  # type: ignore[no-untyped-def]
    first, second = api.create()["number"], api.create()["number"]
    assert (first, second) == ("2611230001", "2611230002")
    clock.now = clock.now.replace(hour=23, minute=59)  # still 23 Nov in Shanghai
    assert api.create()["number"] == "2611230003"
    clock.now = clock.now.replace(day=24, hour=0, minute=1)
    assert api.create()["number"] == "2611240001"


def test_concurrent_registrations_get_distinct_numbers(app: Flask, people: dict[str, str],
                                                       clock) -> None:  # type: ignore[no-untyped-def]
    numbers: list[str] = []
    errors: list[object] = []

    def register() -> None:
        client = app.test_client()
        for _ in range(4):
            response = client.post("/api/complaints", json={
                "caller_number": "+8613800000001", "description": "并发", "class": "class_2",
                "level": "L1", "urgency": "normal"},
                headers={"Authorization": f"Bearer {people['seat']}"})
            if response.status_code == 201:
                numbers.append(response.get_json()["number"])
            else:
                errors.append(response.get_json())

    threads = [threading.Thread(target=register) for _ in range(4)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert not errors
    assert sorted(numbers) == [f"261123{n:04d}" for n in range(1, 17)]


def test_a_complaint_from_a_call_takes_the_caller_and_menu_path_from_the_ivr(
        api: Api, complaint_call: Callable[..., str]) -> None:
    sid = complaint_call(from_="+8613711112222")
    made = api("seat", "POST", "/api/complaints", {
        "call_sid": sid, "description": "服务态度差", "class": "class_2", "level": "L2",
        "urgency": "normal", "severity": "1"}, expect=201)
    assert made["caller_number"] == "+8613711112222"
    assert made["call_sid"] == sid and made["channel"] == "phone"
    assert made["menu_path"].startswith("incoming") and "main:dtmf:9" in made["menu_path"]
    assert made["routing"]["notify"] == ["maintenance_room", "room_lead"]


def test_recordings_of_the_call_become_evidence(api: Api, complaint_call: Callable[..., str],
                                                app_services: Services) -> None:
    from recordings.models import Recording

    sid = complaint_call()
    with app_services.database.session() as session:
        session.add(Recording(recording_sid="RE" + "1" * 32, call_sid=sid, kind="conversation",
                              status="completed"))
    made = api("seat", "POST", "/api/complaints", {
        "call_sid": sid, "description": "d", "class": "class_1", "level": "L1",
        "urgency": "normal"}, expect=201)
    assert [r["recording_sid"] for r in made["recordings"]] == ["RE" + "1" * 32]
    linked = [e for e in api.trail("seat", made["number"]) if e["action"] == "recordings_linked"]
    assert linked[0]["details"]["count"] == 1


def test_creation_is_on_the_trail_and_the_acknowledgment_is_queued(
        api: Api, app_services: Services) -> None:
    made = api.create(missing_materials="缴费凭证")
    trail = api.trail("seat", made["number"])
    created = trail[0]
    assert created["action"] == "created"
    assert created["actor"] == {"kind": "staff", "id": "s001", "name": "王小明",
                                "role": "first_seat"}
    assert created["details"]["routing"]["start"] == "first_seat"
    assert trail[-1]["action"] == "viewed"
    with app_services.database.session() as session:
        sms = session.scalar(select(ComplaintNotification).where(
            ComplaintNotification.channel == "sms"))
        assert sms is not None and sms.status == "pending" and sms.to_number == "+8613800000001"
        assert made["number"] in sms.body and "缴费凭证" in sms.body
        assert "11月25日10:00" in sms.body and "第一客服(工号 s001)" in sms.body
        assert made["pin"] not in sms.body


def test_the_trail_cannot_be_changed_or_deleted(api: Api, app_services: Services) -> None:
    api.create()
    with pytest.raises(TrailError), app_services.database.session() as session:
        event = session.scalar(select(ComplaintEvent))
        assert event is not None
        event.opinion = "改写"
    with pytest.raises(TrailError), app_services.database.session() as session:
        event = session.scalar(select(ComplaintEvent))
        session.delete(event)
    from sqlalchemy import delete

    with pytest.raises(TrailError), app_services.database.session() as session:
        session.execute(delete(ComplaintEvent))


@pytest.mark.parametrize(("body", "message"), [
    ({}, "required: description, class, level, urgency"),
    ({"description": "x", "class": "nope", "level": "L1", "urgency": "normal",
      "caller_number": "+8613800000001"}, "class: expected one of class_1, class_2, grievance"),
    ({"description": "x", "class": "class_1", "level": "L1", "urgency": "normal"},
     "caller_number is required"),
    ({"description": "x", "class": "class_1", "level": "L1", "urgency": "normal",
      "caller_number": "not a number"}, "caller_number: expected a phone number"),
    ({"description": "x", "class": "class_1", "level": "L1", "urgency": "normal",
      "caller_number": "+8613800000001", "colour": "red"}, "unknown field(s): colour"),
    ({"description": "x", "class": "class_1", "level": "L1", "urgency": "normal",
      "call_sid": "CA123"}, "call_sid: expected a Twilio CallSid"),
    ({"description": "x", "class": "class_1", "level": "L1", "urgency": "normal",
      "call_sid": "CA" + "f" * 32}, "no call CA" + "f" * 32),
    ({"description": "x", "class": "class_1", "level": "L1", "urgency": "normal",
      "caller_number": "+8613800000001", "demands": ["world peace"]}, "demands: expected"),
    ({"description": "x", "class": "class_1", "level": "L1", "urgency": "normal",
      "caller_number": "+8613800000001", "occurred_at": "yesterday"}, "occurred_at"),
    ({"description": "x", "class": "class_1", "level": "L1", "urgency": "normal",
      "caller_number": "+8613800000001", "evidence": [{"name": "a"}]}, "evidence: url"),
])
def test_a_malformed_form_is_refused_with_the_field_named(api: Api, body: dict[str, object],
                                                          message: str,
                                                          app_services: Services) -> None:
    answer = api("seat", "POST", "/api/complaints", body, expect=400)
    assert message in answer["error"]
    with app_services.database.session() as session:
        assert session.scalar(select(Complaint)) is None
        assert session.scalar(select(ComplaintClock)) is None


def test_requests_without_a_valid_token_or_json_get_json_errors(client, people) -> None:  # type: ignore[no-untyped-def]
    assert client.post("/api/complaints", json={}).status_code == 401
    assert client.get("/api/complaints/2611230001",
                      headers={"Authorization": "Bearer wrong"}).get_json() == {
        "error": "missing or unknown bearer token"}
    auth = {"Authorization": f"Bearer {people['seat']}"}
    answer = client.post("/api/complaints", data="not json", headers=auth)
    assert answer.status_code == 415 and "JSON" in answer.get_json()["error"]
    answer = client.post("/api/complaints", data="[1]", headers=auth,
                         content_type="application/json")
    assert answer.status_code == 400 and "JSON object" in answer.get_json()["error"]
    answer = client.post("/api/complaints", data="{broken", headers=auth,
                         content_type="application/json")
    assert answer.status_code == 400
    assert client.get("/api/complaints/abc", headers=auth).status_code == 404
    assert client.delete("/api/complaints/2611230001", headers=auth).status_code == 405


@pytest.mark.parametrize("query", ["limit=0", "limit=201", "limit=²", "limit=٣",
                                   "before_id=²", "before_id=x"])
def test_a_worklist_asked_for_with_a_bad_page_is_refused_with_400(  # type: ignore[no-untyped-def]
        client, people, query) -> None:
    auth = {"Authorization": f"Bearer {people['seat']}"}
    answer = client.get(f"/api/complaints?{query}", headers=auth)
    assert answer.status_code == 400 and "limit is 1 to 200" in answer.get_json()["error"]


def test_corrections_are_on_the_trail_and_reclassify_the_deadlines(api: Api) -> None:
    made = api.create()
    number = made["number"]
    corrected = api("seat", "PATCH", f"/api/complaints/{number}",
                    {"channel": "online", "contact_name": "陈先生", "opinion": "客户补充"})
    deadlines = {d["deadline"]: d for d in corrected["deadlines"]}
    assert deadlines["acknowledge"]["amount"] == 30
    assert deadlines["acknowledge"]["due_at"] == "2026-11-23T10:30:00+08:00"
    updated = [e for e in api.trail("seat", number) if e["action"] == "updated"][0]
    assert updated["details"]["changes"]["channel"] == ["phone", "online"]
    assert updated["opinion"] == "客户补充"
    assert "unknown field(s): number" in api("seat", "PATCH", f"/api/complaints/{number}",
                                             {"number": "1"}, expect=400)["error"]
