"""Outbound webhooks through crm-sync's API: subscriptions, signing and rotation, the answers a
subscriber can give (2xx, 410, Retry-After, failures past the window), the log and redelivery."""

from __future__ import annotations

import base64
import json
import uuid
from datetime import UTC, datetime, timedelta

from sqlalchemy import select

from sportello.contracts import ConversationNoteAdded, ConversationTagsChanged
from sportello.http.signatures import signature
from sportello.observability.metrics import EVENTS_DECLINED
from sportello_crm_sync.tables import inbox, sla_stages
from tests.crm_sync.conftest import message_received
from tests.crm_sync.support import CrmSyncApp, crm_sync_app
from tests.gateway.builders import prioritised
from tests.support.waiting import eventually
from tests.support.webhook_receiver import WebhookReceiver, running_receiver


async def subscribe(app: CrmSyncApp, receiver: WebhookReceiver, *types: str) -> dict[str, object]:
    created = await app.call("POST", "/v1/webhooks/subscriptions",
                             json={"url": receiver.hook_url, "event_types": list(types),
                                   "description": "test"})
    assert created.status_code == 201, created.text
    body: dict[str, object] = created.json()
    receiver.secrets = [str(body["secret"])]
    return body


async def test_a_subscription_shows_its_secret_once_and_checks_what_it_is_given(
    fresh_database_url: str,
) -> None:
    async with crm_sync_app(fresh_database_url, webhook_allow_insecure_urls=False) as app:
        good = await app.call("POST", "/v1/webhooks/subscriptions",
                              json={"url": "https://crm.example.com/hooks",
                                    "event_types": ["conversation.assigned", "sla.breach"]})
        assert good.status_code == 201
        secret = good.json()["secret"]
        assert secret.startswith("whsec_") and len(base64.b64decode(secret[6:])) == 32
        listed = (await app.call("GET", "/v1/webhooks/subscriptions")).json()
        assert [s["id"] for s in listed] == [good.json()["id"]]
        assert "secret" not in listed[0] and secret not in str(listed)

        for url, why in [("http://crm.example.com/hooks", "https"),
                         ("https://10.0.0.7/hooks", "private"),
                         ("https://127.0.0.1:8443/hooks", "private"),
                         ("https://localhost/hooks", "network")]:
            refused = await app.call("POST", "/v1/webhooks/subscriptions",
                                     json={"url": url, "event_types": ["message.created"]})
            assert refused.status_code == 400, url
            assert refused.headers["content-type"].startswith("application/problem+json")
            assert why in refused.json()["detail"]
        unknown = await app.call("POST", "/v1/webhooks/subscriptions",
                                 json={"url": "https://crm.example.com/h", "event_types": ["nope"]})
        assert unknown.status_code == 422
        assert "nope" in unknown.text
        nulled = await app.call("PATCH", f"/v1/webhooks/subscriptions/{good.json()['id']}",
                                json={"status": None})
        assert nulled.status_code == 400 and "status" in nulled.json()["detail"]
        as_agent = await app.call("POST", "/v1/webhooks/subscriptions", role="agent",
                                  json={"url": "https://crm.example.com/h",
                                        "event_types": ["message.created"]})
        assert as_agent.status_code == 403
        catalogue = (await app.call("GET", "/v1/webhooks/event-types", role="agent")).json()
        assert {"conversation.created", "conversation.assigned", "conversation.status_changed",
                "conversation.resolved", "message.created", "message.delivery_status",
                "customer.created", "customer.updated", "customer.merged", "sla.warning",
                "sla.breach", "survey.answered"} <= {t["type"] for t in catalogue}


async def test_rotation_signs_with_both_secrets_until_the_grace_ends(fresh_database_url: str) -> None:
    async with crm_sync_app(fresh_database_url) as app, running_receiver() as receiver:
        created = await subscribe(app, receiver, "message.created")
        old = str(created["secret"])
        rotated = await app.call("POST", f"/v1/webhooks/subscriptions/{created['id']}/rotate-secret",
                                 json={"grace_seconds": 3600})
        new = rotated.json()["secret"]
        assert new != old
        await app.publish(message_received())
        [during] = await eventually(lambda: receiver.received, timeout=20)

        stamp, body = during.timestamp, _raw(during.body)
        assert set(during.signatures) == {signature(new, during.webhook_id, stamp, body),
                                          signature(old, during.webhook_id, stamp, body)}
        receiver.secrets = [old]  # a subscriber not yet switched still verifies
        assert during.valid

        await app.call("POST", f"/v1/webhooks/subscriptions/{created['id']}/rotate-secret",
                       json={"grace_seconds": 0})
        receiver.secrets = [new]
        await app.publish(message_received())
        await eventually(lambda: len(receiver.received) == 2, timeout=20)
        after = receiver.received[1]
        assert len(after.signatures) == 1  # the grace is over: only the newest secret signs


async def test_410_gone_disables_the_subscription_and_stops_its_queue(fresh_database_url: str) -> None:
    async with crm_sync_app(fresh_database_url) as app, running_receiver() as receiver:
        created = await subscribe(app, receiver, "message.created")
        receiver.fail_next("POST", 410)
        first = message_received()
        await app.publish(first, message_received(first.customer_id, first.conversation_id))
        await eventually(lambda: app.jobs_in("webhook", "stopped"), timeout=20)
        await eventually(lambda: _count(app, "stopped", 2), timeout=20)
        shown = (await app.call("GET", f"/v1/webhooks/subscriptions/{created['id']}")).json()
        assert shown["status"] == "disabled" and "410" in shown["disabled_reason"]
        await app.publish(message_received())
        await app.publish(message_received())
        assert len(receiver.received) == 1  # nothing more is queued for it, nothing sent
        assert await app.jobs_in("webhook") == 2


async def test_retry_after_is_a_floor_for_the_next_attempt(fresh_database_url: str) -> None:
    async with crm_sync_app(fresh_database_url) as app, running_receiver() as receiver:
        await subscribe(app, receiver, "message.created")
        receiver.fail_next("POST", 503, headers={"Retry-After": "1"})
        await app.publish(message_received())
        await eventually(lambda: len(receiver.received) == 2, timeout=20)
    first, second = receiver.requests
    assert (second.at - first.at).total_seconds() >= 0.95
    assert receiver.received[0].webhook_id == receiver.received[1].webhook_id


async def test_past_the_retry_window_a_delivery_fails_and_can_be_redelivered(
    fresh_database_url: str,
) -> None:
    async with crm_sync_app(fresh_database_url, webhook_retry_window_seconds=0.6) as app, \
            running_receiver() as receiver:
        created = await subscribe(app, receiver, "message.created")
        receiver.fail_next("POST", 500, times=1000)
        await app.publish(message_received())
        await eventually(lambda: app.jobs_in("webhook", "failed"), timeout=20)

        [failed] = (await app.call("GET", f"/v1/webhooks/subscriptions/{created['id']}/deliveries",
                                   params={"state": "failed"})).json()
        log = (await app.call("GET", f"/v1/webhooks/deliveries/{failed['id']}")).json()
        assert len(log["log"]) >= 2
        assert all(a["outcome"] == "refused" and a["status_code"] == 500 for a in log["log"])
        tries = len(receiver.received)
        assert {r.webhook_id for r in receiver.received} == {failed["webhook_id"]}

        receiver.faults.clear()  # the subscriber is fixed; someone presses "redeliver"
        again = await app.call("POST", f"/v1/webhooks/deliveries/{failed['id']}/redeliver")
        assert again.status_code == 202
        assert again.json()["webhook_id"] == failed["webhook_id"]
        await eventually(lambda: app.jobs_in("webhook", "done"), timeout=20)
        assert len(receiver.received) == tries + 1
        assert receiver.received[-1].webhook_id == failed["webhook_id"]
        resent = (await app.call("GET", f"/v1/webhooks/deliveries/{again.json()['id']}")).json()
        assert [a["outcome"] for a in resent["log"]] == ["delivered"]  # fresh attempts, fresh window
        missing = await app.call("POST", "/v1/webhooks/deliveries/999999/redeliver")
        assert missing.status_code == 404


async def test_a_paused_subscription_queues_and_resumes_in_order(fresh_database_url: str) -> None:
    async with crm_sync_app(fresh_database_url) as app, running_receiver() as receiver:
        created = await subscribe(app, receiver, "message.created")
        path = f"/v1/webhooks/subscriptions/{created['id']}"
        assert (await app.call("PATCH", path, json={"status": "paused"})).json()["status"] == "paused"
        first = message_received()
        messages = [first] + [message_received(first.customer_id, first.conversation_id)
                              for _ in range(3)]
        await app.publish(*messages)
        await eventually(lambda: _count(app, "pending", 4), timeout=20)
        assert not await app.ctx.state["dispatcher"].run_once()
        assert receiver.received == []
        await app.call("PATCH", path, json={"status": "active"})
        await eventually(lambda: len(receiver.received) == 4, timeout=20)
    assert [r.body["data"]["message_id"] for r in receiver.received] == [
        str(m.message_id) for m in messages]


async def test_sla_webhooks_fire_once_per_stage_entered(fresh_database_url: str) -> None:
    conversation, customer = uuid.uuid4(), uuid.uuid4()
    at = datetime.now(UTC)
    stages = ["on_track", "halfway", "at_risk", "at_risk", "critical", "breached", "breached"]
    async with crm_sync_app(fresh_database_url) as app, running_receiver() as receiver:
        await subscribe(app, receiver, "sla.warning", "sla.breach")
        for sequence, stage in enumerate(stages, start=1):
            await app.publish(prioritised(conversation, customer, sequence, priority=50,
                                          at=at + timedelta(minutes=sequence), stage=stage))
        stale = prioritised(conversation, customer, 3, priority=50, at=at, stage="at_risk")
        await app.publish(stale)  # an old event replayed: not a new warning
        await eventually(lambda: len(receiver.received) == 2, timeout=20)
        await app.publish(prioritised(conversation, customer, 99, priority=50, at=at, stage=None))
        # Once the last event is handled, every earlier one was (one conversation, one partition).
        await eventually(lambda: app.scalar(select(sla_stages.c.sequence).where(
            sla_stages.c.conversation_id == conversation, sla_stages.c.sequence == 99)), timeout=20)
    assert [(r.body["type"], r.body["data"]["stage"]) for r in receiver.received] == [
        ("sla.warning", "at_risk"), ("sla.breach", "breached")]
    assert receiver.received[0].body["data"]["conversation_id"] == str(conversation)


async def _count(app: CrmSyncApp, state: str, expected: int) -> bool:
    return await app.jobs_in("webhook", state) == expected


def _raw(body: dict[str, object]) -> bytes:
    return json.dumps(body, separators=(",", ":"), ensure_ascii=False).encode()


async def test_events_nobody_subscribed_to_cost_no_transaction(fresh_database_url: str) -> None:
    group = "sportello.crm-sync.webhooks"
    async with crm_sync_app(fresh_database_url) as app, running_receiver() as receiver:
        declined = EVENTS_DECLINED.labels(group=group)._value.get()
        [ignored] = await app.publish(message_received())
        await eventually(lambda: EVENTS_DECLINED.labels(group=group)._value.get() > declined)
        assert not await app.scalar(select(inbox.c.event_id).where(
            inbox.c.consumer_group == group, inbox.c.event_id == ignored.id))
        await subscribe(app, receiver, "message.created")  # takes effect at once in this process
        [wanted] = await app.publish(message_received())
        await eventually(lambda: receiver.received, timeout=20)
        assert await app.scalar(select(inbox.c.event_id).where(
            inbox.c.consumer_group == group, inbox.c.event_id == wanted.id))


async def test_internal_notes_and_tag_changes_reach_their_subscribers_signed(fresh_database_url: str) -> None:
    conversation, customer = uuid.uuid4(), uuid.uuid4()
    at = datetime.now(UTC)
    note = ConversationNoteAdded(note_id=uuid.uuid4(), conversation_id=conversation,
                                 customer_id=customer, author="agent-7", text="VIP, call back", at=at)
    tags = ConversationTagsChanged(conversation_id=conversation, customer_id=customer,
                                   tags=("refund", "vip"), added=("vip",), removed=(), actor="agent-7",
                                   at=at)
    async with crm_sync_app(fresh_database_url) as app, running_receiver() as receiver:
        await subscribe(app, receiver, "conversation.note_added", "conversation.tags_changed")
        await app.publish(note)
        await app.publish(tags)
        await eventually(lambda: len(receiver.received) == 2, timeout=20)
    assert [r.body["type"] for r in receiver.received] == ["conversation.note_added",
                                                           "conversation.tags_changed"]
    assert receiver.received[0].body["data"]["text"] == "VIP, call back"
    assert receiver.received[1].body["data"]["added"] == ["vip"]
    assert all(r.valid for r in receiver.received)  # signed with the subscription's secret
