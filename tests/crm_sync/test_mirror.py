"""The CRM mirror end to end in-process, once per CRM: bus events in, the CRM's records out.

Real PostgreSQL, the in-process bus, crm-sync's dispatcher, and each CRM's fake over HTTP.
"""

from __future__ import annotations

import uuid
from collections.abc import AsyncIterator
from typing import Any

import pytest
from sqlalchemy import select

from sportello.bus.codec import decode
from sportello.contracts import CrmSynced, CustomerMerged, CustomerUpdated, IdentityRef
from sportello.topics import CRM_SYNCED
from sportello_crm_sync.tables import customers
from tests.crm_sync.conftest import message_received
from tests.crm_sync.crm_fakes import KINDS, TOKEN, CrmFake, running_crm
from tests.crm_sync.support import CrmSyncApp, assigned, crm_sync_app, status_changed
from tests.support.waiting import eventually


@pytest.fixture(params=KINDS)
async def crm(request: pytest.FixtureRequest) -> AsyncIterator[tuple[CrmFake, dict[str, object]]]:
    async with running_crm(request.param) as running:
        yield running


def synced(app: CrmSyncApp) -> list[CrmSynced]:
    events = [decode(record, CRM_SYNCED).data for record in app.bus.records(CRM_SYNCED.name)]
    return [event for event in events if isinstance(event, CrmSynced)]


def breaker(app: CrmSyncApp) -> str | None:
    sink = app.ctx.state.get("crm_sink")  # set once the dispatcher has started
    return None if sink is None else str(sink.breaker.state)


def keys(fake: CrmFake, customer_id: uuid.UUID) -> list[str]:
    return [record["key"] for record in fake.history_of(str(customer_id))]


async def test_a_conversation_lands_in_the_crm_whole_and_in_order(
    fresh_database_url: str, crm: tuple[CrmFake, dict[str, object]],
) -> None:
    fake, settings = crm
    customer_id = uuid.uuid4()
    first = message_received(customer_id, text="my parcel is late")
    second = message_received(customer_id, first.conversation_id, text="anyone there?")
    conversation = first.conversation_id

    async with crm_sync_app(fresh_database_url, **settings) as app:
        envelopes = await app.publish(first, second)
        envelopes += await app.publish(assigned(conversation, customer_id, sequence=1))
        envelopes += await app.publish(status_changed(conversation, customer_id, sequence=2))
        await eventually(lambda: len(keys(fake, customer_id)) == 4, timeout=20)
        await eventually(lambda: len(synced(app)) == 2)

    contact = fake.contact_by_ref(str(customer_id))
    assert contact is not None
    history = fake.history_of(str(customer_id))
    assert [record["key"] for record in history] == [str(e.id) for e in envelopes]
    assert "my parcel is late" in history[0]["body"]
    assert "anyone there?" in history[1]["body"]
    assert "Ada" in history[2]["body"]  # the assignment names the agent
    assert "Resolved" in history[3]["body"]
    assert [(e.message_id, e.status) for e in synced(app)] == [
        (first.message_id, "synced"), (second.message_id, "synced")]
    assert all(e.crm == settings["crm_kind"] for e in synced(app))
    assert all(TOKEN not in str(r.json) for r in fake.requests)


async def test_a_customer_change_updates_the_same_contact(
    fresh_database_url: str, crm: tuple[CrmFake, dict[str, object]],
) -> None:
    fake, settings = crm
    customer_id = uuid.uuid4()
    message = message_received(customer_id)

    async with crm_sync_app(fresh_database_url, **settings) as app:
        await app.publish(message)
        await eventually(lambda: len(keys(fake, customer_id)) == 1, timeout=20)
        created = fake.contact_by_ref(str(customer_id))
        await app.publish(CustomerUpdated(
            customer_id=customer_id, change="identity_linked", display_name="Ada King",
            identities=(IdentityRef(platform="chat", external_id="@ada"),
                        IdentityRef(platform="email", external_id="ada@example.com",
                                    handle="ada@example.com")),
            sequence=2, at=message.sent_at))
        await eventually(lambda: "ada@example.com" in str(fake.contact_by_ref(str(customer_id))),
                         timeout=20)

    updated = fake.contact_by_ref(str(customer_id))
    assert created is not None and updated is not None
    assert _id(updated) == _id(created)  # updated, not a second contact


async def test_a_redelivered_event_is_recorded_once(
    fresh_database_url: str, crm: tuple[CrmFake, dict[str, object]],
) -> None:
    fake, settings = crm
    message = message_received()
    marker = message_received(message.customer_id, message.conversation_id)

    async with crm_sync_app(fresh_database_url, **settings) as app:
        [envelope] = await app.publish(message)
        await app.bus.publish([app.bus.records("sportello.messages.received.v1")[-1]])  # again
        await app.publish(marker)
        await eventually(lambda: len(keys(fake, message.customer_id)) == 2, timeout=20)
        await eventually(lambda: len(synced(app)) == 2)

    assert keys(fake, message.customer_id)[0] == str(envelope.id)
    assert len(synced(app)) == 2


async def test_throttling_pauses_every_call_for_retry_after(
    fresh_database_url: str, crm: tuple[CrmFake, dict[str, object]],
) -> None:
    fake, settings = crm
    method = "PATCH" if settings["crm_kind"] == "salesforce" else (
        "POST" if settings["crm_kind"] == "hubspot" else "PUT")
    status = 403 if settings["crm_kind"] == "salesforce" else 429
    body: Any = ([{"errorCode": "REQUEST_LIMIT_EXCEEDED", "message": "TotalRequests Limit exceeded."}]
                 if status == 403 else None)
    fake.fail_next(method, status, headers={"Retry-After": "1"}, body=body)
    customer_id = uuid.uuid4()

    async with crm_sync_app(fresh_database_url, **settings) as app:
        await app.publish(message_received(customer_id))
        await eventually(lambda: len(keys(fake, customer_id)) == 1, timeout=20)

    refused = next(r for r in fake.requests if r.method == method)
    after = [r for r in fake.requests if r.at > refused.at and "/oauth2/" not in r.path]
    waited = (after[0].at - refused.at).total_seconds()
    if status == 429:  # Salesforce's limit error carries no Retry-After: plain backoff there
        assert waited >= 0.95, f"the next call came {waited:.2f}s after a 429 asking for 1s"


async def test_an_outage_opens_the_breaker_then_the_backlog_catches_up_in_order(
    fresh_database_url: str, crm: tuple[CrmFake, dict[str, object]],
) -> None:
    fake, settings = crm
    customer_id = uuid.uuid4()
    first = message_received(customer_id, text="first")
    port = fake.port

    async with crm_sync_app(fresh_database_url, crm_breaker_failures=3, **settings) as app:
        await fake.stop()  # the CRM goes down
        envelopes = await app.publish(first)
        envelopes += await app.publish(*[message_received(customer_id, first.conversation_id,
                                                          text=f"then {n}") for n in range(5)])
        await eventually(lambda: breaker(app) == "open", timeout=20)
        status = await app.call("GET", "/v1/crm/status", role="supervisor")
        assert status.json()["breaker"] in ("open", "half_open")
        assert status.json()["pending"] == 6
        await fake.start(port)  # and comes back
        await eventually(lambda: len(keys(fake, customer_id)) == 6, timeout=30)
        assert breaker(app) == "closed"
        await eventually(lambda: len(synced(app)) == 6)

    assert keys(fake, customer_id) == [str(e.id) for e in envelopes]


async def test_while_open_the_breaker_lets_no_call_through(fresh_database_url: str) -> None:
    async with running_crm("generic_rest") as (fake, settings), crm_sync_app(
            fresh_database_url, crm_breaker_failures=2, crm_breaker_cooldown_seconds=30,
            crm_breaker_cooldown_cap_seconds=30, **settings) as app:
        fake.fail_next("PUT", 503, times=100)
        await app.publish(message_received())
        await eventually(lambda: breaker(app) == "open", timeout=20)
        calls = len(fake.requests)
        for _ in range(10):  # workers keep polling: none of them may call the CRM
            assert not await app.ctx.state["dispatcher"].run_once()
        assert len(fake.requests) == calls == 2


async def test_a_refused_entry_is_parked_visible_and_retryable_while_the_lane_goes_on(
    fresh_database_url: str,
) -> None:
    async with running_crm("generic_rest") as (fake, settings), crm_sync_app(
            fresh_database_url, **settings) as app:
        customer_id = uuid.uuid4()
        contact_first = message_received(customer_id)
        await app.publish(contact_first)
        await eventually(lambda: len(keys(fake, customer_id)) == 1, timeout=20)
        fake.fail_next("POST", 422, body={"error": "text too long"})
        refused, later = (message_received(customer_id, contact_first.conversation_id)
                          for _ in range(2))
        [refused_envelope, later_envelope] = await app.publish(refused, later)
        await eventually(lambda: len(keys(fake, customer_id)) == 2, timeout=20)

        failed = (await app.call("GET", "/v1/crm/jobs", role="supervisor",
                                 params={"state": "failed"})).json()
        assert [job["payload"]["entry"]["key"] for job in failed] == [str(refused_envelope.id)]
        assert "422" in failed[0]["last_error"] and TOKEN not in failed[0]["last_error"]
        assert keys(fake, customer_id)[1] == str(later_envelope.id)  # the lane did not stall

        agent = await app.call("POST", f"/v1/crm/jobs/{failed[0]['id']}/retry", role="agent")
        assert agent.status_code == 403
        retried = await app.call("POST", f"/v1/crm/jobs/{failed[0]['id']}/retry", role="supervisor")
        assert retried.status_code == 202
        resent = retried.json()
        assert resent["id"] != failed[0]["id"]  # a new job at the lane's tail, the same entry
        assert resent["payload"]["entry"]["key"] == str(refused_envelope.id)
        await eventually(lambda: len(keys(fake, customer_id)) == 3, timeout=20)
        assert keys(fake, customer_id)[2] == str(refused_envelope.id)
        original = (await app.call("GET", f"/v1/crm/jobs/{failed[0]['id']}", role="supervisor")).json()
        assert [a["outcome"] for a in original["log"]] == ["refused"]  # the log keeps what happened
        async def settled() -> dict[str, Any] | None:
            job = (await app.call("GET", f"/v1/crm/jobs/{resent['id']}", role="supervisor")).json()
            return job if job["state"] != "pending" else None
        done = await eventually(settled, timeout=20)
        assert (done["state"], [a["outcome"] for a in done["log"]]) == ("done", ["synced"])


async def test_queued_entries_survive_a_restart(fresh_database_url: str) -> None:
    async with running_crm("generic_rest") as (fake, settings):
        customer_id = uuid.uuid4()
        port = fake.port
        await fake.stop()
        async with crm_sync_app(fresh_database_url, **settings) as app:
            [envelope] = await app.publish(message_received(customer_id))
            await eventually(lambda: app.jobs_in("crm", "pending"), timeout=20)
        await fake.start(port)  # the CRM is back; crm-sync restarts with its queue in PostgreSQL
        async with crm_sync_app(fresh_database_url, **settings):
            await eventually(lambda: len(keys(fake, customer_id)) == 1, timeout=20)
        assert keys(fake, customer_id) == [str(envelope.id)]


async def test_after_a_merge_history_goes_to_the_survivors_contact(fresh_database_url: str) -> None:
    async with running_crm("generic_rest") as (fake, settings), crm_sync_app(
            fresh_database_url, **settings) as app:
        survivor, merged = uuid.uuid4(), uuid.uuid4()
        await app.publish(message_received(survivor), message_received(merged))
        await eventually(lambda: keys(fake, survivor) and keys(fake, merged), timeout=20)
        await app.publish(CustomerMerged(
            customer_id=survivor, merged_customer_id=merged, merge_id=uuid.uuid4(),
            identities_moved=(IdentityRef(platform="chat", external_id="@ada-too"),),
            automatic=False, reason="same person", actor="supervisor", sequence=3,
            at=message_received().sent_at))
        # Merges and messages travel on different topics: the message is sent once the merge is
        # known, as it would be in life (it comes from an identity the merge moved).
        await eventually(lambda: app.scalar(select(customers.c.merged_into).where(
            customers.c.customer_id == merged)), timeout=20)
        late = message_received(merged)
        [envelope] = await app.publish(late)
        await eventually(lambda: str(envelope.id) in keys(fake, survivor), timeout=20)
        assert str(envelope.id) not in keys(fake, merged)


async def test_without_a_crm_messages_are_announced_not_configured(fresh_database_url: str) -> None:
    async with crm_sync_app(fresh_database_url) as app:
        message = message_received()
        await app.publish(message)
        await eventually(lambda: len(synced(app)) == 1)
        assert await app.jobs_in("crm") == 0
    [event] = synced(app)
    assert (event.message_id, event.status, event.crm) == (message.message_id, "not_configured",
                                                           "none")


def _id(contact: dict[str, Any]) -> str:
    return str(contact.get("id") or contact.get("Id"))
