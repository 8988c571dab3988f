"""Ingest's HTTP edges, one module per concern; each is thin: verify, open the transaction, call the service."""

from sportello_ingest.endpoints import api, conversations, customers, x

ROUTERS = (api.router, x.router, conversations.router, customers.router)
