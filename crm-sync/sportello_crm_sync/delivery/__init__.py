"""The durable delivery queue shared by the CRM mirror and outbound webhooks."""
