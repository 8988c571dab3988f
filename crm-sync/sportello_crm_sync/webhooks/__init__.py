"""Outbound webhooks: the catalogue, the fan-out from bus events, signing and sending."""
