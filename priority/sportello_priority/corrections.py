"""Agents correct what the models said about a message; each correction is a training example.

The label keeps the message's text (copied when the message was scored), so ``train`` can build the
next model from the corrections alone. A sentiment correction also replaces the model's label in
the conversation's trajectory.
"""

from __future__ import annotations

import uuid
from datetime import UTC, datetime
from typing import Any

import structlog
from sqlalchemy import RowMapping

from sportello.db import Tx
from sportello.http.problems import InvalidRequest, NotFound
from sportello_priority.repository import ScoreRepository
from sportello_priority.schemas import CorrectionIn

log = structlog.get_logger(__name__)


async def message_score(tx: Tx, message_id: uuid.UUID) -> RowMapping:
    found = await ScoreRepository(tx.session).message_score(message_id)
    if found is None:
        raise NotFound(f"No scored message {message_id} (only inbound messages are scored).")
    return found


async def correct(tx: Tx, message_id: uuid.UUID, correction: CorrectionIn, by: str) -> RowMapping:
    if correction.sentiment is None and correction.intent is None:
        raise InvalidRequest("Give the correct sentiment, intent, or both.")
    scored = await message_score(tx, message_id)
    if scored["text"] is None:
        raise InvalidRequest(f"Message {message_id} was scored before texts were kept; it cannot "
                             "become a training example.")
    repo = ScoreRepository(tx.session)
    label = await repo.put_label(dict(message_id=message_id, text=scored["text"],
                                      sentiment=correction.sentiment, intent=correction.intent,
                                      corrected_by=by))
    if correction.sentiment is not None:
        await repo.correct_label(message_id, correction.sentiment)
        await repo.request_recompute([scored["conversation_id"]], datetime.now(UTC), "correction")
    log.info("priority.corrected", message_id=str(message_id), by=by,
             sentiment=correction.sentiment, intent=correction.intent)
    return label


async def labels_page(tx: Tx, after: uuid.UUID | None, limit: int) -> list[dict[str, Any]]:
    return [dict(row) for row in await ScoreRepository(tx.session).labels_page(after, limit)]
