"""The seats and queues JSON API for staff (bearer token, see ``staff.auth``).

* ``GET /api/queues`` — live figures of every queue and seat.
* ``GET /api/seats``, ``GET /api/seats/<id>`` — seats with their state.
* ``POST /api/seats`` — create a seat (supervisors): ``{"id", "name", "reach", "skills",
  "staff_id"?, "wrap_up_seconds"?}``.
* ``PATCH /api/seats/<id>`` — change name, reach, skills or wrap-up (supervisors).
* ``POST /api/seats/<id>/state`` — ``{"state": "available" | "break" | "offline"}``;
  ``POST /api/seats/<id>/login`` (available) and ``/logout`` (offline). A person changes
  only their own seat's state; a supervisor changes any.

Errors are JSON ``{"error": ...}``: 4xx for a request that is wrong or not allowed, 503
when the routing store cannot be reached.
"""

from __future__ import annotations

import logging

from flask import Blueprint, Flask, Response, jsonify, request
from redis.exceptions import RedisError

from callcenter.services import services
from queues import figures, seats
from queues.context import routing_config
from queues.index import RoutingIndexError
from queues.jobs import current_router
from queues.routing import SeatState
from queues.seats import SeatError
from staff.auth import (
    ApiError,
    current_staff,
    json_body,
    register_api_errors,
    require_staff,
)
from staff.models import Role

log = logging.getLogger(__name__)

bp = Blueprint("queues_api", __name__, url_prefix="/api")


@bp.get("/queues")
@require_staff()
def queue_figures() -> Response:
    svc = services()
    with svc.database.session() as session:
        return jsonify(figures.figures_json(session, routing_config(), svc.now()))


@bp.get("/seats")
@require_staff()
def list_seats() -> Response:
    svc = services()
    with svc.database.session() as session:
        now = svc.now()
        return jsonify({"seats": [seats.seat_json(seat, now)
                                  for seat in seats.list_seats(session)]})


@bp.get("/seats/<seat_id>")
@require_staff()
def get_seat(seat_id: str) -> Response:
    svc = services()
    with svc.database.session() as session:
        return jsonify(seats.seat_json(seats.get_seat(session, seat_id), svc.now()))


@bp.post("/seats")
@require_staff(Role.SUPERVISOR)
def create_seat() -> tuple[Response, int]:
    body = json_body()
    missing = [name for name in ("id", "name", "reach", "skills") if name not in body]
    if missing:
        raise ApiError(400, f"missing fields: {', '.join(missing)}")
    unknown = sorted(set(body) - {"id", "name", "reach", "skills", "staff_id",
                                  "wrap_up_seconds"})
    if unknown:
        raise ApiError(400, f"unknown fields: {', '.join(unknown)}")
    staff_id = body.get("staff_id")
    if staff_id is not None and not isinstance(staff_id, str):
        raise ApiError(400, "staff_id must be text or null")
    seat = seats.create_seat(
        current_router(), seat_id=seats.check_seat_id(body["id"]), name=body["name"],
        reach=body["reach"], skills=seats.parse_skills(body["skills"]), staff_id=staff_id,
        wrap_up_seconds=seats.check_wrap_up(body.get("wrap_up_seconds")))
    return jsonify(seats.seat_json(seat, services().now())), 201


@bp.patch("/seats/<seat_id>")
@require_staff(Role.SUPERVISOR)
def update_seat(seat_id: str) -> Response:
    seat = seats.update_seat(current_router(), services(), seat_id, json_body())
    return jsonify(seats.seat_json(seat, services().now()))


def _change_state(seat_id: str, state: SeatState) -> Response:
    staff, svc = current_staff(), services()
    with svc.database.session() as session:
        seat = seats.get_seat(session, seat_id)
        if staff.role != Role.SUPERVISOR and seat.staff_id != staff.id:
            raise ApiError(403, "you may change only your own seat's state")
    previous = seats.set_state(current_router(), svc, seat_id, state)
    log.info("%s set seat %s from %s to %s", staff.id, seat_id, previous, state)
    with svc.database.session() as session:
        return jsonify({**seats.seat_json(seats.get_seat(session, seat_id), svc.now()),
                        "previous_state": previous.value})


@bp.post("/seats/<seat_id>/state")
@require_staff()
def set_state(seat_id: str) -> Response:
    body = json_body()
    return _change_state(seat_id, seats.check_manual_state(body.get("state")))


@bp.post("/seats/<seat_id>/login")
@require_staff()
def login(seat_id: str) -> Response:
    return _change_state(seat_id, SeatState.AVAILABLE)


@bp.post("/seats/<seat_id>/logout")
@require_staff()
def logout(seat_id: str) -> Response:
    return _change_state(seat_id, SeatState.OFFLINE)


def _seat_error(error: SeatError) -> tuple[Response, int]:
    return jsonify({"error": error.message}), error.status



def _unavailable(error: Exception) -> tuple[Response, int]:
    log.error("seat API %s %s: routing store unreachable: %s", request.method, request.path,
              error)
    return jsonify({"error": "the routing store is unreachable; try again shortly"}), 503



bp.register_error_handler(SeatError, _seat_error)
bp.register_error_handler(RedisError, _unavailable)
bp.register_error_handler(RoutingIndexError, _unavailable)
register_api_errors(bp)


def init_app(app: Flask) -> None:
    app.register_blueprint(bp)
