"""Enqueueing the complaint jobs, once the rows they work on are committed.

Jobs are named by function, imported when enqueued, so that the domain modules that ask
for them do not import the job module (which imports them). Timeouts and retries are set
here, where each job is enqueued.
"""

from __future__ import annotations

from rq import Retry
from sqlalchemy.orm import Session

from callcenter.db import after_commit
from callcenter.jobs import COMPLAINTS, enqueue
from callcenter.services import services

SMS_RETRY = Retry(max=3, interval=[10, 60, 300])
SMS_TIMEOUT = 30
CALL_TIMEOUT = 60


def enqueue_sms(notification_id: int) -> None:
    from handlers import jobs

    enqueue(services(), COMPLAINTS, jobs.send_notification, notification_id,
            retry=SMS_RETRY, timeout=SMS_TIMEOUT)


def enqueue_survey_call(callback_id: int) -> None:
    """No RQ retry: a call placed twice rings the caller twice. A failure is an attempt."""
    from handlers import jobs

    enqueue(services(), COMPLAINTS, jobs.place_survey_call, callback_id, timeout=CALL_TIMEOUT)


def send_sms_after_commit(session: Session, notification_id: int) -> None:
    after_commit(session, lambda: enqueue_sms(notification_id))


def place_call_after_commit(session: Session, callback_id: int) -> None:
    after_commit(session, lambda: enqueue_survey_call(callback_id))
