"""The REST resources the stand-in serves under ``/2010-04-01/Accounts/{AccountSid}/``.

* ``POST Calls.json`` – create an outbound call; ``GET/POST Calls/{Sid}.json`` – fetch,
  redirect (Url/Method or Twiml) or end (Status=completed/canceled) a call.
* ``POST Calls/{Sid}/Recordings/{Sid|Twilio.CURRENT}.json`` – pause/resume/stop a recording.
* ``POST Messages.json``, ``GET Messages/{Sid}.json`` – send SMS.
* ``GET/DELETE Recordings/{Sid}.json`` – recording metadata; ``GET Recordings/{Sid}``,
  ``.wav`` – the media (HTTP Range supported).  ``.mp3`` answers 404: the stand-in produces
  WAV only.

Every request needs HTTP basic auth with the account SID and auth token (media too, as when
a Twilio account enforces authentication on media URLs); failures get Twilio's 401 body.
"""

from __future__ import annotations

import re
from collections.abc import Callable

from .calls import Call, OutboundSpec
from .control import RedirectTarget
from .faults import Faults, MediaFault
from .ids import API_VERSION
from .messages import MessageStore, SentMessage
from .recordings import RecordingStatus
from .rest_server import ApiRequest, Reply
from .rest_views import call_json, error, message_json, recording_json
from .switchboard import Switchboard
from .transcript import CallStatus

_ROUTES = [
    ("calls", re.compile(r"Calls\.json")),
    ("call", re.compile(r"Calls/(?P<sid>CA\w+)\.json")),
    ("call_recording", re.compile(r"Calls/(?P<sid>CA\w+)/Recordings/(?P<rec>RE\w+|Twilio\.CURRENT)"
                                  r"\.json")),
    ("messages", re.compile(r"Messages\.json")),
    ("message", re.compile(r"Messages/(?P<sid>SM\w+)\.json")),
    ("recording", re.compile(r"Recordings/(?P<sid>RE\w+)\.json")),
    ("media", re.compile(r"Recordings/(?P<sid>RE\w+)(?P<ext>\.wav|\.mp3)?")),
]
_PREFIX = re.compile(rf"^/{API_VERSION}/Accounts/(?P<account>[^/]+)/(?P<rest>.+)$")
_CALL_EVENTS = {"initiated", "ringing", "answered", "completed"}
_RECORDING_EVENTS = {"in-progress", "completed", "absent"}
HANGUP_GRACE = 2.0  # real seconds an update waits for the call to finish hanging up


def not_found(path: str) -> Reply:
    return Reply.json(404, error(404, 20404, f"The requested resource {path} was not found"))


def bad_request(code: int, message: str) -> Reply:
    return Reply.json(400, error(400, code, message))


class RestApi:
    """Routes and answers REST requests against the stand-in's state."""

    def __init__(self, board: Switchboard, messages: MessageStore, faults: Faults,
                 place_call: Callable[[str, str, OutboundSpec, list[str]],
                                      tuple[Call, Callable[[], None]]],
                 send_message: Callable[[SentMessage], None]) -> None:
        self.board = board
        self.messages = messages
        self.faults = faults
        self.place_call = place_call
        self.send_message = send_message

    @property
    def account_sid(self) -> str:
        return self.board.settings.account_sid

    def dispatch(self, request: ApiRequest) -> Reply:
        match = _PREFIX.match(request.path)
        if not match:
            return not_found(request.path)
        settings = self.board.settings
        for name, pattern in _ROUTES:
            route = pattern.fullmatch(match["rest"])
            if route is None:
                continue
            needs_auth = name != "media" or settings.media_requires_auth
            if needs_auth and request.auth != (settings.account_sid, settings.auth_token):
                reply = Reply.json(401, {**error(401, 20003, "Authenticate"),
                                         "detail": "Your AccountSid or AuthToken was incorrect."})
                reply.headers["WWW-Authenticate"] = 'Basic realm="Twilio API"'
                return reply
            if match["account"] != self.account_sid:
                return not_found(request.path)
            handler = getattr(self, f"_{name}")
            return handler(request, **route.groupdict())
        return not_found(request.path)

    # ------------------------------------------------------------------ calls
    def _calls(self, request: ApiRequest) -> Reply:
        if request.method == "GET":
            with self.board.cond:
                calls = list(self.board.calls.values())
            return Reply.json(200, {"calls": [call_json(c, self.account_sid) for c in calls],
                                    "page": 0, "page_size": len(calls), "next_page_uri": None})
        if request.method != "POST":
            return Reply.json(405, error(405, 20004, "Method not allowed"))
        to, from_ = request.value("To"), request.value("From")
        url, twiml = request.value("Url"), request.value("Twiml")
        if not to:
            return bad_request(21201, "No 'To' number is specified")
        if not from_:
            return bad_request(21213, "No 'From' number is specified")
        if not url and not twiml:
            return bad_request(21205, "Url parameter is required.")
        methods = {}
        for field in ("Method", "FallbackMethod", "StatusCallbackMethod",
                      "RecordingStatusCallbackMethod"):
            value = (request.value(field) or "POST").upper()
            if value not in ("GET", "POST"):
                return bad_request(21206 if field == "Method" else 20001,
                                   f"{field} must be GET or POST, got {value!r}")
            methods[field] = value
        try:
            timeout = int(request.value("Timeout") or 60)
        except ValueError:
            return bad_request(20001, "Timeout must be an integer")
        events = {e for v in request.values("StatusCallbackEvent") for e in v.split()}
        rec_events = {e for v in request.values("RecordingStatusCallbackEvent")
                      for e in v.split()} or {"completed"}
        ignored = sorted((events - _CALL_EVENTS) | (rec_events - _RECORDING_EVENTS))
        spec = OutboundSpec(
            url=url, method=methods["Method"], twiml=twiml if not url else None,
            fallback_url=request.value("FallbackUrl"), fallback_method=methods["FallbackMethod"],
            status_callback=request.value("StatusCallback"),
            status_callback_method=methods["StatusCallbackMethod"],
            status_callback_events=frozenset((events & _CALL_EVENTS) or {"completed"}),
            timeout=max(1, min(timeout, 600)),
            record=(request.value("Record") or "false").lower() == "true",
            recording_channels=request.value("RecordingChannels") or "mono",
            recording_status_callback=request.value("RecordingStatusCallback"),
            recording_status_callback_method=methods["RecordingStatusCallbackMethod"],
            recording_status_callback_events=frozenset(rec_events & _RECORDING_EVENTS))
        call, begin = self.place_call(from_, to, spec, ignored)
        reply = Reply.json(201, call_json(call, self.account_sid))
        begin()
        return reply

    def _call(self, request: ApiRequest, sid: str) -> Reply:
        call = self.board.get(sid)
        if call is None:
            return not_found(request.path)
        if request.method == "GET":
            return Reply.json(200, call_json(call, self.account_sid))
        if request.method == "DELETE":
            return Reply.json(204, None)
        status, url, twiml = request.value("Status"), request.value("Url"), request.value("Twiml")
        method = (request.value("Method") or "POST").upper()
        if method not in ("GET", "POST"):
            return bad_request(21206, f"Method must be GET or POST, got {method!r}")
        if status and status not in ("completed", "canceled"):
            return bad_request(20001, f"Status must be completed or canceled, got {status!r}")
        if call.status.is_final:
            return bad_request(21220, "Call is not in-progress. Cannot redirect.")
        if status:
            return self._end_call(call, status)
        if url or twiml:
            if call.direction == "outbound-dial":
                return bad_request(20001, "the stand-in cannot redirect a dialled (child) leg")
            call.control.request_redirect(RedirectTarget(url=url, method=method,
                                                         twiml=None if url else twiml))
        return Reply.json(200, call_json(call, self.account_sid))

    def _end_call(self, call: Call, status: str) -> Reply:
        if status == "canceled" and call.status not in (CallStatus.QUEUED, CallStatus.RINGING,
                                                        CallStatus.INITIATED):
            return Reply.json(200, call_json(call, self.account_sid))
        with self.board.cond:
            bridge = self.board.child_bridges.get(call.sid)
            if bridge is not None and not bridge.ended:
                bridge.ended_by = "rest"
                self.board.cond.notify_all()
        if bridge is None:
            call.control.request_hangup("rest", status)
        call.done.wait(HANGUP_GRACE)
        return Reply.json(200, call_json(call, self.account_sid))

    def _call_recording(self, request: ApiRequest, sid: str, rec: str) -> Reply:
        call = self.board.get(sid)
        if call is None or request.method != "POST":
            return not_found(request.path)
        candidates = [r for r in self.board.recordings.for_call(sid)
                      if rec == "Twilio.CURRENT" and r.active or r.sid == rec]
        if not candidates:
            return not_found(request.path)
        recording = candidates[-1]
        status = request.value("Status")
        behavior = request.value("PauseBehavior") or "silence"
        if status not in ("paused", "in-progress", "stopped") or behavior not in ("skip",
                                                                                  "silence"):
            return bad_request(20001, "Status must be paused, in-progress or stopped "
                               "(PauseBehavior skip or silence)")
        if not recording.active:
            return bad_request(21220, f"Recording {recording.sid} is not in progress")
        with self.board.cond:
            recording.set_status(status, call.control.live_now(), behavior)
        payload = recording_json(recording, self.account_sid, self.board.base_url)
        payload["uri"] = (f"/{API_VERSION}/Accounts/{self.account_sid}/Calls/{sid}"
                          f"/Recordings/{recording.sid}.json")
        return Reply.json(200, payload)

    # --------------------------------------------------------------- messages
    def _messages(self, request: ApiRequest) -> Reply:
        if request.method == "GET":
            items = [message_json(m, self.account_sid) for m in self.messages.all()]
            return Reply.json(200, {"messages": items, "page": 0, "page_size": len(items),
                                    "next_page_uri": None})
        to, from_ = request.value("To"), request.value("From")
        service = request.value("MessagingServiceSid")
        body, media = request.value("Body") or "", request.values("MediaUrl")
        if not to:
            return bad_request(21604, "A 'To' phone number is required.")
        if not from_ and not service:
            return bad_request(21603, "A 'From' phone number is required.")
        if not body and not media:
            return bad_request(21602, "Message body is required.")
        message = SentMessage(to=to, from_=from_ or "", body=body,
                              status_callback=request.value("StatusCallback"), media_urls=media,
                              messaging_service_sid=service)
        self.messages.add(message)
        payload = message_json(message, self.account_sid)
        self.send_message(message)
        return Reply.json(201, payload)

    def _message(self, request: ApiRequest, sid: str) -> Reply:
        message = self.messages.get(sid)
        if message is None:
            return not_found(request.path)
        return Reply.json(200, message_json(message, self.account_sid))

    # ------------------------------------------------------------- recordings
    def _recording(self, request: ApiRequest, sid: str) -> Reply:
        recording = self.board.recordings.get(sid)
        if recording is None:
            return not_found(request.path)
        if request.method == "DELETE":
            self.board.recordings.delete(sid)
            recording.status = RecordingStatus.DELETED
            return Reply.json(204, None)
        return Reply.json(200, recording_json(recording, self.account_sid, self.board.base_url))

    def _media(self, request: ApiRequest, sid: str, ext: str | None) -> Reply:
        recording = self.board.recordings.get(sid)
        if recording is None or recording.active or ext == ".mp3" or request.method not in (
                "GET", "HEAD"):
            return not_found(request.path)
        fault = self.faults.take_media(sid) if request.method == "GET" else None
        if fault is MediaFault.ERROR_500:
            return Reply.json(500, error(500, 20500, "Internal Server Error"))
        size = recording.media_size
        headers = {"Content-Type": "audio/x-wav", "Accept-Ranges": "bytes",
                   "Content-Disposition": f'attachment; filename="{sid}.wav"'}
        status, start, end = 200, 0, size - 1
        wanted = request.headers.get("range")
        if wanted:
            parsed = parse_range(wanted, size)
            if parsed is None:
                return Reply(416, {"Content-Range": f"bytes */{size}"}, b"", 0)
            start, end = parsed
            status = 206
            headers["Content-Range"] = f"bytes {start}-{end}/{size}"
        return Reply(status, headers, recording.iter_media(start, end), end - start + 1, fault)


def parse_range(header: str, size: int) -> tuple[int, int] | None:
    """The single byte range of a ``Range`` header, clipped to ``size``; None if unsatisfiable.

    Several ranges are answered with the first one only.
    """
    unit, _, spec = header.partition("=")
    if unit.strip().lower() != "bytes" or not spec:
        return None
    first = spec.split(",")[0].strip()
    start_text, _, end_text = first.partition("-")
    try:
        if not start_text:
            length = int(end_text)
            if length <= 0:
                return None
            return max(0, size - length), size - 1
        start = int(start_text)
        end = int(end_text) if end_text else size - 1
    except ValueError:
        return None
    if start >= size or end < start:
        return None
    return start, min(end, size - 1)
