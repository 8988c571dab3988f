"""The customer identity graph (link, merge, unmerge, suggestions, audit), on real PostgreSQL with the in-process
bus, through the HTTP API and the generic API channel."""

from __future__ import annotations

import asyncio
import uuid
from collections.abc import AsyncIterator
from datetime import UTC, datetime
from typing import Any

import httpx
import pytest
from fastapi import FastAPI

from sportello.bus.codec import decode
from sportello.contracts import CustomerMerged, CustomerUnmerged, CustomerUpdated, Event, MessageReceived
from sportello.contracts.envelope import Envelope
from sportello.topics import CUSTOMERS, MESSAGES_RECEIVED
from sportello_ingest.component import COMPONENT
from sportello_ingest.repository import IngestRepository
from tests.ingest.support import events
from tests.support.app import TOKENS, auth, running_app
from tests.support.waiting import eventually

URL = "/v1/channels/api/messages"
SUPERVISOR = f"supervisor:token-{TOKENS['supervisor'][-4:]}"


@pytest.fixture(scope="module")
async def ingest(database_url: str) -> AsyncIterator[tuple[FastAPI, httpx.AsyncClient]]:
    async with running_app([COMPONENT], database_url) as running:
        yield running


async def post(client: httpx.AsyncClient, author_id: str, *, channel: str = "twitter", account: str = "brand-a",
               handle: str | None = None, **fields: Any) -> dict[str, Any]:
    author: dict[str, Any] = {"id": author_id, "display_name": f"Customer {author_id[:6]}"}
    if handle is not None:
        author["handle"] = handle
    message = {"channel": channel, "account": account, "external_id": uuid.uuid4().hex, "author": author,
               "text": "hello", "sent_at": datetime.now(UTC).isoformat(), **fields}
    response = await client.post(URL, json=message, headers=auth("integration"))
    assert response.status_code in (200, 201, 202), response.text
    return response.json()  # type: ignore[no-any-return]


async def customer(client: httpx.AsyncClient, customer_id: str) -> dict[str, Any]:
    response = await client.get(f"/v1/customers/{customer_id}", headers=auth("agent"))
    assert response.status_code == 200, response.text
    return response.json()  # type: ignore[no-any-return]


def identities(found: dict[str, Any]) -> set[tuple[str, str]]:
    return {(i["platform"], i["external_id"]) for i in found["identities"]}


async def link(client: httpx.AsyncClient, customer_id: str, platform: str, external_id: str,
               role: str = "supervisor", **fields: Any) -> httpx.Response:
    return await client.post(f"/v1/customers/{customer_id}/identities",
                             json={"platform": platform, "external_id": external_id, **fields}, headers=auth(role))


async def audit(client: httpx.AsyncClient, customer_id: str) -> list[dict[str, Any]]:
    response = await client.get(f"/v1/customers/{customer_id}/audit", headers=auth("agent"))
    assert response.status_code == 200, response.text
    return response.json()  # type: ignore[no-any-return]


async def suggestions(client: httpx.AsyncClient, customer_id: str, status: str = "pending") -> list[dict[str, Any]]:
    response = await client.get(f"/v1/customers/{customer_id}/merge-suggestions", params={"status": status},
                                headers=auth("agent"))
    assert response.status_code == 200, response.text
    return response.json()  # type: ignore[no-any-return]


async def merge(client: httpx.AsyncClient, survivor: str, other: str, role: str = "supervisor") -> httpx.Response:
    return await client.post(f"/v1/customers/{survivor}/merge",
                             json={"other_customer_id": other, "reason": "same person, confirmed by phone"},
                             headers=auth(role))


def about(app: FastAPI, kind: type[Event], customer_id: str) -> list[Envelope]:
    """Envelopes of one type published on the customers topic about (keyed by) a customer."""
    records = app.state.runtime.bus.records(CUSTOMERS.name)
    found = [decode(r, CUSTOMERS) for r in records]
    return [e for e in found if isinstance(e.data, kind) and e.subject == customer_id]


async def published(app: FastAPI, kind: type[Event], customer_id: str, count: int = 1) -> list[Any]:
    envelopes = await eventually(lambda: (lambda found: found if len(found) >= count else None)(
        about(app, kind, customer_id)))
    return [e.data for e in envelopes]


def problem(response: httpx.Response, status: int) -> dict[str, Any]:
    assert response.status_code == status, response.text
    assert response.headers["content-type"].startswith("application/problem+json")
    return response.json()  # type: ignore[no-any-return]


async def two_customers(client: httpx.AsyncClient) -> tuple[str, str, str, str]:
    """(customer a, its twitter id, customer b, its instagram id)."""
    a_id, b_id = uuid.uuid4().hex, uuid.uuid4().hex
    a = (await post(client, a_id))["customer_id"]
    b = (await post(client, b_id, channel="instagram", account="brand-b"))["customer_id"]
    assert a != b
    return a, a_id, b, b_id


# -- automatic merges and the refused ones -------------------------------------------------------------------

async def test_a_verified_link_of_another_customers_identity_merges_them(
    ingest: tuple[FastAPI, httpx.AsyncClient],
) -> None:
    app, client = ingest
    a, a_id, b, b_id = await two_customers(client)
    address = f"{uuid.uuid4().hex}@example.com"
    assert (await link(client, b, "email", address, verified=True)).status_code == 200

    linked = await link(client, a, "instagram", b_id, verified=True)
    assert linked.status_code == 200, linked.text
    body = linked.json()
    assert body["outcome"] == "merged" and body["id"] == a
    assert body["merge"]["automatic"] is True and body["merge"]["merged_id"] == b
    assert body["merge"]["actor"] == SUPERVISOR and f"instagram:{b_id}" in body["merge"]["reason"]
    # Every identity of the merged customer moved, not only the one linked.
    assert identities(body) == {("twitter", a_id), ("instagram", b_id), ("email", address)}
    assert all(i["verified"] for i in body["identities"])

    merged = await customer(client, b)
    assert merged["merged_into"] == a and merged["identities"] == []
    assert (await customer(client, a))["merged_into"] is None

    [survivor_row] = [r for r in await audit(client, a) if r["action"] == "merged"]
    assert survivor_row["actor"] == SUPERVISOR and survivor_row["detail"]["merged_customer_id"] == b
    assert survivor_row["detail"]["automatic"] is True
    assert {(i["platform"], i["external_id"]) for i in survivor_row["detail"]["identities_moved"]} == {
        ("instagram", b_id), ("email", address)}
    assert [r["action"] for r in await audit(client, b)][:1] == ["merged_into"]

    [event] = await published(app, CustomerMerged, a)
    assert (event.customer_id, event.merged_customer_id) == (uuid.UUID(a), uuid.UUID(b))
    assert event.automatic is True and event.actor == SUPERVISOR
    assert str(event.merge_id) == body["merge"]["id"]
    assert {(i.platform, i.external_id, i.verified) for i in event.identities_moved} == {
        ("instagram", b_id, True), ("email", address, True)}
    # The survivor's events are ordered: created (1), then the merge.
    [created] = await published(app, CustomerUpdated, a)
    assert created.change == "created" and created.sequence == 1 and event.sequence == 2


async def test_a_weak_match_is_refused_as_an_automatic_merge_and_suggested_instead(
    ingest: tuple[FastAPI, httpx.AsyncClient],
) -> None:
    app, client = ingest
    a, a_id, b, b_id = await two_customers(client)

    refused = await link(client, a, "instagram", b_id, verified=False)
    assert refused.status_code == 202, refused.text
    suggestion = refused.json()
    assert (suggestion["customer_id"], suggestion["other_customer_id"], suggestion["status"]) == (a, b, "pending")
    assert suggestion["evidence"]["match"] == "claimed_identity"
    assert suggestion["evidence"]["identity"] == {"platform": "instagram", "external_id": b_id}

    # No merge: both customers and their identities are as they were.
    assert identities(await customer(client, a)) == {("twitter", a_id)}
    assert identities(await customer(client, b)) == {("instagram", b_id)}
    assert (await customer(client, b))["merged_into"] is None
    assert about(app, CustomerMerged, a) == []
    [row] = [r for r in await audit(client, a) if r["action"] == "auto_merge_refused"]
    assert row["actor"] == SUPERVISOR and row["detail"]["owner"] == b
    assert row["detail"]["suggestion_id"] == suggestion["id"]
    assert "suggestion_created" in [r["action"] for r in await audit(client, b)]

    # Asking again gives the same pending suggestion: one per pair.
    again = await link(client, a, "instagram", b_id, verified=False)
    assert again.status_code == 202 and again.json()["id"] == suggestion["id"]
    assert [s["id"] for s in await suggestions(client, b)] == [suggestion["id"]]


async def test_a_verified_link_takes_an_identity_someone_else_only_claimed(
    ingest: tuple[FastAPI, httpx.AsyncClient],
) -> None:
    _, client = ingest
    a, _, b, _ = await two_customers(client)
    address = f"{uuid.uuid4().hex}@example.com"
    claimed = await link(client, b, "email", address.upper(), verified=False)
    assert claimed.status_code == 200 and claimed.json()["outcome"] == "linked"
    # Addresses are kept lowercased, as the e-mail channel sees them; a claimed one is not verified.
    assert [(i["external_id"], i["verified"]) for i in claimed.json()["identities"] if i["platform"] == "email"] == [
        (address, False)]

    taken = await link(client, a, "email", address, verified=True)
    assert taken.status_code == 200, taken.text
    assert taken.json()["outcome"] == "claimed" and ("email", address) in identities(taken.json())
    # Not a merge: b only claimed the address. b keeps its own identities and gets a suggestion.
    assert (await customer(client, b))["merged_into"] is None
    assert ("email", address) not in identities(await customer(client, b))
    assert taken.json()["suggestion"]["other_customer_id"] == b
    assert [r["action"] for r in await audit(client, b)][:2] == ["suggestion_created", "unlinked"]


async def test_an_address_someone_claimed_routes_no_messages(ingest: tuple[FastAPI, httpx.AsyncClient]) -> None:
    _, client = ingest
    a, _, _, _ = await two_customers(client)
    address = f"{uuid.uuid4().hex}@example.com"
    assert (await link(client, a, "email", address, verified=False)).status_code == 200

    mail = await post(client, address, channel="email", account="support@brand.example", visibility="private")
    # Whoever writes from the address is its proven owner: their own customer, not the one who claimed it.
    assert mail["customer_id"] != a
    owner = await customer(client, mail["customer_id"])
    assert [(i["external_id"], i["verified"], i["source"]) for i in owner["identities"]] == [
        (address, True, "message")]
    [suggestion] = await suggestions(client, a)
    assert (suggestion["customer_id"], suggestion["other_customer_id"]) == (a, mail["customer_id"])
    assert "unlinked" in [r["action"] for r in await audit(client, a)]


async def test_linking_without_saying_verified_keeps_the_old_conflict(
    ingest: tuple[FastAPI, httpx.AsyncClient],
) -> None:
    _, client = ingest
    a, _, b, b_id = await two_customers(client)
    taken = problem(await link(client, a, "instagram", b_id), 409)
    assert taken["customer_id"] == b and "verified" in taken["detail"]
    assert (await customer(client, b))["merged_into"] is None


# -- suggestions from intake -------------------------------------------------------------------------------

async def handle_match(client: httpx.AsyncClient) -> tuple[str, str, dict[str, Any]]:
    """Two customers whose handles match on different platforms: (older, newer, the suggestion)."""
    handle = f"Ann{uuid.uuid4().hex[:10]}"
    older = (await post(client, uuid.uuid4().hex, handle=f"@{handle}"))["customer_id"]
    newer = (await post(client, uuid.uuid4().hex, channel="instagram", account="brand-b",
                        handle=handle.lower()))["customer_id"]
    [suggestion] = await suggestions(client, newer)
    return older, newer, suggestion


async def test_a_weak_handle_match_on_intake_is_a_suggestion_not_a_merge(
    ingest: tuple[FastAPI, httpx.AsyncClient],
) -> None:
    _, client = ingest
    older, newer, suggestion = await handle_match(client)
    assert newer != older
    assert (suggestion["customer_id"], suggestion["other_customer_id"]) == (older, newer)
    assert suggestion["evidence"]["match"] == "handle" and suggestion["evidence"]["weak_because"]
    assert (await customer(client, newer))["merged_into"] is None
    assert [s["id"] for s in await suggestions(client, older)] == [suggestion["id"]]
    assert [r["action"] for r in await audit(client, older)] == ["suggestion_created"]
    assert (await audit(client, older))[0]["actor"] == "ingest"

    # The same handle on the same platform is someone else's (an account renamed since), not a match.
    handle = f"bob{uuid.uuid4().hex[:10]}"
    await post(client, uuid.uuid4().hex, handle=handle)
    same_platform = await post(client, uuid.uuid4().hex, handle=f"@{handle.upper()}")
    assert await suggestions(client, same_platform["customer_id"]) == []


async def test_accepting_a_suggestion_merges_and_deciding_twice_is_a_conflict(
    ingest: tuple[FastAPI, httpx.AsyncClient],
) -> None:
    app, client = ingest
    older, newer, suggestion = await handle_match(client)
    url = f"/v1/merge-suggestions/{suggestion['id']}"
    assert (await client.post(f"{url}/accept", headers=auth("agent"))).status_code == 403

    accepted = await client.post(f"{url}/accept", headers=auth("supervisor"))
    assert accepted.status_code == 200, accepted.text
    assert accepted.json()["status"] == "accepted" and accepted.json()["decided_by"] == SUPERVISOR
    merge_record = (await client.get(f"/v1/merges/{accepted.json()['merge_id']}", headers=auth("agent"))).json()
    assert (merge_record["survivor_id"], merge_record["merged_id"]) == (older, newer)
    assert merge_record["automatic"] is False and suggestion["id"] in merge_record["reason"]
    assert (await customer(client, newer))["merged_into"] == older
    assert [e.automatic for e in await published(app, CustomerMerged, older)] == [False]
    assert "suggestion_accepted" in [r["action"] for r in await audit(client, newer)]

    assert problem(await client.post(f"{url}/accept", headers=auth("supervisor")), 409)["decision"] == "accepted"
    problem(await client.post(f"{url}/reject", headers=auth("supervisor")), 409)


async def test_rejecting_a_suggestion_keeps_them_apart(ingest: tuple[FastAPI, httpx.AsyncClient]) -> None:
    _, client = ingest
    older, newer, suggestion = await handle_match(client)
    url = f"/v1/merge-suggestions/{suggestion['id']}"
    assert (await client.post(f"{url}/reject", headers=auth("agent"))).status_code == 403
    rejected = await client.post(f"{url}/reject", headers=auth("supervisor"))
    assert rejected.status_code == 200 and rejected.json()["status"] == "rejected"
    assert rejected.json()["merge_id"] is None
    assert (await customer(client, newer))["merged_into"] is None
    assert await suggestions(client, older) == []
    assert [s["id"] for s in await suggestions(client, older, "rejected")] == [suggestion["id"]]
    assert [r["action"] for r in await audit(client, older)][:1] == ["suggestion_rejected"]
    problem(await client.post(f"{url}/reject", headers=auth("supervisor")), 409)
    problem(await client.post(f"/v1/merge-suggestions/{uuid.uuid4()}/reject", headers=auth("supervisor")), 404)


# -- manual merges and unmerges ----------------------------------------------------------------------------

async def test_unmerge_restores_exactly_the_identities_the_merge_moved(
    ingest: tuple[FastAPI, httpx.AsyncClient],
) -> None:
    app, client = ingest
    a, a_id, b, b_id = await two_customers(client)
    b_address, later_address = f"{uuid.uuid4().hex}@example.com", f"{uuid.uuid4().hex}@example.com"
    assert (await link(client, b, "email", b_address, verified=True)).status_code == 200

    merged = await merge(client, a, b)
    assert merged.status_code == 201, merged.text
    record = merged.json()
    assert record["automatic"] is False and record["actor"] == SUPERVISOR
    assert {(i["platform"], i["external_id"]) for i in record["identities_moved"]} == {
        ("instagram", b_id), ("email", b_address)}
    # Linked to the survivor after the merge: it stays with the survivor when the merge is undone.
    assert (await link(client, a, "email", later_address, verified=True)).json()["outcome"] == "linked"

    undone = await client.post(f"/v1/merges/{record['id']}/unmerge", headers=auth("supervisor"))
    assert undone.status_code == 200, undone.text
    assert undone.json()["undone_by"] == SUPERVISOR and undone.json()["undone_at"] is not None
    assert identities(await customer(client, b)) == {("instagram", b_id), ("email", b_address)}
    assert identities(await customer(client, a)) == {("twitter", a_id), ("email", later_address)}
    assert (await customer(client, b))["merged_into"] is None

    [event] = await published(app, CustomerUnmerged, a)
    assert (event.restored_customer_id, str(event.merge_id)) == (uuid.UUID(b), record["id"])
    assert {(i.platform, i.external_id) for i in event.identities_restored} == {
        ("instagram", b_id), ("email", b_address)}
    # created (1), merged (2), identity_linked (3), unmerged (4): one sequence for the survivor.
    [merged_event] = await published(app, CustomerMerged, a)
    linked_events = await published(app, CustomerUpdated, a, count=2)
    assert [e.sequence for e in linked_events] == [1, 3]
    assert (merged_event.sequence, event.sequence) == (2, 4)

    # The trail, newest first, with who did it.
    trail = await audit(client, a)
    assert [r["action"] for r in trail] == ["unmerged", "linked", "merged"]
    assert all(r["actor"] == SUPERVISOR for r in trail)
    assert trail[0]["detail"]["merge_id"] == record["id"]
    assert [r["action"] for r in await audit(client, b)] == ["unmerged", "merged_into", "linked"]

    again = problem(await client.post(f"/v1/merges/{record['id']}/unmerge", headers=auth("supervisor")), 409)
    assert "already undone" in again["detail"]
    problem(await client.post(f"/v1/merges/{uuid.uuid4()}/unmerge", headers=auth("supervisor")), 404)


async def test_unmerging_when_the_survivor_was_merged_elsewhere_is_refused(
    ingest: tuple[FastAPI, httpx.AsyncClient],
) -> None:
    _, client = ingest
    a, _, b, _ = await two_customers(client)
    c = (await post(client, uuid.uuid4().hex))["customer_id"]
    first = (await merge(client, a, b)).json()
    second = (await merge(client, c, a)).json()

    refused = problem(await client.post(f"/v1/merges/{first['id']}/unmerge", headers=auth("supervisor")), 409)
    assert refused["blocking_merge_id"] == second["id"] and refused["merged_into"] == c
    assert "undo that merge first" in refused["detail"]

    for record in (second, first):
        assert (await client.post(f"/v1/merges/{record['id']}/unmerge",
                                  headers=auth("supervisor"))).status_code == 200
    assert [(await customer(client, x))["merged_into"] for x in (a, b, c)] == [None, None, None]


async def test_impossible_merges_are_refused(ingest: tuple[FastAPI, httpx.AsyncClient]) -> None:
    _, client = ingest
    a, _, b, _ = await two_customers(client)
    c = (await post(client, uuid.uuid4().hex))["customer_id"]
    assert "itself" in problem(await merge(client, a, a), 409)["detail"]
    problem(await merge(client, a, str(uuid.uuid4())), 404)
    problem(await merge(client, str(uuid.uuid4()), a), 404)

    assert (await merge(client, a, b)).status_code == 201
    # Into a merged customer: the problem names the survivor to use instead.
    assert problem(await merge(client, b, c), 409)["merged_into"] == a
    # A merged customer again.
    assert problem(await merge(client, c, b), 409)["merged_into"] == a
    assert problem(await link(client, b, "email", f"{uuid.uuid4().hex}@example.com", verified=True),
                   409)["merged_into"] == a
    invalid = await client.post(f"/v1/customers/{a}/merge", json={"other_customer_id": c},
                                headers=auth("supervisor"))
    assert invalid.status_code == 422  # a merge needs a reason


async def test_merging_needs_a_supervisor(ingest: tuple[FastAPI, httpx.AsyncClient]) -> None:
    _, client = ingest
    a, _, b, b_id = await two_customers(client)
    problem(await merge(client, a, b, role="agent"), 403)
    problem(await link(client, a, "instagram", b_id, role="agent", verified=True), 403)
    record = (await merge(client, a, b)).json()
    problem(await client.post(f"/v1/merges/{record['id']}/unmerge", headers=auth("agent")), 403)
    # Reading is an agent's: the trail, the suggestions, the merges; an integration reads nothing.
    assert (await client.get(f"/v1/customers/{a}/merges", headers=auth("agent"))).json()[0]["id"] == record["id"]
    problem(await client.get(f"/v1/customers/{a}/audit", headers=auth("integration")), 403)
    problem(await client.get(f"/v1/customers/{uuid.uuid4()}/audit", headers=auth("agent")), 404)
    problem(await client.get(f"/v1/customers/{uuid.uuid4()}/merge-suggestions", headers=auth("agent")), 404)


# -- intake after a merge ----------------------------------------------------------------------------------

async def test_after_a_merge_the_merged_customers_messages_land_on_the_survivor(
    ingest: tuple[FastAPI, httpx.AsyncClient],
) -> None:
    app, client = ingest
    a_id, b_id = uuid.uuid4().hex, uuid.uuid4().hex
    first_a = await post(client, a_id)
    first_b = await post(client, b_id, channel="instagram", account="brand-b")
    a, b = first_a["customer_id"], first_b["customer_id"]
    assert (await merge(client, a, b)).status_code == 201

    later = await post(client, b_id, channel="instagram", account="brand-b", text="still waiting")
    assert later["customer_id"] == a
    # It continues the open conversation of the survivor's history on that account.
    assert later["conversation_id"] == first_b["conversation_id"]

    def received() -> list[MessageReceived]:
        return [e for e in events(app, MESSAGES_RECEIVED, MessageReceived)
                if str(e.message_id) == later["message_id"]]

    [event] = await eventually(received)
    assert str(event.customer_id) == a

    history = (await client.get(f"/v1/customers/{a}/conversations", headers=auth("agent"))).json()
    assert {(c["id"], c["customer_id"]) for c in history} == {
        (first_a["conversation_id"], a), (first_b["conversation_id"], b)}
    assert (await client.get(f"/v1/customers/{b}/conversations", headers=auth("agent"))).json()[0]["id"] == (
        first_b["conversation_id"])


async def test_new_customers_and_linked_identities_are_announced(ingest: tuple[FastAPI, httpx.AsyncClient]) -> None:
    app, client = ingest
    author = uuid.uuid4().hex
    created = (await post(client, author, handle=f"@h{author[:12]}"))["customer_id"]
    address = f"{uuid.uuid4().hex}@example.com"
    assert (await link(client, created, "email", address, verified=True)).status_code == 200

    first, second = await published(app, CustomerUpdated, created, count=2)
    assert (first.change, first.sequence) == ("created", 1)
    assert [(i.platform, i.external_id, i.handle) for i in first.identities] == [
        ("twitter", author, f"@h{author[:12]}")]
    assert (second.change, second.sequence) == ("identity_linked", 2)
    assert {(i.platform, i.external_id) for i in second.identities} == {("twitter", author), ("email", address)}
    assert [r["action"] for r in await audit(client, created)] == ["linked"]


async def test_concurrent_merges_of_one_pair_cannot_interleave(ingest: tuple[FastAPI, httpx.AsyncClient]) -> None:
    _, client = ingest
    a, _, b, _ = await two_customers(client)
    one, other = await asyncio.gather(merge(client, a, b), merge(client, b, a))
    assert sorted([one.status_code, other.status_code]) == [201, 409], (one.text, other.text)
    winner = one.json() if one.status_code == 201 else other.json()
    survivor, merged = winner["survivor_id"], winner["merged_id"]
    assert (await customer(client, merged))["merged_into"] == survivor
    assert (await customer(client, survivor))["merged_into"] is None
    assert len(identities(await customer(client, survivor))) == 2


async def test_a_blocked_customer_merged_in_blocks_the_survivor(ingest: tuple[FastAPI, httpx.AsyncClient]) -> None:
    _, client = ingest
    a, _, b, b_id = await two_customers(client)
    assert (await client.post(f"/v1/customers/{b}/block", json={"reason": "abuse"},
                              headers=auth("supervisor"))).status_code == 200
    assert (await link(client, a, "instagram", b_id, verified=True)).json()["outcome"] == "merged"
    survivor = await customer(client, a)
    assert survivor["blocked"] is True and "abuse" in survivor["blocked_reason"]
    assert (await post(client, b_id, channel="instagram", account="brand-b"))["outcome"] == "blocked"
    [row] = [r for r in await audit(client, a) if r["action"] == "merged"]
    assert row["detail"]["blocked_inherited"] is True


async def test_replies_in_a_merged_customers_conversation_still_find_their_address(
    ingest: tuple[FastAPI, httpx.AsyncClient],
) -> None:
    app, client = ingest
    a, _, b, b_id = await two_customers(client)
    assert (await merge(client, a, b)).status_code == 201
    async with app.state.contexts["ingest"].db.transaction() as tx:
        repo = IngestRepository(tx.session)
        # The merged customer's conversations stay theirs; their identities are the survivor's now.
        assert await repo.identity_of(uuid.UUID(b), "instagram") == b_id
        assert await repo.survivor_of(uuid.UUID(b)) == uuid.UUID(a)
        assert set(await repo.history_ids(uuid.UUID(a))) == {uuid.UUID(a), uuid.UUID(b)}
