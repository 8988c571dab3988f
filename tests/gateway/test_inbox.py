"""The inbox over HTTP on hand-built data: every filter and sort against a model of the data set,
paged in small pages (no duplicates, no gaps), full text, cursors, and the agent's team scope."""

from __future__ import annotations

import time
import uuid
from collections.abc import AsyncIterator, Callable
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any

import httpx
import jwt
import pytest
from pydantic import SecretStr
from sqlalchemy import String, func, literal_column, select

from sportello.contracts import Event
from sportello.db import Database
from sportello.http.auth import Principal
from sportello.http.problems import InvalidRequest, NotFound
from sportello_deploy.postgres import EmbeddedPostgres
from sportello_gateway import queries
from sportello_gateway.component import COMPONENT
from sportello_gateway.inbox import InboxFilters, prefix_query
from tests.gateway.builders import (
    apply,
    assigned,
    prioritised,
    queued,
    received,
    scored,
    status_changed,
)
from tests.support.app import auth, running_app

AGENT = auth("agent")
JWT_SECRET = "a-test-only-hs256-secret-for-the-inbox-scope"
T0 = datetime(2026, 3, 2, 9, 0, tzinfo=UTC)
MINUTE = timedelta(minutes=1)
CARE_AGENT, BILLING_AGENT = uuid.uuid4(), uuid.uuid4()
STAGES = ["on_track", "halfway", "at_risk", "critical", "breached", None]
SLA_STATE = {"on_track": "ok", "halfway": "ok", "at_risk": "at_risk", "critical": "at_risk",
             "breached": "breached", None: None}
SPECIAL_TEXT = {7: "Refund für Müller's Bestellung", 8: "password reset please"}
SPECIAL_NAME = {9: "Zoë Quartermaine"}


@dataclass(frozen=True)
class Row:
    """What the data set says about one conversation: the model the API is checked against."""

    index: int
    id: uuid.UUID
    channel: str
    status: str
    team: str | None
    agent_id: uuid.UUID | None
    priority: float
    band: str
    sla_state: str | None
    deadline: datetime | None
    sentiment: str
    opened_at: datetime
    last_message_at: datetime


def build(count: int = 30) -> tuple[list[Row], list[Event]]:
    """Few distinct values in every column, so sorts tie often and only the id separates rows."""
    rows: list[Row] = []
    events: list[Event] = []
    for i in range(count):
        cid, customer = uuid.uuid4(), uuid.uuid4()
        channel = ["chat", "x", "email"][i % 3]
        sentiment = ["negative", "neutral", "positive"][(i // 3) % 3]
        first = received(cid, customer, T0 + i * MINUTE, channel=channel,
                         text=SPECIAL_TEXT.get(i, f"order {i} parcel"),
                         author=SPECIAL_NAME.get(i, f"Customer{i}"))
        answered_at = T0 + 2 * 60 * MINUTE - (i * 7 % 10) * MINUTE
        answer = received(cid, customer, answered_at, channel=channel, direction="outbound",
                          text="we are looking into it", author="Brand")
        priority, band = [(10, "low"), (50, "normal"), (50, "normal"), (90, "urgent")][i % 4]
        stage = STAGES[i % 6]
        sla_at = T0 + (i % 8) * MINUTE
        events += [first, answer, scored(first, score=priority, conversation_priority=priority,
                                         label=sentiment),
                   prioritised(cid, customer, 1, priority=priority, at=sla_at, stage=stage,
                               band=band)]
        team: str | None
        agent: uuid.UUID | None = None
        if i % 5 == 0:
            team, agent = "care", CARE_AGENT
            events.append(assigned(cid, customer, 1, agent_id=agent, team=team, at=T0))
        elif i % 5 == 1:
            team, agent = "billing", BILLING_AGENT
            events.append(assigned(cid, customer, 1, agent_id=agent, team=team, at=T0))
        elif i % 5 == 2:
            team = "care"
            events.append(queued(cid, customer, 1, at=T0, team=team))
        elif i % 5 == 3:
            team = None
            events.append(queued(cid, customer, 1, at=T0))
        else:
            team = None  # never routed
        status = "resolved" if i % 7 == 6 else "open"
        if status == "resolved":
            events.append(status_changed(cid, customer, 1, "resolved", at=T0 + 3 * 60 * MINUTE))
        rows.append(Row(i, cid, channel, status, team, agent, priority, band, SLA_STATE[stage],
                        sla_at + timedelta(hours=4) if stage else None, sentiment,
                        first.received_at, max(first.sent_at, answered_at)))
    return rows, events


def ordered(rows: list[Row], sort: str) -> list[str]:
    keys: dict[str, Callable[[Row], Any]] = {
        "priority": lambda r: (-r.priority, r.opened_at, r.id),
        "sla_deadline": lambda r: (r.deadline is None, r.deadline or T0, r.id),
        "last_message_at": lambda r: (r.last_message_at, r.id),
    }
    result = sorted(rows, key=keys[sort], reverse=sort == "last_message_at")
    return [str(r.id) for r in result]


@dataclass
class Inbox:
    rows: list[Row]
    client: httpx.AsyncClient
    db: Database

    async def page_through(self, limit: int = 4, **params: Any) -> list[str]:
        seen: list[str] = []
        cursor: str | None = None
        for _ in range(100):
            query = {"limit": limit, **params, **({"cursor": cursor} if cursor else {})}
            response = await self.client.get("/v1/conversations", params=query, headers=AGENT)
            assert response.status_code == 200, response.text
            page = response.json()
            seen += [item["id"] for item in page["items"]]
            cursor = page["next_cursor"]
            if cursor is None:
                assert len(seen) == len(set(seen)), "a row came twice"
                return seen
            assert len(page["items"]) == limit
        raise AssertionError("pagination did not end")


@pytest.fixture(scope="module")
async def inbox(postgres: EmbeddedPostgres) -> AsyncIterator[Inbox]:
    database_url = postgres.create_database("sportello_gateway_inbox")
    rows, events = build()
    async with running_app([COMPONENT], database_url,
                           jwt_secret=SecretStr(JWT_SECRET)) as (app, client):
        db: Database = app.state.contexts["gateway"].db
        await apply(db, events)
        yield Inbox(rows, client, db)


@pytest.mark.parametrize("sort", ["priority", "sla_deadline", "last_message_at"])
async def test_each_sort_pages_without_duplicates_or_gaps(inbox: Inbox, sort: str) -> None:
    expected = ordered(inbox.rows, sort)
    params = {} if sort == "priority" else {"sort": sort}  # priority is the default
    for limit in (1, 4, 7, 200):
        assert await inbox.page_through(limit=limit, **params) == expected


FILTERS: list[tuple[dict[str, Any], Callable[[Row], bool]]] = [
    ({"status": "open"}, lambda r: r.status == "open"),
    ({"status": "resolved"}, lambda r: r.status == "resolved"),
    ({"channel": "x"}, lambda r: r.channel == "x"),
    ({"team": "care"}, lambda r: r.team == "care"),
    ({"team": "care", "status": "open"}, lambda r: r.team == "care" and r.status == "open"),
    ({"assignee": str(BILLING_AGENT)}, lambda r: r.agent_id == BILLING_AGENT),
    ({"assignee": "unassigned", "status": "open"},
     lambda r: r.agent_id is None and r.status == "open"),
    ({"band": "urgent"}, lambda r: r.band == "urgent"),
    ({"band": ["urgent", "low"]}, lambda r: r.band in ("urgent", "low")),
    ({"sentiment": "negative"}, lambda r: r.sentiment == "negative"),
    ({"sla": "ok"}, lambda r: r.sla_state == "ok"),
    ({"sla": "at_risk"}, lambda r: r.sla_state == "at_risk"),
    ({"sla": "breached", "status": "open"},
     lambda r: r.sla_state == "breached" and r.status == "open"),
    ({"sla": "none"}, lambda r: r.sla_state is None),
    ({"channel": "chat", "sentiment": "positive", "band": "normal"},
     lambda r: r.channel == "chat" and r.sentiment == "positive" and r.band == "normal"),
]


@pytest.mark.parametrize(("params", "keep"), FILTERS, ids=[str(p) for p, _ in FILTERS])
@pytest.mark.parametrize("sort", ["priority", "sla_deadline", "last_message_at"])
async def test_filters_under_every_sort(inbox: Inbox, params: dict[str, Any],
                                        keep: Callable[[Row], bool], sort: str) -> None:
    expected = ordered([r for r in inbox.rows if keep(r)], sort)
    assert expected, "the data set must exercise the filter"
    assert await inbox.page_through(limit=3, sort=sort, **params) == expected


async def test_a_filtered_item_shows_what_it_was_filtered_on(inbox: Inbox) -> None:
    response = await inbox.client.get("/v1/conversations", headers=AGENT,
                                      params={"team": "billing", "sla": "breached", "limit": 1})
    [item] = response.json()["items"]
    row = next(r for r in inbox.rows if str(r.id) == item["id"])
    assert item["team"] == "billing" and item["sla"]["stage"] == "breached"
    assert item["assignment"]["agent"]["id"] == str(BILLING_AGENT)
    assert item["sentiment"]["label"] == row.sentiment and item["priority_band"] == row.band
    assert item["tags"] == []


@pytest.mark.parametrize(("q", "indexes"), [
    ("parcel", [i for i in range(30) if i not in (7, 8)]),
    ("PARC", [i for i in range(30) if i not in (7, 8)]),  # a prefix, any case
    ("order 1", [1, *range(10, 20)]),  # "1" starts 1 and 10..19; the customers' names do not
    ("müll", [7]),
    ("MÜLLER bestell", [7]),
    ("passw res", [8]),
    ("zoë quart", [9]),  # the customer's name
    ("customer1", [1, *range(10, 20)]),  # prefix of Customer1, Customer10..19
    ("looking", list(range(30))),  # the brand's replies count too
    ("parcel password", []),  # every word must match
    ("nowhere", []),
])
async def test_full_text_over_messages_and_customer_name(inbox: Inbox, q: str,
                                                         indexes: list[int]) -> None:
    expected = ordered([r for r in inbox.rows if r.index in indexes], "priority")
    assert await inbox.page_through(limit=5, q=q) == expected


async def test_full_text_combines_with_filters(inbox: Inbox) -> None:
    expected = ordered([r for r in inbox.rows if r.index not in (7, 8) and r.channel == "email"
                        and r.status == "open"], "last_message_at")
    assert await inbox.page_through(limit=2, q="parcel", channel="email", status="open",
                                    sort="last_message_at") == expected


@pytest.mark.parametrize("params", [
    {"q": "!!! ???"},  # no word at all
    {"tag": "no spaces allowed"},
    {"assignee": "me"},  # an API key names no agent
])
async def test_unusable_filters_are_400_problems(inbox: Inbox, params: dict[str, str]) -> None:
    response = await inbox.client.get("/v1/conversations", params=params, headers=AGENT)
    assert response.status_code == 400, response.text
    assert response.headers["content-type"] == "application/problem+json"


@pytest.mark.parametrize("params", [
    {"sort": "newest"}, {"band": "extreme"}, {"sentiment": "angry"}, {"sla": "late"},
    {"q": ""}, {"q": "x" * 201}, {"channel": "a\x00b"}, {"assignee": "someone"},
    {"tag": [f"t{i}" for i in range(21)]},
])
async def test_invalid_parameters_are_422_problems(inbox: Inbox, params: dict[str, Any]) -> None:
    response = await inbox.client.get("/v1/conversations", params=params, headers=AGENT)
    assert response.status_code == 422, response.text
    assert response.headers["content-type"] == "application/problem+json"


async def _first_cursor(inbox: Inbox, **params: Any) -> str:
    response = await inbox.client.get("/v1/conversations", params={"limit": 2, **params},
                                      headers=AGENT)
    cursor: str = response.json()["next_cursor"]
    return cursor


@pytest.mark.parametrize(("made_with", "used_with"), [
    ({}, {"sort": "sla_deadline"}),
    ({"sort": "last_message_at"}, {"sort": "priority"}),
    ({"status": "open"}, {"status": "resolved"}),
    ({"status": "open"}, {}),
    ({"band": ["low", "urgent"]}, {"band": ["low"]}),
    ({"q": "parcel"}, {"q": "parce"}),
])
async def test_a_cursor_from_another_sort_or_filter_set_is_a_400(
    inbox: Inbox, made_with: dict[str, Any], used_with: dict[str, Any],
) -> None:
    cursor = await _first_cursor(inbox, **made_with)
    response = await inbox.client.get("/v1/conversations", headers=AGENT,
                                      params={"limit": 2, "cursor": cursor, **used_with})
    assert response.status_code == 400
    assert response.json()["type"].endswith("/invalid-request")


async def test_a_cursor_survives_reordered_repeated_parameters(inbox: Inbox) -> None:
    cursor = await _first_cursor(inbox, band=["urgent", "low"])
    response = await inbox.client.get("/v1/conversations", headers=AGENT,
                                      params={"limit": 2, "cursor": cursor,
                                              "band": ["low", "urgent"]})
    assert response.status_code == 200


# -- scope: what an agent with teams sees (the principal as part A's tokens will carry it) -----


def agent(teams: set[str], agent_id: uuid.UUID | None) -> Principal:
    return Principal(role="agent", token_hint="abcd", subject="sub-1",
                     agent_id=str(agent_id) if agent_id else None, teams=frozenset(teams))


async def list_as(inbox: Inbox, principal: Principal, *, sort: str = "priority",
                  filters: InboxFilters | None = None, assignee_me: bool = False,
                  limit: int = 3) -> list[str]:
    seen: list[str] = []
    cursor: str | None = None
    while True:
        async with inbox.db.transaction() as tx:
            page = await queries.list_conversations(
                tx, principal, filters=filters or InboxFilters(), assignee_me=assignee_me,
                tags=(), q=None, sort=sort, limit=limit, cursor_text=cursor)  # type: ignore[arg-type]
        seen += [str(item.id) for item in page.items]
        cursor = page.next_cursor
        if cursor is None:
            assert len(seen) == len(set(seen))
            return seen


@pytest.mark.parametrize("sort", ["priority", "sla_deadline", "last_message_at"])
async def test_an_agent_sees_their_teams_and_their_own_conversations(inbox: Inbox,
                                                                     sort: str) -> None:
    # A billing agent scoped to care: care's conversations, plus the billing ones they hold.
    principal = agent({"care"}, BILLING_AGENT)
    expected = ordered([r for r in inbox.rows
                        if r.team == "care" or r.agent_id == BILLING_AGENT], sort)
    assert await list_as(inbox, principal, sort=sort) == expected

    # Care's own agent: the care conversations they hold come once, not once per reason.
    holder = agent({"care"}, CARE_AGENT)
    assert await list_as(inbox, holder, sort=sort) == ordered(
        [r for r in inbox.rows if r.team == "care"], sort)

    # Another billing agent scoped to care never sees billing's conversations.
    stranger = agent({"care"}, uuid.uuid4())
    assert await list_as(inbox, stranger, sort=sort) == ordered(
        [r for r in inbox.rows if r.team == "care"], sort)


async def test_scope_and_filters_intersect(inbox: Inbox) -> None:
    principal = agent({"care", "billing"}, None)
    both = ordered([r for r in inbox.rows if r.team in ("care", "billing")], "priority")
    assert await list_as(inbox, principal) == both
    open_billing = InboxFilters(status="open", team="billing")
    assert await list_as(inbox, principal, filters=open_billing) == ordered(
        [r for r in inbox.rows if r.team == "billing" and r.status == "open"], "priority")
    # A team outside the scope shows only what the agent holds there: nothing, here.
    assert await list_as(inbox, agent({"care"}, None), filters=open_billing) == []


async def test_an_agent_without_teams_sees_only_their_own(inbox: Inbox) -> None:
    assert await list_as(inbox, agent(set(), CARE_AGENT)) == ordered(
        [r for r in inbox.rows if r.agent_id == CARE_AGENT], "priority")
    assert await list_as(inbox, agent(set(), None)) == []


async def test_assignee_me_is_the_callers_agent(inbox: Inbox) -> None:
    principal = agent({"care"}, CARE_AGENT)
    assert await list_as(inbox, principal, assignee_me=True) == ordered(
        [r for r in inbox.rows if r.agent_id == CARE_AGENT], "priority")
    with pytest.raises(InvalidRequest):
        await list_as(inbox, agent({"care"}, None), assignee_me=True)


async def test_detail_outside_the_scope_is_not_found(inbox: Inbox) -> None:
    billing = next(r for r in inbox.rows if r.team == "billing")
    async with inbox.db.transaction() as tx:
        with pytest.raises(NotFound):
            await queries.get_conversation(tx, agent({"care"}, uuid.uuid4()), billing.id)
        shown = await queries.get_conversation(tx, agent({"care"}, BILLING_AGENT), billing.id)
    assert shown.id == billing.id


async def test_prefix_query_keeps_any_lexeme_literal(inbox: Inbox) -> None:
    lexemes = ["o'neil", "back\\slash", "a&b|c", "ünï"]
    async with inbox.db.transaction() as tx:
        parsed = (await tx.session.execute(select(func.to_tsquery(
            literal_column("'simple'"), prefix_query(lexemes)).cast(String)))).scalar_one()
    # Quoted, a lexeme is never syntax (no error, no `|` smuggled in); PostgreSQL still splits
    # what its parser would (as a phrase). Real lexemes come from that parser and stay whole.
    assert parsed == ("'o':* <-> 'neil':* & 'back':* <-> 'slash':* & 'a':* <-> 'b':* <-> 'c':* "
                      "& 'ünï':*")


def signed_in(role: str, teams: list[str], agent_id: uuid.UUID | None) -> dict[str, str]:
    """An OIDC-style bearer token, as an agent's console would send it."""
    now = int(time.time())
    claims: dict[str, Any] = {"sub": f"user-{uuid.uuid4()}", "aud": "sportello", "iat": now,
                              "exp": now + 600, "roles": [role], "teams": teams}
    if agent_id is not None:
        claims["sportello_agent_id"] = str(agent_id)
    return {"Authorization": f"Bearer {jwt.encode(claims, JWT_SECRET, algorithm='HS256')}"}


async def test_scope_over_http_with_an_agents_token(inbox: Inbox) -> None:
    client = inbox.client

    async def listed(headers: dict[str, str], **params: Any) -> list[str]:
        response = await client.get("/v1/conversations", headers=headers,
                                    params={"limit": 200, **params})
        assert response.status_code == 200, response.text
        return [item["id"] for item in response.json()["items"]]

    care_with_billing_agent = signed_in("agent", ["care"], BILLING_AGENT)
    assert await listed(care_with_billing_agent) == ordered(
        [r for r in inbox.rows if r.team == "care" or r.agent_id == BILLING_AGENT], "priority")
    assert await listed(care_with_billing_agent, assignee="me") == ordered(
        [r for r in inbox.rows if r.agent_id == BILLING_AGENT], "priority")
    assert await listed(signed_in("supervisor", [], None)) == ordered(inbox.rows, "priority")

    stranger = signed_in("agent", ["care"], uuid.uuid4())
    billing = next(r for r in inbox.rows if r.team == "billing")
    for method, path, body in (("GET", "", None), ("GET", "/timeline", None),
                               ("POST", "/notes", {"text": "hi"}),
                               ("PUT", "/tags", {"tags": ["x"]})):
        response = await client.request(method, f"/v1/conversations/{billing.id}{path}",
                                        headers=stranger, json=body)
        assert response.status_code == 404, (method, path, response.text)
    shown = await client.get(f"/v1/conversations/{billing.id}", headers=care_with_billing_agent)
    assert shown.status_code == 200
