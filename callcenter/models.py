"""Imports every model module so that ``Base.metadata`` knows all tables (Alembic, tests)."""

from __future__ import annotations

from callcenter.db import Base
from handlers import models as complaint_models
from ivr import models as ivr_models
from queues import models as queue_models
from recordings import models as recording_models
from staff import models as staff_models

__all__ = [
    "Base", "complaint_models", "ivr_models", "queue_models", "recording_models", "staff_models",
]
