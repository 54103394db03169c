"""The people who work the hotline: seats, room leads, the complaint room, managers."""

from __future__ import annotations

from datetime import datetime
from enum import StrEnum

from sqlalchemy import Boolean, String
from sqlalchemy.orm import Mapped, mapped_column

from callcenter.db import Base, UTCDateTime, utcnow


class Role(StrEnum):
    """Roles of the escalation chain, plus the supervisor who runs the floor."""

    SEAT = "first_seat"  # 第一客服
    ROOM_LEAD = "room_lead"  # 室负责人
    MAINTENANCE_ROOM = "maintenance_room"  # 客户维护室
    DEPUTY_GM = "deputy_gm"  # 副总经理
    GM = "gm"  # 总经理
    SUPERVISOR = "supervisor"  # 值班长: sees and changes every seat and complaint


class Staff(Base):
    """A person who signs in to the API or console with a bearer token."""

    __tablename__ = "staff"

    id: Mapped[str] = mapped_column(String(32), primary_key=True)
    name: Mapped[str] = mapped_column(String(64))
    role: Mapped[str] = mapped_column(String(32), index=True)
    token_hash: Mapped[str] = mapped_column(String(64), unique=True)
    active: Mapped[bool] = mapped_column(Boolean, default=True)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime(), default=utcnow)
