"""Whole calls through the local Twilio stand-in, over HTTP, for each IVR branch."""

from __future__ import annotations

from datetime import datetime
from zoneinfo import ZoneInfo

from sqlalchemy import select

from callcenter.localrun import LocalSystem, wait_until
from handlers.lookup import hash_pin
from handlers.models import Complaint
from ivr.models import Call, CallbackTask
from queues.models import QueuedCall
from recordings.models import Recording
from twilio_standin import CallScript, hangup, press, silence, speak, wait

SHANGHAI = ZoneInfo("Asia/Shanghai")
IN_HOURS = datetime(2026, 11, 23, 10, 30, tzinfo=SHANGHAI)
AFTER_HOURS = datetime(2026, 11, 23, 23, 5, tzinfo=SHANGHAI)


def test_caller_hears_the_welcome_and_reaches_the_complaint_queue(system: LocalSystem) -> None:
    system.set_clock(lambda: IN_HOURS)
    result = system.call("+8613800000001", CallScript([press("2"), wait(20), hangup()]))
    assert result.ok, result.render()
    said = " ".join(result.said())
    assert "欢迎致电" in said and "投诉请按2" in said
    assert result.pressed() == ["2"]
    assert "第1位" in said  # the hold loop announced the position
    assert wait_until(lambda: _call(system).status == "completed")
    with system.services.database.session() as session:
        queued = session.scalar(select(QueuedCall))
        assert queued is not None and queued.skill == "complaint"
        assert queued.status == "abandoned"


def test_silent_caller_is_never_left_at_a_dead_end(system: LocalSystem) -> None:
    system.set_clock(lambda: IN_HOURS)
    result = system.call("+8613800000002", CallScript([silence(), silence(), silence()],
                                                      patience=30))
    assert result.ok, result.render()
    assert " ".join(result.said()).count("没有听清") == 2
    assert any("hold-inquiry" in event.summary
               for event in result.events("enqueue")), result.render()


def test_after_hours_voicemail_becomes_a_callback_task(system: LocalSystem) -> None:
    system.set_clock(lambda: AFTER_HOURS)
    result = system.call("+8613800000003", CallScript([press("1"), speak(12)]))
    assert result.ok, result.render()
    said = " ".join(result.said())
    assert "非人工服务时间" in said and "留言已收到" in said and "11月24日09:00" in said
    assert wait_until(lambda: _task(system) is not None
                      and getattr(_recording(system), "status", "") == "completed")
    task, recording = _task(system), _recording(system)
    assert task is not None and recording is not None
    assert task.has_message and task.recording_sid == recording.recording_sid
    assert recording.kind == "voicemail" and recording.status == "completed"


def test_caller_who_hangs_up_while_speaking_still_leaves_a_voicemail(system) -> None:  # type: ignore[no-untyped-def]
    system.set_clock(lambda: AFTER_HOURS)
    result = system.call("+8613800000004", CallScript([press("1"), speak(9, then_hangup=True)]))
    assert result.status == "completed", result.render()
    assert wait_until(lambda: _task(system) is not None)
    task = _task(system)
    assert task is not None and task.has_message and task.recording_sid


def test_status_lookup_by_number_never_reveals_another_callers_complaint(system) -> None:  # type: ignore[no-untyped-def]
    system.set_clock(lambda: AFTER_HOURS)
    with system.services.database.session() as session:
        session.add(Complaint(number="2611230001", caller_number="+8613700000000",
                              stage="verify", query_pin_hash=hash_pin(
                                  system.settings.secret_key, "2611230001", "246810")))
    stranger = system.call("+8613600000000", CallScript([
        press("4"), press("1"), press("2611230001#"), press("999999#"),
        hangup(after_hearing="返回主菜单")]))
    assert stranger.ok, stranger.render()
    assert "未查询到" in " ".join(stranger.said())
    assert "正在核实" not in " ".join(stranger.said())
    owner = system.call("+8613600000000", CallScript([
        press("4"), press("1"), press("2611230001#"), press("246810#"),
        hangup(after_hearing="返回主菜单")]))
    assert "正在核实中" in " ".join(owner.said()), owner.render()


def _call(system: LocalSystem) -> Call:
    with system.services.database.session() as session:
        call = session.scalar(select(Call))
        assert call is not None
        return call


def _task(system: LocalSystem) -> CallbackTask | None:
    with system.services.database.session() as session:
        return session.scalar(select(CallbackTask))


def _recording(system: LocalSystem) -> Recording | None:
    with system.services.database.session() as session:
        return session.scalar(select(Recording))
