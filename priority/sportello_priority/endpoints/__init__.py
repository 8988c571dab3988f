"""Priority's HTTP edges, one module per concern; each opens the transaction and calls the service."""

from sportello_priority.endpoints import messages, overrides, press, sla, weights

ROUTERS = (weights.router, messages.router, sla.router, press.router, overrides.router)
