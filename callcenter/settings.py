"""The one settings object of the service, read from environment variables.

Every variable is documented in the README. ``Settings.from_env`` parses and checks
values; ``Settings.check_for_start`` refuses to start production without its secrets.
"""

from __future__ import annotations

import dataclasses
import os
import tempfile
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import time
from pathlib import Path
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

DEFAULT_DATA_DIR = Path("var")


class SettingsError(ValueError):
    """A setting is missing or malformed; the message names the variable."""


def _parse_bool(name: str, raw: str) -> bool:
    value = raw.strip().lower()
    if value in {"1", "true", "yes", "on"}:
        return True
    if value in {"0", "false", "no", "off", ""}:
        return False
    raise SettingsError(f"{name} must be true or false, got {raw!r}")


def _parse_int(name: str, raw: str, minimum: int = 0) -> int:
    try:
        value = int(raw)
    except ValueError:
        raise SettingsError(f"{name} must be a whole number, got {raw!r}") from None
    if value < minimum:
        raise SettingsError(f"{name} must be at least {minimum}, got {value}")
    return value


def parse_hours(name: str, raw: str) -> tuple[time, time]:
    """Parse ``HH:MM-HH:MM`` into opening and closing times."""
    try:
        start_text, end_text = raw.split("-")
        start, end = time.fromisoformat(start_text.strip()), time.fromisoformat(end_text.strip())
    except ValueError:
        raise SettingsError(f"{name} must look like 09:00-21:00, got {raw!r}") from None
    if start == end:
        raise SettingsError(f"{name} opens and closes at the same minute: {raw!r}")
    return start, end


@dataclass(frozen=True)
class Settings:
    """Configuration of one deployment. Field docs live in the README's settings table."""

    environment: str = "development"
    database_url: str = f"sqlite:///{DEFAULT_DATA_DIR / 'hotline.sqlite3'}"
    redis_url: str = "redis://localhost:6379/0"
    twilio_account_sid: str = ""
    twilio_auth_token: str = ""
    twilio_api_base_url: str = ""
    twilio_caller_id: str = "+864000000000"
    public_base_url: str = "http://localhost:5000"
    timezone: str = "Asia/Shanghai"
    business_hours: str = "09:00-21:00"
    ivr_menu_enabled: bool = True
    prompts_path: str = ""
    recordings_dir: str = str(DEFAULT_DATA_DIR / "recordings")
    lookup_max_failures: int = 5
    lookup_lockout_seconds: int = 900
    secret_key: str = "dev-only-not-secret"
    policy_path: str = ""
    routing_config_path: str = ""
    recordings_storage: str = "local"
    recordings_s3_bucket: str = ""
    recordings_s3_endpoint_url: str = ""
    recordings_delete_from_provider: bool = False
    recordings_retention_days: int = 3650
    call_journal_dir: str = str(DEFAULT_DATA_DIR / "journal")
    upkeep_interval_ms: int = 1000

    ENV_NAMES = {
        "environment": "APP_ENV",
        "database_url": "DATABASE_URL",
        "redis_url": "REDIS_URL",
        "twilio_account_sid": "TWILIO_ACCOUNT_SID",
        "twilio_auth_token": "TWILIO_AUTH_TOKEN",
        "twilio_api_base_url": "TWILIO_API_BASE_URL",
        "twilio_caller_id": "TWILIO_CALLER_ID",
        "public_base_url": "PUBLIC_BASE_URL",
        "timezone": "CALL_CENTER_TIMEZONE",
        "business_hours": "BUSINESS_HOURS",
        "ivr_menu_enabled": "IVR_MENU_ENABLED",
        "prompts_path": "PROMPTS_PATH",
        "recordings_dir": "RECORDINGS_DIR",
        "lookup_max_failures": "LOOKUP_MAX_FAILURES",
        "lookup_lockout_seconds": "LOOKUP_LOCKOUT_SECONDS",
        "secret_key": "SECRET_KEY",
        "policy_path": "POLICY_PATH",
        "routing_config_path": "ROUTING_CONFIG_PATH",
        "recordings_storage": "RECORDINGS_STORAGE",
        "recordings_s3_bucket": "RECORDINGS_S3_BUCKET",
        "recordings_s3_endpoint_url": "RECORDINGS_S3_ENDPOINT_URL",
        "recordings_delete_from_provider": "RECORDINGS_DELETE_FROM_PROVIDER",
        "recordings_retention_days": "RECORDINGS_RETENTION_DAYS",
        "call_journal_dir": "CALL_JOURNAL_DIR",
        "upkeep_interval_ms": "UPKEEP_INTERVAL_MS",
    }

    @classmethod
    def from_env(cls, environ: Mapping[str, str] | None = None, **overrides: object) -> Settings:
        """Build settings from ``environ`` (default ``os.environ``), then apply ``overrides``."""
        environ = os.environ if environ is None else environ
        values: dict[str, object] = {}
        for field in dataclasses.fields(cls):
            env_name = cls.ENV_NAMES[field.name]
            if env_name not in environ:
                continue
            raw = environ[env_name]
            if field.type == "bool":
                values[field.name] = _parse_bool(env_name, raw)
            elif field.type == "int":
                values[field.name] = _parse_int(env_name, raw)
            else:
                values[field.name] = raw.strip()
        values.update(overrides)
        settings = cls(**values)  # type: ignore[arg-type]
        settings.validate()
        return settings

    def validate(self) -> None:
        """Check every value that can be checked without connecting anywhere."""
        if self.environment not in {"development", "test", "production"}:
            raise SettingsError(
                f"APP_ENV must be development, test or production, got {self.environment!r}"
            )
        try:
            ZoneInfo(self.timezone)
        except (ZoneInfoNotFoundError, ValueError):
            raise SettingsError(
                f"CALL_CENTER_TIMEZONE is not a known time zone: {self.timezone!r}"
            ) from None
        parse_hours("BUSINESS_HOURS", self.business_hours)
        if not self.public_base_url.startswith(("http://", "https://")):
            raise SettingsError(
                f"PUBLIC_BASE_URL must be an absolute http(s) address, got {self.public_base_url!r}"
            )
        if self.recordings_storage not in {"local", "s3"}:
            raise SettingsError(
                f"RECORDINGS_STORAGE must be local or s3, got {self.recordings_storage!r}"
            )
        if self.recordings_storage == "s3" and not self.recordings_s3_bucket:
            raise SettingsError("RECORDINGS_S3_BUCKET must be set when RECORDINGS_STORAGE=s3")
        if not 10 <= self.upkeep_interval_ms <= 60_000:
            raise SettingsError(
                f"UPKEEP_INTERVAL_MS must be between 10 and 60000, got {self.upkeep_interval_ms}"
            )
        if not self.redis_url.startswith(("redis://", "rediss://", "unix://")):
            raise SettingsError(f"REDIS_URL must be a redis:// address, got {self.redis_url!r}")

    def check_for_start(self) -> None:
        """Refuse to start production with a missing secret, naming the variable."""
        if self.environment != "production":
            return
        for field in ("twilio_account_sid", "twilio_auth_token", "secret_key"):
            value = getattr(self, field)
            if not value or value == Settings.secret_key:
                raise SettingsError(
                    f"{self.ENV_NAMES[field]} must be set in production (APP_ENV=production)"
                )
        if not self.public_base_url.startswith("https://"):
            raise SettingsError("PUBLIC_BASE_URL must be an https address in production")
        try:  # every webhook appends to it: find out now, not on the first call
            Path(self.call_journal_dir).mkdir(parents=True, exist_ok=True)
            tempfile.TemporaryFile(dir=self.call_journal_dir).close()
        except OSError as error:
            raise SettingsError(f"CALL_JOURNAL_DIR {self.call_journal_dir!r} is not a "
                                f"writable directory: {error}") from None

    def to_env(self) -> dict[str, str]:
        """These settings as environment variables, for a worker or server subprocess."""
        env = {}
        for field in dataclasses.fields(self):
            value = getattr(self, field.name)
            env[self.ENV_NAMES[field.name]] = (
                ("true" if value else "false") if isinstance(value, bool) else str(value)
            )
        return env

    @property
    def zone(self) -> ZoneInfo:
        return ZoneInfo(self.timezone)

    @property
    def opening_hours(self) -> tuple[time, time]:
        return parse_hours("BUSINESS_HOURS", self.business_hours)

    def public_url(self, path: str) -> str:
        """The absolute address Twilio uses for ``path`` (webhooks, callbacks, media)."""
        return join_url(self.public_base_url, path)


def join_url(base: str, path: str) -> str:
    return base.rstrip("/") + "/" + path.lstrip("/")
