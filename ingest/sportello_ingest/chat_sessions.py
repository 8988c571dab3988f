"""The chat widget's view of its conversation: what it fetches (and thereby receives) and what it reads.

A fetch returns the visitor's messages and agents' replies past the widget's cursor and marks the replies it
shows delivered; a read receipt marks them read. Only replies already shown move (one still pending was
never in a fetch).
"""

from __future__ import annotations

import uuid
from datetime import UTC, datetime
from typing import Any, Literal

from sportello.db import Tx
from sportello.http.problems import InvalidRequest
from sportello_ingest import service
from sportello_ingest.repository import IngestRepository, StoredMessage

# What a widget's fetch and read receipt move forward.
_SHOWN = {"delivered": ("sent",), "read": ("sent", "delivered")}


async def fetch(tx: Tx, session: dict[str, Any], after: str | None,
                limit: int) -> tuple[list[dict[str, Any]], str | None]:
    """The messages past ``after`` (a message id or an ISO time) and the cursor for the next fetch."""
    repo = IngestRepository(tx.session)
    customer = await repo.customer_of("chat", session["visitor_id"])
    if customer is None:  # nothing sent yet
        return [], after
    cursor = await _cursor(repo, after, customer.id, session["account"])
    rows = await repo.chat_history(customer.id, session["account"], after=cursor[0], after_id=cursor[1],
                                   limit=limit)
    shown = [row for row in rows if row["direction"] == "outbound" and row["delivery_status"] == "sent"]
    for row in await _advance(tx, shown, "delivered"):
        row["delivery_status"] = "delivered"
    # Replies not fetched yet may sort before the cursor: never move it backwards for them.
    moved_on = bool(rows) and _beyond(rows[-1], cursor)
    return rows, str(rows[-1]["id"]) if moved_on else after


async def mark_read(tx: Tx, session: dict[str, Any], until: datetime) -> int:
    """The visitor has read the replies up to ``until``; returns how many became read."""
    repo = IngestRepository(tx.session)
    customer = await repo.customer_of("chat", session["visitor_id"])
    if customer is None:
        return 0
    until = min(until, datetime.now(UTC))  # nobody reads what is not written yet
    replies = await repo.chat_replies_until(customer.id, session["account"], until)
    return len(await _advance(tx, replies, "read"))


async def _cursor(repo: IngestRepository, after: str | None, customer_id: uuid.UUID,
                  account: str) -> tuple[datetime | None, uuid.UUID | None]:
    if not after:
        return None, None
    try:
        message_id = uuid.UUID(after)
    except ValueError:
        pass
    else:
        found = await repo.message(message_id)
        # The visitor's history: theirs, and that of customers merged into theirs.
        if (found is None or found["account"] != account
                or found["customer_id"] not in await repo.history_ids(customer_id)):
            raise InvalidRequest("after is not a message of this chat.")
        return found["received_at"], message_id
    try:
        # An unencoded "+" in a query string arrives as a space.
        moment = datetime.fromisoformat(after.replace(" ", "+"))
    except ValueError as exc:
        raise InvalidRequest("after is neither a message id nor an ISO 8601 time.") from exc
    if moment.tzinfo is None:
        raise InvalidRequest("after needs a UTC offset, e.g. 2026-11-24T10:00:00Z.")
    return moment, None


async def _advance(tx: Tx, rows: list[dict[str, Any]], status_: Literal["delivered", "read"]) -> list[dict[str, Any]]:
    """Move agents' replies to delivered or read, with their event; returns the rows that moved."""
    moved = []
    now = datetime.now(UTC)
    for row in rows:
        stored = StoredMessage(row["id"], row["conversation_id"], row["customer_id"])
        if await service.advance_delivery(tx, stored, "chat", row["external_id"], status_,
                                          only_from=_SHOWN[status_], at=now):
            moved.append(row)
    return moved


def _beyond(row: dict[str, Any], cursor: tuple[datetime | None, uuid.UUID | None]) -> bool:
    after, after_id = cursor
    if after is None or row["received_at"] != after:
        return after is None or row["received_at"] > after
    return after_id is not None and row["id"] > after_id
