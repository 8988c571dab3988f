"""crm-sync's settings (``SPORTELLO_CRM_*``, ``SPORTELLO_WEBHOOK_*``, ``SPORTELLO_DELIVERY_*``)."""

from __future__ import annotations

import base64
from typing import Literal

from pydantic import Field, SecretStr, model_validator

from sportello.settings import ServiceSettings


class CrmSyncSettings(ServiceSettings):
    # Empty means no CRM is configured: messages are acknowledged as "not_configured" rather than
    # piling up, so a deployment without a CRM still runs the whole pipeline.
    crm_url: str = ""
    crm_kind: Literal["generic_rest", "hubspot", "salesforce"] = "generic_rest"
    crm_token: SecretStr = SecretStr("")
    # Salesforce's OAuth 2.0 client credentials flow (when set, crm_token is not used).
    crm_client_id: str = ""
    crm_client_secret: SecretStr = SecretStr("")
    crm_timeout_seconds: float = Field(default=5.0, gt=0)
    # A failed CRM job waits base * 2^(attempt-1) (with jitter), at most the cap; it is retried
    # for as long as the CRM stays down: history is never dropped.
    crm_retry_base_seconds: float = Field(default=1.0, gt=0)
    crm_retry_cap_seconds: float = Field(default=300.0, gt=0)
    # The circuit breaker opens after this many failures in a row and probes again after the
    # cooldown (doubling up to the cap while the CRM stays down).
    crm_breaker_failures: int = Field(default=5, ge=1)
    crm_breaker_cooldown_seconds: float = Field(default=15.0, gt=0)
    crm_breaker_cooldown_cap_seconds: float = Field(default=300.0, gt=0)
    # Secrets a CRM signs its contact updates with (Standard Webhooks; two during a rotation).
    crm_inbound_secrets: SecretStr = SecretStr("")

    webhook_timeout_seconds: float = Field(default=10.0, gt=0)
    webhook_retry_base_seconds: float = Field(default=5.0, gt=0)
    webhook_retry_cap_seconds: float = Field(default=3600.0, gt=0)
    # How long a webhook is retried before it is marked failed (the Standard Webhooks advice is
    # at least a day); a manual redelivery starts a new window.
    webhook_retry_window_seconds: float = Field(default=86_400.0, gt=0)
    # How long the old secret keeps signing after a rotation, unless the request says otherwise.
    webhook_rotation_grace_seconds: float = Field(default=86_400.0, ge=0)
    # Plain http:// and private addresses are refused unless this is set (dev and tests only):
    # subscriptions must not become a way to probe the internal network.
    webhook_allow_insecure_urls: bool = False

    # The dispatcher: how many calls run at once, and how often an idle worker looks for work.
    # Each worker holds a database connection for the length of its call: keep them well below
    # SPORTELLO_DATABASE_POOL_SIZE, which the consumers and the API share (checked at start).
    delivery_workers: int = Field(default=4, ge=1, le=32)
    delivery_poll_seconds: float = Field(default=0.5, gt=0)

    @model_validator(mode="after")
    def _fits(self) -> CrmSyncSettings:
        if self.delivery_workers > self.database_pool_size // 2:
            raise ValueError(f"delivery_workers ({self.delivery_workers}) must be at most half of "
                             f"database_pool_size ({self.database_pool_size})")
        for secret in self.inbound_secrets():
            if secret.startswith("whsec_"):
                try:
                    base64.b64decode(secret.removeprefix("whsec_"), validate=True)
                except ValueError as exc:
                    raise ValueError("SPORTELLO_CRM_INBOUND_SECRETS: a whsec_ secret must be "
                                     "base64") from exc
        return self

    def inbound_secrets(self) -> list[str]:
        """The secrets a CRM may sign its contact updates with (two during a rotation)."""
        return [s.strip() for s in self.crm_inbound_secrets.get_secret_value().split(",")
                if s.strip()]

    @property
    def crm_name(self) -> str | None:
        """The configured CRM's adapter name (what links and history rows record), or None."""
        return self.crm_kind if self.crm_url else None
