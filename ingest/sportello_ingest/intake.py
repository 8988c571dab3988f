"""The path every webhook takes once its signature is verified: archive, parse, accept, record.

The raw body is committed to the archive *before* it is parsed, in its own transaction, so a payload we
fail to parse (a platform format change, a bug) is kept and ``replay`` can re-ingest it after the fix.
The messages and receipts of one body are then applied in one transaction together with the archive
row's outcome; concurrent deliveries touching the same customer are retried.
"""

from __future__ import annotations

import uuid
from collections import Counter
from collections.abc import Awaitable, Callable
from datetime import UTC, datetime, timedelta
from typing import Protocol, TypeVar

import structlog
from sqlalchemy.exc import IntegrityError

from sportello.db import Database, Tx
from sportello.errors import PermanentError
from sportello.http.problems import InvalidRequest
from sportello.settings import ServiceSettings
from sportello_ingest import service, threads
from sportello_ingest.channels.base import ChannelAdapter, InboundMessage, Parsed
from sportello_ingest.repository import IngestRepository
from sportello_ingest.settings import IngestSettings

log = structlog.get_logger(__name__)
T = TypeVar("T")
ATTEMPTS = 4


class IntakeContext(Protocol):
    """What intake needs: a component's Context, or the replay command's own database handle."""

    @property
    def db(self) -> Database: ...

    @property
    def settings(self) -> ServiceSettings: ...


def rules_of(ctx: IntakeContext) -> threads.ThreadingRules:
    settings = ctx.settings
    assert isinstance(settings, IngestSettings)
    return threads.ThreadingRules(
        reopen_window=timedelta(seconds=settings.reopen_window_seconds),
        dm_continuation_window=timedelta(seconds=settings.dm_continuation_window_seconds))


async def in_transaction(ctx: IntakeContext, work: Callable[[Tx], Awaitable[T]]) -> T:
    """Run ``work`` in a transaction, again if a concurrent delivery for the same customer won a race."""
    for attempt in range(1, ATTEMPTS + 1):
        try:
            async with ctx.db.transaction() as tx:
                return await work(tx)
        except (threads.ConcurrentThreading, service.DuplicateInFlight, IntegrityError) as exc:
            if attempt == ATTEMPTS:
                raise
            log.info("ingest.retry_after_race", attempt=attempt, reason=type(exc).__name__)
    raise AssertionError("unreachable")


async def archive(ctx: IntakeContext, channel: str, content_type: str, body: bytes) -> uuid.UUID:
    delivery_id = uuid.uuid4()
    async with ctx.db.transaction() as tx:
        await IngestRepository(tx.session).archive(delivery_id, channel, content_type, body,
                                                   datetime.now(UTC))
    return delivery_id


async def receive(ctx: IntakeContext, adapter: ChannelAdapter, body: bytes, content_type: str) -> Counter[str]:
    """Archive a verified body, then ingest it. Returns the outcome counts (e.g. accepted: 2)."""
    delivery_id = await archive(ctx, adapter.channel, content_type, body)
    return await process(ctx, adapter, delivery_id, body)


async def process(ctx: IntakeContext, adapter: ChannelAdapter, delivery_id: uuid.UUID, body: bytes) -> Counter[str]:
    try:
        parsed = adapter.parse(body)
    except PermanentError as exc:
        await _mark(ctx, delivery_id, "failed", str(exc))
        raise InvalidRequest(f"The body is not in the platform's format: {exc}") from exc
    return await apply(ctx, parsed, delivery_id)


async def apply(ctx: IntakeContext, parsed: Parsed, delivery_id: uuid.UUID) -> Counter[str]:
    rules = rules_of(ctx)

    async def work(tx: Tx) -> Counter[str]:
        outcomes: Counter[str] = Counter()
        now = datetime.now(UTC)
        for message in parsed.messages:
            outcomes[(await service.accept_message(tx, rules, message, now)).outcome] += 1
        for status in parsed.statuses:
            outcomes["receipts"] += await service.apply_status(tx, status)
        await IngestRepository(tx.session).mark_delivery(delivery_id, _overall(outcomes), _detail(outcomes), now)
        return outcomes

    return await in_transaction(ctx, work)


async def accept_one(ctx: IntakeContext, message: InboundMessage, delivery_id: uuid.UUID) -> service.Accepted:
    """One message pushed to us (the API channel, the chat widget), its archive row marked in the same
    transaction."""
    rules = rules_of(ctx)

    async def work(tx: Tx) -> service.Accepted:
        now = datetime.now(UTC)
        accepted = await service.accept_message(tx, rules, message, now)
        await IngestRepository(tx.session).mark_delivery(delivery_id, accepted.outcome, None, now)
        return accepted

    return await in_transaction(ctx, work)


async def _mark(ctx: IntakeContext, delivery_id: uuid.UUID, outcome: str, detail: str) -> None:
    async with ctx.db.transaction() as tx:
        await IngestRepository(tx.session).mark_delivery(delivery_id, outcome, detail, datetime.now(UTC))


def _overall(outcomes: Counter[str]) -> str:
    for outcome in ("accepted", "blocked", "duplicate"):
        if outcomes[outcome]:
            return outcome
    return "ignored"


def _detail(outcomes: Counter[str]) -> str:
    return ", ".join(f"{name}: {count}" for name, count in sorted(outcomes.items()) if count)
