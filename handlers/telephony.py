"""The Twilio REST calls complaint handling makes: SMS, survey calls, redirecting a live call.

The one place the ``twilio`` SDK is used by ``handlers``; the client is passed in
(``services().twilio``, pointed at the local stand-in in tests and the demo). Every failure,
from Twilio or from the network, becomes a ``TelephonyError`` carrying Twilio's code if any.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any, TypeVar

from twilio.base.exceptions import TwilioException, TwilioRestException
from twilio.rest import Client

T = TypeVar("T")

# Twilio's error for updating a call that is no longer in progress.
CALL_NOT_IN_PROGRESS = 21220


class TelephonyError(Exception):
    def __init__(self, message: str, code: int | None = None) -> None:
        super().__init__(message)
        self.code = code


def _calling(action: Callable[[], T]) -> T:
    try:
        return action()
    except TwilioRestException as exc:
        raise TelephonyError(f"Twilio answered {exc.status}: {exc.msg}", exc.code) from exc
    except (TwilioException, OSError) as exc:
        raise TelephonyError(f"Twilio could not be reached: {exc}") from exc


def send_sms(client: Client, *, to: str, from_: str, body: str) -> str:
    """Send one SMS; returns its MessageSid."""
    message = _calling(lambda: client.messages.create(to=to, from_=from_, body=body))
    return str(message.sid)


def place_call(client: Client, *, to: str, from_: str, url: str, status_callback: str,
               recording_status_callback: str, ring_seconds: int = 30) -> str:
    """Start an outbound call that fetches ``url`` when answered; returns its CallSid.

    The call is recorded (evidence of the call-back) and only its final status is reported.
    """
    options: dict[str, Any] = {
        "to": to, "from_": from_, "url": url, "method": "POST",
        "status_callback": status_callback, "status_callback_method": "POST",
        "status_callback_event": ["completed"], "timeout": ring_seconds, "record": True,
        "recording_status_callback": recording_status_callback,
        "recording_status_callback_method": "POST",
    }
    call = _calling(lambda: client.calls.create(**options))
    return str(call.sid)


def redirect_call(client: Client, call_sid: str, twiml: str) -> None:
    """Make a live call continue with ``twiml`` (it leaves a queue or a bridge to do so)."""
    _calling(lambda: client.calls(call_sid).update(twiml=twiml))
