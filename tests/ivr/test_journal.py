"""The call journal: lines, shipping, adopting a dead process's file, rotation, bad lines,
and what the shipped lines become in the database."""

from __future__ import annotations

import json
import os
import subprocess
import sys
import threading
import time
from collections import Counter
from collections.abc import Iterator
from dataclasses import replace
from datetime import UTC, datetime, timedelta
from pathlib import Path
from zoneinfo import ZoneInfo

import pytest
from sqlalchemy import func, select

from callcenter.services import Services
from ivr import calls, journal
from ivr.calls import CallFacts
from ivr.journal import CallJournal, StepLine
from ivr.models import Call, CallStep

ROOT = Path(__file__).resolve().parents[2]
SID = "CA" + "a" * 32
OTHER_SID = "CA" + "b" * 32
T0 = datetime(2026, 11, 23, 2, 30, tzinfo=UTC)


def step(n: int, call_sid: str = SID, at: datetime | None = None, caller_input: str = "",
         after_hours: bool = False) -> StepLine:
    return StepLine(call_sid=call_sid, request_key=f"key-{n}",
                    at=at or T0 + timedelta(seconds=n), node="main",
                    caller_input=caller_input or f"dtmf:{n % 10}", outcome="play:main",
                    from_number="+8613800000001", to_number="+864001234567",
                    direction="inbound", after_hours=after_hours)


class Recorder:
    """An ``apply`` without a database: rejects a batch that is not a JSON array, as the
    database does, and keeps the lines of every batch it accepted."""

    def __init__(self) -> None:
        self.batches: list[list[list[object]]] = []
        self.fail_next = 0

    def __call__(self, batch: bytes) -> None:
        if self.fail_next:
            self.fail_next -= 1
            raise ConnectionError("database unreachable")
        lines = json.loads(batch)
        assert isinstance(lines, list)
        self.batches.append(lines)

    def keys(self) -> list[str]:
        return [str(line[2]) for batch in self.batches for line in batch]

    def take(self) -> list[str]:
        keys = self.keys()
        self.batches.clear()
        return keys


@pytest.fixture
def recorder() -> Recorder:
    return Recorder()


@pytest.fixture
def journal_dir(tmp_path: Path) -> Path:
    return tmp_path / "journal"


@pytest.fixture
def new_journal(journal_dir: Path, recorder: Recorder) -> Iterator[CallJournal]:
    made = CallJournal(journal_dir, recorder)
    yield made
    own = made._file  # release this process's lock, as the process's end would
    if own is not None and own.is_still_named():
        os.close(own.fd)


def journal_files(directory: Path) -> list[Path]:
    return sorted(directory.glob("*.jsonl"))


# --- lines -------------------------------------------------------------------------------


def test_a_line_round_trips_through_encode_and_decode() -> None:
    line = step(3, caller_input="speech:我要投诉扣费问题", after_hours=True)
    encoded = line.encode()
    assert encoded.endswith(b"\n") and encoded.count(b"\n") == 1
    assert StepLine.decode(encoded) == line
    assert StepLine.decode(encoded.rstrip(b"\n")) == line


@pytest.mark.parametrize("text", [
    "speech:我要投诉扣费问题", 'quote " backslash \\ slash /', "tab\tnewline\n\u2028", "\x00\x1f",
    "emoji 😀", "", "+8613800000001",
])
def test_a_line_is_what_json_dumps_writes(text: str) -> None:
    line = replace(step(2, after_hours=True), caller_input=text, request_key=text,
                   from_number=text[:32])
    expected = json.dumps([1, line.call_sid, text, "2026-11-23 02:30:02.000000", line.node,
                           text, line.outcome, text[:32], line.to_number, line.direction,
                           True]) + "\n"
    assert line.encode() == expected.encode()


def test_a_time_in_another_zone_is_kept_as_the_same_moment() -> None:
    shanghai = T0.astimezone(ZoneInfo("Asia/Shanghai"))
    decoded = StepLine.decode(step(0, at=shanghai).encode())
    assert decoded.at == T0 and decoded.at.tzinfo is UTC


def test_fields_longer_than_their_columns_are_cut_on_encode() -> None:
    line = replace(step(0), caller_input="语" * 100, node="n" * 50)
    decoded = StepLine.decode(line.encode())
    assert decoded.caller_input == "语" * 64 and decoded.node == "n" * 32


@pytest.mark.parametrize("bad", [
    b"garbage\n",
    b"",
    b"{}",
    b"[1, 2, 3]",
    b'"a string"',
    step(1).encode()[:40],  # cut by a crash in the middle of the write
    step(1).encode().replace(b"[1,", b"[2,", 1),  # a version this code does not know
    step(1).encode().replace(b"false]", b'"no"]'),  # after_hours not a boolean
    step(1).encode().replace(b"2026-11-23 02:30:01.000000", b"yesterday"),
])
def test_decode_rejects_what_is_not_a_journal_line(bad: bytes) -> None:
    with pytest.raises(ValueError, match="journal line"):
        StepLine.decode(bad)


# --- shipping ----------------------------------------------------------------------------


def test_appended_lines_are_delivered_once(new_journal: CallJournal, recorder: Recorder) -> None:
    for n in range(3):
        new_journal.append(step(n))
    assert new_journal.pending_bytes() > 0
    assert new_journal.ship() == 3
    assert recorder.take() == ["key-0", "key-1", "key-2"]
    assert new_journal.pending_bytes() == 0
    assert new_journal.ship() == 0
    assert recorder.take() == []


def test_a_delivered_batch_is_one_json_array_of_the_lines(  # type: ignore[no-untyped-def]
        new_journal, recorder) -> None:
    lines = [step(0), step(1, caller_input="speech:退款")]
    for line in lines:
        new_journal.append(line)
    new_journal.ship()
    (batch,) = recorder.batches
    assert [StepLine.decode(json.dumps(item).encode()) for item in batch] == lines


def test_lines_appended_after_a_ship_go_with_the_next(  # type: ignore[no-untyped-def]
        new_journal, recorder) -> None:
    new_journal.append(step(0))
    new_journal.ship()
    recorder.take()
    new_journal.append(step(1))
    new_journal.append(step(2))
    assert new_journal.ship() == 2
    assert recorder.take() == ["key-1", "key-2"]


def test_lines_appended_while_a_batch_is_applied_wait_for_the_next_ship(  # type: ignore[no-untyped-def]
        new_journal, recorder) -> None:
    # Under load the webhooks append while the shipper is in the database: chasing them
    # would ship a line or two per round trip.
    appended: list[StepLine] = []

    def apply_while_a_webhook_appends(batch: bytes) -> None:
        recorder(batch)
        if len(appended) < 2:
            appended.append(step(10 + len(appended)))
            new_journal.append(appended[-1])

    new_journal.apply = apply_while_a_webhook_appends
    new_journal.append(step(0))
    new_journal.append(step(1))
    assert new_journal.ship() == 2
    assert recorder.take() == ["key-0", "key-1"]
    assert new_journal.pending_bytes() > 0
    assert new_journal.ship() == 1
    assert recorder.take() == ["key-10"]
    assert new_journal.ship() == 1
    assert recorder.take() == ["key-11"]
    assert new_journal.pending_bytes() == 0


def test_shipping_an_empty_journal_delivers_nothing(  # type: ignore[no-untyped-def]
        new_journal, recorder, journal_dir) -> None:
    assert new_journal.ship() == 0
    assert recorder.batches == []
    assert new_journal.pending_bytes() == 0


# --- files of other processes ------------------------------------------------------------


def test_a_file_left_by_a_dead_writer_is_shipped_whole_and_removed(  # type: ignore[no-untyped-def]
        new_journal, recorder, journal_dir) -> None:
    journal_dir.mkdir()
    orphan = journal_dir / "web-2-1.jsonl"
    orphan.write_bytes(b"".join(step(n, call_sid=OTHER_SID).encode() for n in range(4)))
    new_journal.append(step(10))
    assert new_journal.ship() == 5
    assert Counter(recorder.take()) == Counter(["key-10", "key-0", "key-1", "key-2", "key-3"])
    assert not orphan.exists()
    assert new_journal.ship() == 0 and recorder.take() == []


def test_the_half_written_last_line_of_a_dead_writer_is_dropped(  # type: ignore[no-untyped-def]
        new_journal, recorder, journal_dir) -> None:
    journal_dir.mkdir()
    orphan = journal_dir / "web-2-1.jsonl"
    orphan.write_bytes(step(0).encode() + step(1).encode() + step(2).encode()[:30])
    assert new_journal.ship() == 2
    assert recorder.take() == ["key-0", "key-1"]
    assert journal_files(journal_dir) == []


def test_files_that_are_not_journals_are_left_alone(  # type: ignore[no-untyped-def]
        new_journal, recorder, journal_dir) -> None:
    journal_dir.mkdir()
    other = journal_dir / "notes.txt"
    other.write_bytes(step(0).encode())
    assert new_journal.ship() == 0
    assert other.exists()


CHILD = """
import sys
from datetime import UTC, datetime
from ivr.journal import CallJournal, StepLine

directory, count, hold = sys.argv[1], int(sys.argv[2]), sys.argv[3] == "hold"
journal = CallJournal(directory, apply=lambda batch: None)
for n in range(count):
    journal.append(StepLine("CA" + "c" * 32, f"child-{n}", datetime(2026, 11, 23, tzinfo=UTC),
                            "main", "", "", "+8613800000009", "+864001234567", "inbound", False))
print("appended", flush=True)
if hold:
    sys.stdin.read()  # alive (and holding its journal's lock) until the parent says so
"""


def start_writer(directory: Path, count: int, *, hold: bool) -> subprocess.Popen[bytes]:
    child = subprocess.Popen(
        [sys.executable, "-c", CHILD, str(directory), str(count), "hold" if hold else "exit"],
        cwd=ROOT, stdin=subprocess.PIPE, stdout=subprocess.PIPE)
    assert child.stdout is not None
    assert child.stdout.readline() == b"appended\n"
    return child


def finish(child: subprocess.Popen[bytes]) -> None:
    assert child.stdin is not None and child.stdout is not None
    child.stdin.close()
    assert child.wait(timeout=10) == 0
    child.stdout.close()


def test_the_journal_of_a_process_that_exited_is_adopted(  # type: ignore[no-untyped-def]
        new_journal, recorder, journal_dir) -> None:
    finish(start_writer(journal_dir, 3, hold=False))
    (left,) = journal_files(journal_dir)
    assert new_journal.ship() == 3
    assert sorted(recorder.take()) == ["child-0", "child-1", "child-2"]
    assert not left.exists()


def test_a_forked_child_writes_a_file_of_its_own(  # type: ignore[no-untyped-def]
        new_journal, recorder) -> None:
    new_journal.append(step(0))
    parent_file = new_journal._file
    pid = os.fork()
    if pid == 0:  # the child (a gunicorn worker forked from the master): never the parent's
        ok = False
        try:
            new_journal.append(step(1))
            ok = new_journal._file is not parent_file and new_journal.pending_bytes() > 0
        finally:
            os._exit(0 if ok else 1)
    _, status = os.waitpid(pid, 0)
    assert os.waitstatus_to_exitcode(status) == 0
    assert new_journal._file is parent_file
    assert new_journal.ship() == 2  # its own line, and the exited child's file adopted
    assert sorted(recorder.take()) == ["key-0", "key-1"]


def test_the_journal_of_a_live_process_is_not_touched(  # type: ignore[no-untyped-def]
        new_journal, recorder, journal_dir) -> None:
    child = start_writer(journal_dir, 3, hold=True)
    try:
        (live,) = journal_files(journal_dir)
        size = live.stat().st_size
        new_journal.append(step(0))
        assert new_journal.ship() == 1
        assert recorder.take() == ["key-0"]
        assert live.exists() and live.stat().st_size == size
    finally:
        finish(child)
    # Its writer gone, the next ship adopts it.
    assert new_journal.ship() == 3
    assert sorted(recorder.take()) == ["child-0", "child-1", "child-2"]
    assert not live.exists()


# --- rotation ----------------------------------------------------------------------------


def test_the_own_file_is_replaced_once_enough_is_shipped(  # type: ignore[no-untyped-def]
        new_journal, recorder, journal_dir, monkeypatch) -> None:
    line_bytes = len(step(0).encode())
    monkeypatch.setattr(journal, "ROTATE_BYTES", 3 * line_bytes)
    new_journal.append(step(0))
    new_journal.append(step(1))
    (first,) = journal_files(journal_dir)
    assert new_journal.ship() == 2
    assert journal_files(journal_dir) == [first]  # not yet enough shipped
    new_journal.append(step(2))
    assert new_journal.ship() == 1
    assert not first.exists()  # rotated: shipped whole, then removed
    new_journal.append(step(3))
    (second,) = journal_files(journal_dir)
    assert second != first
    assert new_journal.ship() == 1
    assert recorder.take() == ["key-0", "key-1", "key-2", "key-3"]


def test_no_line_is_lost_or_doubled_while_appends_race_rotations(  # type: ignore[no-untyped-def]
        new_journal, recorder, journal_dir, monkeypatch) -> None:
    monkeypatch.setattr(journal, "ROTATE_BYTES", 5 * len(step(0).encode()))
    total = 2000
    done = threading.Event()
    failures: list[BaseException] = []

    def webhooks() -> None:
        try:
            for n in range(total):
                new_journal.append(step(n))
                if n % 20 == 0:
                    time.sleep(0)  # let the shipper in: the race must cross file switches
        except BaseException as failure:  # reported below, not left to hang the loop
            failures.append(failure)
        finally:
            done.set()

    writer = threading.Thread(target=webhooks)
    writer.start()
    rotations: set[str] = set()
    while not done.is_set():
        new_journal.ship()
        rotations.update(path.name for path in journal_files(journal_dir))
    writer.join()
    assert failures == []
    new_journal.ship()
    keys = recorder.keys()
    assert Counter(keys) == Counter(f"key-{n}" for n in range(total))
    assert len(journal_files(journal_dir)) <= 1
    assert len(rotations) > 1  # the race did cross file switches


def test_a_new_file_another_shipper_locks_first_is_given_up_for_the_next(  # type: ignore[no-untyped-def]
        new_journal, recorder, journal_dir, monkeypatch) -> None:
    # A file is created, then locked: in between, another process's shipper may open it
    # and take it for a dead writer's. The writer must not fail its webhook for that.
    real_flock = journal.fcntl.flock
    taken: list[tuple[Path, int]] = []

    def locked_first_by_another_shipper(fd: int, operation: int) -> None:
        if not taken:
            (created,) = journal_files(journal_dir)
            taken.append((created, os.open(created, os.O_RDWR)))
            real_flock(taken[0][1], operation)  # the other shipper's lock
        real_flock(fd, operation)

    monkeypatch.setattr(journal.fcntl, "flock", locked_first_by_another_shipper)
    new_journal.append(step(0))
    ((created, other_fd),) = taken
    assert os.fstat(other_fd).st_size == 0  # nothing was written to the file given up
    created.unlink()  # the other shipper ships nothing and removes the file
    os.close(other_fd)
    assert new_journal.ship() == 1
    assert recorder.take() == ["key-0"]


def test_a_line_appended_just_before_the_switch_goes_with_the_old_file(  # type: ignore[no-untyped-def]
        new_journal, recorder, journal_dir, monkeypatch) -> None:
    monkeypatch.setattr(journal, "ROTATE_BYTES", 1)
    original = CallJournal._open_own_file

    def switch_after_a_late_append(self: CallJournal) -> journal._JournalFile:
        if self._file is not None:  # a webhook appended between the ship and the switch
            os.write(self._file.fd, step(99).encode())
        return original(self)

    monkeypatch.setattr(CallJournal, "_open_own_file", switch_after_a_late_append)
    new_journal.append(step(0))
    assert new_journal.ship() == 2
    assert recorder.take() == ["key-0", "key-99"]
    assert journal_files(journal_dir) == [new_journal._file.path]


def test_a_failure_while_rotating_loses_no_line_and_delays_none(  # type: ignore[no-untyped-def]
        new_journal, recorder, journal_dir, monkeypatch) -> None:
    monkeypatch.setattr(journal, "ROTATE_BYTES", 1)
    original = CallJournal._open_own_file

    def switch_after_a_late_append(self: CallJournal) -> journal._JournalFile:
        if self._file is not None:
            os.write(self._file.fd, step(99).encode())
            recorder.fail_next = 1  # the database goes away for the late line's batch
        return original(self)

    monkeypatch.setattr(CallJournal, "_open_own_file", switch_after_a_late_append)
    new_journal.append(step(0))
    with pytest.raises(ConnectionError):
        new_journal.ship()
    assert recorder.take() == ["key-0"]
    new_journal.ship()  # the database is back
    assert recorder.take() == ["key-99"]


# --- bad lines and a failing database ----------------------------------------------------


def test_a_garbage_line_is_skipped_and_the_good_ones_applied(  # type: ignore[no-untyped-def]
        new_journal, recorder, journal_dir, caplog) -> None:
    journal_dir.mkdir()
    orphan = journal_dir / "web-2-1.jsonl"
    orphan.write_bytes(step(0).encode() + b"\x00\x00garbage\n" + step(1).encode()
                       + step(2).encode()[:25] + b"\n" + step(3).encode())
    assert new_journal.ship() == 3
    assert recorder.take() == ["key-0", "key-1", "key-3"]
    assert not orphan.exists()
    skipped = [record for record in caplog.records if "skipped" in record.getMessage()]
    assert len(skipped) == 2 and all(r.levelname == "ERROR" for r in skipped)


def test_a_garbage_line_in_the_own_file_is_skipped(  # type: ignore[no-untyped-def]
        new_journal, recorder) -> None:
    new_journal.append(step(0))
    assert new_journal._file is not None
    os.write(new_journal._file.fd, b"[1, \"CA\n")
    new_journal.append(step(1))
    assert new_journal.ship() == 2
    assert recorder.take() == ["key-0", "key-1"]
    assert new_journal.ship() == 0 and new_journal.pending_bytes() == 0


def test_a_failing_database_loses_nothing(  # type: ignore[no-untyped-def]
        new_journal, recorder) -> None:
    for n in range(3):
        new_journal.append(step(n))
    recorder.fail_next = 1
    with pytest.raises(ConnectionError):
        new_journal.ship()
    assert recorder.take() == []
    assert new_journal.pending_bytes() > 0
    new_journal.append(step(3))
    assert new_journal.ship() == 4
    assert recorder.take() == ["key-0", "key-1", "key-2", "key-3"]


def test_a_failing_database_keeps_a_dead_writers_file(  # type: ignore[no-untyped-def]
        new_journal, recorder, journal_dir) -> None:
    journal_dir.mkdir()
    orphan = journal_dir / "web-2-1.jsonl"
    orphan.write_bytes(step(0).encode() + step(1).encode())
    recorder.fail_next = 1
    with pytest.raises(ConnectionError):
        new_journal.ship()
    assert orphan.exists()
    assert new_journal.ship() == 2
    assert recorder.take() == ["key-0", "key-1"]
    assert not orphan.exists()


# --- in the database ---------------------------------------------------------------------


def count(app_services: Services, model) -> int:  # type: ignore[no-untyped-def]
    with app_services.database.session() as session:
        return int(session.scalar(select(func.count()).select_from(model)) or 0)


def test_lines_shipped_twice_write_each_step_once(  # type: ignore[no-untyped-def]
        call_journal, app_services, settings) -> None:
    lines = [step(0), step(1), step(2, call_sid=OTHER_SID)]
    for line in lines:
        call_journal.append(line)
    assert call_journal.ship() == 3
    # The same lines again, as a crash after the commit but before the removal leaves them.
    directory = Path(settings.call_journal_dir)
    (directory / "web-2-1.jsonl").write_bytes(b"".join(line.encode() for line in lines))
    call_journal.append(step(1))  # and a retried delivery journaled twice
    assert call_journal.ship() == 4
    assert count(app_services, Call) == 2
    assert count(app_services, CallStep) == 3


def test_a_call_opened_later_by_a_webhook_takes_the_journals_start(  # type: ignore[no-untyped-def]
        call_journal, app_services) -> None:
    facts = CallFacts(SID, "+8613800000001", "+864001234567", "inbound", "in-progress")
    later = T0 + timedelta(minutes=5)
    with app_services.database.session() as session:
        calls.ensure_call(session, facts, after_hours=False, now=later)
    call_journal.append(step(0, at=T0 + timedelta(minutes=1), after_hours=True))
    call_journal.append(step(1, at=T0, after_hours=True))
    call_journal.ship()
    with app_services.database.session() as session:
        call = session.scalar(select(Call).where(Call.call_sid == SID))
        assert call is not None
        assert call.started_at == T0 and call.after_hours is True
    # A later step never moves the start forward again.
    call_journal.append(step(2, at=T0 + timedelta(hours=1), after_hours=False))
    call_journal.ship()
    with app_services.database.session() as session:
        call = session.scalar(select(Call).where(Call.call_sid == SID))
        assert call is not None
        assert call.started_at == T0 and call.after_hours is True
        assert (call.from_number, call.direction) == ("+8613800000001", "inbound")


def test_steps_come_back_in_time_order(  # type: ignore[no-untyped-def]
        call_journal, app_services) -> None:
    # Journaled out of order (two processes, one call) and shipped in two batches.
    call_journal.append(step(3, at=T0 + timedelta(seconds=30)))
    call_journal.append(step(1, at=T0 + timedelta(seconds=10, microseconds=5)))
    call_journal.ship()
    call_journal.append(step(2, at=T0 + timedelta(seconds=20)))
    call_journal.append(step(0, at=T0))
    call_journal.ship()
    with app_services.database.session() as session:
        path = calls.call_path(session, SID)
        assert [s.request_key for s in path] == ["key-0", "key-1", "key-2", "key-3"]
        assert path[1].at == T0 + timedelta(seconds=10, microseconds=5)
        call = session.scalar(select(Call).where(Call.call_sid == SID))
        assert call is not None and call.started_at == T0


def test_mandarin_caller_input_survives_the_database(  # type: ignore[no-untyped-def]
        call_journal, app_services) -> None:
    spoken = 'speech:我要投诉，"扣费"问题 \\ 严重'  # quotes and a backslash, escaped in JSON
    call_journal.append(step(0, caller_input=spoken))
    call_journal.ship()
    with app_services.database.session() as session:
        (only,) = calls.call_path(session, SID)
        assert only.caller_input == spoken
        assert calls.menu_path_text(session, SID) == f"main:{spoken}"


def test_a_garbage_line_is_skipped_by_the_database_too(  # type: ignore[no-untyped-def]
        call_journal, app_services, settings) -> None:
    directory = Path(settings.call_journal_dir)
    directory.mkdir(parents=True, exist_ok=True)
    (directory / "web-2-1.jsonl").write_bytes(
        step(0).encode() + b"[]\n" + b"{\"CallSid\": 1}\n" + step(1).encode()[:50] + b"\n"
        + step(2).encode())
    assert call_journal.ship() == 2
    assert count(app_services, CallStep) == 2
    assert list(directory.glob("*.jsonl")) == []


def test_the_journal_ship_command_ships_the_files_of_stopped_processes(  # type: ignore[no-untyped-def]
        app, app_services) -> None:
    directory = Path(app_services.settings.call_journal_dir)
    directory.mkdir(parents=True, exist_ok=True)
    line = StepLine("CA" + "7" * 32, "key-1", datetime(2026, 11, 23, 2, 0, tzinfo=UTC),
                    "incoming", "", "main", "+8613800000007", "+864001234567", "inbound", False)
    (directory / "retired-host-1-1.jsonl").write_bytes(line.encode())
    result = app.test_cli_runner().invoke(args=["journal", "ship"])
    assert result.exit_code == 0, result.output
    assert result.output.startswith("1 lines shipped")
    assert not list(directory.glob("*.jsonl"))
    with app_services.database.session() as session:
        assert [step.node for step in calls.call_path(session, "CA" + "7" * 32)] == ["incoming"]


def test_close_ships_and_removes_the_file_and_a_later_line_opens_a_new_one(  # type: ignore[no-untyped-def]
        new_journal, recorder, journal_dir) -> None:
    new_journal.append(step(1))
    new_journal.close()
    assert recorder.keys() == ["key-1"]
    assert journal_files(journal_dir) == []  # nothing for the next process to ship again
    new_journal.append(step(2))
    assert len(journal_files(journal_dir)) == 1
    new_journal.ship()
    assert recorder.keys() == ["key-1", "key-2"]


def test_close_keeps_a_file_whose_lines_could_not_be_shipped(  # type: ignore[no-untyped-def]
        new_journal, recorder, journal_dir) -> None:
    new_journal.append(step(1))
    recorder.fail_next = 1
    with pytest.raises(ConnectionError):
        new_journal.close()
    assert len(journal_files(journal_dir)) == 1  # the lines wait for the next shipper


def test_a_stretch_without_line_ends_is_skipped_not_stuck_on(  # type: ignore[no-untyped-def]
        new_journal, recorder, journal_dir, monkeypatch) -> None:
    monkeypatch.setattr(journal, "READ_BYTES", 256)
    journal_dir.mkdir(parents=True)
    damaged = journal_dir / "gone-host-1-1.jsonl"
    damaged.write_bytes(b"x" * 1000 + b"\n" + step(1).encode())
    assert new_journal.ship() == 1
    assert recorder.keys() == ["key-1"]
    assert not damaged.exists()
