"""Ingest's settings (``SPORTELLO_*``): threading windows, channel credentials, outbound sending.

Secrets are ``SecretStr`` so they never appear in a repr or a log line. An empty secret disables the
channel's webhook: a request to it gets a 404 problem rather than being accepted unverified.
"""

from __future__ import annotations

from pydantic import Field, SecretStr

from sportello.settings import ServiceSettings


class IngestSettings(ServiceSettings):
    # Threading (seconds). A new message on a conversation resolved less than reopen_window ago
    # reopens it (0 disables reopening); a private message within dm_continuation_window of the
    # customer's last public one continues that conversation even if it was resolved meanwhile.
    reopen_window_seconds: float = Field(default=48 * 3600, ge=0)
    dm_continuation_window_seconds: float = Field(default=24 * 3600, ge=0)

    # X / Twitter: the app's consumer secret signs webhooks and answers CRC challenges; the user
    # access token (OAuth 2.0 user context) sends replies and DMs through the v2 API.
    x_consumer_secret: SecretStr = SecretStr("")
    x_access_token: SecretStr = SecretStr("")
    x_api_base_url: str = "https://api.x.com"

    # Meta (Facebook Pages, Messenger, Instagram, WhatsApp Cloud API): the app secret signs
    # webhooks, the verify token answers the subscription handshake, the access token sends.
    meta_app_secret: SecretStr = SecretStr("")
    meta_verify_token: SecretStr = SecretStr("")
    meta_access_token: SecretStr = SecretStr("")
    meta_graph_base_url: str = "https://graph.facebook.com"
    meta_graph_version: str = "v21.0"

    # Live chat: widget keys that may open sessions ("key=account" pairs, comma separated) and the
    # secret that signs session tokens.
    chat_widget_keys: str = ""
    chat_session_secret: SecretStr = SecretStr("")

    # E-mail: inbound MIME arrives through a webhook signed per Standard Webhooks with this secret;
    # replies leave through SMTP.
    email_webhook_secret: SecretStr = SecretStr("")
    smtp_host: str = "localhost"
    smtp_port: int = 25
    smtp_username: str = ""
    smtp_password: SecretStr = SecretStr("")
    smtp_starttls: bool = False

    # Generic API channel: where agent replies are POSTed (Standard Webhooks signature), if anywhere.
    api_callback_url: str = ""
    api_callback_secret: SecretStr = SecretStr("")

    # Snoozed conversations whose time has come are opened by a timer this often (any replica).
    snooze_wake_seconds: float = Field(default=1.0, gt=0)
    snooze_wake_batch: int = Field(default=200, ge=1)

    # Outbound sending: a durable queue in PostgreSQL, drained by the worker role.
    send_poll_seconds: float = Field(default=0.2, gt=0)
    send_batch_size: int = Field(default=20, ge=1)
    send_lease_seconds: float = Field(default=60, gt=0)
    send_max_attempts: int = Field(default=8, ge=1)
    send_backoff_seconds: float = Field(default=2.0, gt=0)
    send_backoff_max_seconds: float = Field(default=600, gt=0)
    send_timeout_seconds: float = Field(default=10, gt=0)
