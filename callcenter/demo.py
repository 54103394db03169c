"""``ivr demo`` and ``ivr call``: simulated calls through the whole system, transcripts printed.

The demo runs on its own SQLite file and its own Redis database, so it never touches the
data of a deployment on the same machine.
"""

from __future__ import annotations

import shlex
import shutil
import subprocess
import sys
from collections.abc import Callable
from dataclasses import dataclass, replace
from datetime import datetime, time
from pathlib import Path

import click
from redis import Redis
from redis.exceptions import RedisError

from callcenter import migrate
from callcenter.localrun import LocalSystem, wait_until
from callcenter.settings import Settings
from twilio_standin import (
    CallResult,
    CallScript,
    SeatBehaviour,
    hangup,
    press,
    say,
    silence,
    speak,
    wait,
)

DEMO_DATABASE = Path("var/demo.sqlite3")
DEMO_JOURNAL = Path("var/demo-journal")
DEMO_REDIS_URL = "redis://127.0.0.1:6379/15"
REDIS_HELP = (
    "Redis is not reachable at {url}.\n"
    "Start it with:\n"
    "  redis-server --daemonize yes --bind 127.0.0.1 --port 6379 --save '' --appendonly no\n"
    "(or: apt-get install redis-server), then run the demo again."
)


def redis_is_up(url: str) -> bool:
    connection = Redis.from_url(url, socket_connect_timeout=1)
    try:
        return bool(connection.ping())
    except RedisError:
        return False
    finally:
        connection.close()


def demo_settings(base: Settings) -> Settings:
    DEMO_DATABASE.parent.mkdir(parents=True, exist_ok=True)
    DEMO_DATABASE.unlink(missing_ok=True)
    shutil.rmtree(DEMO_JOURNAL, ignore_errors=True)  # lines of an earlier demo's calls
    return replace(base, environment="development", database_url=f"sqlite:///{DEMO_DATABASE}",
                   redis_url=DEMO_REDIS_URL, recordings_dir="var/demo-recordings",
                   call_journal_dir=str(DEMO_JOURNAL))


def at_local(settings: Settings, hour: int, minute: int = 0) -> Callable[[], datetime]:
    """A clock that says today at hour:minute in the call center's zone, and moves on."""
    start_local = datetime.combine(datetime.now(settings.zone).date(), time(hour, minute),
                                   tzinfo=settings.zone)
    started = datetime.now(settings.zone)
    return lambda: start_local + (datetime.now(settings.zone) - started)


@dataclass
class Scenario:
    """One scripted call; ``meanwhile`` is a call placed first that keeps the demo's
    complaint seat busy while this one comes in."""

    title: str
    caller: str
    script: CallScript
    local_time: tuple[int, int] = (10, 30)
    meanwhile: tuple[str, CallScript] | None = None


DEMO_SEAT = "seat-complaint-1"
DEMO_SEAT_STAFF = "wang.fang"
# The seat answers after 4 s and talks for 2 minutes; no wrap-up, so the demo moves on.
DEMO_SEAT_BEHAVIOUR = SeatBehaviour(answer_after=4, talk_for=120)

SCENARIOS = [
    Scenario("在工作时间来电，按2投诉，接通空闲的投诉坐席（通话双声道录音）", "+8613800000001",
             CallScript([press("2"), wait(900)])),
    Scenario("投诉坐席全忙：第二位投诉来电者等候时听到排队位置和预计等待时间，坐席空闲后接通",
             "+8613800000006", CallScript([press("2"), wait(900)]),
             meanwhile=("+8613800000007", CallScript([press("2"), wait(900)]))),
    Scenario("说出“报修”选择菜单", "+8613800000002",
             CallScript([say("我要报修"), wait(30), hangup()])),
    Scenario("一直不按键：两次重新提示后转人工咨询队列", "+8613800000003",
             CallScript([silence(), silence(), silence(), wait(20), hangup()])),
    Scenario("非工作时间来电，按1留言，留言成为回电任务", "+8613800000004",
             CallScript([press("1"), speak(15)]), local_time=(22, 40)),
    Scenario("非工作时间按4，按本机号码和投诉编号查询处理进度", "+8613800000005",
             CallScript([press("4"), press("1"), press("1234567890#"), press("000000#"),
                         hangup(after_hearing="返回主菜单")]), local_time=(23, 10)),
]


def staff_the_floor(system: LocalSystem) -> None:
    """A complaint seat (坐席) worked by one person, logged in and available."""
    from queues import seats
    from queues.jobs import current_router
    from queues.routing import SeatState
    from staff.auth import new_token, token_hash
    from staff.models import Role, Staff

    assert system.app is not None
    with system.services.database.session() as session:
        session.add(Staff(id=DEMO_SEAT_STAFF, name="王芳", role=Role.SEAT,
                          token_hash=token_hash(new_token())))
    with system.app.app_context():
        router = current_router()
        seats.create_seat(router, seat_id=DEMO_SEAT, name="王芳", reach=f"client:{DEMO_SEAT}",
                          skills={"complaint": 3, "inquiry": 2}, staff_id=DEMO_SEAT_STAFF,
                          wrap_up_seconds=0)
        seats.set_state(router, system.services, DEMO_SEAT, SeatState.AVAILABLE)
    system.standin.seats[f"client:{DEMO_SEAT}"] = DEMO_SEAT_BEHAVIOUR


def wait_for_workers(system: LocalSystem, count: int, timeout: float = 30.0) -> bool:
    """Until the worker processes have started (registered with RQ)."""
    from rq import Worker

    return wait_until(lambda: Worker.count(connection=system.services.redis) >= count,
                      timeout=timeout, interval=0.05)


def seat_is_talking(system: LocalSystem) -> bool:
    from queues.models import Seat

    with system.services.database.session() as session:
        seat = session.get(Seat, DEMO_SEAT)
        return seat is not None and seat.state == "on_call"


def _report(result: CallResult) -> int:
    click.echo(result.render())
    if result.ok:
        return 0
    click.echo(f"!!! call failed: {result.error}", err=True)
    return 1


def run_scenarios(system: LocalSystem, scenarios: list[Scenario]) -> int:
    failures = 0
    for number, scenario in enumerate(scenarios, start=1):
        system.set_clock(at_local(system.settings, *scenario.local_time))
        hour, minute = scenario.local_time
        click.echo(f"\n=== 通话 {number}: {scenario.title}  (模拟当地时间 {hour:02d}:{minute:02d})")
        first = None
        if scenario.meanwhile is not None:
            caller, script = scenario.meanwhile
            first = system.standin.start_call(from_=caller, to="+864001234567", script=script)
            if not wait_until(lambda: seat_is_talking(system), timeout=30):
                click.echo("!!! the first caller was never put through to the seat", err=True)
                failures += 1
        result = system.standin.call(from_=scenario.caller, to="+864001234567",
                                     script=scenario.script, timeout=120)
        if first is not None:
            click.echo("--- 先接通坐席的来电：")
            failures += _report(first.wait(120))
            click.echo(f"--- 坐席通话时打进的来电 ({scenario.caller})：")
        failures += _report(result)
    return failures


def print_figures(system: LocalSystem) -> None:
    """The live figures, as ``ivr queues`` prints them."""
    from callcenter.services import system_clock
    from queues.commands import figures_text
    from queues.context import routing_config

    assert system.app is not None
    system.set_clock(system_clock)  # the workers' clock: the figures compare their times
    click.echo("\n=== 队列与坐席实时数据 (ivr queues; real seconds: the calls ran "
               f"{1 / system.standin.settings.time_scale:.0f} times faster)")
    with system.app.app_context(), system.services.database.session() as session:
        click.echo(figures_text(session, routing_config(), system.services.now()))


@click.command("demo")
@click.option("--time-scale", default=0.005, show_default=True,
              help="Real seconds per simulated second.")
def demo_command(time_scale: float) -> None:
    """Start the web service, a worker and the Twilio stand-in; place scripted calls."""
    settings = demo_settings(Settings.from_env())
    if not redis_is_up(settings.redis_url):
        click.echo(REDIS_HELP.format(url=settings.redis_url), err=True)
        sys.exit(1)
    Redis.from_url(settings.redis_url).flushdb()  # the demo's own database only
    migrate.upgrade(settings.database_url)
    click.echo(f"demo database: {DEMO_DATABASE}, Redis: {settings.redis_url}")
    with LocalSystem(settings, workers=1, time_scale=time_scale) as system:
        click.echo(f"web service: {system.local_url} (public {system.settings.public_base_url}), "
                   f"Twilio stand-in: {system.standin.base_url}, 1 RQ worker")
        staff_the_floor(system)
        if not wait_for_workers(system, 1):
            click.echo("the RQ worker did not start", err=True)
            sys.exit(1)
        click.echo(f"seat {DEMO_SEAT} (complaint:3, inquiry:2) is logged in and available")
        failures = run_scenarios(system, SCENARIOS)
        print_figures(system)
        failures += complaint_story(system)
        failures += verify_recordings(system)
    click.echo(f"\n{len(SCENARIOS)} calls and the complaint story, {failures} failed")
    sys.exit(1 if failures else 0)


def complaint_story(system: LocalSystem) -> int:
    """The complaint from call to archive; the seat is on a break so the caller holds while
    the seat's colleague registers it (as in a busy hour)."""
    from callcenter.demo_complaint import run_complaint_story
    from queues import seats
    from queues.jobs import current_router
    from queues.routing import SeatState

    assert system.app is not None
    with system.app.app_context():
        seats.set_state(current_router(), system.services, DEMO_SEAT, SeatState.BREAK)
    local = system.settings.zone
    monday = datetime(2026, 11, 23, 10, 30, tzinfo=local)
    return run_complaint_story(system, monday, lambda moment: system.set_clock(lambda: moment))


def verify_recordings(system: LocalSystem) -> int:
    """Every recording of the demo downloaded, hashed, stored, and re-verified."""
    from recordings.integrity import wait_for_downloads

    click.echo("\n=== 录音证据：下载、哈希、存储、校验 (ivr recordings verify)")
    if not wait_for_downloads(system.services.database, 60):
        click.echo("!!! some recordings were not downloaded in time", err=True)
        return 1
    verify = subprocess.run(
        [sys.executable, "-m", "callcenter.cli", "recordings", "verify", "--require-complete",
         "-v"], env=system.worker_env(), capture_output=True, text=True, check=False)
    click.echo(verify.stdout.rstrip())
    if verify.returncode:
        click.echo(verify.stderr.rstrip(), err=True)
    return 1 if verify.returncode else 0


def parse_script(text: str) -> CallScript:
    """``"press:2 wait:30 say:投诉 silence speak:10 hangup"`` into a caller script."""
    actions = []
    for word in shlex.split(text):
        verb, _, arg = word.partition(":")
        if verb == "press" and arg:
            actions.append(press(arg))
        elif verb == "say" and arg:
            actions.append(say(arg))
        elif verb == "wait" and arg.isdigit():
            actions.append(wait(int(arg)))
        elif verb == "speak" and arg.isdigit():
            actions.append(speak(int(arg)))
        elif verb == "silence" and not arg:
            actions.append(silence())
        elif verb == "hangup" and not arg:
            actions.append(hangup())
        else:
            raise click.BadParameter(f"cannot read {word!r}: use press:KEYS, say:TEXT, "
                                     "wait:SECONDS, speak:SECONDS, silence, hangup")
    return CallScript(actions)


@click.command("call")
@click.option("--from", "caller", default="+8613800000001", show_default=True)
@click.option("--script", "script_text", default="press:2 wait:30 hangup", show_default=True,
              help="What the caller does: press:KEYS say:TEXT wait:S speak:S silence hangup")
@click.option("--local-time", default="", help="Pretend the call comes at HH:MM local time.")
def call_command(caller: str, script_text: str, local_time: str) -> None:
    """Place one simulated call through the stand-in against this configuration."""
    script = parse_script(script_text)
    settings = Settings.from_env()
    if not redis_is_up(settings.redis_url):
        click.echo(REDIS_HELP.format(url=settings.redis_url), err=True)
        sys.exit(1)
    migrate.upgrade(settings.database_url)
    with LocalSystem(settings, workers=1) as system:
        if local_time:
            hour, _, minute = local_time.partition(":")
            system.set_clock(at_local(settings, int(hour), int(minute or 0)))
        result = system.standin.call(from_=caller, to="+864001234567", script=script,
                                     timeout=120)
    click.echo(result.render())
    sys.exit(0 if result.ok else 1)


