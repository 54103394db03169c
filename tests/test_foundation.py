"""The skeleton: factory, settings, signatures, idempotent call records, migrations."""

from __future__ import annotations

import pytest
from alembic.autogenerate import compare_metadata
from alembic.runtime.migration import MigrationContext
from sqlalchemy import create_engine, event, func, inspect, select

from app import create_app
from callcenter import migrate
from callcenter.models import Base
from callcenter.settings import Settings, SettingsError
from ivr.models import Call, CallStep
from tests.conftest import (
    TEST_POSTGRES_URL,
    TwilioSigner,
    call_params,
    create_postgres_database,
    reset_postgres,
)


def test_factory_connects_to_nothing() -> None:
    settings = Settings(database_url="postgresql+psycopg://nobody@127.0.0.1:1/none",
                        redis_url="redis://127.0.0.1:1/0")
    app = create_app(settings)
    assert "/voice/incoming" in app.extensions["webhooks"].paths
    assert app.test_client().get("/healthz").status_code == 200


@pytest.mark.parametrize(("environ", "variable"), [
    ({"APP_ENV": "staging"}, "APP_ENV"),
    ({"CALL_CENTER_TIMEZONE": "Mars/Olympus"}, "CALL_CENTER_TIMEZONE"),
    ({"BUSINESS_HOURS": "9-21"}, "BUSINESS_HOURS"),
    ({"BUSINESS_HOURS": "09:00-09:00"}, "BUSINESS_HOURS"),
    ({"IVR_MENU_ENABLED": "perhaps"}, "IVR_MENU_ENABLED"),
    ({"LOOKUP_MAX_FAILURES": "many"}, "LOOKUP_MAX_FAILURES"),
    ({"PUBLIC_BASE_URL": "ivr.example.com"}, "PUBLIC_BASE_URL"),
    ({"REDIS_URL": "localhost:6379"}, "REDIS_URL"),
])
def test_bad_settings_name_their_variable(environ: dict[str, str], variable: str) -> None:
    with pytest.raises(SettingsError, match=variable):
        Settings.from_env(environ)


def test_settings_read_from_environment() -> None:
    settings = Settings.from_env({
        "DATABASE_URL": "sqlite:///x.db", "IVR_MENU_ENABLED": "false",
        "BUSINESS_HOURS": "08:30-17:30", "CALL_CENTER_TIMEZONE": "Asia/Urumqi",
    })
    assert settings.database_url == "sqlite:///x.db"
    assert settings.ivr_menu_enabled is False
    assert settings.opening_hours[0].hour == 8 and settings.opening_hours[1].minute == 30
    assert settings.timezone == "Asia/Urumqi"
    assert Settings.from_env({}).timezone == "Asia/Shanghai"
    assert Settings.from_env({}).redis_url == "redis://localhost:6379/0"


@pytest.mark.parametrize("missing", ["TWILIO_ACCOUNT_SID", "TWILIO_AUTH_TOKEN", "SECRET_KEY"])
def test_production_refuses_to_start_without_a_secret(missing: str) -> None:
    environ = {"APP_ENV": "production", "TWILIO_ACCOUNT_SID": "AC1", "TWILIO_AUTH_TOKEN": "t",
               "SECRET_KEY": "s3cret", "PUBLIC_BASE_URL": "https://ivr.example.com"}
    del environ[missing]
    with pytest.raises(SettingsError, match=missing):
        create_app(Settings.from_env(environ))


def test_production_with_its_secrets_starts() -> None:
    settings = Settings.from_env({
        "APP_ENV": "production", "TWILIO_ACCOUNT_SID": "AC1", "TWILIO_AUTH_TOKEN": "t",
        "SECRET_KEY": "s3cret", "PUBLIC_BASE_URL": "https://ivr.example.com"})
    assert create_app(settings).extensions["callcenter"].settings.environment == "production"


def _count(app_services, model) -> int:  # type: ignore[no-untyped-def]
    with app_services.database.session() as session:
        return int(session.scalar(select(func.count()).select_from(model)) or 0)


@pytest.mark.parametrize("path", ["/voice/incoming", "/voice/status", "/voice/fallback",
                                  "/ivr/menu?node=main&attempt=1", "/ivr/voicemail",
                                  "/queue/wait?skill=complaint", "/queue/left",
                                  "/recordings/status"])
def test_unsigned_webhooks_are_refused_and_change_nothing(  # type: ignore[no-untyped-def]
        client, app_services, path) -> None:
    response = client.post(path, data=call_params())
    assert response.status_code == 403
    forged = client.post(path, data=call_params(), headers={"X-Twilio-Signature": "Zm9yZ2Vk"})
    assert forged.status_code == 403
    assert _count(app_services, Call) == 0


def test_signature_over_other_parameters_is_refused(  # type: ignore[no-untyped-def]
        client, twilio: TwilioSigner, app_services) -> None:
    signature = twilio.signature("/voice/incoming", call_params(From="+8613900000000"))
    response = client.post("/voice/incoming", data=call_params(),
                           headers={"X-Twilio-Signature": signature})
    assert response.status_code == 403
    assert _count(app_services, Call) == 0


def test_signature_is_checked_against_the_public_url_behind_a_proxy(  # type: ignore[no-untyped-def]
        client, app_services, call_journal) -> None:
    # The test client reaches the app as http://localhost/, as a proxy would forward it;
    # Twilio signed the public https address, and only that signature is accepted.
    local = TwilioSigner(client, base_url="http://localhost")
    assert local.post("/voice/incoming", call_params()).status_code == 403
    public = TwilioSigner(client)
    response = public.post("/voice/incoming", call_params())
    assert response.status_code == 200
    assert response.mimetype == "text/xml"
    call_journal.ship()
    assert _count(app_services, Call) == 1


def test_retried_webhook_records_nothing_twice(  # type: ignore[no-untyped-def]
        twilio: TwilioSigner, app_services, call_journal) -> None:
    first = twilio.post("/voice/incoming", call_params())
    again = twilio.post("/voice/incoming", call_params())
    assert first.data == again.data
    tokens = {"I-Twilio-Idempotency-Token": "token-1"}
    answer = call_params(Digits="7")
    twilio.post("/ivr/menu?node=main&attempt=1", answer, headers=tokens)
    twilio.post("/ivr/menu?node=main&attempt=1", answer, headers=tokens)
    assert call_journal.ship() == 4  # every delivery is journaled; the database keeps one
    assert _count(app_services, Call) == 1
    assert _count(app_services, CallStep) == 2  # incoming + one menu answer


def test_status_callback_closes_the_call_once(  # type: ignore[no-untyped-def]
        twilio: TwilioSigner, app_services) -> None:
    twilio.post("/voice/incoming", call_params())
    done = call_params(CallStatus="completed", CallDuration="42")
    assert twilio.post("/voice/status", done).status_code == 200
    late = call_params(CallStatus="in-progress")
    twilio.post("/voice/status", late)
    with app_services.database.session() as session:
        call = session.scalar(select(Call))
        assert call is not None
        assert (call.status, call.duration_seconds) == ("completed", 42)
        assert call.ended_at is not None


def test_status_callback_for_an_unknown_call_creates_its_record(  # type: ignore[no-untyped-def]
        twilio, app_services) -> None:
    twilio.post("/voice/status", call_params(CallStatus="busy", CallDuration="0"))
    with app_services.database.session() as session:
        call = session.scalar(select(Call))
        assert call is not None and call.status == "busy"


@pytest.mark.parametrize("backend", ["sqlite", "postgresql"])
def test_migrations_build_the_schema_from_empty(  # type: ignore[no-untyped-def]
        backend: str, tmp_path) -> None:
    if backend == "sqlite":
        url = f"sqlite:///{tmp_path / 'fresh.sqlite3'}"
    else:
        url = TEST_POSTGRES_URL + "_migrations"
        create_postgres_database(url)
    migrate.upgrade(url)
    engine = create_engine(url)
    tables = set(inspect(engine).get_table_names())
    assert {table.name for table in Base.metadata.sorted_tables} <= tables
    assert "alembic_version" in tables
    migrate.downgrade(url, "base")
    assert set(inspect(engine).get_table_names()) <= {"alembic_version"}
    migrate.upgrade(url)
    assert {table.name for table in Base.metadata.sorted_tables} <= set(
        inspect(engine).get_table_names())
    engine.dispose()
    if backend == "postgresql":
        reset_postgres(url)


def test_the_migrated_schema_is_the_models(database_url: str) -> None:
    """What the migrations build (the ``database_url`` fixture's database) and what the
    models declare agree: a model change without its migration fails here."""
    engine = create_engine(database_url)
    with engine.connect() as connection:
        context = MigrationContext.configure(connection, opts={"compare_type": True})
        differences = compare_metadata(context, Base.metadata)
    engine.dispose()
    assert differences == []


def test_menu_webhooks_of_a_first_time_caller_run_no_sql(  # type: ignore[no-untyped-def]
        twilio: TwilioSigner, app_services, call_journal) -> None:
    # The hot path journals and answers from memory: the database takes the steps later,
    # in batches. A statement here would make the database what limits the hotline.
    statements: list[str] = []
    event.listen(app_services.database.engine, "before_cursor_execute",
                 lambda _c, _cur, statement, *_: statements.append(statement))
    twilio.post("/voice/incoming", call_params())  # loads the repeat-caller numbers once
    statements.clear()
    for call_sid in ("CA" + "1" * 32, "CA" + "2" * 32):
        twilio.post("/voice/incoming", call_params(call_sid=call_sid))
        twilio.post("/ivr/menu?node=main&attempt=1", call_params(call_sid=call_sid, Digits="7"))
        twilio.post("/ivr/menu?node=main&attempt=2", call_params(call_sid=call_sid, Digits="9"))
    assert statements == []
    assert call_journal.ship() == 7
    assert statements  # shipped: now the database has them
    assert _count(app_services, CallStep) == 7


def test_a_journal_that_cannot_be_written_sends_the_step_to_the_database(  # type: ignore[no-untyped-def]
        twilio: TwilioSigner, app_services, call_journal, tmp_path) -> None:
    blocker = tmp_path / "not-a-directory"
    blocker.write_text("")
    call_journal.directory = blocker / "journal"  # mkdir fails: the disk is 'full'
    response = twilio.post("/voice/incoming", call_params())
    assert response.status_code == 200 and "<Gather" in response.text
    assert _count(app_services, CallStep) == 1  # written at once, nothing left to ship


def test_a_status_callback_closes_the_call_even_if_the_journal_cannot_ship(  # type: ignore[no-untyped-def]
        twilio: TwilioSigner, app_services, call_journal) -> None:
    twilio.post("/voice/incoming", call_params())
    ship = call_journal.apply

    def database_refuses(batch: bytes) -> None:
        raise RuntimeError("database refused the batch")

    call_journal.apply = database_refuses
    done = call_params(CallStatus="completed", CallDuration="42")
    assert twilio.post("/voice/status", done).status_code == 200
    with app_services.database.session() as session:
        call = session.scalar(select(Call))
        assert call is not None and call.status == "completed"
    call_journal.apply = ship
    assert call_journal.ship() == 1  # the step waited in the journal, and is not lost
    assert _count(app_services, CallStep) == 1


def test_production_refuses_to_start_without_a_writable_journal(tmp_path) -> None:  # type: ignore[no-untyped-def]
    blocker = tmp_path / "file"
    blocker.write_text("")
    settings = Settings(environment="production", twilio_account_sid="AC" + "1" * 32,
                        twilio_auth_token="token", secret_key="secret",
                        public_base_url="https://hotline.example.cn",
                        call_journal_dir=str(blocker / "journal"))
    with pytest.raises(SettingsError, match="CALL_JOURNAL_DIR"):
        settings.check_for_start()
