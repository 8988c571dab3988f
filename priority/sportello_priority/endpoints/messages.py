"""A message's score explained, agents' corrections, and the labels they make for training."""

from __future__ import annotations

import uuid
from typing import Annotated, Any

from fastapi import APIRouter, Depends, Query

from sportello.http.auth import Principal, require
from sportello_priority import corrections
from sportello_priority.endpoints.common import PriorityContext, who
from sportello_priority.schemas import CorrectionIn, LabelOut, LabelPage, MessageScoreOut

router = APIRouter(prefix="/v1/priority", tags=["priority"])


def _score_out(row: Any) -> MessageScoreOut:
    probabilities = None
    if row["p_negative"] is not None:
        probabilities = {"negative": row["p_negative"], "neutral": row["p_neutral"],
                         "positive": row["p_positive"]}
    return MessageScoreOut(
        message_id=row["message_id"], conversation_id=row["conversation_id"], score=row["score"],
        sentiment=row["sentiment_label"], sentiment_score=row["sentiment_score"],
        probabilities=probabilities, corrected_sentiment=row["corrected_label"],
        intent=row["intent"], urgency=row["urgency"], breakdown=row["breakdown"],
        scorer=row["scorer"])


@router.get("/messages/{message_id}", response_model=MessageScoreOut,
            summary="How an inbound message was scored, factor by factor")
async def get_message_score(message_id: uuid.UUID, ctx: PriorityContext,
                            _: Annotated[Principal, Depends(require("agent"))]) -> MessageScoreOut:
    async with ctx.db.transaction() as tx:
        return _score_out(await corrections.message_score(tx, message_id))


@router.put("/messages/{message_id}/labels", response_model=LabelOut,
            summary="Correct the sentiment and/or intent of a message (kept for the next training)")
async def correct_message(message_id: uuid.UUID, body: CorrectionIn, ctx: PriorityContext,
                          principal: Annotated[Principal, Depends(require("agent"))]) -> LabelOut:
    async with ctx.db.transaction() as tx:
        label = await corrections.correct(tx, message_id, body, who(principal))
        return LabelOut.model_validate(dict(label))


@router.get("/labels", response_model=LabelPage,
            summary="Agents' corrections with their texts: the training set (`train --from-db`)")
async def list_labels(ctx: PriorityContext,
                      _: Annotated[Principal, Depends(require("admin"))],
                      after: Annotated[uuid.UUID | None, Query()] = None,
                      limit: Annotated[int, Query(ge=1, le=1000)] = 200) -> LabelPage:
    async with ctx.db.transaction() as tx:
        rows = await corrections.labels_page(tx, after, limit)
    return LabelPage(items=[LabelOut.model_validate(r) for r in rows],
                     next_after=rows[-1]["message_id"] if len(rows) == limit else None)
