"""Ownership over time, on real PostgreSQL with a controlled clock: the sticky owner, an owner gone
offline, an owner who never answers, widening skills, and the bot hand-off."""

from __future__ import annotations

import uuid
from datetime import UTC, datetime

import pytest

from sportello.contracts import ConversationStatusChanged
from sportello.db import Database
from sportello.http.problems import Conflict
from sportello_assignment import manual, service
from sportello_assignment.agents import put_team
from sportello_assignment.policy import POLICIES
from sportello_assignment.schemas import Handoff, TeamIn
from sportello_assignment.sweeps import sweep
from tests.assignment.support import (
    RULES,
    add_agent,
    at,
    conversation,
    emitted,
    get_agent,
    patch,
    queue,
    route,
    rules,
    scored,
)
from tests.services.calendar.calendars import ROME, office
from tests.services.calendar.calendars import at as at_zone


async def resolve(db: Database, conversation_id: uuid.UUID, customer_id: uuid.UUID,
                  sequence: int, when: datetime, status: str = "resolved") -> None:
    async with db.transaction() as tx:
        await service.record_status(tx, ConversationStatusChanged(
            conversation_id=conversation_id, customer_id=customer_id, status=status,  # type: ignore[arg-type]
            reason="resolved" if status == "resolved" else "reopened_by_customer",
            sequence=sequence, at=when), RULES, when)


async def reply(db: Database, conversation_id: uuid.UUID, agent_id: uuid.UUID,
                when: datetime) -> None:
    async with db.transaction() as tx:
        await service.record_reply(tx, conversation_id, agent_id, when, RULES)


# Sticky owner


async def test_a_busy_owner_keeps_the_returning_customer_until_the_wait_runs_out(
        db: Database) -> None:
    owner = await add_agent(db, capacity=1)
    customer = uuid.uuid4()
    first = scored(customer_id=customer)
    await route(db, first, now=at(0))
    other = await add_agent(db, capacity=5)

    returning = scored(customer_id=customer)
    routing = await route(db, returning, now=at(10))

    # The owner is full: the customer waits for them rather than going to a stranger.
    assert routing.outcome == "reserved" and routing.agent_id == owner.id
    assert (await get_agent(db, other.id)).active_count == 0
    # The owner frees up before the wait runs out: the conversation is theirs.
    await resolve(db, first.conversation_id, customer, 1, at(60))
    assert (await conversation(db, returning.conversation_id)).agent_id == owner.id
    [_, (kind, payload)] = await emitted(db, returning.conversation_id)
    assert (kind, payload["reason"]) == ("conversation.assigned", "previous_owner")


async def test_after_the_sticky_wait_anyone_may_take_the_customer(db: Database) -> None:
    owner = await add_agent(db, capacity=1)
    customer = uuid.uuid4()
    await route(db, scored(customer_id=customer), now=at(0))
    other = await add_agent(db, capacity=5)
    returning = scored(customer_id=customer)
    await route(db, returning, now=at(10))

    await sweep(db, RULES, at(10 + RULES.sticky_wait_s - 1))
    assert (await conversation(db, returning.conversation_id)).status == "queued"
    await sweep(db, RULES, at(10 + RULES.sticky_wait_s + 1))

    assert (await conversation(db, returning.conversation_id)).agent_id == other.id
    assert (await get_agent(db, owner.id)).active_count == 1


async def test_a_customer_writing_after_resolution_goes_back_to_the_owner(db: Database) -> None:
    owner = await add_agent(db, capacity=3)
    first = scored()
    await route(db, first, now=at(0))
    await resolve(db, first.conversation_id, first.customer_id, 1, at(100))
    assert (await get_agent(db, owner.id)).active_count == 0
    await add_agent(db, capacity=3)  # equally free, never assigned: would win a plain tie-break

    follow_up = scored(first.conversation_id, first.customer_id, sent_at=at(200))
    routing = await route(db, follow_up, now=at(200))

    assert routing == routing.__class__("assigned", owner.id)
    [*_, (kind, payload)] = await emitted(db, first.conversation_id)
    assert (kind, payload["reason"]) == ("conversation.assigned", "previous_owner")
    # The late "resolved" of before is ignored; the reopen from ingest finds it open already.
    await resolve(db, first.conversation_id, first.customer_id, 1, at(100))
    await resolve(db, first.conversation_id, first.customer_id, 2, at(201), status="open")
    assert (await conversation(db, first.conversation_id)).status == "assigned"
    assert (await get_agent(db, owner.id)).active_count == 1


# Offline and no-reply


async def test_an_offline_agent_s_conversations_return_to_the_queue_after_the_grace(
        db: Database) -> None:
    leaving = await add_agent(db, capacity=3)
    events = [scored(), scored()]
    for event in events:
        await route(db, event, now=at(0))
    staying = await add_agent(db, capacity=1)

    await patch(db, leaving.id, presence="offline", now=at(100))
    await sweep(db, RULES, at(100 + RULES.offline_grace_s - 1))
    assert (await get_agent(db, leaving.id)).active_count == 2  # a reload is not a departure

    await sweep(db, RULES, at(100 + RULES.offline_grace_s + 1))

    assert (await get_agent(db, leaving.id)).active_count == 0
    owners = [(await conversation(db, e.conversation_id)).agent_id for e in events]
    assert sorted(map(str, owners)).count(str(staying.id)) == 1  # one slot: one taken, one waits
    assert len(await queue(db)) == 1
    for event in events:
        kinds = [k for k, _ in await emitted(db, event.conversation_id)]
        assert kinds[0] == "conversation.assigned" and len(kinds) == 2
    # Coming back online later picks up what is still waiting.
    await patch(db, leaving.id, presence="online", now=at(500))
    assert await queue(db) == []


async def test_an_owner_who_does_not_answer_loses_the_conversation(db: Database) -> None:
    slow = await add_agent(db, capacity=3)
    answered, ignored = scored(priority=55), scored(priority=55)  # band high: 900 s to answer
    for event in (answered, ignored):
        await route(db, event, now=at(0))
    fast = await add_agent(db, capacity=3)
    await reply(db, answered.conversation_id, slow.id, at(250))

    await sweep(db, RULES, at(899))
    assert (await conversation(db, ignored.conversation_id)).agent_id == slow.id
    await sweep(db, RULES, at(901))  # no reply to it, and no reply to anyone for 651 s

    assert (await conversation(db, ignored.conversation_id)).agent_id == fast.id
    assert (await conversation(db, answered.conversation_id)).agent_id == slow.id
    [_, (_, payload)] = await emitted(db, ignored.conversation_id)
    assert (payload["reason"], payload["previous_agent_id"]) == ("reassigned", str(slow.id))
    assert (await get_agent(db, slow.id)).active_count == 0


async def test_an_owner_busy_answering_others_keeps_the_conversation(db: Database) -> None:
    busy = await add_agent(db, capacity=3)
    events = [scored(priority=55) for _ in range(3)]
    for event in events:
        await route(db, event, now=at(0))
    await add_agent(db, capacity=3)
    await reply(db, events[0].conversation_id, busy.id, at(500))
    await reply(db, events[1].conversation_id, busy.id, at(850))

    await sweep(db, RULES, at(901))  # the third is overdue, but its owner is at work

    assert (await conversation(db, events[2].conversation_id)).agent_id == busy.id
    assert (await conversation(db, events[2].conversation_id)).reply_due_at == at(901 + 600)


async def test_without_a_less_loaded_agent_the_owner_keeps_it_and_is_checked_again(
        db: Database) -> None:
    only = await add_agent(db, capacity=3)
    ignored = scored(priority=80)  # urgent: 300 s
    await route(db, ignored, now=at(0))

    await sweep(db, RULES, at(301))

    # Nobody could take it now: moving it to the queue would only make the customer wait longer.
    assert (await conversation(db, ignored.conversation_id)).agent_id == only.id
    assert (await conversation(db, ignored.conversation_id)).reply_due_at == at(601)
    busy = await add_agent(db, capacity=3)
    await route(db, scored(), now=at(302))  # equally loaded now: no better than the owner
    await sweep(db, RULES, at(602))
    assert (await conversation(db, ignored.conversation_id)).agent_id == only.id

    free = await add_agent(db, capacity=3)
    await sweep(db, RULES, at(902))

    moved = await conversation(db, ignored.conversation_id)
    assert moved.agent_id == free.id and moved.avoid_agent_id == only.id
    assert (await get_agent(db, only.id)).active_count == 0
    assert (await get_agent(db, busy.id)).active_count == 1
    [*_, (kind, payload)] = await emitted(db, ignored.conversation_id)
    assert (kind, payload["reason"]) == ("conversation.assigned", "reassigned")


# Skills


async def test_skills_route_to_a_matching_agent_then_widen_to_anyone(db: Database) -> None:
    english = await add_agent(db, capacity=3, languages=["en"])
    italian = scored(language="it")

    assert (await route(db, italian, now=at(0))).outcome == "queued"
    await sweep(db, RULES, at(RULES.widen_after_s - 1))
    assert (await conversation(db, italian.conversation_id)).status == "queued"
    speaker = await add_agent(db, capacity=3, languages=["it", "en"])
    assert (await conversation(db, italian.conversation_id)).agent_id == speaker.id

    another = scored(language="it")
    await patch(db, speaker.id, presence="offline", now=at(5))
    await route(db, another, now=at(10))
    await sweep(db, RULES, at(10 + RULES.widen_after_s + 1))
    assert (await conversation(db, another.conversation_id)).agent_id == english.id


async def test_team_accounts_and_topic_specialists(db: Database) -> None:
    async with db.transaction() as tx:
        await put_team(tx, "airline", TeamIn(accounts=["x:airline"]))
    generalist = await add_agent(db, capacity=3, team="airline")
    sales = await add_agent(db, capacity=3, team="airline", topics=["lead"])
    await add_agent(db, capacity=3, team="telco")

    lead = scored(account="x:airline", intent="lead")
    complaint = scored(account="x:airline", intent="complaint")

    assert (await route(db, lead)).agent_id == sales.id  # the specialist first
    assert (await route(db, complaint)).agent_id == generalist.id  # not the sales desk's topic
    assert (await conversation(db, lead.conversation_id)).team == "airline"


# Bot hand-off


async def test_a_bot_holds_the_conversation_until_it_hands_off(db: Database) -> None:
    with_bot = rules(bot_channels=frozenset({"chat"}))
    agent = await add_agent(db, capacity=3, with_rules=with_bot)
    event = scored(channel="chat")

    assert (await route(db, event, with_bot)).outcome == "bot"
    assert (await get_agent(db, agent.id)).active_count == 0
    assert await route(db, scored(event.conversation_id, event.customer_id), with_bot) \
        == (await route(db, scored(event.conversation_id, event.customer_id), with_bot))

    async with db.transaction() as tx:
        handed = await manual.handoff(tx, event.conversation_id,
                                      Handoff(note="Wants a refund for order 123"), with_bot)
    assert (handed.status, handed.agent_id) == ("assigned", agent.id)
    async with db.transaction() as tx:  # a retried hand-off changes nothing
        again = await manual.handoff(tx, event.conversation_id, Handoff(), with_bot)
    assert again.agent_id == agent.id
    assert (await get_agent(db, agent.id)).active_count == 1
    assert (await conversation(db, event.conversation_id)).handoff_note == \
        "Wants a refund for order 123"

    # A resolved conversation is nobody's to hand off.
    elsewhere = scored(channel="x")
    await route(db, elsewhere, with_bot)
    await resolve(db, elsewhere.conversation_id, elsewhere.customer_id, 1, datetime.now(UTC))
    async with db.transaction() as tx:
        with pytest.raises(Conflict):
            await manual.handoff(tx, elsewhere.conversation_id, Handoff(), with_bot)


# Shifts and presence


async def test_shifts_keep_agents_off_outside_their_hours(db: Database) -> None:
    rome_office = office("Europe/Rome", "09:00-13:00", "14:00-18:00").model_dump(mode="json")
    monday_10 = at_zone(ROME, 2030, 3, 4, 10)  # a Monday
    agent = await add_agent(db, capacity=3, presence="offline", shifts=rome_office)

    with pytest.raises(Conflict):  # Monday 20:00 in Rome: not their hours
        await patch(db, agent.id, presence="online", now=at_zone(ROME, 2030, 3, 4, 20))
    assert (await patch(db, agent.id, presence="online", now=monday_10)).presence == "online"
    no_auto_away = rules(auto_away_s=0)
    await sweep(db, no_auto_away, at_zone(ROME, 2030, 3, 4, 12, 59))
    assert (await get_agent(db, agent.id)).presence == "online"

    await sweep(db, no_auto_away, at_zone(ROME, 2030, 3, 4, 13, 1))  # the lunch break

    assert (await get_agent(db, agent.id)).presence == "offline"


async def test_an_inactive_agent_turns_away_and_keeps_their_conversations(db: Database) -> None:
    agent = await add_agent(db, capacity=3)
    await patch(db, agent.id, presence="online", now=at(0))
    event = scored()
    await route(db, event, now=at(1))

    auto_away = rules(auto_away_s=900)
    await sweep(db, auto_away, at(899))
    assert (await get_agent(db, agent.id)).presence == "online"
    await sweep(db, auto_away, at(901))

    assert (await get_agent(db, agent.id)).presence == "away"
    assert (await conversation(db, event.conversation_id)).agent_id == agent.id
    assert (await route(db, scored(), now=at(902))).outcome == "queued"


# Waiting on the customer


async def test_an_answer_frees_the_slot_and_the_customer_s_reply_goes_back_to_the_owner(
        db: Database) -> None:
    owner = await add_agent(db, capacity=1)
    first = scored(sent_at=at(0))
    await route(db, first, now=at(0))
    waiting = scored(sent_at=at(5))
    assert (await route(db, waiting, now=at(5))).outcome == "queued"

    await reply(db, first.conversation_id, owner.id, at(60))

    # The ball is in the customer's court: the owner's one slot takes the next conversation.
    assert (await conversation(db, first.conversation_id)).status == "waiting"
    assert (await conversation(db, waiting.conversation_id)).agent_id == owner.id
    # The customer answers while the owner is full: reserved for the owner for a while ...
    other = await add_agent(db, capacity=1)
    follow_up = scored(first.conversation_id, first.customer_id, sent_at=at(100))
    assert (await route(db, follow_up, now=at(100))).outcome == "reserved"
    assert (await get_agent(db, other.id)).active_count == 0
    # ... and theirs again as soon as they have room.
    await reply(db, waiting.conversation_id, owner.id, at(150))
    back = await conversation(db, first.conversation_id)
    assert (back.status, back.agent_id) == ("assigned", owner.id)
    [*_, (kind, payload)] = await emitted(db, first.conversation_id)
    assert (kind, payload["reason"]) == ("conversation.assigned", "previous_owner")


async def test_an_answer_older_than_the_customer_s_last_message_keeps_the_slot(
        db: Database) -> None:
    owner = await add_agent(db, capacity=2)
    first = scored(sent_at=at(0))
    await route(db, first, now=at(0))
    await route(db, scored(first.conversation_id, first.customer_id, sent_at=at(50)), now=at(50))

    await reply(db, first.conversation_id, owner.id, at(40))  # crossed the customer's message

    assert (await conversation(db, first.conversation_id)).status == "assigned"
    assert (await get_agent(db, owner.id)).active_count == 1


async def test_baselines_hold_the_slot_until_resolution(db: Database) -> None:
    fifo = rules(policy=POLICIES["fewest_open"])
    owner = await add_agent(db, capacity=1, with_rules=fifo)
    first = scored(sent_at=at(0))
    await route(db, first, fifo, now=at(0))
    async with db.transaction() as tx:
        await service.record_reply(tx, first.conversation_id, owner.id, at(60), fifo)
    assert (await conversation(db, first.conversation_id)).status == "assigned"
    assert (await route(db, scored(sent_at=at(70)), fifo, now=at(70))).outcome == "queued"


# An answer to a queued conversation


async def test_an_agent_who_answers_a_queued_conversation_takes_the_case(db: Database) -> None:
    busy = await add_agent(db, capacity=1)
    await route(db, scored(sent_at=at(0)), now=at(0))
    waiting = scored(sent_at=at(10))
    assert (await route(db, waiting, now=at(10))).outcome == "queued"
    helper = await add_agent(db, capacity=2, presence="away")  # answered from the channel, not online

    await reply(db, waiting.conversation_id, helper.id, at(30))

    taken = await conversation(db, waiting.conversation_id)
    assert (taken.status, taken.agent_id) == ("waiting", helper.id)  # theirs; the ball is with the customer
    assert waiting.conversation_id not in await queue(db)
    assigned = [p for kind, p in await emitted(db, waiting.conversation_id) if kind == "conversation.assigned"]
    assert [(p["agent"]["id"], p["reason"]) for p in assigned] == [(str(helper.id), "claimed")]
    assert (await get_agent(db, helper.id)).active_count == 0
    assert (await get_agent(db, busy.id)).active_count == 1
    # The customer's answer comes back to the agent who took the case (back online by then).
    await patch(db, helper.id, now=at(50), presence="online")
    await route(db, scored(waiting.conversation_id, waiting.customer_id, sent_at=at(60)), now=at(60))
    back = await conversation(db, waiting.conversation_id)
    assert (back.status, back.agent_id) == ("assigned", helper.id)


async def test_under_a_baseline_the_replier_holds_a_slot_for_the_case(db: Database) -> None:
    fifo = rules(policy=POLICIES["fewest_open"])
    await add_agent(db, capacity=1, with_rules=fifo)
    await route(db, scored(sent_at=at(0)), fifo, now=at(0))
    waiting = scored(sent_at=at(10))
    assert (await route(db, waiting, fifo, now=at(10))).outcome == "queued"
    helper = await add_agent(db, capacity=1, presence="away", with_rules=fifo)

    async with db.transaction() as tx:
        await service.record_reply(tx, waiting.conversation_id, helper.id, at(30), fifo)

    taken = await conversation(db, waiting.conversation_id)
    assert (taken.status, taken.agent_id) == ("assigned", helper.id)
    assert (await get_agent(db, helper.id)).active_count == 1


async def test_an_agent_without_room_who_answers_a_queued_conversation_leaves_it_queued(
        db: Database) -> None:
    fifo = rules(policy=POLICIES["fewest_open"])
    full = await add_agent(db, capacity=1, with_rules=fifo)
    await route(db, scored(sent_at=at(0)), fifo, now=at(0))
    waiting = scored(sent_at=at(10))
    await route(db, waiting, fifo, now=at(10))

    async with db.transaction() as tx:
        await service.record_reply(tx, waiting.conversation_id, full.id, at(30), fifo)

    assert (await conversation(db, waiting.conversation_id)).status == "queued"  # capacity holds
    assert (await get_agent(db, full.id)).active_count == 1
