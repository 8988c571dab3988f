"""Events about one conversation arrive on several topics, handled by separate consumer groups, so
a response or a resolution may be processed after a message sent later than it (or before one
sent earlier). Whatever the order, each waiting message keeps its SLA clock and nothing answered
starts one."""

from __future__ import annotations

import uuid
from datetime import UTC, datetime, timedelta

from sportello.contracts import ConversationStatusChanged, MessageDeliveryUpdated
from sportello_priority.component import COMPONENT
from tests.priority.support import latest, publish, received, scores
from tests.support.app import running_app
from tests.support.waiting import eventually

FAST = dict(sla_tick_seconds=0.05, config_cache_seconds=0)
ANGRY = "Unacceptable, still waiting for 3 days, worst service ever!!! I will sue you"


def _sent(conversation: uuid.UUID, at: datetime) -> MessageDeliveryUpdated:
    return MessageDeliveryUpdated(message_id=uuid.uuid4(), conversation_id=conversation,
                                  channel="x", external_id="1", status="sent", at=at)


def _factor(event: object, name: str) -> float:
    return {f.factor: f for f in event.breakdown}[name].value  # type: ignore[attr-defined]


async def test_a_response_processed_after_a_later_message_leaves_that_message_its_clock(
        fresh_database_url: str) -> None:
    conversation = uuid.uuid4()
    now = datetime.now(UTC)
    before = received(conversation, ANGRY, sent_at=now - timedelta(minutes=10))
    after = received(conversation, "ok, and when exactly?", sent_at=now - timedelta(minutes=2))
    async with running_app([COMPONENT], fresh_database_url, **FAST) as (app, _):
        bus = app.state.runtime.bus
        await publish(bus, before, after)
        await eventually(lambda: len(scores(bus, conversation)) == 2)
        # The reply went out between the two messages; its receipt is handled only now.
        await publish(bus, _sent(conversation, now - timedelta(minutes=5)))
        final = await eventually(
            lambda: (p := latest(bus, conversation)) and p.reason == "sla_clock" and p)
    assert final.sla is not None, "the later message lost its clock"
    assert final.sla.kind == "next_response"
    assert final.sla.started_at == after.sent_at
    # Only the message still waiting counts: the answered angry one no longer lifts the priority.
    calm = scores(bus, conversation)[1]
    assert _factor(final, "sentiment") == _factor(calm, "sentiment")


async def test_a_resolution_processed_after_a_reopening_message_leaves_that_message_its_clock(
        fresh_database_url: str) -> None:
    conversation = uuid.uuid4()
    now = datetime.now(UTC)
    first = received(conversation, "my order is late", sent_at=now - timedelta(minutes=10))
    reopening = received(conversation, "it is late again", sent_at=now - timedelta(minutes=2))
    async with running_app([COMPONENT], fresh_database_url, **FAST) as (app, _):
        bus = app.state.runtime.bus
        await publish(bus, first, reopening)
        await eventually(lambda: len(scores(bus, conversation)) == 2)
        await publish(bus, ConversationStatusChanged(
            conversation_id=conversation, customer_id=first.customer_id, status="resolved",
            reason="resolved", sequence=2, at=now - timedelta(minutes=5)))
        final = await eventually(
            lambda: (p := latest(bus, conversation)) and p.reason == "sla_clock" and p)
    assert final.sla is not None and final.sla.started_at == reopening.sent_at


async def test_a_message_answered_before_it_was_scored_starts_no_clock(
        fresh_database_url: str) -> None:
    conversation = uuid.uuid4()
    now = datetime.now(UTC)
    first = received(conversation, "my order is late", sent_at=now - timedelta(minutes=10))
    late = received(conversation, "any news?", sent_at=now - timedelta(minutes=6))
    async with running_app([COMPONENT], fresh_database_url, **FAST) as (app, _):
        bus = app.state.runtime.bus
        await publish(bus, first)
        await eventually(lambda: latest(bus, conversation))
        # The reply (after both messages) is handled before the second message is scored.
        await publish(bus, _sent(conversation, now - timedelta(minutes=5)))
        await eventually(lambda: (p := latest(bus, conversation)) and p.sla is None)
        await publish(bus, late)
        final = await eventually(
            lambda: (p := latest(bus, conversation)) and p.reason == "message_scored"
            and p.sequence > 2 and p)
    assert final.sla is None, "an answered message started a clock that no response will stop"
