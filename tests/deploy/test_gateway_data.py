"""The gateway data generator on the real embedded PostgreSQL, at a tiny size: the counts asked for,
rows the gateway's own rules agree with, the same rows for the same seed."""

from __future__ import annotations

import uuid
from collections.abc import Sequence
from datetime import UTC, datetime
from typing import Any

import asyncpg
import pytest
from pydantic import SecretStr
from sqlalchemy import text

from sportello.db import Database
from sportello.db.database import create_engine
from sportello.settings import ServiceSettings
from sportello_deploy import gateway_data
from sportello_deploy.gateway_data import Spec, fill, migrate_gateway, plan_columns
from sportello_gateway.repository import GatewayRepository
from sportello_gateway.tables import metadata

END = datetime(2026, 3, 1, tzinfo=UTC)
SPEC = Spec(conversations=501, messages_per_conversation=6, seed=3, days=30, end=END)
# What the gateway derives from the messages (repository.recompute_from_messages).
DERIVED = ("message_count", "opened_at", "last_message_at", "channel", "customer_display_name",
           "first_inbound_at", "first_response_at")


async def rows(dsn: str, sql: str, *args: Any) -> list[asyncpg.Record]:
    conn = await asyncpg.connect(dsn)
    try:
        return list(await conn.fetch(sql, *args))
    finally:
        await conn.close()


async def digest(dsn: str) -> tuple[str, str]:
    """Every value of both tables, in id order, as one md5 each."""
    found = await rows(dsn, """
        SELECT (SELECT md5(string_agg(c::text, ',' ORDER BY c.id)) FROM gateway.conversations c),
               (SELECT md5(string_agg(m::text, ',' ORDER BY m.id)) FROM gateway.messages m)""")
    return found[0][0], found[0][1]


@pytest.fixture
async def filled(fresh_database_url: str) -> tuple[str, dict[str, Any]]:
    await migrate_gateway(fresh_database_url)
    report = await fill(fresh_database_url, SPEC, chunk=200)
    return gateway_data.asyncpg_dsn(fresh_database_url), report


async def test_fills_the_requested_counts(filled: tuple[str, dict[str, Any]]) -> None:
    dsn, report = filled
    assert report["conversations"] == 501 and report["messages"] == 501 * 6
    [counts] = await rows(dsn, """
        SELECT (SELECT count(*) FROM gateway.conversations) AS conversations,
               (SELECT count(*) FROM gateway.messages) AS messages,
               (SELECT sum(message_count) FROM gateway.conversations) AS declared,
               (SELECT count(DISTINCT channel) FROM gateway.conversations) AS channels,
               (SELECT count(DISTINCT agent_id) FROM gateway.conversations) AS agents""")
    assert (counts["conversations"], counts["messages"], counts["declared"]) == (501, 3006, 3006)
    assert counts["channels"] == len(gateway_data.CHANNELS)
    assert counts["agents"] > 100  # spread over the ~200 agents


async def test_every_message_belongs_to_a_conversation_that_counts_it(
        filled: tuple[str, dict[str, Any]]) -> None:
    dsn, _ = filled
    orphans = await rows(dsn, """SELECT m.id FROM gateway.messages m
        LEFT JOIN gateway.conversations c ON c.id = m.conversation_id WHERE c.id IS NULL""")
    miscounted = await rows(dsn, """SELECT c.id FROM gateway.conversations c
        LEFT JOIN (SELECT conversation_id, count(*) AS n FROM gateway.messages
                   GROUP BY conversation_id) m ON m.conversation_id = c.id
        WHERE c.message_count IS DISTINCT FROM m.n""")
    assert orphans == [] and miscounted == []


async def test_the_gateway_recomputes_the_same_aggregates(
        fresh_database_url: str, filled: tuple[str, dict[str, Any]]) -> None:
    """The conversation row is computed from the same draws as its messages, not read back from
    them: the gateway's own rule, run over the stored messages, must change nothing."""
    dsn, _ = filled
    columns = ", ".join(DERIVED)
    before = {r["id"]: tuple(r[c] for c in DERIVED)
              for r in await rows(dsn, f"SELECT id, {columns} FROM gateway.conversations")}  # noqa: S608
    engine = create_engine(ServiceSettings(database_url=SecretStr(fresh_database_url)))
    try:
        async with Database(engine, metadata, source="test").transaction() as tx:
            repo = GatewayRepository(tx.session)
            for conversation_id in before:
                await repo.recompute_from_messages(conversation_id)
            after = {r[0]: tuple(r[1:]) for r in (await tx.session.execute(
                text(f"SELECT id, {columns} FROM gateway.conversations"))).all()}  # noqa: S608
    finally:
        await engine.dispose()
    differing = [cid for cid in before if before[cid] != after[cid]]
    assert differing == [], f"{len(differing)} differ, e.g. {before[differing[0]]} vs {after[differing[0]]}"


async def test_rows_are_consistent(filled: tuple[str, dict[str, Any]]) -> None:
    dsn, _ = filled
    bad = await rows(dsn, """
        SELECT id, status FROM gateway.conversations WHERE
            first_response_at <= first_inbound_at
            OR opened_at < first_inbound_at
            OR last_message_at < opened_at - interval '2 seconds'
            OR last_message_at >= $1 OR resolved_at >= $1
            OR (status = 'open') <> (resolved_at IS NULL)
            OR resolved_at < last_message_at
            OR (status = 'open') <> (sla_deadline IS NOT NULL)
            OR (assignment_state = 'assigned') <> (agent_id IS NOT NULL)
            OR (status = 'resolved' AND assignment_state <> 'assigned')
            OR priority NOT BETWEEN 0 AND 100 OR priority_band IS NULL""", END)
    assert bad == []
    # The list shows the latest scored message's sentiment (kept on the row since part B).
    stale_sentiment = await rows(dsn, """
        SELECT c.id FROM gateway.conversations c CROSS JOIN LATERAL (
            SELECT sentiment_label FROM gateway.messages m WHERE m.conversation_id = c.id
            AND m.score IS NOT NULL ORDER BY m.sent_at DESC, m.id DESC LIMIT 1) latest
        WHERE c.sentiment_label IS DISTINCT FROM latest.sentiment_label""")
    assert stale_sentiment == []
    [shares] = await rows(dsn, """
        SELECT avg((status = 'open')::int) AS open_share,
               avg((first_response_at IS NOT NULL)::int) AS answered,
               count(DISTINCT date_trunc('day', opened_at)) AS days
        FROM gateway.conversations""")
    assert 0.005 < shares["open_share"] < 0.2  # a backlog of a few percent
    assert shares["answered"] > 0.8 and shares["days"] >= 20


async def test_messages_alternate_and_replies_are_dispatched(filled: tuple[str, dict[str, Any]]) -> None:
    dsn, _ = filled
    [m] = await rows(dsn, """
        SELECT count(*) FILTER (WHERE direction = 'inbound') AS inbound,
               count(*) FILTER (WHERE direction = 'outbound') AS outbound,
               count(*) FILTER (WHERE agent_reply AND delivery_status IS DISTINCT FROM 'failed'
                                AND dispatched_at IS NULL) AS undispatched,
               count(*) FILTER (WHERE direction = 'inbound' AND score IS NULL) AS unscored,
               count(*) FILTER (WHERE direction = 'outbound' AND score IS NOT NULL) AS scored_out,
               count(*) FILTER (WHERE dispatched_at < sent_at OR received_at < sent_at) AS backwards,
               count(*) FILTER (WHERE text IS NULL OR text = '') AS empty
        FROM gateway.messages""")
    assert 0.35 < m["inbound"] / (m["inbound"] + m["outbound"]) < 0.65
    assert (m["undispatched"], m["unscored"], m["scored_out"], m["backwards"], m["empty"]) == (0, 0, 0, 0, 0)
    first_two = await rows(dsn, """
        SELECT DISTINCT k, direction FROM (
            SELECT row_number() OVER (PARTITION BY conversation_id ORDER BY sent_at, id) - 1 AS k,
                   direction FROM gateway.messages) s WHERE k < 2 ORDER BY k""")
    assert [(r["k"], r["direction"]) for r in first_two] == [(0, "inbound"), (1, "outbound")]


async def test_the_same_seed_gives_the_same_rows_however_the_work_is_split(
        fresh_database_url: str, filled: tuple[str, dict[str, Any]]) -> None:
    dsn, _ = filled
    first = await digest(dsn)
    await fill(fresh_database_url, SPEC, chunk=50_000, workers=1)
    assert await digest(dsn) == first
    await fill(fresh_database_url, Spec(conversations=501, messages_per_conversation=6, seed=4,
                                        days=30, end=END))
    other = await digest(dsn)
    assert other[0] != first[0] and other[1] != first[1]


async def test_a_second_fill_replaces_the_first(fresh_database_url: str,
                                                filled: tuple[str, dict[str, Any]]) -> None:
    dsn, _ = filled
    report = await fill(fresh_database_url, Spec(conversations=40, messages_per_conversation=3,
                                                 seed=3, days=30, end=END))
    [counts] = await rows(dsn, "SELECT (SELECT count(*) FROM gateway.conversations), "
                               "(SELECT count(*) FROM gateway.messages)")
    assert tuple(counts) == (40, 120) and report["messages"] == 120
    indexes = await rows(dsn, "SELECT indexname FROM pg_indexes WHERE schemaname = 'gateway' "
                              "AND tablename IN ('conversations', 'messages')")
    assert {"conversations_pkey", "messages_pkey", "conversations_list"} <= {r[0] for r in indexes}


def column(name: str, nullable: bool = True, default: str | None = None) -> dict[str, Any]:
    return {"column_name": name, "is_nullable": "YES" if nullable else "NO",
            "column_default": default, "is_identity": "NO"}


def test_plan_columns_fills_what_it_knows_and_the_table_has() -> None:
    present: Sequence[dict[str, Any]] = [column("id", False), column("status", False, "'open'"),
                                         column("brand_new")]
    known = {"id": "x", "status": "y", "dropped_since": "z"}
    assert plan_columns("conversations", present, known) == ["id", "status"]


def test_plan_columns_refuses_a_required_column_it_cannot_fill() -> None:
    with pytest.raises(RuntimeError, match="must_fill"):
        plan_columns("conversations", [column("id", False), column("must_fill", False)], {"id": "x"})
    with pytest.raises(RuntimeError, match="migrate"):
        plan_columns("conversations", [], {"id": "x"})


def test_spec_rejects_impossible_sizes() -> None:
    for bad in ({"conversations": 0}, {"conversations": 5, "messages_per_conversation": 0},
                {"conversations": 5, "messages_per_conversation": 101}):
        with pytest.raises(ValueError):
            Spec(**bad)  # type: ignore[arg-type]


def test_agents_are_two_hundred_in_eight_teams_and_stable() -> None:
    team = gateway_data.agents(7)
    assert len(team) == 200 and len({a.team for a in team}) == 8
    assert team == gateway_data.agents(7) and team[0].id != gateway_data.agents(8)[0].id
    assert all(isinstance(a.id, uuid.UUID) for a in team)
