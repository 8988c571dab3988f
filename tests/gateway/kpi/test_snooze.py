"""Snoozed conversations in the KPIs, on hand-built sequences with answers worked out by hand:
the backlog counts unresolved work (snoozed included), the snoozed figure runs next to it, and a
snooze ends the agent's hold (waking the conversation is a new assignment, so a new hold).

S (chat, Ann, billing), on 2026-03-02: in 09:00, assigned 09:00; snoozed 09:30; the snooze ends
   10:15 and assignment hands it back to Ann 10:15; resolved 11:00.
   -> holds 09:00-09:30 (1800 s, hour 09) and 10:15-11:00 (2700 s, hour 10): concurrency and
   handle time 4500 s; resolution 7200 s; no reopening.
T (chat, Bob, tech): in 09:00, assigned 09:00; snoozed 09:20; resolved 10:10 while snoozed.
   -> hold 09:00-09:20, 1200 s; resolution 4200 s.
"""

from __future__ import annotations

import random
import uuid
from collections.abc import AsyncIterator
from datetime import datetime, timedelta

import pytest

from sportello.contracts import ConversationStatusChanged, Event
from sportello.db import Database
from sportello_gateway.component import COMPONENT
from sportello_gateway.kpi import service
from sportello_gateway.kpi.repository import GroupBy, Slice
from sportello_gateway.kpi.schemas import KpiReport
from tests.gateway.builders import assigned, received
from tests.gateway.kpi.dataset import ANN, BOB, DAY, at
from tests.gateway.kpi.support import apply_kpi, buckets, facts, wipe_kpi
from tests.support.database import migrated_database

PERIOD = Slice(start=DAY, end=DAY + timedelta(days=1))
S, T = uuid.UUID(int=0x5), uuid.UUID(int=0x7)
CUSTOMER = uuid.UUID(int=0xC)
_REASONS = {"snoozed": "snoozed", "resolved": "resolved", "open": "snooze_ended"}


@pytest.fixture
async def db(fresh_database_url: str) -> AsyncIterator[Database]:
    async with migrated_database(COMPONENT, fresh_database_url) as database:
        yield database


def status(conversation: uuid.UUID, sequence: int, state: str, moment: datetime,
           ) -> ConversationStatusChanged:
    return ConversationStatusChanged(
        conversation_id=conversation, customer_id=CUSTOMER,
        status=state, reason=_REASONS[state],  # type: ignore[arg-type]
        sequence=sequence, at=moment)


def snoozed_then_woken() -> list[Event]:
    return [
        received(S, CUSTOMER, at(9, 0)),
        assigned(S, CUSTOMER, 1, agent_id=ANN, name="Ann", team="billing", at=at(9, 0)),
        status(S, 1, "snoozed", at(9, 30)),
        status(S, 2, "open", at(10, 15)),
        assigned(S, CUSTOMER, 2, agent_id=ANN, name="Ann", team="billing", at=at(10, 15),
                 reason="previous_owner"),
        status(S, 3, "resolved", at(11, 0)),
    ]


def resolved_while_snoozed() -> list[Event]:
    return [
        received(T, CUSTOMER, at(9, 0)),
        assigned(T, CUSTOMER, 1, agent_id=BOB, name="Bob", team="tech", at=at(9, 0)),
        status(T, 1, "snoozed", at(9, 20)),
        status(T, 2, "resolved", at(10, 10)),
    ]


async def report(db: Database, where: Slice = PERIOD, group_by: GroupBy | None = None
                 ) -> KpiReport:
    async with db.transaction() as tx:
        return await service.report(tx, where, group_by)


def running(kpis: KpiReport) -> tuple[int, int, int, int]:
    b = kpis.totals.backlog
    return b.at_start, b.at_end, b.snoozed_at_start, b.snoozed_at_end


async def test_snoozed_is_unresolved_and_counted_apart(db: Database) -> None:
    await apply_kpi(db, snoozed_then_woken())

    # Over the day: opened and resolved inside it.
    assert running(await report(db)) == (0, 0, 0, 0)
    # Up to 10:00 it is unresolved and snoozed; from 10:00 on it wakes, then is resolved.
    assert running(await report(db, Slice(start=DAY, end=at(10)))) == (0, 1, 0, 1)
    assert running(await report(db, Slice(start=at(10), end=at(24)))) == (1, 0, 1, 0)
    by_hour = await report(db, group_by="hour")
    assert [(g.key[11:13], g.kpis.backlog.at_start, g.kpis.backlog.at_end,
             g.kpis.backlog.snoozed_at_start, g.kpis.backlog.snoozed_at_end)
            for g in by_hour.groups] == [("09", 0, 1, 0, 1), ("10", 1, 1, 1, 0),
                                         ("11", 1, 0, 0, 0)]
    by_agent = {g.key: g.kpis.backlog for g in (await report(
        db, Slice(start=DAY, end=at(10)), group_by="agent")).groups}
    assert (by_agent[str(ANN)].at_end, by_agent[str(ANN)].snoozed_at_end) == (1, 1)

    totals = (await report(db)).totals
    # Waking is not a reopening.
    assert (totals.conversations.reopens, totals.conversations.resolved_after_reopen) == (0, 0)
    assert totals.resolution.mean == 7200
    # Held 09:00-09:30 and 10:15-11:00; the snoozed 45 minutes are not.
    assert totals.agents.concurrency_seconds == 4500
    assert (totals.handle_time.count, totals.handle_time.mean) == (1, 4500)
    hours = {g.key[11:13]: g.kpis.agents.concurrency_seconds for g in by_hour.groups}
    assert hours == {"09": 1800, "10": 2700, "11": 0}
    fact = (await facts(db))[S]
    assert (fact["status"], fact["reopen_count"], fact["handle_seconds"]) == ("resolved", 0, 4500)


async def test_a_snooze_ends_the_hold_before_anything_else_happens(db: Database) -> None:
    """While still snoozed, the hold that the snooze ended already counts."""
    await apply_kpi(db, snoozed_then_woken()[:3])
    totals = (await report(db)).totals
    assert totals.agents.concurrency_seconds == 1800
    assert totals.handle_time.count == 0  # not resolved
    assert running(await report(db)) == (0, 1, 0, 1)
    assert (await facts(db))[S]["status"] == "snoozed"


async def test_resolved_while_snoozed(db: Database) -> None:
    await apply_kpi(db, resolved_while_snoozed())
    totals = (await report(db)).totals
    assert running(await report(db, Slice(start=DAY, end=at(10)))) == (0, 1, 0, 1)
    assert running(await report(db)) == (0, 0, 0, 0)
    assert totals.agents.concurrency_seconds == 1200
    assert (totals.handle_time.count, totals.handle_time.mean) == (1, 1200)
    assert totals.resolution.mean == 4200
    assert totals.conversations.reopens == 0


async def test_any_order_redelivery_and_rebuild_agree(db: Database) -> None:
    events = snoozed_then_woken() + resolved_while_snoozed()
    # The read model too: the rebuild merges its (latest) states over the inputs.
    await apply_kpi(db, events, read_model=True)
    expected_buckets, expected_facts = await buckets(db), await facts(db)
    assert any(key[5] == "snoozed_delta" for key in expected_buckets)
    totals = (await report(db)).totals
    assert totals.agents.concurrency_seconds == 4500 + 1200

    rng = random.Random(20261124)
    for order in (list(reversed(events)), rng.sample(events, len(events))):
        await wipe_kpi(db)
        await apply_kpi(db, order + rng.sample(order, len(order)))
        assert await buckets(db) == expected_buckets
        assert await facts(db) == expected_facts

    async with db.transaction() as tx:
        await service.rebuild(tx)
    assert await buckets(db) == expected_buckets
    assert await facts(db) == expected_facts
    assert (await report(db)).totals == totals
    async with db.transaction() as tx:
        await service.rebuild(tx, since=at(10))
    assert await buckets(db) == expected_buckets
