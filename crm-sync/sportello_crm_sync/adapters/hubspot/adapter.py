"""HubSpot (CRM API v3): a customer is a contact, each history entry a note on the contact's timeline.

Endpoints (base ``https://api.hubapi.com``, ``Authorization: Bearer <private app access token>``):

``POST /crm/v3/objects/contacts/search``
    ``filterGroups`` with one ``EQ`` filter on ``sportello_customer_id`` finds the contact.
``PATCH /crm/v3/objects/contacts/{contactId}``
    updates it (``firstname``, ``lastname``, ``email``, ``phone``) when found;
``POST /crm/v3/objects/contacts``
    creates it otherwise. A 409 (the unique property or the e-mail is taken, e.g. by a concurrent
    create) is answered by searching again; a PATCH's 404 (deleted since the search index saw it) by
    creating.
``POST /crm/v3/objects/notes/search``
    ``EQ`` on ``sportello_event_id`` finds a note already made for the entry (the same key twice);
``POST /crm/v3/objects/notes``
    otherwise creates it: ``hs_timestamp`` (UTC ISO 8601), ``hs_note_body`` (HTML, escaped),
    ``sportello_event_id``, ``sportello_conversation_id``, associated to the contact with
    ``HUBSPOT_DEFINED`` type 202 (note to contact). A 400 ``VALIDATION_ERROR`` about invalid
    associations, or a 404, means the contact is gone: :class:`ContactNotFound`.

Portal setup: contact properties ``sportello_customer_id`` (single-line text, unique values) and note
properties ``sportello_event_id`` and ``sportello_conversation_id``; a private app with the
``crm.objects.contacts.read``/``write`` scopes.

Failures: 429 (``errorType: RATE_LIMIT``; ``Retry-After`` when sent), 5xx, timeouts and refused
connections are :class:`CrmUnavailable`; other refusals (401 ``INVALID_AUTHENTICATION``, 400
``VALIDATION_ERROR`` such as a missing custom property) are ``PermanentError``.

Followed:
- https://developers.hubspot.com/docs/api/crm/contacts
- https://developers.hubspot.com/docs/api/crm/search
- https://developers.hubspot.com/docs/api/crm/notes
- https://developers.hubspot.com/docs/api/crm/associations (association type ids)
- https://developers.hubspot.com/docs/api/crm/properties (unique-value properties)
- https://developers.hubspot.com/docs/api/error-handling and
  https://developers.hubspot.com/docs/api/usage-details (error bodies, rate limits)
- https://developers.hubspot.com/docs/api/private-apps (authentication)

Search is eventually consistent: an object created a moment ago may not be found yet. For contacts the
unique property closes the gap (the create answers 409); for notes the window remains, so a retry
within seconds of a success can add a second note for one key.
"""

from __future__ import annotations

import httpx
from pydantic import SecretStr

from sportello.errors import PermanentError
from sportello_crm_sync.adapters.base import ContactNotFound, CrmAdapter, Customer, HistoryEntry
from sportello_crm_sync.adapters.http import NotFoundAnswer
from sportello_crm_sync.adapters.hubspot import mapper
from sportello_crm_sync.adapters.hubspot.client import HubSpotClient, HubSpotError

DEFAULT_BASE_URL = "https://api.hubapi.com"


class HubSpotCrm(CrmAdapter):
    name = "hubspot"

    def __init__(self, base_url: str, token: SecretStr, timeout_seconds: float, *,
                 transport: httpx.AsyncBaseTransport | None = None) -> None:
        self._api = HubSpotClient(base_url or DEFAULT_BASE_URL, token, timeout_seconds,
                                  transport=transport)

    async def aclose(self) -> None:
        await self._api.aclose()

    async def upsert_contact(self, customer: Customer) -> str:
        properties = {"properties": mapper.contact_properties(customer)}
        found = await self._find_contact(customer.external_ref)
        if found is not None:
            try:
                return mapper.id_of(await self._api.update("contacts", found, properties))
            except NotFoundAnswer:
                pass  # deleted after the search index saw it: create it again
        try:
            return mapper.id_of(await self._api.create("contacts", properties))
        except HubSpotError as exc:
            if exc.status != 409:
                raise
            conflict = exc
        # Someone else created it first (a concurrent upsert of the same customer): that one is ours.
        found = await self._find_contact(customer.external_ref)
        if found is None:
            # The conflict is on another contact's value (e.g. its e-mail): a person has to decide.
            raise PermanentError(f"HubSpot refused the contact and none carries {mapper.CUSTOMER_ID}: "
                                 f"{conflict}") from conflict
        return mapper.id_of(await self._api.update("contacts", found, properties))

    async def append_history(self, contact_id: str, entry: HistoryEntry) -> str:
        existing = mapper.first_id(await self._api.search("notes", mapper.search_by(mapper.EVENT_ID, entry.key)))
        if existing is not None:
            return existing
        note = {"properties": mapper.note_properties(entry),
                "associations": mapper.note_associations(contact_id)}
        try:
            return mapper.id_of(await self._api.create("notes", note))
        except NotFoundAnswer as exc:
            raise ContactNotFound(f"HubSpot has no contact {contact_id}: {exc}") from exc
        except HubSpotError as exc:
            if mapper.names_missing_object(exc.status, exc.category, exc.message, exc.context):
                raise ContactNotFound(f"HubSpot has no contact {contact_id}: {exc}") from exc
            raise

    async def _find_contact(self, external_ref: str) -> str | None:
        answer = await self._api.search("contacts", mapper.search_by(mapper.CUSTOMER_ID, external_ref))
        return mapper.first_id(answer)
