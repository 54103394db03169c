"""The database: declarative base, engine factory and the one session helper.

Flask views, RQ jobs and commands all open their unit of work with ``Database.session()``;
nothing connects at import time.
"""

from __future__ import annotations

import functools
import logging
import os
from collections.abc import Callable, Iterator
from contextlib import AbstractContextManager, contextmanager
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from sqlalchemy import DateTime, MetaData, create_engine, event
from sqlalchemy.engine import Engine, make_url
from sqlalchemy.orm import DeclarativeBase, Session, SessionTransaction, sessionmaker
from sqlalchemy.types import TypeDecorator

log = logging.getLogger(__name__)

NAMING_CONVENTION = {
    "ix": "ix_%(column_0_label)s",
    "uq": "uq_%(table_name)s_%(column_0_name)s",
    "ck": "ck_%(table_name)s_%(constraint_name)s",
    "fk": "fk_%(table_name)s_%(column_0_name)s_%(referred_table_name)s",
    "pk": "pk_%(table_name)s",
}


def utcnow() -> datetime:
    return datetime.now(UTC)


class UTCDateTime(TypeDecorator[datetime]):
    """Timezone-aware datetimes stored as UTC on every backend.

    SQLite has no time zone type; without this, values come back naive there and
    aware on PostgreSQL, and SLA arithmetic would differ between the two.
    """

    impl = DateTime(timezone=True)
    cache_ok = True

    def process_bind_param(self, value: datetime | None, dialect: Any) -> datetime | None:
        if value is None:
            return None
        if value.tzinfo is None:
            raise ValueError("naive datetime given to a UTCDateTime column")
        return value.astimezone(UTC)

    def process_result_value(self, value: datetime | None, dialect: Any) -> datetime | None:
        if value is None:
            return None
        if value.tzinfo is None:
            return value.replace(tzinfo=UTC)
        return value.astimezone(UTC)


class Base(DeclarativeBase):
    metadata = MetaData(naming_convention=NAMING_CONVENTION)


def create_db_engine(url: str) -> Engine:
    """Create the engine for ``url``; SQLite gets WAL and a busy timeout for many writers."""
    parsed = make_url(url)
    if parsed.get_backend_name() == "sqlite":
        if parsed.database and parsed.database != ":memory:":
            Path(parsed.database).parent.mkdir(parents=True, exist_ok=True)
        engine = create_engine(url, connect_args={"timeout": 30})

        @event.listens_for(engine, "connect")
        def _sqlite_pragmas(dbapi_connection: Any, _record: Any) -> None:
            cursor = dbapi_connection.cursor()
            cursor.execute("PRAGMA journal_mode=WAL")
            cursor.execute("PRAGMA synchronous=NORMAL")
            cursor.execute("PRAGMA foreign_keys=ON")
            cursor.execute("PRAGMA busy_timeout=30000")
            cursor.close()

        return engine
    # No pre-ping: it costs a round trip on every checkout; stale connections are recycled.
    return create_engine(url, pool_recycle=1800, pool_size=5, max_overflow=10)


class Database:
    """An engine and its session factory."""

    def __init__(self, url: str) -> None:
        self.url = url
        self._pid = os.getpid()
        self.engine = create_db_engine(url)
        self.sessionmaker = sessionmaker(self.engine, expire_on_commit=False)

    @contextmanager
    def session(self) -> Iterator[Session]:
        """One unit of work: commits when the block ends, rolls back on an exception."""
        with self.sessionmaker.begin() as session:
            yield session

    def session_on_demand(self) -> SessionOnDemand:
        """``session()`` for work that may not need the database: the unit of work begins
        at the first call of the object (a webhook that only journals never connects)."""
        return SessionOnDemand(self)

    def forget_parent_connections(self) -> None:
        """In a forked child, drop (without closing) the pooled connections of the parent.

        Closing them would close the parent's sockets; using them would interleave two
        processes on one connection. In the process that created the pool it does nothing.
        """
        if os.getpid() != self._pid:
            self.engine.dispose(close=False)
            self._pid = os.getpid()

    @property
    def dialect(self) -> str:
        return self.engine.dialect.name

    def dispose(self) -> None:
        self.engine.dispose()


class SessionOnDemand:
    """A context manager like ``Database.session()`` whose session begins when first asked
    for; a plain class because it wraps every webhook (a generator costs more)."""

    __slots__ = ("_database", "_unit", "_session")

    def __init__(self, database: Database) -> None:
        self._database = database
        self._unit: AbstractContextManager[Session] | None = None
        self._session: Session | None = None

    def __call__(self) -> Session:
        if self._session is None:
            self._unit = self._database.session()
            self._session = self._unit.__enter__()
        return self._session

    def __enter__(self) -> SessionOnDemand:
        return self

    def __exit__(self, *exc: Any) -> bool | None:
        return None if self._unit is None else self._unit.__exit__(*exc)


@functools.cache
def _insert_ignoring_conflict_statement(dialect: str, table: Any, conflict: tuple[str, ...]) -> Any:
    """Built once per table: a statement without values is compiled once and cached."""
    from sqlalchemy.dialects import postgresql, sqlite

    inserts: dict[str, Any] = {"postgresql": postgresql.insert, "sqlite": sqlite.insert}
    if dialect not in inserts:
        raise RuntimeError(f"unsupported database dialect {dialect}")
    insert = inserts[dialect]
    # RETURNING, not the row count: psycopg reports -1 for an INSERT, so only a returned
    # key says for certain that this statement inserted the row.
    return insert(table).on_conflict_do_nothing(index_elements=list(conflict)).returning(
        *table.primary_key.columns
    )


def insert_ignoring_conflict(
    session: Session, table: Any, values: dict[str, Any], conflict_columns: list[str]
) -> bool:
    """INSERT a row unless one with the same ``conflict_columns`` exists; True if inserted.

    The idempotency primitive for webhooks and callbacks that Twilio may deliver twice:
    one statement, no read-then-write race between two deliveries arriving together.
    """
    statement = _insert_ignoring_conflict_statement(
        session.get_bind().dialect.name, table, tuple(conflict_columns)
    )
    return session.execute(statement, values).first() is not None


_AFTER_COMMIT_KEY = "callcenter.after_commit"


def after_commit(session: Session, action: Callable[[], Any]) -> None:
    """Run ``action`` once ``session`` has committed its current transaction.

    A job enqueued inside a transaction could run before the rows it reads are committed
    (a worker picks it up within a millisecond) or for rows a rollback then discards. A
    failure here (Redis down) is logged, never raised: the rows are committed, and each
    package's periodic sweep redoes whatever was not enqueued.
    """
    session.info.setdefault(_AFTER_COMMIT_KEY, []).append(action)


@event.listens_for(Session, "after_commit")
def _run_after_commit(session: Session) -> None:
    for action in session.info.pop(_AFTER_COMMIT_KEY, []):
        try:
            action()
        except Exception:
            log.exception("work after commit failed; the periodic sweep will redo it")


@event.listens_for(Session, "after_soft_rollback")
def _drop_after_rollback(session: Session, previous: SessionTransaction) -> None:
    if previous.parent is None:
        session.info.pop(_AFTER_COMMIT_KEY, None)
