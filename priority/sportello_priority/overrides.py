"""A supervisor's override: pins a conversation's priority (a journalist the model missed, a false
alarm) until cleared or until it expires. Model re-scores keep it; the breakdown says so."""

from __future__ import annotations

import uuid
from datetime import UTC, datetime

import structlog
from sqlalchemy import RowMapping

from sportello.contracts import ConversationPrioritised
from sportello.db import Tx
from sportello.http.problems import NotFound
from sportello_priority import metrics, service
from sportello_priority.composition import Override
from sportello_priority.config import PriorityConfig
from sportello_priority.repository import OVERRIDE_EXPIRY, ScoreRepository
from sportello_priority.schemas import OverrideIn

log = structlog.get_logger(__name__)


async def current(tx: Tx, conversation_id: uuid.UUID,
                  now: datetime | None = None) -> RowMapping:
    """The override in force (one past its end, not yet dropped, is not)."""
    row = await ScoreRepository(tx.session).override(conversation_id)
    if row is None or not Override.of(row).in_force(now or datetime.now(UTC)):
        raise NotFound(f"conversation {conversation_id} has no priority override")
    return row


async def set_override(tx: Tx, conversation_id: uuid.UUID, body: OverrideIn, by: str,
                       config: PriorityConfig,
                       now: datetime | None = None) -> tuple[RowMapping, ConversationPrioritised]:
    now = now or datetime.now(UTC)
    repo = ScoreRepository(tx.session)
    conversation = await _locked(repo, conversation_id)
    row = await repo.put_override(dict(
        conversation_id=conversation_id, priority=body.priority, reason=body.reason, set_by=by,
        set_at=now, expires_at=body.expires_at))
    # Exactly at the new end (a replaced override's earlier end must not clear this one).
    await repo.replace_checkpoint(conversation_id, OVERRIDE_EXPIRY, body.expires_at)
    event = await service.prioritise_now(tx, repo, conversation, config, now, "overridden")
    metrics.OVERRIDES.labels(action="set").inc()
    log.info("priority.override_set", conversation_id=str(conversation_id),
             priority=body.priority, by=by,
             expires_at=body.expires_at.isoformat() if body.expires_at else None)
    return row, event


async def clear_override(tx: Tx, conversation_id: uuid.UUID, config: PriorityConfig,
                         now: datetime | None = None) -> ConversationPrioritised:
    """Back to the model's priority, announced at once."""
    now = now or datetime.now(UTC)
    repo = ScoreRepository(tx.session)
    conversation = await _locked(repo, conversation_id)
    removed = await repo.delete_override(conversation_id)
    if removed is None or not Override.of(removed).in_force(now):
        # Already over: the ticker's recomputation announces (or announced) the end.
        raise NotFound(f"conversation {conversation_id} has no priority override")
    await repo.replace_checkpoint(conversation_id, OVERRIDE_EXPIRY, None)
    event = await service.prioritise_now(tx, repo, conversation, config, now, "override_cleared")
    metrics.OVERRIDES.labels(action="cleared").inc()
    log.info("priority.override_cleared", conversation_id=str(conversation_id),
             priority=event.priority)
    return event


async def _locked(repo: ScoreRepository, conversation_id: uuid.UUID) -> RowMapping:
    # The conversation's lock first, as every writer of its priority takes it: the override and
    # the priority announced with it change together, in one order with message scoring.
    conversation = await repo.lock_conversation(conversation_id)
    if conversation is None:
        raise NotFound(f"priority has never seen conversation {conversation_id}")
    return conversation
