"""The bus edge: route an event to its handler inside one transaction, exactly once per group.

Routing is data (``{EventType: handler}``). The inbox row, the state change and any events the
handler emits are committed together; a redelivered event finds its inbox row and is skipped.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable, Mapping
from typing import Any

from sportello.bus.base import Subscription
from sportello.contracts import Envelope, Event
from sportello.db.database import Tx
from sportello.observability import metrics
from sportello.runtime import Context
from sportello.topics import Topic

EventHandler = Callable[[Tx, Any, Envelope], Awaitable[None]]


Interest = Callable[[Envelope], Awaitable[bool]]


def subscription(
    ctx: Context,
    group: str,
    topics: tuple[Topic, ...],
    routes: Mapping[type[Event], EventHandler],
    *,
    wants: Interest | None = None,
) -> Subscription:
    """``wants`` (optional) says, before any transaction, whether an event needs handling at all:
    an event it declines is acknowledged without touching the database (no transaction, no inbox
    row). Only for events whose handling would change nothing, so skipping is idempotent too."""
    for event in routes:
        if not any(topic.carries(event) for topic in topics):
            raise ValueError(f"{group} routes {event.__name__} but subscribes to no topic carrying it")

    async def handle(envelope: Envelope) -> None:
        handler = routes.get(type(envelope.data))
        if handler is None:
            return  # the topic carries events this group has no interest in
        if wants is not None and not await wants(envelope):
            metrics.EVENTS_DECLINED.labels(group=group).inc()
            return
        async with ctx.db.transaction() as tx:
            if not await ctx.db.claim(tx.session, group, envelope.id):
                metrics.DUPLICATES_SKIPPED.labels(group=group).inc()
                return
            await handler(tx, envelope.data, envelope)

    return Subscription(group=group, topics=topics, handler=handle, name=group)
