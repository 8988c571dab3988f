"""The acceptance test of outbound webhooks: the subscriber is down while 500 events are produced.

When it comes back, every event has been delivered, every signature is valid, each conversation's
webhooks arrived in the order they happened, and each webhook id stands for exactly one event
(retries reuse it; a subscriber deduplicating by webhook-id sees every event exactly once).
"""

from __future__ import annotations

import uuid
from collections import defaultdict

from sportello.contracts import Event
from tests.crm_sync.conftest import message_received
from tests.crm_sync.support import assigned, crm_sync_app, status_changed
from tests.support.waiting import eventually
from tests.support.webhook_receiver import running_receiver

# Each webhook type and the topic its source event travels on.
STREAMS = {"conversation.created": "received", "message.created": "received",
           "conversation.assigned": "assignment", "conversation.status_changed": "activity",
           "conversation.resolved": "activity"}
TYPES = list(STREAMS)


def produce(conversations: int, per_conversation: int) -> tuple[list[Event], list[tuple[str, str, str]]]:
    """Interleaved events of many conversations, and the webhooks expected in order:
    (conversation id, type, what identifies the event)."""
    events: list[Event] = []
    expected: list[tuple[str, str, str]] = []
    threads = [(uuid.uuid4(), uuid.uuid4()) for _ in range(conversations)]
    for step in range(per_conversation):
        for conversation_id, customer_id in threads:
            conversation = str(conversation_id)
            if step % 5 == 2:
                events.append(assigned(conversation_id, customer_id, sequence=step))
                expected.append((conversation, "conversation.assigned", f"sequence:{step}"))
            elif step == per_conversation - 1:
                events.append(status_changed(conversation_id, customer_id, sequence=step))
                expected += [(conversation, "conversation.status_changed", f"sequence:{step}"),
                             (conversation, "conversation.resolved", f"sequence:{step}")]
            else:
                message = message_received(customer_id, conversation_id, text=f"step {step}")
                message = message.model_copy(update={"conversation_opened": step == 0})
                events.append(message)
                if step == 0:
                    expected.append((conversation, "conversation.created", str(message.message_id)))
                expected.append((conversation, "message.created", str(message.message_id)))
    return events, expected


def identity(body: dict[str, object]) -> tuple[str, str, str]:
    data = body["data"]
    assert isinstance(data, dict)
    ident = data["message_id"] if "message_id" in data else f"sequence:{data['sequence']}"
    return str(data["conversation_id"]), str(body["type"]), str(ident)


async def test_a_subscriber_down_during_500_events_gets_every_one_signed_and_in_order(
    fresh_database_url: str,
) -> None:
    events, expected = produce(conversations=25, per_conversation=20)
    assert len(events) == 500

    async with crm_sync_app(fresh_database_url) as app, running_receiver() as receiver:
        created = await app.call("POST", "/v1/webhooks/subscriptions",
                                 json={"url": receiver.hook_url, "event_types": TYPES})
        assert created.status_code == 201, created.text
        receiver.secrets = [created.json()["secret"]]
        port = receiver.port
        await receiver.stop()  # the subscriber goes down

        for start in range(0, len(events), 50):
            await app.publish(*events[start:start + 50])
        await eventually(lambda: _queued(app, len(expected)), timeout=60)
        # The outage is real: deliveries were attempted and failed while it lasted.
        assert await eventually(lambda: _failed_attempts(app), timeout=30)

        await receiver.start(port)  # and comes back on the same URL
        await eventually(lambda: _all_done(app, len(expected)), timeout=120, interval=0.2)

    accepted = receiver.accepted()
    assert all(received.valid for received in receiver.received)
    got = [identity(received.body) for received in accepted]
    assert sorted(got) == sorted(expected)  # every event, none twice
    # One id per event: retried deliveries reused it, and no two events share one.
    ids_per_event: dict[tuple[str, str, str], set[str]] = defaultdict(set)
    for received in receiver.received:
        ids_per_event[identity(received.body)].add(received.webhook_id)
    assert all(len(ids) == 1 for ids in ids_per_event.values())
    assert len({received.webhook_id for received in accepted}) == len(expected)
    # Per conversation, the first successful delivery of each webhook follows production order.
    # Order is per source topic: messages, assignments and status changes travel on different
    # topics, and neither Kafka nor any consumer can order across topics without a shared clock.
    for conversation in {c for c, _, _ in expected}:
        for stream in set(STREAMS.values()):
            def mine(webhooks: list[tuple[str, str, str]], conversation: str = conversation,
                     stream: str = stream) -> list[tuple[str, str, str]]:
                return [w for w in webhooks if w[0] == conversation and STREAMS[w[1]] == stream]
            assert mine(got) == mine(expected)


async def _failed_attempts(app: object) -> bool:
    from sqlalchemy import func, select

    from sportello_crm_sync.tables import attempts
    assert hasattr(app, "ctx")
    async with app.ctx.db.transaction() as tx:
        failed = (await tx.session.execute(
            select(func.count()).select_from(attempts).where(attempts.c.outcome == "unreachable")
        )).scalar_one()
    return bool(failed)


async def _queued(app: object, count: int) -> bool:
    assert hasattr(app, "jobs_in")
    return bool(await app.jobs_in("webhook") == count)


async def _all_done(app: object, count: int) -> bool:
    assert hasattr(app, "jobs_in")
    return bool(await app.jobs_in("webhook", "done") == count)
