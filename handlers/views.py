"""The complaint JSON API under ``/api/complaints``: thin views over the complaint modules.

Every request needs a staff bearer token; a complaint the person may not read answers 404
like one that does not exist; every read and change is written to its trail. Errors are
JSON ``{"error": ...}`` with a 4xx status. Complaints are addressed by their number.
"""

from __future__ import annotations

import logging
from collections.abc import Callable
from datetime import datetime
from typing import Any
from zoneinfo import ZoneInfo

from flask import Blueprint, Flask, Response, jsonify, request
from sqlalchemy.orm import Session

from callcenter.numbers import is_ascii_number
from callcenter.services import services
from handlers import (
    access,
    announce,
    context,
    deadlines,
    evidence,
    forms,
    intake,
    serialize,
    trail,
    voice,
    workflow,
)
from handlers.calendar import WorkingCalendar
from handlers.errors import ComplaintError, InvalidRequest
from handlers.models import Complaint
from handlers.policy import Policy
from handlers.trail import Actor
from ivr.context import ivr_config
from staff.auth import (
    current_staff,
    json_body,
    register_api_errors,
    require_staff,
)
from staff.models import Staff

log = logging.getLogger(__name__)

bp = Blueprint("complaints", __name__, url_prefix="/api/complaints")

Act = Callable[[Session, Complaint, Staff, dict[str, Any], datetime, Policy, WorkingCalendar],
               dict[str, Any] | None]


def _text(body: dict[str, Any], key: str, limit: int = 2000) -> str:
    value = body.get(key, "")
    if not isinstance(value, str) or len(value) > limit:
        raise InvalidRequest(f"{key}: expected text of at most {limit} characters")
    return value.strip()


def _zone() -> ZoneInfo:
    return services().settings.zone


@bp.post("")
@require_staff()
def create() -> tuple[Response, int]:
    """Register a complaint; the answer carries its query PIN, this once."""
    svc, policy, staff = services(), context.complaint_policy(), current_staff()
    new = forms.read_new(json_body(), policy, svc.settings.zone)
    with svc.database.session() as session:
        calendar = context.working_calendar(session)
        registered = intake.register(session, new, staff, now=svc.now(), policy=policy,
                                     calendar=calendar, secret=svc.settings.secret_key)
        body = serialize.detail(session, registered.complaint, policy, svc.settings.zone)
    body["pin"] = registered.pin
    if new.announce:
        try:
            _announce(registered.complaint.id, registered.pin, staff)
            body["announced"] = True
        except ComplaintError as exc:
            body["announced"], body["announce_error"] = False, exc.message
    return jsonify(body), 201


def _announce(complaint_id: int, pin: str, staff: Staff) -> None:
    svc = services()
    with svc.database.session() as session:
        complaint = session.get(Complaint, complaint_id)
        assert complaint is not None
        announce.announce(session, complaint, pin, Actor.of(staff), client=svc.twilio,
                          prompts=ivr_config().prompts, secret=svc.settings.secret_key,
                          now=svc.now())


@bp.get("")
@require_staff()
def worklist() -> Response:
    svc, policy, staff = services(), context.complaint_policy(), current_staff()
    limit = request.args.get("limit", "50")
    before = request.args.get("before_id", "")
    if (not is_ascii_number(limit) or not 1 <= int(limit) <= 200
            or (before and not is_ascii_number(before))):
        raise InvalidRequest("limit is 1 to 200, before_id a complaint id")
    with svc.database.session() as session:
        found = access.worklist(session, staff, stage=request.args.get("stage") or None,
                                limit=int(limit), before_id=int(before) if before else None,
                                now=svc.now())
        items = [serialize.summary(c, policy, svc.settings.zone) for c in found]
    return jsonify({"complaints": items})


@bp.get("/notifications")
@require_staff()
def notifications() -> Response:
    """The inbox of the person's role: breaches, escalations, major cases, call-back tasks."""
    svc = services()
    with svc.database.session() as session:
        items = [serialize.notification(row, number, svc.settings.zone)
                 for row, number in access.inbox(session, current_staff())]
    return jsonify({"notifications": items})


@bp.get("/<number>")
@require_staff()
def show(number: str) -> Response:
    svc, policy = services(), context.complaint_policy()
    with svc.database.session() as session:
        complaint = access.readable(session, current_staff(), number, svc.now())
        return jsonify(serialize.detail(session, complaint, policy, svc.settings.zone))


@bp.get("/<number>/trail")
@require_staff()
def show_trail(number: str) -> Response:
    svc = services()
    with svc.database.session() as session:
        complaint = access.readable(session, current_staff(), number, svc.now())
        events = [serialize.event(e, svc.settings.zone) for e in trail.trail(session, complaint.id)]
    return jsonify({"number": number, "trail": events})


def _change(number: str, act: Act) -> tuple[Response, int]:
    """Run ``act`` on the locked complaint for the signed-in person; answer the complaint.

    ``act`` may return a refusal (``{"error": ...}``): it is committed (it is on the trail)
    and answered with 409.
    """
    svc, policy, staff = services(), context.complaint_policy(), current_staff()
    body = json_body()
    with svc.database.session() as session:
        found = access.actionable(session, staff, number, policy)
        complaint = workflow.lock(session, found.id)
        refusal = act(session, complaint, staff, body, svc.now(), policy,
                      context.working_calendar(session))
        answer = serialize.detail(session, complaint, policy, svc.settings.zone)
    if refusal:
        return jsonify(refusal), 409
    return jsonify(answer), 200


@bp.patch("/<number>")
@require_staff()
def correct(number: str) -> tuple[Response, int]:
    def act(session: Session, complaint: Complaint, staff: Staff, body: dict[str, Any],
            now: datetime, policy: Policy, calendar: WorkingCalendar) -> None:
        changes = {k: v for k, v in body.items() if k != "opinion"}
        fields = forms.read_fields(changes, policy, _zone())
        intake.correct(session, complaint, staff, fields, opinion=_text(body, "opinion"),
                       now=now, policy=policy, calendar=calendar)
    return _change(number, act)


@bp.post("/<number>/opinions")
@require_staff()
def opinion(number: str) -> tuple[Response, int]:
    return _change(number, lambda s, c, staff, body, now, p, cal: workflow.add_opinion(
        s, c, staff, opinion=_text(body, "opinion"), now=now))


@bp.post("/<number>/advance")
@require_staff()
def advance(number: str) -> tuple[Response, int]:
    return _change(number, lambda s, c, staff, body, now, p, cal: workflow.advance(
        s, c, staff, opinion=_text(body, "opinion"), result=_text(body, "result", 4000),
        now=now, policy=p, calendar=cal))


@bp.post("/<number>/escalate")
@require_staff()
def escalate(number: str) -> tuple[Response, int]:
    return _change(number, lambda s, c, staff, body, now, p, cal: workflow.escalate(
        s, c, staff, opinion=_text(body, "opinion"), now=now, policy=p))


@bp.post("/<number>/reassign")
@require_staff()
def reassign(number: str) -> tuple[Response, int]:
    def act(session: Session, complaint: Complaint, staff: Staff, body: dict[str, Any],
            now: datetime, policy: Policy, calendar: WorkingCalendar) -> None:
        staff_id = body.get("staff_id")
        if staff_id is not None and not isinstance(staff_id, str):
            raise InvalidRequest("staff_id: expected text")
        workflow.reassign(session, complaint, staff, role=_text(body, "role", 32),
                          staff_id=staff_id, opinion=_text(body, "opinion"), now=now,
                          policy=policy)
    return _change(number, act)


@bp.post("/<number>/pause")
@require_staff()
def pause(number: str) -> tuple[Response, int]:
    return _change(number, lambda s, c, staff, body, now, p, cal: deadlines.pause(
        s, c, staff, reason=_text(body, "reason"), missing=_text(body, "missing_materials"),
        now=now, policy=p, calendar=cal))


@bp.post("/<number>/resume")
@require_staff()
def resume(number: str) -> tuple[Response, int]:
    return _change(number, lambda s, c, staff, body, now, p, cal: deadlines.resume(
        s, c, staff, opinion=_text(body, "opinion"), now=now, policy=p, calendar=cal))


@bp.post("/<number>/deadlines")
@require_staff()
def start_deadline(number: str) -> tuple[Response, int]:
    def act(session: Session, complaint: Complaint, staff: Staff, body: dict[str, Any],
            now: datetime, policy: Policy, calendar: WorkingCalendar) -> None:
        deadlines.start_deadline(session, complaint, staff, deadline_id=_text(body, "deadline"),
                                 opinion=_text(body, "opinion"), now=now, policy=policy,
                                 calendar=calendar)
    return _change(number, act)


@bp.post("/<number>/deadlines/<deadline_id>/met")
@require_staff()
def meet_deadline(number: str, deadline_id: str) -> tuple[Response, int]:
    def act(session: Session, complaint: Complaint, staff: Staff, body: dict[str, Any],
            now: datetime, policy: Policy, calendar: WorkingCalendar) -> None:
        deadlines.meet_deadline(session, complaint, Actor.of(staff), deadline_id=deadline_id,
                                opinion=_text(body, "opinion"), now=now, policy=policy,
                                calendar=calendar)
    return _change(number, act)


@bp.post("/<number>/extensions")
@require_staff()
def extend(number: str) -> tuple[Response, int]:
    def act(session: Session, complaint: Complaint, staff: Staff, body: dict[str, Any],
            now: datetime, policy: Policy, calendar: WorkingCalendar) -> dict[str, Any] | None:
        amount = body.get("amount")
        if isinstance(amount, bool) or not isinstance(amount, int | float):
            raise InvalidRequest("amount: expected a number of the deadline's own unit")
        decision = deadlines.extend(session, complaint, staff,
                                    deadline_id=_text(body, "deadline"), amount=amount,
                                    reason=_text(body, "reason"), now=now, policy=policy,
                                    calendar=calendar)
        if decision.granted:
            return None
        return {"error": "extension refused: " + "; ".join(decision.problems),
                "problems": list(decision.problems)}
    return _change(number, act)


@bp.post("/<number>/appeal")
@require_staff()
def appeal(number: str) -> tuple[Response, int]:
    def act(session: Session, complaint: Complaint, staff: Staff, body: dict[str, Any],
            now: datetime, policy: Policy, calendar: WorkingCalendar) -> dict[str, Any] | None:
        decision = deadlines.appeal(session, complaint, staff, reason=_text(body, "reason"),
                                    now=now, policy=policy, calendar=calendar)
        if decision.accepted:
            return None
        ends = serialize.when(decision.window_ends.at, _zone())
        return {"error": f"appeal refused: the appeal window ended at {ends}",
                "window_ends": ends}
    return _change(number, act)


@bp.post("/<number>/evidence")
@require_staff()
def add_evidence(number: str) -> tuple[Response, int]:
    def act(session: Session, complaint: Complaint, staff: Staff, body: dict[str, Any],
            now: datetime, policy: Policy, calendar: WorkingCalendar) -> None:
        evidence.add(session, complaint, Actor.of(staff), forms.read_evidence(body), now)
    return _change(number, act)


@bp.post("/<number>/callback-result")
@require_staff()
def callback_result(number: str) -> tuple[Response, int]:
    """A seat called the caller back by hand and records their verdict."""
    def act(session: Session, complaint: Complaint, staff: Staff, body: dict[str, Any],
            now: datetime, policy: Policy, calendar: WorkingCalendar) -> None:
        rating, solved = body.get("rating"), body.get("solved")
        if rating is not None and (isinstance(rating, bool) or not isinstance(rating, int)):
            raise InvalidRequest("rating: expected a whole number")
        if solved is not None and not isinstance(solved, bool):
            raise InvalidRequest("solved: expected true or false")
        workflow.apply_callback_result(session, complaint, Actor.of(staff), rating=rating,
                                       solved=solved, now=now, policy=policy, calendar=calendar,
                                       opinion=_text(body, "opinion"))
    return _change(number, act)


@bp.post("/<number>/announce")
@require_staff()
def announce_again(number: str) -> Response:
    """Say the number and PIN to the caller on the complaint's live call (PIN in the body)."""
    svc, policy, staff = services(), context.complaint_policy(), current_staff()
    pin = _text(json_body(), "pin", 6)
    with svc.database.session() as session:
        complaint = access.actionable(session, staff, number, policy)
    _announce(complaint.id, pin, staff)
    return jsonify({"number": number, "announced": True})


@bp.post("/<number>/pin")
@require_staff()
def reissue_pin(number: str) -> Response:
    """A new query PIN (the old one stops working), answered this once."""
    svc, policy, staff = services(), context.complaint_policy(), current_staff()
    with svc.database.session() as session:
        found = access.actionable(session, staff, number, policy)
        pin = intake.reissue_pin(session, workflow.lock(session, found.id), staff,
                                 secret=svc.settings.secret_key, now=svc.now())
    return jsonify({"number": number, "pin": pin})


def complaint_error(error: ComplaintError) -> tuple[Response, int]:
    return jsonify({"error": error.message, **error.details}), error.status




bp.register_error_handler(ComplaintError, complaint_error)
register_api_errors(bp)

def init_app(app: Flask) -> None:
    from callcenter.services import EXTENSION_KEY

    context.init_app(app, app.extensions[EXTENSION_KEY].settings.policy_path)
    app.register_blueprint(bp)
    voice.init_app(app)
