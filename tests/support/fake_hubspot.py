"""A fake HubSpot portal speaking the CRM API v3 for contacts and notes, over real HTTP.

Implemented as documented (https://developers.hubspot.com/docs/api/crm/contacts, .../crm/search,
.../crm/notes, .../error-handling): ``POST /crm/v3/objects/{contacts|notes}`` (201), ``PATCH
/crm/v3/objects/{type}/{id}`` (200, 404 for an unknown id), ``POST /crm/v3/objects/{type}/search``
(``filterGroups`` ORed, filters ANDed; ``EQ``, ``NEQ``, ``HAS_PROPERTY``, ``NOT_HAS_PROPERTY``;
``limit``/``after`` paging). Errors have HubSpot's shape ``{"status": "error", "message",
"correlationId", "category", ...}``: 401 ``INVALID_AUTHENTICATION`` without the private app token,
400 ``VALIDATION_ERROR`` for an unknown property, a missing ``hs_timestamp`` or an association to a
missing contact, 409 ``CONFLICT`` when a create or update would repeat a unique value (``email``, and
the unique custom property ``sportello_customer_id``). Unlike HubSpot, search sees writes at once.

In a test::

    async with running_fake_hubspot(token="t") as hubspot:
        ...  # hubspot.url, hubspot.contact_by_ref(ref), hubspot.history_of(ref), hubspot.fail_next("POST", 429)
"""

from __future__ import annotations

import contextlib
import itertools
import uuid
from collections.abc import AsyncIterator, Iterator
from datetime import UTC, datetime
from typing import Any

from starlette.requests import Request
from starlette.responses import JSONResponse, Response
from starlette.routing import Route

from sportello_deploy.fakes.server import FakeServer

CUSTOMER_ID, EVENT_ID, CONVERSATION_ID = "sportello_customer_id", "sportello_event_id", "sportello_conversation_id"
NOTE_TO_CONTACT = 202
NOTE_BODY_LIMIT = 65_536
SEARCH_LIMIT = 200

# The portal's property definitions: HubSpot's defaults that the adapter uses, plus the custom ones.
_STANDARD = {
    "contacts": {"firstname", "lastname", "email", "phone", "hs_object_id", "createdate", "lastmodifieddate"},
    "notes": {"hs_timestamp", "hs_note_body", "hubspot_owner_id", "hs_object_id", "hs_createdate",
              "hs_lastmodifieddate"},
}
_CUSTOM = {"contacts": {CUSTOMER_ID}, "notes": {EVENT_ID, CONVERSATION_ID}}
_UNIQUE = {"contacts": ("email", CUSTOMER_ID), "notes": ()}
_READ_ONLY = {"hs_object_id", "createdate", "lastmodifieddate", "hs_createdate", "hs_lastmodifieddate"}
_DEFAULT_SEARCH_PROPERTIES = {"contacts": ["firstname", "lastname", "email"], "notes": []}
_OPERATORS = {"EQ", "NEQ", "HAS_PROPERTY", "NOT_HAS_PROPERTY"}


class FakeHubSpot(FakeServer):
    name = "fake-hubspot"

    def __init__(self, token: str | None = None, *, custom_properties: bool = True) -> None:
        super().__init__()
        self.token = token
        # False: a portal where nobody created Sportello's custom properties (every write is refused).
        self.properties = {kind: _STANDARD[kind] | (_CUSTOM[kind] if custom_properties else set())
                           for kind in _STANDARD}
        self.objects: dict[str, dict[str, dict[str, Any]]] = {"contacts": {}, "notes": {}}
        self._ids: Iterator[int] = itertools.count(1001)

    # -- inspection -------------------------------------------------------------------------------

    def contact_by_ref(self, external_ref: str) -> dict[str, Any] | None:
        return next((c for c in self.objects["contacts"].values()
                     if c["properties"].get(CUSTOMER_ID) == external_ref), None)

    def history_of(self, external_ref: str) -> list[dict[str, Any]]:
        """The notes associated to the contact, oldest first: ``id``, ``key``, ``body``, the note."""
        contact = self.contact_by_ref(external_ref)
        if contact is None:
            return []
        return [{"id": note["id"], "key": note["properties"].get(EVENT_ID),
                 "body": note["properties"].get("hs_note_body"), "note": note}
                for note in self.objects["notes"].values() if contact["id"] in note["contact_ids"]]

    def forget_contact(self, contact_id: str) -> None:
        """As if the contact were deleted in HubSpot: gone, and its notes no longer associated to it."""
        self.objects["contacts"].pop(contact_id, None)
        for note in self.objects["notes"].values():
            note["contact_ids"] = [c for c in note["contact_ids"] if c != contact_id]

    # -- HTTP -------------------------------------------------------------------------------------

    def routes(self) -> list[Route]:
        return [
            Route("/crm/v3/objects/{object_type}/search", self._search, methods=["POST"]),
            Route("/crm/v3/objects/{object_type}", self._create, methods=["POST"]),
            Route("/crm/v3/objects/{object_type}/{object_id}", self._update, methods=["PATCH"]),
        ]

    async def _admit(self, request: Request) -> tuple[Any, str, Response | None]:
        """Record the request; answer for it when a fault is queued, it is unauthorised or malformed."""
        payload, fault = await self.intercept(request)
        if fault is not None:
            return payload, "", fault
        if self.token is not None and request.headers.get("authorization") != f"Bearer {self.token}":
            return payload, "", _error(401, "INVALID_AUTHENTICATION", (
                "Authentication credentials not found. This API supports OAuth 2.0 authentication and you "
                "can find more details at https://developers.hubspot.com/docs/methods/auth/oauth-overview"))
        object_type = request.path_params["object_type"]
        if object_type not in self.objects:
            return payload, "", _error(400, "VALIDATION_ERROR", f"Unable to infer object type from: {object_type}")
        if not isinstance(payload, dict):
            return payload, "", _error(400, "VALIDATION_ERROR",
                                       "Invalid input JSON on line 1, column 1: a request body was expected")
        return payload, object_type, None

    async def _search(self, request: Request) -> Response:
        payload, object_type, answer = await self._admit(request)
        if answer is not None:
            return answer
        groups = payload.get("filterGroups", [])
        problem = self._invalid_filters(object_type, groups)
        if problem:
            return _error(400, "VALIDATION_ERROR", problem)
        limit = payload.get("limit", 10)
        if not isinstance(limit, int) or not 0 < limit <= SEARCH_LIMIT:
            return _error(400, "VALIDATION_ERROR", f"limit must be between 1 and {SEARCH_LIMIT}")
        wanted = payload.get("properties") or _DEFAULT_SEARCH_PROPERTIES[object_type]
        matches = [o for o in self.objects[object_type].values()
                   if not groups or any(_matches(o["properties"], g["filters"]) for g in groups)]
        start = int(payload.get("after") or 0)
        page = matches[start:start + limit]
        answer_body: dict[str, Any] = {"total": len(matches),
                                       "results": [_public(o, wanted, object_type) for o in page]}
        if start + limit < len(matches):
            answer_body["paging"] = {"next": {"after": str(start + limit)}}
        return JSONResponse(answer_body)

    async def _create(self, request: Request) -> Response:
        payload, object_type, answer = await self._admit(request)
        if answer is not None:
            return answer
        properties = payload.get("properties")
        problem = self._invalid_properties(object_type, properties)
        if problem is not None:
            return problem
        assert isinstance(properties, dict)
        contact_ids: list[str] = []
        if object_type == "notes":
            if not properties.get("hs_timestamp"):
                return _invalid_values([("hs_timestamp", "REQUIRED_FIELD", "hs_timestamp is required")])
            contact_ids, problem = self._associated_contacts(payload.get("associations", []))
            if problem is not None:
                return problem
        conflict = self._conflict(object_type, properties, None)
        if conflict is not None:
            return conflict
        object_id, now = str(next(self._ids)), _now()
        created = "createdate" if object_type == "contacts" else "hs_createdate"
        modified = "lastmodifieddate" if object_type == "contacts" else "hs_lastmodifieddate"
        stored = {"id": object_id, "createdAt": now, "updatedAt": now, "archived": False,
                  "properties": {**{k: str(v) for k, v in properties.items() if v is not None},
                                 "hs_object_id": object_id, created: now, modified: now},
                  "contact_ids": contact_ids}
        self.objects[object_type][object_id] = stored
        return JSONResponse(_public(stored, None, object_type), status_code=201)

    async def _update(self, request: Request) -> Response:
        payload, object_type, answer = await self._admit(request)
        if answer is not None:
            return answer
        stored = self.objects[object_type].get(request.path_params["object_id"])
        if stored is None:
            return _error(404, "OBJECT_NOT_FOUND", "resource not found")
        properties = payload.get("properties")
        problem = self._invalid_properties(object_type, properties)
        if problem is not None:
            return problem
        assert isinstance(properties, dict)
        conflict = self._conflict(object_type, properties, stored["id"])
        if conflict is not None:
            return conflict
        now = _now()
        for name, value in properties.items():
            if value in (None, ""):
                stored["properties"].pop(name, None)  # an empty value clears the property
            else:
                stored["properties"][name] = str(value)
        stored["updatedAt"] = now
        stored["properties"]["lastmodifieddate" if object_type == "contacts" else "hs_lastmodifieddate"] = now
        return JSONResponse(_public(stored, None, object_type))

    # -- validation -------------------------------------------------------------------------------

    def _invalid_properties(self, object_type: str, properties: Any) -> Response | None:
        if not isinstance(properties, dict):
            return _error(400, "VALIDATION_ERROR", "Invalid input JSON: 'properties' must be an object")
        problems = []
        for name, value in properties.items():
            if name not in self.properties[object_type]:
                problems.append((name, "PROPERTY_DOESNT_EXIST", f'Property "{name}" does not exist'))
            elif name in _READ_ONLY:
                problems.append((name, "READ_ONLY_VALUE", f"{name} is a read only property; its value cannot be set."))
            elif value is not None and not isinstance(value, str | int | float | bool):
                problems.append((name, "INVALID_OPTION", f"{value!r} is not a valid value for {name}"))
        if object_type == "notes" and len(str(properties.get("hs_note_body", ""))) > NOTE_BODY_LIMIT:
            problems.append(("hs_note_body", "INVALID_LENGTH", f"hs_note_body exceeds {NOTE_BODY_LIMIT} characters"))
        if "hs_timestamp" in properties and not _is_timestamp(properties["hs_timestamp"]):
            problems.append(("hs_timestamp", "INVALID_DATETIME",
                             f"{properties['hs_timestamp']!r} is not epoch milliseconds nor ISO 8601"))
        return _invalid_values(problems) if problems else None

    def _invalid_filters(self, object_type: str, groups: Any) -> str | None:
        if not isinstance(groups, list) or len(groups) > 5:
            return "filterGroups must be a list of at most 5 groups"
        for group in groups:
            filters = group.get("filters") if isinstance(group, dict) else None
            if not isinstance(filters, list) or len(filters) > 6:
                return "each filter group needs 'filters', at most 6"
            for f in filters:
                if not isinstance(f, dict) or f.get("operator") not in _OPERATORS:
                    return f"unsupported filter {f!r} (this fake knows {sorted(_OPERATORS)})"
                if f.get("propertyName") not in self.properties[object_type]:
                    return f"Property '{f.get('propertyName')}' does not exist on {object_type}"
                if f["operator"] in ("EQ", "NEQ") and not isinstance(f.get("value"), str | int | float | bool):
                    return f"operator {f['operator']} needs a value"
        return None

    def _associated_contacts(self, associations: Any) -> tuple[list[str], Response | None]:
        if not isinstance(associations, list):
            return [], _error(400, "VALIDATION_ERROR", "associations must be a list")
        ids: list[str] = []
        for association in associations:
            target = str(((association or {}).get("to") or {}).get("id", ""))
            types = (association or {}).get("types") or []
            if not types or any(t != {"associationCategory": "HUBSPOT_DEFINED",
                                      "associationTypeId": NOTE_TO_CONTACT} for t in types):
                return [], _error(400, "VALIDATION_ERROR", f"invalid association types {types!r} for notes")
            if target not in self.objects["contacts"]:
                return [], _error(400, "VALIDATION_ERROR", "One or more associations are invalid",
                                  context={"INVALID_OBJECT_IDS": [f"CONTACT={target} is not valid"]})
            ids.append(target)
        return ids, None

    def _conflict(self, object_type: str, properties: dict[str, Any], own_id: str | None) -> Response | None:
        for name in _UNIQUE[object_type]:
            value = properties.get(name)
            if value in (None, ""):
                continue
            holder = next((o for o in self.objects[object_type].values() if o["id"] != own_id and
                           str(o["properties"].get(name, "")).lower() == str(value).lower()), None)
            if holder is not None:
                message = ("Contact already exists. Existing ID: " if name == "email" else
                           f"A contact with the unique value for {name} already exists. Existing ID: ")
                return _error(409, "CONFLICT", message + holder["id"])
        return None


@contextlib.asynccontextmanager
async def running_fake_hubspot(token: str | None = None, *, custom_properties: bool = True
                               ) -> AsyncIterator[FakeHubSpot]:
    hubspot = FakeHubSpot(token=token, custom_properties=custom_properties)
    await hubspot.start()
    try:
        yield hubspot
    finally:
        await hubspot.stop()


def _matches(properties: dict[str, str], filters: list[dict[str, Any]]) -> bool:
    def one(f: dict[str, Any]) -> bool:
        have = properties.get(f["propertyName"])
        if f["operator"] == "HAS_PROPERTY":
            return have not in (None, "")
        if f["operator"] == "NOT_HAS_PROPERTY":
            return have in (None, "")
        equal = have is not None and have == str(f["value"])
        return equal if f["operator"] == "EQ" else not equal

    return all(one(f) for f in filters)


def _public(stored: dict[str, Any], wanted: list[str] | None, object_type: str) -> dict[str, Any]:
    """An object as HubSpot shows it: the asked-for properties (all on writes) and its system ones."""
    properties = stored["properties"]
    if wanted is not None:
        system = ("hs_object_id", "createdate", "lastmodifieddate") if object_type == "contacts" else (
            "hs_object_id", "hs_createdate", "hs_lastmodifieddate")
        properties = {k: properties.get(k) for k in (*wanted, *system)}
    return {"id": stored["id"], "properties": properties, "createdAt": stored["createdAt"],
            "updatedAt": stored["updatedAt"], "archived": False}


def _error(status: int, category: str, message: str, **extra: Any) -> JSONResponse:
    return JSONResponse({"status": "error", "message": message, "correlationId": str(uuid.uuid4()),
                         "category": category, **extra}, status_code=status)


def _invalid_values(problems: list[tuple[str, str, str]]) -> JSONResponse:
    details = ", ".join(f'{{"isValid":false,"message":"{m}","error":"{e}","name":"{n}"}}' for n, e, m in problems)
    return _error(400, "VALIDATION_ERROR", f"Property values were not valid: [{details}]")


def _is_timestamp(value: Any) -> bool:
    text = str(value)
    if text.isdigit():
        return True
    try:
        datetime.fromisoformat(text.replace("Z", "+00:00"))
    except ValueError:
        return False
    return True


def _now() -> str:
    return datetime.now(UTC).isoformat(timespec="milliseconds").replace("+00:00", "Z")
