"""Fixtures over the real services: Redis database 13 and both SQLite and PostgreSQL.

``TEST_REDIS_URL`` and ``TEST_POSTGRES_URL`` point elsewhere when needed; a PostgreSQL that
cannot be reached fails the PostgreSQL half of the suite rather than skipping it, unless
``TEST_SKIP_POSTGRES=1`` says so explicitly.
"""

from __future__ import annotations

import os
from collections.abc import Iterator
from pathlib import Path

import pytest
from flask import Flask
from flask.testing import FlaskClient
from redis import Redis
from sqlalchemy import create_engine, text
from twilio.request_validator import RequestValidator

from app import create_app
from callcenter import migrate
from callcenter.models import Base
from callcenter.services import Services, services
from callcenter.settings import Settings
from ivr.context import EXTENSION_KEY as IVR_KEY
from ivr.context import IvrConfig
from ivr.journal import CallJournal

TEST_REDIS_URL = os.environ.get("TEST_REDIS_URL", "redis://127.0.0.1:6379/13")
TEST_POSTGRES_URL = os.environ.get(
    "TEST_POSTGRES_URL", "postgresql+psycopg://postgres@127.0.0.1:5432/test"
)
ACCOUNT_SID = "AC" + "0" * 31 + "1"
AUTH_TOKEN = "test-auth-token"
PUBLIC_BASE_URL = "https://ivr.example.test"

DATABASES = ["sqlite", "postgresql"]
if os.environ.get("TEST_SKIP_POSTGRES") == "1":
    DATABASES = ["sqlite"]


def reset_postgres(url: str) -> None:
    engine = create_engine(url)
    with engine.begin() as connection:
        connection.execute(text("DROP SCHEMA IF EXISTS public CASCADE"))
        connection.execute(text("CREATE SCHEMA public"))
    engine.dispose()


def create_postgres_database(url: str) -> None:
    """Create the database of ``url`` if it does not exist, and empty it."""
    from sqlalchemy.engine import make_url

    target = make_url(url)
    admin = create_engine(target.set(database="postgres"), isolation_level="AUTOCOMMIT")
    with admin.connect() as connection:
        exists = connection.execute(
            text("SELECT 1 FROM pg_database WHERE datname = :name"), {"name": target.database}
        ).scalar()
        if not exists:
            connection.execute(text(f'CREATE DATABASE "{target.database}"'))
    admin.dispose()
    reset_postgres(url)


@pytest.fixture(scope="session")
def migrated_databases(tmp_path_factory: pytest.TempPathFactory) -> dict[str, str]:
    """Each database migrated from empty once per session."""
    urls = {"sqlite": f"sqlite:///{tmp_path_factory.mktemp('db') / 'test.sqlite3'}"}
    if "postgresql" in DATABASES:
        reset_postgres(TEST_POSTGRES_URL)
        urls["postgresql"] = TEST_POSTGRES_URL
    for url in urls.values():
        migrate.upgrade(url)
    return urls


@pytest.fixture(params=DATABASES)
def database_url(request: pytest.FixtureRequest, migrated_databases: dict[str, str]) -> str:
    """A migrated database, emptied before the test."""
    url = migrated_databases[request.param]
    engine = create_engine(url)
    tables = [table.name for table in Base.metadata.sorted_tables]
    with engine.begin() as connection:
        if engine.dialect.name == "postgresql":
            connection.execute(text(f"TRUNCATE {', '.join(tables)} RESTART IDENTITY CASCADE"))
        else:
            for table in reversed(tables):
                connection.execute(text(f"DELETE FROM {table}"))
    engine.dispose()
    return url


@pytest.fixture
def redis_connection() -> Iterator[Redis]:
    connection = Redis.from_url(TEST_REDIS_URL)
    connection.flushdb()
    yield connection
    connection.flushdb()
    connection.close()


@pytest.fixture
def settings(database_url: str, redis_connection: Redis, tmp_path: Path) -> Settings:
    return Settings(
        environment="test",
        database_url=database_url,
        redis_url=TEST_REDIS_URL,
        twilio_account_sid=ACCOUNT_SID,
        twilio_auth_token=AUTH_TOKEN,
        public_base_url=PUBLIC_BASE_URL,
        recordings_dir=str(tmp_path / "recordings"),
        call_journal_dir=str(tmp_path / "journal"),
        secret_key="test-secret",
    )


@pytest.fixture
def app(settings: Settings) -> Iterator[Flask]:
    app = create_app(settings)
    yield app
    app_services: Services = app.extensions["callcenter"]
    app_services.close()


@pytest.fixture
def client(app: Flask) -> FlaskClient:
    return app.test_client()


@pytest.fixture
def call_journal(app: Flask) -> CallJournal:
    """The app's call journal: ``ship()`` puts the steps webhooks journaled in the database."""
    config: IvrConfig = app.extensions[IVR_KEY]
    return config.journal


@pytest.fixture
def app_services(app: Flask) -> Services:
    with app.app_context():
        return services()


class TwilioSigner:
    """Signs requests the way Twilio does, for the public URL of the service."""

    def __init__(self, client: FlaskClient, base_url: str = PUBLIC_BASE_URL) -> None:
        self.client = client
        self.base_url = base_url
        self.validator = RequestValidator(AUTH_TOKEN)

    def signature(self, path: str, data: dict[str, str]) -> str:
        return str(self.validator.compute_signature(self.base_url + path, data))

    def post(self, path: str, data: dict[str, str], headers: dict[str, str] | None = None):  # type: ignore[no-untyped-def]
        all_headers = {"X-Twilio-Signature": self.signature(path, data), **(headers or {})}
        return self.client.post(path, data=data, headers=all_headers)


@pytest.fixture
def twilio(client: FlaskClient) -> TwilioSigner:
    return TwilioSigner(client)


def call_params(call_sid: str = "CA" + "a" * 32, from_: str = "+8613800000001",
                **extra: str) -> dict[str, str]:
    """The parameters Twilio posts with every voice webhook."""
    return {
        "CallSid": call_sid, "AccountSid": ACCOUNT_SID, "From": from_, "To": "+864001234567",
        "CallStatus": "in-progress", "Direction": "inbound", "ApiVersion": "2010-04-01",
        **extra,
    }
