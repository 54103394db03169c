"""Moving complaints through their stages by people: opinions, escalation, reassignment,
waiting for the caller, extensions and appeals, and who may read or change them."""

from __future__ import annotations

from datetime import timedelta

from flask import Flask
from sqlalchemy import select

from callcenter.services import Services
from handlers import access
from handlers.models import Complaint, ComplaintNotification
from staff.models import Staff
from tests.handlers.conftest import Api


def _actions(api: Api, number: str, who: str = "supervisor") -> list[str]:
    return [e["action"] for e in api.trail(who, number) if e["action"] != "viewed"]


def test_each_step_is_signed_with_an_opinion_and_meets_the_stage_deadlines(
        api: Api, clock) -> None:  # type: ignore[no-untyped-def]
    number = api.create()["number"]
    refused = api.act("seat", number, "advance", expect=400)
    assert "opinion" in refused["error"]
    clock.now += timedelta(minutes=20)
    moved = api.act("seat", number, "advance", opinion="已移交核实")
    assert moved["stage"] == "verify"
    deadlines = {(d["stage"], d["deadline"]): d for d in moved["deadlines"]}
    assert deadlines[("accept", "handover")]["status"] == "met"
    assert deadlines[("accept", "acknowledge")]["status"] == "running"  # met by the SMS
    assert deadlines[("verify", "start")]["due_at"] == "2026-11-24T18:00:00+08:00"
    api.act("seat", number, "advance", opinion="核实属实")
    needs_result = api.act("seat", number, "advance", expect=400, opinion="处理完毕")
    assert "result" in needs_result["error"]
    done = api.act("seat", number, "advance", opinion="处理完毕", result="已退还 30 元")
    assert done["stage"] == "feedback" and done["result"] == "已退还 30 元"
    assert done["callbacks"][0]["status"] == "scheduled"
    refused = api.act("seat", number, "advance", expect=409, opinion="跳过回访")
    assert "call-back" in refused["error"]
    trail = [e for e in api.trail("seat", number) if e["action"] == "stage_changed"]
    assert [(e["details"]["from_stage"], e["details"]["to_stage"]) for e in trail] == [
        ("accept", "verify"), ("verify", "handle"), ("handle", "feedback")]
    assert [e["opinion"] for e in trail] == ["已移交核实", "核实属实", "处理完毕"]
    assert all(e["actor"]["name"] == "王小明" for e in trail)


def test_only_the_chain_and_supervisors_can_read_and_every_read_is_logged(
        api: Api, app: Flask, app_services: Services) -> None:
    number = api.create()["number"]  # class_1 notifies the maintenance room at once
    for who in ("seat", "lead", "room", "deputy", "gm", "supervisor"):
        assert api.show(who, number)["number"] == number
    hidden = api("seat2", "GET", f"/api/complaints/{number}", expect=404)
    assert "you can see" in hidden["error"]
    api("seat2", "GET", f"/api/complaints/{number}/trail", expect=404)
    viewers = [e["actor"]["id"] for e in api.trail("supervisor", number)
               if e["action"] == "viewed"]
    # The trail read itself is on the trail.
    assert viewers == ["s001", "r001", "m001", "d001", "g001", "v001", "v001"]
    with app.app_context(), app_services.database.session() as session:
        complaint = session.scalar(select(Complaint))
        stranger = session.get(Staff, "s002")
        assert complaint is not None and stranger is not None
        assert not access.can_read(session, stranger, complaint)
        lead = session.get(Staff, "r001")
        assert lead is not None and access.can_read(session, lead, complaint)
        lead.active = False
        assert not access.can_read(session, lead, complaint)


def test_a_grievance_stays_with_its_chain_below_the_ceiling(api: Api) -> None:
    number = api.create(**{"class": "grievance"})["number"]
    assert api.show("lead", number)["role"] == "first_seat"
    listed = api("seat2", "GET", "/api/complaints")["complaints"]
    assert listed == []
    mine = api("seat", "GET", "/api/complaints")["complaints"]
    assert [c["number"] for c in mine] == [number]


def test_escalation_goes_one_step_up_and_stops_at_the_ceiling(api: Api) -> None:
    number = api.create()["number"]
    for expected in ("room_lead", "maintenance_room", "deputy_gm", "gm"):
        assert api.act("supervisor", number, "escalate", opinion="升级")["role"] == expected
    refused = api.act("supervisor", number, "escalate", expect=409, opinion="再升级")
    assert "as high as this complaint goes" in refused["error"]
    holders = api.show("gm", number)["holders"]
    assert [h["role"] for h in holders] == ["first_seat", "room_lead", "maintenance_room",
                                             "deputy_gm", "gm"]
    assert all(h["ended_at"] for h in holders[:-1]) and holders[-1]["ended_at"] is None


def test_only_the_holder_and_those_above_can_change_it(api: Api) -> None:
    number = api.create()["number"]
    api.act("lead", number, "escalate", opinion="室负责人接手")  # above the holder
    refused = api.act("seat", number, "opinions", expect=403, opinion="我来补充")
    assert "held by 室负责人(room_lead)" in refused["error"]
    assert api.show("seat", number)["role"] == "room_lead"  # the seat may still read it
    api.act("room", number, "opinions", opinion="维护室意见")


def test_reassignment_names_a_role_and_person(api: Api, app_services: Services) -> None:
    number = api.create()["number"]
    bad = api.act("lead", number, "reassign", expect=400, role="caller", opinion="x")
    assert "role must be one of" in bad["error"]
    bad = api.act("lead", number, "reassign", expect=400, role="room_lead", staff_id="s002",
                  opinion="x")
    assert "not an active room_lead" in bad["error"]
    moved = api.act("lead", number, "reassign", role="first_seat", staff_id="s002",
                    opinion="转交李小红跟进")
    assert (moved["role"], moved["assignee_id"]) == ("first_seat", "s002")
    assert api.show("seat2", number)["number"] == number
    with app_services.database.session() as session:
        told = session.scalars(select(ComplaintNotification.recipient_role).where(
            ComplaintNotification.kind == "reassigned")).all()
        assert told == ["first_seat"]


def test_waiting_for_the_caller_pauses_and_resumes_the_clocks(api: Api, clock) -> None:  # type: ignore[no-untyped-def]
    number = api.create(contact_number="+8613900000009")["number"]
    api.act("seat", number, "advance", opinion="转核实")  # verify/start: due Tue 18:00
    clock.now += timedelta(hours=1)  # Mon 11:00
    paused = api.act("seat", number, "pause", reason="等待客户提供缴费凭证",
                     missing_materials="缴费凭证照片")
    assert paused["paused"] is True
    running = {d["deadline"]: d for d in paused["deadlines"] if d["status"] == "running"}
    assert running["result"]["due_at"] is None and running["result"]["paused"] is True
    again = api.act("seat", number, "pause", expect=409, reason="again")
    assert "already paused" in again["error"]
    clock.now += timedelta(days=1)  # Tue 11:00: the material arrives
    resumed = api.act("seat", number, "resume", opinion="已收到凭证")
    running = {d["deadline"]: d for d in resumed["deadlines"] if d["status"] == "running"}
    # "continue": 48 h from Mon 10:00, plus the 24 h paused.
    assert running["result"]["due_at"] == "2026-11-26T10:00:00+08:00"
    # "restart" (启动核实): a whole working day again from Tue 11:00.
    assert running["start"]["due_at"] == "2026-11-25T18:00:00+08:00"
    assert resumed["paused"] is False
    api.act("seat", number, "resume", expect=409, opinion="x")
    trail = api.trail("seat", number)
    assert [e for e in trail if e["action"] == "paused"][0]["details"]["missing"] == "缴费凭证照片"


def test_an_extension_is_granted_before_the_deadline_with_a_reason(
        api: Api, clock, app_services: Services) -> None:  # type: ignore[no-untyped-def]
    number = api.create()["number"]
    refused = api.act("seat", number, "extensions", expect=409, deadline="result", amount=24,
                      reason="")
    assert "a reason is required" in refused["error"]
    granted = api.act("seat", number, "extensions", deadline="result", amount=24,
                      reason="需厂家检测")
    result = [d for d in granted["deadlines"] if d["deadline"] == "result"][0]
    assert result["due_at"] == "2026-11-26T10:00:00+08:00"
    again = api.act("seat", number, "extensions", expect=409, deadline="result", amount=1,
                    reason="再延")
    assert "at most 1 extension" in again["error"]
    clock.now += timedelta(days=5)
    late = api.act("seat", number, "extensions", expect=409, deadline="callback", amount=1,
                   reason="太晚")
    assert "already passed" in late["error"]
    actions = _actions(api, number)
    assert actions.count("extension_refused") == 3 and actions.count("extension_granted") == 1
    with app_services.database.session() as session:
        sms = session.scalars(select(ComplaintNotification).where(
            ComplaintNotification.kind == "extension")).all()
        assert {n.recipient_role for n in sms} == {"caller", "maintenance_room"}
        to_caller = [n for n in sms if n.channel == "sms"][0]
        assert "11月26日10:00" in to_caller.body and "需厂家检测" in to_caller.body


def test_an_appeal_in_time_returns_the_complaint(api: Api, clock) -> None:  # type: ignore[no-untyped-def]
    number = api.create()["number"]
    api.act("lead", number, "reassign", role="deputy_gm", opinion="交副总协调")
    api.act("lead", number, "appeal", expect=403, reason="不是我们")
    returned = api.act("deputy", number, "appeal", reason="不属于本部门职责")
    assert returned["role"] == "maintenance_room"
    api.act("room", number, "reassign", role="deputy_gm", opinion="仍请副总协调")
    clock.now += timedelta(days=3)
    refused = api.act("deputy", number, "appeal", expect=409, reason="超时申诉")
    assert "appeal window ended at 2026-11-24T18:00:00+08:00" in refused["error"]
    assert api.show("deputy", number)["role"] == "deputy_gm"
    assert _actions(api, number).count("appeal_refused") == 1


def test_optional_deadlines_start_and_are_met_by_hand(api: Api, clock) -> None:  # type: ignore[no-untyped-def]
    number = api.create()["number"]
    bad = api.act("seat", number, "deadlines", expect=400, deadline="nope", opinion="x")
    assert "no deadline 'nope'" in bad["error"]
    api.act("seat", number, "advance", opinion="转核实")
    started = api.act("seat", number, "deadlines", deadline="site_visit", opinion="需现场核查")
    visit = [d for d in started["deadlines"] if d["deadline"] == "site_visit"][0]
    assert visit["due_at"] == "2026-11-24T10:00:00+08:00"
    clock.now += timedelta(hours=3)
    met = api.act("seat", number, "deadlines/site_visit/met", opinion="已到现场")
    assert [d["status"] for d in met["deadlines"] if d["deadline"] == "site_visit"] == ["met"]
    api.act("seat", number, "deadlines/site_visit/met", expect=409, opinion="again")


def test_evidence_is_added_and_listed(api: Api) -> None:
    number = api.create()["number"]
    sha = "a" * 64
    shown = api.act("seat", number, "evidence", name="缴费凭证.jpg",
                    url="https://files.example.cn/1.jpg", sha256=sha, content_type="image/jpeg")
    assert shown["evidence"][0]["sha256"] == sha
    api.act("seat", number, "evidence", expect=400, name="x", url="ftp://nope")
