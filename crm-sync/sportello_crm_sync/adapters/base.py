"""What crm-sync needs from any CRM: upsert a contact, append an entry to its history.

Every CRM is three layers: this interface, a vendor adapter (``hubspot.py``, ``salesforce.py``,
``generic_rest.py``) that maps Sportello's records onto the vendor's objects, and an API client over
:class:`sportello_crm_sync.adapters.http.CrmHttp`, which turns HTTP failures into the classes below.

Failures decide what the delivery queue does: :class:`CrmUnavailable` (down, throttled, slow) is
retried with backoff, honouring ``retry_after``, and counts against the CRM's circuit breaker;
:class:`~sportello.errors.PermanentError` (the CRM rejects the request) parks the job with the
reason for a person to look at; :class:`ContactNotFound` makes crm-sync upsert the contact again.
"""

from __future__ import annotations

import abc
import uuid
from dataclasses import dataclass
from datetime import datetime
from typing import Literal

from sportello.contracts import ConversationStatus
from sportello.errors import PermanentError, TransientError


@dataclass(frozen=True)
class Identity:
    """One of the customer's identifiers: ``channel`` is the platform (x, messenger, email, phone...)."""

    channel: str
    handle: str


@dataclass(frozen=True)
class Customer:
    # Sportello's customer id: the key the CRM upserts on, so an upsert repeated is harmless.
    external_ref: str
    display_name: str
    identities: tuple[Identity, ...]

    @property
    def email(self) -> str | None:
        return next((i.handle for i in self.identities if i.channel == "email"), None)

    @property
    def phone(self) -> str | None:
        return next((i.handle for i in self.identities
                     if i.channel in ("phone", "whatsapp", "sms")), None)


def split_name(display_name: str) -> tuple[str | None, str | None]:
    """``"Ada King Lovelace"`` → ``("Ada King", "Lovelace")``; a single word is the last name
    (CRMs require a last name, not a first one)."""
    words = display_name.split()
    if not words:
        return None, None
    if len(words) == 1:
        return None, words[0]
    return " ".join(words[:-1]), words[-1]


HistoryKind = Literal["message", "assignment", "status"]


@dataclass(frozen=True)
class HistoryEntry:
    """One thing that happened in a conversation, as the CRM's record of it (a note, a case comment).

    ``key`` is the Sportello event id: appending the same key twice must not add a second record.
    ``summary`` is one readable line ("Inbound x message", "Assigned to Ada (billing)", "Resolved");
    ``text`` is the message text for messages. ``conversation_status`` is the conversation's status
    after this entry, so a CRM that keeps a case per conversation can open or close it.
    """

    key: str
    kind: HistoryKind
    conversation_id: uuid.UUID
    occurred_at: datetime
    summary: str
    conversation_status: ConversationStatus = "open"
    channel: str | None = None
    direction: str | None = None
    text: str | None = None
    message_id: uuid.UUID | None = None
    subject: str | None = None


class CrmUnavailable(TransientError):
    """The CRM is down, throttling (429) or too slow: retry later, no sooner than ``retry_after``."""

    def __init__(self, reason: str, *, retry_after: float | None = None) -> None:
        super().__init__(reason)
        self.retry_after = retry_after


class ContactNotFound(PermanentError):
    """The CRM no longer knows a contact id we stored (e.g. deleted or merged there)."""


class CrmAdapter(abc.ABC):
    # Stored with every link and history record.
    name: str

    @abc.abstractmethod
    async def upsert_contact(self, customer: Customer) -> str:
        """Create or update the contact keyed by ``customer.external_ref``; returns its CRM id."""

    @abc.abstractmethod
    async def append_history(self, contact_id: str, entry: HistoryEntry) -> str:
        """Record ``entry`` on the contact; returns the CRM's id for the record.

        The same ``entry.key`` twice must not append twice (answer the first record's id).
        Raises :class:`ContactNotFound` when the CRM does not know ``contact_id``.
        """

    @abc.abstractmethod
    async def aclose(self) -> None:
        """Release the connection pool."""
