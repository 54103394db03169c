"""The one place the routing talks to Twilio's REST API: moving a live call to new TwiML.

An offer is carried out by redirecting the caller's call (``calls(sid).update(url=...)``)
to the document that dials the seat. A call that no longer exists or has ended (HTTP 404,
or Twilio's error 21220 "call is not in-progress") means the caller hung up meanwhile.
"""

from __future__ import annotations

import logging
from enum import StrEnum

from requests import RequestException
from twilio.base.exceptions import TwilioException, TwilioRestException
from twilio.rest import Client

log = logging.getLogger(__name__)

CALL_NOT_IN_PROGRESS = 21220
RESOURCE_NOT_FOUND = 20404


class Redirect(StrEnum):
    DONE = "done"
    GONE = "gone"  # the caller hung up: treat as a hang-up
    FAILED = "failed"  # Twilio could not be asked (network, 5xx, auth): try again later


def redirect_call(client: Client, call_sid: str, url: str) -> Redirect:
    """Send the live call ``call_sid`` to the TwiML at ``url`` (POST); never raises."""
    try:
        client.calls(call_sid).update(url=url, method="POST")
    except TwilioRestException as error:
        if error.status == 404 or error.code in (CALL_NOT_IN_PROGRESS, RESOURCE_NOT_FOUND):
            return Redirect.GONE
        log.warning("redirect of %s refused: HTTP %s, code %s: %s", call_sid, error.status,
                    error.code, error.msg)
        return Redirect.FAILED
    except (TwilioException, RequestException, OSError) as error:
        log.warning("redirect of %s failed: %s", call_sid, error)
        return Redirect.FAILED
    return Redirect.DONE
