"""Complaints as the JSON API shows them: the form, where it stands, its clocks, evidence
and call-backs, and the trail. Times are ISO 8601 in the call center's zone."""

from __future__ import annotations

from datetime import datetime
from typing import Any
from zoneinfo import ZoneInfo

from sqlalchemy import select
from sqlalchemy.orm import Session

from handlers import clocks, evidence
from handlers.escalation import resolve_routing
from handlers.models import (
    Complaint,
    ComplaintAssignment,
    ComplaintCallback,
    ComplaintEvent,
    ComplaintNotification,
)
from handlers.policy import Policy


def when(moment: datetime | None, zone: ZoneInfo) -> str | None:
    return None if moment is None else moment.astimezone(zone).isoformat()


def summary(complaint: Complaint, policy: Policy, zone: ZoneInfo) -> dict[str, Any]:
    stage = policy.stages.get(complaint.stage)
    return {
        "number": complaint.number,
        "stage": complaint.stage,
        "stage_name": stage.name if stage else complaint.stage,
        "role": complaint.role,
        "role_name": policy.roles[complaint.role].name if complaint.role in policy.roles else "",
        "assignee_id": complaint.assignee_id,
        "subject": complaint.subject,
        "caller_number": complaint.caller_number,
        "is_major": complaint.is_major,
        "overdue": complaint.overdue,
        "paused": complaint.paused,
        "provisional": complaint.provisional,
        "reopen_count": complaint.reopen_count,
        "expected_completion_at": when(complaint.expected_completion_at, zone),
        "created_at": when(complaint.created_at, zone),
        "closed_at": when(complaint.closed_at, zone),
    }


def detail(session: Session, complaint: Complaint, policy: Policy,
           zone: ZoneInfo) -> dict[str, Any]:
    """Everything on the form, and everything about its handling except the trail."""
    routing = resolve_routing(policy, clocks.classification_of(complaint))
    return {
        **summary(complaint, policy, zone),
        "contact_name": complaint.contact_name,
        "contact_number": complaint.contact_number,
        "channel": complaint.channel,
        "target_product": complaint.target_product,
        "target_branch": complaint.target_branch,
        "target_employee_id": complaint.target_employee_id,
        "occurred_at": when(complaint.occurred_at, zone),
        "occurred_place": complaint.occurred_place,
        "description": complaint.description,
        "demands": complaint.demands,
        "demand_text": complaint.demand_text,
        "missing_materials": complaint.missing_materials,
        "class": complaint.complaint_class,
        "level": complaint.level,
        "urgency": complaint.urgency,
        "severity": complaint.severity,
        "complex": complaint.complex,
        "flags": complaint.flags,
        "major_reasons": complaint.major_reasons,
        "result": complaint.result,
        "call_sid": complaint.call_sid,
        "menu_path": complaint.menu_path,
        "accepted_by": complaint.accepted_by,
        "routing": {"start": routing.start, "notify": list(routing.notify),
                    "final_answer": routing.final_answer, "ceiling": routing.ceiling,
                    "guidance": list(routing.guidance)},
        "holders": [
            {"role": a.role, "staff_id": a.staff_id, "reason": a.reason,
             "started_at": when(a.started_at, zone), "ended_at": when(a.ended_at, zone)}
            for a in session.scalars(select(ComplaintAssignment).where(
                ComplaintAssignment.complaint_id == complaint.id)
                .order_by(ComplaintAssignment.id))
        ],
        "deadlines": [
            {"stage": row.stage, "deadline": row.deadline, "name": row.name,
             "status": row.status, "amount": row.amount, "unit": row.unit,
             "started_at": when(row.started_at, zone), "due_at": when(row.due_at, zone),
             "provisional": row.provisional, "paused": clocks.to_tracked(row).clock.paused,
             "extensions": row.extensions, "ended_at": when(row.ended_at, zone)}
            for row in clocks.all_clocks(session, complaint.id)
        ],
        "evidence": [
            {"name": e.name, "url": e.url, "content_type": e.content_type, "sha256": e.sha256,
             "added_by": e.added_by, "added_at": when(e.added_at, zone)}
            for e in evidence.attachments(session, complaint.id)
        ],
        "recordings": evidence.recordings(session, complaint),
        "callbacks": [
            {"round": c.round, "attempt": c.attempt, "status": c.status,
             "due_at": when(c.due_at, zone), "call_sid": c.call_sid,
             "call_status": c.call_status, "rating": c.rating, "solved": c.solved,
             "outcome": c.outcome}
            for c in session.scalars(select(ComplaintCallback).where(
                ComplaintCallback.complaint_id == complaint.id)
                .order_by(ComplaintCallback.id))
        ],
    }


def event(row: ComplaintEvent, zone: ZoneInfo) -> dict[str, Any]:
    return {
        "at": when(row.at, zone),
        "actor": {"kind": row.actor_kind, "id": row.actor_id, "name": row.actor_name,
                  "role": row.actor_role},
        "action": row.action,
        "stage": row.stage,
        "opinion": row.opinion,
        "details": row.details,
    }


def notification(row: ComplaintNotification, number: str, zone: ZoneInfo) -> dict[str, Any]:
    return {"complaint": number, "kind": row.kind, "text": row.body,
            "created_at": when(row.created_at, zone)}
