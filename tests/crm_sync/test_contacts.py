"""The CRM tells us about a contact (tier, VIP, do-not-contact, owner): signed, ordered, announced
as ``CrmContactUpdated`` for priority."""

from __future__ import annotations

import json
import uuid
from datetime import UTC, datetime, timedelta
from typing import Any

import httpx
from pydantic import SecretStr

from sportello.bus.codec import decode
from sportello.contracts import CrmContactUpdated
from sportello.http.signatures import sign
from sportello.topics import CRM_CONTACTS
from sportello_crm_sync.repository import CrmQueries
from tests.crm_sync.support import CrmSyncApp, crm_sync_app
from tests.support.waiting import eventually

SECRET, NEXT_SECRET = "whsec_" + "a" * 44, "whsec_" + "b" * 44
T0 = datetime(2026, 11, 24, 9, 0, tzinfo=UTC)


def inbound(**overrides: object) -> dict[str, object]:
    return {"crm_inbound_secrets": SecretStr(f"{SECRET},{NEXT_SECRET}"), **overrides}


async def post(app: CrmSyncApp, body: dict[str, Any], secret: str | None = SECRET,
               *, tamper: bool = False) -> httpx.Response:
    raw = json.dumps(body, default=str).encode()
    headers = sign([secret], f"msg_{uuid.uuid4().hex}", raw) if secret else {}
    if tamper:
        raw = raw.replace(b"gold", b"platinum")
    return await app.client.post("/v1/crm/contacts", content=raw,
                                 headers={**headers, "content-type": "application/json"})


def announced(app: CrmSyncApp) -> list[CrmContactUpdated]:
    events = [decode(r, CRM_CONTACTS).data for r in app.bus.records(CRM_CONTACTS.name)]
    return [e for e in events if isinstance(e, CrmContactUpdated)]


async def test_a_signed_update_is_announced_and_a_late_older_one_ignored(database_url: str) -> None:
    customer = uuid.uuid4()
    async with crm_sync_app(database_url, **inbound()) as app:
        first = await post(app, {"customer_id": str(customer), "tier": "gold", "vip": True,
                                 "owner": "k.account", "updated_at": T0.isoformat()})
        assert first.status_code == 200, first.text
        assert first.json() == {"customer_id": str(customer), "applied": True, "sequence": 1}
        older = await post(app, {"customer_id": str(customer), "tier": "silver",
                                 "updated_at": (T0 - timedelta(hours=1)).isoformat()})
        assert older.json()["applied"] is False
        newer = await post(app, {"customer_id": str(customer), "do_not_contact": True,
                                 "updated_at": (T0 + timedelta(hours=1)).isoformat()},
                           secret=NEXT_SECRET)  # the second secret of a rotation is accepted
        assert newer.json()["sequence"] == 2
        await eventually(lambda: len([e for e in announced(app) if e.customer_id == customer]) == 2)

    mine = [e for e in announced(app) if e.customer_id == customer]
    assert [(e.sequence, e.tier, e.vip, e.do_not_contact, e.owner) for e in mine] == [
        (1, "gold", True, False, "k.account"), (2, None, False, True, None)]


async def test_a_contact_is_found_by_the_crms_own_id(database_url: str) -> None:
    customer = uuid.uuid4()
    async with crm_sync_app(database_url, **inbound(crm_url="http://127.0.0.1:9",
                                                    crm_kind="hubspot")) as app:
        async with app.ctx.db.transaction() as tx:
            await CrmQueries(tx.session).link_contact(customer, "hubspot", "hs-4242")
        found = await post(app, {"contact_id": "hs-4242", "vip": True,
                                 "updated_at": T0.isoformat()})
        assert found.status_code == 200 and found.json()["customer_id"] == str(customer)
        unknown = await post(app, {"contact_id": "hs-0000", "updated_at": T0.isoformat()})
        assert unknown.status_code == 404
        assert unknown.headers["content-type"].startswith("application/problem+json")
        neither = await post(app, {"vip": True, "updated_at": T0.isoformat()})
        assert neither.status_code == 400


async def test_unsigned_forged_or_malformed_updates_are_refused(database_url: str) -> None:
    body = {"customer_id": str(uuid.uuid4()), "tier": "gold", "updated_at": T0.isoformat()}
    async with crm_sync_app(database_url, **inbound()) as app:
        assert (await post(app, body, secret=None)).status_code == 401
        assert (await post(app, body, secret="whsec_" + "c" * 44)).status_code == 403
        assert (await post(app, body, tamper=True)).status_code == 403
        malformed = await post(app, {**body, "vip": "maybe"})
        assert malformed.status_code == 422
        assert malformed.headers["content-type"].startswith("application/problem+json")
        assert announced(app) == []
    async with crm_sync_app(database_url) as app:  # no secret configured: nothing is accepted
        assert (await post(app, body)).status_code == 401
