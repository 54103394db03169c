"""Twilio-shaped JSON for the REST resources (what the SDK parses into instances)."""

from __future__ import annotations

from typing import Any

from .calls import Call
from .ids import API_VERSION, rfc2822, utc_now
from .messages import SentMessage
from .recordings import Recording

ERROR_DOCS = "https://www.twilio.com/docs/errors/{code}"


def error(status: int, code: int, message: str) -> dict[str, Any]:
    """Twilio's error body: ``{"code", "message", "more_info", "status"}``."""
    return {"code": code, "message": message, "more_info": ERROR_DOCS.format(code=code),
            "status": status}


def call_json(call: Call, account_sid: str) -> dict[str, Any]:
    uri = f"/{API_VERSION}/Accounts/{account_sid}/Calls/{call.sid}"
    ended = call.status.is_final
    return {
        "sid": call.sid, "account_sid": account_sid, "api_version": API_VERSION,
        "parent_call_sid": call.parent_sid, "to": call.to, "to_formatted": call.to,
        "from": call.from_, "from_formatted": call.from_,
        "phone_number_sid": call.phone_number_sid, "status": call.status.value,
        "direction": call.direction, "answered_by": None, "forwarded_from": None,
        "caller_name": None, "group_sid": None, "trunk_sid": None, "annotation": None,
        "date_created": rfc2822(call.created_at), "date_updated": rfc2822(utc_now()),
        "start_time": rfc2822(call.start_time), "end_time": rfc2822(call.end_time),
        "duration": str(call.duration) if ended else None, "price": None, "price_unit": "USD",
        "queue_time": str(call.queue_time), "stir_verstat": None,
        "uri": uri + ".json",
        "subresource_uris": {
            "recordings": uri + "/Recordings.json", "notifications": uri + "/Notifications.json",
            "events": uri + "/Events.json", "payments": uri + "/Payments.json",
            "siprec": uri + "/Siprec.json", "streams": uri + "/Streams.json",
            "user_defined_message_subscriptions": uri + "/UserDefinedMessageSubscriptions.json",
            "user_defined_messages": uri + "/UserDefinedMessages.json",
        },
    }


def message_json(message: SentMessage, account_sid: str) -> dict[str, Any]:
    uri = f"/{API_VERSION}/Accounts/{account_sid}/Messages/{message.sid}"
    return {
        "sid": message.sid, "account_sid": account_sid, "api_version": API_VERSION,
        "to": message.to, "from": message.from_, "body": message.body,
        "status": message.status, "direction": "outbound-api",
        "num_segments": str(max(1, -(-len(message.body) // 70))),
        "num_media": str(len(message.media_urls)),
        "messaging_service_sid": message.messaging_service_sid,
        "date_created": rfc2822(message.date_created), "date_updated": rfc2822(utc_now()),
        "date_sent": rfc2822(message.date_sent), "price": None, "price_unit": "USD",
        "error_code": None, "error_message": None, "uri": uri + ".json",
        "subresource_uris": {"media": uri + "/Media.json", "feedback": uri + "/Feedback.json"},
    }


def recording_json(recording: Recording, account_sid: str, base_url: str) -> dict[str, Any]:
    uri = f"/{API_VERSION}/Accounts/{account_sid}/Recordings/{recording.sid}"
    return {
        "sid": recording.sid, "account_sid": account_sid, "api_version": API_VERSION,
        "call_sid": recording.call_sid, "conference_sid": None,
        "date_created": rfc2822(recording.date_created), "date_updated": rfc2822(utc_now()),
        "start_time": rfc2822(recording.start_time),
        "duration": str(recording.duration) if not recording.active else "-1",
        "price": None, "price_unit": "USD", "status": recording.status.value,
        "channels": recording.channels, "source": recording.source, "track": "both",
        "error_code": recording.error_code, "encryption_details": None,
        "uri": uri + ".json", "media_url": base_url + uri,
        "subresource_uris": {"add_on_results": uri + "/AddOnResults.json",
                             "transcriptions": uri + "/Transcriptions.json"},
    }
