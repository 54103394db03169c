"""Webhook throughput: the service under gunicorn (2 workers) against a minimal Flask app.

Both are driven by wrk with 32 connections. Every request to the service is a distinct,
correctly signed call (pre-signed bodies cycled by a wrk Lua script) and is persisted in
the database as in production. Prints requests/s and p50/p99 latency and the targets.

    .venv/bin/python bench/webhooks.py [--seconds 10] [--database-url URL]

Needs wrk (apt-get install wrk), Redis and PostgreSQL (default database: bench, created).
"""

from __future__ import annotations

import argparse
import os
import re
import shutil
import socket
import subprocess
import sys
import tempfile
import time
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
    """A wrk script that cycles through pre-signed request bodies."""
    rows = ",\n".join(
        f'{{[==[{body}]==], "{signature}"}}' for body, signature in zip(bodies, signatures)
    )
    return f"""
local requests = {{
{rows}
}}
local i = 0
request = function()
  i = i % #requests + 1
  local r = requests[i]
  return wrk.format("POST", "{path}", {{
    ["Content-Type"] = "application/x-www-form-urlencoded",
    ["X-Twilio-Signature"] = r[2]}}, r[1])
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


def run_wrk(port: int, script: str, seconds: int) -> tuple[float, float, float]:
    with tempfile.NamedTemporaryFile("w", suffix=".lua", delete=False) as handle:
        handle.write(script)
    try:
        out = subprocess.run(
            ["wrk", "-t2", "-c32", f"-d{seconds}s", "--latency", "-s", handle.name,
             f"http://127.0.0.1:{port}"], capture_output=True, text=True, check=True).stdout
    finally:
        os.unlink(handle.name)
    rps = float(re.search(r"Requests/sec:\s+([\d.]+)", out).group(1))  # type: ignore[union-attr]
    if "Non-2xx" in out:
        raise SystemExit(f"wrk saw error responses:\n{out}")
    return rps, _percentile(out, "50%"), _percentile(out, "99%")


def _percentile(out: str, label: str) -> float:
    match = re.search(rf"{re.escape(label)}\s+([\d.]+)(us|ms|s)", out)
    assert match, out
    value, unit = float(match.group(1)), match.group(2)
    return value / 1000 if unit == "us" else value * 1000 if unit == "s" else value


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--seconds", type=int, default=10)
    parser.add_argument("--threads", type=int, default=1,
                        help="gunicorn threads per worker for the service (gthread when > 1)")
    parser.add_argument("--database-url",
                        default="postgresql+psycopg://postgres@127.0.0.1:5432/bench")
    args = parser.parse_args()
    if not shutil.which("wrk"):
        raise SystemExit("wrk is not installed: apt-get install wrk")
    prepare_database(args.database_url)
    env = {**os.environ, "APP_ENV": "production", "DATABASE_URL": args.database_url,
           "REDIS_URL": "redis://127.0.0.1:6379/12", "TWILIO_ACCOUNT_SID": "AC" + "b" * 32,
           "TWILIO_AUTH_TOKEN": TOKEN, "PUBLIC_BASE_URL": PUBLIC, "SECRET_KEY": "bench",
           "BUSINESS_HOURS": "00:00-23:59"}
    service_port, minimal_port = free_port(), free_port()
    service = start_gunicorn("app:create_app()", service_port, env, args.threads)
    minimal = start_gunicorn("bench.minimal_app:create_app()", minimal_port, env)
    rows = []
    try:
        for label, path, extra in (
            ("/voice/incoming", "/voice/incoming", {}),
            ("menu step", "/ivr/menu?node=main&attempt=1", {"Digits": "7"}),
        ):
            script = lua_script(path, *signed_bodies(path, extra))
            run_wrk(service_port, script, 2)  # warm-up: connections, caches
            service_figures = run_wrk(service_port, script, args.seconds)
            minimal_figures = run_wrk(minimal_port, script, args.seconds)
            rows.append((label, service_figures, minimal_figures))
    finally:
        for process in (service, minimal):
            process.terminate()
            process.wait(timeout=10)
    print(f"database: {make_url(args.database_url).get_backend_name()}, 2 gunicorn workers, "
          f"wrk 2 threads x 32 connections, {args.seconds}s per run")
    print(f"{'endpoint':18} {'service req/s':>14} {'p50 ms':>8} {'p99 ms':>8} "
          f"{'minimal req/s':>14} {'ratio':>6}  verdict")
    for label, (rps, p50, p99), (mrps, _, _) in rows:
        ratio = rps / mrps
        verdict = []
        verdict.append("throughput met" if ratio >= TARGET_RATIO
                       else f"throughput missed by {(TARGET_RATIO - ratio) * mrps:.0f} req/s")
        verdict.append("p99 met" if p99 <= TARGET_P99_MS
                       else f"p99 missed by {p99 - TARGET_P99_MS:.1f} ms")
        print(f"{label:18} {rps:14.0f} {p50:8.2f} {p99:8.2f} {mrps:14.0f} {ratio:6.2f}  "
              + ", ".join(verdict))


if __name__ == "__main__":
    main()
