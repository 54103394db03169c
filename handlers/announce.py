"""Telling the caller their complaint number and query PIN at the end of the complaint call.

The seat's client, once the form is saved, asks for the announcement: the caller's live
call (on hold or bridged to the seat) is redirected to TwiML that says both, digit by digit,
twice, then hangs up; the seat's leg ends with the bridge. The PIN travels only in that
TwiML, never in a URL, a log or the database.
"""

from __future__ import annotations

from datetime import datetime

from sqlalchemy.orm import Session
from twilio.rest import Client
from twilio.twiml.voice_response import VoiceResponse

from handlers import telephony, trail
from handlers.errors import Conflict
from handlers.lookup import pin_matches
from handlers.models import Complaint
from handlers.telephony import TelephonyError
from handlers.trail import Action, Actor
from ivr import twiml
from ivr.flow import spell_digits
from ivr.prompts import Prompts


def announcement(prompts: Prompts, number: str, pin: str) -> VoiceResponse:
    """The number and PIN, spelt digit by digit and said twice, then goodbye."""
    values = {"number": spell_digits(number), "pin": spell_digits(pin)}
    return twiml.speak_and_hang_up(
        [prompts.get("complaint_registered", **values),
         prompts.get("complaint_registered_repeat", **values)],
        prompts.voice,
    )


def announce(session: Session, complaint: Complaint, pin: str, actor: Actor, *,
             client: Client, prompts: Prompts, secret: str, now: datetime) -> None:
    """Redirect the complaint's call to the announcement; Conflict if that cannot be done."""
    if not complaint.call_sid:
        raise Conflict(f"complaint {complaint.number} was not registered from a call")
    if not pin_matches(secret, complaint, pin):
        raise Conflict("that is not the complaint's query PIN")
    document = str(announcement(prompts, complaint.number, pin))
    try:
        telephony.redirect_call(client, complaint.call_sid, document)
    except TelephonyError as exc:
        if exc.code == telephony.CALL_NOT_IN_PROGRESS:
            raise Conflict("the caller's call has ended; the number went by SMS, tell the PIN "
                           "another way or issue a new one") from None
        raise Conflict(f"the caller's call could not be redirected: {exc}") from None
    trail.record(session, complaint, actor, Action.ANNOUNCED, now, call_sid=complaint.call_sid)
