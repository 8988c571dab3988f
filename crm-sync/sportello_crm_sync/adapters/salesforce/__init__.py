"""Salesforce: Contacts, Cases and CaseComments through the REST API (see :mod:`.adapter`)."""

from sportello_crm_sync.adapters.salesforce.adapter import SalesforceCrm

__all__ = ["SalesforceCrm"]
