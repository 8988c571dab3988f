"""Live chat's edge: the API a web widget calls from the visitor's browser.

These routes are public by design and take no bearer token: a widget cannot keep one. Opening a session
needs a widget key (public, it names the brand account); every later call needs that session's token in
``X-Chat-Session-Token`` (401 without, 403 wrong), which is only good for its own session.
"""

from __future__ import annotations

import uuid
from datetime import UTC, datetime
from typing import Annotated, Any, Literal

from fastapi import APIRouter, Header, Query, Response, status
from pydantic import AwareDatetime, BaseModel, ConfigDict, Field, StringConstraints

from sportello.http.problems import Forbidden, NotFound
from sportello_ingest import chat_sessions, intake
from sportello_ingest.channels.chat import SESSION_HEADER, ChatAdapter
from sportello_ingest.endpoints.common import OUTCOME_STATUS, IngestContext, adapter_of
from sportello_ingest.repository import IngestRepository
from sportello_ingest.schemas import Name, Text

router = APIRouter(prefix="/v1/channels/chat", tags=["channels"])

ClientId = Annotated[str, StringConstraints(pattern=r"^[A-Za-z0-9._:-]{1,128}$")]
Email = Annotated[str, StringConstraints(strip_whitespace=True, max_length=256, pattern=r"^[^@\s]+@[^@\s]+$")]


class VisitorIn(BaseModel):
    model_config = ConfigDict(extra="forbid")

    id: Annotated[str, StringConstraints(max_length=128)] | None = Field(
        default=None, description="The visitor id a previous session returned; a new one is issued if it "
                                  "is missing or not one of ours.")
    name: Name
    email: Email | None = Field(default=None, description="As the visitor typed it: shown to agents, "
                                                          "never trusted to link them to a customer.")


class SessionIn(BaseModel):
    model_config = ConfigDict(extra="forbid")

    widget_key: Annotated[str, StringConstraints(min_length=1, max_length=256)]
    visitor: VisitorIn


class SessionOut(BaseModel):
    session_id: uuid.UUID
    session_token: str = Field(description=f"Send it as {SESSION_HEADER} on every call of this session.")
    visitor_id: str = Field(description="Store it, and send it when opening the next session.")


class ChatMessageIn(BaseModel):
    model_config = ConfigDict(extra="forbid")

    client_message_id: ClientId = Field(description="The widget's id for the message: a retry with the "
                                                    "same id is the same message.")
    text: Text


class ChatMessageAccepted(BaseModel):
    outcome: Literal["accepted", "duplicate", "blocked", "ignored"]
    message_id: uuid.UUID | None
    conversation_id: uuid.UUID | None
    duplicate: bool


class ChatMessageOut(BaseModel):
    id: uuid.UUID
    direction: Literal["inbound", "outbound"]
    text: str
    sent_at: datetime
    status: str = Field(description="received (the visitor's), or sent / delivered / read (agents').")
    client_message_id: str | None = Field(default=None, description="The visitor's messages: the widget's id.")


class ChatHistoryOut(BaseModel):
    messages: list[ChatMessageOut]
    next_after: str | None = Field(description="Pass it as `after` on the next fetch.")


class ReadIn(BaseModel):
    model_config = ConfigDict(extra="forbid")

    until: AwareDatetime = Field(description="The visitor has seen the agents' replies up to this time.")


class ReadOut(BaseModel):
    read: int


def _chat(ctx: IngestContext) -> ChatAdapter:
    adapter = adapter_of(ctx, "chat", "chat_session_secret")
    assert isinstance(adapter, ChatAdapter)
    return adapter


async def _session(ctx: IngestContext, session_id: uuid.UUID, token: str | None) -> dict[str, Any]:
    # The token is checked before the database is: no session ids can be probed without one.
    _chat(ctx).verify_session(session_id, token)
    async with ctx.db.transaction() as tx:
        session = await IngestRepository(tx.session).chat_session(session_id)
    if session is None:
        raise NotFound(f"No chat session {session_id}.")
    return session


SessionToken = Annotated[str | None, Header(alias=SESSION_HEADER)]


@router.post("/sessions", response_model=SessionOut, status_code=status.HTTP_201_CREATED,
             summary="Open a chat session for a visitor (public: the widget key names the brand account)",
             responses={403: {"description": "Unknown widget key"}})
async def open_session(body: SessionIn, ctx: IngestContext) -> SessionOut:
    adapter = _chat(ctx)
    account = adapter.account_for(body.widget_key)
    if account is None:
        raise Forbidden("Unknown widget key.")
    given = body.visitor.id
    visitor_id = given if given and adapter.is_our_visitor_id(given) else adapter.new_visitor_id()
    session_id = uuid.uuid4()
    async with ctx.db.transaction() as tx:
        await IngestRepository(tx.session).create_chat_session(dict(
            id=session_id, account=account, visitor_id=visitor_id, display_name=body.visitor.name,
            email=body.visitor.email, created_at=datetime.now(UTC)))
    return SessionOut(session_id=session_id, session_token=adapter.session_token(session_id),
                      visitor_id=visitor_id)


@router.post("/sessions/{session_id}/messages", response_model=ChatMessageAccepted,
             status_code=status.HTTP_201_CREATED, summary="The visitor sends a message",
             responses={200: {"description": "Already accepted (same client_message_id)"},
                        401: {"description": f"No {SESSION_HEADER}"}, 403: {"description": "Wrong token"}})
async def post_message(session_id: uuid.UUID, body: ChatMessageIn, response: Response, ctx: IngestContext,
                       token: SessionToken = None) -> ChatMessageAccepted:
    session = await _session(ctx, session_id, token)
    adapter = _chat(ctx)
    # Archived before anything else, self-contained, and ingested exactly as replay would parse it.
    raw = adapter.archived_body(session, body.client_message_id, body.text, datetime.now(UTC))
    delivery_id = await intake.archive(ctx, adapter.channel, "application/json", raw)
    accepted = await intake.accept_one(ctx, adapter.parse(raw).messages[0], delivery_id)
    response.status_code = OUTCOME_STATUS[accepted.outcome]
    return ChatMessageAccepted(outcome=accepted.outcome, message_id=accepted.message_id,
                               conversation_id=accepted.conversation_id,
                               duplicate=accepted.outcome == "duplicate")


@router.get("/sessions/{session_id}/messages", response_model=ChatHistoryOut,
            summary="The visitor's conversation, both ways; agents' replies fetched become delivered")
async def get_messages(
    session_id: uuid.UUID, ctx: IngestContext, token: SessionToken = None,
    after: Annotated[str | None, Query(max_length=64, description="A message id (next_after) or an ISO "
                                                                  "8601 time with a UTC offset")] = None,
    limit: Annotated[int, Query(ge=1, le=500)] = 100,
) -> ChatHistoryOut:
    session = await _session(ctx, session_id, token)
    async with ctx.db.transaction() as tx:
        rows, next_after = await chat_sessions.fetch(tx, session, after, limit)
    return ChatHistoryOut(messages=[_out(row) for row in rows], next_after=next_after)


@router.post("/sessions/{session_id}/read", response_model=ReadOut,
             summary="The visitor has read the agents' replies up to a time")
async def mark_read(session_id: uuid.UUID, body: ReadIn, ctx: IngestContext,
                    token: SessionToken = None) -> ReadOut:
    session = await _session(ctx, session_id, token)
    async with ctx.db.transaction() as tx:
        return ReadOut(read=await chat_sessions.mark_read(tx, session, body.until))


def _out(row: dict[str, Any]) -> ChatMessageOut:
    # A visitor's message's external id is "<session id>:<client_message_id>".
    client_id = (row["external_id"] or "").partition(":")[2] if row["direction"] == "inbound" else ""
    return ChatMessageOut(id=row["id"], direction=row["direction"], text=row["text"], sent_at=row["sent_at"],
                          status=row["delivery_status"], client_message_id=client_id or None)
