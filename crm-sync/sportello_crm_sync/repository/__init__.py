"""All of crm-sync's SQL, one class per concern, each built from the transaction's session."""

from sportello_crm_sync.repository.crm import CrmQueries
from sportello_crm_sync.repository.jobs import Job, JobQueries
from sportello_crm_sync.repository.webhooks import WebhookQueries

__all__ = ["CrmQueries", "Job", "JobQueries", "WebhookQueries"]
