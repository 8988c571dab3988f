"""Priority on the in-process bus and real PostgreSQL: messages scored once and explained,
conversations re-prioritised as their SLA clock runs, responses stop it, the CRM and the press
list raise influence, and the trajectory follows the customer's mood."""

from __future__ import annotations

import asyncio
import uuid
from datetime import UTC, datetime, timedelta
from typing import Any

from sqlalchemy import select

from sportello.contracts import (
    ConversationStatusChanged,
    CrmContactUpdated,
    MessageDeliveryUpdated,
)
from sportello_priority.component import COMPONENT
from sportello_priority.metrics import SLA_STAGE_REACHED
from sportello_priority.tables import conversations
from tests.priority.support import latest, priorities, publish, received, scores
from tests.support.app import auth, running_app
from tests.support.waiting import eventually

FAST = dict(sla_tick_seconds=0.05, config_cache_seconds=0)


async def test_scores_inbound_once_and_explains_every_point(database_url: str) -> None:
    conversation = uuid.uuid4()
    angry = received(conversation, "Unacceptable, still waiting for 3 days, worst service!!",
                     followers=50_000, opened=True)
    calm = received(conversation, "ok thanks")
    reply = received(conversation, "we are on it", direction="outbound")
    async with running_app([COMPONENT], database_url, **FAST) as (app, _):
        bus = app.state.runtime.bus
        # The angry one twice: a redelivery must not produce a second score.
        await publish(bus, angry, angry, calm)
        await eventually(lambda: len(scores(bus, conversation)) >= 2)
        await publish(bus, reply)
        await eventually(lambda: (p := latest(bus, conversation)) is not None and p.sla is None)
        await asyncio.sleep(0.3)  # room for a wrong third score (the redelivery) to show up
        scored = scores(bus, conversation)
        changes = priorities(bus, conversation)
    assert [s.message_id for s in scored] == [angry.message_id, calm.message_id]
    first, second = scored
    assert first.sentiment.label == "negative" and first.score > second.score
    assert first.intent is not None and first.urgency is not None and first.urgency > 0
    factors = {f.factor: f for f in first.breakdown}
    assert set(factors) == {"base", "sentiment", "urgency", "intent", "influence", "sla"}
    for factor in first.breakdown:
        assert factor.value is not None and factor.weight is not None
        assert factor.contribution == round(factor.value * factor.weight, 2)
    assert first.score == round(sum(f.contribution for f in first.breakdown), 2)
    assert "50,000 followers" in factors["influence"].reason
    # A calm follow-up does not lower the conversation's priority: the angry message is unanswered.
    assert second.conversation_priority >= first.conversation_priority
    assert [c.sequence for c in changes] == list(range(1, len(changes) + 1))
    waiting, answered = changes[0], changes[-1]
    assert waiting.sla is not None and waiting.sla.kind == "first_response"
    assert waiting.sla.policy == "default" and waiting.sla.stage == "on_track"
    # The brand's answer on the platform stops the clock; the SLA factor drops to zero.
    assert answered.reason == "sla_clock" and answered.sla is None
    assert {f.factor: f.contribution for f in answered.breakdown}["sla"] == 0


async def test_a_response_sent_through_sportello_stops_the_clock_and_the_next_message_starts_another(
        database_url: str) -> None:
    conversation = uuid.uuid4()
    async with running_app([COMPONENT], database_url, **FAST) as (app, _):
        bus = app.state.runtime.bus
        await publish(bus, received(conversation, "My router is broken"))
        await eventually(lambda: latest(bus, conversation))
        await publish(bus, MessageDeliveryUpdated(
            message_id=uuid.uuid4(), conversation_id=conversation, channel="x", external_id="1",
            status="sent", at=datetime.now(UTC)))
        await eventually(lambda: (p := latest(bus, conversation)) and p.sla is None)
        await publish(bus, received(conversation, "It is still broken"))
        following = await eventually(
            lambda: (p := latest(bus, conversation)) and p.sla is not None and p)
    assert following.sla.kind == "next_response"


async def test_priority_rises_stage_by_stage_as_the_deadline_nears_and_resolution_stops_it(
        database_url: str) -> None:
    conversation = uuid.uuid4()
    message = received(conversation, "Where is my refund?", channel="whatsapp")
    second = {"first_response_s": 1.0, "next_response_s": 1.0}
    breaches_before = SLA_STAGE_REACHED.labels(stage="breached", kind="first_response")._value.get()
    async with running_app([COMPONENT], database_url, **FAST) as (app, client):
        bus = app.state.runtime.bus
        response = await client.put(
            "/v1/priority/sla-policies/whatsapp-express", headers=auth("admin"),
            json={"channels": ["whatsapp"], "calendar": "24x7",
                  "targets": {band: second for band in ("urgent", "high", "normal", "low")}})
        assert response.status_code == 200, response.text
        await publish(bus, message)
        breached = await eventually(
            lambda: (p := latest(bus, conversation)) and p.sla and p.sla.stage == "breached" and p)
        await publish(bus, ConversationStatusChanged(
            conversation_id=conversation, customer_id=message.customer_id, status="resolved",
            reason="resolved", sequence=2, at=datetime.now(UTC)))
        resolved = await eventually(lambda: (p := latest(bus, conversation)) and p.sla is None and p)
    changes = priorities(bus, conversation)
    first = changes[0]
    assert first.reason == "message_scored" and first.sla is not None
    assert first.sla.policy == "whatsapp-express"
    assert first.sla.deadline == message.sent_at + timedelta(seconds=1)
    stages = [c.sla.stage for c in changes if c.reason == "sla_checkpoint" and c.sla]
    assert stages[-1] == "breached" and len(stages) >= 2  # ticks may merge stages, never skip the last
    rising = [c.priority for c in changes if c.reason in ("message_scored", "sla_checkpoint")]
    assert rising == sorted(rising) and breached.priority > first.priority
    sla = {f.factor: f for f in breached.breakdown}["sla"]
    assert sla.value == 1.0 and "missed" in sla.reason
    assert resolved.priority < breached.priority
    # Ops see it too: the breach is counted for the dashboard and the alert rules.
    assert SLA_STAGE_REACHED.labels(stage="breached", kind="first_response")._value.get() \
        >= breaches_before + 1


async def test_crm_vip_and_press_list_raise_influence(database_url: str) -> None:
    vip_conversation, press_conversation = uuid.uuid4(), uuid.uuid4()
    vip = received(vip_conversation, "my order is late", followers=10)
    press = received(press_conversation, "my order is late", followers=10, handle="@Jane_Reporter")
    async with running_app([COMPONENT], database_url, **FAST) as (app, client):
        bus = app.state.runtime.bus
        await publish(bus, vip, press)
        await eventually(lambda: latest(bus, vip_conversation) and latest(bus, press_conversation))
        before = latest(bus, vip_conversation).priority  # type: ignore[union-attr]
        await publish(bus, CrmContactUpdated(customer_id=vip.customer_id, crm="hubspot", vip=True,
                                             sequence=1, at=datetime.now(UTC)))
        after_crm = await eventually(
            lambda: (p := latest(bus, vip_conversation)) and p.reason == "customer_updated" and p)
        response = await client.put("/v1/priority/press/jane_reporter",
                                    json={"note": "consumer affairs"}, headers=auth("supervisor"))
        assert response.status_code == 200, response.text
        after_press = await eventually(
            lambda: (p := latest(bus, press_conversation)) and p.reason == "customer_updated" and p)
    influence = {f.factor: f for f in after_crm.breakdown}["influence"]
    assert influence.value == 1.0 and "VIP" in influence.reason
    assert after_crm.priority > before
    assert "press list" in {f.factor: f for f in after_press.breakdown}["influence"].reason


async def test_trajectory_of_a_customer_who_turns_from_angry_to_satisfied(database_url: str) -> None:
    conversation = uuid.uuid4()
    start = datetime.now(UTC) - timedelta(minutes=10)
    angry = received(conversation, "This is a disgrace, my flight was cancelled and nobody helps. "
                                   "Terrible service!", sent_at=start)
    satisfied = received(conversation, "Thank you so much, all sorted now. Great service, you are "
                                       "wonderful!", sent_at=start + timedelta(minutes=5))
    async with running_app([COMPONENT], database_url, **FAST) as (app, _):
        bus = app.state.runtime.bus
        await publish(bus, angry)
        await eventually(lambda: latest(bus, conversation))
        await publish(bus, satisfied)
        final = await eventually(
            lambda: (p := latest(bus, conversation)) and p.trajectory
            and p.trajectory.messages == 2 and p)
    trajectory = final.trajectory
    assert trajectory.first.label == "negative" and trajectory.last.label == "positive"
    assert trajectory.minimum.message_id == angry.message_id
    assert [(t.from_label, t.to_label) for t in trajectory.transitions] == [("negative", "positive")]
    assert trajectory.transitions[0].message_id == satisfied.message_id


async def test_snoozing_is_not_an_answer_the_clock_keeps_running(database_url: str) -> None:
    conversation = uuid.uuid4()
    message = received(conversation, "Where is my refund?")
    async with running_app([COMPONENT], database_url, **FAST) as (app, _):
        bus = app.state.runtime.bus
        await publish(bus, message)
        waiting = await eventually(lambda: (p := latest(bus, conversation)) and p.sla and p)
        await publish(bus, ConversationStatusChanged(
            conversation_id=conversation, customer_id=message.customer_id, status="snoozed",
            reason="snoozed", sequence=1, at=datetime.now(UTC),
            snoozed_until=datetime.now(UTC) + timedelta(hours=1)))
        db = app.state.contexts["priority"].db

        async def applied() -> Any:
            async with db.transaction() as tx:
                return (await tx.session.execute(
                    select(conversations.c.status, conversations.c.clock_kind)
                    .where(conversations.c.id == conversation,
                           conversations.c.status_sequence == 1))).first()

        status, clock = await eventually(applied)
    assert (status, clock) == ("open", "first_response")  # still owed a first response
    assert waiting.sla is not None and waiting.sla.kind == "first_response"
    assert latest(bus, conversation).sla is not None  # type: ignore[union-attr]
