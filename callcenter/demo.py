"""``ivr demo`` and ``ivr call``: simulated calls through the whole system, transcripts printed.

The demo runs on its own SQLite file and its own Redis database, so it never touches the
data of a deployment on the same machine.
"""

from __future__ import annotations

import shlex
import sys
from collections.abc import Callable
from dataclasses import dataclass, replace
from datetime import datetime, time
from pathlib import Path

import click
from redis import Redis
from redis.exceptions import RedisError

from callcenter import migrate
from callcenter.localrun import LocalSystem
from callcenter.settings import Settings
from twilio_standin import CallScript, hangup, press, say, silence, speak, wait

DEMO_DATABASE = Path("var/demo.sqlite3")
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
    return replace(base, environment="development", database_url=f"sqlite:///{DEMO_DATABASE}",
                   redis_url=DEMO_REDIS_URL, recordings_dir="var/demo-recordings")


def at_local(settings: Settings, hour: int, minute: int = 0) -> Callable[[], datetime]:
    """A clock that says today at hour:minute in the call center's zone, and moves on."""
    start_local = datetime.combine(datetime.now(settings.zone).date(), time(hour, minute),
                                   tzinfo=settings.zone)
    started = datetime.now(settings.zone)
    return lambda: start_local + (datetime.now(settings.zone) - started)


@dataclass
class Scenario:
    title: str
    caller: str
    script: CallScript
    local_time: tuple[int, int] = (10, 30)


SCENARIOS = [
    Scenario("在工作时间来电，按2投诉，进入投诉队列等候", "+8613800000001",
             CallScript([press("2"), wait(90), hangup()])),
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


def run_scenarios(system: LocalSystem, scenarios: list[Scenario]) -> int:
    failures = 0
    for number, scenario in enumerate(scenarios, start=1):
        system.set_clock(at_local(system.settings, *scenario.local_time))
        hour, minute = scenario.local_time
        click.echo(f"\n=== 通话 {number}: {scenario.title}  (模拟当地时间 {hour:02d}:{minute:02d})")
        result = system.standin.call(from_=scenario.caller, to="+864001234567",
                                     script=scenario.script, timeout=120)
        click.echo(result.render())
        if not result.ok:
            failures += 1
            click.echo(f"!!! call failed: {result.error}", err=True)
    return failures


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
        failures = run_scenarios(system, SCENARIOS)
    click.echo(f"\n{len(SCENARIOS)} calls, {failures} failed")
    sys.exit(1 if failures else 0)


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


