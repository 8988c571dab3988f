"""The gateway's edge towards front-ends: one API over every service (a proxy for the routes other
services own, one merged OpenAPI document) and the live stream of conversation events (SSE)."""
