"""The sender: drains the outbound queue through the channel adapters (worker role).

Rows are *leased* (``FOR UPDATE SKIP LOCKED``, then a lease time) in one short transaction and sent
outside any transaction, so any number of workers share the queue and a crashed worker's rows come back
when their lease ends. A rate limit pauses the whole brand account until the platform's Retry-After
(without spending an attempt); other transient failures back off exponentially with jitter up to
``send_max_attempts``; a refusal fails the reply at once with the platform's reason.

At-least-once: a crash after the platform accepted a message but before we recorded it sends it again
when the lease ends. Platforms echo our own messages (X, Messenger), and ingest matches such an echo to
the pending reply, which narrows that window.
"""

from __future__ import annotations

import asyncio
import random
import uuid
from collections import defaultdict
from datetime import UTC, datetime, timedelta
from typing import Any

import httpx
import structlog

from sportello.errors import PermanentError, TransientError
from sportello.runtime import Context
from sportello_ingest import identity_graph, replies, service
from sportello_ingest.channels.base import RateLimited, SendResult
from sportello_ingest.channels.registry import Channels
from sportello_ingest.repository import IngestRepository, StoredMessage
from sportello_ingest.settings import IngestSettings

log = structlog.get_logger(__name__)
WAKEUP = "sender.wakeup"


class Sender:
    def __init__(self, ctx: Context, channels: Channels) -> None:
        settings = ctx.settings
        assert isinstance(settings, IngestSettings)
        self.ctx = ctx
        self.settings = settings
        self.channels = channels
        self.wakeup: asyncio.Event = ctx.state.setdefault(WAKEUP, asyncio.Event())

    async def run(self) -> None:
        async with httpx.AsyncClient(timeout=self.settings.send_timeout_seconds) as client:
            while True:
                try:
                    sent = await self.drain_once(client)
                except Exception:
                    log.exception("sender.cycle_failed")
                    sent = 0
                if sent == 0:
                    self.wakeup.clear()
                    try:
                        await asyncio.wait_for(self.wakeup.wait(), self.settings.send_poll_seconds)
                    except TimeoutError:
                        pass

    async def drain_once(self, client: httpx.AsyncClient) -> int:
        """Lease what is due and send it; replies of one conversation go one after another, in order."""
        now = datetime.now(UTC)
        async with self.ctx.db.transaction() as tx:
            repo = IngestRepository(tx.session)
            leased = await repo.lease_due(now, now + timedelta(seconds=self.settings.send_lease_seconds),
                                          self.settings.send_batch_size)
            rows = [(lease, await repo.message(lease["message_id"])) for lease in leased]
        by_conversation: dict[uuid.UUID, list[tuple[dict[str, Any], dict[str, Any]]]] = defaultdict(list)
        for lease, message in sorted(rows, key=lambda pair: pair[1]["received_at"] if pair[1] else now):
            if message is not None:
                by_conversation[message["conversation_id"]].append((lease, message))
        await asyncio.gather(*(self._send_in_order(client, items) for items in by_conversation.values()))
        return len(leased)

    async def _send_in_order(self, client: httpx.AsyncClient,
                             items: list[tuple[dict[str, Any], dict[str, Any]]]) -> None:
        for lease, message in items:
            await self._send(client, message, lease["attempts"])

    async def _send(self, client: httpx.AsyncClient, message: dict[str, Any], attempts: int) -> None:
        adapter = self.channels.for_channel(message["channel"])
        stored = StoredMessage(message["id"], message["conversation_id"], message["customer_id"])
        if message["delivery_status"] != "pending":
            await self._unqueue(stored)  # already sent (matched to the platform's echo)
            return
        try:
            async with self.ctx.db.transaction() as tx:
                request = await replies.send_request(IngestRepository(tx.session), adapter, message)
            result = await adapter.send(client, request)
        except RateLimited as exc:
            await self._rate_limited(stored, message["account"], exc)
        except PermanentError as exc:
            await self._fail(stored, message["channel"], str(exc))
        except (TransientError, httpx.TransportError) as exc:
            await self._retry_or_fail(stored, message["channel"], attempts, exc)
        except Exception as exc:
            # An adapter bug or an unexpected answer: bounded retries, then the reply fails visibly
            # rather than coming back forever at every lease.
            log.exception("sender.unexpected_error", message_id=str(stored.id))
            await self._retry_or_fail(stored, message["channel"], attempts, exc)
        else:
            learnt = (adapter.recipient_platform(message["channel"])
                      if request.private_reply_to_comment else None)
            await self._finish(stored, message["channel"], result, learnt)

    async def _unqueue(self, message: StoredMessage) -> None:
        async with self.ctx.db.transaction() as tx:
            await IngestRepository(tx.session).unqueue(message.id)

    async def _finish(self, message: StoredMessage, channel: str, result: SendResult,
                      learnt_platform: str | None) -> None:
        async with self.ctx.db.transaction() as tx:
            repo = IngestRepository(tx.session)
            await repo.unqueue(message.id)
            # A watermark receipt may have moved the reply on already: its platform id is kept anyway,
            # so the platform's echo and later receipts find it.
            await repo.set_external_id(message.id, result.external_id)
            await service.advance_delivery(tx, message, channel, result.external_id, result.status,
                                           only_from=("pending",), at=datetime.now(UTC))
            if learnt_platform and result.recipient_id:
                # The platform named the customer's private id: their next DM continues this case.
                await identity_graph.learnt(tx, message.customer_id, learnt_platform, result.recipient_id,
                                            "private_reply", datetime.now(UTC))
        log.info("sender.sent", message_id=str(message.id), channel=channel, status=result.status)

    async def _fail(self, message: StoredMessage, channel: str, reason: str) -> None:
        async with self.ctx.db.transaction() as tx:
            await IngestRepository(tx.session).unqueue(message.id)
            await service.advance_delivery(tx, message, channel, None, "failed", only_from=("pending",),
                                           error=reason, at=datetime.now(UTC))
        log.warning("sender.failed", message_id=str(message.id), channel=channel, reason=reason)

    async def _retry_or_fail(self, message: StoredMessage, channel: str, attempts: int,
                             exc: Exception) -> None:
        reason = f"{type(exc).__name__}: {exc}"
        if attempts >= self.settings.send_max_attempts:
            await self._fail(message, channel, f"gave up after {attempts} attempts; last error: {reason}")
            return
        delay = min(self.settings.send_backoff_max_seconds,
                    self.settings.send_backoff_seconds * 2 ** (attempts - 1))
        delay *= random.uniform(0.5, 1.0)  # jitter: replicas retrying together do not stampede
        async with self.ctx.db.transaction() as tx:
            await IngestRepository(tx.session).reschedule(
                message.id, datetime.now(UTC) + timedelta(seconds=delay), reason, refund_attempt=False)
        log.info("sender.retrying", message_id=str(message.id), attempt=attempts, delay_s=round(delay, 2),
                 reason=reason)

    async def _rate_limited(self, message: StoredMessage, account: str, exc: RateLimited) -> None:
        until = datetime.now(UTC) + timedelta(seconds=exc.retry_after_seconds)
        async with self.ctx.db.transaction() as tx:
            repo = IngestRepository(tx.session)
            await repo.pause(account, until)
            await repo.reschedule(message.id, until, str(exc), refund_attempt=True)
        log.warning("sender.rate_limited", account=account, retry_after_s=exc.retry_after_seconds)
