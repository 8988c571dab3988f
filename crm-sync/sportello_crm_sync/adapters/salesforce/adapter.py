"""Salesforce (REST API): a customer is a Contact, a conversation a Case, each history entry a CaseComment.

Endpoints (base: the org's instance URL, ``https://MyDomainName.my.salesforce.com``; ``{v}`` is
``v60.0`` unless configured; ``Authorization: Bearer <access token>``):

``POST /services/oauth2/token``
    only with a ``client_id``: form ``grant_type=client_credentials&client_id=..&client_secret=..``
    → ``{"access_token", "instance_url", ...}``, on first use and again after a 401
    ``INVALID_SESSION_ID`` (the call is then repeated once).
``PATCH /services/data/{v}/sobjects/Contact/Sportello_Customer_Id__c/{external_ref}``
    upserts the contact (``LastName``, ``FirstName``, ``Email``, ``Phone``): 201 ``{"id", "success",
    "errors", "created": true}``, 200 with ``"created": false`` when it existed (API 46.0 and later);
``GET /services/data/{v}/sobjects/Contact/Sportello_Customer_Id__c/{external_ref}?fields=Id``
    finds its id when an older API version answered the update with 204 and no body.
``PATCH /services/data/{v}/sobjects/Case/Sportello_Conversation_Id__c/{conversation_id}``
    upserts the conversation's case (``ContactId``, ``Subject``, ``Origin``, ``Status``; see
    :func:`.mapper.case_status`). A 400 ``ENTITY_IS_DELETED`` or ``INVALID_CROSS_REFERENCE_KEY`` (or
    ``FIELD_INTEGRITY_EXCEPTION`` on ``ContactId``) means the contact is gone: :class:`ContactNotFound`.
``GET /services/data/{v}/query?q=SELECT Id, CommentBody FROM CaseComment WHERE ParentId = '<case>'
ORDER BY CreatedDate DESC LIMIT 200``
    finds a comment already made for the entry: CaseComment takes no custom fields, so every comment
    ends with the line ``[sportello:<entry key>]``;
``POST /services/data/{v}/sobjects/CaseComment``
    otherwise adds ``{"ParentId", "CommentBody", "IsPublished": false}``; its id is the answer.

Failures: 403 ``REQUEST_LIMIT_EXCEEDED`` (the org's API allowance), 429, 5xx (``SERVER_UNAVAILABLE``),
timeouts and refused connections are :class:`CrmUnavailable`; other refusals (the JSON array
``[{"message", "errorCode", "fields"}]``: ``INVALID_SESSION_ID``, ``REQUIRED_FIELD_MISSING``,
``INVALID_FIELD``...) are ``PermanentError``. A 404 on an upsert is documented as a missing object or
external ID field (a setup mistake), so it stays a ``PermanentError``, not a missing contact.

Org setup: Contact.``Sportello_Customer_Id__c`` and Case.``Sportello_Conversation_Id__c`` (text,
External ID, Unique); an integration user allowed to edit Contacts, Cases and CaseComments; for the
client credentials flow, a connected (or external client) app with that flow enabled and a run-as user.

Followed:
- https://developer.salesforce.com/docs/atlas.en-us.api_rest.meta/api_rest/dome_upsert.htm
- https://developer.salesforce.com/docs/atlas.en-us.api_rest.meta/api_rest/resources_sobject_upsert.htm
- https://developer.salesforce.com/docs/atlas.en-us.api_rest.meta/api_rest/dome_sobject_create.htm
- https://developer.salesforce.com/docs/atlas.en-us.api_rest.meta/api_rest/resources_query.htm
- https://developer.salesforce.com/docs/atlas.en-us.api_rest.meta/api_rest/errorcodes.htm
- https://developer.salesforce.com/docs/atlas.en-us.soql_sosl.meta/soql_sosl/sforce_api_calls_soql_select_quotedstringescapes.htm
- https://developer.salesforce.com/docs/atlas.en-us.object_reference.meta/object_reference/sforce_api_objects_case.htm
- https://developer.salesforce.com/docs/atlas.en-us.object_reference.meta/object_reference/sforce_api_objects_casecomment.htm
- https://help.salesforce.com/s/articleView?id=sf.remoteaccess_oauth_client_credentials_flow.htm
- https://developer.salesforce.com/docs/atlas.en-us.salesforce_app_limits_cheatsheet.meta/salesforce_app_limits_cheatsheet/salesforce_app_limits_platform_api.htm
"""

from __future__ import annotations

import httpx
from pydantic import SecretStr

from sportello_crm_sync.adapters.base import ContactNotFound, CrmAdapter, Customer, HistoryEntry
from sportello_crm_sync.adapters.salesforce import mapper
from sportello_crm_sync.adapters.salesforce.client import SalesforceClient, SalesforceError


class SalesforceCrm(CrmAdapter):
    name = "salesforce"

    def __init__(self, base_url: str, token: SecretStr, timeout_seconds: float, *, client_id: str = "",
                 client_secret: SecretStr = SecretStr(""), api_version: str = "v60.0",
                 transport: httpx.AsyncBaseTransport | None = None) -> None:
        self._api = SalesforceClient(base_url, token, timeout_seconds, client_id=client_id,
                                     client_secret=client_secret, api_version=api_version,
                                     transport=transport)

    async def aclose(self) -> None:
        await self._api.aclose()

    async def upsert_contact(self, customer: Customer) -> str:
        return await self._upsert("Contact", mapper.CONTACT_EXTERNAL_ID, customer.external_ref,
                                  mapper.contact_fields(customer))

    async def append_history(self, contact_id: str, entry: HistoryEntry) -> str:
        try:
            case_id = await self._upsert("Case", mapper.CASE_EXTERNAL_ID, str(entry.conversation_id),
                                         mapper.case_fields(contact_id, entry))
        except SalesforceError as exc:
            if mapper.names_missing_contact(exc.codes, exc.fields):
                raise ContactNotFound(f"Salesforce has no contact {contact_id}: {exc}") from exc
            raise
        existing = mapper.comment_with_marker(await self._api.query(mapper.comments_query(case_id)), entry.key)
        if existing is not None:
            return existing
        return mapper.saved_id(await self._api.create("CaseComment", mapper.comment_fields(case_id, entry)))

    async def _upsert(self, sobject: str, field: str, value: str, fields: dict[str, str]) -> str:
        answer = await self._api.upsert(sobject, field, value, fields)
        if answer is not None:
            return mapper.saved_id(answer)
        # Before API 46.0 an update answers 204 without a body: ask for the record's id.
        return mapper.record_id(await self._api.get_by_external_id(sobject, field, value, ("Id",)))
