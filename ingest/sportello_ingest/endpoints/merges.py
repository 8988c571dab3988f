"""The identity graph's decisions: merge suggestions accepted or rejected, merges looked up and undone."""

from __future__ import annotations

import uuid
from datetime import UTC, datetime
from typing import Annotated

from fastapi import APIRouter, Depends

from sportello.http.auth import Principal, require
from sportello.http.problems import NotFound
from sportello_ingest import identity_graph
from sportello_ingest.endpoints.common import IngestContext, actor_of
from sportello_ingest.repository import IngestRepository
from sportello_ingest.schemas import MergeOut, SuggestionOut

router = APIRouter(tags=["customers"])
Agent = Annotated[Principal, Depends(require("agent"))]
Supervisor = Annotated[Principal, Depends(require("supervisor"))]


@router.get("/v1/merge-suggestions/{suggestion_id}", response_model=SuggestionOut, summary="A merge suggestion")
async def suggestion(suggestion_id: uuid.UUID, ctx: IngestContext, _: Agent) -> SuggestionOut:
    async with ctx.db.transaction() as tx:
        found = await IngestRepository(tx.session).suggestion(suggestion_id)
    if found is None:
        raise NotFound(f"No merge suggestion {suggestion_id}.")
    return SuggestionOut.model_validate(found)


@router.post("/v1/merge-suggestions/{suggestion_id}/accept", response_model=SuggestionOut,
             summary="Accept: merge other_customer_id into customer_id (merge_id names the merge)",
             responses={404: {"description": "No such suggestion"},
                        409: {"description": "Already decided, or the two are already one customer"}})
async def accept(suggestion_id: uuid.UUID, ctx: IngestContext, principal: Supervisor) -> SuggestionOut:
    async with ctx.db.transaction() as tx:
        decided, _ = await identity_graph.accept(tx, suggestion_id, actor_of(principal), datetime.now(UTC))
    return SuggestionOut.model_validate(decided)


@router.post("/v1/merge-suggestions/{suggestion_id}/reject", response_model=SuggestionOut,
             summary="Reject: the two stay apart (intake does not suggest the pair again)",
             responses={404: {"description": "No such suggestion"}, 409: {"description": "Already decided"}})
async def reject(suggestion_id: uuid.UUID, ctx: IngestContext, principal: Supervisor) -> SuggestionOut:
    async with ctx.db.transaction() as tx:
        decided = await identity_graph.reject(tx, suggestion_id, actor_of(principal), datetime.now(UTC))
    return SuggestionOut.model_validate(decided)


@router.get("/v1/merges/{merge_id}", response_model=MergeOut, summary="A merge, with the identities it moved")
async def merge(merge_id: uuid.UUID, ctx: IngestContext, _: Agent) -> MergeOut:
    async with ctx.db.transaction() as tx:
        found = await IngestRepository(tx.session).merge(merge_id)
    if found is None:
        raise NotFound(f"No merge {merge_id}.")
    return MergeOut.model_validate(found)


@router.post("/v1/merges/{merge_id}/unmerge", response_model=MergeOut,
             summary="Undo a merge: the merged customer gets back the identities it brought",
             responses={404: {"description": "No such merge"},
                        409: {"description": "Already undone, or the survivor was merged elsewhere since "
                                             "(blocking_merge_id names the merge to undo first)"}})
async def unmerge(merge_id: uuid.UUID, ctx: IngestContext, principal: Supervisor) -> MergeOut:
    async with ctx.db.transaction() as tx:
        record = await identity_graph.unmerge(tx, merge_id, actor_of(principal), datetime.now(UTC))
    return MergeOut.model_validate(record)
