"""Salesforce REST API over :class:`CrmHttp`: one method per documented resource, plus the access token.

Salesforce's error dialect is decoded here, once. Error bodies are JSON arrays
``[{"message", "errorCode", "fields"?}]``; a refusal (a 4xx other than 404 and 429, which ``CrmHttp``
already classifies) raises :class:`SalesforceError` with the error codes, except ``403
REQUEST_LIMIT_EXCEEDED`` (the org's API allowance is spent), which is :class:`CrmUnavailable`.

The token is either static or obtained with the OAuth 2.0 client credentials flow on first use; a 401
(``INVALID_SESSION_ID``: expired or revoked) then fetches a new one and repeats the call once.
"""

from __future__ import annotations

import asyncio
from collections.abc import Mapping, Sequence
from typing import Any
from urllib.parse import quote

import httpx
from pydantic import SecretStr

from sportello.errors import PermanentError
from sportello.http.retry_after import retry_after_of
from sportello_crm_sync.adapters.base import CrmUnavailable
from sportello_crm_sync.adapters.http import BODY_EXCERPT, CrmHttp, refusal_body

TOKEN_PATH = "/services/oauth2/token"  # noqa: S105 - an endpoint path, not a credential


class SalesforceError(PermanentError):
    """Salesforce refused the request; ``codes`` are the ``errorCode`` of each error it listed."""

    def __init__(self, reason: str, *, status: int, errors: Sequence[Mapping[str, Any]] = ()) -> None:
        super().__init__(reason)
        self.status = status
        self.errors = tuple(errors)

    @property
    def codes(self) -> frozenset[str]:
        return frozenset(str(e.get("errorCode")) for e in self.errors if e.get("errorCode"))

    @property
    def fields(self) -> frozenset[str]:
        return frozenset(str(f) for e in self.errors for f in (e.get("fields") or ()))


class SalesforceClient:
    def __init__(self, base_url: str, token: SecretStr, timeout_seconds: float, *, client_id: str = "",
                 client_secret: SecretStr | None = None, api_version: str = "v60.0",
                 transport: httpx.AsyncBaseTransport | None = None) -> None:
        self._http = CrmHttp(base_url, timeout_seconds=timeout_seconds, transport=transport)
        self._http.client.event_hooks = {"request": [], "response": [_raise_refusal]}
        self._data = f"/services/data/{api_version if api_version.startswith('v') else 'v' + api_version}"
        self._session = _Session(self._http, token, client_id, client_secret or SecretStr(""))

    async def aclose(self) -> None:
        await self._http.aclose()

    async def upsert(self, sobject: str, field: str, value: str, body: Mapping[str, Any]) -> Any:
        """``PATCH /sobjects/{SObject}/{ExternalIdField}/{value}``: 201 created, 200 updated (API 46.0+)
        with ``{"id", "success", "errors", "created"}``; None for an older version's 204."""
        response = await self._call("PATCH", self._by_external_id(sobject, field, value), json=body)
        return None if response.status_code == 204 else _decoded(response)

    async def get_by_external_id(self, sobject: str, field: str, value: str, fields: Sequence[str]) -> Any:
        """``GET /sobjects/{SObject}/{ExternalIdField}/{value}?fields=...`` → the record."""
        response = await self._call("GET", self._by_external_id(sobject, field, value),
                                    params={"fields": ",".join(fields)})
        return _decoded(response)

    async def create(self, sobject: str, body: Mapping[str, Any]) -> Any:
        """``POST /sobjects/{SObject}`` → 201 ``{"id", "success", "errors"}``."""
        return _decoded(await self._call("POST", f"{self._data}/sobjects/{sobject}", json=body))

    async def query(self, soql: str) -> Any:
        """``GET /query?q=<SOQL>`` → ``{"totalSize", "done", "records": [...]}``."""
        return _decoded(await self._call("GET", f"{self._data}/query", params={"q": soql}))

    def _by_external_id(self, sobject: str, field: str, value: str) -> str:
        return f"{self._data}/sobjects/{sobject}/{field}/{quote(value, safe='')}"

    async def _call(self, method: str, path: str, **kwargs: Any) -> httpx.Response:
        token = await self._session.token()
        try:
            return await self._http.send(method, path, headers=_bearer(token), **kwargs)
        except SalesforceError as exc:
            if exc.status != 401 or not self._session.renewable:
                raise
        # The session expired or was revoked: one new token, one more try.
        token = await self._session.renew(stale=token)
        return await self._http.send(method, path, headers=_bearer(token), **kwargs)


class _Session:
    """The access token: a static one, or one from the client credentials flow, renewed on demand."""

    def __init__(self, http: CrmHttp, token: SecretStr, client_id: str, client_secret: SecretStr) -> None:
        self._http = http
        self._client_id = client_id
        self._client_secret = client_secret
        self.renewable = bool(client_id)
        self._token: str | None = None if self.renewable else token.get_secret_value()
        # One token request at a time: concurrent calls that all hit a 401 share one renewal.
        self._lock = asyncio.Lock()

    async def token(self) -> str:
        if self._token is None:
            async with self._lock:
                if self._token is None:
                    self._token = await self._fetch()
        return self._token

    async def renew(self, *, stale: str) -> str:
        async with self._lock:
            if self._token in (None, stale):
                self._token = await self._fetch()
        assert self._token is not None
        return self._token

    async def _fetch(self) -> str:
        """``POST /services/oauth2/token`` (form) → ``{"access_token", "instance_url", ...}``."""
        form = {"grant_type": "client_credentials", "client_id": self._client_id,
                "client_secret": self._client_secret.get_secret_value()}
        answer = await self._http.json("POST", TOKEN_PATH, data=form)
        token = answer.get("access_token") if isinstance(answer, dict) else None
        if not isinstance(token, str) or not token:
            # Never the answer itself: it would be the credential if the shape were only slightly off.
            raise PermanentError("Salesforce token endpoint answered without an access_token")
        return token


def _bearer(token: str) -> dict[str, str]:
    return {"Authorization": f"Bearer {token}"} if token else {}


def _decoded(response: httpx.Response) -> Any:
    try:
        return response.json()
    except ValueError as exc:
        request = response.request
        raise PermanentError(f"Salesforce {request.method} {request.url.path} answered "
                             f"{response.status_code} with no JSON: {response.text[:BODY_EXCERPT]}") from exc


async def _raise_refusal(response: httpx.Response) -> None:
    """Response hook: decode Salesforce's refusals before ``CrmHttp`` maps the status alone."""
    refused, payload = await refusal_body(response)
    if not refused:
        return  # success, or classified by CrmHttp (transient, not found)
    status = response.status_code
    errors = [e for e in payload if isinstance(e, dict)] if isinstance(payload, list) else []
    request = response.request
    # The path and Salesforce's own words only; the query string (a SOQL statement) stays out.
    reason = f"Salesforce {request.method} {request.url.path} answered {status}: {response.text[:BODY_EXCERPT]}"
    if status == 403 and any(e.get("errorCode") == "REQUEST_LIMIT_EXCEEDED" for e in errors):
        waited = retry_after_of(response, default=-1.0)
        raise CrmUnavailable(reason, retry_after=waited if waited >= 0 else None)
    raise SalesforceError(reason, status=status, errors=errors)
