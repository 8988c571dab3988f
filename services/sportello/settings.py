"""One settings object per process, read from the environment (12-factor).

Every variable is prefixed ``SPORTELLO_``; service-specific settings subclass :class:`ServiceSettings`.
"""

from __future__ import annotations

from typing import Literal

from pydantic import Field, SecretStr, field_validator
from pydantic_settings import BaseSettings, SettingsConfigDict


class ServiceSettings(BaseSettings):
    model_config = SettingsConfigDict(env_prefix="SPORTELLO_", extra="ignore")

    environment: Literal["development", "test", "production"] = "development"
    database_url: SecretStr = SecretStr("postgresql+asyncpg://postgres@localhost:5432/sportello")
    database_pool_size: int = 10

    bus: Literal["kafka", "memory"] = "kafka"
    kafka_bootstrap_servers: str = "127.0.0.1:9092"
    kafka_client_id: str = "sportello"
    # Used when topics are created: size partitions for the most consumer replicas of any group
    # (a replica beyond the partition count idles). Production provisions topics with the
    # ``topics`` command (a Job) and sets kafka_create_topics=false, so services never need the
    # right to create topics.
    kafka_partitions: int = Field(default=3, ge=1)
    kafka_replication_factor: int = Field(default=1, ge=1)
    kafka_create_topics: bool = True

    http_host: str = "0.0.0.0"
    http_port: int = 8000
    # api: HTTP only; worker: consumers and outbox relay (with health and metrics over HTTP); all: both.
    role: Literal["api", "worker", "all"] = "all"

    log_level: str = "INFO"
    log_json: bool = True

    # "role=token" pairs, comma separated, e.g. "admin=s3cret,agent=t0ken". Roles: admin, supervisor,
    # agent, integration. Tokens are secrets: SecretStr keeps them out of reprs and logs.
    api_tokens: SecretStr = SecretStr("")

    # JWT bearer tokens (OIDC access tokens) for agents, next to the API keys. Any of the three key
    # sources turns them on: an HS256 secret (at least 32 characters), PEM public keys (RS*/PS*/ES*,
    # concatenated), or the identity provider's JWKS document (JSON, keys chosen by ``kid``).
    jwt_secret: SecretStr = SecretStr("")
    jwt_public_keys: str = ""
    jwt_jwks: str = ""
    jwt_issuer: str = ""  # the expected ``iss``; empty: not checked (set it in production)
    jwt_audience: str = "sportello"  # accepted ``aud`` values, comma separated; empty: not checked
    jwt_leeway_seconds: int = Field(default=30, ge=0, le=300)  # clock skew tolerated on exp/nbf/iat
    jwt_roles_claim: str = "roles"  # dotted path; Keycloak's realm_access.roles is always read too
    jwt_teams_claim: str = "teams"
    jwt_agent_claim: str = "sportello_agent_id"  # falls back to ``sub``

    # Token buckets per replica: "class=rate/burst" (requests per second / bucket size). Classes: the
    # roles (JWT callers), api_key (every API key, per key), unauthenticated (failed credentials, per
    # client IP: brute force). See sportello.http.rate_limit.
    rate_limits: str = ("agent=20/100,supervisor=50/200,admin=50/200,integration=5000/10000,"
                        "api_key=5000/10000,unauthenticated=1/20")
    rate_limits_enabled: bool = True

    # How long an Idempotency-Key is remembered (its stored response replayed).
    idempotency_retention_seconds: int = Field(default=86_400, ge=60)

    consumer_max_attempts: int = Field(default=5, ge=1)
    consumer_retry_backoff_seconds: float = 0.2
    consumer_batch_size: int = 200
    outbox_poll_seconds: float = 0.5
    outbox_batch_size: int = 500
    shutdown_grace_seconds: float = 20.0

    @field_validator("log_level")
    @classmethod
    def _upper(cls, value: str) -> str:
        return value.upper()

    def database_url_plain(self) -> str:
        return self.database_url.get_secret_value()
