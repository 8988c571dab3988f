"""Every CRM crm-sync speaks to, as a real fake server plus the settings that point crm-sync at it,
so the mirror's behaviour is tested once per CRM."""

from __future__ import annotations

import contextlib
from collections.abc import AsyncIterator
from typing import Any, Protocol

from pydantic import SecretStr

from sportello_deploy.fakes.server import RecordedRequest
from tests.support.fake_crm import running_fake_crm
from tests.support.fake_hubspot import running_fake_hubspot
from tests.support.fake_salesforce import running_fake_salesforce

TOKEN = "crm-test-token-123456"
CLIENT_ID, CLIENT_SECRET = "sportello-test-client", "client-secret-abcdef"
KINDS = ("generic_rest", "hubspot", "salesforce")


class CrmFake(Protocol):
    url: str
    requests: list[RecordedRequest]

    def contact_by_ref(self, external_ref: str) -> dict[str, Any] | None: ...
    def history_of(self, external_ref: str) -> list[dict[str, Any]]: ...
    def forget_contact(self, contact_id: str) -> None: ...
    def fail_next(self, method: str, status: int | None = 503, *, times: int = 1,
                  delay: float = 0.0, headers: dict[str, str] | None = None,
                  body: Any = None) -> None: ...
    async def start(self, port: int = 0) -> None: ...
    async def stop(self) -> None: ...
    @property
    def port(self) -> int: ...


@contextlib.asynccontextmanager
async def running_crm(kind: str) -> AsyncIterator[tuple[CrmFake, dict[str, object]]]:
    """The fake CRM of ``kind`` and the crm-sync settings that use it."""
    settings: dict[str, object] = {"crm_kind": kind, "crm_token": SecretStr(TOKEN)}
    if kind == "hubspot":
        async with running_fake_hubspot(token=TOKEN) as fake:
            yield fake, {**settings, "crm_url": fake.url}
    elif kind == "salesforce":
        async with running_fake_salesforce(client_id=CLIENT_ID,
                                           client_secret=CLIENT_SECRET) as fake:
            yield fake, {**settings, "crm_url": fake.url, "crm_client_id": CLIENT_ID,
                         "crm_client_secret": SecretStr(CLIENT_SECRET)}
    else:
        async with running_fake_crm(token=TOKEN) as fake:
            yield fake, {**settings, "crm_url": fake.url}


def writes(fake: CrmFake) -> list[RecordedRequest]:
    """Requests that change something in the CRM (reads and token fetches excluded)."""
    return [r for r in fake.requests
            if r.method in ("POST", "PUT", "PATCH") and "/search" not in r.path
            and "/oauth2/" not in r.path]
