"""Retention: media purged N days after the complaint is archived; record and hash kept."""

from __future__ import annotations

from dataclasses import replace
from datetime import timedelta
from pathlib import Path

from callcenter.localrun import LocalSystem
from callcenter.settings import Settings
from handlers.models import Complaint
from recordings.jobs import purge_expired_recordings
from recordings.links import attach_call_to_complaint
from recordings.models import MediaState, Recording
from staff.models import Role
from tests.recordings.helpers import add_person, app_of, leave_voicemail, recording, run_jobs


def complaint_with(system: LocalSystem, kept: Recording, number: str,
                   archived_days_ago: int | None) -> None:
    now = system.services.now()
    with system.services.database.session() as session:
        complaint = Complaint(
            number=number, query_pin_hash="x", caller_number=kept.caller_number,
            stage="archive" if archived_days_ago is not None else "handle",
            closed_at=None if archived_days_ago is None else now - timedelta(
                days=archived_days_ago))
        session.add(complaint)
        session.flush()
        attach_call_to_complaint(session, kept.call_sid, complaint.id, None)


def test_purge_deletes_expired_media_but_keeps_record_and_hash(settings: Settings) -> None:
    with LocalSystem(replace(settings, recordings_retention_days=30), workers=0,
                     time_scale=0.001) as system:
        expired = leave_voicemail(system, "+8613800000021")
        recent = leave_voicemail(system, "+8613800000022")
        open_case = leave_voicemail(system, "+8613800000023")
        unlinked = leave_voicemail(system, "+8613800000024")
        run_jobs(system)
        complaint_with(system, expired, "2611230021", archived_days_ago=31)
        complaint_with(system, recent, "2611230022", archived_days_ago=29)
        complaint_with(system, open_case, "2611230023", archived_days_ago=None)
        before = recording(system, expired.recording_sid)
        dry = app_of(system).test_cli_runner().invoke(
            args=["recordings", "purge", "--dry-run"])
        assert f"would purge {expired.recording_sid}" in dry.output and "1 recordings due" in (
            dry.output)
        assert recording(system, expired.recording_sid).media_state == MediaState.STORED
        with app_of(system).app_context():
            assert purge_expired_recordings() == {"purged": 1, "failed": 0}
            assert purge_expired_recordings() == {"purged": 0, "failed": 0}
        purged = recording(system, expired.recording_sid)
        assert purged.media_state == MediaState.PURGED and purged.purged_at is not None
        assert (purged.sha256, purged.size_bytes, purged.storage_key) == (
            before.sha256, before.size_bytes, before.storage_key)
        assert "complaint 2611230021 archived" in purged.purge_reason
        assert not (Path(system.settings.recordings_dir) / before.storage_key).exists()
        for other in (recent, open_case, unlinked):
            assert recording(system, other.recording_sid).media_state == MediaState.STORED
        result = app_of(system).test_cli_runner().invoke(
            args=["recordings", "verify"])
        assert result.exit_code == 0, result.output
        assert "3 ok" in result.output and "1 purged (hash kept)" in result.output
        boss = add_person(system.services, "zhao", Role.SUPERVISOR)
        gone = app_of(system).test_client().get(
            f"/api/recordings/{expired.recording_sid}/media", headers=boss.headers)
        assert gone.status_code == 410 and before.sha256 in gone.get_json()["error"]
        meta = app_of(system).test_client().get(
            f"/api/recordings/{expired.recording_sid}", headers=boss.headers).get_json()
        assert meta["sha256"] == before.sha256 and meta["media_state"] == "purged"
