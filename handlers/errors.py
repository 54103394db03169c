"""Why a request about a complaint cannot be done, with the HTTP status the API answers."""

from __future__ import annotations


class ComplaintError(Exception):
    """A request the complaint rules refuse; ``message`` says why in plain words."""

    status = 400

    def __init__(self, message: str, **details: object) -> None:
        super().__init__(message)
        self.message, self.details = message, details


class InvalidRequest(ComplaintError):
    status = 400


class NotAllowed(ComplaintError):
    status = 403


class NotFound(ComplaintError):
    status = 404


class Conflict(ComplaintError):
    """The request does not fit where the complaint stands (stage, deadline, call)."""

    status = 409
