"""Ingest's HTTP edges, one module per concern; each is thin: verify, open the transaction, call the service."""

from sportello_ingest.endpoints import api, chat, conversations, customers, email, merges, meta, x

ROUTERS = (api.router, x.router, meta.router, chat.router, email.router, conversations.router, customers.router,
           merges.router)
