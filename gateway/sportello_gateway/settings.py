"""The gateway's settings (``SPORTELLO_GATEWAY_*``): the upstream services it proxies, the live stream.

In embedded mode every component runs in the gateway's process, so no upstream is configured and
nothing is proxied. In the multi-process stack (``make up``, Kubernetes) the gateway forwards the
routes of each upstream listed here, so front-ends see one API.
"""

from __future__ import annotations

from pydantic import Field, field_validator

from sportello.settings import ServiceSettings


class GatewaySettings(ServiceSettings):
    # Service name -> base URL, as JSON: '{"ingest": "http://sportello-ingest", ...}'. Empty: the
    # routes are local (embedded mode) and nothing is proxied.
    gateway_upstreams: dict[str, str] = Field(default_factory=dict)
    # Connecting is quick or the upstream is down (503); a slow answer is a 504 after the read timeout.
    gateway_upstream_connect_timeout_seconds: float = Field(default=2.0, gt=0)
    gateway_upstream_timeout_seconds: float = Field(default=30.0, gt=0)
    # Waiting for a pooled connection longer than this means the gateway is saturated: 503.
    gateway_upstream_pool_timeout_seconds: float = Field(default=5.0, gt=0)
    gateway_upstream_max_connections: int = Field(default=200, ge=1)
    # Told to callers when an upstream is unavailable.
    gateway_upstream_retry_after_seconds: int = Field(default=5, ge=1)
    # How often the upstreams' OpenAPI documents (the routing table and the merged document) are
    # fetched again; an upstream never reached yet is retried sooner, with backoff.
    gateway_openapi_refresh_seconds: float = Field(default=60.0, gt=0)

    # The live stream (GET /v1/stream): a comment line this often keeps proxies from closing an idle
    # stream and reveals dead clients; a client further behind than the queue is disconnected.
    gateway_stream_heartbeat_seconds: float = Field(default=15.0, gt=0)
    gateway_stream_queue_size: int = Field(default=1000, ge=1)
    # Recent events kept per replica, so a reconnect (Last-Event-ID) within them is replayed.
    gateway_stream_replay_size: int = Field(default=2000, ge=0)
    # Conversations whose team and assignee are remembered for scoping agents' streams.
    gateway_stream_scope_cache_size: int = Field(default=100_000, ge=1)

    @field_validator("gateway_upstreams")
    @classmethod
    def _http_urls(cls, value: dict[str, str]) -> dict[str, str]:
        for name, url in value.items():
            if not url.startswith(("http://", "https://")):
                raise ValueError(f"upstream {name!r}: {url!r} is not an http(s) URL")
        return {name: url.rstrip("/") for name, url in value.items()}
