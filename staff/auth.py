"""Bearer-token authentication of the JSON API, and its error answers.

Tokens are random and shown once when a person is created; only their SHA-256 is stored
(a random 32-byte token needs no slow hash).
"""

from __future__ import annotations

import functools
import hashlib
import logging
import secrets
from collections.abc import Callable
from typing import Any, ParamSpec, TypeVar

from flask import Blueprint, Response, g, jsonify, request
from sqlalchemy import select
from sqlalchemy.orm import Session
from werkzeug.exceptions import HTTPException

from callcenter.services import services
from staff.models import Role, Staff

log = logging.getLogger(__name__)

P = ParamSpec("P")
R = TypeVar("R")


class ApiError(Exception):
    """A 4xx answer with a message; raised anywhere in an API view."""

    def __init__(self, status: int, message: str) -> None:
        super().__init__(message)
        self.status, self.message = status, message


def new_token() -> str:
    return secrets.token_urlsafe(32)


def token_hash(token: str) -> str:
    return hashlib.sha256(token.encode()).hexdigest()


def staff_for_token(session: Session, token: str) -> Staff | None:
    if not token:
        return None
    return session.scalar(
        select(Staff).where(Staff.token_hash == token_hash(token), Staff.active.is_(True))
    )


def current_staff() -> Staff:
    staff: Staff = g.staff
    return staff


def require_staff(*roles: Role) -> Callable[[Callable[P, R]], Callable[P, R]]:
    """Let through a signed-in person, of one of ``roles`` when any are given."""

    def decorate(view: Callable[P, R]) -> Callable[P, R]:
        @functools.wraps(view)
        def checked(*args: P.args, **kwargs: P.kwargs) -> R:
            header = request.headers.get("Authorization", "")
            token = header[7:].strip() if header.lower().startswith("bearer ") else ""
            with services().database.session() as session:
                staff = staff_for_token(session, token)
            if staff is None:
                raise ApiError(401, "missing or unknown bearer token")
            if roles and staff.role not in roles:
                raise ApiError(403, f"this needs the role {' or '.join(roles)}")
            g.staff = staff
            return view(*args, **kwargs)

        return checked

    return decorate


def json_body() -> dict[str, Any]:
    """The request's JSON object, or a 400 saying what is wrong with it."""
    if not request.is_json:
        raise ApiError(415, "send a JSON object with Content-Type: application/json")
    body = request.get_json(silent=True)
    if not isinstance(body, dict):
        raise ApiError(400, "the body must be a JSON object")
    return body


def api_error(error: ApiError) -> tuple[Response, int]:
    return jsonify({"error": error.message}), error.status


def register_api_errors(bp: Blueprint, *, unexpected_status: int = 500) -> None:
    """JSON answers for every error of a JSON API blueprint: never an HTML error page.

    Register a blueprint's own domain errors before calling this; Flask picks the most
    specific handler, so they still win over the catch-all here.
    """

    def http_error(error: HTTPException) -> tuple[Response, int]:
        return jsonify({"error": error.description or error.name}), error.code or 400

    def unexpected(error: Exception) -> tuple[Response, int]:
        log.exception("API %s %s failed", request.method, request.path)
        return jsonify({"error": "internal error; the request may not have been applied, "
                                 "try again"}), unexpected_status

    bp.register_error_handler(ApiError, api_error)
    bp.register_error_handler(HTTPException, http_error)
    bp.register_error_handler(Exception, unexpected)
