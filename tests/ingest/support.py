"""What the ingest tests share: counting what was kept, reading emitted events, agents' API calls."""

from __future__ import annotations

from typing import Any

import httpx
from fastapi import FastAPI
from sqlalchemy import func, select

from sportello.bus.codec import decode
from sportello.topics import Topic
from sportello_ingest.tables import deliveries, messages
from tests.support.app import auth
from tests.support.waiting import eventually


async def counts(app: FastAPI) -> tuple[int, int]:
    """(archived deliveries, stored messages): a refused request must change neither."""
    async with app.state.contexts["ingest"].db.transaction() as tx:
        archived = (await tx.session.execute(select(func.count()).select_from(deliveries))).scalar_one()
        kept = (await tx.session.execute(select(func.count()).select_from(messages))).scalar_one()
    return archived, kept


def events(app: FastAPI, topic: Topic, kind: type) -> list[Any]:
    """The events of one type the in-process bus has carried on a topic."""
    records = app.state.runtime.bus.records(topic.name)
    return [e for e in (decode(r, topic).data for r in records) if isinstance(e, kind)]


async def stored(client: httpx.AsyncClient, channel: str, external_id: str) -> dict[str, Any]:
    response = await client.get(f"/v1/channels/{channel}/messages/{external_id}", headers=auth("agent"))
    assert response.status_code == 200, response.text
    return response.json()  # type: ignore[no-any-return]


async def settled(client: httpx.AsyncClient, message_id: str, *, timeout: float = 10) -> dict[str, Any]:
    """The reply once the sender is done with it (sent or failed)."""
    async def done() -> dict[str, Any] | None:
        found = (await client.get(f"/v1/messages/{message_id}", headers=auth("agent"))).json()
        return found if found["delivery_status"] != "pending" else None

    return await eventually(done, timeout=timeout)  # type: ignore[no-any-return]
