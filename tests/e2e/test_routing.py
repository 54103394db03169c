"""Whole calls from the menu to a seat, through the local Twilio stand-in, a real worker
process, Redis and the database: answer, no answer, hang-ups, busy seats, Redis restarts,
and the way out after the maximum wait."""

from __future__ import annotations

import hashlib
from collections.abc import Iterator
from dataclasses import replace
from datetime import datetime, timedelta

import pytest
from redis import Redis
from rq import Worker
from sqlalchemy import select

from callcenter.localrun import LocalSystem, wait_until
from callcenter.settings import Settings
from ivr.models import CallbackTask
from queues import seats
from queues.context import routing_index
from queues.jobs import current_router
from queues.models import QueuedCall, Seat
from queues.routing import SeatState
from recordings.models import Recording
from twilio_standin import CallResult, CallScript, EventKind, SeatBehaviour, press, speak, wait


@pytest.fixture
def open_settings(settings: Settings) -> Settings:
    """Opening hours around the real time: the web side and the worker share one clock."""
    hour = datetime.now(settings.zone).hour
    return replace(settings, business_hours=f"{(hour - 3) % 24:02d}:00-{(hour + 4) % 24:02d}:00")


@pytest.fixture
def floor(open_settings: Settings) -> Iterator[LocalSystem]:
    """The system with one worker process, started and ready to take jobs."""
    with LocalSystem(open_settings, workers=1) as system:
        assert wait_until(lambda: Worker.count(connection=system.services.redis) >= 1, 30)
        yield system


def add_seat(system: LocalSystem, seat_id: str, behaviour: SeatBehaviour, *,
             wrap_up: int = 0, available: bool = True) -> None:
    assert system.app is not None
    system.standin.seats[f"client:{seat_id}"] = behaviour
    with system.app.app_context():
        router = current_router()
        seats.create_seat(router, seat_id=seat_id, name=seat_id, reach=f"client:{seat_id}",
                          skills={"complaint": 3}, wrap_up_seconds=wrap_up)
        if available:
            seats.set_state(router, system.services, seat_id, SeatState.AVAILABLE)


def seat_state(system: LocalSystem, seat_id: str) -> str:
    with system.services.database.session() as session:
        seat = session.get(Seat, seat_id)
        assert seat is not None
        return seat.state


def queued(system: LocalSystem, call_sid: str) -> QueuedCall:
    with system.services.database.session() as session:
        row = session.scalar(select(QueuedCall).where(QueuedCall.call_sid == call_sid))
        assert row is not None
        return row


def dialled(result: CallResult) -> list[str]:
    return [event.data["targets"][0] for event in result.events(EventKind.DIAL)
            if event.data.get("status") == "ringing"]


def said(result: CallResult) -> str:
    return " ".join(result.said())


def consistent(system: LocalSystem) -> None:
    assert system.app is not None
    with system.app.app_context():
        assert routing_index().snapshot().problems() == []


COMPLAINT_CALL = CallScript([press("2"), wait(900)])


def test_complaint_caller_is_put_through_and_the_conversation_recorded(floor: LocalSystem) -> None:
    add_seat(floor, "seat-1", SeatBehaviour(answer_after=3, talk_for=30), wrap_up=1)
    result = floor.call("+8613800000001", COMPLAINT_CALL)
    assert result.ok, result.render()
    assert dialled(result) == ["client:seat-1"]
    assert "按规定时限处理" in said(result)  # what the caller hears after the seat hung up
    assert result.hung_up_by == "app"
    assert wait_until(lambda: queued(floor, result.sid).status == "completed")
    row = queued(floor, result.sid)
    assert row.seat_id == "seat-1"
    assert row.handle_seconds == 30 and row.waited_seconds is not None

    def recorded() -> Recording | None:
        with floor.services.database.session() as session:
            return session.scalar(select(Recording).where(Recording.status == "completed"))

    assert wait_until(lambda: recorded() is not None)
    recording = recorded()
    assert recording is not None
    assert (recording.kind, recording.seat_id, recording.channels) == ("conversation", "seat-1", 2)
    assert recording.call_sid == row.call_sid
    # After-call work, then available again by the scheduled release.
    assert seat_state(floor, "seat-1") in ("wrap_up", "available")
    assert wait_until(lambda: seat_state(floor, "seat-1") == "available", timeout=15)
    consistent(floor)


def test_seat_that_does_not_answer_is_missed_and_the_call_goes_to_the_next(
        floor: LocalSystem) -> None:
    add_seat(floor, "seat-a", SeatBehaviour(answer=False))
    add_seat(floor, "seat-b", SeatBehaviour(answer_after=2, talk_for=10))
    result = floor.call("+8613800000002", COMPLAINT_CALL)
    assert result.ok, result.render()
    assert dialled(result) == ["client:seat-a", "client:seat-b"]
    assert "坐席暂时未能接听" in said(result)
    ringing = [e for e in result.events(EventKind.DIAL) if "no-answer" in e.summary]
    rang_for = ringing[0].at - result.events(EventKind.DIAL)[0].at
    assert rang_for == pytest.approx(20, abs=1)  # the queue's ring timeout
    assert wait_until(lambda: seat_state(floor, "seat-a") == "missed")
    # The end of the conversation is written by the worker's job, after the call ends.
    assert wait_until(lambda: queued(floor, result.sid).status == "completed")
    row = queued(floor, result.sid)
    assert (row.status, row.seat_id, row.missed_offers) == ("completed", "seat-b", 1)
    consistent(floor)


def test_caller_who_hangs_up_while_a_seat_rings_frees_the_seat(floor: LocalSystem) -> None:
    add_seat(floor, "seat-1", SeatBehaviour(answer_after=15, talk_for=10))
    handle = floor.standin.start_call("+8613800000003", "+864001234567", COMPLAINT_CALL)
    assert floor.standin.wait_for_event(handle.sid, EventKind.DIAL, timeout=10)
    assert floor.standin.hangup(handle.sid)
    result = handle.wait(10)
    assert result.status == "completed", result.render()
    assert not result.events(EventKind.BRIDGE)
    assert wait_until(lambda: queued(floor, handle.sid).status == "abandoned")
    assert wait_until(lambda: seat_state(floor, "seat-1") == "available")
    assert queued(floor, handle.sid).waited_seconds is not None
    consistent(floor)


def test_callers_hear_their_position_while_all_seats_are_busy(floor: LocalSystem) -> None:
    add_seat(floor, "seat-1", SeatBehaviour(answer_after=2, talk_for=150))
    calls = [floor.standin.start_call("+8613800000004", "+864001234567", COMPLAINT_CALL)]
    assert wait_until(lambda: seat_state(floor, "seat-1") == "on_call", timeout=10)
    for caller in ("+8613800000005", "+8613800000006"):
        calls.append(floor.standin.start_call(caller, "+864001234567", COMPLAINT_CALL))
        assert floor.standin.wait_for_event(calls[-1].sid, EventKind.ENQUEUE, timeout=10)
    first, second, third = results = [call.wait(30) for call in calls]
    assert all(result.ok for result in results), [r.render() for r in results]
    announcements = [e.at for e in second.events(EventKind.SAY) if "第1位" in e.summary]
    assert len(announcements) >= 2, second.render()
    assert all(30 <= b - a <= 60 for a, b in zip(announcements, announcements[1:], strict=False))
    assert "第2位" in said(third)  # behind the second caller, who came first
    assert "预计还需等待约" in said(third)  # from the first call's handling time
    assert [dialled(result) for result in results] == [["client:seat-1"]] * 3
    assert wait_until(lambda: all(queued(floor, r.sid).status == "completed" for r in results))
    answered = [queued(floor, result.sid).answered_at for result in results]
    times = [moment for moment in answered if moment is not None]
    assert len(times) == 3 and times == sorted(times)  # served in the order they came
    assert [queued(floor, r.sid).status for r in results] == ["completed"] * 3
    consistent(floor)


def test_no_caller_is_forgotten_when_redis_restarts_empty(floor: LocalSystem) -> None:
    add_seat(floor, "seat-1", SeatBehaviour(answer_after=2, talk_for=5), available=False)
    calls = [floor.standin.start_call(f"+861380000001{n}", "+864001234567", COMPLAINT_CALL)
             for n in range(2)]
    for call in calls:
        assert floor.standin.wait_for_event(call.sid, EventKind.ENQUEUE, timeout=10)
    assert wait_until(lambda: len(routing_index_calls(floor)) == 2)
    Redis.from_url(floor.settings.redis_url).flushdb()  # what an empty restart leaves
    assert floor.app is not None
    with floor.app.app_context():  # the seat logs in: the index is rebuilt from the database
        seats.set_state(current_router(), floor.services, "seat-1", SeatState.AVAILABLE)
    results = [call.wait(30) for call in calls]
    for result in results:
        assert result.ok and dialled(result) == ["client:seat-1"], result.render()
    consistent(floor)


def routing_index_calls(system: LocalSystem) -> dict[str, object]:
    assert system.app is not None
    with system.app.app_context():
        return dict(routing_index().snapshot().calls)


def test_after_the_maximum_wait_the_caller_books_a_callback(floor: LocalSystem) -> None:
    result = floor.call("+8613800000007", CallScript([
        press("2"), press("2", after_hearing="预约回电请按2")]))
    assert result.ok, result.render()
    assert "已为您登记回电" in said(result)
    choice = next(e for e in result.events(EventKind.SAY) if "预约回电" in e.summary)
    assert choice.at - result.events(EventKind.ENQUEUE)[0].at >= 240
    with floor.services.database.session() as session:
        task = session.scalar(select(CallbackTask))
        row = session.scalar(select(QueuedCall))
    assert task is not None and task.reason == "overflow"
    assert row is not None and (row.status, row.overflow_choice) == ("overflowed", "callback")
    assert task.due_at - row.entered_at < timedelta(minutes=5)  # in hours: due at once
    assert routing_index_calls(floor) == {}


def test_after_the_maximum_wait_the_caller_leaves_a_voicemail(floor: LocalSystem) -> None:
    result = floor.call("+8613800000008", CallScript([
        press("2"), press("1", after_hearing="如需留言请按1"), speak(8)]))
    assert result.ok, result.render()
    assert "请在提示音后留言" in said(result) and "留言已收到" in said(result)
    with floor.services.database.session() as session:
        task = session.scalar(select(CallbackTask))
    assert task is not None and task.reason == "voicemail" and task.has_message


def test_routed_complaint_call_ends_as_verified_evidence_of_its_complaint(
        floor: LocalSystem) -> None:
    """The real path: menu → routing → recorded seat leg → complaint registered during the
    call through the API → recording downloaded, hashed, attached, and verified."""
    import requests

    from recordings.links import evidence_list
    from recordings.models import MediaState
    from staff.auth import token_hash
    from staff.models import Role, Staff

    with floor.services.database.session() as session:
        session.add(Staff(id="s777", name="王芳", role=Role.SEAT, token_hash=token_hash("t777")))
    add_seat(floor, "seat-7", SeatBehaviour(answer_after=2, talk_for=60))
    handle = floor.standin.start_call("+8613800000077", "+864001234567", COMPLAINT_CALL)

    def recording() -> Recording | None:
        with floor.services.database.session() as session:
            return session.scalar(select(Recording).where(Recording.call_sid == handle.sid))

    assert wait_until(lambda: recording() is not None, timeout=30)  # the seat answered
    made = requests.post(f"{floor.local_url}/api/complaints", timeout=30,
                         headers={"Authorization": "Bearer t777"}, json={
                             "call_sid": handle.sid, "contact_name": "陈先生",
                             "subject": "宽带多扣月费", "description": "11月账单多扣30元",
                             "demands": ["refund"], "class": "class_1", "level": "L1",
                             "urgency": "normal"})
    assert made.status_code == 201, made.text
    result = handle.wait(120)
    assert result.ok and dialled(result) == ["client:seat-7"], result.render()

    def stored() -> bool:
        found = recording()
        return found is not None and found.media_state == MediaState.STORED

    assert wait_until(stored, timeout=60)
    kept = recording()
    assert kept is not None and kept.seat_id == "seat-7" and kept.channels == 2
    original = floor.standin.recording(kept.recording_sid).wav_bytes()
    assert kept.complaint_id is not None
    with floor.services.database.session() as session:
        [evidence] = evidence_list(session, kept.complaint_id)
    assert evidence["sha256"] == kept.sha256 == hashlib.sha256(original).hexdigest()
    assert floor.app is not None
    verified = floor.app.test_cli_runner().invoke(
        args=["recordings", "verify", "--require-complete", "--verbose"])
    assert verified.exit_code == 0, verified.output
    assert f"{kept.recording_sid}  ok" in verified.output
