"""Agents' online time, capacity and utilisation from agent.presence_changed, with answers worked
out by hand, through the real handler on the real PostgreSQL: any arrival order and redelivery
give the same buckets, the running interval is added at report time, the rebuild agrees.

Ann (billing, capacity 4): online 09:00, away 09:30, online 10:15, offline 11:00
  -> online 1800 s in hour 09, 2700 s in hour 10; capacity seconds 7200 and 10800.
Bob (tech, capacity 2): online 09:45, offline 11:10 (split at the hours)
  -> online 900 s (09), 3600 s (10), 600 s (11); capacity seconds twice that.
"""

from __future__ import annotations

import random
import uuid
from collections.abc import AsyncIterator
from datetime import datetime, timedelta
from typing import Any

import pytest
from sqlalchemy import delete, select

from sportello.contracts import Event
from sportello.db import Database
from sportello_gateway.component import COMPONENT
from sportello_gateway.kpi import service
from sportello_gateway.kpi.repository import GroupBy, Slice
from sportello_gateway.kpi.schemas import KpiReport
from sportello_gateway.kpi.tables import kpi_agents, kpi_daily, kpi_hourly
from tests.gateway.builders import assigned, received, status_changed
from tests.gateway.kpi.dataset import ANN, BOB, DAY, at
from tests.gateway.kpi.support import apply_kpi, buckets, presence, wipe_kpi
from tests.support.database import migrated_database

PERIOD = Slice(start=DAY, end=DAY + timedelta(days=1))
LATER = DAY + timedelta(days=2)  # "now" for reports after the day: nothing runs into it


@pytest.fixture
async def db(fresh_database_url: str) -> AsyncIterator[Database]:
    async with migrated_database(COMPONENT, fresh_database_url) as database:
        yield database


def ann_day() -> list[Event]:
    return [presence(ANN, 1, "online", at(9, 0)), presence(ANN, 2, "away", at(9, 30)),
            presence(ANN, 3, "online", at(10, 15)), presence(ANN, 4, "offline", at(11, 0))]


def bob_day() -> list[Event]:
    return [presence(BOB, 1, "online", at(9, 45), capacity=2, team="tech", name="Bob"),
            presence(BOB, 2, "offline", at(11, 10), capacity=2, team="tech", name="Bob")]


async def report(db: Database, where: Slice = PERIOD, group_by: GroupBy | None = None,
                 now: datetime = LATER) -> KpiReport:
    async with db.transaction() as tx:
        return await service.report(tx, where, group_by, now=now)


async def presence_buckets(db: Database) -> dict[tuple[Any, ...], float]:
    """(hour, team, agent, measure) -> value of the hourly presence buckets."""
    h = kpi_hourly.c
    async with db.transaction() as tx:
        rows = (await tx.session.execute(
            select(h.hour, h.channel, h.team, h.agent_id, h.measure, h.value)
            .where(h.measure.in_(("online_seconds", "capacity_seconds")), h.value != 0)
        )).all()
    assert {row.channel for row in rows} <= {""}  # presence has no channel
    return {(row.hour.hour, row.team, row.agent_id, row.measure): row.value for row in rows}


ANN_BUCKETS = {
    (9, "billing", str(ANN), "online_seconds"): 1800, (9, "billing", str(ANN), "capacity_seconds"): 7200,
    (10, "billing", str(ANN), "online_seconds"): 2700,
    (10, "billing", str(ANN), "capacity_seconds"): 10800,
}
BOB_BUCKETS = {
    (9, "tech", str(BOB), "online_seconds"): 900, (9, "tech", str(BOB), "capacity_seconds"): 1800,
    (10, "tech", str(BOB), "online_seconds"): 3600, (10, "tech", str(BOB), "capacity_seconds"): 7200,
    (11, "tech", str(BOB), "online_seconds"): 600, (11, "tech", str(BOB), "capacity_seconds"): 1200,
}


async def test_online_and_capacity_seconds_per_hour(db: Database) -> None:
    await apply_kpi(db, ann_day() + bob_day())
    assert await presence_buckets(db) == {**ANN_BUCKETS, **BOB_BUCKETS}

    agents = (await report(db)).totals.agents
    assert agents.online_seconds == 1800 + 2700 + 900 + 3600 + 600
    assert agents.capacity_seconds == 7200 + 10800 + 2 * (900 + 3600 + 600)
    assert agents.average_online_agents == pytest.approx(9600 / 86400)
    assert agents.utilisation == 0  # capacity, but nothing held

    by_agent = {g.key: g.kpis.agents for g in (await report(db, group_by="agent")).groups}
    assert (by_agent[str(ANN)].online_seconds, by_agent[str(ANN)].capacity_seconds) == (4500, 18000)
    assert (by_agent[str(BOB)].online_seconds, by_agent[str(BOB)].capacity_seconds) == (5100, 10200)
    by_team = {g.key: g.kpis.agents.online_seconds
               for g in (await report(db, group_by="team")).groups}
    assert by_team == {"billing": 4500, "tech": 5100}
    by_hour = {g.key[11:13]: g.kpis.agents for g in (await report(db, group_by="hour")).groups}
    assert {hour: a.online_seconds for hour, a in by_hour.items()} == {
        "09": 2700, "10": 6300, "11": 600}
    assert by_hour["10"].average_online_agents == pytest.approx(6300 / 3600)
    # Filtered by agent (from the daily 'agent' rollup) and by team and agent (hourly only).
    assert (await report(db, Slice(start=DAY, end=PERIOD.end, agent=str(BOB)))
            ).totals.agents.online_seconds == 5100
    assert (await report(db, Slice(start=DAY, end=PERIOD.end, team="tech", agent=str(BOB)))
            ).totals.agents.online_seconds == 5100
    # Presence has no channel.
    assert (await report(db, Slice(start=DAY, end=PERIOD.end, channel="chat"))
            ).totals.agents.online_seconds == 0


async def test_any_order_and_redelivery_give_the_same_buckets(db: Database) -> None:
    events = ann_day() + bob_day()
    await apply_kpi(db, events)
    expected = await buckets(db)

    rng = random.Random(7)
    orders = [list(reversed(events)), rng.sample(events, len(events)),
              # The older change arrives last and splits Ann's away interval.
              [e for e in events if e is not events[1]] + [events[1]]]
    for order in orders:
        await wipe_kpi(db)
        await apply_kpi(db, order + rng.sample(order, len(order)))  # every change twice
        assert await buckets(db) == expected
    assert await presence_buckets(db) == {**ANN_BUCKETS, **BOB_BUCKETS}


async def test_a_late_change_splits_an_interval_already_counted(db: Database) -> None:
    ann = ann_day()
    await apply_kpi(db, [ann[0], ann[2], ann[3]])
    # Without the away change, Ann was online 09:00-11:00 at capacity 4.
    assert (await report(db)).totals.agents.online_seconds == 7200
    await apply_kpi(db, [ann[1]])
    assert await presence_buckets(db) == ANN_BUCKETS


async def test_the_running_interval_counts_up_to_now(db: Database) -> None:
    await apply_kpi(db, [presence(ANN, 1, "online", at(9, 0)), presence(ANN, 2, "away", at(9, 30)),
                         presence(ANN, 3, "online", at(10, 15), capacity=3)])
    # At 10:45: the closed interval (1800 s) and the running one, 10:15-10:45 (1800 s at 3).
    agents = (await report(db, now=at(10, 45))).totals.agents
    assert (agents.online_seconds, agents.capacity_seconds) == (3600, 7200 + 5400)
    by_hour = {g.key[11:13]: g.kpis.agents.online_seconds
               for g in (await report(db, group_by="hour", now=at(12, 30))).groups}
    assert by_hour == {"09": 1800, "10": 2700, "11": 3600, "12": 1800}
    by_day = {g.key: g.kpis.agents.online_seconds
              for g in (await report(db, Slice(start=DAY, end=DAY + timedelta(days=2)),
                                      group_by="day", now=at(24 + 1))).groups}
    assert by_day == {"2026-03-02": 1800 + 13 * 3600 + 2700, "2026-03-03": 3600}
    by_agent = {g.key: g.kpis.agents.online_seconds
                for g in (await report(db, group_by="agent", now=at(10, 45))).groups}
    assert by_agent == {str(ANN): 3600}
    # Clipped to the period: up to 10:00, or from 11:00 on.
    assert (await report(db, Slice(start=DAY, end=at(10)), now=at(12))
            ).totals.agents.online_seconds == 1800
    assert (await report(db, Slice(start=at(11), end=PERIOD.end), now=at(12))
            ).totals.agents.online_seconds == 3600
    assert (await report(db, Slice(start=DAY, end=PERIOD.end, team="tech"), now=at(12))
            ).totals.agents.online_seconds == 0
    # Once it ends, the buckets hold what the running interval showed.
    await apply_kpi(db, [presence(ANN, 4, "offline", at(12, 30), capacity=3)])
    closed = {g.key[11:13]: g.kpis.agents.online_seconds
              for g in (await report(db, group_by="hour", now=LATER)).groups}
    assert closed == by_hour


async def test_utilisation_is_held_over_offered_slots(db: Database) -> None:
    conversation, customer = uuid.uuid4(), uuid.uuid4()
    await apply_kpi(db, [
        presence(ANN, 1, "online", at(9, 0), capacity=2),
        presence(ANN, 2, "offline", at(11, 0), capacity=2),
        received(conversation, customer, at(9, 0)),
        assigned(conversation, customer, 1, agent_id=ANN, name="Ann", team="billing",
                 at=at(9, 0)),
        status_changed(conversation, customer, 1, "resolved", at=at(10, 0)),
    ])
    # Held 3600 s of 2 x 7200 slot-seconds.
    agents = (await report(db)).totals.agents
    assert (agents.concurrency_seconds, agents.capacity_seconds) == (3600, 14400)
    assert agents.utilisation == 0.25
    assert agents.average_online_agents == pytest.approx(7200 / 86400)
    by_agent = {g.key: g.kpis.agents.utilisation
                for g in (await report(db, group_by="agent")).groups}
    assert by_agent == {str(ANN): 0.25}
    by_hour = {g.key[11:13]: g.kpis.agents.utilisation
               for g in (await report(db, group_by="hour")).groups}
    assert by_hour == {"09": 0.5, "10": 0.0}
    by_team = {g.key: g.kpis.agents.utilisation
               for g in (await report(db, group_by="team")).groups}
    assert by_team == {"billing": 0.25}


async def test_rebuild_recomputes_from_the_stored_changes(db: Database) -> None:
    await apply_kpi(db, ann_day() + bob_day() + [presence(ANN, 5, "online", at(12, 0))])
    expected = await buckets(db)
    running = (await report(db, now=at(13))).totals

    async with db.transaction() as tx:
        await tx.session.execute(delete(kpi_hourly))
        await tx.session.execute(delete(kpi_daily))
        await tx.session.execute(delete(kpi_agents))
        await service.rebuild(tx)
    assert await buckets(db) == expected
    assert (await report(db, now=at(13))).totals == running
    assert running.agents.online_seconds == 9600 + 3600

    async with db.transaction() as tx:
        await service.rebuild(tx, since=at(10))
    assert await buckets(db) == expected
