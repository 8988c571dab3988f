"""crm-sync's settings: where the CRM is and how to authenticate (``SPORTELLO_CRM_*``)."""

from __future__ import annotations

from pydantic import Field, SecretStr

from sportello.settings import ServiceSettings


class CrmSyncSettings(ServiceSettings):
    # Empty means no CRM is configured: messages are acknowledged as "not_configured" rather than
    # piling up, so a deployment without a CRM still runs the whole pipeline.
    crm_url: str = ""
    crm_token: SecretStr = SecretStr("")
    crm_timeout_seconds: float = Field(default=5.0, gt=0)
