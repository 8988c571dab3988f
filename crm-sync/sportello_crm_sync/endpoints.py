"""crm-sync's HTTP edge: webhook subscriptions (admins) and their delivery log, the CRM queue
(supervisors), and the CRM's signed contact updates."""

from __future__ import annotations

import uuid
from datetime import UTC, datetime
from typing import Annotated, Literal

from fastapi import APIRouter, Depends, Query, Request, Response, status
from fastapi.exceptions import RequestValidationError
from pydantic import ValidationError

from sportello.http.auth import Principal, require
from sportello.http.problems import InvalidRequest, NotFound, Unauthorized
from sportello.http.signatures import verify
from sportello.runtime import Context, context_of
from sportello_crm_sync import contacts
from sportello_crm_sync.handlers import subscribed_types
from sportello_crm_sync.repository import Job, JobQueries, WebhookQueries
from sportello_crm_sync.schemas import (
    Attempt,
    ContactUpdateIn,
    ContactUpdateOut,
    CrmStatus,
    DeliveryOut,
    EventTypeOut,
    Rotated,
    Rotation,
    SubscriptionChange,
    SubscriptionCreated,
    SubscriptionIn,
    SubscriptionOut,
)
from sportello_crm_sync.settings import CrmSyncSettings
from sportello_crm_sync.webhooks import subscriptions as subs
from sportello_crm_sync.webhooks.catalogue import EVENT_TYPES

webhooks_router = APIRouter(prefix="/v1/webhooks", tags=["webhooks"])
crm_router = APIRouter(prefix="/v1/crm", tags=["crm"])
CrmContext = Annotated[Context, Depends(context_of("crm-sync"))]
Admin = Annotated[Principal, Depends(require("admin"))]
Supervisor = Annotated[Principal, Depends(require("supervisor"))]
Reader = Annotated[Principal, Depends(require("agent"))]
Limit = Annotated[int, Query(ge=1, le=500)]
State = Annotated[Literal["pending", "done", "failed", "stopped"] | None, Query()]
Before = Annotated[int | None, Query(description="The last id of the previous page")]


def _settings(ctx: Context) -> CrmSyncSettings:
    assert isinstance(ctx.settings, CrmSyncSettings), "COMPONENT declares CrmSyncSettings"
    return ctx.settings


def _delivery(job: Job, log: list[Attempt] | None = None) -> DeliveryOut:
    return DeliveryOut(id=job.id, kind=job.kind, subscription_id=job.subscription_id,
                       webhook_id=job.message_id, state=job.state,  # type: ignore[arg-type]
                       attempts=job.attempts, next_attempt_at=job.next_attempt_at,
                       last_error=job.last_error, created_at=job.created_at, done_at=job.done_at,
                       payload=job.payload, log=log)


# -- webhook subscriptions -----------------------------------------------------------------------

@webhooks_router.get("/event-types", response_model=list[EventTypeOut],
                     summary="The catalogue of webhook event types")
async def event_types(_: Reader) -> list[EventTypeOut]:
    return [EventTypeOut(type=kind, description=text) for kind, text in EVENT_TYPES.items()]


@webhooks_router.post("/subscriptions", response_model=SubscriptionCreated,
                      status_code=status.HTTP_201_CREATED,
                      summary="Subscribe a URL to event types; the signing secret is shown once")
async def create_subscription(body: SubscriptionIn, ctx: CrmContext, _: Admin) -> SubscriptionCreated:
    async with ctx.db.transaction() as tx:
        created = await subs.create(tx, url=str(body.url), event_types=body.event_types,
                                    description=body.description,
                                    allow_insecure=_settings(ctx).webhook_allow_insecure_urls)
    subscribed_types(ctx).invalidate()
    return SubscriptionCreated(**created)


@webhooks_router.get("/subscriptions", response_model=list[SubscriptionOut])
async def list_subscriptions(ctx: CrmContext, _: Admin) -> list[SubscriptionOut]:
    async with ctx.db.transaction() as tx:
        return [SubscriptionOut(**row) for row in await WebhookQueries(tx.session).listing()]


@webhooks_router.get("/subscriptions/{subscription_id}", response_model=SubscriptionOut)
async def get_subscription(subscription_id: uuid.UUID, ctx: CrmContext, _: Admin) -> SubscriptionOut:
    async with ctx.db.transaction() as tx:
        found = await WebhookQueries(tx.session).get(subscription_id)
    if found is None:
        raise NotFound(f"No webhook subscription {subscription_id}.")
    return SubscriptionOut(**found)


@webhooks_router.patch("/subscriptions/{subscription_id}", response_model=SubscriptionOut,
                       summary="Change the URL or event types, pause, or resume")
async def change_subscription(subscription_id: uuid.UUID, body: SubscriptionChange,
                              ctx: CrmContext, _: Admin) -> SubscriptionOut:
    values = body.model_dump(exclude_unset=True)
    cleared = sorted(k for k in ("url", "event_types", "status") if k in values and values[k] is None)
    if cleared:
        raise InvalidRequest(f"{', '.join(cleared)} cannot be null; leave it out to keep it.")
    if "url" in values:
        values["url"] = str(body.url)
    async with ctx.db.transaction() as tx:
        changed = await subs.change(tx, subscription_id, values,
                                    allow_insecure=_settings(ctx).webhook_allow_insecure_urls)
    subscribed_types(ctx).invalidate()
    return SubscriptionOut(**changed)


@webhooks_router.delete("/subscriptions/{subscription_id}", status_code=status.HTTP_204_NO_CONTENT,
                        summary="Unsubscribe; queued webhooks are dropped with it")
async def delete_subscription(subscription_id: uuid.UUID, ctx: CrmContext, _: Admin) -> Response:
    async with ctx.db.transaction() as tx:
        if not await WebhookQueries(tx.session).remove(subscription_id):
            raise NotFound(f"No webhook subscription {subscription_id}.")
    subscribed_types(ctx).invalidate()
    return Response(status_code=status.HTTP_204_NO_CONTENT)


@webhooks_router.post("/subscriptions/{subscription_id}/rotate-secret", response_model=Rotated,
                      summary="A new secret signs from now; the old one too until the grace ends")
async def rotate_secret(subscription_id: uuid.UUID, body: Rotation, ctx: CrmContext,
                        _: Admin) -> Rotated:
    grace = body.grace_seconds
    if grace is None:
        grace = int(_settings(ctx).webhook_rotation_grace_seconds)
    async with ctx.db.transaction() as tx:
        secret, expires = await subs.rotate(tx, subscription_id, grace, datetime.now(UTC))
    return Rotated(secret=secret, previous_expires_at=expires)


@webhooks_router.get("/subscriptions/{subscription_id}/deliveries", response_model=list[DeliveryOut],
                     summary="The delivery log of a subscription, newest first")
async def deliveries(subscription_id: uuid.UUID, ctx: CrmContext, _: Admin, state: State = None,
                     before: Before = None, limit: Limit = 100) -> list[DeliveryOut]:
    async with ctx.db.transaction() as tx:
        jobs = await JobQueries(tx.session).listing("webhook", subscription_id=subscription_id,
                                                    state=state, after=before, limit=limit)
    return [_delivery(job) for job in jobs]


@webhooks_router.get("/deliveries/{delivery_id}", response_model=DeliveryOut,
                     summary="One delivery with every attempt")
async def delivery(delivery_id: int, ctx: CrmContext, _: Admin) -> DeliveryOut:
    return await _job_with_log(ctx, delivery_id, "webhook")


@webhooks_router.post("/deliveries/{delivery_id}/redeliver", response_model=DeliveryOut,
                      status_code=status.HTTP_202_ACCEPTED,
                      summary="Send again (a new delivery at the end of its lane, with the same webhook-id), "
                              "whatever the original's state")
async def redeliver(delivery_id: int, ctx: CrmContext, _: Admin) -> DeliveryOut:
    return await _requeue(ctx, delivery_id, "webhook")


# -- the CRM -------------------------------------------------------------------------------------

@crm_router.get("/status", response_model=CrmStatus, summary="The CRM, its breaker, its backlog")
async def crm_status(ctx: CrmContext, _: Supervisor) -> CrmStatus:
    sink = ctx.state.get("crm_sink")
    async with ctx.db.transaction() as tx:
        backlog = await JobQueries(tx.session).backlog("crm")
    return CrmStatus(crm=_settings(ctx).crm_name,
                     breaker=sink.breaker.state if sink is not None else None, **backlog)


@crm_router.get("/jobs", response_model=list[DeliveryOut],
                summary="CRM jobs, newest first (state=failed: what the CRM refused)")
async def crm_jobs(ctx: CrmContext, _: Supervisor, state: State = None, before: Before = None,
                   limit: Limit = 100) -> list[DeliveryOut]:
    async with ctx.db.transaction() as tx:
        jobs = await JobQueries(tx.session).listing("crm", state=state, after=before, limit=limit)
    return [_delivery(job) for job in jobs]


@crm_router.get("/jobs/{job_id}", response_model=DeliveryOut)
async def crm_job(job_id: int, ctx: CrmContext, _: Supervisor) -> DeliveryOut:
    return await _job_with_log(ctx, job_id, "crm")


@crm_router.post("/jobs/{job_id}/retry", response_model=DeliveryOut,
                 status_code=status.HTTP_202_ACCEPTED, summary="Send a CRM job again")
async def retry_crm_job(job_id: int, ctx: CrmContext, _: Supervisor) -> DeliveryOut:
    return await _requeue(ctx, job_id, "crm")


@crm_router.post("/contacts", response_model=ContactUpdateOut,
                 summary="The CRM changed a contact's tier, VIP, do-not-contact or owner",
                 description="Signed like our webhooks (Standard Webhooks) with a secret from "
                             "SPORTELLO_CRM_INBOUND_SECRETS; 401/403 otherwise.")
async def contact_updated(request: Request, ctx: CrmContext) -> ContactUpdateOut:
    settings = _settings(ctx)
    secrets = settings.inbound_secrets()
    if not secrets:
        raise Unauthorized("Inbound CRM updates are not configured (SPORTELLO_CRM_INBOUND_SECRETS).")
    raw = await request.body()
    verify(secrets, request.headers, raw)
    try:
        update = ContactUpdateIn.model_validate_json(raw)
    except ValidationError as exc:
        # Same shape as FastAPI's own 422s: the body is read raw here because the signature
        # covers the exact bytes.
        raise RequestValidationError(exc.errors(include_url=False)) from exc
    async with ctx.db.transaction() as tx:
        return await contacts.apply_update(tx, settings.crm_name or "generic_rest", update)


async def _job_with_log(ctx: Context, job_id: int, sink: str) -> DeliveryOut:
    async with ctx.db.transaction() as tx:
        queries = JobQueries(tx.session)
        job = await queries.get(job_id, sink)
        if job is None:
            raise NotFound(f"No {sink} delivery {job_id}.")
        log = [Attempt(**row) for row in await queries.attempts_of(job_id)]
    return _delivery(job, log)


async def _requeue(ctx: Context, job_id: int, sink: str) -> DeliveryOut:
    async with ctx.db.transaction() as tx:
        job = await JobQueries(tx.session).send_again(job_id, sink)
    if job is None:
        raise NotFound(f"No {sink} delivery {job_id}.")
    dispatcher = ctx.state.get("dispatcher")
    if dispatcher is not None:
        dispatcher.wake()
    return _delivery(job)

