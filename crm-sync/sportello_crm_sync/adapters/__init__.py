"""CRM adapters: one interface, one module per CRM product, chosen by ``SPORTELLO_CRM_KIND``."""

from __future__ import annotations

from typing import TYPE_CHECKING

from sportello_crm_sync.adapters.base import (
    ContactNotFound,
    CrmAdapter,
    CrmUnavailable,
    Customer,
    HistoryEntry,
    Identity,
)

if TYPE_CHECKING:
    from sportello_crm_sync.settings import CrmSyncSettings

__all__ = ["ContactNotFound", "CrmAdapter", "CrmUnavailable", "Customer", "HistoryEntry",
           "Identity", "build_adapter"]


def build_adapter(settings: CrmSyncSettings) -> CrmAdapter | None:
    """The configured CRM's adapter; None when no CRM is configured (``SPORTELLO_CRM_URL`` empty)."""
    if not settings.crm_url:
        return None
    timeout = settings.crm_timeout_seconds
    if settings.crm_kind == "hubspot":
        from sportello_crm_sync.adapters.hubspot import HubSpotCrm

        return HubSpotCrm(settings.crm_url, settings.crm_token, timeout)
    if settings.crm_kind == "salesforce":
        from sportello_crm_sync.adapters.salesforce import SalesforceCrm

        return SalesforceCrm(settings.crm_url, settings.crm_token, timeout,
                             client_id=settings.crm_client_id,
                             client_secret=settings.crm_client_secret)
    from sportello_crm_sync.adapters.generic_rest import GenericRestCrm

    return GenericRestCrm(settings.crm_url, settings.crm_token, timeout)
