"""The load of ``make faults``: messages POSTed to ingest at a steady rate, each retried with its own
external id until ingest accepts it, a share of them POSTed once more to check ingest deduplicates."""

from __future__ import annotations

import asyncio
import contextlib
import random
import uuid
from collections import Counter
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any

import httpx

from sportello_deploy.private_stack import PrivateStack

CHANNEL = "twitter"

_TEXTS = (
    "My internet has been down since yesterday, still waiting!!",
    "Any news? This is unacceptable",
    "My bill is wrong, I was charged twice this month",
    "Thanks, that worked",
    "How do I change my plan?",
    "The app keeps crashing when I open my invoices",
    "Third time asking: when is the technician coming?",
    "Can I port my number to you?",
)


@dataclass(frozen=True)
class LoadShape:
    rate: float = 50.0                 # POSTs started per second (open loop)
    concurrency: int = 48              # POSTs in flight at most (a stalled ingest slows the rate)
    new_customer_share: float = 0.4    # share of messages from a customer not seen before
    max_per_customer: int = 5          # messages per customer at most
    resend_share: float = 0.05         # accepted messages POSTed once more (must come back duplicate)
    post_give_up: float = 180.0        # a single message's retries stop after this long


@dataclass
class Post:
    external_id: str
    customer: str
    n: int                      # the customer's n-th message (1 opens the conversation)
    first_try: float            # monotonic time of the first attempt
    attempts: int = 0
    status: int | None = None   # of the answer that ended the retries
    accepted_at: float | None = None
    message_id: str | None = None
    conversation_id: str | None = None
    outcome: str | None = None  # ingest's: accepted, duplicate, blocked, ignored
    failures: Counter[str] = field(default_factory=Counter)

    @property
    def accepted(self) -> bool:
        return self.status in (200, 201) and self.message_id is not None


class Load:
    """Open-loop POSTs at ``rate``; each message retried with its own external id until accepted.

    A share of the accepted messages is POSTed once more afterwards, as an integration does when an
    answer was lost: ingest must answer 200 "duplicate" with the same message and conversation.
    """

    def __init__(self, stack: PrivateStack, config: LoadShape, rng: random.Random) -> None:
        self._stack = stack
        self._config = config
        self._rng = rng
        self._run = uuid.uuid4().hex[:8]
        self.posts: list[Post] = []
        self.accepted: list[Post] = []  # in order of acceptance
        self.failures: Counter[str] = Counter()
        self.given_up: list[Post] = []
        self.resent = 0
        self.resend_mismatches: list[str] = []  # "external_id: what came back"
        self._idle: list[str] = []       # customers whose last message was accepted
        self._sent: Counter[str] = Counter()
        self._customers = 0
        self._resends: set[asyncio.Task[None]] = set()
        self.started_at = 0.0
        self.stopped_at = 0.0

    @property
    def run_id(self) -> str:
        return self._run

    def _next(self) -> tuple[str, int]:
        if self._idle and self._rng.random() >= self._config.new_customer_share:
            customer = self._idle.pop(self._rng.randrange(len(self._idle)))
        else:
            self._customers += 1
            customer = f"{self._run}-c{self._customers}"
        self._sent[customer] += 1
        return customer, self._sent[customer]

    async def run(self, stop: asyncio.Event) -> None:
        loop = asyncio.get_running_loop()
        interval = 1 / self._config.rate
        slots = asyncio.Semaphore(self._config.concurrency)
        in_flight: set[asyncio.Task[None]] = set()
        limits = httpx.Limits(max_connections=self._config.concurrency + 8,
                              max_keepalive_connections=self._config.concurrency)
        async with httpx.AsyncClient(timeout=httpx.Timeout(10.0, connect=3.0), limits=limits) as client:
            self.started_at = loop.time()
            next_at = self.started_at
            while not stop.is_set():
                await slots.acquire()
                customer, n = self._next()
                post = Post(f"{customer}-{n}", customer, n, loop.time())
                self.posts.append(post)
                task = asyncio.create_task(self._post(client, post, slots))
                in_flight.add(task)
                task.add_done_callback(in_flight.discard)
                next_at = max(next_at + interval, loop.time() - 1.0)  # no burst after a stall
                with contextlib.suppress(TimeoutError):
                    await asyncio.wait_for(stop.wait(), timeout=max(0.0, next_at - loop.time()))
            self.stopped_at = loop.time()
            while in_flight or self._resends:
                await asyncio.gather(*in_flight, *self._resends)

    def _payload(self, post: Post) -> dict[str, Any]:
        return {
            "channel": CHANNEL,
            "external_id": post.external_id,
            "author": {"id": post.customer, "display_name": f"Customer {post.customer}",
                       "followers": self._rng.choice((12, 340, 5_000, 120_000))},
            "text": self._rng.choice(_TEXTS),
            "sent_at": datetime.now(UTC).isoformat(),
        }

    async def _send(self, client: httpx.AsyncClient, payload: dict[str, Any],
                    post: Post) -> httpx.Response | None:
        """POST until ingest answers something else than a 5xx/429 or a broken connection; None if
        that takes longer than ``post_give_up`` seconds."""
        loop = asyncio.get_running_loop()
        url = f"{self._stack.url('ingest')}/v1/channels/api/messages"
        headers = self._stack.auth("integration")
        started = loop.time()
        backoff = 0.2
        while True:
            post.attempts += 1
            try:
                response = await client.post(url, json=payload, headers=headers)
            except httpx.TransportError as exc:
                failure = type(exc).__name__
            else:
                if response.status_code < 500 and response.status_code != 429:
                    return response
                failure = f"http {response.status_code}"
            post.failures[failure] += 1
            self.failures[failure] += 1
            if loop.time() - started > self._config.post_give_up:
                return None
            await asyncio.sleep(backoff * (0.5 + self._rng.random()))
            backoff = min(backoff * 1.5, 1.0)

    async def _post(self, client: httpx.AsyncClient, post: Post, slots: asyncio.Semaphore) -> None:
        payload = self._payload(post)
        try:
            response = await self._send(client, payload, post)
        finally:
            slots.release()
        if response is None:
            self.given_up.append(post)
            return
        post.status = response.status_code
        post.accepted_at = asyncio.get_running_loop().time()
        if response.status_code not in (200, 201, 202):
            self.failures[f"rejected {response.status_code}: {response.text[:200]}"] += 1
            return
        body = response.json()
        post.outcome = body.get("outcome")
        post.message_id = body.get("message_id")
        post.conversation_id = body.get("conversation_id")
        if not post.accepted:
            return
        self.accepted.append(post)
        if post.n < self._config.max_per_customer:
            self._idle.append(post.customer)
        if self._rng.random() < self._config.resend_share:
            task = asyncio.create_task(self._resend(client, payload, post))
            self._resends.add(task)
            task.add_done_callback(self._resends.discard)

    async def _resend(self, client: httpx.AsyncClient, payload: dict[str, Any], post: Post) -> None:
        await asyncio.sleep(self._rng.uniform(0.0, 2.0))
        self.resent += 1
        shadow = Post(post.external_id, post.customer, post.n, post.first_try)
        response = await self._send(client, payload, shadow)
        if response is None:
            self.resend_mismatches.append(f"{post.external_id}: no answer")
            return
        body = response.json() if response.status_code in (200, 201, 202) else {}
        if (response.status_code != 200 or body.get("outcome") != "duplicate"
                or body.get("message_id") != post.message_id
                or body.get("conversation_id") != post.conversation_id):
            self.resend_mismatches.append(
                f"{post.external_id}: {response.status_code} {response.text[:200]} (first answer: "
                f"message {post.message_id}, conversation {post.conversation_id})")
