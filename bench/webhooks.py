"""Webhook throughput: the service under gunicorn (2 workers) against a minimal Flask app.

Both are driven by wrk with 32 connections. Every request to the service is a distinct,
correctly signed webhook delivery (pre-signed bodies cycled by a wrk Lua script) and is
persisted as in production: journaled by the worker, shipped to the database in batches.
Prints requests/s and p50/p99 latency (medians of alternating runs), the targets, and how
many deliveries reached the database.

    .venv/bin/python bench/webhooks.py [--seconds 6] [--rounds 3] [--database-url URL]

Needs wrk (apt-get install wrk), Redis and PostgreSQL (default database: bench, created).
"""

from __future__ import annotations

import argparse
import os
import re
import shutil
import socket
import statistics
import subprocess
import sys
import tempfile
import time
import zlib
from pathlib import Path

from sqlalchemy import create_engine, text
from sqlalchemy.engine import make_url
from twilio.request_validator import RequestValidator

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from callcenter import migrate  # noqa: E402

TOKEN = "bench-auth-token"
PUBLIC = "https://ivr.bench.example"
SIGNED_REQUESTS = 20_000
TARGET_RATIO, TARGET_P99_MS = 0.8, 15.0
WRK_THREADS, WRK_CONNECTIONS = 2, 32


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def prepare_database(url: str) -> None:
    parsed = make_url(url)
    if parsed.get_backend_name() == "postgresql":
        admin = create_engine(parsed.set(database="postgres"), isolation_level="AUTOCOMMIT")
        with admin.connect() as connection:
            if not connection.execute(text("SELECT 1 FROM pg_database WHERE datname=:n"),
                                      {"n": parsed.database}).scalar():
                connection.execute(text(f'CREATE DATABASE "{parsed.database}"'))
        admin.dispose()
        engine = create_engine(url)
        with engine.begin() as connection:
            connection.execute(text("DROP SCHEMA public CASCADE; CREATE SCHEMA public"))
        engine.dispose()
    migrate.upgrade(url)


def lua_script(path: str, bodies: list[str], signatures: list[str]) -> str:
    """A wrk script that cycles through pre-signed request bodies, each with the idempotency
    token Twilio puts on a webhook delivery."""
    rows = ",\n".join(
        f'{{[==[{body}]==], "{signature}", "{zlib.crc32(path.encode()):08x}-{n}"}}'
        for n, (body, signature) in enumerate(zip(bodies, signatures))
    )
    return f"""
local requests = {{
{rows}
}}
-- wrk runs one Lua state per thread: the threads take turns through the bodies (thread k
-- sends bodies k, k + THREADS, ...), so that every body sent is a distinct delivery.
local threads = {{}}
function setup(thread)
  thread:set("first", #threads)
  table.insert(threads, thread)
end
local i = nil
sent = 0
request = function()
  if i == nil then i = first else i = (i + {WRK_THREADS}) % #requests end
  sent = sent + 1
  local r = requests[i + 1]
  return wrk.format("POST", "{path}", {{
    ["Content-Type"] = "application/x-www-form-urlencoded",
    ["X-Twilio-Signature"] = r[2], ["I-Twilio-Idempotency-Token"] = r[3]}}, r[1])
end
function done(summary, latency, requests)
  for k, thread in ipairs(threads) do
    io.write(string.format("thread %d sent %d\\n", k, thread:get("sent")))
  end
end
"""


def signed_bodies(path: str, extra: dict[str, str]) -> tuple[list[str], list[str]]:
    from urllib.parse import urlencode

    validator = RequestValidator(TOKEN)
    bodies, signatures = [], []
    run = os.getpid()
    for n in range(SIGNED_REQUESTS):
        params = {"CallSid": f"CA{run:08x}{n:024x}", "AccountSid": "AC" + "b" * 32,
                  "From": f"+86138{n % 100000:08d}", "To": "+864001234567",
                  "CallStatus": "in-progress", "Direction": "inbound",
                  "ApiVersion": "2010-04-01", **extra}
        bodies.append(urlencode(params))
        signatures.append(validator.compute_signature(PUBLIC + path, params))
    return bodies, signatures


def start_gunicorn(app_spec: str, port: int, env: dict[str, str],
                   threads: int = 1) -> subprocess.Popen[bytes]:
    process = subprocess.Popen(
        [sys.executable, "-m", "gunicorn", "-w", "2", "--threads", str(threads),
         "-b", f"127.0.0.1:{port}", "--log-level", "warning", app_spec],
        cwd=ROOT, env=env,
    )
    for _ in range(100):
        try:
            with socket.create_connection(("127.0.0.1", port), timeout=0.2):
                return process
        except OSError:
            time.sleep(0.1)
    process.kill()
    raise SystemExit(f"gunicorn for {app_spec} did not start")


def run_wrk(port: int, script: str, seconds: int) -> tuple[float, float, float, list[int]]:
    with tempfile.NamedTemporaryFile("w", suffix=".lua", delete=False) as handle:
        handle.write(script)
    try:
        out = subprocess.run(
            ["wrk", f"-t{WRK_THREADS}", f"-c{WRK_CONNECTIONS}", f"-d{seconds}s", "--latency",
             "-s", handle.name,
             f"http://127.0.0.1:{port}"], capture_output=True, text=True, check=True).stdout
    finally:
        os.unlink(handle.name)
    rps = float(re.search(r"Requests/sec:\s+([\d.]+)", out).group(1))  # type: ignore[union-attr]
    if "Non-2xx" in out:
        raise SystemExit(f"wrk saw error responses:\n{out}")
    sent = [int(n) for n in re.findall(r"thread \d+ sent (\d+)", out)]
    return rps, _percentile(out, "50%"), _percentile(out, "99%"), sent


def _percentile(out: str, label: str) -> float:
    match = re.search(rf"{re.escape(label)}\s+([\d.]+)(us|ms|s)", out)
    assert match, out
    value, unit = float(match.group(1)), match.group(2)
    return value / 1000 if unit == "us" else value * 1000 if unit == "s" else value


def count_steps(url: str) -> int:
    engine = create_engine(url)
    with engine.connect() as connection:
        count = int(connection.execute(text("SELECT count(*) FROM call_steps")).scalar_one())
    engine.dispose()
    return count


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--seconds", type=int, default=6, help="length of one wrk run")
    parser.add_argument("--rounds", type=int, default=3,
                        help="runs of each app, alternating; the medians are printed")
    parser.add_argument("--threads", type=int, default=1,
                        help="gunicorn threads per worker for the service (gthread when > 1)")
    parser.add_argument("--upkeep-interval-ms", type=int, default=None,
                        help="UPKEEP_INTERVAL_MS of the service (how often the journal ships)")
    parser.add_argument("--database-url",
                        default="postgresql+psycopg://postgres@127.0.0.1:5432/bench")
    args = parser.parse_args()
    if not shutil.which("wrk"):
        raise SystemExit("wrk is not installed: apt-get install wrk")
    prepare_database(args.database_url)
    journal = tempfile.TemporaryDirectory(prefix="bench-journal-")
    env = {**os.environ, "APP_ENV": "production", "DATABASE_URL": args.database_url,
           "CALL_JOURNAL_DIR": journal.name,
           "REDIS_URL": "redis://127.0.0.1:6379/12", "TWILIO_ACCOUNT_SID": "AC" + "b" * 32,
           "TWILIO_AUTH_TOKEN": TOKEN, "PUBLIC_BASE_URL": PUBLIC, "SECRET_KEY": "bench",
           "BUSINESS_HOURS": "00:00-23:59"}
    if args.upkeep_interval_ms is not None:
        env["UPKEEP_INTERVAL_MS"] = str(args.upkeep_interval_ms)
    service_port, minimal_port = free_port(), free_port()
    service = start_gunicorn("app:create_app()", service_port, env, args.threads)
    minimal = start_gunicorn("bench.minimal_app:create_app()", minimal_port, env)
    rows = []
    signed = 0
    try:
        for label, path, extra in (
            ("/voice/incoming", "/voice/incoming", {}),
            ("menu step", "/ivr/menu?node=main&attempt=1", {"Digits": "7"}),
        ):
            script = lua_script(path, *signed_bodies(path, extra))
            sent = run_wrk(service_port, script, 2)[3]  # warm-up: connections, caches
            service_runs, minimal_runs = [], []
            for _ in range(args.rounds):  # alternating, so that drift hits both alike
                service_runs.append(run_wrk(service_port, script, args.seconds))
                minimal_runs.append(run_wrk(minimal_port, script, args.seconds))
                sent = [max(a, b) for a, b in zip(sent, service_runs[-1][3], strict=True)]
            # Each wrk run starts again at a thread's first body, and a thread has its own
            # share of the bodies: the distinct deliveries are each thread's longest run.
            signed += sum(min(n, SIGNED_REQUESTS // WRK_THREADS) for n in sent)
            rows.append((label, _medians(service_runs), _medians(minimal_runs),
                         sorted(run[0] for run in service_runs)))
    finally:
        for process in (service, minimal):
            process.terminate()
            process.wait(timeout=10)
    # Each pre-signed request is one webhook delivery; the benchmark cycles through them,
    # so each is persisted once however often it was sent. The workers ship what is left
    # of their journals when they stop.
    stored = count_steps(args.database_url)
    print(f"database: {make_url(args.database_url).get_backend_name()}, 2 gunicorn workers, "
          f"wrk {WRK_THREADS} threads x {WRK_CONNECTIONS} connections, "
          f"{args.rounds} x {args.seconds}s per app "
          f"(medians)")
    print(f"{'endpoint':18} {'service req/s':>14} {'p50 ms':>8} {'p99 ms':>8} "
          f"{'minimal req/s':>14} {'p50 ms':>8} {'p99 ms':>8} {'ratio':>6}  verdict")
    for label, (rps, p50, p99), (mrps, mp50, mp99), runs in rows:
        ratio = rps / mrps
        verdict = []
        verdict.append("throughput met" if ratio >= TARGET_RATIO
                       else f"throughput missed by {(TARGET_RATIO - ratio) * mrps:.0f} req/s")
        verdict.append("p99 met" if p99 <= TARGET_P99_MS
                       else f"p99 missed by {p99 - TARGET_P99_MS:.1f} ms")
        print(f"{label:18} {rps:14.0f} {p50:8.2f} {p99:8.2f} {mrps:14.0f} {mp50:8.2f} "
              f"{mp99:8.2f} {ratio:6.2f}  " + ", ".join(verdict))
        print(f"{'':18} service runs: {', '.join(f'{run:.0f}' for run in runs)} req/s")
    # wrk stops with up to one request per connection in flight; those may never arrive.
    cut_off = WRK_CONNECTIONS * (args.rounds + 1) * len(rows)
    print(f"persisted: {stored} of {signed} distinct webhook deliveries sent, in call_steps"
          + ("" if signed - cut_off <= stored <= signed else "  <-- STEPS MISSING"))
    journal.cleanup()


def _medians(runs: list[tuple[float, float, float, list[int]]]) -> tuple[float, float, float]:
    return (statistics.median(r[0] for r in runs), statistics.median(r[1] for r in runs),
            statistics.median(r[2] for r in runs))


if __name__ == "__main__":
    main()
