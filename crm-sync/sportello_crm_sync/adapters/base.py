"""What crm-sync needs from any CRM: upsert a contact, append an interaction to it.

Adapters translate failures into :mod:`sportello.errors` classes, which decide what the bus does:
``TransientError`` (CRM down, throttled, slow) is retried without dead-lettering, ``PermanentError``
(the CRM rejects the request) is dead-lettered with the reason.
"""

from __future__ import annotations

import abc
import uuid
from dataclasses import dataclass
from datetime import datetime

from sportello.errors import PermanentError


@dataclass(frozen=True)
class Identity:
    """Who the customer is on one channel."""

    channel: str
    handle: str


@dataclass(frozen=True)
class Customer:
    # Sportello's customer id: the key the CRM upserts on, so an upsert repeated is harmless.
    external_ref: str
    display_name: str
    identities: tuple[Identity, ...]


@dataclass(frozen=True)
class Interaction:
    channel: str
    direction: str
    text: str
    occurred_at: datetime
    conversation_id: uuid.UUID
    message_id: uuid.UUID


class ContactNotFound(PermanentError):
    """The CRM no longer knows a contact id we stored (e.g. deleted or merged there)."""


class CrmAdapter(abc.ABC):
    # Stored with every link and interaction, and reported in CrmSynced.crm.
    name: str

    @abc.abstractmethod
    async def upsert_contact(self, customer: Customer) -> str:
        """Create or update the contact keyed by ``customer.external_ref``; returns its CRM id."""

    @abc.abstractmethod
    async def append_interaction(
        self, contact_id: str, interaction: Interaction, idempotency_key: str
    ) -> str:
        """Append to the contact's record; the same key twice must not append twice.

        Raises :class:`ContactNotFound` when the CRM does not know ``contact_id``.
        """
