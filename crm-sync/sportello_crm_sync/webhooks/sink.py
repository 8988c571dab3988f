"""Delivering one queued webhook: sign it (Standard Webhooks), POST it, read the answer.

2xx is delivered. ``410 Gone`` means the endpoint was removed on purpose: the subscription is
disabled and its queued webhooks are stopped (no retrying for a day against a URL that said so).
Anything else (other statuses, timeouts, refused connections, redirects) is retried with backoff
and jitter, no sooner than a ``Retry-After`` the subscriber sent, until the retry window closes.
"""

from __future__ import annotations

import json
from datetime import datetime

import httpx
import structlog

from sportello.db import Tx
from sportello.http.retry_after import retry_after_of
from sportello.http.signatures import sign
from sportello_crm_sync.delivery.dispatcher import Outcome
from sportello_crm_sync.delivery.retry import backoff_seconds
from sportello_crm_sync.repository import Job, JobQueries, WebhookQueries
from sportello_crm_sync.settings import CrmSyncSettings

log = structlog.get_logger(__name__)


class WebhookSink:
    name = "webhook"

    def __init__(self, settings: CrmSyncSettings, *,
                 transport: httpx.AsyncBaseTransport | None = None) -> None:
        self.settings = settings
        # Redirects are failures (a subscriber must register the final URL), never followed.
        self.client = httpx.AsyncClient(timeout=httpx.Timeout(settings.webhook_timeout_seconds),
                                        follow_redirects=False, transport=transport,
                                        headers={"User-Agent": "Sportello-Webhooks/1"})

    def allow(self, now: datetime) -> bool:
        return True  # subscribers fail independently: per-lane backoff, no global breaker

    def cancel(self) -> None:
        pass

    def backoff(self, job: Job, outcome: Outcome) -> float:
        return backoff_seconds(job.attempts + 1, self.settings.webhook_retry_base_seconds,
                               self.settings.webhook_retry_cap_seconds,
                               retry_after=outcome.retry_after)

    def retry_window(self) -> float | None:
        return self.settings.webhook_retry_window_seconds

    async def aclose(self) -> None:
        await self.client.aclose()

    async def deliver(self, tx: Tx, job: Job, now: datetime) -> Outcome:
        assert job.subscription_id is not None and job.message_id is not None
        subscriptions = WebhookQueries(tx.session)
        target = await subscriptions.target_of(job.subscription_id)
        if target is None:
            return Outcome("stopped", "subscription_gone", error="the subscription was deleted")
        url, state = target
        if state == "disabled":  # queued by a fan-out that committed just after a 410
            return Outcome("stopped", "subscription_disabled", error="the subscription is disabled")
        payload = json.dumps(job.payload, separators=(",", ":"), ensure_ascii=False).encode()
        headers = sign(await subscriptions.signing_secrets(job.subscription_id, now),
                       job.message_id, payload, timestamp=int(now.timestamp()))
        headers["content-type"] = "application/json"
        try:
            response = await self.client.post(url, content=payload, headers=headers)
        except httpx.TimeoutException:
            return Outcome("retry", "timeout", error="the subscriber did not answer in time")
        except httpx.TransportError as exc:
            return Outcome("retry", "unreachable", error=f"unreachable: {type(exc).__name__}")
        except httpx.HTTPError as exc:  # e.g. an answer whose body cannot be decoded
            return Outcome("retry", "bad_answer", error=f"unreadable answer: {type(exc).__name__}")
        status = response.status_code
        if response.is_success:
            return Outcome("done", "delivered", status_code=status)
        if status == 410:
            stopped = await JobQueries(tx.session).stop_subscription(job.subscription_id)
            await subscriptions.change(job.subscription_id, status="disabled",
                                       disabled_reason=f"the endpoint answered 410 Gone at {now.isoformat()}")
            log.warning("webhook.subscription_disabled", subscription_id=str(job.subscription_id),
                        stopped=stopped)
            return Outcome("stopped", "gone", status_code=status, error="410 Gone")
        waited = retry_after_of(response, default=-1.0)
        # The status only, never the body: a URL that reaches something it should not (a name
        # resolving to an internal address) must not turn the delivery log into a way to read it.
        return Outcome("retry", "refused", status_code=status, error=f"answered {status}",
                       retry_after=waited if waited >= 0 else None)
