"""Links between recordings, calls and complaints: attaching, evidence lists, catching up."""

from __future__ import annotations

from datetime import UTC, datetime

import pytest
from sqlalchemy import select, update

from callcenter.services import Services
from handlers.models import Complaint
from recordings.callbacks import RecordingFacts, apply_status
from recordings.links import (
    AlreadyAttached,
    attach_call_to_complaint,
    evidence_list,
    reconcile_links,
)
from recordings.models import CallComplaintLink, Recording

NOW = datetime(2026, 11, 23, 3, 0, tzinfo=UTC)
CALL = "CA" + "e" * 32
OTHER_CALL = "CA" + "f" * 32


def facts(sid: str, call: str = CALL, status: str = "completed") -> RecordingFacts:
    return RecordingFacts(recording_sid=sid, call_sid=call, status=status, url="",
                          duration=12, caller_number="+8613800000031", seat_id="seat-7")


def complaint(app_services: Services, number: str) -> int:
    with app_services.database.session() as session:
        row = Complaint(number=number, query_pin_hash="x", caller_number="+8613800000031")
        session.add(row)
        session.flush()
        return row.id


def test_attaching_a_call_attaches_all_its_recordings_once(app_services: Services) -> None:
    complaint_id = complaint(app_services, "2611230031")
    with app_services.database.session() as session:
        apply_status(session, facts("RE" + "1" * 32), "conversation", NOW)
        apply_status(session, facts("RE" + "2" * 32), "conversation", NOW)
        apply_status(session, facts("RE" + "3" * 32, call=OTHER_CALL), "conversation", NOW)
    with app_services.database.session() as session:
        assert attach_call_to_complaint(session, CALL, complaint_id, None, NOW) == 2
        assert attach_call_to_complaint(session, CALL, complaint_id, None, NOW) == 2
        evidence = evidence_list(session, complaint_id)
    assert [e["recording_sid"] for e in evidence] == ["RE" + "1" * 32, "RE" + "2" * 32]
    assert all(e["complaint_id"] == complaint_id and "sha256" in e for e in evidence)
    assert evidence[0]["seat_id"] == "seat-7" and evidence[0]["caller_number"] == (
        "+8613800000031")


def test_evidence_never_moves_to_another_complaint_silently(app_services: Services) -> None:
    first, second = complaint(app_services, "2611230032"), complaint(app_services, "2611230033")
    with app_services.database.session() as session:
        attach_call_to_complaint(session, CALL, first, None, NOW)
    with pytest.raises(AlreadyAttached), app_services.database.session() as session:
        attach_call_to_complaint(session, CALL, second, None, NOW)


def test_a_recording_that_missed_the_attachment_is_caught_up(app_services: Services) -> None:
    complaint_id = complaint(app_services, "2611230034")
    with app_services.database.session() as session:
        apply_status(session, facts("RE" + "4" * 32), "conversation", NOW)
        session.add(CallComplaintLink(call_sid=CALL, complaint_id=complaint_id, attached_at=NOW))
        # The race: the link committed while the recording's callback could not see it.
        session.execute(update(Recording).values(complaint_id=None))
    with app_services.database.session() as session:
        assert [e["recording_sid"] for e in evidence_list(session, complaint_id)] == [
            "RE" + "4" * 32]  # the evidence list already follows the link
        assert reconcile_links(session) == 1
        assert reconcile_links(session) == 0
        [row] = session.scalars(select(Recording)).all()
        assert row.complaint_id == complaint_id
