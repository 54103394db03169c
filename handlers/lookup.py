"""Finding complaints for a caller on the phone, without revealing anybody else's.

A complaint is read out either to the number it was registered from, or to whoever keys
its number together with its query PIN. Failures look identical whatever their cause.
"""

from __future__ import annotations

import hashlib
import hmac
import secrets

from sqlalchemy import select
from sqlalchemy.orm import Session

from handlers.models import COMPLAINT_IS_OPEN, Complaint

PIN_DIGITS = 6


def new_query_pin() -> str:
    return "".join(secrets.choice("0123456789") for _ in range(PIN_DIGITS))


def hash_pin(secret: str, complaint_number: str, pin: str) -> str:
    """Keyed hash of a PIN: a six-digit space is too small for an unkeyed one."""
    message = f"{complaint_number}:{pin}".encode()
    return hmac.new(secret.encode(), message, hashlib.sha256).hexdigest()


def pin_matches(secret: str, complaint: Complaint, pin: str) -> bool:
    return hmac.compare_digest(complaint.query_pin_hash, hash_pin(secret, complaint.number, pin))


def complaints_for_caller(session: Session, caller_number: str, limit: int = 3) -> list[Complaint]:
    """The caller's own complaints, most recent first."""
    if not caller_number:
        return []
    return list(session.scalars(
        select(Complaint)
        .where(Complaint.caller_number == caller_number)
        .order_by(Complaint.created_at.desc(), Complaint.id.desc())
        .limit(limit)
    ))


def has_open_complaint(session: Session, caller_number: str) -> bool:
    if not caller_number:
        return False
    found = session.scalar(
        select(Complaint.id)
        .where(Complaint.caller_number == caller_number, COMPLAINT_IS_OPEN)
        .limit(1)
    )
    return found is not None


def complaint_by_number_and_pin(
    session: Session, secret: str, complaint_number: str, pin: str
) -> Complaint | None:
    """The complaint only when both number and PIN match; None for every kind of mismatch."""
    complaint = session.scalar(select(Complaint).where(Complaint.number == complaint_number))
    if complaint is None:
        # Spend the same work as a real check so timing does not tell numbers apart.
        hmac.compare_digest(hash_pin(secret, complaint_number, pin), "0" * 64)
        return None
    return complaint if pin_matches(secret, complaint, pin) else None
