"""conversation.prioritised moves a queued conversation in the queue (an SLA deadline nearing) and
an SLA warning on an unanswered conversation escalates it to the supervisors' queue; the change
made by scoring a message is left to the message.scored behind it."""

from __future__ import annotations

import uuid
from datetime import UTC, datetime, timedelta

from sportello.contracts import ConversationPrioritised, SlaState
from sportello.db import Database
from sportello_assignment import service
from sportello_assignment.repository import AssignmentRepository
from tests.assignment.support import RULES, add_agent, conversation, emitted, queue, route, scored


def prioritised(conversation_id: uuid.UUID, customer_id: uuid.UUID, priority: float,
                reason: str, sequence: int, band: str = "normal",
                stage: str | None = None, deadline: datetime | None = None) -> ConversationPrioritised:
    now = datetime.now(UTC)
    sla = None if stage is None else SlaState(
        kind="first_response", policy="default", band=band, started_at=now - timedelta(hours=1),  # type: ignore[arg-type]
        deadline=deadline or now + timedelta(minutes=5), stage=stage, risk=0.9)  # type: ignore[arg-type]
    return ConversationPrioritised(
        conversation_id=conversation_id, customer_id=customer_id, priority=priority,
        band=band, breakdown=(), weights_profile="default", sla=sla, trajectory=None,  # type: ignore[arg-type]
        reason=reason, sequence=sequence, at=now,  # type: ignore[arg-type]
    )


async def reprioritise(db: Database, event: ConversationPrioritised) -> None:
    async with db.transaction() as tx:
        await service.reprioritise(tx, event, RULES)


async def test_an_sla_checkpoint_moves_a_queued_conversation_up(db: Database) -> None:
    calm, urgent = scored(priority=30), scored(priority=60)
    for event in (calm, urgent):  # no agents: both wait in the queue
        assert (await route(db, event)).outcome == "queued"
    assert await queue(db) == [urgent.conversation_id, calm.conversation_id]

    await reprioritise(db, prioritised(calm.conversation_id, calm.customer_id, 90,
                                       "sla_checkpoint", 2, band="urgent"))
    # Scoring's own change is not applied here (the message.scored behind it will be).
    await reprioritise(db, prioritised(urgent.conversation_id, urgent.customer_id, 99,
                                       "message_scored", 2, band="urgent"))
    # Unknown conversations are not ours yet.
    await reprioritise(db, prioritised(uuid.uuid4(), uuid.uuid4(), 50, "sla_checkpoint", 1))

    assert await queue(db) == [calm.conversation_id, urgent.conversation_id]
    assert (await conversation(db, calm.conversation_id)).priority == 90
    assert (await conversation(db, urgent.conversation_id)).priority == 60


async def test_within_a_band_the_sooner_deadline_goes_first(db: Database) -> None:
    later, sooner = scored(priority=55), scored(priority=52)
    for event in (later, sooner):
        await route(db, event)
    for event, minutes in ((later, 50), (sooner, 10)):
        await reprioritise(db, prioritised(event.conversation_id, event.customer_id,
                                           event.conversation_priority, "sla_clock", 2, "high",
                                           stage="on_track",
                                           deadline=datetime.now(UTC) + timedelta(minutes=minutes)))

    assert await queue(db) == [sooner.conversation_id, later.conversation_id]


async def test_an_sla_warning_escalates_an_unanswered_conversation_once(db: Database) -> None:
    waiting = scored(priority=40)
    await route(db, waiting)

    await reprioritise(db, prioritised(waiting.conversation_id, waiting.customer_id, 45,
                                       "sla_checkpoint", 2, stage="halfway"))
    assert (await conversation(db, waiting.conversation_id)).escalated_at is None
    for sequence in (3, 4):  # at_risk, then critical: one escalation
        await reprioritise(db, prioritised(waiting.conversation_id, waiting.customer_id, 60,
                                           "sla_checkpoint", sequence,
                                           stage="at_risk" if sequence == 3 else "critical"))

    escalations = [p for t, p in await emitted(db, waiting.conversation_id)
                   if t == "conversation.escalated"]
    assert len(escalations) == 1 and escalations[0]["stage"] == "at_risk"
    async with db.transaction() as tx:
        assert [c.id for c in await AssignmentRepository(tx.session).escalated(10)] == \
            [waiting.conversation_id]

    # An agent answers: the supervisors' queue empties.
    agent = await add_agent(db)
    async with db.transaction() as tx:
        await service.record_reply(tx, waiting.conversation_id, agent.id, datetime.now(UTC),
                                   RULES)
        assert await AssignmentRepository(tx.session).escalated(10) == []
