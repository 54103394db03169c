"""Which callers have an open complaint, kept in memory by each web process and kept current
through a version in Redis."""

from __future__ import annotations

from collections.abc import Callable
from datetime import UTC, datetime, timedelta

import pytest
from redis import Redis
from sqlalchemy import update

from callcenter.services import Services
from handlers import repeat_callers as repeat_callers_module
from handlers.lookup import hash_pin
from handlers.models import Complaint, Stage
from handlers.repeat_callers import VERSION_KEY, RepeatCallers
from tests.handlers.conftest import Api

CREATED = datetime(2026, 11, 23, 2, 0, tzinfo=UTC)
KNOWN = "+8613800000001"
NEW = "+8613900000002"
STRANGER = "+8613700000003"


def complaint(number: str, caller: str, stage: str = Stage.HANDLE) -> Complaint:
    return Complaint(number=number, caller_number=caller, stage=stage,
                     query_pin_hash=hash_pin("test-secret", number, "246810"),
                     created_at=CREATED, expected_completion_at=CREATED + timedelta(days=10))


def add_complaint(app_services: Services, number: str, caller: str,
                  stage: str = Stage.HANDLE) -> None:
    with app_services.database.session() as session:
        session.add(complaint(number, caller, stage))


@pytest.fixture
def process(app_services: Services, redis_connection: Redis) -> Callable[[], RepeatCallers]:
    """A new web process's set (each call makes another, as another process would have)."""
    return lambda: RepeatCallers(app_services.database, lambda: redis_connection)


def test_a_number_with_an_open_complaint_is_known_after_the_first_load(  # type: ignore[no-untyped-def]
        app_services, process) -> None:
    add_complaint(app_services, "20261123001", KNOWN)
    add_complaint(app_services, "20261123002", NEW, stage=Stage.ARCHIVE)
    add_complaint(app_services, "20261123003", "")
    callers = process()
    assert callers.might_have_open_complaint(KNOWN)
    assert not callers.might_have_open_complaint(NEW)  # archived
    assert not callers.might_have_open_complaint(STRANGER)
    assert not callers.might_have_open_complaint("")


def test_the_set_is_loaded_once_not_per_call(  # type: ignore[no-untyped-def]
        app_services, process) -> None:
    callers = process()
    assert not callers.might_have_open_complaint(KNOWN)
    add_complaint(app_services, "20261123001", KNOWN)  # behind its back: no announcement
    assert not callers.might_have_open_complaint(KNOWN)
    callers.refresh()  # the version did not move and the set is fresh: no reload
    assert not callers.might_have_open_complaint(KNOWN)


def test_an_added_number_is_known_here_once_committed_and_moves_the_version(  # type: ignore[no-untyped-def]
        app_services, process, redis_connection) -> None:
    callers = process()
    assert not callers.might_have_open_complaint(NEW)
    with app_services.database.session() as session:
        session.add(complaint("20261123001", NEW))
        callers.number_added(session, NEW)
        assert not callers.might_have_open_complaint(NEW)  # not before the commit
        assert redis_connection.get(VERSION_KEY) is None
    assert callers.might_have_open_complaint(NEW)
    assert redis_connection.get(VERSION_KEY) == b"1"


def test_a_number_added_in_a_transaction_rolled_back_is_not_announced(  # type: ignore[no-untyped-def]
        app_services, process, redis_connection) -> None:
    callers = process()
    assert not callers.might_have_open_complaint(NEW)
    with pytest.raises(RuntimeError), app_services.database.session() as session:
        session.add(complaint("20261123001", NEW))
        callers.number_added(session, NEW)
        raise RuntimeError("the registration failed")
    assert not callers.might_have_open_complaint(NEW)
    assert redis_connection.get(VERSION_KEY) is None


def test_another_process_learns_an_added_number_at_its_next_refresh(  # type: ignore[no-untyped-def]
        app_services, process) -> None:
    here, there = process(), process()
    assert not there.might_have_open_complaint(NEW)  # loaded before the complaint
    with app_services.database.session() as session:
        session.add(complaint("20261123001", NEW))
        here.number_added(session, NEW)
    assert here.might_have_open_complaint(NEW)
    assert not there.might_have_open_complaint(NEW)  # until its upkeep runs
    there.refresh()
    assert there.might_have_open_complaint(NEW)


def test_a_set_a_minute_old_is_reloaded_even_if_the_version_did_not_move(  # type: ignore[no-untyped-def]
        app_services, process, monkeypatch) -> None:
    callers = process()
    assert not callers.might_have_open_complaint(KNOWN)
    add_complaint(app_services, "20261123001", KNOWN)
    monkeypatch.setattr(repeat_callers_module, "RELOAD_AT_LEAST_EVERY_SECONDS", 0.0)
    callers.refresh()
    assert callers.might_have_open_complaint(KNOWN)


def test_an_archived_complaints_number_drops_out_after_a_reload(  # type: ignore[no-untyped-def]
        app_services, process, redis_connection) -> None:
    add_complaint(app_services, "20261123001", KNOWN)
    add_complaint(app_services, "20261123002", NEW)
    callers = process()
    assert callers.might_have_open_complaint(KNOWN)
    with app_services.database.session() as session:
        session.execute(update(Complaint).where(Complaint.caller_number == KNOWN)
                        .values(stage=Stage.ARCHIVE))
    redis_connection.incr(VERSION_KEY)  # someone else moved it meanwhile
    callers.refresh()
    assert not callers.might_have_open_complaint(KNOWN)
    assert callers.might_have_open_complaint(NEW)


def test_a_number_with_a_second_open_complaint_stays_after_one_is_archived(  # type: ignore[no-untyped-def]
        app_services, process) -> None:
    add_complaint(app_services, "20261123001", KNOWN, stage=Stage.ARCHIVE)
    add_complaint(app_services, "20261123002", KNOWN, stage=Stage.FEEDBACK)
    callers = process()
    assert callers.might_have_open_complaint(KNOWN)


def test_redis_down_still_teaches_this_process(  # type: ignore[no-untyped-def]
        app_services, caplog) -> None:
    unreachable = Redis.from_url("redis://127.0.0.1:1/0", socket_connect_timeout=0.2)
    callers = RepeatCallers(app_services.database, lambda: unreachable)
    assert not callers.might_have_open_complaint(NEW)
    with app_services.database.session() as session:
        session.add(complaint("20261123001", NEW))
        callers.number_added(session, NEW)
    assert callers.might_have_open_complaint(NEW)
    assert any("version not moved" in record.getMessage() for record in caplog.records)
    unreachable.close()


def test_a_stale_set_is_reloaded_while_redis_is_unreachable(  # type: ignore[no-untyped-def]
        app_services, monkeypatch) -> None:
    unreachable = Redis.from_url("redis://127.0.0.1:1/0", socket_connect_timeout=0.2)
    callers = RepeatCallers(app_services.database, lambda: unreachable)
    try:
        assert not callers.might_have_open_complaint(KNOWN)
        add_complaint(app_services, "20261123001", KNOWN)  # in another process
        monkeypatch.setattr(repeat_callers_module, "RELOAD_AT_LEAST_EVERY_SECONDS", 0.0)
        try:
            callers.refresh()
        except Exception:  # the upkeep thread would log it; the set must be fresh anyway
            pass
        assert callers.might_have_open_complaint(KNOWN)
    finally:
        unreachable.close()


def test_a_complaint_registered_through_the_api_is_known_at_once(  # type: ignore[no-untyped-def]
        app, api: Api, redis_connection) -> None:
    callers: RepeatCallers = app.extensions["complaints"].repeat_callers
    assert not callers.might_have_open_complaint(NEW)
    version = redis_connection.get(VERSION_KEY)
    api.create(caller_number=NEW)
    assert callers.might_have_open_complaint(NEW)
    assert redis_connection.get(VERSION_KEY) != version
