"""Customers as ingest knows them: profile, identities, block at the door."""

from __future__ import annotations

import uuid
from typing import Annotated

from fastapi import APIRouter, Depends

from sportello.http.auth import Principal, require
from sportello.http.problems import Conflict, NotFound
from sportello_ingest.endpoints.common import IngestContext
from sportello_ingest.repository import IngestRepository
from sportello_ingest.schemas import BlockIn, CustomerOut, IdentityIn

router = APIRouter(prefix="/v1/customers", tags=["customers"])


async def _customer(repo: IngestRepository, customer_id: uuid.UUID) -> CustomerOut:
    found = await repo.customer(customer_id)
    if found is None:
        raise NotFound(f"No customer {customer_id}.")
    return CustomerOut(**found, identities=await repo.identities_of(customer_id))


@router.get("/{customer_id}", response_model=CustomerOut, summary="A customer and their identities")
async def get_customer(customer_id: uuid.UUID, ctx: IngestContext,
                       _: Annotated[Principal, Depends(require("agent"))]) -> CustomerOut:
    async with ctx.db.transaction() as tx:
        return await _customer(IngestRepository(tx.session), customer_id)


@router.post("/{customer_id}/identities", response_model=CustomerOut,
             summary="Link an identity (e.g. an e-mail address) so its messages join this customer's history",
             responses={409: {"description": "The identity belongs to another customer (merging is a "
                                             "separate, audited operation)"}})
async def link_identity(customer_id: uuid.UUID, body: IdentityIn, ctx: IngestContext,
                        _: Annotated[Principal, Depends(require("supervisor"))]) -> CustomerOut:
    async with ctx.db.transaction() as tx:
        repo = IngestRepository(tx.session)
        if await repo.customer(customer_id) is None:
            raise NotFound(f"No customer {customer_id}.")
        owner = await repo.add_identity(body.platform, body.external_id, customer_id, body.handle, "api")
        if owner != customer_id:
            raise Conflict(f"{body.platform}:{body.external_id} belongs to another customer.",
                           customer_id=str(owner))
        return await _customer(repo, customer_id)


async def _set_blocked(ctx: IngestContext, customer_id: uuid.UUID, blocked: bool,
                       reason: str | None) -> CustomerOut:
    async with ctx.db.transaction() as tx:
        repo = IngestRepository(tx.session)
        if not await repo.set_blocked(customer_id, blocked, reason):
            raise NotFound(f"No customer {customer_id}.")
        return await _customer(repo, customer_id)


@router.post("/{customer_id}/block", response_model=CustomerOut,
             summary="Block: their messages are archived but open no conversation and queue no work")
async def block(customer_id: uuid.UUID, body: BlockIn, ctx: IngestContext,
                _: Annotated[Principal, Depends(require("supervisor"))]) -> CustomerOut:
    return await _set_blocked(ctx, customer_id, True, body.reason)


@router.post("/{customer_id}/unblock", response_model=CustomerOut, summary="Unblock")
async def unblock(customer_id: uuid.UUID, ctx: IngestContext,
                  _: Annotated[Principal, Depends(require("supervisor"))]) -> CustomerOut:
    return await _set_blocked(ctx, customer_id, False, None)
