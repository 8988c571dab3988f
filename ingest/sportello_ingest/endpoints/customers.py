"""Customers as ingest knows them: profile, identities, block at the door, and the identity graph's edge (link,
merge, suggestions, audit trail, history). The rules are in ``identity_graph``."""

from __future__ import annotations

import uuid
from datetime import UTC, datetime
from typing import Annotated, Literal

from fastapi import APIRouter, Depends, Query, status
from fastapi.responses import JSONResponse

from sportello.http.auth import Principal, require
from sportello.http.problems import NotFound
from sportello_ingest import identity_graph
from sportello_ingest.endpoints.common import IngestContext, actor_of
from sportello_ingest.repository import IngestRepository
from sportello_ingest.schemas import (
    AuditOut,
    BlockIn,
    CustomerConversationOut,
    CustomerOut,
    IdentityIn,
    LinkOut,
    MergeIn,
    MergeOut,
    SuggestionOut,
)

router = APIRouter(prefix="/v1/customers", tags=["customers"])
Agent = Annotated[Principal, Depends(require("agent"))]
Supervisor = Annotated[Principal, Depends(require("supervisor"))]
Limit = Annotated[int, Query(ge=1, le=500)]
SuggestionStatus = Literal["pending", "accepted", "rejected", "all"]


async def _customer(repo: IngestRepository, customer_id: uuid.UUID) -> CustomerOut:
    found = await repo.customer(customer_id)
    if found is None:
        raise NotFound(f"No customer {customer_id}.")
    return CustomerOut(**found, identities=await repo.identities_of(customer_id))


async def _exists(repo: IngestRepository, customer_id: uuid.UUID) -> None:
    if await repo.customer(customer_id) is None:
        raise NotFound(f"No customer {customer_id}.")


@router.get("/{customer_id}", response_model=CustomerOut,
            summary="A customer and their identities (a merged one has merged_into set: follow it)")
async def get_customer(customer_id: uuid.UUID, ctx: IngestContext, _: Agent) -> CustomerOut:
    async with ctx.db.transaction() as tx:
        return await _customer(IngestRepository(tx.session), customer_id)


@router.post("/{customer_id}/identities", response_model=LinkOut,
             summary="Link an identity (e.g. an e-mail address) so its messages join this customer's history",
             responses={202: {"model": SuggestionOut,
                              "description": "verified: false and another customer has it: no merge, a merge "
                                             "suggestion instead"},
                        404: {"description": "No such customer"},
                        409: {"description": "verified omitted and another customer has it; or this customer "
                                             "was merged into another (merged_into names it)"}})
async def link_identity(customer_id: uuid.UUID, body: IdentityIn, ctx: IngestContext,
                        principal: Supervisor) -> LinkOut | JSONResponse:
    async with ctx.db.transaction() as tx:
        linked = await identity_graph.link(tx, customer_id, body.platform, body.external_id, body.handle,
                                           body.verified, actor_of(principal), datetime.now(UTC))
        if linked.outcome == "suggested":
            assert linked.suggestion is not None
            return JSONResponse(SuggestionOut.model_validate(linked.suggestion).model_dump(mode="json"),
                                status_code=status.HTTP_202_ACCEPTED)
        customer = await _customer(IngestRepository(tx.session), customer_id)
    return LinkOut(**customer.model_dump(), outcome=linked.outcome,
                   merge=MergeOut.model_validate(linked.merge) if linked.merge else None,
                   suggestion=SuggestionOut.model_validate(linked.suggestion) if linked.suggestion else None)


@router.post("/{customer_id}/merge", response_model=MergeOut, status_code=status.HTTP_201_CREATED,
             summary="Merge another customer into this one: its identities move here, its history joins this one",
             responses={404: {"description": "Either customer does not exist"},
                        409: {"description": "The same customer, or either one is already merged"}})
async def merge(customer_id: uuid.UUID, body: MergeIn, ctx: IngestContext, principal: Supervisor) -> MergeOut:
    async with ctx.db.transaction() as tx:
        record = await identity_graph.merge(tx, customer_id, body.other_customer_id, automatic=False,
                                            reason=body.reason, actor=actor_of(principal), now=datetime.now(UTC))
    return MergeOut.model_validate(record)


@router.get("/{customer_id}/merges", response_model=list[MergeOut],
            summary="Merges this customer took part in (as survivor or as merged), newest first")
async def merges(customer_id: uuid.UUID, ctx: IngestContext, _: Agent, limit: Limit = 100) -> list[MergeOut]:
    async with ctx.db.transaction() as tx:
        repo = IngestRepository(tx.session)
        await _exists(repo, customer_id)
        return [MergeOut.model_validate(m) for m in await repo.merges_of(customer_id, limit)]


@router.get("/{customer_id}/merge-suggestions", response_model=list[SuggestionOut],
            summary="Merge suggestions about this customer (and customers merged into them), newest first")
async def merge_suggestions(customer_id: uuid.UUID, ctx: IngestContext, _: Agent,
                            status_: Annotated[SuggestionStatus, Query(alias="status")] = "pending",
                            limit: Limit = 100) -> list[SuggestionOut]:
    statuses = ("pending", "accepted", "rejected") if status_ == "all" else (status_,)
    async with ctx.db.transaction() as tx:
        repo = IngestRepository(tx.session)
        await _exists(repo, customer_id)
        return [SuggestionOut.model_validate(s) for s in await repo.suggestions_of(customer_id, statuses, limit)]


@router.get("/{customer_id}/audit", response_model=list[AuditOut],
            summary="The customer's identity audit trail (links, merges, suggestions), newest first")
async def audit(customer_id: uuid.UUID, ctx: IngestContext, _: Agent, limit: Limit = 100) -> list[AuditOut]:
    async with ctx.db.transaction() as tx:
        repo = IngestRepository(tx.session)
        await _exists(repo, customer_id)
        return [AuditOut.model_validate(row) for row in await repo.audit_of(customer_id, limit)]


@router.get("/{customer_id}/conversations", response_model=list[CustomerConversationOut],
            summary="The customer's history: their conversations and those of customers merged into them")
async def conversations(customer_id: uuid.UUID, ctx: IngestContext, _: Agent,
                        limit: Limit = 100) -> list[CustomerConversationOut]:
    async with ctx.db.transaction() as tx:
        repo = IngestRepository(tx.session)
        await _exists(repo, customer_id)
        return [CustomerConversationOut.model_validate(c) for c in await repo.conversations_of(customer_id, limit)]


async def _set_blocked(ctx: IngestContext, customer_id: uuid.UUID, blocked: bool,
                       reason: str | None) -> CustomerOut:
    async with ctx.db.transaction() as tx:
        repo = IngestRepository(tx.session)
        if not await repo.set_blocked(customer_id, blocked, reason):
            raise NotFound(f"No customer {customer_id}.")
        return await _customer(repo, customer_id)


@router.post("/{customer_id}/block", response_model=CustomerOut,
             summary="Block: their messages are archived but open no conversation and queue no work")
async def block(customer_id: uuid.UUID, body: BlockIn, ctx: IngestContext, _: Supervisor) -> CustomerOut:
    return await _set_blocked(ctx, customer_id, True, body.reason)


@router.post("/{customer_id}/unblock", response_model=CustomerOut, summary="Unblock")
async def unblock(customer_id: uuid.UUID, ctx: IngestContext, _: Supervisor) -> CustomerOut:
    return await _set_blocked(ctx, customer_id, False, None)
