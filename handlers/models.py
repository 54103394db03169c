"""Complaint records (投诉受理单)."""

from __future__ import annotations

from datetime import datetime
from enum import StrEnum

from sqlalchemy import Boolean, String, Text
from sqlalchemy.orm import Mapped, mapped_column

from callcenter.db import Base, UTCDateTime, utcnow


class Stage(StrEnum):
    """The handling stages a caller hears about, in order."""

    ACCEPT = "accept"  # 受理
    VERIFY = "verify"  # 核实
    HANDLE = "handle"  # 处理
    FEEDBACK = "feedback"  # 反馈
    ARCHIVE = "archive"  # 归档


class Complaint(Base):
    """One complaint, its classification, and where it stands."""

    __tablename__ = "complaints"

    id: Mapped[int] = mapped_column(primary_key=True)
    number: Mapped[str] = mapped_column(String(16), unique=True)
    query_pin_hash: Mapped[str] = mapped_column(String(128))
    caller_number: Mapped[str] = mapped_column(String(32), index=True)
    contact_name: Mapped[str] = mapped_column(String(64), default="")
    contact_number: Mapped[str] = mapped_column(String(32), default="")
    channel: Mapped[str] = mapped_column(String(16), default="phone")
    subject: Mapped[str] = mapped_column(String(128), default="")
    description: Mapped[str] = mapped_column(Text, default="")
    demand: Mapped[str] = mapped_column(String(64), default="")
    complaint_class: Mapped[str] = mapped_column(String(16), default="")
    urgency: Mapped[str] = mapped_column(String(16), default="")
    stage: Mapped[str] = mapped_column(String(16), default=Stage.ACCEPT)
    is_major: Mapped[bool] = mapped_column(Boolean, default=False)
    expected_completion_at: Mapped[datetime | None] = mapped_column(UTCDateTime())
    result: Mapped[str] = mapped_column(Text, default="")
    created_at: Mapped[datetime] = mapped_column(UTCDateTime(), default=utcnow)
    closed_at: Mapped[datetime | None] = mapped_column(UTCDateTime())
