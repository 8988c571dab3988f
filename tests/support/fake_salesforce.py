"""A fake Salesforce org speaking the REST API for Contacts, Cases and CaseComments, over real HTTP.

Implemented as documented (REST API Developer Guide: upsert by external ID, sObject create, query,
status codes and error responses; the OAuth 2.0 client credentials flow), under
``/services/data/vNN.N``:

- ``PATCH /sobjects/{Contact|Case}/{ExternalIdField}/{value}``: 201 ``{"id", "success": true,
  "errors": [], "created": true}``; 200 with ``"created": false`` on an update from API 46.0, 204
  with no body before. ``GET`` on the same path returns the record (``?fields=``).
- ``POST /sobjects/{SObject}``: 201 ``{"id", "success": true, "errors": []}``.
- ``GET /query?q=``: only ``SELECT Id, CommentBody FROM CaseComment WHERE ParentId = '<id>' ORDER BY
  CreatedDate DESC LIMIT n``; anything else is 400 ``MALFORMED_QUERY``.
- ``POST /services/oauth2/token`` (form, ``grant_type=client_credentials``) when the fake has a client
  id: ``{"access_token", "instance_url", "id", "token_type", "issued_at", "signature"}``.

Errors are Salesforce's JSON arrays ``[{"message", "errorCode", "fields"?}]``: 401
``INVALID_SESSION_ID`` without a valid bearer token, 400 ``REQUIRED_FIELD_MISSING``,
``STRING_TOO_LONG``, ``INVALID_FIELD``, ``INVALID_OR_NULL_FOR_RESTRICTED_PICKLIST``, a reference to a
deleted contact ``ENTITY_IS_DELETED`` and to an unknown record ``INVALID_CROSS_REFERENCE_KEY``; 404
``NOT_FOUND`` for an unknown object, external ID field or record. CaseComment accepts no custom fields.

In a test::

    async with running_fake_salesforce(token="t") as org:
        ...  # org.url, org.contact_by_ref(ref), org.history_of(ref), org.case_of(conversation_id),
             # org.expire_sessions(), org.fail_next("PATCH", 503)
"""

from __future__ import annotations

import contextlib
import itertools
import re
import secrets
from collections.abc import AsyncIterator, Iterator
from datetime import UTC, datetime
from typing import Any
from urllib.parse import parse_qs

from starlette.requests import Request
from starlette.responses import JSONResponse, Response
from starlette.routing import Route

from sportello_deploy.fakes.server import FakeServer

ORG_ID = "00DFK0000000001AAA"
_MARKER = re.compile(r"\[sportello:([^\]]+)\]\s*$")
_VERSION = re.compile(r"^v(\d+)\.(\d)$")
_COMMENTS_QUERY = re.compile(
    r"^\s*SELECT\s+Id\s*,\s*CommentBody\s+FROM\s+CaseComment\s+WHERE\s+ParentId\s*=\s*'((?:[^'\\]|\\.)*)'"
    r"\s+ORDER\s+BY\s+CreatedDate\s+DESC\s+LIMIT\s+(\d+)\s*$",
    re.IGNORECASE,
)


class _Field:
    def __init__(self, label: str, length: int | None = None, *, required: bool = False,
                 references: str | None = None, picklist: tuple[str, ...] = (), boolean: bool = False) -> None:
        self.label, self.length, self.required = label, length, required
        self.references, self.picklist, self.boolean = references, picklist, boolean


# The part of the org's schema the adapter touches: standard fields plus Sportello's external ids.
_SCHEMA: dict[str, dict[str, _Field]] = {
    "Contact": {"FirstName": _Field("First Name", 40), "LastName": _Field("Last Name", 80, required=True),
                "Email": _Field("Email", 80), "Phone": _Field("Business Phone", 40),
                "Sportello_Customer_Id__c": _Field("Sportello Customer Id", 255)},
    "Case": {"ContactId": _Field("Contact ID", references="Contact"), "Subject": _Field("Subject", 255),
             "Origin": _Field("Case Origin", 40), "Description": _Field("Description", 32_000),
             "Status": _Field("Status", picklist=("New", "Working", "Escalated", "Closed")),
             "Sportello_Conversation_Id__c": _Field("Sportello Conversation Id", 255)},
    "CaseComment": {"ParentId": _Field("Parent ID", references="Case", required=True),
                    "CommentBody": _Field("Body", 4_000), "IsPublished": _Field("Published", boolean=True)},
}
_EXTERNAL_IDS = {"Contact": "Sportello_Customer_Id__c", "Case": "Sportello_Conversation_Id__c"}
_PREFIXES = {"Contact": "003", "Case": "500", "CaseComment": "00a"}
# What Salesforce fills in on create when the request leaves a field out (Status: the picklist default).
_DEFAULTS: dict[str, dict[str, Any]] = {"Case": {"Status": "New"}, "CaseComment": {"IsPublished": False}}
_NOT_FOUND = "The requested resource does not exist"


class FakeSalesforce(FakeServer):
    name = "fake-salesforce"

    def __init__(self, token: str | None = None, *, client_id: str | None = None,
                 client_secret: str | None = None) -> None:
        super().__init__()
        self.client_id, self.client_secret = client_id, client_secret
        self.sessions: set[str] = {token} if token else set()
        self.records: dict[str, dict[str, dict[str, Any]]] = {name: {} for name in _SCHEMA}
        self.recycle_bin: dict[str, dict[str, Any]] = {}
        self._ids: Iterator[int] = itertools.count(1)

    # -- inspection -------------------------------------------------------------------------------

    def contact_by_ref(self, external_ref: str) -> dict[str, Any] | None:
        """The Contact record (its fields by API name, and ``id`` = ``Id``)."""
        record = self._by_external_id("Contact", "Sportello_Customer_Id__c", external_ref)
        return {**record, "id": record["Id"]} if record else None

    def case_of(self, conversation_id: str) -> dict[str, Any] | None:
        return self._by_external_id("Case", "Sportello_Conversation_Id__c", conversation_id)

    def history_of(self, external_ref: str) -> list[dict[str, Any]]:
        """The comments on the contact's cases, oldest first: ``id``, ``key`` (from the marker), ``body``."""
        contact = self.contact_by_ref(external_ref)
        if contact is None:
            return []
        cases = {c["Id"] for c in self.records["Case"].values() if c.get("ContactId") == contact["Id"]}
        history = []
        for comment in self.records["CaseComment"].values():
            if comment["ParentId"] in cases:
                found = _MARKER.search(comment.get("CommentBody") or "")
                history.append({"id": comment["Id"], "key": found.group(1) if found else None,
                                "body": comment.get("CommentBody"), "case_id": comment["ParentId"],
                                "comment": comment})
        return history

    def forget_contact(self, contact_id: str) -> None:
        """As if the contact were deleted in Salesforce (it goes to the Recycle Bin)."""
        record = self.records["Contact"].pop(contact_id, None)
        if record is not None:
            self.recycle_bin[contact_id] = record

    def expire_sessions(self) -> None:
        """Every access token stops working (expired or revoked), as after a session timeout."""
        self.sessions.clear()

    # -- HTTP -------------------------------------------------------------------------------------

    def routes(self) -> list[Route]:
        data = "/services/data/{version}"
        return [
            Route("/services/oauth2/token", self._token, methods=["POST"]),
            Route(data + "/sobjects/{sobject}/{field}/{value:path}", self._upsert, methods=["PATCH"]),
            Route(data + "/sobjects/{sobject}/{field}/{value:path}", self._get_by_external_id, methods=["GET"]),
            Route(data + "/sobjects/{sobject}", self._create, methods=["POST"]),
            Route(data + "/query", self._query, methods=["GET"]),
        ]

    async def _token(self, request: Request) -> Response:
        _, fault = await self.intercept(request)
        if fault is not None:
            return fault
        form = {k: v[0] for k, v in parse_qs((await request.body()).decode()).items()}
        if form.get("grant_type") != "client_credentials":
            return JSONResponse({"error": "unsupported_grant_type", "error_description": "grant type not supported"},
                                status_code=400)
        if self.client_id is None or form.get("client_id") != self.client_id:
            return JSONResponse({"error": "invalid_client_id", "error_description": "client identifier invalid"},
                                status_code=400)
        if form.get("client_secret") != self.client_secret:
            return JSONResponse({"error": "invalid_client", "error_description": "invalid client credentials"},
                                status_code=400)
        token = f"{ORG_ID[:15]}!{secrets.token_urlsafe(32)}"
        self.sessions.add(token)
        return JSONResponse({"access_token": token, "signature": secrets.token_urlsafe(24),
                             "scope": "api", "instance_url": self.url,
                             "id": f"{self.url}/id/{ORG_ID}/005FK0000000001AAA", "token_type": "Bearer",
                             "issued_at": str(int(datetime.now(UTC).timestamp() * 1000))})

    async def _admit(self, request: Request) -> tuple[Any, int, Response | None]:
        """Record the request; answer for it when a fault is queued, the session is invalid or the
        version unknown. Returns (body, API major version, answer)."""
        payload, fault = await self.intercept(request)
        if fault is not None:
            return payload, 0, fault
        authorization = request.headers.get("authorization", "")
        if not authorization.startswith("Bearer ") or authorization[len("Bearer "):] not in self.sessions:
            return payload, 0, _errors(401, "INVALID_SESSION_ID", "Session expired or invalid")
        version = _VERSION.match(request.path_params["version"])
        if version is None:
            return payload, 0, _errors(404, "NOT_FOUND", _NOT_FOUND)
        return payload, int(version.group(1)), None

    async def _upsert(self, request: Request) -> Response:
        payload, version, answer = await self._admit(request)
        if answer is not None:
            return answer
        sobject, field, value = (request.path_params[k] for k in ("sobject", "field", "value"))
        problem = self._unknown_external_id(sobject, field)
        if problem is not None:
            return problem
        if not isinstance(payload, dict):
            return _errors(400, "JSON_PARSER_ERROR", "The request body must be a JSON object")
        existing = self._by_external_id(sobject, field, value)
        problem = self._invalid(sobject, payload, creating=existing is None)
        if problem is not None:
            return problem
        if existing is not None:
            existing.update(payload)
            existing["LastModifiedDate"] = _now()
            if version < 46:
                return Response(status_code=204)
            return JSONResponse({"id": existing["Id"], "success": True, "errors": [], "created": False})
        record = self._insert(sobject, {**payload, field: value})
        return JSONResponse({"id": record["Id"], "success": True, "errors": [], "created": True}, status_code=201)

    async def _get_by_external_id(self, request: Request) -> Response:
        _, _, answer = await self._admit(request)
        if answer is not None:
            return answer
        sobject, field, value = (request.path_params[k] for k in ("sobject", "field", "value"))
        problem = self._unknown_external_id(sobject, field)
        if problem is not None:
            return problem
        record = self._by_external_id(sobject, field, value)
        if record is None:
            return _errors(404, "NOT_FOUND", _NOT_FOUND)
        wanted = [f.strip() for f in request.query_params.get("fields", "").split(",") if f.strip()]
        shown = {k: record.get(k) for k in wanted} if wanted else record
        return JSONResponse({"attributes": {"type": sobject, "url": self._url_of(request, sobject, record["Id"])},
                             **shown})

    async def _create(self, request: Request) -> Response:
        payload, _, answer = await self._admit(request)
        if answer is not None:
            return answer
        sobject = request.path_params["sobject"]
        if sobject not in _SCHEMA:
            return _errors(404, "NOT_FOUND", _NOT_FOUND)
        if not isinstance(payload, dict):
            return _errors(400, "JSON_PARSER_ERROR", "The request body must be a JSON object")
        problem = self._invalid(sobject, payload, creating=True)
        if problem is not None:
            return problem
        record = self._insert(sobject, payload)
        return JSONResponse({"id": record["Id"], "success": True, "errors": []}, status_code=201)

    async def _query(self, request: Request) -> Response:
        _, _, answer = await self._admit(request)
        if answer is not None:
            return answer
        parsed = _COMMENTS_QUERY.match(request.query_params.get("q", ""))
        if parsed is None:
            return _errors(400, "MALFORMED_QUERY", "unexpected token: this fake answers only the CaseComment "
                                                   "query of the Salesforce adapter")
        parent_id = re.sub(r"\\(.)", r"\1", parsed.group(1))
        limit = int(parsed.group(2))
        comments = [c for c in self.records["CaseComment"].values() if c["ParentId"] == parent_id]
        newest_first = list(reversed(comments))[:limit]  # insertion order is CreatedDate order
        return JSONResponse({"totalSize": len(newest_first), "done": True, "records": [
            {"attributes": {"type": "CaseComment", "url": self._url_of(request, "CaseComment", c["Id"])},
             "Id": c["Id"], "CommentBody": c.get("CommentBody")} for c in newest_first]})

    # -- records ----------------------------------------------------------------------------------

    def _by_external_id(self, sobject: str, field: str, value: str) -> dict[str, Any] | None:
        return next((r for r in self.records[sobject].values() if r.get(field) == value), None)

    def _insert(self, sobject: str, fields: dict[str, Any]) -> dict[str, Any]:
        record_id = f"{_PREFIXES[sobject]}FK{next(self._ids):010d}AAA"
        now = _now()
        record = {**_DEFAULTS.get(sobject, {}), **fields, "Id": record_id, "CreatedDate": now,
                  "LastModifiedDate": now}
        self.records[sobject][record_id] = record
        return record

    def _unknown_external_id(self, sobject: str, field: str) -> Response | None:
        if sobject not in _SCHEMA:
            return _errors(404, "NOT_FOUND", _NOT_FOUND)
        if _EXTERNAL_IDS.get(sobject) != field:
            return _errors(404, "NOT_FOUND", f"Provided external ID field does not exist or is not accessible: {field}")
        return None

    def _invalid(self, sobject: str, fields: dict[str, Any], *, creating: bool) -> Response | None:
        schema = _SCHEMA[sobject]
        for name, value in fields.items():
            spec = schema.get(name)
            if spec is None:
                return _errors(400, "INVALID_FIELD", f"No such column '{name}' on sobject of type {sobject}")
            if spec.boolean:
                if not isinstance(value, bool):
                    return _errors(400, "JSON_PARSER_ERROR", f"Cannot deserialize instance of boolean from {value!r}")
                continue
            if value is not None and not isinstance(value, str):
                return _errors(400, "JSON_PARSER_ERROR", f"Cannot deserialize instance of string from {value!r}")
            if spec.length is not None and value is not None and len(value) > spec.length:
                return _errors(400, "STRING_TOO_LONG", f"{spec.label}: data value too large: {value[:20]}... "
                                                       f"(max length={spec.length})", fields=[name])
            if spec.picklist and value not in spec.picklist:
                return _errors(400, "INVALID_OR_NULL_FOR_RESTRICTED_PICKLIST",
                               f"{spec.label}: bad value for restricted picklist field: {value}", fields=[name])
            if spec.references and value is not None:
                if value in self.recycle_bin:
                    return _errors(400, "ENTITY_IS_DELETED", "entity is deleted", fields=[])
                if value not in self.records[spec.references]:
                    return _errors(400, "INVALID_CROSS_REFERENCE_KEY", "invalid cross reference id", fields=[])
        missing = [n for n, s in schema.items() if s.required and creating and fields.get(n) in (None, "")]
        if missing:
            return _errors(400, "REQUIRED_FIELD_MISSING", f"Required fields are missing: [{', '.join(missing)}]",
                           fields=missing)
        return None

    def _url_of(self, request: Request, sobject: str, record_id: str) -> str:
        return f"/services/data/{request.path_params['version']}/sobjects/{sobject}/{record_id}"


@contextlib.asynccontextmanager
async def running_fake_salesforce(token: str | None = None, *, client_id: str | None = None,
                                  client_secret: str | None = None) -> AsyncIterator[FakeSalesforce]:
    org = FakeSalesforce(token=token, client_id=client_id, client_secret=client_secret)
    await org.start()
    try:
        yield org
    finally:
        await org.stop()


def _errors(status: int, code: str, message: str, **extra: Any) -> JSONResponse:
    return JSONResponse([{"message": message, "errorCode": code, **extra}], status_code=status)


def _now() -> str:
    now = datetime.now(UTC)  # Salesforce's dateTime form: 2026-11-24T09:30:00.000+0000
    return now.strftime("%Y-%m-%dT%H:%M:%S.") + f"{now.microsecond // 1000:03d}+0000"
