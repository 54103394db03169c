"""The upkeep thread of a web process: tasks at an interval, failures contained, a last run."""

from __future__ import annotations

import logging
import threading
import time
from collections.abc import Callable, Iterator

import pytest

from callcenter.upkeep import Upkeep


class Task:
    """A task that counts its runs and notes the thread each ran on."""

    def __init__(self, fail: bool = False) -> None:
        self.fail = fail
        self.runs: list[tuple[float, str]] = []
        self._ran = threading.Condition()

    def __call__(self) -> None:
        with self._ran:
            self.runs.append((time.monotonic(), threading.current_thread().name))
            self._ran.notify_all()
        if self.fail:
            raise RuntimeError("task failed")

    def wait_for(self, runs: int, timeout: float = 5.0) -> None:
        with self._ran:
            assert self._ran.wait_for(lambda: len(self.runs) >= runs, timeout), self.runs


@pytest.fixture
def make_upkeep() -> Iterator[Callable[[float], Upkeep]]:
    made: list[Upkeep] = []

    def make(interval: float) -> Upkeep:
        upkeep = Upkeep(interval)
        made.append(upkeep)
        return upkeep

    yield make
    for upkeep in made:
        upkeep.stop()


def upkeep_threads() -> list[threading.Thread]:
    return [thread for thread in threading.enumerate() if thread.name == "upkeep"]


def test_tasks_run_on_their_own_thread_at_the_interval(make_upkeep) -> None:  # type: ignore[no-untyped-def]
    interval = 0.03
    upkeep = make_upkeep(interval)
    first, second = Task(), Task()
    upkeep.add("first", first)
    upkeep.add("second", second)
    started = time.monotonic()
    upkeep.ensure_running()
    first.wait_for(3)
    second.wait_for(3)
    assert {name for _, name in first.runs} == {"upkeep"}
    times = [at for at, _ in first.runs]
    assert times[0] - started >= interval * 0.9  # the first run waits one interval
    gaps = [later - earlier for earlier, later in zip(times, times[1:], strict=False)]
    assert min(gaps) >= interval * 0.9


def test_nothing_runs_before_the_interval_has_passed(make_upkeep) -> None:  # type: ignore[no-untyped-def]
    upkeep = make_upkeep(30)
    task = Task()
    upkeep.add("slow", task)
    upkeep.ensure_running()
    time.sleep(0.05)
    assert task.runs == []


def test_a_failing_task_does_not_stop_the_others(  # type: ignore[no-untyped-def]
        make_upkeep, caplog) -> None:
    upkeep = make_upkeep(0.01)
    failing, healthy = Task(fail=True), Task()
    upkeep.add("failing", failing)
    upkeep.add("healthy", healthy)
    with caplog.at_level(logging.ERROR, logger="callcenter.upkeep"):
        upkeep.ensure_running()
        healthy.wait_for(3)
        failing.wait_for(3)  # and the failing one is tried again at each interval
    assert upkeep._thread is not None and upkeep._thread.is_alive()
    messages = [record.getMessage() for record in caplog.records]
    assert any("'failing' failed" in message for message in messages), messages
    assert not any("'healthy'" in message for message in messages)


def test_run_once_contains_a_failure_too() -> None:
    upkeep = Upkeep(60)
    failing, healthy = Task(fail=True), Task()
    upkeep.add("failing", failing)
    upkeep.add("healthy", healthy)
    upkeep.run_once()
    assert len(failing.runs) == 1 and len(healthy.runs) == 1


def test_stop_runs_every_task_one_last_time_and_ends_the_thread(  # type: ignore[no-untyped-def]
        make_upkeep) -> None:
    upkeep = make_upkeep(30)  # the interval never comes: only stop() runs the tasks
    first, second = Task(), Task(fail=True)
    upkeep.add("first", first)
    upkeep.add("second", second)
    upkeep.ensure_running()
    thread = upkeep._thread
    assert thread is not None and thread.is_alive()
    started = time.monotonic()
    upkeep.stop()
    assert time.monotonic() - started < 1  # does not wait out the interval
    assert not thread.is_alive()
    assert [name for _, name in first.runs] == [threading.current_thread().name]
    assert len(second.runs) == 1


def test_no_task_runs_after_stop(make_upkeep) -> None:  # type: ignore[no-untyped-def]
    upkeep = make_upkeep(0.01)
    task = Task()
    upkeep.add("task", task)
    upkeep.ensure_running()
    task.wait_for(2)
    upkeep.stop()
    runs = len(task.runs)
    time.sleep(0.05)
    assert len(task.runs) == runs


def test_ensure_running_twice_starts_one_thread(make_upkeep) -> None:  # type: ignore[no-untyped-def]
    before = len(upkeep_threads())
    upkeep = make_upkeep(30)
    upkeep.ensure_running()
    thread = upkeep._thread
    upkeep.ensure_running()
    assert upkeep._thread is thread
    assert len(upkeep_threads()) == before + 1


def test_ensure_running_from_many_request_threads_starts_one_thread(  # type: ignore[no-untyped-def]
        make_upkeep) -> None:
    before = len(upkeep_threads())
    upkeep = make_upkeep(30)
    barrier = threading.Barrier(8)

    def request() -> None:
        barrier.wait()
        upkeep.ensure_running()

    requests = [threading.Thread(target=request) for _ in range(8)]
    for thread in requests:
        thread.start()
    for thread in requests:
        thread.join()
    assert len(upkeep_threads()) == before + 1


def test_after_stop_ensure_running_starts_it_again(make_upkeep) -> None:  # type: ignore[no-untyped-def]
    upkeep = make_upkeep(0.01)
    task = Task()
    upkeep.add("task", task)
    upkeep.ensure_running()
    upkeep.stop()
    runs = len(task.runs)
    upkeep.ensure_running()
    task.wait_for(runs + 2)
    assert task.runs[-1][1] == "upkeep"


def test_a_task_with_a_last_run_does_that_instead_when_stopping(make_upkeep) -> None:  # type: ignore[no-untyped-def]
    upkeep = make_upkeep(0.02)
    every, last = Task(), Task()
    upkeep.add("journal", every, last=last)
    upkeep.ensure_running()
    every.wait_for(1)
    upkeep.stop()
    runs = len(every.runs)
    assert len(last.runs) == 1 and last.runs[0][1] == threading.current_thread().name
    time.sleep(0.1)
    assert len(every.runs) == runs  # nothing after the stop
