"""The read model's handlers commute: any arrival order, and any redelivery, gives the same rows."""

from __future__ import annotations

import asyncio
import random
import uuid
from collections.abc import AsyncIterator
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest
from sqlalchemy import delete, func, select

from sportello.contracts import Event
from sportello.db import Database
from sportello_gateway import service
from sportello_gateway.component import COMPONENT
from sportello_gateway.tables import conversations, messages
from tests.gateway.builders import (
    apply,
    assigned,
    delivery,
    prioritised,
    queued,
    received,
    reply,
    scored,
    status_changed,
)
from tests.support.database import migrated_database

T0 = datetime(2026, 3, 2, 9, 0, tzinfo=UTC)


@pytest.fixture
async def db(database_url: str) -> AsyncIterator[Database]:
    async with migrated_database(COMPONENT, database_url) as database:
        yield database


async def snapshot(db: Database, conversation_id: uuid.UUID) -> dict[str, Any]:
    async with db.transaction() as tx:
        conversation = (await tx.session.execute(
            select(conversations).where(conversations.c.id == conversation_id)
        )).mappings().one()
        rows = (await tx.session.execute(
            select(messages).where(messages.c.conversation_id == conversation_id)
            .order_by(messages.c.id)
        )).mappings().all()
    return {"conversation": dict(conversation), "messages": [dict(row) for row in rows]}


async def forget(db: Database, conversation_id: uuid.UUID) -> None:
    async with db.transaction() as tx:
        await tx.session.execute(delete(messages).where(messages.c.conversation_id == conversation_id))
        await tx.session.execute(delete(conversations).where(conversations.c.id == conversation_id))


def story(conversation_id: uuid.UUID, customer_id: uuid.UUID,
          final_agent: uuid.UUID) -> list[Event]:
    """A brand reply before the customer wrote, two inbound, a reply, another inbound, a reply;
    three scores; queued, then assigned twice."""
    proactive = received(conversation_id, customer_id, T0 - timedelta(minutes=5),
                         direction="outbound", author="Brand")
    first = received(conversation_id, customer_id, T0, author="Ada")
    second = received(conversation_id, customer_id, T0 + timedelta(minutes=1), author="Ada L.")
    reply = received(conversation_id, customer_id, T0 + timedelta(minutes=4),
                     direction="outbound", author="Brand")
    third = received(conversation_id, customer_id, T0 + timedelta(minutes=10), author="Ada L.")
    reply2 = received(conversation_id, customer_id, T0 + timedelta(minutes=12),
                      direction="outbound", author="Brand")
    return [
        proactive, first, second, reply, third, reply2,
        scored(first, score=40, conversation_priority=40),
        scored(second, score=70, conversation_priority=70, label="negative", sentiment=-0.8),
        scored(third, score=20, conversation_priority=70, label="positive", sentiment=0.6),
        queued(conversation_id, customer_id, 1, at=T0),
        assigned(conversation_id, customer_id, 2, at=T0 + timedelta(minutes=2)),
        assigned(conversation_id, customer_id, 3, agent_id=final_agent, name="Cy",
                 at=T0 + timedelta(minutes=3)),
    ]


async def test_any_order_gives_the_same_read_model(db: Database) -> None:
    conversation_id, customer_id, agent_id = uuid.uuid4(), uuid.uuid4(), uuid.uuid4()
    events = story(conversation_id, customer_id, agent_id)
    rng = random.Random(20260302)
    orders = [list(events), list(reversed(events))]
    orders += [rng.sample(events, len(events)) for _ in range(6)]

    snapshots = []
    for order in orders:
        await forget(db, conversation_id)
        await apply(db, order)
        snapshots.append(await snapshot(db, conversation_id))

    assert all(s == snapshots[0] for s in snapshots[1:])
    row = snapshots[0]["conversation"]
    assert row["message_count"] == 6
    assert row["opened_at"] == T0 - timedelta(minutes=5) + timedelta(seconds=1)
    assert row["last_message_at"] == T0 + timedelta(minutes=12)
    assert row["first_inbound_at"] == T0
    # The proactive outbound message precedes the first inbound one: not a response.
    assert row["first_response_at"] == T0 + timedelta(minutes=4)
    assert row["customer_display_name"] == "Ada L."
    assert row["priority"] == 70
    assert (row["assignment_state"], row["agent_id"], row["agent_name"]) == ("assigned", agent_id,
                                                                             "Cy")
    assert row["assignment_sequence"] == 3
    assert all(m["received_at"] is not None for m in snapshots[0]["messages"])
    assert sum(m["score"] is not None for m in snapshots[0]["messages"]) == 3


async def test_redelivered_events_change_nothing(db: Database) -> None:
    conversation_id, customer_id = uuid.uuid4(), uuid.uuid4()
    events = story(conversation_id, customer_id, uuid.uuid4())
    await apply(db, events)
    once = await snapshot(db, conversation_id)
    await apply(db, random.Random(7).sample(events, len(events)))
    assert await snapshot(db, conversation_id) == once


async def test_stale_assignment_sequence_is_ignored(db: Database) -> None:
    conversation_id, customer_id, agent_id = uuid.uuid4(), uuid.uuid4(), uuid.uuid4()
    await apply(db, [
        received(conversation_id, customer_id, T0),
        assigned(conversation_id, customer_id, 5, agent_id=agent_id, at=T0),
        queued(conversation_id, customer_id, 4, at=T0),
        assigned(conversation_id, customer_id, 3, at=T0),
        assigned(conversation_id, customer_id, 5, at=T0),  # same sequence: not newer either
    ])
    row = (await snapshot(db, conversation_id))["conversation"]
    assert (row["assignment_state"], row["agent_id"], row["assignment_sequence"]) == (
        "assigned", agent_id, 5)

    await apply(db, [queued(conversation_id, customer_id, 6, at=T0)])
    row = (await snapshot(db, conversation_id))["conversation"]
    assert (row["assignment_state"], row["agent_id"], row["assigned_at"]) == ("queued", None, None)


async def test_scored_before_received_leaves_a_placeholder_the_message_completes(
    db: Database,
) -> None:
    conversation_id, customer_id = uuid.uuid4(), uuid.uuid4()
    message = received(conversation_id, customer_id, T0, text="where is my parcel")
    await apply(db, [scored(message, score=88, conversation_priority=88)])
    before = await snapshot(db, conversation_id)
    assert before["conversation"]["opened_at"] is None  # hidden until a message is known
    assert before["conversation"]["priority"] == 88
    assert before["messages"][0]["received_at"] is None
    assert before["messages"][0]["score"] == 88

    await apply(db, [message])
    after = await snapshot(db, conversation_id)
    assert after["messages"][0]["text"] == "where is my parcel"
    assert after["messages"][0]["score"] == 88
    assert after["conversation"]["message_count"] == 1
    assert after["conversation"]["channel"] == "chat"


def activity(conversation_id: uuid.UUID, customer_id: uuid.UUID) -> list[Event]:
    """A customer message; a reply that goes all the way to read; a later reply that was sent,
    then failed; resolved, reopened, resolved again."""
    first = received(conversation_id, customer_id, T0, account="chat:brand",
                     visibility="private", flags=("possibly_sensitive",))
    answer = reply(conversation_id, customer_id, T0 + timedelta(minutes=2))
    lost = reply(conversation_id, customer_id, T0 + timedelta(minutes=3), text="hello?")
    minute = timedelta(minutes=1)
    return [
        first, answer, lost,
        delivery(answer, "sent", T0 + 5 * minute, external_id="out-1"),
        delivery(answer, "delivered", T0 + 6 * minute),
        delivery(answer, "read", T0 + 7 * minute),
        delivery(lost, "sent", T0 + 4 * minute, external_id="out-2"),
        delivery(lost, "failed", T0 + 8 * minute, error="outside the 24-hour window"),
        status_changed(conversation_id, customer_id, 1, "resolved", at=T0 + 10 * minute),
        status_changed(conversation_id, customer_id, 2, "open", at=T0 + 20 * minute),
        status_changed(conversation_id, customer_id, 3, "resolved", at=T0 + 30 * minute),
    ]


async def test_replies_deliveries_and_status_in_any_order(db: Database) -> None:
    conversation_id, customer_id = uuid.uuid4(), uuid.uuid4()
    events = activity(conversation_id, customer_id)
    rng = random.Random(20261124)
    orders = [list(events), list(reversed(events))]
    orders += [rng.sample(events, len(events)) for _ in range(10)]

    snapshots = []
    for order in orders:
        await forget(db, conversation_id)
        await apply(db, order)
        await apply(db, rng.sample(events, 4))  # redeliveries change nothing either
        snapshots.append(await snapshot(db, conversation_id))

    assert all(s == snapshots[0] for s in snapshots[1:])
    row = snapshots[0]["conversation"]
    assert (row["status"], row["status_sequence"]) == ("resolved", 3)
    assert row["resolved_at"] == T0 + timedelta(minutes=30)
    assert row["message_count"] == 3
    assert row["opened_at"] == T0 + timedelta(seconds=1)  # the customer's message, not a reply
    # The earlier "sent" of the failed reply does not count: the answer went out at +5 minutes.
    assert row["first_response_at"] == T0 + timedelta(minutes=5)
    by_text = {m["text"]: m for m in snapshots[0]["messages"]}
    answer, lost, first = by_text["we are on it"], by_text["hello?"], by_text["hello"]
    assert (answer["delivery_status"], answer["external_id"], answer["delivery_error"]) == (
        "read", "out-1", None)
    assert answer["sent_at"] == T0 + timedelta(minutes=2)  # requested, not delivery-updated
    assert answer["dispatched_at"] == T0 + timedelta(minutes=5)
    assert (lost["delivery_status"], lost["external_id"], lost["delivery_error"]) == (
        "failed", "out-2", "outside the 24-hour window")
    assert (first["visibility"], first["account"], first["flags"]) == (
        "private", "chat:brand", ["possibly_sensitive"])


async def test_stale_status_sequence_is_ignored(db: Database) -> None:
    conversation_id, customer_id = uuid.uuid4(), uuid.uuid4()
    await apply(db, [
        received(conversation_id, customer_id, T0),
        status_changed(conversation_id, customer_id, 4, "open", at=T0 + timedelta(minutes=9)),
        status_changed(conversation_id, customer_id, 3, "resolved", at=T0 + timedelta(minutes=5)),
        status_changed(conversation_id, customer_id, 4, "resolved", at=T0),  # not newer either
    ])
    row = (await snapshot(db, conversation_id))["conversation"]
    assert (row["status"], row["resolved_at"], row["status_sequence"]) == ("open", None, 4)


async def test_recomputes_from_two_topics_at_once_lose_nothing(db: Database) -> None:
    """Kafka runs a batch's partitions concurrently, so a message and a reply's delivery update
    of one conversation may be handled at the same time; neither may hide the other's change."""
    conversation_id, customer_id = uuid.uuid4(), uuid.uuid4()
    answer = reply(conversation_id, customer_id, T0 + timedelta(minutes=1))
    await apply(db, [received(conversation_id, customer_id, T0), answer])
    second = received(conversation_id, customer_id, T0 + timedelta(minutes=2))
    recorded = asyncio.Event()

    async def message_committed_late() -> None:
        async with db.transaction() as tx:
            await service.record_received(tx, second)
            recorded.set()
            await asyncio.sleep(0.3)  # the delivery's transaction reaches the conversation meanwhile

    async def delivery_meanwhile() -> None:
        await recorded.wait()
        async with db.transaction() as tx:
            await service.record_delivery(tx, delivery(answer, "sent", T0 + timedelta(minutes=3)))

    await asyncio.gather(message_committed_late(), delivery_meanwhile())
    row = (await snapshot(db, conversation_id))["conversation"]
    assert row["message_count"] == 3
    assert row["first_response_at"] == T0 + timedelta(minutes=3)


@pytest.mark.parametrize(("stage", "state"), [
    ("on_track", "ok"), ("halfway", "ok"), ("at_risk", "at_risk"), ("critical", "at_risk"),
    ("breached", "breached"), (None, None),
])
async def test_sla_state_is_derived_from_the_stage(db: Database, stage: str | None,
                                                   state: str | None) -> None:
    conversation_id, customer_id = uuid.uuid4(), uuid.uuid4()
    await apply(db, [received(conversation_id, customer_id, T0),
                     prioritised(conversation_id, customer_id, 1, priority=50, at=T0,
                                 stage=stage)])
    row = (await snapshot(db, conversation_id))["conversation"]
    assert row["sla_state"] == state
    assert row["sla_deadline"] == (T0 + timedelta(hours=4) if stage else None)


async def test_team_follows_the_assignment_or_the_queue(db: Database) -> None:
    conversation_id, customer_id = uuid.uuid4(), uuid.uuid4()
    await apply(db, [received(conversation_id, customer_id, T0),
                     queued(conversation_id, customer_id, 1, at=T0, team="care")])
    assert (await snapshot(db, conversation_id))["conversation"]["team"] == "care"
    await apply(db, [assigned(conversation_id, customer_id, 2, team="claims", at=T0)])
    assert (await snapshot(db, conversation_id))["conversation"]["team"] == "claims"
    await apply(db, [queued(conversation_id, customer_id, 3, at=T0)])  # no team named
    assert (await snapshot(db, conversation_id))["conversation"]["team"] is None


async def test_sentiment_is_the_latest_sent_scored_message_whatever_the_arrival(
    db: Database,
) -> None:
    conversation_id, customer_id = uuid.uuid4(), uuid.uuid4()
    early = received(conversation_id, customer_id, T0)
    late = received(conversation_id, customer_id, T0 + timedelta(minutes=5))
    await apply(db, [late, early,
                     scored(late, score=10, conversation_priority=10, label="positive",
                            sentiment=0.7),
                     scored(early, score=10, conversation_priority=10, label="negative",
                            sentiment=-0.7)])
    row = (await snapshot(db, conversation_id))["conversation"]
    assert (row["sentiment_label"], row["sentiment_score"]) == ("positive", 0.7)


async def test_search_document_holds_the_name_and_every_message(db: Database) -> None:
    conversation_id, customer_id = uuid.uuid4(), uuid.uuid4()
    await apply(db, [
        received(conversation_id, customer_id, T0, text="Parcel lost", author="Ada Lovelace"),
        reply(conversation_id, customer_id, T0 + timedelta(minutes=1), text="Sorry about that"),
    ])
    async with db.transaction() as tx:
        lexemes = (await tx.session.execute(
            select(func.tsvector_to_array(conversations.c.search_document))
            .where(conversations.c.id == conversation_id))).scalar_one()
    assert sorted(lexemes) == ["about", "ada", "lost", "lovelace", "parcel", "sorry", "that"]
