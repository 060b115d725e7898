"""Idempotent writes: an `Idempotency-Key` answers a retried request as the first time.

The key is claimed first (a row unique per token and key), then the write runs and its
response is stored on that row, all in one transaction. A concurrent duplicate waits on
the unique key and, once the first commits, fails to claim it and replays the stored
answer; the same key with another request is refused. Plain functions, no Flask.
"""

import hashlib
import json
from collections.abc import Callable
from datetime import datetime

from sqlalchemy import delete, select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from channel.api.models import IdempotencyRecord
from core.errors import InvalidInput


class KeyReused(Exception):
    """The key was already used for a different request."""


def request_hash(method: str, path: str, body) -> str:
    canonical = json.dumps([method, path, body], sort_keys=True, separators=(",", ":"))
    return hashlib.sha256(canonical.encode()).hexdigest()


def _replay(record: IdempotencyRecord, digest: str) -> tuple[int, dict, bool]:
    if record.request_hash != digest:
        raise KeyReused(record.key)
    return record.response_status, record.response_body, True


def run_once(
    session: Session,
    *,
    token_id: int,
    key: str | None,
    digest: str,
    write: Callable[[Session], tuple[int, dict]],
    refusal: Callable[[InvalidInput], tuple[int, dict]],
) -> tuple[int, dict, bool]:
    """(status, body, replayed): run `write` once per key, or answer as it did before.

    `write(session)` flushes and returns the status and JSON body; an `InvalidInput` it
    raises undoes its writes and becomes `refusal(error)`, stored like any answer. The
    caller commits.
    """
    if not key:
        return (*_attempt(session, write, refusal), False)
    existing = session.scalar(
        select(IdempotencyRecord).where(
            IdempotencyRecord.token_id == token_id, IdempotencyRecord.key == key
        )
    )
    if existing is not None:
        return _replay(existing, digest)
    record = IdempotencyRecord(
        token_id=token_id, key=key, request_hash=digest, response_status=0, response_body={}
    )
    try:
        with session.begin_nested():
            session.add(record)
    except IntegrityError:
        # A concurrent request with this key committed first: answer as it did.
        session.rollback()
        existing = session.scalar(
            select(IdempotencyRecord).where(
                IdempotencyRecord.token_id == token_id, IdempotencyRecord.key == key
            )
        )
        if existing is None:
            raise
        return _replay(existing, digest)
    status, body = _attempt(session, write, refusal)
    record.response_status = status
    record.response_body = body
    session.flush()
    return status, body, False


def _attempt(session, write, refusal) -> tuple[int, dict]:
    try:
        with session.begin_nested():
            return write(session)
    except InvalidInput as invalid:
        return refusal(invalid)


def forget_before(session: Session, cutoff: datetime) -> int:
    """Drop the records of keys first used before `cutoff`; a retry after that writes anew."""
    return session.execute(
        delete(IdempotencyRecord)
        .where(IdempotencyRecord.created_at < cutoff)
        .execution_options(synchronize_session=False)
    ).rowcount
