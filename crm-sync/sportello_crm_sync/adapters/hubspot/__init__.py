"""HubSpot: contacts and notes through the CRM API v3 (see :mod:`.adapter` for the endpoints)."""

from sportello_crm_sync.adapters.hubspot.adapter import HubSpotCrm

__all__ = ["HubSpotCrm"]
