"""CRM adapters: one interface, one module per CRM product."""

from sportello_crm_sync.adapters.base import (
    ContactNotFound,
    CrmAdapter,
    Customer,
    Identity,
    Interaction,
)

__all__ = ["ContactNotFound", "CrmAdapter", "Customer", "Identity", "Interaction"]
