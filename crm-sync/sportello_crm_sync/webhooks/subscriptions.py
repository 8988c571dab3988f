"""Subscription rules: URLs we agree to call, secrets, rotation."""

from __future__ import annotations

import base64
import ipaddress
import secrets
import uuid
from datetime import datetime, timedelta
from typing import Any
from urllib.parse import urlsplit

from sportello.db import Tx
from sportello.http.problems import InvalidRequest, NotFound
from sportello_crm_sync.repository import JobQueries, WebhookQueries


def new_secret() -> str:
    """A Standard Webhooks secret: ``whsec_`` and 32 random bytes in base64."""
    return "whsec_" + base64.b64encode(secrets.token_bytes(32)).decode()


def check_url(url: str, *, allow_insecure: bool) -> str:
    """https only, and never a literal private, loopback or link-local address, unless allowed.

    Host names are not resolved here (their address can change after the check anyway); ops who
    need that guarantee put an egress proxy in front of crm-sync.
    """
    parts = urlsplit(url)
    if allow_insecure:
        return url
    if parts.scheme != "https":
        raise InvalidRequest("A webhook URL must use https.", url=url)
    # "localhost." is localhost: a fully qualified name's trailing dot changes nothing.
    host = (parts.hostname or "").strip("[]").rstrip(".").lower()
    try:
        address = ipaddress.ip_address(host)
    except ValueError:
        if host == "localhost" or host.endswith(".localhost") or host.endswith(".internal"):
            raise InvalidRequest("A webhook URL must not point at this network.", url=url) from None
        return url
    if not address.is_global:
        raise InvalidRequest("A webhook URL must not point at a private address.", url=url)
    return url


async def create(tx: Tx, *, url: str, event_types: list[str], description: str | None,
                 allow_insecure: bool) -> dict[str, Any]:
    secret = new_secret()
    created = await WebhookQueries(tx.session).create(
        url=check_url(url, allow_insecure=allow_insecure), event_types=event_types,
        description=description, secret=secret)
    return {**created, "secret": secret}


async def change(tx: Tx, subscription_id: uuid.UUID, values: dict[str, Any], *,
                 allow_insecure: bool) -> dict[str, Any]:
    if "url" in values:
        values["url"] = check_url(values["url"], allow_insecure=allow_insecure)
    if values.get("status") == "active":
        values["disabled_reason"] = None
    queries = WebhookQueries(tx.session)
    before = await queries.get(subscription_id)
    if before is None:
        raise NotFound(f"No webhook subscription {subscription_id}.")
    changed = await queries.change(subscription_id, **values) if values else before
    assert changed is not None
    if changed["status"] != before["status"]:
        # Paused lanes hold still (no row for the dispatcher to look at); resumed ones go on.
        await JobQueries(tx.session).park_subscription(subscription_id,
                                                       paused=changed["status"] == "paused")
    return changed


async def rotate(tx: Tx, subscription_id: uuid.UUID, grace_seconds: float,
                 now: datetime) -> tuple[str, datetime]:
    secret = new_secret()
    expires = now + timedelta(seconds=grace_seconds)
    if await WebhookQueries(tx.session).rotate(subscription_id, secret, expires) is None:
        raise NotFound(f"No webhook subscription {subscription_id}.")
    return secret, expires
