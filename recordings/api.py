"""The recordings JSON API for staff: metadata, media with HTTP ranges, pause and resume.

* ``GET /api/recordings/<sid>`` — the recording's links, state and SHA-256.
* ``GET /api/recordings/<sid>/media`` — the audio, with ``Range`` support (206 / 416) so a
  browser can seek; ``?download=1`` offers it as a file. ``ETag`` is the SHA-256.
* ``GET /api/recordings/<sid>/log`` — who accessed it and when (supervisors).
* ``POST /api/calls/<call_sid>/recording`` — ``{"action": "pause"|"resume", "reason":
  "payment"|"identity"|"other"}`` by the call's seat or a supervisor; logged.

Every read, allowed or denied, is logged with who, when, which recording and which bytes.
Errors are JSON ``{"error": ...}`` with a 4xx status (503 when storage or Twilio fails).
"""

from __future__ import annotations

import logging
from collections.abc import Iterable

from flask import Blueprint, Flask, Response, jsonify, request
from sqlalchemy import select

from callcenter.services import services
from recordings import access, capture
from recordings.links import recording_summary
from recordings.models import MediaState, Recording, RecordingAccess
from recordings.storage import StorageError, content_type, storage_for
from staff.auth import (
    ApiError,
    api_error,
    current_staff,
    json_body,
    register_api_errors,
    require_staff,
)
from staff.models import Role

log = logging.getLogger(__name__)

bp = Blueprint("recordings_api", __name__, url_prefix="/api")


def _load_readable(sid: str, action: str, byte_range: str = "") -> Recording:
    """The recording ``sid`` if the signed-in person may read it; the access is logged."""
    if not capture.CALL_SID.match(sid):
        raise ApiError(404, "no such recording")
    staff = current_staff()
    svc = services()
    with svc.database.session() as session:
        recording = session.scalar(select(Recording).where(Recording.recording_sid == sid))
        if recording is None:
            raise ApiError(404, "no such recording")
        allowed = access.can_read(session, staff, recording)
        access.log_access(session, recording_id=recording.id, staff_id=staff.id,
                          action=action, allowed=allowed, now=svc.now(),
                          byte_range=byte_range, remote_addr=request.remote_addr or "")
    if not allowed:
        log.warning("%s was refused recording %s", staff.id, sid)
        raise ApiError(403, "you may not access this recording")
    return recording


@bp.get("/recordings/<sid>")
@require_staff()
def metadata(sid: str) -> Response:
    return jsonify(recording_summary(_load_readable(sid, "metadata")))


def _wanted_range(size: int, etag: str) -> tuple[int, int] | None:
    """The single byte range asked for, as ``(start, stop)``; None for the whole file.

    Raises a 416 for an unsatisfiable range. Several ranges, a malformed header or an
    ``If-Range`` for another version get the whole file, as RFC 9110 allows.
    """
    wanted = request.range
    if wanted is None or len(wanted.ranges) != 1:
        return None
    if_range = request.headers.get("If-Range")
    if if_range is not None and if_range.strip() != f'"{etag}"':
        return None
    span = wanted.range_for_length(size)
    if span is None:
        raise ApiError(416, f"the range is outside the {size} bytes of the recording")
    return span


@bp.get("/recordings/<sid>/media")
@require_staff()
def media(sid: str) -> Response:
    header = request.headers.get("Range", "")[:64]
    action = "download" if request.args.get("download") == "1" else "play"
    recording = _load_readable(sid, action, header)
    if recording.media_state == MediaState.PURGED:
        raise ApiError(410, f"the media was deleted under the retention policy on "
                            f"{recording.purged_at:%Y-%m-%d}; its SHA-256 was {recording.sha256}")
    if recording.media_state != MediaState.STORED or recording.size_bytes is None:
        raise ApiError(409, f"the media is not stored yet (state {recording.media_state})")
    size, etag = recording.size_bytes, recording.sha256
    try:
        span = _wanted_range(size, etag)
    except ApiError as error:
        response = api_error_response(error)
        response.headers["Content-Range"] = f"bytes */{size}"
        return response
    start, stop = span if span else (0, size)
    try:
        chunks: Iterable[bytes] = () if request.method == "HEAD" else storage_for(
            services().settings).read(recording.storage_key, start, stop - 1)
    except StorageError as exc:
        log.error("recording %s cannot be read: %s", sid, exc)
        raise ApiError(503, "the recording's media cannot be read now") from exc
    response = Response(chunks, status=206 if span else 200,
                        mimetype=content_type(recording.media_format),
                        direct_passthrough=True)
    response.headers["Content-Length"] = str(stop - start)
    response.headers["Accept-Ranges"] = "bytes"
    response.headers["ETag"] = f'"{etag}"'
    response.headers["Cache-Control"] = "private, no-store"
    response.headers["X-Recording-Integrity"] = recording.integrity
    if span:
        response.headers["Content-Range"] = f"bytes {start}-{stop - 1}/{size}"
    disposition = "attachment" if action == "download" else "inline"
    response.headers["Content-Disposition"] = (
        f'{disposition}; filename="{recording.recording_sid}.{recording.media_format}"')
    return response


@bp.get("/recordings/<sid>/log")
@require_staff(Role.SUPERVISOR)
def access_log(sid: str) -> Response:
    recording = _load_readable(sid, "log")
    with services().database.session() as session:
        rows = session.scalars(select(RecordingAccess)
                               .where(RecordingAccess.recording_id == recording.id)
                               .order_by(RecordingAccess.at, RecordingAccess.id))
        accesses = [{"staff_id": row.staff_id, "at": row.at.isoformat(), "action": row.action,
                     "allowed": row.allowed, "range": row.byte_range} for row in rows]
        pauses = [{"staff_id": row.staff_id, "at": row.at.isoformat(), "action": row.action,
                   "reason": row.reason, "outcome": row.outcome}
                  for row in capture.pause_log(session, recording.call_sid)]
    return jsonify({"recording_sid": sid, "accesses": accesses, "pauses": pauses})


@bp.post("/calls/<call_sid>/recording")
@require_staff()
def pause_or_resume(call_sid: str) -> tuple[Response, int]:
    body = json_body()
    try:
        action = capture.PauseAction(str(body.get("action")))
    except ValueError:
        raise ApiError(400, "action must be pause or resume") from None
    reason = body.get("reason", "other")
    if reason not in capture.PAUSE_REASONS:
        raise ApiError(400, f"reason must be one of {', '.join(capture.PAUSE_REASONS)}")
    if not capture.CALL_SID.match(call_sid):
        raise ApiError(404, "no such call")
    staff = current_staff()
    svc = services()
    with svc.database.session() as session:
        allowed = access.can_control_recording(session, staff, call_sid)
    if not allowed:
        raise ApiError(403, "only the call's seat or a supervisor may do this")
    result = capture.pause_or_resume(svc.database, svc.twilio, call_sid, action, reason,
                                     staff.id, svc.now)
    if result.outcome == "no_recording":
        raise ApiError(409, f"nothing is being recorded on this call ({result.detail})")
    if result.outcome != "ok":
        raise ApiError(503, f"Twilio did not take it; try again ({result.detail})")
    return jsonify({"call_sid": call_sid, "recording_sid": result.recording_sid,
                    "status": result.status, "action": action.value}), 200


def api_error_response(error: ApiError) -> Response:
    body, status = api_error(error)
    body.status_code = status
    return body




register_api_errors(bp, unexpected_status=503)


def init_app(app: Flask) -> None:
    app.register_blueprint(bp)

