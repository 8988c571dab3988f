"""KPI values on the hand-built day (dataset.py) with answers worked out by hand, through the real
handlers on the real PostgreSQL; order, redelivery and rebuild give the same buckets."""

from __future__ import annotations

import random
import uuid
from collections.abc import AsyncIterator
from datetime import timedelta
from typing import Any

import pytest
from sqlalchemy import update

from sportello.db import Database
from sportello_gateway.component import COMPONENT
from sportello_gateway.kpi import histogram, service
from sportello_gateway.kpi.repository import GroupBy, Slice
from sportello_gateway.kpi.schemas import Durations, KpiReport
from sportello_gateway.tables import conversations
from tests.gateway.builders import delivery, received, reply
from tests.gateway.kpi import dataset
from tests.gateway.kpi.dataset import ANN, BOB, DAY
from tests.gateway.kpi.support import answer_csat, apply_kpi, buckets, facts, wipe_kpi
from tests.support.database import migrated_database

PERIOD = Slice(start=DAY, end=DAY + timedelta(days=1))


@pytest.fixture
async def db(fresh_database_url: str) -> AsyncIterator[Database]:
    async with migrated_database(COMPONENT, fresh_database_url) as database:
        yield database


async def report(db: Database, where: Slice = PERIOD, group_by: GroupBy | None = None
                 ) -> KpiReport:
    async with db.transaction() as tx:
        return await service.report(tx, where, group_by)


def assert_durations(measured: Durations, exact: list[float]) -> None:
    """Count and mean are exact; a percentile lies in the histogram bin of the exact value."""
    assert measured.count == len(exact)
    assert measured.mean == pytest.approx(sum(exact) / len(exact))
    ordered = sorted(exact)
    for estimate, q in ((measured.p50, 0.5), (measured.p90, 0.9)):
        # The value of rank ceil(q * n), as the histogram interpolation places it.
        true_value = ordered[max(0, -(-int(q * len(exact) * 1000) // 1000) - 1)]
        low, high = histogram.bounds(histogram.bin_of(true_value))
        assert estimate is not None and low <= estimate <= high, (q, estimate, true_value)


async def test_every_kpi_of_the_hand_built_day(db: Database) -> None:
    data = dataset.build()
    await apply_kpi(db, data.events)
    await answer_csat(db, data)

    totals = (await report(db)).totals

    # Opened in the day: C1..C6 (C7 opened the day before). Resolved: C7, C1, C3, C4, C6; C4
    # alone used two channels -> 4/5 in channel. C3 was resolved after one reopening.
    assert totals.conversations.model_dump() == {
        "opened": 6, "resolved": 5, "resolved_in_channel": 4, "in_channel_resolution_rate": 0.8,
        "resolved_after_reopen": 1, "reopens": 1}
    # Inbound: C1 2, C2 1, C3 2, C4 1, C5 1, C6 1 (C7's was the day before). Outbound: C1 2,
    # C2 1, C3 2, C4 1, C6 2 (the failed reply is still work done).
    assert totals.messages.model_dump() == {"inbound": 8, "outbound": 8}
    assert_durations(totals.first_response, [300, 1800, 2700, 180, 720])  # mean 1140
    assert totals.first_response.mean == 1140
    assert_durations(totals.next_response, [180, 660])  # C1, C3
    assert_durations(totals.resolution, [10800, 1800, 5700, 900, 1800])  # mean 4200
    assert totals.resolution.mean == 4200
    assert_durations(totals.handle_time, [10800, 1740, 3600, 840, 1800])  # mean 3756
    # First response: C1 hit (09:05 <= 09:10), C2 miss (09:40 > 09:30). Resolution: C1 hit
    # (09:30 <= 10:00), C4 miss (09:15 > 09:10).
    assert totals.sla.model_dump() == {
        "first_response": {"hit": 1, "miss": 1, "rate": 0.5},
        "resolution": {"hit": 1, "miss": 1, "rate": 0.5}}
    # Open at 00:00: C7. At 24:00: C2 and C5 (1 + 6 opened - 6 resolutions + 1 reopening).
    assert totals.backlog.model_dump() == {"at_start": 1, "at_end": 2, "snoozed_at_start": 0,
                                           "snoozed_at_end": 0}
    # Scored inbound messages of the day: negative C1, C3; neutral C2, C3, C6; positive C1, C5.
    assert totals.sentiment.distribution == {"negative": 2, "neutral": 3, "positive": 2}
    # First -> last label of the resolved ones: C7 neg->neg, C3 neg->neu, C1 neg->pos,
    # C6 neu->neu (C4 was never scored).
    assert [(t.from_label, t.to_label, t.count) for t in totals.sentiment.transitions] == [
        ("negative", "negative", 1), ("negative", "neutral", 1), ("negative", "positive", 1),
        ("neutral", "neutral", 1)]
    # Ann: C1 1740 + C3 1800 + C4 840 + C7 3600 (00:00-01:00) = 7980; Bob: C3 1800 (until its
    # first resolution) + C6 1800 = 3600 (C2 is still held: not counted until it ends). 11580 s
    # over a 86400 s day. No presence was published: no online time, no utilisation.
    assert totals.agents.concurrency_seconds == 11580
    assert totals.agents.average_concurrency == pytest.approx(11580 / 86400)
    assert (totals.agents.online_seconds, totals.agents.capacity_seconds) == (0, 0)
    assert totals.agents.average_online_agents == 0
    assert totals.agents.utilisation is None
    # C1 5 (its first answer, 1, was replaced), C2 3 (open: counted when answered), C3 2, C6 4.
    assert totals.csat.model_dump() == {
        "count": 4, "average": 3.5, "distribution": {"1": 0, "2": 1, "3": 1, "4": 1, "5": 1}}


async def test_groups_filters_and_volume(db: Database) -> None:
    data = dataset.build()
    await apply_kpi(db, data.events)
    await answer_csat(db, data)

    by_agent = {g.key: g.kpis for g in (await report(db, group_by="agent")).groups}
    # A conversation counts for its latest agent (C3 is Bob's); concurrency for whoever held it.
    assert set(by_agent) == {"", str(ANN), str(BOB)}
    ann, bob, nobody = by_agent[str(ANN)], by_agent[str(BOB)], by_agent[""]
    assert (ann.conversations.opened, ann.conversations.resolved) == (2, 3)  # C1 C4 / +C7
    assert (bob.conversations.opened, bob.conversations.resolved) == (3, 2)  # C2 C3 C6 / C3 C6
    assert (nobody.conversations.opened, nobody.conversations.resolved) == (1, 0)  # C5
    assert ann.agents.concurrency_seconds == 7980
    assert bob.agents.concurrency_seconds == 3600
    assert (ann.backlog.at_start, ann.backlog.at_end) == (1, 0)  # C7 open at midnight
    assert (bob.backlog.at_start, bob.backlog.at_end) == (0, 1)  # C2

    by_channel = {g.key: g.kpis for g in (await report(db, group_by="channel")).groups}
    assert by_channel["chat"].conversations.in_channel_resolution_rate == 1.0  # C7 C1 C3 C6
    assert by_channel["x"].conversations.in_channel_resolution_rate == 0.0  # C4
    assert by_channel["x"].first_response.count == 2  # C2, C4

    billing = (await report(db, Slice(start=DAY, end=DAY + timedelta(days=1),
                                      team="billing"))).totals
    # Latest team billing: C1, C4, C5 (queued for billing) and C7.
    assert billing.conversations.opened == 3
    assert billing.conversations.resolved == 3

    tech_on_x = await report(db, Slice(start=DAY, end=DAY + timedelta(days=1), team="tech",
                                       channel="x"))
    assert tech_on_x.totals.conversations.opened == 1  # C2
    bobs_in_tech = await report(db, Slice(start=DAY, end=DAY + timedelta(days=1), team="tech",
                                          agent=str(BOB)))  # from the hourly buckets
    assert bobs_in_tech.totals.conversations.opened == 3
    assert bobs_in_tech.totals.agents.concurrency_seconds == 3600

    by_hour = await report(db, group_by="hour")
    assert [(g.key, g.kpis.conversations.opened) for g in by_hour.groups
            if g.kpis.conversations.opened] == [("2026-03-02T09:00:00Z", 5),
                                                 ("2026-03-02T11:00:00Z", 1)]
    # The backlog carries from hour to hour: C7 is open through 00:00-01:00 (Ann held it, the
    # hour has her concurrency), and resolved in the 01:00 hour.
    assert [(g.key, g.kpis.backlog.at_start, g.kpis.backlog.at_end)
            for g in by_hour.groups[:2]] == [("2026-03-02T00:00:00Z", 1, 1),
                                             ("2026-03-02T01:00:00Z", 1, 0)]
    assert by_hour.groups[0].kpis.agents.concurrency_seconds == 3600
    assert by_hour.groups[0].kpis.agents.average_concurrency == 1.0
    assert by_hour.groups[-1].kpis.backlog.at_end == 2
    assert [(g.key, g.kpis.conversations.opened, g.kpis.messages.inbound)
            for g in by_hour.groups if g.kpis.messages.inbound] == [
        ("2026-03-02T09:00:00Z", 5, 6), ("2026-03-02T10:00:00Z", 0, 1),
        ("2026-03-02T11:00:00Z", 1, 1)]
    # The same per hour of the day (from the daily rollup), and per channel.
    everything = await report(db)
    assert [(p.key, p.opened, p.inbound, p.outbound) for p in everything.volume_by_hour_of_day
            ] == [("09", 5, 6, 5), ("10", 0, 1, 1), ("11", 1, 1, 2)]
    assert {p.key: p.opened for p in everything.volume_by_channel} == {"chat": 4, "x": 2}

    by_day = await report(db, Slice(start=DAY - timedelta(days=1), end=DAY + timedelta(days=1)),
                          group_by="day")
    assert [(g.key, g.kpis.conversations.opened, g.kpis.backlog.at_end)
            for g in by_day.groups] == [("2026-03-01", 1, 1), ("2026-03-02", 6, 2)]


async def test_periods_not_on_day_boundaries(db: Database) -> None:
    """Whole days come from the daily rollup, the edge hours from the hourly buckets: the same
    answers as the hourly buckets alone (group_by=hour reads only those)."""
    data = dataset.build()
    await apply_kpi(db, data.events)
    await answer_csat(db, data)
    where = Slice(start=DAY - timedelta(hours=12), end=DAY + timedelta(days=1, hours=6))

    mixed = await report(db, where, group_by="hour")
    # C7 opened at 22:00 the day before, inside this period: nothing was open at its start.
    assert mixed.totals.conversations.opened == 7
    assert mixed.totals.backlog.model_dump() == {"at_start": 0, "at_end": 2,
                                                 "snoozed_at_start": 0, "snoozed_at_end": 0}
    assert sum(g.kpis.conversations.opened for g in mixed.groups) == 7
    assert sum(g.kpis.first_response.count for g in mixed.groups) == 5
    assert mixed.totals.agents.concurrency_seconds == 11580 + 7200  # C7's 22:00-24:00 too
    shorter = await report(db, Slice(start=DAY + timedelta(hours=9, minutes=30),
                                     end=DAY + timedelta(hours=10)))
    # Only buckets whose hour starts in the period count: none does.
    assert shorter.totals.conversations.opened == 0
    assert shorter.totals.backlog.at_start == shorter.totals.backlog.at_end


async def test_any_order_and_redelivery_give_the_same_buckets(db: Database) -> None:
    data = dataset.build()
    await apply_kpi(db, data.events)
    await answer_csat(db, data)
    expected_buckets, expected_facts = await buckets(db), await facts(db)

    rng = random.Random(20261124)
    for order in (list(reversed(data.events)), rng.sample(data.events, len(data.events))):
        await wipe_kpi(db)
        # Every event twice (a redelivery that got past the inbox), in a shuffled order.
        await apply_kpi(db, order + rng.sample(order, len(order)))
        await answer_csat(db, data)
        assert await buckets(db) == expected_buckets
        assert await facts(db) == expected_facts


async def test_rebuild_recomputes_the_incremental_buckets(db: Database) -> None:
    data = dataset.build()
    await apply_kpi(db, data.events, read_model=True)
    await answer_csat(db, data)
    incremental_buckets, incremental_facts = await buckets(db), await facts(db)
    totals = (await report(db)).totals

    async with db.transaction() as tx:
        await service.rebuild(tx)
    assert await buckets(db) == incremental_buckets
    assert await facts(db) == incremental_facts

    async with db.transaction() as tx:
        await service.rebuild(tx, since=DAY + timedelta(hours=10))
    assert await buckets(db) == incremental_buckets
    assert (await report(db)).totals == totals


async def test_rebuild_from_the_read_model_alone(db: Database) -> None:
    """The read model keeps only the latest assignment, status and SLA state: conversations
    whose history it keeps whole (C2, C4, C6) rebuild to exactly the incremental buckets."""
    data = dataset.build()
    whole = {data.ids[name] for name in ("C2", "C4", "C6")}
    events = [e for e in data.events if getattr(e, "conversation_id", None) in whole]
    await apply_kpi(db, events, read_model=True)
    incremental_buckets, incremental_facts = await buckets(db), await facts(db)
    assert incremental_buckets

    await wipe_kpi(db)
    assert await buckets(db) == {}
    async with db.transaction() as tx:
        await service.rebuild(tx)
    assert await buckets(db) == incremental_buckets
    assert await facts(db) == incremental_facts


async def test_rebuild_from_rows_loaded_without_sequences(db: Database) -> None:
    """A read model filled in bulk (no event sequences) still rebuilds: a stored state without
    its sequence counts as the oldest."""
    data = dataset.build()
    whole = {data.ids[name] for name in ("C2", "C4", "C6")}
    events = [e for e in data.events if getattr(e, "conversation_id", None) in whole]
    await apply_kpi(db, events, read_model=True)
    incremental_buckets = await buckets(db)

    await wipe_kpi(db)
    async with db.transaction() as tx:
        await tx.session.execute(update(conversations).values(
            status_sequence=None, assignment_sequence=None, priority_sequence=None))
        await service.rebuild(tx)
    assert await buckets(db) == incremental_buckets


async def test_a_stale_sla_clock_never_replaces_a_newer_one(db: Database) -> None:
    """Priority re-sends the running clock: a repeat (same deadline, newer sequence) only moves
    the sequence, and an older clock arriving late is ignored."""
    conversation, customer = uuid.uuid4(), uuid.uuid4()
    first = received(conversation, customer, dataset.at(9, 0))
    answer = reply(conversation, customer, dataset.at(9, 4))
    await apply_kpi(db, [first, answer, delivery(answer, "sent", dataset.at(9, 5)),
                         dataset.sla(conversation, customer, 1, "first_response",
                                     dataset.at(9, 10)),
                         dataset.sla(conversation, customer, 3, "first_response",
                                     dataset.at(9, 10)),
                         # Stale: would make the 09:05 answer late.
                         dataset.sla(conversation, customer, 2, "first_response",
                                     dataset.at(9, 1))])
    row = (await facts(db))[conversation]
    assert (row["sla_first_response_sequence"], row["sla_first_response_met"]) == (3, True)
    assert (await report(db)).totals.sla.first_response.model_dump() == {
        "hit": 1, "miss": 0, "rate": 1.0}


async def test_bins_agree_between_python_and_sql(db: Database) -> None:
    from sqlalchemy import text

    samples: list[Any] = [0.0, 0.5, 1.0, 1.5, 7.0, 59.9, 300.0, 720.0, 3600.0, 86400.0, 1e9]
    async with db.transaction() as tx:
        for seconds in samples:
            sql_bin = (await tx.session.execute(
                text("SELECT " + histogram.BIN_SQL.replace("{seconds}", "CAST(:s AS float8)")),
                {"s": seconds})).scalar()
            assert sql_bin == histogram.bin_of(seconds), seconds
