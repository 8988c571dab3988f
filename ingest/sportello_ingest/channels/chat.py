"""Live chat: a web widget opens a session, posts the visitor's messages and polls for agents' replies.

A widget runs in the visitor's browser and cannot keep a secret, so nothing it holds is one: the widget
key (``SPORTELLO_CHAT_WIDGET_KEYS``, ``key=account`` pairs) only names the brand account, like a site key,
and each session gets its own token, HMAC-SHA256 of the session id under ``SPORTELLO_CHAT_SESSION_SECRET``,
that the widget shows on every later call. Visitor ids are issued by us and signed the same way: a widget
stores one to come back as the same customer, but cannot make one up to read another visitor's history.

Each visitor message is archived as a self-contained JSON body (:meth:`ChatAdapter.archived_body`) that
:meth:`ChatAdapter.parse` turns back into the same message, so ``replay`` re-ingests chat like any webhook.
Outbound there is no platform call: "sending" a reply makes it visible to the widget, whose next fetch marks
it delivered and whose read receipt marks it read.
"""

from __future__ import annotations

import hashlib
import hmac
import secrets
import uuid
from datetime import datetime
from typing import Any

import httpx
from pydantic import AwareDatetime, BaseModel, ConfigDict, ValidationError

from sportello.errors import PermanentError
from sportello_ingest.channels.base import (
    Author,
    ChannelAdapter,
    InboundMessage,
    Parsed,
    SendRequest,
    SendResult,
    verify_signature,
)

SESSION_HEADER = "X-Chat-Session-Token"


class ArchivedChatMessage(BaseModel):
    """What the archive keeps of a visitor's message: everything needed to ingest it again."""

    model_config = ConfigDict(extra="forbid")

    session_id: uuid.UUID
    account: str
    visitor_id: str
    visitor_name: str
    client_message_id: str
    text: str
    sent_at: AwareDatetime


def parse_widget_keys(spec: str) -> dict[str, str]:
    """``"key1=acme,key2=acme-shop"`` → ``{"key1": "chat:acme", ...}``; a malformed pair fails startup."""
    keys: dict[str, str] = {}
    for pair in filter(None, (part.strip() for part in spec.split(","))):
        key, _, account = (item.strip() for item in pair.partition("="))
        if not key or not account:
            raise ValueError("SPORTELLO_CHAT_WIDGET_KEYS holds key=account pairs, comma separated")
        keys[key] = f"chat:{account}"
    return keys


def external_id_of(session_id: uuid.UUID, client_message_id: str) -> str:
    # The widget's own id makes a retried POST the same message; the session scopes it to this widget.
    return f"{session_id}:{client_message_id}"


class ChatAdapter(ChannelAdapter):
    channel = "chat"
    # A chat is one-to-one: every reply is private.
    supports = ("private",)

    def __init__(self, session_secret: str, widget_keys: str) -> None:
        self._secret = session_secret.encode()
        self._accounts = parse_widget_keys(widget_keys)

    # -- widget credentials ------------------------------------------------------------------------

    def account_for(self, widget_key: str) -> str | None:
        """The brand account a widget key opens sessions on, or None."""
        found = None
        for key, account in self._accounts.items():
            if hmac.compare_digest(key.encode(), widget_key.encode()):
                found = account
        return found

    def session_token(self, session_id: uuid.UUID) -> str:
        return self._mac(str(session_id))

    def verify_session(self, session_id: uuid.UUID, token: str | None) -> None:
        """401 without a token, 403 with a wrong one (constant-time)."""
        verify_signature(token, self.session_token(session_id), header=SESSION_HEADER)

    def new_visitor_id(self) -> str:
        nonce = secrets.token_hex(16)
        return f"{nonce}.{self._visitor_mac(nonce)}"

    def is_our_visitor_id(self, visitor_id: str) -> bool:
        nonce, _, mac = visitor_id.partition(".")
        return bool(nonce) and hmac.compare_digest(mac, self._visitor_mac(nonce))

    def _visitor_mac(self, nonce: str) -> str:
        # A different message than any session id's, so one kind of credential never passes for the other.
        return self._mac(f"visitor:{nonce}")[:32]

    def _mac(self, value: str) -> str:
        return hmac.new(self._secret, value.encode(), hashlib.sha256).hexdigest()

    # -- inbound -----------------------------------------------------------------------------------

    @staticmethod
    def archived_body(session: dict[str, Any], client_message_id: str, text: str, sent_at: datetime) -> bytes:
        return ArchivedChatMessage(
            session_id=session["id"], account=session["account"], visitor_id=session["visitor_id"],
            visitor_name=session["display_name"], client_message_id=client_message_id, text=text,
            sent_at=sent_at,
        ).model_dump_json().encode()

    def parse(self, body: bytes) -> Parsed:
        try:
            archived = ArchivedChatMessage.model_validate_json(body)
        except ValidationError as exc:
            raise PermanentError(f"not an archived chat message: {exc.error_count()} invalid field(s)") from exc
        return Parsed(messages=[InboundMessage(
            channel=self.channel, account=archived.account,
            external_id=external_id_of(archived.session_id, archived.client_message_id),
            author=Author(id=archived.visitor_id, display_name=archived.visitor_name),
            text=archived.text, sent_at=archived.sent_at, visibility="private",
        )])

    # -- outbound ----------------------------------------------------------------------------------


    async def send(self, client: httpx.AsyncClient, request: SendRequest) -> SendResult:
        # Nothing to call: once "sent", the reply is in what the widget fetches.
        return SendResult(external_id=f"chat:{request.message_id}")
