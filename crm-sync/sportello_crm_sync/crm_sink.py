"""Delivering one queued CRM job through the configured adapter.

``history``: upsert the contact if we have none linked, append the entry (idempotent on its key,
and recorded here so a replay never appends twice), announce ``CrmSynced`` for messages.
``contact``: upsert the customer's current picture. The CRM being down, slow or throttling is a
retry (backoff, ``Retry-After`` as a floor) and feeds the circuit breaker; while it is open no CRM
call starts, jobs wait in their lanes and drain in order once a probe succeeds (catch-up).
A refusal (4xx) parks the job as failed with the reason: ``POST /v1/crm/jobs/{id}/retry`` sends it
again once the cause is fixed.
"""

from __future__ import annotations

import uuid
from datetime import UTC, datetime
from typing import Any

import structlog

from sportello.contracts import CrmSynced
from sportello.db import Tx
from sportello.errors import PermanentError
from sportello_crm_sync.adapters import ContactNotFound, CrmAdapter, CrmUnavailable, Customer, Identity
from sportello_crm_sync.delivery import metrics
from sportello_crm_sync.delivery.dispatcher import Outcome
from sportello_crm_sync.delivery.retry import CircuitBreaker, backoff_seconds
from sportello_crm_sync.mirror import entry_of
from sportello_crm_sync.repository import CrmQueries, Job
from sportello_crm_sync.settings import CrmSyncSettings

log = structlog.get_logger(__name__)


class CrmSink:
    name = "crm"

    def __init__(self, adapter: CrmAdapter, settings: CrmSyncSettings) -> None:
        self.adapter = adapter
        self.settings = settings
        self.breaker = CircuitBreaker(threshold=settings.crm_breaker_failures,
                                      cooldown=settings.crm_breaker_cooldown_seconds,
                                      cooldown_cap=settings.crm_breaker_cooldown_cap_seconds)

    def allow(self, now: datetime) -> bool:
        allowed = self.breaker.allow(now)
        metrics.BREAKER_OPEN.labels(crm=self.adapter.name).set(0 if allowed else 1)
        return allowed

    def cancel(self) -> None:
        self.breaker.cancel_probe()

    def backoff(self, job: Job, outcome: Outcome) -> float:
        return backoff_seconds(job.attempts + 1, self.settings.crm_retry_base_seconds,
                               self.settings.crm_retry_cap_seconds, retry_after=outcome.retry_after)

    def retry_window(self) -> float | None:
        return None  # the CRM's history is never dropped: retried for as long as it is down

    async def deliver(self, tx: Tx, job: Job, now: datetime) -> Outcome:
        try:
            if job.kind == "contact":
                contact_id = await self._upsert(CrmQueries(tx.session),
                                                uuid.UUID(job.payload["customer_id"]), None)
                label = f"contact {contact_id}"
            else:
                label = await self._history(tx, job.payload)
        except CrmUnavailable as exc:
            # From when the answer came, not from when the call started: Retry-After counts from
            # the response, and a slow call must not shorten the wait it asked for.
            answered = datetime.now(UTC)
            self.breaker.failed(answered)
            if exc.retry_after is not None:
                self.breaker.hold(answered, exc.retry_after)
            return Outcome("retry", "unavailable", error=str(exc), retry_after=exc.retry_after)
        except PermanentError as exc:
            self.breaker.succeeded()  # the CRM answered: it is up, this job is the problem
            log.warning("crm.job_refused", job_id=job.id, kind=job.kind, error=str(exc))
            return Outcome("give_up", "refused", error=str(exc))
        self.breaker.succeeded()
        log.debug("crm.job_done", job_id=job.id, result=label)
        return Outcome("done", "synced")

    async def _history(self, tx: Tx, payload: dict[str, Any]) -> str:
        queries = CrmQueries(tx.session)
        entry = entry_of(payload["entry"])
        customer_id = uuid.UUID(payload["customer_id"])
        record_id = await queries.mirrored(entry.key, entry.message_id)
        if record_id is not None:
            return record_id  # appended before (a replay): the CRM already has it
        contact_id = await queries.contact_of(customer_id, self.adapter.name)
        linked = contact_id is not None
        if contact_id is None:
            contact_id = await self._upsert(queries, customer_id, payload.get("fallback"))
        try:
            record_id = await self.adapter.append_history(contact_id, entry)
        except ContactNotFound:
            if not linked:
                raise  # created a moment ago: the CRM is inconsistent, do not loop
            # Our link went stale (deleted or merged in the CRM): upsert again rather than
            # failing every later entry of this customer.
            log.warning("crm.contact_relinked", customer_id=str(customer_id), crm=self.adapter.name)
            contact_id = await self._upsert(queries, customer_id, payload.get("fallback"))
            record_id = await self.adapter.append_history(contact_id, entry)
        await queries.record_history(entry.key, self.adapter.name, record_id, customer_id,
                                     entry.message_id)
        if entry.kind == "message" and entry.message_id is not None:
            await tx.outbox.add(
                CrmSynced(message_id=entry.message_id,
                          customer_id=uuid.UUID(payload["original_customer_id"]),
                          crm=self.adapter.name, crm_contact_id=contact_id,
                          crm_interaction_id=record_id, status="synced"),
                subject=str(entry.conversation_id))
        # No message text in logs: it is customer content.
        log.info("crm.synced", key=entry.key, kind=entry.kind, customer_id=str(customer_id),
                 crm=self.adapter.name, contact_id=contact_id)
        return record_id

    async def _upsert(self, queries: CrmQueries, customer_id: uuid.UUID,
                      fallback: dict[str, Any] | None) -> str:
        known = await queries.customer(customer_id)
        picture = known if known is not None else (fallback or {"display_name": "", "identities": []})
        customer = Customer(
            external_ref=str(customer_id), display_name=picture["display_name"],
            identities=tuple(Identity(channel=i["platform"], handle=i.get("handle") or i["external_id"])
                             for i in picture["identities"]))
        contact_id = await self.adapter.upsert_contact(customer)
        await queries.link_contact(customer_id, self.adapter.name, contact_id)
        return contact_id
